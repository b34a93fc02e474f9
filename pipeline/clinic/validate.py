"""Reading and validating a clinic export: every problem found, with its row and column.

Rows are numbered as in the file with the header as row 1 (so the first session is row 2),
in CSV and Excel alike. Cells are first parsed into types (a cell that cannot be parsed is a
problem), then checked with a pandera schema (ranges, codes, required values, agreement of
drug, unit and dose with the route), then across rows (duplicate sessions, session numbers
that go backwards in date order).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
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
    kind: str = "invalid"  # what is wrong, in a few words, for counting problems by kind

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column '{self.column}'" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class ValidationResult:
    """The typed valid rows (with `source_row`), every problem, the number of rows read, and
    each mapped field's export header."""

    sessions: pd.DataFrame
    problems: list[Problem]
    n_rows: int
    columns: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def invalid_rows(self) -> list[int]:
        """File rows with at least one problem, in order."""
        return sorted({p.row for p in self.problems})


PROBLEMS_SHOWN = 50


def problem_summary(problems: list[Problem]) -> str:
    """Problems counted by column and kind, largest first ("'Route' unknown code: 20,000")."""
    counts: dict[tuple[str, str], int] = {}
    for p in problems:
        key = (p.column or "(row)", p.kind)
        counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return "; ".join(f"'{column}' {kind}: {n:,}" for (column, kind), n in ranked)


class ClinicValidationError(PipelineError):
    """An export with invalid rows was refused as a whole; `problems` lists them all.

    The message lists at most PROBLEMS_SHOWN problems; past that it counts them by column and
    kind and names `report_path`, where the caller has written every one.
    """

    def __init__(
        self, export: str, problems: list[Problem], n_rows: int, report_path: Path | None = None
    ) -> None:
        self.problems = problems
        self.report_path = report_path
        rows = len({p.row for p in problems})
        shown = problems[:PROBLEMS_SHOWN]
        lines = "\n".join(f"  {p}" for p in shown)
        if len(problems) > len(shown):
            where = (
                f"every problem is listed in {report_path}"
                if report_path is not None
                else "the rest are not listed here"
            )
            lines += (
                f"\n  ... and {len(problems) - len(shown):,} more ({where}). All problems by "
                f"column and kind: {problem_summary(problems)}"
            )
        super().__init__(
            f"{export}: {len(problems):,} problem{'s' if len(problems) != 1 else ''} in "
            f"{rows:,} of {n_rows:,} rows (rows counted as in the file, the header is row 1); "
            f"nothing was loaded. Fix them, or use --skip-invalid to load the valid rows and "
            f"write the invalid ones to a report:\n{lines}"
        )


# --- which cell values a message may repeat -----------------------------------------------

HIDDEN = " (not shown: it could identify a patient)"
_SHORT_NUMBER = re.compile(r"[-+]?\d{1,3}(?:\.\d+)?")
_DATE_LIKE = re.compile(r"\d{1,4}(?:[-/. ]\d{1,4}){1,2}")


class Echo:
    """Decides which raw cell values a message may repeat: none that could be a patient id.

    A shifted export can put patient ids in any column, so a value is shown only when it has
    the shape its field expects of a harmless value (a word without digits; a number of at
    most three digits; a date with separators) and it is not a value of the id column. Numbers
    are never shown when the id column itself holds short numbers.
    """

    def __init__(self, id_values: pd.Series | None) -> None:
        cells = id_values if id_values is not None else pd.Series([], dtype=str)
        self.ids = {str(c).strip().lower() for c in cells if str(c).strip()}
        self.numbers = not any(_SHORT_NUMBER.fullmatch(v) for v in self.ids)

    def _free(self, text: str) -> bool:
        return text.strip().lower() not in self.ids

    def word(self, text: object) -> str | None:
        """`text` when it holds no digit and is not a patient id, else None."""
        text = str(text).strip()
        ok = len(text) <= 40 and not any(ch.isdigit() for ch in text) and self._free(text)
        return text if ok else None

    def number(self, text: object) -> str | None:
        """`text` when it is a number of at most three digits and cannot be a patient id."""
        text = str(text).strip()
        ok = self.numbers and bool(_SHORT_NUMBER.fullmatch(text)) and self._free(text)
        return text if ok else None

    def cell(self, text: object) -> str | None:
        """`text` as a word or a short number, whichever it is, when it cannot be an id."""
        return self.word(text) or self.number(text)

    def date(self, text: object) -> str | None:
        """`text` when it is written like a date (digits and separators) and is not an id."""
        text = str(text).strip()
        return text if _DATE_LIKE.fullmatch(text) and self._free(text) else None


