"""The ingest run: search, choose what to fetch, fetch and load in batches, keep the books.

Every run is a row in core.runs (running -> completed | failed | interrupted). Each PMID a
search finds is recorded in core.pmid_sightings (which run, which query). Articles load in
batches, each batch in one transaction (warehouse.load_batch), and each finished batch is
recorded in core.run_batches, so a run stopped at any point (network loss, Ctrl-C, kill -9)
leaves only whole batches, and the next run resumes:

- a live run fetches the PMIDs not yet stored from a live source, plus those PubMed has
  modified since the last completed run of the same query. esearch cannot say when a record
  was revised (DateRevised is only in the record), so "revised" is read as PubMed's
  modification date: a second esearch with datetype=mdat and mindate = the day the last
  completed run started. It is coarse (a day, and any change counts) but never misses a
  revision. PMIDs already loaded by an unfinished run of the same query since then are skipped;
- a snapshot run loads records whose bytes differ from what is stored, so re-running it loads
  nothing and resuming it loads the rest.

A run left 'running' by a killed process is marked 'interrupted' by the next run: only one
process can hold the warehouse for writing (DuckDB's file lock), so no other run is alive.
Each batch's core.run_batches row commits in the same transaction as its articles.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import tomllib
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from importlib import resources
from typing import TYPE_CHECKING

import pyarrow as pa
from tqdm import tqdm

from pipeline import warehouse
from pipeline.article_rows import ArticleRows
from pipeline.errors import PipelineError, as_interrupt
from pipeline.models import Article, Quarantined, RawRecord
from pipeline.parallel import worker_pool
from pipeline.parse import record_pmid
from pipeline.redaction import redact
from pipeline.sources.entrez import EntrezClient, FetchRequest, SearchResult
from pipeline.sources.snapshot import Snapshot, SnapshotRecord, iter_searches, iter_snapshot

if TYPE_CHECKING:  # imported where used: the extractor loads only when an ingest extracts
    from pipeline.extract.store import ExtractionBatch

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 200
# Live batches fetched ahead of the one being parsed and loaded: enough requests in flight to
# use NCBI's rate up (10/s with a key, answers in 300 ms or more), few enough to bound memory
# (at most this many answers buffered, plus the batch being loaded).
FETCH_AHEAD = 4


class EmptySearchError(PipelineError):
    """The search found nothing: usually a query typo or a --since date in the future."""


@dataclass
class RunSummary:
    """What a run did, as recorded in core.runs."""

    run_id: str
    mode: str
    status: str = "running"
    n_found: int = 0
    n_fetched: int = 0
    n_loaded: int = 0
    n_quarantined: int = 0
    n_skipped: int = 0
    n_duplicates: int = 0  # snapshot records identical to an earlier copy of the same PMID
    n_batches: int = 0
    message: str | None = None

    def sentence(self) -> str:
        """One line for the person who ran it."""
        duplicates = (
            f", {self.n_duplicates} duplicate record{'s' if self.n_duplicates != 1 else ''} "
            "counted once"
            if self.n_duplicates
            else ""
        )
        return (
            f"run {self.run_id} ({self.mode}) {self.status}: {self.n_found} records found, "
            f"{self.n_skipped} already in the warehouse, {self.n_loaded} articles loaded, "
            f"{self.n_quarantined} quarantined{duplicates}, in {self.n_batches} batches"
        )


# --- the default query --------------------------------------------------------------------------


def default_query() -> str:
    """The PubMed search in pipeline/config/pubmed_query.toml, written out as one term."""
    text = (resources.files("pipeline") / "config" / "pubmed_query.toml").read_text("utf-8")
    parts = tomllib.loads(text)["query"]

    def any_of(terms: list[str]) -> str:
        return "(" + " OR ".join(terms) + ")"

    term = " AND ".join(any_of(parts[k]) for k in ("drugs", "conditions", "study_filters"))
    if parts.get("exclude"):
        term += " NOT " + any_of(parts["exclude"])
    return term


# --- run bookkeeping ----------------------------------------------------------------------------


def new_run_id() -> str:
    """Sortable and unique: UTC time plus a random suffix."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def mark_abandoned_runs(con) -> int:
    """Runs still 'running' belong to a process that died (we hold the write lock): mark them
    interrupted. Returns how many."""
    rows = con.execute("SELECT run_id FROM core.runs WHERE status = 'running'").fetchall()
    if rows:
        con.execute(
            "UPDATE core.runs SET status = 'interrupted', finished_at = coalesce(finished_at, ?), "
            "message = 'the process stopped without finishing (killed?); whole batches kept' "
            "WHERE status = 'running'",
            [warehouse.now()],
        )
        log.warning("%d earlier run(s) had stopped without finishing; resuming", len(rows))
    return len(rows)


