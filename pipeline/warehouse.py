"""The DuckDB warehouse: connection, numbered migrations, and bulk loads.

Layers: `raw` (records as received, quarantine), `core` (one row per thing), `marts` (views
the notebooks and reports read). Migrations are the SQL files in pipeline/migrations, named
`NNN_name.sql` and applied in order, each in its own transaction; `meta.schema_migrations`
records what was applied, so the schema version is its highest number.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.errors import PipelineError, WarehouseLockedError
from pipeline.models import Article, Quarantined, RawRecord

log = logging.getLogger(__name__)

MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One numbered SQL migration file."""

    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """The migrations shipped with the package, in version order."""
    found = []
    for entry in resources.files("pipeline.migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise PipelineError(f"two migrations share a version number: {versions}")
    return found


def connect(db_path: str | Path, *, read_only: bool = False, migrate: bool = True):
    """Open the warehouse (creating it and its folder if needed) and bring its schema up to date.

    A database another process holds open for writing raises WarehouseLockedError; a path that
    cannot be written raises PipelineError naming it.
    """
    path = Path(db_path)
    if str(path) != ":memory:":
        if read_only and not path.exists():
            raise PipelineError(f"no warehouse at {path}: run `make ingest` first")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise PipelineError(f"cannot create the folder for the database {path}: {error}") from None
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as error:
        text = str(error)
        if "lock" in text.lower():
            raise WarehouseLockedError(
                f"the warehouse {path} is in use by another process (an ingest running?): {text}"
            ) from None
        raise PipelineError(f"cannot open the database {path}: {text}") from None
    except duckdb.Error as error:
        raise PipelineError(f"cannot open the database {path}: {error}") from None
    if migrate and not read_only:
        apply_migrations(con)
    return con


def schema_version(con) -> int:
    """The highest migration applied, 0 for an empty database."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'meta' AND table_name = 'schema_migrations'"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM meta.schema_migrations").fetchone()[0]


def apply_migrations(con) -> list[int]:
    """Apply every migration newer than the database's version; returns the versions applied."""
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta.schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    current = schema_version(con)
    applied = []
    for migration in available_migrations():
        if migration.version <= current:
            continue
        log.debug("applying migration %03d_%s", migration.version, migration.name)
        with transaction(con):
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO meta.schema_migrations VALUES (?, ?, ?)",
                [migration.version, migration.name, now()],
            )
        applied.append(migration.version)
    return applied


