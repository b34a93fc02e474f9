"""The PubMed annual baseline and its update files, parsed and extracted on Dask, loaded in bulk.

NCBI publishes the baseline as `pubmedYYnNNNN.xml.gz` files (about 30,000 records each) and then
daily update files numbered on from the last baseline file; an update file holds new and revised
records and, in `<DeleteCitation>`, PMIDs withdrawn from PubMed. Files are read in number order;
the latest version of a PMID is the one in the highest-numbered file (the last one within it),
and a PMID deleted in a later file than its latest version is dropped.

Each file is one Dask task (`process_file`): stream the gzip, cut it into records, parse each,
note every PMID version (so a revision that no longer matches the filter still replaces the
older one), keep the records matching the filter, extract trial facts and effects, and write
Parquet into a directory per input file (one folder per warehouse table, one part per chunk of
CHUNK_RECORDS records, written as soon as the chunk is done, so a worker's memory does not grow
with the size of its file), with the input's SHA-256 written last: a re-run skips every file
already done with the same bytes. `load_parquet_set`
then loads the warehouse from the whole Parquet set with DuckDB in one transaction.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import config, warehouse
from pipeline.checksums import file_sha256
from pipeline.errors import PipelineError
from pipeline.extract.store import (
    EFFECTS_COLUMNS,
    TRIAL_FACTS_COLUMNS,
    ExtractionTask,
    extract_batch,
)
from pipeline.models import Article, Quarantined
from pipeline.parse import NotArticleSetError, TruncatedXMLError, iter_record_bytes, parse_record

log = logging.getLogger(__name__)

SOURCE = "baseline"
FILE_NAME = re.compile(r"^pubmed(\d{2})n(\d{4})\.xml\.gz$")
DONE_NAME = "_done.json"
# The layout of a file's Parquet parts; parts written in another layout are written again.
# 2: raw.records payloads compressed, with their codec and size as received.
PARTS_FORMAT = 2
CHUNK_RECORDS = 2_000  # records turned into Arrow at a time (memory per worker stays bounded)
EXTRACTION_TABLES = ("core.trial_facts", "core.effects")
VERSION_COLUMNS = ("pmid", "file_no", "record_no", "matched")


class BaselineError(PipelineError):
    """A baseline directory or file that cannot be used as it is."""


# --- the filter ---------------------------------------------------------------------------------

_TERM = re.compile(r'^(mesh|tiab|pt):(?:"([^"]+)"|(\S+))$', re.IGNORECASE)


@dataclass(frozen=True)
class RecordFilter:
    """Terms joined by OR, each group of terms joined by AND: `mesh:Ketamine`, `tiab:esketamine`,
    `pt:"Randomized Controlled Trial"` (case-insensitive; tiab matches whole words)."""

    any_of: tuple[tuple[tuple[str, str], ...], ...]
    text: str

    @classmethod
    def parse(cls, text: str) -> RecordFilter:
        """`mesh:X OR tiab:"two words" AND pt:Y`; a term of another shape is an error."""
        groups = []
        for alternative in re.split(r"\s+OR\s+", text.strip()):
            terms = []
            for part in re.findall(r'\S+:"[^"]+"|\S+', alternative):
                if part == "AND":
                    continue
                match = _TERM.match(part)
                if match is None:
                    raise BaselineError(
                        f"--filter: {part!r} is not a term; write mesh:WORD, tiab:WORD or "
                        'pt:"Publication Type", joined by AND and OR'
                    )
                terms.append((match[1].lower(), (match[2] or match[3]).lower()))
            if not terms:
                raise BaselineError(f"--filter: an empty alternative in {text!r}")
            groups.append(tuple(terms))
        return cls(tuple(groups), text)

    def matches(self, article: Article) -> bool:
        """True when every term of some group holds for the article."""
        return any(all(_holds(field, value, article) for field, value in g) for g in self.any_of)


def _holds(field: str, value: str, article: Article) -> bool:
    if field == "mesh":
        return any((m.descriptor or "").lower() == value for m in article.mesh)
    if field == "pt":
        return any(p.lower() == value for p in article.publication_types)
    words = re.compile(r"\b" + re.escape(value) + r"\b", re.IGNORECASE)
    return bool(words.search(article.title or "") or words.search(article.abstract or ""))


# --- the files ----------------------------------------------------------------------------------


def baseline_files(directory: Path) -> list[Path]:
    """The baseline and update files of `directory`, in number order."""
    if not directory.is_dir():
        raise BaselineError(f"no baseline directory at {directory}")
    files = [p for p in directory.iterdir() if FILE_NAME.match(p.name)]
    if not files:
        raise BaselineError(
            f"{directory} holds no PubMed baseline or update file (pubmedYYnNNNN.xml.gz)"
        )
    return sorted(files, key=lambda p: (int(FILE_NAME.match(p.name)[2]), p.name))


class _DeletionScanner:
    """A pass-through reader that keeps the `<DeleteCitation>` part of what flows through it."""

    START = b"<DeleteCitation"

    def __init__(self, stream) -> None:
        self.stream = stream
        self.tail = b""
        self.kept = bytearray()

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        if self.kept:
            self.kept.extend(chunk)
        else:
            window = self.tail + chunk
            at = window.find(self.START)
            if at >= 0:
                self.kept.extend(window[at:])
            self.tail = window[-len(self.START) :]
        return chunk

    def deleted_pmids(self) -> list[str]:
        blocks = re.findall(rb"<DeleteCitation>(.*?)</DeleteCitation>", bytes(self.kept), re.S)
        return [p.decode() for b in blocks for p in re.findall(rb"<PMID[^>]*>\s*(\d+)\s*<", b)]


@dataclass
class FileResult:
    """What one task did with one input file."""

    name: str
    file_no: int
    sha256: str
    skipped: bool
    n_records: int = 0
    n_matched: int = 0
    n_quarantined: int = 0
    n_deleted: int = 0
    seconds: float = 0.0  # time the task spent on the file (0 when skipped)


def _output_dir(out_dir: Path, path: Path) -> Path:
    return out_dir / path.name.removesuffix(".xml.gz")


def process_file(
    path: Path, file_no: int, out_dir: Path, record_filter: RecordFilter | None
) -> FileResult:
    """Parse, filter and extract one file into its Parquet directory (a Dask task); a file whose
    directory already records the same SHA-256, filter and PARTS_FORMAT is skipped. The worker
    process allocates with malloc, as the warehouse's does (`warehouse.use_system_arrow_pool`)."""
    warehouse.use_system_arrow_pool()
    target = _output_dir(out_dir, path)
    sha256 = file_sha256(path)
    done = target / DONE_NAME
    if done.is_file():
        recorded = json.loads(done.read_text("utf-8"))
        if (
            recorded.get("sha256") == sha256
            and recorded.get("filter") == _filter_text(record_filter)
            and recorded.get("format") == PARTS_FORMAT
        ):
            return FileResult(**{**recorded["result"], "skipped": True, "seconds": 0.0})
    started = time.perf_counter()
    done.unlink(missing_ok=True)
    if target.is_dir():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    result = FileResult(path.name, file_no, sha256, skipped=False)
    loaded_at = warehouse.now()
    with gzip.open(path, "rb") as raw_stream:
        scanner = _DeletionScanner(raw_stream)
        try:
            for part, chunk in enumerate(_record_chunks(scanner, CHUNK_RECORDS), 1):
                tables: dict[str, list[pa.Table]] = {}
                _process_chunk(chunk, path.name, file_no, record_filter, result, tables, loaded_at)
                _write_parts(target, part, tables)
        except (TruncatedXMLError, NotArticleSetError, OSError, EOFError) as error:
            raise BaselineError(f"the baseline file {path} is damaged: {error}") from None
    deleted = scanner.deleted_pmids()
    result.n_deleted = len(deleted)
    if deleted:
        table = pa.table({"pmid": deleted, "file_no": [file_no] * len(deleted)})
        _write_parts(target, 1, {"deleted": [table]})
    result.seconds = time.perf_counter() - started
    done.write_text(
        json.dumps(
            {
                "sha256": sha256,
                "filter": _filter_text(record_filter),
                "format": PARTS_FORMAT,
                "result": asdict(result),
            }
        ),
        encoding="utf-8",
    )
    return result


