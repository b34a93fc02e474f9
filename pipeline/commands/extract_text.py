"""`python -m pipeline extract-text`: JSON lines in, trial facts and effects out.

Each input line is `{"id", "title", "abstract"}` (optionally "publication_types", "mesh");
each output line is `{"id", "trial": {...}, "effects": [...]}`. A malformed line yields
`{"line": N, "error": "..."}` on stdout and a log message, the other lines are still
processed, and the command exits non-zero if any line failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TextIO

from pipeline.extract import extract_text

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "extract-text",
        help="extract trial facts and effects from abstracts given as JSON lines on stdin",
        description=(
            'Reads JSON lines {"id", "title", "abstract"} on stdin and writes '
            '{"id", "trial", "effects"} per line on stdout; effect offsets index the abstract.'
        ),
    )
    parser.set_defaults(func=run)


def _string_field(record: dict, key: str, required: bool) -> str:
    value = record.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        kind = "missing" if value is None else f"not a string ({type(value).__name__})"
        raise ValueError(f'"{key}" is {kind}')
    return value


def _string_list(record: dict, key: str) -> list[str]:
    value = record.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f'"{key}" must be a list of strings')
    return value


def process_lines(lines: Iterable[str | bytes]) -> Iterator[tuple[dict, bool]]:
    """(output object, ok) for every non-blank input line (text or UTF-8 bytes), in order."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            if isinstance(line, bytes):
                try:
                    line = line.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise ValueError(f"not UTF-8 text: {error}") from None
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("a line must be a JSON object")
            if "id" not in record or record["id"] is None:
                raise ValueError('"id" is missing')
            result = extract_text(
                str(record["id"]),
                _string_field(record, "title", required=False),
                _string_field(record, "abstract", required=True),
                publication_types=_string_list(record, "publication_types"),
                mesh=_string_list(record, "mesh"),
            )
        except (json.JSONDecodeError, ValueError) as error:
            message = (
                f"not JSON: {error}" if isinstance(error, json.JSONDecodeError) else str(error)
            )
            log.error("input line %d: %s", number, message)
            yield {"line": number, "error": message}, False
            continue
        output = result.to_dict()
        output["id"] = record["id"]
        yield output, True


def run(
    args: argparse.Namespace,
    stdin: Iterable[str | bytes] | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Process stdin (or `stdin`) line by line; 1 when any line failed, else 0."""
    stdout = stdout or sys.stdout
    # Bytes, so that one line that is not UTF-8 is reported instead of stopping the rest.
    lines = stdin if stdin is not None else sys.stdin.buffer
    failed = 0
    for output, ok in process_lines(lines):
        failed += not ok
        stdout.write(json.dumps(output, ensure_ascii=False) + "\n")
    stdout.flush()
    if failed:
        log.error("%d input line(s) could not be processed", failed)
        return 1
    return 0
