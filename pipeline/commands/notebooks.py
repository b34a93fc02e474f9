"""`python -m pipeline notebooks run|figures`: execute the notebooks, or save their figures."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    """Add the `notebooks` command with its `run` and `figures` actions."""
    parser = subparsers.add_parser(
        "notebooks",
        help="execute the notebooks against the warehouse, or save their figures as PNG",
        description="Execute every notebook in notebooks/ against the warehouse (--db, else "
        "PIPELINE_DB, else warehouse/evidence.duckdb). The synthesis marts are refreshed first.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    run = actions.add_parser("run", help="execute the notebooks into a folder")
    run.add_argument("--out", required=True, help="folder for the executed notebooks")
    figures = actions.add_parser("figures", help="execute the notebooks and save their plots")
    figures.add_argument("--out", required=True, help="folder for the PNG files")
    for action in (run, figures):
        action.add_argument("--db", help="the warehouse (default: PIPELINE_DB or warehouse/)")
        action.add_argument("--notebooks", help="folder of notebooks (default: notebooks/)")
        action.add_argument(
            "--no-refresh",
            action="store_true",
            help="do not recompute the synthesis marts first (the database is then only read)",
        )
    run.set_defaults(func=_run)
    figures.set_defaults(func=_figures)


def _run(args: argparse.Namespace) -> int:
    from pipeline import notebooks  # nbformat and nbclient are slow to import: only when used

    written = notebooks.run_notebooks(
        args.out, args.db, args.notebooks, refresh=not args.no_refresh
    )
    for path in written:
        print(path)
    return 0


def _figures(args: argparse.Namespace) -> int:
    from pipeline import notebooks

    saved = notebooks.save_figures(args.out, args.db, args.notebooks, refresh=not args.no_refresh)
    for path in saved:
        print(path)
    return 0
