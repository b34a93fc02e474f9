"""Reading and validating a clinic export: every problem found, with its row and column.

Rows are numbered as in the file with the header as row 1 (so the first session is row 2),
in CSV and Excel alike. Cells are first parsed into types (a cell that cannot be parsed is a
problem), then checked with a pandera schema (ranges, codes, required values, agreement of
drug, unit and dose with the route), then across rows (duplicate sessions, session numbers
that go backwards in date order).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from pipeline import vocab
from pipeline.clinic.mapping import FIELDS, VOCABULARIES, Mapping, normalise_header
from pipeline.errors import PipelineError

log = logging.getLogger(__name__)

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
EARLIEST_SESSION = date(1990, 1, 1)
# Which drug each route gives, the units a route may be dosed in, and the dose ceiling per unit.
DRUG_FOR_ROUTE = vocab.DRUG_FOR_ROUTE
UNITS_FOR_ROUTE = {"iv": ("mg/kg", "mg"), "intranasal": ("mg",)}
MAX_DOSE = {"mg/kg": 2.0, "mg": 250.0}
LABELS = {
    "phq9": "PHQ-9", "gad7": "GAD-7", "madrs": "MADRS", "qids": "QIDS-SR", "cssrs": "C-SSRS",
}  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one cell or row: its file row (header = row 1) and export column."""

    row: int
    column: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column '{self.column}'" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class ValidationResult:
    """The typed valid rows (with `source_row`), every problem, and the number of rows read."""

    sessions: pd.DataFrame
    problems: list[Problem]
    n_rows: int

    @property
    def invalid_rows(self) -> list[int]:
        """File rows with at least one problem, in order."""
        return sorted({p.row for p in self.problems})


class ClinicValidationError(PipelineError):
    """An export with invalid rows was refused as a whole; `problems` lists them all."""

    def __init__(self, export: str, problems: list[Problem], n_rows: int) -> None:
        self.problems = problems
        rows = len({p.row for p in problems})
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            f"{export}: {len(problems)} problem{'s' if len(problems) != 1 else ''} in {rows} of "
            f"{n_rows} rows (rows counted as in the file, the header is row 1); nothing was "
            f"loaded. Fix them, or use --skip-invalid to load the valid rows and write the "
            f"invalid ones to a report:\n{lines}"
        )


# --- reading ------------------------------------------------------------------------------


