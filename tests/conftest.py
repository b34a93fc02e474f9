"""Fixtures shared across the test modules."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# The real PubMed records the package ships with its offline snapshot (provenance: SOURCES.md).
PUBMED_RECORDS = REPO / "pipeline" / "data" / "snapshot"


@pytest.fixture(scope="session")
def pubmed_records() -> Path:
    """The real PubMed records bundled in the package (efetch XML and JSON lines)."""
    return PUBMED_RECORDS


@pytest.fixture(scope="session")
def ingested_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse built as `make ingest` builds it on a machine with no NCBI e-mail.

    The bundled snapshot, extraction, and the synthetic demo clinic data; built once per test
    session through the real command line. Tests must not write to it.
    """
    from pipeline.cli import main

    path = tmp_path_factory.mktemp("warehouse") / "evidence.duckdb"
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.delenv("NCBI_EMAIL", raising=False)
    monkeypatch.delenv("NCBI_API_KEY", raising=False)
    monkeypatch.delenv("CLINIC_EXPORT", raising=False)
    # The clinic pseudonymisation key is created on first use: keep the test's out of $HOME.
    monkeypatch.setenv("PIPELINE_CLINIC_KEY_FILE", str(path.parent / "clinic.key"))
    try:
        code = main(["ingest", "--db", str(path)])
    finally:
        monkeypatch.undo()
    assert code == 0, "the snapshot ingest failed"
    return path