def start_run(
    con,
    mode: str,
    *,
    query: str | None = None,
    since: date | None = None,
    snapshot_path: str | None = None,
) -> RunSummary:
    """Insert a core.runs row with status 'running'."""
    summary = RunSummary(new_run_id(), mode)
    con.execute(
        "INSERT INTO core.runs (run_id, started_at, status, mode, query, since, snapshot_path) "
        "VALUES (?, ?, 'running', ?, ?, ?, ?)",
        [summary.run_id, warehouse.now(), mode, query, since, snapshot_path],
    )
    return summary


def save_progress(con, summary: RunSummary) -> None:
    """Write the run's counts (after every batch, so an interrupted run shows its progress)."""
    con.execute(
        "UPDATE core.runs SET n_found = ?, n_fetched = ?, n_loaded = ?, n_quarantined = ? "
        "WHERE run_id = ?",
        [summary.n_found, summary.n_fetched, summary.n_loaded, summary.n_quarantined,
         summary.run_id],
    )  # fmt: skip


def finish_run(
    con,
    summary: RunSummary,
    status: str,
    message: str | None = None,
    secrets: Iterable[str | None] = (),
) -> None:
    """Close the run with its final status and counts; `secrets` (and the API key) are
    redacted from the message."""
    message = redact(message, secrets) if message is not None else None
    summary.status = status
    summary.message = message
    save_progress(con, summary)
    con.execute(
        "UPDATE core.runs SET status = ?, finished_at = ?, message = ? WHERE run_id = ?",
        [status, warehouse.now(), message, summary.run_id],
    )


@contextmanager
def _bookkeeping(con, summary: RunSummary, secrets: Iterable[str | None] = ()) -> Iterator[None]:
    """Mark the run failed or interrupted when it stops early (then re-raise); `secrets` are
    redacted from the stored message."""
    try:
        yield
    except PipelineError as error:
        finish_run(con, summary, "failed", str(error), secrets)
        raise
    except BaseException as error:
        interrupt = as_interrupt(error)
        if interrupt is None:
            finish_run(con, summary, "failed", f"{type(error).__name__}: {error}", secrets)
            raise
        finish_run(con, summary, "interrupted", "interrupted; whole batches kept")
        raise interrupt from interrupt.__cause__


def record_sightings(con, run_id: str, sightings: dict[str, str | None]) -> None:
    """core.pmid_sightings rows for PMIDs a run found (pmid -> query), in one statement."""
    if not sightings:
        return
    rows = pa.table(  # noqa: F841 - read by DuckDB below
        {
            "pmid": pa.array(list(sightings), pa.string()),
            "query": pa.array(list(sightings.values()), pa.string()),
        }
    )
    con.execute(
        "INSERT INTO core.pmid_sightings SELECT pmid, ?, query, ? FROM rows ON CONFLICT DO NOTHING",
        [run_id, warehouse.now()],
    )


def last_completed_run_start(con, mode: str, query: str | None) -> datetime | None:
    """When the last completed run of this mode and query started."""
    return con.execute(
        "SELECT max(started_at) FROM core.runs "
        "WHERE status = 'completed' AND mode = ? AND query IS NOT DISTINCT FROM ?",
        [mode, query],
    ).fetchone()[0]


def pmids_loaded_by_unfinished_runs(
    con, mode: str, query: str | None, after: datetime | None
) -> set[str]:
    """PMIDs in finished batches of runs of this query that did not complete (since `after`)."""
    rows = con.execute(
        "SELECT DISTINCT unnest(b.pmids) FROM core.run_batches b JOIN core.runs r USING (run_id) "
        "WHERE r.status <> 'completed' AND r.mode = ? AND r.query IS NOT DISTINCT FROM ? "
        "AND (? IS NULL OR r.started_at > ?)",
        [mode, query, after, after],
    ).fetchall()
    return {r[0] for r in rows}


def stored_pmids(con, source: str) -> set[str]:
    """PMIDs with an article parsed from a record of this source ('live' or 'snapshot')."""
    rows = con.execute("SELECT pmid FROM core.articles WHERE source = ?", [source]).fetchall()
    return {r[0] for r in rows}


