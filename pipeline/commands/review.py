"""`python -m pipeline review`: verify or reject extracted effects in the terminal."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys

from pipeline import config, warehouse
from pipeline.config import resolve_db_path
from pipeline.errors import PipelineError

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "review",
        help="walk the unreviewed extracted effects and verify, correct or reject each one",
        description=(
            "Shows each unreviewed effect (and each decision flagged for re-review) in its\n"
            "abstract sentence, the extracted span marked, and records v(erify), r(eject),\n"
            "c(orrect), s(kip) or q(uit). Only verified effects reach patient materials."
        ),
        epilog=(
            "answers, one per line (typed, or on standard input when it is not a terminal):\n"
            "  v [NOTE]   verify            r [NOTE]   reject\n"
            "  s          skip              q          quit\n"
            "  c FIELD=VALUE; FIELD=VALUE; note=TEXT\n"
            "             correct the effect, then decide v, r, s or q on it as corrected;\n"
            "             or 'c' alone, then one FIELD=VALUE per line and an empty line\n"
            "fields: arm, comparator, subgroup, timepoint (free text; 'day 28', 'week 4',\n"
            "'24 hours' are also kept in days), n (a positive whole number). A correction is\n"
            "logged with the reviewer, the time and the quote, and kept while re-extraction\n"
            "leaves the quote unchanged; a changed quote flags the effect for re-review.\n"
            "A refused correction stops a scripted review with the reason.\n\n"
            "example:\n"
            "  printf 'c arm=placebo; timepoint=day 28; note=per Table 2\\nv\\nq\\n' \\\n"
            "    | python -m pipeline review --pmid 31166571 --reviewer 'Dr A'"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    from pipeline.evidence import corrections, review  # imported here (see pipeline.cli)

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
            fixed = corrections.correction_counts(con)
            if any(fixed.values()):
                print(
                    f"corrected fields: {fixed['applied']} applied, {fixed['set_aside']} set aside "
                    f"by a changed quote, {fixed['orphaned']} whose effect is no longer extracted"
                )
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
        decided = counts["verified"] + counts["rejected"] + counts["skipped"]
        corrected = f", corrected {counts['corrected']} field(s)" if counts["corrected"] else ""
        print(
            f"verified {counts['verified']}, rejected {counts['rejected']}, "
            f"skipped {counts['skipped']}{corrected}; {len(queue) - decided} not shown"
        )
        return 0
    finally:
        con.close()
