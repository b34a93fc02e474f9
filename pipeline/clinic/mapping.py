"""The clinic export mapping: our fields, and which export headers and cell values mean them.

A mapping is a TOML file (the default ships as pipeline/config/clinic_mapping.toml, which
documents every field). `load_mapping` reads one; `map_columns` finds each field's header in
an export and refuses exports whose columns it cannot account for.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pipeline import vocab
from pipeline.errors import PipelineError

DEFAULT_MAPPING_NAME = "config/clinic_mapping.toml"


@dataclass(frozen=True)
class Field:
    """One of our session fields: its kind, whether it is required, and its allowed range."""

    kind: str  # 'text', 'date', 'code', 'number', 'integer', 'boolean'
    required: bool = False
    low: float | None = None
    high: float | None = None
    vocabulary: str | None = None  # for kind 'code': the [values.*] table naming the codes


SCALE_RANGES = {
    "phq9": (0, 27),
    "gad7": (0, 21),
    "madrs": (0, 60),
    "qids": (0, 27),
    "cssrs": (0, 5),
}
SIDE_EFFECTS = ("dissociation", "nausea", "dizziness", "drowsiness")

FIELDS: dict[str, Field] = {
    "patient_id": Field("text", required=True),
    "session_date": Field("date", required=True),
    "route": Field("code", required=True, vocabulary="route"),
    "drug": Field("code", required=True, vocabulary="drug"),
    "dose": Field("number", required=True),
    "dose_unit": Field("code", required=True, vocabulary="dose_unit"),
    "session_number": Field("integer", required=True, low=1, high=1000),
    **{
        f"{scale}_{when}": Field(
            "integer", required=(scale, when) == ("phq9", "pre"), low=low, high=high
        )
        for scale, (low, high) in SCALE_RANGES.items()
        for when in ("pre", "post")
    },
    **{name: Field("boolean") for name in SIDE_EFFECTS},
    "sbp_pre": Field("integer", low=60, high=260),
    "dbp_pre": Field("integer", low=30, high=160),
    "sbp_post": Field("integer", low=60, high=260),
    "dbp_post": Field("integer", low=30, high=160),
}

# The codes each coded field may take once synonyms are resolved.
VOCABULARIES = {
    "route": tuple(vocab.DRUG_FOR_ROUTE),
    "drug": tuple(vocab.DRUG_FOR_ROUTE.values()),
    "dose_unit": ("mg/kg", "mg"),
    "boolean": ("yes", "no"),
}


def normalise_header(header: str) -> str:
    """A header reduced for matching: lower case, letters, digits, # ("PHQ-9 Pre" -> "phq9pre")."""
    return re.sub(r"[^a-z0-9#]", "", header.strip().lower())


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file: accepted headers per field, value synonyms, and options."""

    source: str
    checksum: str
    headers: dict[str, tuple[str, ...]]
    values: dict[str, dict[str, str]]  # vocabulary -> {synonym (lower case): code}
    date_formats: tuple[str, ...]
    missing: frozenset[str]
    ignore: tuple[str, ...]
    sheet: str | int
    delimiter: str = ","

    def code_for(self, vocabulary: str, cell: str) -> str | None:
        """The code a cell value means in a vocabulary, or None when it is not listed."""
        return self.values.get(vocabulary, {}).get(cell.strip().lower())


def default_mapping_text() -> str:
    """The text of the mapping that ships with the package."""
    return resources.files("pipeline").joinpath(DEFAULT_MAPPING_NAME).read_text(encoding="utf-8")


def load_mapping(path: str | Path | None = None) -> Mapping:
    """Read a mapping file (the shipped default when `path` is None), checking every entry."""
    if path is None:
        text, source = default_mapping_text(), "the default clinic mapping"
    else:
        try:
            text, source = Path(path).read_text(encoding="utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as error:
            raise PipelineError(f"cannot read the clinic mapping {path}: {error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PipelineError(f"the clinic mapping {source} is not valid TOML: {error}") from None
    return _parse_mapping(data, source, hashlib.sha256(text.encode("utf-8")).hexdigest())


def _string_list(value: object, where: str, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PipelineError(
            f"the clinic mapping {source}: {where} must be a string or a list of strings"
        )
    return tuple(value)


def _parse_mapping(data: dict, source: str, checksum: str) -> Mapping:
    fields = data.get("fields")
    if not isinstance(fields, dict):
        raise PipelineError(f"the clinic mapping {source} has no [fields] table")
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise PipelineError(
            f"the clinic mapping {source} names unknown fields {unknown}; "
            f"known fields: {sorted(FIELDS)}"
        )
    missing_required = [name for name, f in FIELDS.items() if f.required and name not in fields]
    if missing_required:
        raise PipelineError(
            f"the clinic mapping {source} does not map required fields {missing_required}"
        )
    headers = {
        name: _string_list(value, f"fields.{name}", source) for name, value in fields.items()
    }
    owner: dict[str, str] = {}
    for name, names in headers.items():
        for header in names:
            key = normalise_header(header)
            if owner.setdefault(key, name) != name:
                raise PipelineError(
                    f"the clinic mapping {source} gives the header '{header}' to both "
                    f"{owner[key]} and {name}"
                )
    values: dict[str, dict[str, str]] = {}
    for vocabulary, codes in VOCABULARIES.items():
        table = data.get("values", {}).get(vocabulary, {})
        synonyms: dict[str, str] = {code: code for code in codes}
        for code, words in table.items():
            if code not in codes:
                raise PipelineError(
                    f"the clinic mapping {source}: [values.{vocabulary}] has the code '{code}'; "
                    f"allowed codes: {list(codes)}"
                )
            for word in _string_list(words, f"values.{vocabulary}.{code}", source):
                key = word.strip().lower()
                if synonyms.setdefault(key, code) != code:
                    raise PipelineError(
                        f"the clinic mapping {source}: '{word}' means both {synonyms[key]} and "
                        f"{code} in [values.{vocabulary}]"
                    )
        values[vocabulary] = synonyms
    options = data.get("options", {})
    date_formats = _string_list(
        options.get("date_formats", ["%Y-%m-%d"]), "options.date_formats", source
    )
    missing = frozenset(
        s.strip().lower()
        for s in _string_list(options.get("missing", [""]), "options.missing", source)
    ) | {""}
    ignore = _string_list(options.get("ignore", []), "options.ignore", source)
    sheet = options.get("sheet", 0)
    if not isinstance(sheet, str | int):
        raise PipelineError(
            f"the clinic mapping {source}: options.sheet must be a name or a number"
        )
    delimiter = options.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise PipelineError(f"the clinic mapping {source}: options.delimiter must be one character")
    return Mapping(
        source, checksum, headers, values, date_formats, missing, ignore, sheet, delimiter
    )


def map_columns(headers: list[str], mapping: Mapping, export: str) -> dict[str, str]:
    """Each mapped field's header in the export ({field: header}); refuses what it cannot place.

    Refused: a header appearing twice, a required field with no column, a field with two
    columns, and any column neither mapped nor listed under `ignore` (so no unplanned column,
    free text above all, can slip into the warehouse).
    """
    seen: dict[str, str] = {}
    for header in headers:
        key = normalise_header(header)
        if key in seen:
            raise PipelineError(
                f"{export}: the header '{header}' appears twice (columns '{seen[key]}' and "
                f"'{header}'); each column needs its own name"
            )
        seen[key] = header
    by_key = {normalise_header(h): field for field, names in mapping.headers.items() for h in names}
    ignored = {normalise_header(h) for h in mapping.ignore}
    found: dict[str, str] = {}
    unplaced = []
    for header in headers:
        key = normalise_header(header)
        field = by_key.get(key)
        if field is None:
            if key not in ignored:
                unplaced.append(header)
            continue
        if field in found:
            raise PipelineError(
                f"{export}: the columns '{found[field]}' and '{header}' both map to {field} in "
                f"{mapping.source}; keep one or list the other under ignore"
            )
        found[field] = header
    if unplaced:
        raise PipelineError(
            f"{export}: columns {unplaced} are not in {mapping.source}; map each to a field under "
            "[fields] or list it under ignore in [options] (ignored columns are never stored)"
        )
    absent = [name for name, f in FIELDS.items() if f.required and name not in found]
    if absent:
        wanted = {name: list(mapping.headers[name]) for name in absent}
        raise PipelineError(
            f"{export}: required columns are missing: {absent} (accepted headers: {wanted})"
        )
    return found