# --- batches ------------------------------------------------------------------------------------


def plan_batches(found: SearchResult, needed: set[str], batch_size: int) -> list[FetchRequest]:
    """Cut the needed PMIDs into batches in search order. A batch that is a contiguous stretch
    of a search segment is fetched from the history server (WebEnv, query_key, retstart);
    any other by id list."""
    batches: list[FetchRequest] = []
    planned: set[str] = set()
    for segment in found.segments:
        positions = []
        for index, pmid in enumerate(segment.pmids):
            if pmid in needed and pmid not in planned:
                planned.add(pmid)
                positions.append((index, pmid))
        for start in range(0, len(positions), batch_size):
            chunk = positions[start : start + batch_size]
            pmids = tuple(p for _, p in chunk)
            contiguous = chunk[-1][0] - chunk[0][0] == len(chunk) - 1
            if contiguous and segment.webenv and segment.query_key:
                batches.append(FetchRequest(pmids, segment.webenv, segment.query_key, chunk[0][0]))
            else:
                batches.append(FetchRequest(pmids))
    return batches


def _unique_articles(
    articles: list[Article | ArticleRows],
) -> list[Article | ArticleRows]:
    """One article per PMID (the last one), as the loader's upsert expects."""
    return list({a.pmid: a for a in articles}.values())


def _check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise PipelineError(f"the batch size must be a positive number, not {batch_size}")


def _progress(total: int, description: str, enabled: bool) -> tqdm:
    return tqdm(
        total=total, desc=description, unit="record", file=sys.stderr, disable=not enabled,
        dynamic_ncols=True,
    )  # fmt: skip


# --- live ---------------------------------------------------------------------------------------


def ingest_live(
    con,
    client: EntrezClient,
    *,
    query: str,
    since: date | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
    fetch_ahead: int | None = None,
    workers: int = 1,
    extract: bool = True,
) -> RunSummary:
    """Search PubMed, fetch what is new or revised, and load it batch by batch.

    While a batch is loaded, the next `fetch_ahead` batches are fetched and parsed
    (`EntrezClient.prefetch`); batches still commit one at a time in plan order, and a
    prefetched batch's error is raised when its turn comes, as if fetched then. Requests start
    in plan order, spaced by the rate limit (on a busy machine one may still reach the server
    after the next); by default (`fetch_ahead` None) a policy without spacing (request_interval
    0, as tests use) fetches one batch at a time instead, else FETCH_AHEAD batches ahead.

    With `workers` > 1 the records are parsed in that many worker processes while this one
    loads; with `extract` too, each article whose bytes are new is also extracted in the worker
    that parses it, and its trial facts, arms and effects land in its batch's transaction (the
    rows the extraction step would write afterwards, which then finds nothing left to do), as
    in `ingest_snapshot`.
    """
    from pipeline.extract import store as extraction_store

    _check_batch_size(batch_size)
    if fetch_ahead is None:
        fetch_ahead = FETCH_AHEAD if client.policy.interval > 0 else 0
    mark_abandoned_runs(con)
    previous = last_completed_run_start(con, "live", query)
    summary = start_run(con, "live", query=query, since=since)
    with _bookkeeping(con, summary, [client.policy.api_key]), worker_pool(workers) as pool:
        today = datetime.now(UTC).date()
        if since is not None and since > today:
            raise PipelineError(f"--since {since} is in the future")
        found = client.search(query, mindate=since, maxdate=today if since else None)
        summary.n_found = len(found.pmids)
        save_progress(con, summary)
        if not found.pmids:
            raise EmptySearchError(
                "the PubMed search found no records"
                + (f" entered since {since}" if since else "")
                + f"; check the query: {query}"
            )
        record_sightings(con, summary.run_id, dict.fromkeys(found.pmids, query))

        stored = stored_pmids(con, "live")
        revised: set[str] = set()
        if previous is not None and stored.intersection(found.pmids):
            modified = client.search(query, mindate=previous.date(), maxdate=today, datetype="mdat")
            revised = stored.intersection(modified.pmids)
        resumed = pmids_loaded_by_unfinished_runs(con, "live", query, previous)
        needed = {p for p in found.pmids if (p not in stored or p in revised) and p not in resumed}
        summary.n_skipped = len(found.pmids) - len(needed)
        log.info(
            "%d PMIDs found: %d to fetch (%d revised since the last run), %d already stored%s",
            len(found.pmids), len(needed), len(revised & needed), summary.n_skipped,
            f" ({len(resumed)} by an unfinished run, resumed)" if resumed else "",
        )  # fmt: skip

        follow_up = None
        if extract and pool is not None:  # one worker: the extraction step after the load
            checksums = _stored_checksums(con, needed)

            def worth_extracting(record: bytes) -> bool:
                """Whether a record's bytes differ from its stored article's (new or changed)."""
                return checksums.get(record_pmid(record)) != hashlib.sha256(record).hexdigest()

            follow_up = (extraction_store.extract_parsed, worth_extracting)
        parsing = {"pool": pool, "follow_up": follow_up}
        extracted = {"articles": 0, "failed": 0}

        plan = plan_batches(found, needed, batch_size)
        with _progress(len(needed), "fetching PubMed", progress) as bar, _fetching_ahead(client):
            for index, request in enumerate(plan):
                for later in plan[index : index + 1 + fetch_ahead] if fetch_ahead else ():
                    client.prefetch(later, **parsing)  # no-op for one already started
                result = client.fetch(request, **parsing)
                articles = _unique_articles([r.article for r in result.records])
                extractions = {r.article.pmid: r.extraction for r in result.records}
                done = [extractions[a.pmid] for a in articles if extractions[a.pmid] is not None]
                warehouse.load_batch(
                    con, articles, [r.raw for r in result.records], summary.run_id,
                    quarantined=result.quarantined,
                    batch_no=summary.n_batches + 1, batch_pmids=list(request.pmids),
                    with_articles=partial(_write_extractions, con, done, extracted),
                )  # fmt: skip
                summary.n_batches += 1
                summary.n_fetched += len(request.pmids)
                summary.n_loaded += len(articles)
                summary.n_quarantined += len(result.quarantined)
                save_progress(con, summary)
                bar.update(len(request.pmids))
                bar.set_postfix(
                    loaded=summary.n_loaded, quarantined=summary.n_quarantined, refresh=False
                )
        finish_run(con, summary, "completed")
    log.info(summary.sentence())
    _log_extracted_with_the_load(extracted)
    return summary