def _cell_text(value: object) -> str:
    """An Excel cell as the text a CSV export would hold (dates ISO, whole numbers without .0)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, datetime | pd.Timestamp):
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_export(path: str | Path, mapping: Mapping) -> pd.DataFrame:
    """The export as text cells under its own headers; the index is the file row (header = 1).

    Fully empty rows are skipped (they hold no session); the count is logged.
    """
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"no clinic export at {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            grid = pd.read_csv(
                path, header=None, dtype=str, keep_default_na=False, na_filter=False,
                sep=mapping.delimiter,
                skip_blank_lines=False, encoding="utf-8-sig",
            )  # fmt: skip
        elif suffix in EXCEL_SUFFIXES:
            grid = pd.read_excel(
                path, sheet_name=mapping.sheet, header=None, dtype=object, engine="openpyxl"
            )
        else:
            raise PipelineError(
                f"{path}: clinic exports must be .csv or .xlsx, not '{suffix or path.name}'"
            )
    except PipelineError:
        raise
    except UnicodeDecodeError as error:
        raise PipelineError(
            f"{path} is not UTF-8 text (byte {error.start}); save the export as UTF-8 CSV"
        ) from None
    except pd.errors.EmptyDataError:
        raise PipelineError(
            f"{path} is empty: expected a header row and one row per session"
        ) from None
    except pd.errors.ParserError as error:
        raise PipelineError(f"{path} is not a well-formed CSV file: {error}") from None
    except (ValueError, KeyError, OSError) as error:
        raise PipelineError(f"cannot read the clinic export {path}: {error}") from None
    except Exception as error:  # openpyxl raises its own types for damaged workbooks
        if suffix in EXCEL_SUFFIXES:
            raise PipelineError(f"{path} is not a readable .xlsx workbook: {error}") from None
        raise
    grid = grid.map(_cell_text)
    if grid.empty:
        raise PipelineError(f"{path} is empty: expected a header row and one row per session")
    headers = [str(h).strip() for h in grid.iloc[0]]
    body = grid.iloc[1:]
    keep = [i for i, h in enumerate(headers) if h or (body.iloc[:, i] != "").any()]
    seen: dict[str, int] = {}
    for i in keep:
        if not headers[i]:
            raise PipelineError(f"{path}: column {i + 1} holds values but has no header")
        first = seen.setdefault(normalise_header(headers[i]), i)
        if first != i:
            raise PipelineError(
                f"{path}: the header '{headers[i]}' appears twice (columns {first + 1} and "
                f"{i + 1}, '{headers[first]}' and '{headers[i]}'); each column needs its own name"
            )
    frame = body.iloc[:, keep].copy()
    frame.columns = [headers[i] for i in keep]
    frame.index = pd.RangeIndex(2, 2 + len(frame))  # the file row of each session
    empty = (frame == "").all(axis=1)
    if empty.any():
        log.info("%s: skipped %d empty rows", path.name, int(empty.sum()))
        frame = frame[~empty]
    if frame.empty:
        raise PipelineError(f"{path} has a header but no sessions")
    return frame


# --- parsing cells into types -------------------------------------------------------------


def _label(field: str) -> str:
    scale, _, when = field.partition("_")
    if scale in LABELS and when in ("pre", "post"):
        return f"{LABELS[scale]} {'before the session' if when == 'pre' else 'at follow-up'}"
    return field.replace("_", " ")


def _readable_format(fmt: str) -> str:
    """A strptime format as people write it ("%d/%m/%Y" -> "DD/MM/YYYY")."""
    for code, text in (("%Y", "YYYY"), ("%m", "MM"), ("%d", "DD"), ("%y", "YY")):
        fmt = fmt.replace(code, text)
    return fmt


def _parse_date(text: str, formats: tuple[str, ...]) -> date | None:
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _parse_columns(
    raw: pd.DataFrame, mapping: Mapping, columns: dict[str, str]
) -> tuple[pd.DataFrame, list[Problem]]:
    """Typed columns for each mapped field; cells that cannot be parsed become problems."""
    problems: list[Problem] = []
    typed: dict[str, pd.Series] = {}
    for field, header in columns.items():
        spec = FIELDS[field]
        cells = raw[header].str.strip()
        missing = cells.str.lower().isin(mapping.missing)
        present = cells[~missing]
        if spec.kind in ("text", "code"):
            values = present
            if spec.kind == "code":
                values = present.map(lambda c, v=spec.vocabulary: mapping.code_for(v, c) or c)
            typed[field] = values.reindex(raw.index).astype("str")
        elif spec.kind == "date":
            parsed = present.map(lambda c: _parse_date(c, mapping.date_formats))
            for row in parsed[parsed.isna()].index:
                formats = " or ".join(_readable_format(f) for f in mapping.date_formats)
                message = (
                    f"'{present[row]}' is not a date in the form {formats} (set date_formats "
                    "in the mapping if your system writes dates differently)"
                )
                problems.append(Problem(row, header, field, message))
            typed[field] = pd.to_datetime(parsed.reindex(raw.index)).astype("datetime64[s]")
        elif spec.kind in ("number", "integer"):
            numbers = pd.to_numeric(present, errors="coerce")
            for row in numbers[numbers.isna()].index:
                problems.append(Problem(row, header, field, f"'{present[row]}' is not a number"))
            if spec.kind == "integer":
                fractional = numbers.notna() & (numbers % 1 != 0)
                for row in numbers[fractional].index:
                    problems.append(
                        Problem(row, header, field, f"'{present[row]}' is not a whole number")
                    )
                numbers = numbers.where(~fractional)
                typed[field] = numbers.reindex(raw.index).astype("Float64").astype("Int64")
            else:
                typed[field] = numbers.reindex(raw.index).astype("Float64")
        elif spec.kind == "boolean":
            codes = present.map(lambda c: mapping.code_for("boolean", c))
            for row in codes[codes.isna()].index:
                problems.append(Problem(row, header, field,
                    f"'{present[row]}' is not yes or no (accepted: "
                    f"{sorted(mapping.values['boolean'])})"))  # fmt: skip
            typed[field] = (
                (codes.reindex(raw.index) == "yes")
                .astype("boolean")
                .where(codes.reindex(raw.index).notna())
            )
    return pd.DataFrame(typed, index=raw.index), problems


# --- the pandera schema -------------------------------------------------------------------

DTYPES = {
    "text": "str",
    "code": "str",
    "number": "Float64",
    "integer": "Int64",
    "boolean": "boolean",
}


def _range_check(field: str, low: float | None, high: float | None) -> pa.Check:
    def within(series: pd.Series) -> pd.Series:
        ok = series.isna()
        inside = pd.Series(True, index=series.index)
        if low is not None:
            inside &= series >= low
        if high is not None:
            inside &= series <= high
        return (ok | inside.fillna(False)).astype(bool)

    return pa.Check(within, name=f"{field}:range")


def _codes_check(field: str, codes: tuple[str, ...]) -> pa.Check:
    return pa.Check(lambda s: (s.isna() | s.isin(codes)).astype(bool), name=f"{field}:codes")


def _date_checks(field: str) -> list[pa.Check]:
    earliest = pd.Timestamp(EARLIEST_SESSION)
    return [
        pa.Check(
            lambda s: (s.isna() | (s <= pd.Timestamp(date.today()))).astype(bool),
            name=f"{field}:future",
        ),
        pa.Check(lambda s: (s.isna() | (s >= earliest)).astype(bool), name=f"{field}:early"),
    ]


def _row_checks(fields: set[str]) -> list[pa.Check]:
    """Checks across a row's fields: drug, unit and dose agree with the route; BP in order."""

    def drug_matches_route(f: pd.DataFrame) -> pd.Series:
        expected = f["route"].map(DRUG_FOR_ROUTE)
        known = expected.notna() & f["drug"].isin(VOCABULARIES["drug"])
        return (~known | (f["drug"] == expected)).astype(bool)

    def unit_matches_route(f: pd.DataFrame) -> pd.Series:
        known = f["route"].isin(UNITS_FOR_ROUTE) & f["dose_unit"].isin(VOCABULARIES["dose_unit"])
        fits = pd.Series(
            [
                u in UNITS_FOR_ROUTE.get(r, ())
                for r, u in zip(f["route"], f["dose_unit"], strict=True)
            ],
            index=f.index,
        )
        return (~known | fits).astype(bool)

    def dose_within_unit(f: pd.DataFrame) -> pd.Series:
        ceiling = f["dose_unit"].map(MAX_DOSE).astype("Float64")
        ok = f["dose"].isna() | ceiling.isna() | ((f["dose"] > 0) & (f["dose"] <= ceiling))
        return ok.fillna(True).astype(bool)

    checks = [
        pa.Check(drug_matches_route, name="row:drug_route"),
        pa.Check(unit_matches_route, name="row:unit_route"),
        pa.Check(dose_within_unit, name="row:dose"),
    ]
    for when in ("pre", "post"):
        sbp, dbp = f"sbp_{when}", f"dbp_{when}"
        if {sbp, dbp} <= fields:

            def in_order(f: pd.DataFrame, s: str = sbp, d: str = dbp) -> pd.Series:
                ok = f[s].isna() | f[d].isna() | (f[s] > f[d])
                return ok.fillna(True).astype(bool)

            checks.append(pa.Check(in_order, name=f"row:bp_{when}"))
    return checks


