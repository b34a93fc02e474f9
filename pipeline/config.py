"""Every setting the pipeline reads from the environment, in one place.

`SETTINGS` lists them with what they mean (the README's settings table must name each one; a test
checks), and each has one function here that reads it. No other module reads `os.environ`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import PipelineError

DEFAULT_DB_RELATIVE = Path("warehouse") / "evidence.duckdb"
EUTILS_DEFAULT_BASE_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
CTGOV_DEFAULT_BASE_URL = "https://clinicaltrials.gov/api/v2/"
DEFAULT_CLINIC_KEY_FILE = Path("~/.config/ketamine-evidence/clinic.key")


@dataclass(frozen=True)
class Setting:
    """An environment variable the pipeline reads, and what it does."""

    name: str
    meaning: str


SETTINGS: tuple[Setting, ...] = (
    Setting("NCBI_EMAIL", "contact e-mail NCBI asks for; set: live PubMed, unset: the snapshot"),
    Setting("NCBI_API_KEY", "NCBI API key: 10 requests/s instead of 3; never logged or stored"),
    Setting("EUTILS_BASE_URL", "another E-utilities server (tests point it at 127.0.0.1)"),
    Setting("EUTILS_TIMEOUT", "seconds before an E-utilities request is given up and retried"),
    Setting("EUTILS_RETRY_DELAYS", "seconds between retries, comma-separated (e.g. 1,2,4,8)"),
    Setting("CTGOV_BASE_URL", "another ClinicalTrials.gov API v2 server (tests use 127.0.0.1)"),
    Setting("PIPELINE_DB", "the warehouse file (default warehouse/evidence.duckdb); --db wins"),
    Setting(
        "PIPELINE_DB_MEMORY_LIMIT",
        "caps DuckDB's buffer cache, e.g. 1GB (default 128MB in an ingest, else 256MB)",
    ),
    Setting(
        "ARROW_DEFAULT_MEMORY_POOL",
        "pyarrow's allocator (mimalloc, jemalloc, system); unset: malloc, which keeps less idle",
    ),
    Setting("CLINIC_EXPORT", "the clinic export `make ingest` imports instead of the demo data"),
    Setting("CLINIC_MAPPING", "the column mapping (TOML) for CLINIC_EXPORT"),
    Setting("PIPELINE_CLINIC_KEY_FILE", "the pseudonymisation key (outside any git work tree)"),
    Setting("PIPELINE_FIGURES_DIR", "where the notebooks save their figures as PNG"),
    Setting("PIPELINE_REVIEWER", "the reviewer's name recorded with review decisions"),
    Setting("NO_COLOR", "set to anything: no colour in the terminal review"),
)
SETTING_NAMES = frozenset(setting.name for setting in SETTINGS)


def _read(name: str) -> str | None:
    """The value of a listed setting; empty counts as unset."""
    if name not in SETTING_NAMES:
        raise KeyError(f"{name} is not a setting listed in pipeline.config.SETTINGS")
    return os.environ.get(name) or None


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
    env_value = _read("PIPELINE_DB")
    if env_value:
        return Path(env_value)
    root = project_root()
    return (root / DEFAULT_DB_RELATIVE) if root else Path.cwd() / DEFAULT_DB_RELATIVE


# DuckDB's own default is 80% of RAM, and its buffer cache grows with the warehouse; queries
# past the cap spill to disk. An ingest is a long unattended run whose memory should stay flat
# however many records it loads, so it runs with a smaller cache (measured at 100,000 records:
# README, "Memory"); notebooks, sheets and checks query a finished warehouse and get more room.
DEFAULT_DB_MEMORY_LIMIT = "256MB"
DEFAULT_INGEST_DB_MEMORY_LIMIT = "128MB"


def db_memory_limit(*, ingest: bool = False) -> str:
    """DuckDB's buffer cache cap: PIPELINE_DB_MEMORY_LIMIT, else the default for an ingest or
    for everything else."""
    default = DEFAULT_INGEST_DB_MEMORY_LIMIT if ingest else DEFAULT_DB_MEMORY_LIMIT
    return _read("PIPELINE_DB_MEMORY_LIMIT") or default


def arrow_memory_pool() -> str | None:
    """ARROW_DEFAULT_MEMORY_POOL, pyarrow's own choice of allocator; unset, the warehouse has
    pyarrow allocate with malloc (`warehouse.use_system_arrow_pool`)."""
    return _read("ARROW_DEFAULT_MEMORY_POOL")


def ncbi_email() -> str | None:
    """The e-mail NCBI asks every E-utilities client to send; unset means offline mode."""
    return _read("NCBI_EMAIL")


def ncbi_api_key() -> str | None:
    """An NCBI API key raises the rate limit from 3 to 10 requests per second."""
    return _read("NCBI_API_KEY")


def eutils_base_url() -> str:
    """The E-utilities base URL; EUTILS_BASE_URL redirects every request (tests use 127.0.0.1)."""
    url = _read("EUTILS_BASE_URL") or EUTILS_DEFAULT_BASE_URL
    return url if url.endswith("/") else url + "/"


def eutils_timeout() -> float | None:
    """Seconds before a request is abandoned (None: the policy's default)."""
    value = _read("EUTILS_TIMEOUT")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise PipelineError(f"EUTILS_TIMEOUT must be a number of seconds, got {value!r}") from None


def eutils_retry_delays() -> tuple[float, ...] | None:
    """Seconds between retries (None: the policy's default)."""
    value = _read("EUTILS_RETRY_DELAYS")
    if value is None:
        return None
    try:
        return tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise PipelineError(
            f"EUTILS_RETRY_DELAYS must be seconds separated by commas, got {value!r}"
        ) from None


def clinic_export() -> str | None:
    """A clinic export for `make ingest` to import (unset: the synthetic demo data)."""
    return _read("CLINIC_EXPORT")


def clinic_mapping() -> str | None:
    """The column mapping for CLINIC_EXPORT (unset: the shipped default)."""
    return _read("CLINIC_MAPPING")


def clinic_key_file() -> Path:
    """Where the clinic pseudonymisation key lives."""
    return Path(_read("PIPELINE_CLINIC_KEY_FILE") or DEFAULT_CLINIC_KEY_FILE).expanduser()


def figures_dir() -> str | None:
    """Where notebooks save their figures, when set."""
    return _read("PIPELINE_FIGURES_DIR")


def reviewer() -> str | None:
    """The reviewer's name, when set."""
    return _read("PIPELINE_REVIEWER")


def no_color() -> bool:
    """True when NO_COLOR is set (https://no-color.org)."""
    return _read("NO_COLOR") is not None


@contextmanager
def settings_for_children(**values: str | None) -> Iterator[None]:
    """Set listed settings for processes started inside (notebook kernels), restoring them after."""
    for name in values:
        if name not in SETTING_NAMES:
            raise KeyError(f"{name} is not a setting listed in pipeline.config.SETTINGS")
    saved = {name: os.environ.get(name) for name in values}
    try:
        _put_environment(values)
        yield
    finally:
        _put_environment(saved)


def _put_environment(values: dict[str, str | None]) -> None:
    """Set each variable to its value; None removes it."""
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def ctgov_base_url() -> str:
    """The ClinicalTrials.gov API v2 base URL; CTGOV_BASE_URL redirects it (tests use 127.0.0.1)."""
    url = _read("CTGOV_BASE_URL") or CTGOV_DEFAULT_BASE_URL
    return url if url.endswith("/") else url + "/"
