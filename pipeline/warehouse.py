"""The DuckDB warehouse: connection, numbered migrations, and bulk loads.

Layers: `raw` (records as received, quarantine), `core` (one row per thing), `marts` (views
the notebooks and reports read). Migrations are the SQL files in pipeline/migrations, named
`NNN_name.sql` and applied in order, each in its own transaction; `meta.schema_migrations`
records what was applied, so the schema version is its highest number.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from pipeline import config
from pipeline.article_rows import (
    ARTICLE_CHILD_TABLES,
    ARTICLE_TABLES,
    TABLE_COLUMNS,
    ArticleRows,
    article_rows,
)
from pipeline.errors import PipelineError, WarehouseLockedError, as_interrupt
from pipeline.models import Article, Quarantined, RawRecord
from pipeline.redaction import redact, redact_bytes

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


def connect(
    db_path: str | Path, *, read_only: bool = False, migrate: bool = True, ingest: bool = False
):
    """Open the warehouse (creating it and its folder if needed) and bring its schema up to date.

    A database another process holds open for writing raises WarehouseLockedError; a path that
    cannot be written raises PipelineError naming it. `ingest` opens it with the ingest's
    smaller DuckDB cache (`config.db_memory_limit`).
    """
    path = Path(db_path)
    if str(path) != ":memory:":
        if read_only and not path.exists():
            raise PipelineError(f"no warehouse at {path}: run `make ingest` first")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise PipelineError(
                f"cannot create the folder for the database {path}: {error}"
            ) from None
    use_system_arrow_pool()
    duckdb_settings = {"memory_limit": config.db_memory_limit(ingest=ingest)}
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=duckdb_settings)
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


def use_system_arrow_pool() -> None:
    """Have pyarrow allocate with the C library's malloc, unless ARROW_DEFAULT_MEMORY_POOL
    chooses. Its default pool (mimalloc) kept pages pyarrow had freed, apart from the heap that
    Python, numpy and pandas reuse: with malloc, a 20,000-record ingest peaked 12 MiB lower in
    the load and 29 MiB lower in the marts step, no slower (README, "Memory")."""
    if not config.arrow_memory_pool():
        pa.set_memory_pool(pa.system_memory_pool())


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
    """Apply every shipped migration the database has not had yet, in order; returns their versions.

    Any missing number is applied, not only those above the highest: areas own separate number
    ranges, so a lower-numbered migration can arrive after a higher one.
    """
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta.schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    done = {row[0] for row in con.execute("SELECT version FROM meta.schema_migrations").fetchall()}
    applied = []
    for migration in available_migrations():
        if migration.version in done:
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
    except BaseException as error:
        con.execute("ROLLBACK")
        interrupt = as_interrupt(error)
        if interrupt is not None and interrupt is not error:
            raise interrupt from error
        raise
    con.execute("COMMIT")


def now() -> datetime:
    """The current time in UTC, without tzinfo (DuckDB TIMESTAMP)."""
    return datetime.now(UTC).replace(tzinfo=None)


def dump_schema(con) -> str:
    """The CREATE statements of every table and view in a stable order (warehouse/schema.sql)."""
    rows = con.execute(
        "SELECT schema_name, table_name, sql FROM duckdb_tables() "
        "WHERE database_name = current_database() "
        "UNION ALL SELECT schema_name, view_name, sql FROM duckdb_views() "
        "WHERE database_name = current_database() AND NOT internal "
        "ORDER BY 1, 2"
    ).fetchall()
    header = (
        f"-- Generated by `make schema` from pipeline/migrations (version {schema_version(con)}).\n"
    )
    return header + "\n\n".join(sql.strip().rstrip(";") + ";" for _, _, sql in rows) + "\n"


# --- loads --------------------------------------------------------------------------------

RAW_COLUMNS = (
    "pmid", "checksum", "format", "source", "run_id", "retrieved_at", "payload", "payload_codec",
    "payload_size",
)  # fmt: skip
# How raw.records stores a payload: compressed with zstd (PubMed XML to about 30% of its size).
# DuckDB's checkpoint works through 2,048 rows at a time outside its memory cap, so 24 KB records
# held about 100 MiB more there than compressed ones (measured; README, "Memory").
RAW_PAYLOAD_CODEC = "zstd"
RAW_PAYLOAD_CODECS = ("identity", "zstd")
QUARANTINE_COLUMNS = ("run_id", "stage", "pmid", "location", "error", "payload", "created_at")


def raw_row(raw: RawRecord, run_id: str, loaded_at: datetime) -> tuple:
    """A raw.records row (RAW_COLUMNS): the payload compressed, beside its size as received."""
    stored = pa.compress(raw.payload, codec=RAW_PAYLOAD_CODEC, asbytes=True)
    return (
        raw.pmid, raw.checksum, raw.format, raw.source, run_id, loaded_at,
        stored, RAW_PAYLOAD_CODEC, len(raw.payload),
    )  # fmt: skip


def unpack_payload(stored: bytes, codec: str, size: int, *, where: str = "a raw record") -> bytes:
    """The bytes as received, from a raw.records row's payload, codec and size."""
    if codec not in RAW_PAYLOAD_CODECS:
        raise PipelineError(f"{where}: unknown payload codec {codec!r}")
    if codec == "identity":
        payload = bytes(stored)
    else:
        try:
            payload = pa.decompress(stored, decompressed_size=size, codec=codec, asbytes=True)
        except (OSError, ValueError) as error:
            raise PipelineError(f"{where}: its {codec} payload cannot be read: {error}") from None
    if len(payload) != size:
        raise PipelineError(f"{where}: {len(payload)} bytes, but {size} stored as its size")
    return payload