def session_schema(fields: set[str]) -> pa.DataFrameSchema:
    """The pandera schema for the typed sessions of an export holding `fields`."""
    columns = {}
    for field in fields:
        spec = FIELDS[field]
        checks: list[pa.Check] = []
        if spec.kind in ("number", "integer") and (spec.low is not None or spec.high is not None):
            checks.append(_range_check(field, spec.low, spec.high))
        if spec.kind == "code":
            checks.append(_codes_check(field, VOCABULARIES[spec.vocabulary]))
        if spec.kind == "date":
            checks.extend(_date_checks(field))
        columns[field] = pa.Column(
            DTYPES.get(spec.kind), checks=checks, nullable=not spec.required, required=spec.required
        )
    return pa.DataFrameSchema(columns, checks=_row_checks(fields), strict=True)


def _row_message(check: str, row: pd.Series) -> tuple[str, str]:
    """(field to blame, message) for a failed row check."""
    if check == "row:drug_route":
        return "drug", (f"{row['drug']} does not go with route {row['route']} "
                        f"(IV gives ketamine, intranasal gives esketamine)")  # fmt: skip
    if check == "row:unit_route":
        return "dose_unit", f"intranasal doses are in mg, not {row['dose_unit']}"
    if check == "row:dose":
        return "dose", (f"{row['dose']:g} {row['dose_unit']} is outside 0 (exclusive) to "
                        f"{MAX_DOSE[row['dose_unit']]:g} {row['dose_unit']}")  # fmt: skip
    when = check.rsplit("_", 1)[1]
    return f"sbp_{when}", (f"systolic {row[f'sbp_{when}']} is not above diastolic "
                           f"{row[f'dbp_{when}']}")  # fmt: skip