def _write_parts(target: Path, part: int, tables: dict[str, list[pa.Table]]) -> None:
    """One chunk's tables as Parquet parts: `<target>/<table>/part-NNNNN.parquet`."""
    for table, pieces in tables.items():
        folder = target / table
        folder.mkdir(exist_ok=True)
        pq.write_table(
            pa.concat_tables(pieces, promote_options="permissive"),
            folder / f"part-{part:05d}.parquet",
        )


def _filter_text(record_filter: RecordFilter | None) -> str | None:
    return record_filter.text if record_filter else None


def _record_chunks(stream, size: int) -> Iterator[list[tuple[int, bytes]]]:
    chunk: list[tuple[int, bytes]] = []
    for index, record in enumerate(iter_record_bytes(stream), 1):
        chunk.append((index, record))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _add(tables: dict[str, list[pa.Table]], name: str, table: pa.Table) -> None:
    tables.setdefault(name, []).append(table)


def _process_chunk(
    chunk: list[tuple[int, bytes]],
    origin: str,
    file_no: int,
    record_filter: RecordFilter | None,
    result: FileResult,
    tables: dict[str, list[pa.Table]],
    loaded_at,
) -> None:
    """Parse, filter and extract a chunk of one file's records into Arrow tables."""
    versions: list[tuple] = []
    kept: list[tuple[int, Article, object]] = []
    quarantined: list[Quarantined] = []
    for index, record in chunk:
        item = parse_record(record, index, SOURCE, origin)
        result.n_records += 1
        if isinstance(item, Quarantined):
            quarantined.append(item)
            continue
        matched = record_filter is None or record_filter.matches(item.article)
        versions.append((item.article.pmid, file_no, index, matched))
        if matched:
            kept.append((index, item.article, item.raw))
    result.n_matched += len(kept)
    result.n_quarantined += len(quarantined)
    if versions:
        _add(tables, "versions", warehouse._arrow(versions, VERSION_COLUMNS))
    if quarantined:
        rows = [warehouse._quarantine_row(None, q, loaded_at) for q in quarantined]
        _add(tables, "raw.quarantine", warehouse._arrow(rows, warehouse.QUARANTINE_COLUMNS))
    if not kept:
        return
    # A PMID twice in one chunk: only the later version can be the latest, the earlier is left
    # out (the versions table still lists both).
    last = {a.pmid: (index, a, raw) for index, a, raw in kept}
    index_of = {pmid: index for pmid, (index, _, _) in last.items()}
    frames: dict[str, list[tuple]] = {}
    for index, article, raw in last.values():
        one = warehouse._frames([article], {article.pmid: raw}, "", loaded_at)
        for table, rows in one.items():
            frames.setdefault(table, []).extend((*r, file_no, index) for r in rows)
    frames["raw.records"] = [
        (*warehouse.raw_row(raw, "", loaded_at), file_no, index) for index, _, raw in last.values()
    ]
    extracted = extract_batch(
        ExtractionTask(
            [(a.pmid, a.title, a.abstract, raw.checksum) for _, a, raw in last.values()],
            {a.pmid: sorted(dict.fromkeys(a.publication_types)) for _, a, _ in last.values()},
            {a.pmid: [m.descriptor for m in a.mesh] for _, a, _ in last.values()},
            loaded_at,
        )
    )
    frames["core.trial_facts"] = [(*r, file_no, index_of[r[0]]) for r in extracted.facts]
    frames["core.effects"] = [(*r, file_no, index_of[r[1]]) for r in extracted.effects]
    if extracted.failed:
        rows = [warehouse._quarantine_row(None, q, loaded_at) for q in extracted.failed]
        _add(tables, "raw.quarantine", warehouse._arrow(rows, warehouse.QUARANTINE_COLUMNS))
    columns = {
        **warehouse.TABLE_COLUMNS,
        "raw.records": warehouse.RAW_COLUMNS,
        "core.trial_facts": tuple(TRIAL_FACTS_COLUMNS),
        "core.effects": tuple(EFFECTS_COLUMNS),
    }
    for table, rows in frames.items():
        if rows:
            _add(tables, table, warehouse._arrow(rows, (*columns[table], "file_no", "record_no")))