def _write_extractions(con, done: list[ExtractionBatch], extracted: dict[str, int]) -> None:
    """Write the extractions made where their records were parsed, in the transaction loading
    their articles, and count the articles extracted and those whose extraction failed."""
    from pipeline.extract import store as extraction_store

    n = extraction_store.write_extractions(con, done)
    extracted["articles"] += n
    extracted["failed"] += sum(len(d.pmids) for d in done) - n


def _log_extracted_with_the_load(extracted: dict[str, int]) -> None:
    from pipeline.extract import EXTRACTOR_VERSION

    if extracted["articles"] or extracted["failed"]:
        log.info(
            "extraction %s with the load: %d articles, %d quarantined",
            EXTRACTOR_VERSION, extracted["articles"], extracted["failed"],
        )  # fmt: skip


def _stored_checksums(con, pmids: set[str]) -> dict[str, str]:
    """pmid -> checksum of the stored articles among `pmids` (whatever their source)."""
    if not pmids:
        return {}
    wanted = pa.table({"pmid": pa.array(sorted(pmids), pa.string())})  # noqa: F841 - for DuckDB
    return dict(
        con.execute(
            "SELECT pmid, checksum FROM core.articles WHERE pmid IN (SELECT pmid FROM wanted)"
        ).fetchall()
    )


@contextmanager
def _fetching_ahead(client: EntrezClient) -> Iterator[None]:
    """Drop the prefetched batches nobody took when the loop ends: after an error, once their
    requests have ended (none outlives the run); after Ctrl-C at once."""
    try:
        yield
    except BaseException as error:
        interrupt = as_interrupt(error)
        client.drop_prefetched(wait=interrupt is None)
        if interrupt is None:
            raise
        raise interrupt from interrupt.__cause__
    client.drop_prefetched(wait=False)  # none left after the last batch


# --- snapshot -----------------------------------------------------------------------------------


@dataclass
class _Batch:
    articles: list[Article | ArticleRows] = field(default_factory=list)
    raws: list[RawRecord] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    pmids: dict[str, str | None] = field(default_factory=dict)  # pmid -> query (sightings)
    extractions: dict[str, object] = field(default_factory=dict)  # pmid -> ExtractionBatch

    def __len__(self) -> int:
        return len(self.pmids) + len(self.quarantined)

    def clear(self) -> None:
        self.articles.clear()
        self.raws.clear()
        self.quarantined.clear()
        self.pmids.clear()
        self.extractions.clear()