def _schema_problems(
    typed: pd.DataFrame, columns: dict[str, str], already: set[tuple[int, str]]
) -> list[Problem]:
    """Run the pandera schema lazily and turn each failure into a Problem."""
    try:
        session_schema(set(columns)).validate(typed, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return []
    problems = []
    seen: set[tuple[int, str]] = set()
    for case in cases.itertuples(index=False):
        if case.index is None or (isinstance(case.index, float) and math.isnan(case.index)):
            raise PipelineError(
                f"the clinic schema could not check column {case.column}: {case.failure_case}"
            )
        row = int(case.index)
        check = str(case.check)
        if check.startswith("row:"):
            if (row, check) in seen:
                continue
            seen.add((row, check))
            field, message = _row_message(check, typed.loc[row])
        elif check == "not_nullable":
            field = str(case.column)
            if (row, field) in already:
                continue  # the cell could not be parsed: already reported
            message = f"{_label(field)} is required but empty"
            if field == "phq9_pre":
                message += " (PHQ-9 before each session is the course baseline and trajectory)"
        elif check.startswith("dtype"):
            raise PipelineError(
                f"the clinic schema found column {case.column} of the wrong type: {check}"
            )
        else:
            field, kind = check.split(":")
            value = case.failure_case
            if kind == "range":
                spec = FIELDS[field]
                shown = f"{value:g}" if isinstance(value, float) else str(value)
                message = f"{_label(field)} is {shown}, outside {spec.low:g}-{spec.high:g}"
            elif kind == "codes":
                codes = " or ".join(VOCABULARIES[FIELDS[field].vocabulary])
                message = (f"'{value}' is not a known {_label(field)} (expected {codes}, or a "
                           "synonym listed in the mapping's [values] tables)")  # fmt: skip
            elif kind == "future":
                message = f"session date {pd.Timestamp(value).date()} is in the future"
            else:
                message = f"session date {pd.Timestamp(value).date()} is before {EARLIEST_SESSION}"
        problems.append(Problem(row, columns[field], field, message))
    return problems


# --- checks across rows -------------------------------------------------------------------


def _cross_row_problems(typed: pd.DataFrame, columns: dict[str, str]) -> list[Problem]:
    """Duplicate sessions (same patient and date) and session numbers going backwards."""
    problems = []
    keyed = typed.dropna(subset=["patient_id", "session_date"])
    first_row: dict[tuple, int] = {}
    duplicates = set()
    for row, patient, day in zip(
        keyed.index, keyed["patient_id"], keyed["session_date"], strict=True
    ):
        earlier = first_row.setdefault((patient, day), row)
        if earlier != row:
            duplicates.add(row)
            problems.append(Problem(row, columns["session_date"], "session_date",
                f"a second session for the same patient on {day.date()} (row {earlier}): "
                "a duplicate session"))  # fmt: skip
    ordered = keyed.drop(index=list(duplicates)).dropna(subset=["session_number", "route"])
    ordered = ordered.assign(_row=ordered.index).sort_values(["session_date", "_row"])
    for (_, route), group in ordered.groupby(["patient_id", "route"], sort=False):
        previous = None
        for row, number, day in zip(
            group.index, group["session_number"], group["session_date"], strict=True
        ):
            if previous is not None and number <= previous[1] and number != 1:
                problems.append(Problem(row, columns["session_number"], "session_number",
                    f"session number {number} on {day.date()} comes after session "
                    f"{previous[1]} on {previous[2].date()} (row {previous[0]}) for the same "
                    f"patient and route {route}: numbers must increase with the date, and 1 "
                    "starts a new course"))  # fmt: skip
            previous = (row, number, day)
    return problems


def validate_export(
    raw: pd.DataFrame, mapping: Mapping, columns: dict[str, str]
) -> ValidationResult:
    """Parse and check every mapped cell of an export; nothing stops at the first problem."""
    typed, problems = _parse_columns(raw, mapping, columns)
    unparsed = {(p.row, p.field) for p in problems}
    problems += _schema_problems(typed, columns, unparsed)
    problems += _cross_row_problems(typed, columns)
    order = {field: i for i, field in enumerate(FIELDS)}
    problems.sort(key=lambda p: (p.row, order.get(p.field, len(order))))
    bad = {p.row for p in problems}
    sessions = typed.drop(index=list(bad)).assign(source_row=lambda f: f.index.astype("int64"))
    return ValidationResult(sessions.reset_index(drop=True), problems, len(raw))