# --- running it on Dask -------------------------------------------------------------------------


@dataclass
class BaselineSummary:
    """What a baseline ingest did."""

    run_id: str
    files: int
    files_skipped: int
    records: int
    matched: int
    loaded: int
    deleted: int
    quarantined: int

    def sentence(self) -> str:
        return (
            f"baseline run {self.run_id}: {self.files} files ({self.files_skipped} already done), "
            f"{self.records:,} records read, {self.matched:,} matching, {self.loaded:,} articles "
            f"in the warehouse after the latest versions, {self.deleted:,} deleted citations "
            f"honoured, {self.quarantined:,} quarantined"
        )


def run_on_dask(
    files: list[Path],
    out_dir: Path,
    record_filter: RecordFilter | None,
    *,
    workers: int,
    scheduler: str | None = None,
) -> list[FileResult]:
    """One `process_file` task per file on a local Dask cluster of `workers` processes (one
    thread each), or on the cluster at `scheduler`; results in file order."""
    from distributed import Client, LocalCluster

    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        # Workers start with pyarrow on malloc (unless chosen otherwise), before any task runs.
        pool = config.arrow_memory_pool() or "system"
        with config.settings_for_children(ARROW_DEFAULT_MEMORY_POOL=pool):
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
        client = Client(cluster)
    try:
        futures = client.map(
            process_file, files, range(1, len(files) + 1),
            [out_dir] * len(files), [record_filter] * len(files), pure=False,
        )  # fmt: skip
        return client.gather(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _parquet(out_dir: Path, files: list[Path], table: str) -> list[str]:
    """Every Parquet part of `table`, in file order and part order."""
    return [
        str(part)
        for f in files
        for part in sorted((_output_dir(out_dir, f) / table).glob("part-*.parquet"))
    ]


def load_parquet_set(con, files: list[Path], out_dir: Path, run_id: str) -> tuple[int, int, int]:
    """Load the warehouse from the Parquet set in one transaction: the latest matching version
    of each PMID, minus those deleted after it. Returns (articles loaded, PMIDs deleted,
    quarantined)."""
    # The set loads in one transaction, which holds every raw record it adds until the commit:
    # the load runs without the warehouse's memory cap (DuckDB's own default, 80% of RAM), and
    # the cap is put back afterwards.
    cap = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    con.execute("RESET memory_limit")
    try:
        return _load_parquet_set(con, files, out_dir, run_id)
    finally:
        con.execute(f"SET memory_limit = '{cap.replace(' ', '')}'")


def _load_parquet_set(con, files: list[Path], out_dir: Path, run_id: str) -> tuple[int, int, int]:
    versions = _parquet(out_dir, files, "versions")
    deleted = _parquet(out_dir, files, "deleted")
    at = warehouse.now()
    with warehouse.transaction(con):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE baseline_latest "
            "(pmid VARCHAR, file_no BIGINT, record_no BIGINT, matched BOOLEAN)"
        )
        if versions:
            con.execute(
                "INSERT INTO baseline_latest SELECT pmid, file_no, record_no, matched FROM "
                "read_parquet(?) QUALIFY row_number() OVER "
                "(PARTITION BY pmid ORDER BY file_no DESC, record_no DESC) = 1",
                [versions],
            )
        con.execute("CREATE OR REPLACE TEMP TABLE baseline_deleted (pmid VARCHAR, file_no BIGINT)")
        if deleted:
            con.execute(
                "INSERT INTO baseline_deleted SELECT pmid, max(file_no) FROM read_parquet(?) "
                "GROUP BY pmid",
                [deleted],
            )
        # PMIDs whose stored rows go: deleted after their latest version, or revised.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE baseline_gone AS "
            "SELECT d.pmid FROM baseline_deleted d LEFT JOIN baseline_latest l USING (pmid) "
            "WHERE l.pmid IS NULL OR d.file_no >= l.file_no"
        )
        con.execute("DELETE FROM baseline_latest WHERE pmid IN (SELECT pmid FROM baseline_gone)")
        con.execute("DELETE FROM baseline_latest WHERE NOT matched")
        replaced = "SELECT pmid FROM baseline_gone UNION SELECT pmid FROM baseline_latest"
        for table in (
            "core.effects",
            "core.trial_facts",
            "core.articles",
            *warehouse.ARTICLE_CHILD_TABLES,
        ):
            con.execute(f"DELETE FROM {table} WHERE pmid IN ({replaced})")
        columns = {
            **warehouse.TABLE_COLUMNS,
            "core.trial_facts": tuple(TRIAL_FACTS_COLUMNS),
            "core.effects": tuple(EFFECTS_COLUMNS),
        }
        for table in ("core.articles", *warehouse.ARTICLE_CHILD_TABLES, *EXTRACTION_TABLES):
            paths = _parquet(out_dir, files, table)
            if not paths:
                continue
            names = columns[table]
            select = ", ".join("?" if c == "run_id" else "t." + c for c in names)
            params = [run_id] if "run_id" in names else []
            con.execute(
                f"INSERT INTO {table} ({', '.join(names)}) SELECT {select} "
                f"FROM read_parquet(?, union_by_name = true) t "
                "JOIN baseline_latest l ON l.pmid = t.pmid AND l.file_no = t.file_no "
                "AND l.record_no = t.record_no",
                [*params, paths],
            )
        raw_paths = _parquet(out_dir, files, "raw.records")
        if raw_paths:
            cols = ", ".join(
                "? AS run_id" if c == "run_id" else "t." + c for c in warehouse.RAW_COLUMNS
            )
            # The first copy of each (PMID, checksum) is chosen on the keys alone, then its
            # payload is read: deduplicating whole rows would hold every payload in memory.
            con.execute(
                "CREATE OR REPLACE TEMP TABLE baseline_raw_first AS "
                "SELECT pmid, checksum, file_no, record_no FROM read_parquet(?, union_by_name = "
                "true) QUALIFY row_number() OVER (PARTITION BY pmid, checksum "
                "ORDER BY file_no, record_no) = 1",
                [raw_paths],
            )
            con.execute(
                "DELETE FROM baseline_raw_first f WHERE EXISTS (SELECT 1 FROM raw.records r "
                "WHERE r.pmid = f.pmid AND r.checksum = f.checksum)"
            )
            con.execute(
                f"INSERT INTO raw.records ({', '.join(warehouse.RAW_COLUMNS)}) "
                f"SELECT {cols} FROM read_parquet(?, union_by_name = true) t "
                "SEMI JOIN baseline_raw_first f ON f.pmid = t.pmid AND f.checksum = t.checksum "
                "AND f.file_no = t.file_no AND f.record_no = t.record_no",
                [run_id, raw_paths],
            )
        quarantine_paths = _parquet(out_dir, files, "raw.quarantine")
        n_quarantined = 0
        if quarantine_paths:
            cols = ", ".join(
                "? AS run_id" if c == "run_id" else "t." + c for c in warehouse.QUARANTINE_COLUMNS
            )
            n_quarantined = con.execute(
                f"INSERT INTO raw.quarantine ({', '.join(warehouse.QUARANTINE_COLUMNS)}) "
                f"SELECT {cols} FROM read_parquet(?, union_by_name = true) t",
                [run_id, quarantine_paths],
            ).fetchone()[0]
        n_loaded = con.execute("SELECT count(*) FROM baseline_latest").fetchone()[0]
        n_gone = con.execute("SELECT count(*) FROM baseline_gone").fetchone()[0]
    log.debug("baseline load at %s: %d articles, %d deleted", at, n_loaded, n_gone)
    return n_loaded, n_gone, n_quarantined


