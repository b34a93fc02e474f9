"""`python -m pipeline clinic ...`: import a clinic export, write demo data, show metrics."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import warehouse
from pipeline.checksums import file_sha256
from pipeline.config import resolve_db_path

if TYPE_CHECKING:
    import pandas as pd

# The clinic modules (pandera, scipy) load only when a clinic command runs, so that every other
# command starts quickly. Keep in step with pipeline.clinic.demo.DEFAULT_SEED (a test checks).
DEMO_SEED = 20240601


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "clinic", help="clinic outcomes: import an export, write SYNTHETIC demo data, metrics"
    )
    commands = parser.add_subparsers(title="clinic commands", metavar="ACTION")

    imp = commands.add_parser(
        "import",
        help="validate, pseudonymise and add a clinic export (.csv or .xlsx, one row per session; "
        "monthly exports go on top of the sessions already stored)",
    )
    imp.add_argument("path", type=Path, help="the export file")
    imp.add_argument(
        "--mapping", type=Path, help="TOML mapping of export headers (default: shipped)"
    )
    imp.add_argument(
        "--skip-invalid", action="store_true",
        help="load the valid rows and write the invalid ones, with reasons, to the report",
    )  # fmt: skip
    imp.add_argument(
        "--report", type=Path,
        help="where --skip-invalid writes the invalid rows, and a refusal with more than 50 "
        "problems lists them all (default: EXPORT.invalid_rows.csv beside the export)",
    )  # fmt: skip
    imp.add_argument(
        "--replace", action="store_true",
        help="replace stored sessions (same patient and date) that this export changes; without "
        "it such an import is refused and the changed sessions are listed by file row",
    )  # fmt: skip
    imp.add_argument(
        "--db", help="warehouse path (default: PIPELINE_DB or warehouse/evidence.duckdb)"
    )
    imp.set_defaults(func=run_import)

    dem = commands.add_parser("demo", help="write a seeded SYNTHETIC clinic export")
    dem.add_argument("--out", type=Path, required=True, help="the file to write (.csv or .xlsx)")
    dem.add_argument("--seed", type=int, default=DEMO_SEED, help="random seed")
    dem.set_defaults(func=run_demo)

    met = commands.add_parser("metrics", help="print the clinic metrics from the warehouse")
    met.add_argument(
        "--db", help="warehouse path (default: PIPELINE_DB or warehouse/evidence.duckdb)"
    )
    met.add_argument(
        "--suppress", action="store_true",
        help="suppress counts below 11, the rates from them and any count that would give one "
        "away through a total, as for anything shown to patients",
    )  # fmt: skip
    met.set_defaults(func=run_metrics)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def run_import(args: argparse.Namespace) -> int:
    from pipeline.clinic import load

    report = args.report or load.default_report_path(args.path)
    # Everything is checked before the warehouse is opened, so a refused export changes nothing.
    raw, mapping, checked = load.check_file(
        args.path, args.mapping, skip_invalid=args.skip_invalid, report_path=report
    )
    con = warehouse.connect(resolve_db_path(args.db))
    try:
        summary = load.import_frame(
            con, raw, mapping, source_name=args.path.name,
            source_sha256=file_sha256(args.path), skip_invalid=args.skip_invalid,
            report_path=report, checked=checked, replace=args.replace,
        )  # fmt: skip
    finally:
        con.close()
    print(summary.sentence())
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from pipeline.clinic import demo

    n = demo.write_demo_export(args.out, args.seed)
    print(f"wrote {n:,} SYNTHETIC sessions (seed {args.seed}) to {args.out}")
    return 0


def _show(title: str, frame: pd.DataFrame) -> None:
    print(f"\n{title}")
    print(
        frame.to_string(index=False, float_format=lambda v: f"{v:.3f}") if len(frame) else "(none)"
    )


def run_metrics(args: argparse.Namespace) -> int:
    from pipeline.clinic import metrics

    con = warehouse.connect(resolve_db_path(args.db), read_only=True)
    try:
        counts = metrics.clinic_counts(con)
        rr = metrics.response_remission(con)
        effects = metrics.side_effect_rates(con)
        ttr = metrics.time_to_response(con)
        g = metrics.pre_post_effect(con)
    finally:
        con.close()
    if counts.empty:
        print("no clinic data in the warehouse: run `make ingest` or `clinic import`")
        return 0
    if bool(counts["synthetic"].any()):
        print("SYNTHETIC demo data: invented sessions, not a clinic's outcomes.")
    if args.suppress:
        counts = metrics.suppress_small_counts(counts, ["n_patients", "n_courses", "n_sessions"])
        response = ["response_rate", "response_ci_low", "response_ci_high"]
        remission = ["remission_rate", "remission_ci_low", "remission_ci_high"]
        rr = metrics.suppress_small_counts(
            rr, ["n_response_evaluable", "n_response", "n_remission_evaluable", "n_remission"],
            derived={"n_response_evaluable": response, "n_response": response,
                     "n_remission_evaluable": remission, "n_remission": remission},
        )  # fmt: skip
        effects = metrics.suppress_small_counts(effects, ["n_sessions_recorded", "n_sessions_with"])
        ttr = metrics.suppress_small_counts(
            ttr, ["n_courses", "n_responders"],
            derived={"n_courses": ["km_median_sessions"],
                     "n_responders": ["median_sessions_among_responders",
                                      "median_days_among_responders", "km_median_sessions"]},
        )  # fmt: skip
        g = metrics.suppress_small_counts(g, ["n"])
    _show("Patients, courses and sessions", counts.drop(columns=["first_session", "last_session"]))
    _show(
        "PHQ-9 response and remission after N sessions (Wilson 95% CI)", rr.drop(columns=["scale"])
    )
    _show("Time to PHQ-9 response", ttr)
    _show("Pre/post Hedges g, PHQ-9, baseline to end of course", g.drop(columns=["after_sessions"]))
    _show("Side effects per session (Wilson 95% CI)", effects)
    return 0
