"""`python -m pipeline extract-text`: JSON lines in, trial facts and effects out.

Each input line is `{"id", "title", "abstract"}` (optionally "publication_types", "mesh");
each output line is `{"id", "trial": {...}, "effects": [...], "quarantined": [...]}`. Every
line is handled on its own: a line that cannot be processed yields
`{"line": N, "id": ..., "error": "..."}` on stdout (the id when it could be read) and a log
message, the other lines are still processed, and the command exits non-zero if any line
failed. Output is always UTF-8 JSON: no NaN or Infinity, no lone surrogate.

An id is a string, kept as given, or a JSON integer, written back with the same digits; a
number with a fraction or exponent (`1e309`, `1.0`) is refused, since a float cannot keep it
exactly. NaN and Infinity are not JSON and are refused anywhere in a line. A line longer than
`--max-line-bytes` (default 1,000,000 bytes) is refused unread rather than extracted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from pipeline.errors import UsageError
from pipeline.extract import extract_text

log = logging.getLogger(__name__)

# Far beyond any real abstract (PubMed's longest are tens of kB); extraction is linear in the
# length, so the cap bounds the time and memory one line may take, not correctness.
MAX_LINE_BYTES = 1_000_000
_READ_CHUNK = 1 << 16


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "extract-text",
        help="extract trial facts and effects from abstracts given as JSON lines on stdin",
        description=(
            'Reads JSON lines {"id", "title", "abstract"} on stdin and writes '
            '{"id", "trial", "effects", "quarantined"} per line on stdout; effect offsets index '
            'the abstract. A line that cannot be processed gets {"line", "id", "error"}.'
        ),
    )
    parser.add_argument(
        "--max-line-bytes",
        type=int,
        default=MAX_LINE_BYTES,
        metavar="N",
        help=f"refuse input lines longer than N bytes (default {MAX_LINE_BYTES:,})",
    )
    parser.set_defaults(func=run)


class LineError(ValueError):
    """Why one input line cannot be processed; `record_id` is its id when it could be read."""

    def __init__(self, message: str, record_id: str | int | None = None) -> None:
        super().__init__(message)
        self.record_id = record_id


@dataclass(frozen=True)
class _NumberLiteral:
    """A JSON number kept as the text it was written in (never turned into a float)."""

    text: str
    integer: bool


@dataclass(frozen=True)
class _OversizedLine:
    """An input line longer than the cap, read past without being kept."""

    size: int


def _integer_literal(text: str) -> _NumberLiteral:
    return _NumberLiteral(text, integer=True)


def _float_literal(text: str) -> _NumberLiteral:
    return _NumberLiteral(text, integer=False)


def _refuse_constant(name: str) -> None:
    raise LineError(f"{name} is not a JSON value (JSON has no NaN or Infinity)")


def _shown(text: str, limit: int = 40) -> str:
    """`text` for a message: whole when short, else its start and its length."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _check_unicode(text: str, what: str) -> None:
    """Refuse a string holding a lone UTF-16 surrogate ("\\ud800"): it is not Unicode text."""
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        code = ord(text[error.start])
        raise LineError(
            f"{what} holds a lone UTF-16 surrogate (\\u{code:04x}) at character {error.start}, "
            "which is not Unicode text"
        ) from None


def _record_id(record: dict) -> str | int:
    """The id as given: a string, or an integer written back with the same digits."""
    value = record.get("id")
    if value is None:
        raise LineError('"id" is missing')
    if isinstance(value, str):
        _check_unicode(value, '"id"')
        return value
    if isinstance(value, _NumberLiteral):
        if not value.integer:
            raise LineError(
                f'"id" is the number {_shown(value.text)}, which has a fraction or exponent: '
                "write it as a string to keep it exactly"
            )
        try:
            number = int(value.text)
        except ValueError:  # more digits than Python converts
            number = None
        if number is None or str(number) != value.text:
            raise LineError(
                f'"id" is the integer {_shown(value.text)}, which cannot be written back with '
                "the same digits: write it as a string"
            )
        return number
    kind = {bool: "true or false", dict: "an object", list: "a list"}.get(type(value), "a value")
    raise LineError(f'"id" must be a string or an integer, not {kind}')


def _string_field(record: dict, key: str, required: bool) -> str:
    value = record.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        kind = "missing" if value is None else "not a string"
        raise LineError(f'"{key}" is {kind}')
    _check_unicode(value, f'"{key}"')
    return value


def _string_list(record: dict, key: str) -> list[str]:
    value = record.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise LineError(f'"{key}" must be a list of strings')
    for position, item in enumerate(value):
        _check_unicode(item, f'"{key}" item {position}')
    return value


