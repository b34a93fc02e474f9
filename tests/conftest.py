"""Fixtures shared across the test modules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline import warehouse

REPO = Path(__file__).resolve().parent.parent
# The real PubMed records the package ships with its snapshot (provenance in its SOURCES.md).
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


@pytest.fixture(scope="session")
def warehouse_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty warehouse with every migration applied, made once per test session."""
    path = tmp_path_factory.mktemp("template") / "template.duckdb"
    warehouse.connect(path).close()
    return path


@pytest.fixture(autouse=True)
def new_warehouses_from_template(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, warehouse_template: Path
) -> None:
    """A warehouse file a test creates starts as a copy of the migrated template.

    Migrating takes about a second per new database; copying the template takes a few
    milliseconds and gives the same schema (tests/test_warehouse.py checks the migrations
    themselves and is marked `fresh_migrations`, which turns this off).
    """
    if request.node.get_closest_marker("fresh_migrations"):
        return
    migrating_connect = warehouse.connect

    def connect(db_path, *, read_only: bool = False, migrate: bool = True, ingest: bool = False):
        path = Path(db_path)
        if migrate and not read_only and str(db_path) != ":memory:" and not path.exists():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(warehouse_template, path)
            except OSError:
                pass  # the real connect says what is wrong with the path
        return migrating_connect(db_path, read_only=read_only, migrate=migrate, ingest=ingest)

    monkeypatch.setattr(warehouse, "connect", connect)


@pytest.fixture()
def con(db: Path):
    """A connection to the test module's `db` warehouse, closed after the test."""
    connection = warehouse.connect(db)
    yield connection
    connection.close()
