"""`python -m pipeline claims check FILE`: check the claims in a text against the records."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline import warehouse
from pipeline.config import resolve_db_path
from pipeline.errors import PipelineError, UsageError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "claims", help="check the claims in a leaflet or web page against the records"
    )
    commands = parser.add_subparsers(title="claims commands", metavar="WHAT")
    check = commands.add_parser(
        "check",
        help="supported / contradicted / not_found / no_claim for every sentence, in order",
        description=(
            "Reads free text or an HTML page (its visible text; use - for stdin) and gives every "
            "sentence a verdict: claims against the verified effects (those a person checked), "
            "regulatory sentences against the bundled facts file; --include-unreviewed checks "
            "against every extracted effect instead."
        ),
    )
    check.add_argument("file", help="a text file, or - for standard input")
    check.add_argument("--json", action="store_true", help="print a JSON list of verdicts")
    check.add_argument(
        "--include-unreviewed",
        action="store_true",
        help="also count extracted effects no person has verified (not for patient materials)",
    )
    check.add_argument("--quiet", action="store_true", help="no progress bar on long texts")
    check.add_argument("--db", help="the warehouse (default: PIPELINE_DB or warehouse/)")
    check.set_defaults(func=run_check)
    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    raise UsageError(f"say what to do: {parser.prog} check FILE")


def _read(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    path = Path(name)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PipelineError(f"no such file: {path}") from None
    except UnicodeDecodeError as error:
        raise PipelineError(f"{path} is not UTF-8 text (byte {error.start})") from None


def run_check(args: argparse.Namespace) -> int:
    from pipeline.evidence import claims  # imported here: it pulls in pandas (see pipeline.cli)

    text = _read(args.file)
    if claims.looks_like_html(text, args.file):
        text = claims.visible_text(text)
    con = warehouse.connect(resolve_db_path(args.db), read_only=True)
    try:
        report = claims.check_text(
            con, text, include_unreviewed=args.include_unreviewed, html=False,
            progress=len(text) >= 200_000 and not args.quiet,
        )  # fmt: skip
    finally:
        con.close()
    if args.json:
        print(json.dumps([v.to_json() for v in report.verdicts], indent=2, ensure_ascii=False))
    else:
        print(claims.format_report(report), end="")
    return 0