def quoted(shown: str | None, then: str) -> str:
    """The value quoted before `then` when it may be shown, else "the value" and why not."""
    return f"'{shown}' {then}" if shown is not None else f"the value {then}{HIDDEN}"


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


OTHER_DELIMITERS = (";", "\t", "|", ",")
FORMULA_CELLS_SHOWN = 5


def _delimiter_setting(delimiter: str) -> str:
    """The TOML line that sets a delimiter ('delimiter = ";"', 'delimiter = "\\t"')."""
    return 'delimiter = "\\t"' if delimiter == "\t" else f'delimiter = "{delimiter}"'


def _check_delimiter(path: Path, mapping: Mapping) -> None:
    """Refuse a CSV whose header is split by another character than the mapping's, saying
    which `delimiter` setting reads it (the header must then split into mapped columns)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = handle.readline().rstrip("\r\n")
    except (OSError, UnicodeDecodeError):
        return  # reading the whole file reports it
    if mapping.delimiter in header:
        return
    known = {normalise_header(h) for names in mapping.headers.values() for h in names}
    for other in OTHER_DELIMITERS:
        if other == mapping.delimiter or other not in header:
            continue
        cells = [normalise_header(h.strip('"')) for h in header.split(other)]
        if sum(cell in known for cell in cells) >= 2:
            shown = "\\t" if other == "\t" else other
            setting = _delimiter_setting(other)
            raise PipelineError(
                f"{path}: the cells are separated by '{shown}', not "
                f"'{mapping.delimiter}' as {mapping.source} expects; set {setting} under "
                f"[options] in a copy of the mapping and pass it with --mapping"
            )


def _uncached_formulas(path: Path, sheet: str | int) -> None:
    """Refuse a workbook whose formula cells were saved without their values (they would read
    as empty), naming the sheet, the first cells and how many there are."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    formulas_book = load_workbook(path, read_only=True, data_only=False)
    values_book = load_workbook(path, read_only=True, data_only=True)
    try:
        names = formulas_book.sheetnames
        if sheet not in names and not (isinstance(sheet, int) and 0 <= sheet < len(names)):
            return  # reading the sheet says it is not there
        name = sheet if isinstance(sheet, str) else names[sheet]
        formulas = {
            (cell.row, cell.column)
            for row in formulas_book[name].iter_rows()
            for cell in row
            if getattr(cell, "data_type", None) == "f"
        }
        if not formulas:
            return
        values = {
            (cell.row, cell.column): cell.value
            for row in values_book[name].iter_rows()
            for cell in row
            if getattr(cell, "row", None) is not None
        }
        empty = sorted(cell for cell in formulas if values.get(cell) is None)
    finally:
        formulas_book.close()
        values_book.close()
    if empty:
        cells = [f"{get_column_letter(c)}{r}" for r, c in empty]
        first = ", ".join(cells[:FORMULA_CELLS_SHOWN])
        extra = len(cells) - FORMULA_CELLS_SHOWN
        more = f" and {extra:,} more" if extra > 0 else ""
        raise PipelineError(
            f"{path}: sheet '{name}' has {len(cells):,} formula cells saved without their "
            f"values ({first}{more}), which would load as empty; open the workbook in Excel or "
            f"LibreOffice and save it (so the values are stored with the formulas), or export "
            f"the sheet as CSV"
        )


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
            _check_delimiter(path, mapping)
            grid = pd.read_csv(
                path, header=None, dtype=str, keep_default_na=False, na_filter=False,
                sep=mapping.delimiter,
                skip_blank_lines=False, encoding="utf-8-sig",
            )  # fmt: skip
        elif suffix in EXCEL_SUFFIXES:
            _uncached_formulas(path, mapping.sheet)
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
    if suffix == ".csv":  # already text: only the surrounding spaces go
        grid = grid.apply(lambda column: column.str.strip())
    else:
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
    raw: pd.DataFrame, mapping: Mapping, columns: dict[str, str], echo: Echo
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
                message = quoted(
                    echo.date(present[row]),
                    f"is not a date in the form {formats} (set date_formats in the mapping if "
                    "your system writes dates differently)",
                )
                problems.append(Problem(row, header, field, message, "not a date"))
            typed[field] = pd.to_datetime(parsed.reindex(raw.index)).astype("datetime64[s]")
        elif spec.kind in ("number", "integer"):
            numbers = pd.to_numeric(present, errors="coerce")
            for row in numbers[numbers.isna()].index:
                message = quoted(echo.cell(present[row]), "is not a number")
                problems.append(Problem(row, header, field, message, "not a number"))
            if spec.kind == "integer":
                fractional = numbers.notna() & (numbers % 1 != 0)
                for row in numbers[fractional].index:
                    message = quoted(echo.number(present[row]), "is not a whole number")
                    problems.append(Problem(row, header, field, message, "not a whole number"))
                numbers = numbers.where(~fractional)
                typed[field] = numbers.reindex(raw.index).astype("Float64").astype("Int64")
            else:
                typed[field] = numbers.reindex(raw.index).astype("Float64")
        elif spec.kind == "boolean":
            codes = present.map(lambda c: mapping.code_for("boolean", c))
            for row in codes[codes.isna()].index:
                problems.append(Problem(row, header, field, quoted(echo.cell(present[row]),
                    f"is not yes or no (accepted: {sorted(mapping.values['boolean'])})"),
                    "not yes or no"))  # fmt: skip
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