def read_raw_payload(con, pmid: str, checksum: str | None = None) -> bytes:
    """The bytes of a PMID's raw record exactly as received (the latest one without `checksum`).

    Raises PipelineError when there is none, or when the bytes do not match their SHA-256.
    """
    row = con.execute(
        "SELECT checksum, payload, payload_codec, payload_size FROM raw.records "
        "WHERE pmid = ? AND (CAST(? AS VARCHAR) IS NULL OR checksum = ?) "
        "ORDER BY retrieved_at DESC LIMIT 1",
        [pmid, checksum, checksum],
    ).fetchone()
    if row is None:
        wanted = f" with checksum {checksum}" if checksum else ""
        raise PipelineError(f"PMID {pmid}: no raw record{wanted}")
    stored_checksum, stored, codec, size = row
    where = f"the raw record of PMID {pmid} ({stored_checksum})"
    payload = unpack_payload(stored, codec, size, where=where)
    if hashlib.sha256(payload).hexdigest() != stored_checksum:
        raise PipelineError(f"{where}: its bytes do not match their checksum")
    return payload


def _frames(
    articles: Sequence[Article | ArticleRows],
    raws: dict[str, RawRecord],
    run_id: str,
    loaded_at: datetime,
    checksums: dict[str, str] | None = None,
) -> dict[str, list[tuple]]:
    """Rows for core.articles and its child tables (columns as in TABLE_COLUMNS), in one pass;
    an article may come as its rows already (`ArticleRows`, made where it was parsed)."""
    rows: dict[str, list[tuple]] = {name: [] for name in ARTICLE_TABLES}
    articles_rows = rows["core.articles"]
    child_rows = [rows[name] for name in ARTICLE_CHILD_TABLES]
    for a in articles:
        one = a if isinstance(a, ArticleRows) else article_rows(a)
        pmid = one.pmid
        raw = raws[pmid]
        checksum = checksums[pmid] if checksums else raw.checksum
        articles_rows.append((*one.article, raw.source, checksum, run_id, loaded_at))
        for table_rows, new in zip(child_rows, one.children, strict=True):
            table_rows.extend(new)
    return rows


def table_columns(con, table: str) -> list[str]:
    """The columns of `schema.table` in order; empty when the table does not exist."""
    schema, name = table.split(".")
    return [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, name],
        ).fetchall()
    ]


def _arrow(rows: list[tuple], columns: Sequence[str]) -> pa.Table:
    """Rows as an Arrow table, column by column (DuckDB scans it without copying)."""
    values = list(zip(*rows, strict=True))
    if len(values) != len(columns):
        raise PipelineError(f"rows of {len(values)} values for {len(columns)} columns {columns}")
    return pa.table(
        {name: _arrow_array(column) for name, column in zip(columns, values, strict=True)}
    )


def _arrow_array(values: Sequence) -> pa.Array:
    """One column; record payloads (bytes) are laid out in a single buffer, several times
    faster than converting them one object at a time."""
    if values and all(type(v) is bytes for v in values):
        lengths = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))
        offsets = np.zeros(len(values) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return pa.Array.from_buffers(
            pa.large_binary(),
            len(values),
            [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(values))],
        )
    return pa.array(values)


def _bulk_insert(con, table: str, rows: list[tuple], columns: Sequence[str] | None = None) -> None:
    """Insert rows through an Arrow table (one vectorised statement, not row by row)."""
    if not rows:
        return
    columns = list(columns or table_columns(con, table))
    arrow_rows = _arrow(rows, columns)  # noqa: F841 - DuckDB reads the local variable by name
    con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM arrow_rows")


