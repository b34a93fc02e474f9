"""`python -m pipeline ingest`: PubMed (live with NCBI_EMAIL, else the bundled snapshot) into
the warehouse, then the post-ingest steps listed in `pipeline.post_ingest`."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from tqdm.contrib.logging import logging_redirect_tqdm

from pipeline import config, ingest, warehouse
from pipeline.errors import UsageError
from pipeline.parallel import default_workers
from pipeline.sources.entrez import EntrezClient, EntrezPolicy
from pipeline.sources.snapshot import SnapshotRecorder, bundled_snapshot_dir, open_snapshot

log = logging.getLogger(__name__)

DESCRIPTION = """\
Ingest PubMed records into the DuckDB warehouse, then extract trial facts and effects and load
the clinic data (CLINIC_EXPORT, or synthetic demo data).

With NCBI_EMAIL set, searches PubMed live (NCBI_API_KEY raises the rate limit from 3 to 10
requests/s; EUTILS_BASE_URL redirects every request). Without it, ingests the snapshot bundled
with the package and says so. A re-run fetches only what is new or revised; an interrupted run
keeps its whole batches and the next run resumes. Failed E-utilities responses are saved
for inspection (API key redacted) in failed_responses/ beside the database; EUTILS_TIMEOUT
and EUTILS_RETRY_DELAYS (seconds, comma-separated) tune the request timeout and backoff."""


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return value


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "ingest",
        help="ingest PubMed (live, or the bundled snapshot) into the warehouse",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--live", action="store_true", help="search PubMed live (needs NCBI_EMAIL)")
    parser.add_argument(
        "--snapshot",
        metavar="PATH",
        type=Path,
        help="replay a recorded snapshot: a directory with manifest.json, or one .xml/.jsonl file",
    )
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        type=Path,
        help="PubMed baseline and update files (pubmedYYnNNNN.xml.gz) in DIR, parsed and "
        "extracted on Dask into Parquet (beside the database, in baseline_parquet/), then loaded",
    )
    parser.add_argument(
        "--filter",
        metavar="QUERY",
        help="with --baseline: keep only records matching, e.g. 'mesh:Ketamine OR tiab:esketamine "
        'AND pt:"Randomized Controlled Trial"\'',
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --baseline: an existing Dask cluster (tcp://host:port) instead of a local one",
    )
    parser.add_argument(
        "--record",
        metavar="DIR",
        type=Path,
        help="save the live run's raw esearch/efetch responses in DIR as a snapshot",
    )
    parser.add_argument(
        "--query",
        metavar="Q",
        help="PubMed search term (default: pipeline/config/pubmed_query.toml)",
    )
    parser.add_argument(
        "--since",
        metavar="DATE",
        type=_iso_date,
        help="only records that entered PubMed on or after DATE (YYYY-MM-DD, Entrez date)",
    )
    parser.add_argument(
        "--batch-size",
        metavar="N",
        type=_positive_int,
        default=ingest.DEFAULT_BATCH_SIZE,
        help=f"records per fetch and per transaction (default {ingest.DEFAULT_BATCH_SIZE})",
    )
    parser.add_argument(
        "--workers",
        metavar="N",
        type=_positive_int,
        default=default_workers(),
        help="worker processes for parsing and extraction; this process writes the warehouse "
        f"(default: the number of cores, {default_workers()})",
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="the warehouse (default: PIPELINE_DB or warehouse/evidence.duckdb)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.baseline:
        return _run_baseline(args)
    if args.filter or args.scheduler:
        raise UsageError("--filter and --scheduler apply to --baseline DIR")
    if args.live and args.snapshot:
        raise UsageError("--live and --snapshot exclude each other: choose one source")
    email = config.ncbi_email()
    if args.live and not email:
        raise UsageError(
            "--live needs NCBI_EMAIL (export NCBI_EMAIL=you@example.org, as NCBI asks of every "
            "client); without --live the bundled snapshot is ingested"
        )
    live = bool(args.live or (email and not args.snapshot))
    if not live and (args.record or args.query or args.since):
        raise UsageError(
            "--record, --query and --since apply to a live PubMed search; set NCBI_EMAIL "
            "(or pass --live) to search live"
        )
    db_path = config.resolve_db_path(args.db)
    snapshot = None
    if not live:
        snapshot = open_snapshot(args.snapshot or bundled_snapshot_dir())
        when = snapshot.snapshot_date.isoformat() if snapshot.snapshot_date else "undated"
        if args.snapshot:
            log.info(
                "ingesting the snapshot %s (%s, %d records)",
                snapshot.location, when, snapshot.record_count,
            )  # fmt: skip
        else:
            log.info(
                "NCBI_EMAIL is not set: ingesting the bundled snapshot of %s (%d records) "
                "instead of live PubMed",
                when, snapshot.record_count,
            )  # fmt: skip

    con = warehouse.connect(db_path, ingest=True)
    try:
        with _sigterm_as_interrupt(), logging_redirect_tqdm():
            if snapshot is not None:
                summary = ingest.ingest_snapshot(
                    con, snapshot, batch_size=args.batch_size, workers=args.workers
                )
            else:
                summary = _run_live(con, args, db_path)
            # Imported here: the steps pull in pandas and statsmodels, which the load itself does
            # not need (a run starts fetching sooner). Each step's report is logged as it ends.
            from pipeline import post_ingest

            post_ingest.run_post_ingest_steps(
                con, post_ingest.POST_INGEST_STEPS, workers=args.workers
            )
    finally:
        con.close()
    print(f"{summary.sentence()}; warehouse {db_path}")
    return 0


def _run_baseline(args: argparse.Namespace) -> int:
    """The PubMed baseline on Dask, then the same post-ingest steps."""
    from pipeline import post_ingest
    from pipeline.sources import baseline

    if args.live or args.snapshot or args.record or args.query or args.since:
        raise UsageError("--baseline excludes --live, --snapshot, --record, --query and --since")
    record_filter = baseline.RecordFilter.parse(args.filter) if args.filter else None
    db_path = config.resolve_db_path(args.db)
    con = warehouse.connect(db_path, ingest=True)
    try:
        with _sigterm_as_interrupt(), logging_redirect_tqdm():
            summary = baseline.ingest_baseline(
                con, args.baseline, db_path.parent / "baseline_parquet",
                record_filter=record_filter, workers=args.workers, scheduler=args.scheduler,
            )  # fmt: skip
            post_ingest.run_post_ingest_steps(
                con, post_ingest.POST_INGEST_STEPS, workers=args.workers
            )
    finally:
        con.close()
    print(f"{summary.sentence()}; warehouse {db_path}")
    return 0


def _run_live(con, args: argparse.Namespace, db_path: Path) -> ingest.RunSummary:
    query = args.query or ingest.default_query()
    policy = EntrezPolicy.from_environment(dump_dir=db_path.parent / "failed_responses")
    client = EntrezClient(policy)
    if args.record:
        recorder = SnapshotRecorder(args.record, query=query, since=args.since)
        client.on_esearch = recorder.save_esearch
        client.on_efetch = recorder.save_efetch
        log.info("recording the raw responses in %s", args.record)
    log.info(
        "searching PubMed at %s (%s)",
        policy.base_url,
        "with an API key" if policy.api_key else "no API key: 3 requests/s",
    )
    try:
        return ingest.ingest_live(
            con, client, query=query, since=args.since, batch_size=args.batch_size,
            workers=args.workers,
        )  # fmt: skip
    finally:
        client.close()


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """`kill` (SIGTERM) stops the run like Ctrl-C, so it is recorded as interrupted."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