def _row_message(check: str, row: pd.Series, cells: pd.Series) -> tuple[str, str]:
    """(field to blame, message) for a failed row check; `cells` are the raw shown cells."""
    if check == "row:drug_route":
        return "drug", (f"{row['drug']} does not go with route {row['route']} "
                        f"(IV gives ketamine, intranasal gives esketamine)")  # fmt: skip
    if check == "row:unit_route":
        return "dose_unit", f"intranasal doses are in mg, not {row['dose_unit']}"
    if check == "row:dose":
        unit = row["dose_unit"]
        dose = f"{cells['dose']} {unit}" if cells.get("dose") is not None else f"the dose{HIDDEN}"
        return "dose", f"{dose} is outside 0 (exclusive) to {MAX_DOSE[unit]:g} {unit}"
    when = check.rsplit("_", 1)[1]
    sbp, dbp = cells.get(f"sbp_{when}"), cells.get(f"dbp_{when}")
    if sbp is None or dbp is None:
        return f"sbp_{when}", f"the systolic pressure is not above the diastolic{HIDDEN}"
    return f"sbp_{when}", f"systolic {sbp} is not above diastolic {dbp}"


CHECK_KINDS = {
    "row:drug_route": "drug does not go with route",
    "row:unit_route": "unit does not go with route",
    "row:dose": "dose out of range", "row:bp_pre": "systolic not above diastolic",
    "row:bp_post": "systolic not above diastolic", "not_nullable": "required but empty",
    "range": "out of range", "codes": "unknown code", "future": "date in the future",
    "early": "date too early",
}  # fmt: skip


def kind_of(check: str) -> str:
    """What a failed schema check means, in a few words."""
    return CHECK_KINDS.get(check) or CHECK_KINDS.get(check.rsplit(":", 1)[-1], check)


