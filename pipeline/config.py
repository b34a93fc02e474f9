"""Where things are: the warehouse file and the settings read from the environment."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB_RELATIVE = Path("warehouse") / "evidence.duckdb"


def project_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above `start` (default: cwd) with pyproject.toml and warehouse/."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "warehouse").is_dir():
            return folder
    return None


def resolve_db_path(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """The database: `--db`, else PIPELINE_DB, else warehouse/evidence.duckdb in the project."""
    if cli_value:
        return Path(cli_value)
    env_value = os.environ.get("PIPELINE_DB")
    if env_value:
        return Path(env_value)
    root = project_root()
    return (root / DEFAULT_DB_RELATIVE) if root else Path.cwd() / DEFAULT_DB_RELATIVE


def ncbi_email() -> str | None:
    """The e-mail NCBI asks every E-utilities client to send; unset means offline mode."""
    return os.environ.get("NCBI_EMAIL") or None


def ncbi_api_key() -> str | None:
    """An NCBI API key raises the rate limit from 3 to 10 requests per second."""
    return os.environ.get("NCBI_API_KEY") or None


EUTILS_DEFAULT_BASE_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"


def eutils_base_url() -> str:
    """The E-utilities base URL; EUTILS_BASE_URL redirects every request (tests use 127.0.0.1)."""
    url = os.environ.get("EUTILS_BASE_URL") or EUTILS_DEFAULT_BASE_URL
    return url if url.endswith("/") else url + "/"


CLINIC_KEY_FILE_ENV = "PIPELINE_CLINIC_KEY_FILE"


def clinic_key_file() -> str | None:
    """PIPELINE_CLINIC_KEY_FILE: where the clinic pseudonymisation key lives, if not the default."""
    return os.environ.get(CLINIC_KEY_FILE_ENV) or None


def clinic_export() -> str | None:
    """CLINIC_EXPORT: the clinic export `make ingest` imports instead of the synthetic demo."""
    return os.environ.get("CLINIC_EXPORT") or None


def clinic_mapping() -> str | None:
    """CLINIC_MAPPING: the mapping file for CLINIC_EXPORT (default: the shipped mapping)."""
    return os.environ.get("CLINIC_MAPPING") or None