def _quarantine_key(stage: str, location: str | None, payload: bytes | None) -> tuple:
    return stage, location, hashlib.sha256(payload or b"").hexdigest()


def ingest_snapshot(
    con,
    snapshot: Snapshot,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
    workers: int = 1,
    extract: bool = True,
) -> RunSummary:
    """Load a recorded snapshot through the same parser and loader as a live run.

    Records already stored with the same bytes are skipped (a re-run loads nothing); a PMID
    whose article came from a live record keeps it (the snapshot's raw bytes are still kept).
    With `workers` > 1 the XML is parsed in that many worker processes while this one loads.
    With `extract` and `workers` > 1, each new or changed XML article is also extracted in the
    worker that parses it, and its trial facts, arms and effects land in its batch's transaction
    (the rows the extraction step would write afterwards, which then finds nothing left to do).
    """
    from pipeline.extract import store as extraction_store

    _check_batch_size(batch_size)
    mark_abandoned_runs(con)
    summary = start_run(con, "snapshot", query=snapshot.query, snapshot_path=str(snapshot.location))
    with _bookkeeping(con, summary):
        summary.n_found = snapshot.record_count
        stored = dict(con.execute("SELECT pmid, checksum FROM core.articles").fetchall())
        live = stored_pmids(con, "live")
        raw_stored = set(con.execute("SELECT pmid, checksum FROM raw.records").fetchall())
        quarantined_before = {
            _quarantine_key(*row)
            for row in con.execute(
                "SELECT stage, location, payload FROM raw.quarantine WHERE run_id IN "
                "(SELECT run_id FROM core.runs WHERE mode = 'snapshot')"
            ).fetchall()
        }
        searches: dict[str, str | None] = {}
        for search in iter_searches(snapshot):
            for pmid in search.pmids:
                searches.setdefault(pmid, search.query)
        record_sightings(con, summary.run_id, searches)

        batch = _Batch()
        extracted = {"articles": 0, "failed": 0}

        def worth_extracting(record: bytes) -> bool:
            """Whether a record's article will be loaded (new or changed bytes, not live)."""
            pmid = record_pmid(record)
            return pmid not in live and stored.get(pmid) != hashlib.sha256(record).hexdigest()

        def write_extractions(articles: list[Article | ArticleRows]) -> None:
            done = [batch.extractions[a.pmid] for a in articles if a.pmid in batch.extractions]
            _write_extractions(con, done, extracted)

        # In one process the extraction step afterwards is cheaper (measured: 26 against 34 CPU
        # seconds for 5,000 records); with workers, extracting where parsing runs overlaps it
        # with the load.
        fused = extract and workers > 1
        follow_up = (extraction_store.extract_parsed, worth_extracting) if fused else None

        def flush() -> None:
            if batch.raws or batch.quarantined:
                articles = _unique_articles(batch.articles)
                warehouse.load_batch(
                    con, articles, batch.raws, summary.run_id, quarantined=batch.quarantined,
                    batch_no=summary.n_batches + 1,
                    batch_pmids=list(dict.fromkeys(r.pmid for r in batch.raws)),
                    with_articles=lambda: write_extractions(articles),
                )  # fmt: skip
                summary.n_batches += 1
                summary.n_loaded += len(articles)
                summary.n_quarantined += len(batch.quarantined)
                save_progress(con, summary)
            record_sightings(
                con, summary.run_id, {p: q for p, q in batch.pmids.items() if p not in searches}
            )
            batch.clear()

        with (
            worker_pool(workers) as pool,
            _progress(snapshot.record_count, "loading snapshot", progress) as bar,
        ):
            for item in iter_snapshot(snapshot, pool, follow_up):
                summary.n_fetched += 1
                bar.update(1)
                if isinstance(item, Quarantined):
                    key = _quarantine_key(item.stage, item.location, item.payload)
                    if key in quarantined_before:
                        summary.n_skipped += 1
                        continue
                    batch.quarantined.append(item)
                else:
                    _add_snapshot_record(item, batch, stored, live, raw_stored, summary, flush)
                if len(batch) >= batch_size:
                    flush()
                bar.set_postfix(
                    loaded=summary.n_loaded, quarantined=summary.n_quarantined, refresh=False
                )
            flush()
            bar.set_postfix(loaded=summary.n_loaded, quarantined=summary.n_quarantined)
        finish_run(con, summary, "completed")
    log.info(summary.sentence())
    _log_extracted_with_the_load(extracted)
    return summary