def _parse(line: str | bytes | _OversizedLine, max_bytes: int) -> dict:
    """The JSON object of one line; LineError when it is not one this command can take."""
    if not isinstance(line, _OversizedLine):
        data = line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")
        size = len(data) - data.endswith(b"\n")
        line = _OversizedLine(size) if size > max_bytes else line
    if isinstance(line, _OversizedLine):
        size = line.size
        raise LineError(f"the line is {size:,} bytes long, over the limit of {max_bytes:,}")
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise LineError(f"not UTF-8 text: {error}") from None
    try:
        record = json.loads(
            line,
            parse_int=_integer_literal,
            parse_float=_float_literal,
            parse_constant=_refuse_constant,
        )
    except json.JSONDecodeError as error:
        raise LineError(f"not JSON: {error}") from None
    except RecursionError:
        raise LineError("not JSON this command can read: nested too deeply") from None
    if not isinstance(record, dict):
        raise LineError("a line must be a JSON object")
    return record


def process_line(line: str | bytes | _OversizedLine, max_bytes: int = MAX_LINE_BYTES) -> dict:
    """The output object of one input line: the extraction, or raises LineError."""
    record = _parse(line, max_bytes)
    record_id = _record_id(record)
    try:
        title = _string_field(record, "title", required=False)
        abstract = _string_field(record, "abstract", required=True)
        publication_types = _string_list(record, "publication_types")
        mesh = _string_list(record, "mesh")
    except LineError as error:
        raise LineError(str(error), record_id) from None
    try:
        result = extract_text(
            str(record_id), title, abstract, publication_types=publication_types, mesh=mesh
        )
    except Exception as error:  # noqa: BLE001 - one line must not stop the others
        log.debug("extraction failed", exc_info=True)
        raise LineError(
            f"the extractor failed on this abstract: {type(error).__name__}: {error}", record_id
        ) from None
    output = result.to_dict()
    output["id"] = record_id
    return output


def _encode(output: dict) -> bytes:
    """One output line as UTF-8 JSON; ValueError if it holds a non-finite number or a surrogate."""
    return (json.dumps(output, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _error_object(number: int, error: LineError) -> dict:
    found = {"line": number}
    if error.record_id is not None:
        found["id"] = error.record_id
    found["error"] = str(error)
    return found


def process_lines(
    lines: Iterable[str | bytes | _OversizedLine], max_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[bytes, bool]]:
    """(UTF-8 JSON output line, ok) for every non-blank input line (text or bytes), in order."""
    for number, line in enumerate(lines, 1):
        if not isinstance(line, _OversizedLine) and not line.strip():
            continue
        try:
            output = process_line(line, max_bytes)
            try:
                encoded = _encode(output)
            except (ValueError, UnicodeEncodeError) as error:
                raise LineError(
                    f"the result cannot be written as UTF-8 JSON: {error}", output.get("id")
                ) from None
        except LineError as error:
            log.error("input line %d: %s", number, error)
            yield _encode(_error_object(number, error)), False
            continue
        yield encoded, True


def read_lines(stream: BinaryIO, max_bytes: int) -> Iterator[bytes | _OversizedLine]:
    """The lines of a binary stream; a line of more than `max_bytes` (its line end not
    counted) is read past, never held whole."""
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        if len(line) <= max_bytes or line.endswith(b"\n"):
            yield line
            continue
        size = len(line)
        while True:
            rest = stream.readline(_READ_CHUNK)
            size += len(rest) - rest.endswith(b"\n")
            if not rest or rest.endswith(b"\n"):
                break
        yield _OversizedLine(size)


def run(
    args: argparse.Namespace,
    stdin: Iterable[str | bytes] | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Process stdin (or `stdin`) line by line; 1 when any line failed, else 0."""
    max_bytes = getattr(args, "max_line_bytes", MAX_LINE_BYTES)
    if max_bytes < 1:
        raise UsageError(f"--max-line-bytes must be at least 1, not {max_bytes}")
    stdout = stdout or sys.stdout
    # Bytes in, so that one line that is not UTF-8 is reported instead of stopping the rest;
    # bytes out, so that the output is UTF-8 whatever the locale says.
    lines = stdin if stdin is not None else read_lines(sys.stdin.buffer, max_bytes)
    binary = getattr(stdout, "buffer", None)
    stdout.flush()
    failed = 0
    for encoded, ok in process_lines(lines, max_bytes):
        failed += not ok
        if binary is not None:
            binary.write(encoded)
        else:
            stdout.write(encoded.decode("utf-8"))
    (binary or stdout).flush()
    if failed:
        log.error("%d input line(s) could not be processed", failed)
        return 1
    return 0