@contextmanager
def transaction(con) -> Iterator[None]:
    """BEGIN ... COMMIT, rolled back on any exception so the database is left as it was."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def now() -> datetime:
    """The current time in UTC, without tzinfo (DuckDB TIMESTAMP)."""
    return datetime.now(UTC).replace(tzinfo=None)


def dump_schema(con) -> str:
    """The CREATE statements of every table and view, in a stable order (for warehouse/schema.sql)."""
    rows = con.execute(
        "SELECT schema_name, table_name, sql FROM duckdb_tables() WHERE database_name = current_database() "
        "UNION ALL SELECT schema_name, view_name, sql FROM duckdb_views() "
        "WHERE database_name = current_database() AND NOT internal "
        "ORDER BY 1, 2"
    ).fetchall()
    header = f"-- Generated by `make schema` from pipeline/migrations (version {schema_version(con)}).\n"
    return header + "\n\n".join(sql.strip().rstrip(";") + ";" for _, _, sql in rows) + "\n"


# --- loads --------------------------------------------------------------------------------

ARTICLE_CHILD_TABLES = (
    "core.abstract_sections",
    "core.authors",
    "core.mesh_headings",
    "core.chemicals",
    "core.publication_types",
    "core.trial_ids",
    "core.comments_corrections",
)


def _frames(articles: list[Article], raws: dict[str, RawRecord], run_id: str, loaded_at: datetime):
    """DataFrames for core.articles and its child tables, built in one pass."""
    rows: dict[str, list[tuple]] = {name: [] for name in ("core.articles", *ARTICLE_CHILD_TABLES)}
    for a in articles:
        raw = raws[a.pmid]
        rows["core.articles"].append(
            (a.pmid, a.title, a.abstract, a.journal_title, a.journal_iso, a.volume, a.issue,
             a.pages, a.pub_date, a.pub_year, a.doi, a.pmcid, list(a.languages), list(a.keywords),
             a.date_revised, a.abstract_complete, a.is_retracted, a.has_erratum, raw.source,
             raw.checksum, run_id, loaded_at)
        )  # fmt: skip
        for s in a.sections:
            rows["core.abstract_sections"].append(
                (a.pmid, s.order, s.label, s.nlm_category, s.text, s.start, s.end)
            )
        for au in a.authors:
            rows["core.authors"].append(
                (a.pmid, au.position, au.last_name, au.fore_name, au.initials,
                 au.collective_name, list(au.affiliations), au.orcid)
            )  # fmt: skip
        for m in a.mesh:
            rows["core.mesh_headings"].append(
                (a.pmid, m.position, m.descriptor_ui, m.descriptor, m.major_topic, None, None, None)
            )
            for q_name, q_ui, q_major in m.qualifiers:
                rows["core.mesh_headings"].append(
                    (a.pmid, m.position, m.descriptor_ui, m.descriptor, m.major_topic, q_ui, q_name,
                     q_major)
                )  # fmt: skip
        for c in a.chemicals:
            rows["core.chemicals"].append((a.pmid, c.ui, c.name, c.registry_number))
        for name in dict.fromkeys(a.publication_types):
            rows["core.publication_types"].append((a.pmid, name))
        seen_ids = set()
        for t in a.trial_ids:
            if (t.registry, t.accession) not in seen_ids:
                seen_ids.add((t.registry, t.accession))
                rows["core.trial_ids"].append((a.pmid, t.registry, t.accession, t.source))
        for cc in a.comments_corrections:
            rows["core.comments_corrections"].append((a.pmid, cc.ref_type, cc.ref_pmid, cc.ref_source))
    return rows


def _columns(con, table: str) -> list[str]:
    schema, name = table.split(".")
    return [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, name],
        ).fetchall()
    ]


def _bulk_insert(con, table: str, rows: list[tuple], columns: list[str] | None = None) -> None:
    """Insert rows through a DataFrame (one vectorised statement, not row by row)."""
    if not rows:
        return
    columns = columns or _columns(con, table)
    frame = pd.DataFrame.from_records(rows, columns=columns)  # noqa: F841 - read by DuckDB below
    con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM frame")


def load_batch(
    con,
    articles: list[Article],
    raws: Iterable[RawRecord],
    run_id: str,
    quarantined: Iterable[Quarantined] = (),
) -> None:
    """Load one batch in one transaction: raw records, upserted articles, quarantined records.

    Articles replace any earlier version of the same PMID (with all child rows); raw records
    are kept per distinct checksum. Either all of it lands or none of it does.
    """
    loaded_at = now()
    raw_by_pmid = {r.pmid: r for r in raws if r.pmid}
    missing = [a.pmid for a in articles if a.pmid not in raw_by_pmid]
    if missing:
        raise PipelineError(f"articles without their raw record: {missing[:5]}")
    frames = _frames(articles, raw_by_pmid, run_id, loaded_at)
    raw_rows = [
        (r.pmid, r.checksum, r.format, r.source, run_id, loaded_at, r.payload)
        for r in raw_by_pmid.values()
    ]
    quarantine_rows = [
        (run_id, q.stage, q.pmid, q.location, q.error, q.payload, loaded_at) for q in quarantined
    ]
    pmids = pd.DataFrame({"pmid": [a.pmid for a in articles]})  # noqa: F841 - read by DuckDB
    with transaction(con):
        if articles:
            for table in ("core.articles", *ARTICLE_CHILD_TABLES):
                con.execute(f"DELETE FROM {table} WHERE pmid IN (SELECT pmid FROM pmids)")
        raw_frame = pd.DataFrame.from_records(  # noqa: F841 - read by DuckDB
            raw_rows, columns=["pmid", "checksum", "format", "source", "run_id", "retrieved_at", "payload"]
        )
        if raw_rows:
            con.execute(
                "INSERT INTO raw.records SELECT * FROM raw_frame "
                "WHERE (pmid, checksum) NOT IN (SELECT (pmid, checksum) FROM raw.records)"
            )
        for table, table_rows in frames.items():
            _bulk_insert(con, table, table_rows)
        _bulk_insert(
            con,
            "raw.quarantine",
            quarantine_rows,
            ["run_id", "stage", "pmid", "location", "error", "payload", "created_at"],
        )


def quarantine(con, run_id: str | None, items: Iterable[Quarantined]) -> int:
    """Record failed records or batches outside a load (in their own transaction)."""
    rows = [(run_id, q.stage, q.pmid, q.location, q.error, q.payload, now()) for q in items]
    with transaction(con):
        _bulk_insert(
            con, "raw.quarantine", rows,
            ["run_id", "stage", "pmid", "location", "error", "payload", "created_at"],
        )  # fmt: skip
    return len(rows)