def _add_snapshot_record(
    item: SnapshotRecord,
    batch: _Batch,
    stored: dict[str, str],
    live: set[str],
    raw_stored: set[tuple[str, str]],
    summary: RunSummary,
    flush,
) -> None:
    """Put one snapshot record in the batch, or skip it when its bytes are already stored."""
    raw = item.raw
    pmid = raw.pmid
    if item.duplicate_of is not None:  # said when read; the first copy is the one loaded
        summary.n_duplicates += 1
        batch.pmids.setdefault(pmid, item.query)
        return
    article = item.article if pmid not in live else None
    unchanged = (
        stored.get(pmid) == raw.checksum
        if article is not None
        else (pmid, raw.checksum) in raw_stored
    )
    if unchanged:
        summary.n_skipped += 1
        batch.pmids.setdefault(pmid, item.query)  # still a sighting of this run
        return
    if pmid in batch.pmids and any(r.pmid == pmid for r in batch.raws):
        flush()  # the loader keeps one raw record per PMID and batch
    batch.raws.append(raw)
    if article is not None:
        batch.articles.append(article)
        if item.extraction is not None:
            batch.extractions[pmid] = item.extraction
        else:
            batch.extractions.pop(pmid, None)
    batch.pmids.setdefault(pmid, item.query)


# --- status -------------------------------------------------------------------------------------


@dataclass
class WarehouseStatus:
    """What the warehouse holds: counts, quarantined records, and the last runs."""

    schema_version: int
    n_articles: int
    by_source: list[tuple[str, int]]
    by_publication_type: list[tuple[str, int]]
    by_year: list[tuple[int | None, int]]
    quarantined: list[tuple[str, str | None, str | None, str, str | None]]
    runs: list[tuple]

    def render(self) -> str:
        """Plain-text tables for the terminal."""
        out = [f"schema version {self.schema_version}; {self.n_articles} articles", ""]
        out += _table("articles by source", ["source", "articles"], self.by_source)
        out += _table("articles by year", ["year", "articles"], self.by_year)
        out += _table(
            "articles by publication type", ["publication type", "articles"],
            self.by_publication_type,
        )  # fmt: skip
        out += _table(
            f"quarantined records ({len(self.quarantined)})",
            ["stage", "PMID", "where", "error", "run"],
            self.quarantined,
        )
        out += _table(
            "last runs",
            ["run", "status", "mode", "started", "found", "fetched", "loaded", "quarantined",
             "message"],
            self.runs,
        )  # fmt: skip
        return "\n".join(out).rstrip() + "\n"


def warehouse_status(con, *, last_runs: int = 5) -> WarehouseStatus:
    """Counts by source, year and publication type; quarantined records; the last runs."""
    return WarehouseStatus(
        schema_version=warehouse.schema_version(con),
        n_articles=con.execute("SELECT count(*) FROM core.articles").fetchone()[0],
        by_source=con.execute(
            "SELECT source, count(*) FROM core.articles GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall(),
        by_publication_type=con.execute(
            "SELECT name, count(*) FROM core.publication_types GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall(),
        by_year=con.execute(
            "SELECT pub_year, count(*) FROM core.articles GROUP BY 1 ORDER BY 1 DESC NULLS LAST"
        ).fetchall(),
        quarantined=con.execute(
            "SELECT stage, pmid, location, error, run_id FROM raw.quarantine "
            "ORDER BY created_at, quarantine_id"
        ).fetchall(),
        runs=con.execute(
            "SELECT run_id, status, mode, strftime(started_at, '%Y-%m-%d %H:%M:%S'), n_found, "
            "n_fetched, n_loaded, n_quarantined, message FROM core.runs "
            "ORDER BY started_at DESC LIMIT ?",
            [last_runs],
        ).fetchall(),
    )


def _table(title: str, header: list[str], rows: list[tuple], max_width: int = 120) -> list[str]:
    if not rows:
        return [f"{title}: none", ""]
    cells = [[_cell(v, max_width) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    line = "  ".join
    return [
        f"{title}:",
        "  " + line(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
        *("  " + line(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells),
        "",
    ]


def _cell(value, max_width: int) -> str:
    text = "-" if value is None else redact(" ".join(str(value).split()))
    return text if len(text) <= max_width else text[: max_width - 3] + "..."