def _schema_problems(
    typed: pd.DataFrame,
    raw: pd.DataFrame,
    columns: dict[str, str],
    already: set[tuple[int, str]],
    echo: Echo,
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
    by_column: dict[str, dict] = {}

    def cell_at(row: int, field: str) -> str:
        header = columns[field]
        if header not in by_column:
            by_column[header] = raw[header].to_dict()
        return by_column[header][row]

    failures = zip(
        cases["index"].tolist(), cases["check"].astype(str).tolist(),
        cases["column"].tolist(), cases["failure_case"].tolist(), strict=True,
    )  # fmt: skip
    for index, check, column, failure_case in failures:
        if index is None or (isinstance(index, float) and math.isnan(index)):
            raise PipelineError(f"the clinic schema could not check column {column} ({check})")
        row = int(index)
        if check.startswith("row:"):
            if (row, check) in seen:
                continue
            seen.add((row, check))
            shown = {
                f: echo.number(cell_at(row, f))
                for f in ("dose", "sbp_pre", "dbp_pre", "sbp_post", "dbp_post")
                if f in columns
            }
            field, message = _row_message(check, typed.loc[row], pd.Series(shown, dtype=object))
        elif check == "not_nullable":
            field = str(column)
            if (row, field) in already:
                continue  # the cell could not be parsed: already reported
            message = f"{_label(field)} is required but empty"
            if field == "phq9_pre":
                message += " (PHQ-9 before each session is the course baseline and trajectory)"
        elif check.startswith("dtype"):
            raise PipelineError(
                f"the clinic schema found column {column} of the wrong type: {check}"
            )
        else:
            field, kind = check.split(":")
            cell = cell_at(row, field)
            if kind == "range":
                spec = FIELDS[field]
                shown = echo.number(cell)
                message = (f"{_label(field)} is {shown + ', ' if shown else ''}outside "
                           f"{spec.low:g}-{spec.high:g}{'' if shown else HIDDEN}")  # fmt: skip
            elif kind == "codes":
                codes = " or ".join(VOCABULARIES[FIELDS[field].vocabulary])
                message = quoted(echo.word(cell), f"is not a known {_label(field)} (expected "
                                 f"{codes}, or a synonym listed in the mapping's [values] "
                                 "tables)")  # fmt: skip
            else:
                day = (f"{pd.Timestamp(failure_case).date()} " if echo.date(cell)
                       else "")  # fmt: skip
                when = "is in the future" if kind == "future" else f"is before {EARLIEST_SESSION}"
                message = f"session date {day}{when}{'' if day else HIDDEN}"
        problems.append(Problem(row, columns[field], field, message, kind_of(check)))
    return problems


# --- checks across rows -------------------------------------------------------------------


def _cross_row_problems(
    typed: pd.DataFrame, raw: pd.DataFrame, columns: dict[str, str], echo: Echo
) -> list[Problem]:
    """Duplicate sessions (same patient and date) and session numbers going backwards."""
    problems = []

    def day_of(row: int) -> str:
        shown = echo.date(raw.at[row, columns["session_date"]])
        return f"on {typed.at[row, 'session_date'].date()}" if shown else "on a date not shown"

    def number_of(row: int, word: str = "session number") -> str:
        shown = echo.number(raw.at[row, columns["session_number"]])
        return f"{word} {shown}" if shown else f"a {word}"

    keyed = typed.dropna(subset=["patient_id", "session_date"]).assign(_row=lambda f: f.index)
    first = keyed.groupby(["patient_id", "session_date"], sort=False)["_row"].transform("min")
    repeated = keyed[first != keyed["_row"]]
    for row, earlier in zip(repeated.index, first[repeated.index], strict=True):
        problems.append(Problem(row, columns["session_date"], "session_date",
            f"a second session for the same patient {day_of(row)} (row {earlier}): "
            "a duplicate session", "duplicate session"))  # fmt: skip
    ordered = keyed.drop(index=repeated.index).dropna(subset=["session_number", "route"])
    ordered = ordered.sort_values(["patient_id", "route", "session_date", "_row"])
    same_course = (ordered["patient_id"] == ordered["patient_id"].shift()) & (
        ordered["route"] == ordered["route"].shift()
    )
    previous_number = ordered["session_number"].shift()
    backwards = (
        same_course
        & (ordered["session_number"] <= previous_number).fillna(False)
        & (ordered["session_number"] != 1)
    )
    previous_row = ordered["_row"].shift()
    for row in ordered.index[backwards.to_numpy(dtype=bool)]:
        route = ordered.at[row, "route"]
        route_name = f" {route}" if route in VOCABULARIES["route"] else ""
        before = int(previous_row[row])
        problems.append(Problem(row, columns["session_number"], "session_number",
            f"{number_of(row)} {day_of(row)} comes after {number_of(before, 'session')} "
            f"{day_of(before)} (row {before}) for the same patient and route{route_name}: "
            "numbers must increase with the date, and 1 starts a new course",
            "session number out of order"))  # fmt: skip
    return problems


def validate_export(
    raw: pd.DataFrame, mapping: Mapping, columns: dict[str, str]
) -> ValidationResult:
    """Parse and check every mapped cell of an export; nothing stops at the first problem."""
    echo = Echo(raw[columns["patient_id"]] if "patient_id" in columns else None)
    typed, problems = _parse_columns(raw, mapping, columns, echo)
    unparsed = {(p.row, p.field) for p in problems}
    problems += _schema_problems(typed, raw, columns, unparsed, echo)
    problems += _cross_row_problems(typed, raw, columns, echo)
    order = {field: i for i, field in enumerate(FIELDS)}
    problems.sort(key=lambda p: (p.row, order.get(p.field, len(order))))
    bad = {p.row for p in problems}
    sessions = typed.drop(index=list(bad)).assign(source_row=lambda f: f.index.astype("int64"))
    return ValidationResult(sessions.reset_index(drop=True), problems, len(raw), dict(columns))