def load_batch(
    con,
    articles: Sequence[Article | ArticleRows],
    raws: Iterable[RawRecord],
    run_id: str,
    quarantined: Iterable[Quarantined] = (),
    *,
    batch_no: int | None = None,
    batch_pmids: Sequence[str] = (),
    with_articles: Callable[[], object] | None = None,
) -> None:
    """Load one batch in one transaction: raw records, upserted articles, quarantined records.

    Articles replace any earlier version of the same PMID (with all child rows); raw records
    are kept per distinct checksum. Either all of it lands or none of it does. Within a batch
    the last article and raw record given for a PMID win. With `batch_no`, the batch's row in
    core.run_batches (its `batch_pmids`) commits in the same transaction, so a resumed run
    never loses the marker of a batch whose articles landed. `with_articles` runs inside the
    same transaction once the articles are in (the snapshot ingest writes their extraction so).
    An article may be given as its rows (`ArticleRows`), as worker processes send it.
    """
    loaded_at = now()
    raws = list(raws)
    without_pmid = sum(1 for r in raws if not r.pmid)
    if without_pmid:
        log.warning("%d raw records without a PMID are not stored (quarantine them)", without_pmid)
    checksum_of = {id(r): r.checksum for r in raws if r.pmid}
    raw_by_pmid = {r.pmid: r for r in raws if r.pmid}
    latest = {a.pmid: a for a in articles}
    if len(latest) < len(articles):
        seen: set[str] = set()
        repeated = sorted({a.pmid for a in articles if a.pmid in seen or seen.add(a.pmid)})
        log.warning(
            "%d PMIDs appear more than once in one batch (%s); the last version of each is "
            "loaded", len(articles) - len(latest), ", ".join(repeated),
        )  # fmt: skip
        articles = list(latest.values())
    missing = [a.pmid for a in articles if a.pmid not in raw_by_pmid]
    if missing:
        raise PipelineError(f"articles without their raw record: {missing[:5]}")
    checksums = {pmid: checksum_of[id(raw)] for pmid, raw in raw_by_pmid.items()}
    frames = _frames(articles, raw_by_pmid, run_id, loaded_at, checksums)
    raw_rows = [
        raw_row(r, run_id, loaded_at)
        for r in {(r.pmid, checksum_of[id(r)]): r for r in raws if r.pmid}.values()
    ]
    quarantine_rows = [_quarantine_row(run_id, q, loaded_at) for q in quarantined]
    with transaction(con):
        if articles:
            pmid_list = [a.pmid for a in articles]
            in_batch = pa.table({"pmid": pa.array(pmid_list, pa.string())})  # noqa: F841
            ((stored,),) = con.execute(
                "SELECT count(*) FROM core.articles WHERE pmid IN (SELECT pmid FROM in_batch)"
            ).fetchall()
            # Child rows exist only beside an article row, so a batch of new PMIDs (the usual
            # case) skips the deletes and their scans of the growing child tables.
            if stored:
                for table in ("core.articles", *ARTICLE_CHILD_TABLES):
                    con.execute(f"DELETE FROM {table} WHERE pmid IN (SELECT pmid FROM in_batch)")
        if raw_rows:
            raw_batch = _arrow(raw_rows, RAW_COLUMNS)  # noqa: F841 - read by DuckDB by name
            con.execute(
                f"INSERT INTO raw.records ({', '.join(RAW_COLUMNS)}) SELECT * FROM raw_batch AS f "
                "WHERE NOT EXISTS (SELECT 1 FROM raw.records AS r "
                "WHERE r.pmid = f.pmid AND r.checksum = f.checksum)"
            )
        for table, table_rows in frames.items():
            _bulk_insert(con, table, table_rows, TABLE_COLUMNS[table])
        _bulk_insert(con, "raw.quarantine", quarantine_rows, QUARANTINE_COLUMNS)
        if with_articles is not None:
            with_articles()
        if batch_no is not None:
            con.execute(
                "INSERT INTO core.run_batches VALUES (?, ?, ?, ?)",
                [run_id, batch_no, list(batch_pmids), loaded_at],
            )


def _quarantine_row(run_id: str | None, item: Quarantined, at: datetime) -> tuple:
    """A raw.quarantine row; an error or payload that quotes the API key is stored redacted."""
    location = redact(item.location) if item.location else item.location
    return (
        run_id, item.stage, item.pmid, location, redact(item.error),
        redact_bytes(item.payload) if item.payload else item.payload, at,
    )  # fmt: skip


def quarantine(con, run_id: str | None, items: Iterable[Quarantined]) -> int:
    """Record failed records or batches outside a load (in their own transaction)."""
    with transaction(con):
        return insert_quarantined(con, run_id, items)


def insert_quarantined(con, run_id: str | None, items: Iterable[Quarantined]) -> int:
    """Record failed records inside the caller's transaction; returns how many."""
    rows = [_quarantine_row(run_id, q, now()) for q in items]
    _bulk_insert(con, "raw.quarantine", rows, QUARANTINE_COLUMNS)
    return len(rows)
