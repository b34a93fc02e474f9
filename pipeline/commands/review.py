"""`python -m pipeline review`: verify or reject extracted effects in the terminal."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys

from pipeline import config, warehouse
from pipeline.config import resolve_db_path
from pipeline.errors import PipelineError
from pipeline.evidence import review

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "review",
        help="walk the unreviewed extracted effects and verify or reject each one",
        description=(
            "Shows each unreviewed effect (and each decision flagged for re-review) in its "
            "abstract sentence, the extracted span marked, and records v(erify), r(eject), "
            "s(kip) or q(uit). Only verified effects reach patient materials."
        ),
    )
    parser.add_argument("--pmid", nargs="+", metavar="P", help="only these trials' effects")
    parser.add_argument(
        "--reviewer",
        help="who is deciding (default: PIPELINE_REVIEWER, else the login name)",
    )
    parser.add_argument("--db", help="the warehouse (default: PIPELINE_DB or warehouse/)")
    parser.add_argument(
        "--summary", action="store_true", help="print counts by status and exit without asking"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = resolve_db_path(args.db)
    if not path.exists():
        raise PipelineError(f"no warehouse at {path}: run `make ingest` first")
    con = warehouse.connect(path)  # writable: brings an older warehouse up to date
    try:
        if args.summary:
            counts = review.review_summary(con, args.pmid)
            for name, count in counts.items():
                print(f"{name}: {count}")
            orphans = len(review.orphaned_reviews(con))
            if orphans:
                print(f"decisions whose effect is no longer extracted: {orphans}")
            return 0
        reviewer = args.reviewer or config.reviewer() or getpass.getuser()
        queue = review.review_queue(con, args.pmid)
        if queue.empty:
            print("nothing to review: every selected effect has a current decision")
            return 0
        print(f"{len(queue)} effect(s) to review, as {reviewer}")
        counts = review.interactive_review(
            con,
            queue,
            reviewer,
            stdin=sys.stdin,
            stdout=sys.stdout,
            ansi=sys.stdout.isatty() and not config.no_color(),
            echo=not sys.stdin.isatty(),
        )
        print(
            f"verified {counts['verified']}, rejected {counts['rejected']}, "
            f"skipped {counts['skipped']}; {len(queue) - sum(counts.values())} not shown"
        )
        return 0
    finally:
        con.close()
