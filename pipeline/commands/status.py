"""`python -m pipeline status`: what the warehouse holds, what was quarantined, the last runs."""

from __future__ import annotations

import argparse

from pipeline import config, ingest, warehouse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "status",
        help="counts by publication type, year and source; quarantined records; the last runs",
        description="Show what the warehouse holds: articles by source, year and publication "
        "type, every quarantined record (stage, PMID, error), and the last ingest runs.",
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="the warehouse (default: PIPELINE_DB or warehouse/evidence.duckdb)",
    )
    parser.add_argument(
        "--runs", metavar="N", type=int, default=5, help="how many recent runs to list (default 5)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    con = warehouse.connect(config.resolve_db_path(args.db), read_only=True)
    try:
        status = ingest.warehouse_status(con, last_runs=args.runs)
    finally:
        con.close()
    print(status.render(), end="")
    return 0
