"""The command line: a thin shell over the package's functions.

Every module in `pipeline.commands` exposes `register(subparsers)`, which adds its
sub-command (the module's name, `_` written `-`) and sets `func` on the parser; `main` finds
them all, so adding a command never means editing this file. A command imports only its own
module: what the others import (pandas, scipy, ...) would only delay its start.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

import pipeline.commands
from pipeline import __version__
from pipeline.errors import PipelineError, as_interrupt
from pipeline.redaction import install_log_redaction, redact

log = logging.getLogger("pipeline")


def command_modules() -> list[str]:
    """The names of the modules in `pipeline.commands`, sorted."""
    return sorted(info.name for info in pkgutil.iter_modules(pipeline.commands.__path__))


def chosen_command(argv: list[str]) -> str | None:
    """The module of the sub-command `argv` names (its first word after the top-level options),
    or None when it names none (help, a version, a typo: every command is then registered)."""
    for word in argv:
        if word in ("-v", "--verbose"):
            continue
        if word.startswith("-"):
            return None
        module = word.replace("-", "_")
        return module if module in command_modules() else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser with every sub-command registered, or only the module `only`."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline",
        description="Ketamine and esketamine evidence from PubMed, beside a clinic's own outcomes.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log debugging detail to stderr"
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in [only] if only else command_modules():
        module = importlib.import_module(f"pipeline.commands.{name}")
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
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(chosen_command(words))
    args = parser.parse_args(words)
    configure_logging(args.verbose)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except PipelineError as error:
        print(f"error: {redact(str(error))}", file=sys.stderr)
        return error.exit_code
    except BaseException as error:
        if as_interrupt(error) is None:
            raise
        print(
            "interrupted: whole batches already loaded are kept; run again to resume.",
            file=sys.stderr,
        )
        return 130
