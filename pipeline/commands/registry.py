"""`python -m pipeline registry ingest`: ClinicalTrials.gov results into the warehouse."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from tqdm.contrib.logging import logging_redirect_tqdm

from pipeline import config, warehouse
from pipeline.commands.ingest import _sigterm_as_interrupt
from pipeline.errors import UsageError
from pipeline.registry import SEARCH_CONDITION, SEARCH_INTERVENTION
from pipeline.sources.ctgov import CtgovClient, CtgovPolicy
from pipeline.sources.ctgov_snapshot import (
    RegistryRecorder,
    bundled_registry_snapshot,
    open_registry_snapshot,
)

log = logging.getLogger(__name__)

DESCRIPTION = """\
Fetch ClinicalTrials.gov (API v2) study documents into the warehouse: the raw document as
received (raw.registry_records), then studies, outcome groups, per-group outcome values and
between-group analyses (core.registry_*), every number kept beside the string it was posted as.

Studies fetched: the NCT ids the PubMed records link to (DataBankList; ids written only in the
abstract count as weaker links) and a registry search for depression trials of ketamine or
esketamine. A re-run fetches only new studies and those whose last-update-post date changed; a
killed run resumes. Policy (CtgovPolicy): about 1 request/s, a 30 s timeout, retries with
backoff honouring Retry-After on 429 and 5xx, every JSON body validated before use.

--live asks the API (CTGOV_BASE_URL, default https://clinicaltrials.gov/api/v2/); --snapshot
PATH loads a recorded snapshot. With neither, the run is live when NCBI_EMAIL is set (as for
PubMed) and otherwise loads the bundled snapshot, saying so."""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "registry",
        help="ClinicalTrials.gov results beside the abstracts",
        description="ClinicalTrials.gov (API v2) registry results in the warehouse.",
    )
    commands = parser.add_subparsers(title="registry commands", metavar="COMMAND")
    ingest_parser = commands.add_parser(
        "ingest",
        help="fetch new and changed registry studies (live, or a recorded snapshot)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ingest_parser.add_argument("--live", action="store_true", help="ask the live registry API")
    ingest_parser.add_argument(
        "--snapshot", metavar="PATH", type=Path, help="load a recorded registry snapshot"
    )
    ingest_parser.add_argument(
        "--record", metavar="DIR", type=Path, help="save each live study document in DIR"
    )
    ingest_parser.add_argument(
        "--condition",
        default=SEARCH_CONDITION,
        help=f"query.cond of the registry search (default {SEARCH_CONDITION!r})",
    )
    ingest_parser.add_argument(
        "--intervention",
        default=SEARCH_INTERVENTION,
        help=f"query.intr of the registry search (default {SEARCH_INTERVENTION!r})",
    )
    ingest_parser.add_argument(
        "--db",
        metavar="PATH",
        help="the warehouse (default: PIPELINE_DB or warehouse/evidence.duckdb)",
    )
    ingest_parser.set_defaults(func=run_ingest)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def run_ingest(args: argparse.Namespace) -> int:
    from pipeline.registry import ingest  # imported here: it pulls in scipy (see pipeline.cli)

    if args.live and args.snapshot:
        raise UsageError("--live and --snapshot exclude each other: choose one source")
    live = bool(args.live or (config.ncbi_email() and not args.snapshot))
    if args.record and not live:
        raise UsageError("--record saves a live run's documents: add --live")
    snapshot = None
    if not live:
        snapshot = open_registry_snapshot(args.snapshot or bundled_registry_snapshot())
        if args.snapshot:
            log.info("loading the registry snapshot %s", snapshot.location)
        else:
            log.info(
                "not live (no --live, no NCBI_EMAIL): loading the bundled registry snapshot of "
                "%s (%d studies, posted outcome measures only)",
                snapshot.retrieved_on, snapshot.study_count,
            )  # fmt: skip
    db_path = config.resolve_db_path(args.db)
    con = warehouse.connect(db_path, ingest=True)
    try:
        with _sigterm_as_interrupt(), logging_redirect_tqdm():
            if snapshot is not None:
                summary = ingest.ingest_registry_snapshot(con, snapshot)
            else:
                policy = CtgovPolicy()
                recorder = RegistryRecorder(args.record) if args.record else None
                log.info("asking ClinicalTrials.gov at %s (about 1 request/s)", policy.base_url)
                with CtgovClient(policy, on_study=recorder.save if recorder else None) as client:
                    summary = ingest.ingest_registry_live(
                        con, client, condition=args.condition, intervention=args.intervention
                    )
    finally:
        con.close()
    print(f"{summary.sentence()}; warehouse {db_path}")
    return 0
