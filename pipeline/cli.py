"""The command line: a thin shell over the package's functions.

Every module in `pipeline.commands` exposes `register(subparsers)`, which adds its
sub-command and sets `func` on the parser; `main` finds them all, so adding a command
never means editing this file.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

import pipeline.commands
from pipeline import __version__
from pipeline.errors import PipelineError
from pipeline.redaction import install_log_redaction, redact

log = logging.getLogger("pipeline")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline",
        description="Ketamine and esketamine evidence from PubMed, beside a clinic's own outcomes.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log debugging detail to stderr"
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(pipeline.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"pipeline.commands.{info.name}")
        module.register(subparsers)
    return parser


def configure_logging(verbose: bool) -> None:
    """Log to stderr: INFO by default, DEBUG with --verbose; secrets redacted from every record."""
    install_log_redaction()
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    """Run one command; expected failures print one sentence and return a non-zero code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except PipelineError as error:
        print(f"error: {redact(str(error))}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(
            "interrupted: whole batches already loaded are kept; run again to resume.",
            file=sys.stderr,
        )
        return 130