def ingest_baseline(
    con,
    directory: Path,
    out_dir: Path,
    *,
    record_filter: RecordFilter | None = None,
    workers: int = 1,
    scheduler: str | None = None,
) -> BaselineSummary:
    """Parse and extract every file on Dask into Parquet, then load the warehouse from it."""
    from pipeline import ingest

    files = baseline_files(directory)
    ingest.mark_abandoned_runs(con)
    run = ingest.start_run(
        con, "baseline", query=_filter_text(record_filter), snapshot_path=str(directory)
    )
    with ingest._bookkeeping(con, run):
        out_dir.mkdir(parents=True, exist_ok=True)
        log.info(
            "baseline: %d files in %s on %s", len(files), directory,
            scheduler or f"a local Dask cluster of {workers} workers",
        )  # fmt: skip
        results = run_on_dask(files, out_dir, record_filter, workers=workers, scheduler=scheduler)
        loaded, deleted, quarantined = load_parquet_set(con, files, out_dir, run.run_id)
        run.n_found = sum(r.n_records for r in results)
        run.n_fetched = run.n_found
        run.n_loaded = loaded
        run.n_quarantined = quarantined
        ingest.finish_run(con, run, "completed")
    summary = BaselineSummary(
        run.run_id, len(files), sum(r.skipped for r in results), run.n_found,
        sum(r.n_matched for r in results), loaded, deleted, quarantined,
    )  # fmt: skip
    log.info(summary.sentence())
    return summary
