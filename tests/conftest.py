"""Fixtures shared across the test modules."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_PUBMED = REPO.parent / "shared" / "data" / "pubmed"


@pytest.fixture(scope="session")
def shared_pubmed() -> Path:
    """The real PubMed records beside the repository (../shared/data/pubmed)."""
    if not SHARED_PUBMED.is_dir():
        pytest.fail(f"the shared PubMed records are missing: {SHARED_PUBMED}")
    return SHARED_PUBMED
