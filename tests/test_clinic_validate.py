"""Reading and validating clinic exports: every bad row named by its file row and column."""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from pipeline.clinic import load
from pipeline.clinic.mapping import default_mapping_text, load_mapping
from pipeline.clinic.validate import ClinicValidationError, read_export
from pipeline.errors import PipelineError

DATA = Path(__file__).parent / "data" / "clinic"
GOOD = DATA / "good.csv"


@pytest.fixture(autouse=True)
def clinic_key(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_CLINIC_KEY_FILE", str(tmp_path / "keys" / "clinic.key"))


def edited(tmp_path: Path, edits: dict[tuple[int, str], str], source: Path = GOOD) -> Path:
    """A copy of an export with cells replaced; keys are (file row, header), header = row 1."""
    with source.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    for (row, column), value in edits.items():
        rows[row - 1][header.index(column)] = value
    path = tmp_path / "export.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def problems_of(path: Path, mapping: Path | None = None) -> list[str]:
    with pytest.raises(ClinicValidationError) as caught:
        load.check_file(path, mapping)
    return [str(p) for p in caught.value.problems]


def test_the_good_export_is_valid():
    raw, _, (result, synthetic) = load.check_file(GOOD)
    assert result.problems == []
    assert result.n_rows == len(result.sessions) == 12
    assert synthetic is None
    assert list(result.sessions["source_row"]) == list(range(2, 14))
    first = result.sessions.iloc[0]
    assert (first["route"], first["drug"], first["dose_unit"]) == ("iv", "ketamine", "mg/kg")
    assert first["dose"] == 0.5 and first["phq9_pre"] == 20 and first["madrs_pre"] == 40
    assert bool(first["dissociation"]) is True and bool(first["nausea"]) is False
    # synonyms resolved: "Nasal spray" and "IN" are intranasal, "Spravato" is esketamine
    assert set(result.sessions.loc[4:7, "route"]) == {"intranasal"}
    assert set(result.sessions.loc[4:7, "drug"]) == {"esketamine"}
    assert pd.isna(result.sessions.loc[5, "nausea"])  # blank = not recorded
    assert "Notes" in raw.columns and "notes" not in result.sessions.columns


BAD_ROWS = [
    # (kind, edits {(row, header): value}, expected problem line)
    ("PHQ-9 above 27", {(3, "PHQ-9 Pre"): "28"},
     "row 3, column 'PHQ-9 Pre': PHQ-9 before the session is 28, outside 0-27"),
    ("GAD-7 above 21", {(2, "GAD-7 Pre"): "22"},
     "row 2, column 'GAD-7 Pre': GAD-7 before the session is 22, outside 0-21"),
    ("MADRS above 60", {(2, "MADRS Pre"): "61"},
     "row 2, column 'MADRS Pre': MADRS before the session is 61, outside 0-60"),
    ("score not a number", {(4, "PHQ-9 Pre"): "nine"},
     "row 4, column 'PHQ-9 Pre': 'nine' is not a number"),
    ("fractional score", {(5, "PHQ-9 Post"): "4.5"},
     "row 5, column 'PHQ-9 Post': '4.5' is not a whole number"),
    ("impossible date", {(3, "Session Date"): "2025-02-30"},
     "row 3, column 'Session Date': '2025-02-30' is not a date in the form YYYY-MM-DD"),
    ("future date", {(13, "Session Date"): "2099-01-01"},
     "row 13, column 'Session Date': session date 2099-01-01 is in the future"),
    ("date before 1990", {(2, "Session Date"): "1985-01-01"},
     "row 2, column 'Session Date': session date 1985-01-01 is before 1990-01-01"),
    ("unknown route", {(6, "Route"): "oral"},
     "row 6, column 'Route': 'oral' is not a known route (expected iv or intranasal"),
    ("unknown drug", {(6, "Medication"): "arketamine"},
     "row 6, column 'Medication': 'arketamine' is not a known drug"),
    ("drug does not fit the route", {(2, "Medication"): "esketamine"},
     "row 2, column 'Medication': esketamine does not go with route iv"),
    ("unknown dose unit", {(2, "Dose Unit"): "ml"},
     "row 2, column 'Dose Unit': 'ml' is not a known dose unit"),
    ("intranasal dose in mg/kg", {(6, "Dose Unit"): "mg/kg", (6, "Dose"): "0.8"},
     "row 6, column 'Dose Unit': intranasal doses are in mg, not mg/kg"),
    ("dose above the ceiling", {(2, "Dose"): "5"},
     "row 2, column 'Dose': 5 mg/kg is outside 0 (exclusive) to 2 mg/kg"),
    ("dose of zero", {(6, "Dose"): "0"},
     "row 6, column 'Dose': 0 mg is outside 0 (exclusive) to 250 mg"),
    ("duplicate session", {(3, "Session Date"): "2025-01-06"},
     "row 3, column 'Session Date': a second session for the same patient on 2025-01-06 "
     "(row 2): a duplicate session"),
    ("session number goes backwards", {(4, "Session #"): "2"},
     "row 4, column 'Session #': session number 2 on 2025-01-10 comes after session 2 on "
     "2025-01-08 (row 3) for the same patient and route iv"),
    ("session number zero", {(2, "Session #"): "0"},
     "row 2, column 'Session #': session number is 0, outside 1-1000"),
    ("PHQ-9 baseline missing", {(5, "PHQ-9 Pre"): ""},
     "row 5, column 'PHQ-9 Pre': PHQ-9 before the session is required but empty"),
    ("patient id missing", {(7, "Patient ID"): " "},
     "row 7, column 'Patient ID': patient id is required but empty"),
    ("route missing", {(7, "Route"): "N/A"},
     "row 7, column 'Route': route is required but empty"),
    ("side effect not yes or no", {(2, "Dissociation"): "maybe"},
     "row 2, column 'Dissociation': 'maybe' is not yes or no"),
    ("systolic not above diastolic", {(2, "BP Systolic Pre"): "75"},
     "row 2, column 'BP Systolic Pre': systolic 75 is not above diastolic 80"),
    ("blood pressure out of range", {(2, "BP Systolic Post"): "300"},
     "row 2, column 'BP Systolic Post': sbp post is 300, outside 60-260"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "edits", "expected"), BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_each_kind_of_bad_row_is_named_by_row_and_column(tmp_path, kind, edits, expected):
    problems = problems_of(edited(tmp_path, edits))
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_is_reported_at_once():
    problems = problems_of(DATA / "many_problems.csv")
    assert problems == [
        "row 2, column 'GAD-7 Pre': GAD-7 before the session is 30, outside 0-21",
        "row 3, column 'Session Date': '06/01/2025' is not a date in the form YYYY-MM-DD (set "
        "date_formats in the mapping if your system writes dates differently)",
        "row 4, column 'Patient ID': patient id is required but empty",
        "row 4, column 'PHQ-9 Pre': PHQ-9 before the session is required but empty (PHQ-9 "
        "before each session is the course baseline and trajectory)",
        "row 5, column 'Route': 'Oral' is not a known route (expected iv or intranasal, or a "
        "synonym listed in the mapping's [values] tables)",
    ]


def test_the_error_message_lists_every_problem_and_says_nothing_was_loaded():
    with pytest.raises(ClinicValidationError) as caught:
        load.check_file(DATA / "many_problems.csv")
    message = str(caught.value)
    assert message.startswith("many_problems.csv: 5 problems in 4 of 4 rows")
    assert "the header is row 1" in message and "nothing was loaded" in message
    assert message.count("\n  row ") == 5


def test_patient_ids_are_never_echoed_in_problems(tmp_path):
    path = edited(tmp_path, {(3, "Session Date"): "2025-01-06", (4, "Session #"): "1"})
    problems = problems_of(path)
    assert problems and not any("A1001" in p for p in problems)


def test_row_numbers_follow_the_file_across_blank_lines():
    assert problems_of(DATA / "blank_line.csv") == [
        "row 5, column 'PHQ-9 Pre': PHQ-9 before the session is 31, outside 0-27"
    ]


def test_restarting_at_session_1_is_a_new_course_not_a_backwards_number():
    raw, _, (result, _) = load.check_file(GOOD)  # C3003 goes 1, 2, then 1, 2 months later
    assert result.problems == []


def test_excel_exports_are_read_like_csv_with_file_row_numbers(tmp_path):
    frame = pd.read_csv(GOOD, dtype=str, keep_default_na=False)
    frame["Session Date"] = pd.to_datetime(frame["Session Date"])  # real Excel dates
    frame["PHQ-9 Pre"] = pd.to_numeric(frame["PHQ-9 Pre"])
    frame.loc[9, "PHQ-9 Pre"] = 40  # file row 11
    path = tmp_path / "export.xlsx"
    frame.to_excel(path, index=False)
    assert problems_of(path) == [
        "row 11, column 'PHQ-9 Pre': PHQ-9 before the session is 40, outside 0-27"
    ]
    frame.loc[9, "PHQ-9 Pre"] = 20
    frame.to_excel(path, index=False)
    _, _, (from_excel, _) = load.check_file(path)
    _, _, (from_csv, _) = load.check_file(GOOD)
    pd.testing.assert_frame_equal(from_excel.sessions, from_csv.sessions)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("not_utf8.csv", "not_utf8.csv is not UTF-8 text (byte"),
        ("empty.csv", "empty.csv is empty: expected a header row and one row per session"),
        ("header_only.csv", "header_only.csv has a header but no sessions"),
        ("duplicate_header.csv", "the header 'PHQ-9 Pre' appears twice (columns 8 and 9"),
        ("missing_column.csv", "missing_column.csv: required columns are missing: ['dose_unit']"),
        ("unknown_column.csv",
         "columns ['Therapist Impression'] are not in the default clinic mapping"),
    ],
)  # fmt: skip
def test_bad_files_are_refused_with_a_clear_message(name, expected):
    with pytest.raises(PipelineError) as caught:
        load.check_file(DATA / name)
    assert expected in str(caught.value)
    assert not isinstance(caught.value, ClinicValidationError)


def test_other_file_types_and_damaged_workbooks_are_refused(tmp_path):
    text = tmp_path / "export.txt"
    text.write_text("Patient ID\nA1\n")
    with pytest.raises(PipelineError, match=r"must be \.csv or \.xlsx, not '\.txt'"):
        read_export(text, load_mapping())
    workbook = tmp_path / "export.xlsx"
    workbook.write_bytes(b"this is not a zip archive")
    with pytest.raises(PipelineError, match="is not a readable .xlsx workbook"):
        read_export(workbook, load_mapping())
    with pytest.raises(PipelineError, match="no clinic export at"):
        read_export(tmp_path / "missing.csv", load_mapping())


def test_ragged_csv_rows_are_refused_with_the_line(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(GOOD.read_text().replace("first infusion", "first, infusion"))
    with pytest.raises(PipelineError, match=r"not a well-formed CSV file: .*line 2"):
        load.check_file(path)


def test_a_mapping_can_read_semicolon_separated_exports(tmp_path):
    mapping = tmp_path / "semicolon.toml"
    mapping.write_text(default_mapping_text().replace('delimiter = ","', 'delimiter = ";"'))
    export = tmp_path / "export.csv"
    export.write_text(GOOD.read_text().replace(",", ";"))
    _, _, (result, _) = load.check_file(export, mapping)
    assert result.problems == [] and len(result.sessions) == 12


@pytest.mark.parametrize(
    ("separator", "setting"), [(";", 'delimiter = ";"'), ("\t", 'delimiter = "\\t"')]
)
def test_a_separator_other_than_the_mappings_is_named_with_the_setting_to_use(
    tmp_path, separator, setting
):
    export = tmp_path / "export.csv"
    export.write_text(GOOD.read_text().replace(",", separator))
    with pytest.raises(PipelineError) as caught:
        load.check_file(export)
    message = str(caught.value)
    assert not isinstance(caught.value, ClinicValidationError)
    assert f"separated by '{separator}'" in message.replace("'\\t'", "'\t'")
    assert setting in message and "[options]" in message and "--mapping" in message


def test_a_semicolon_export_with_decimal_commas_gets_the_same_advice(tmp_path):
    # "0,5" splits a semicolon row into more cells than its header holds when read with ","
    export = tmp_path / "export.csv"
    export.write_text(GOOD.read_text().replace(",", ";").replace("0.5", "0,5"))
    with pytest.raises(PipelineError, match=r"separated by ';'.*delimiter = \";\""):
        load.check_file(export)


def test_a_one_column_export_that_is_not_semicolon_separated_gets_the_usual_error(tmp_path):
    export = tmp_path / "export.csv"
    export.write_text("Patient ID\nA1001\n")
    with pytest.raises(PipelineError, match="required columns are missing"):
        load.check_file(export)


# --- .xlsx formulas with no saved values ----------------------------------------------------


def formula_workbook(path: Path, cached: bool = False) -> None:
    """good.csv as a workbook whose PHQ-9 Post is a formula (openpyxl saves no cached values)."""
    from openpyxl import Workbook

    with GOOD.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    book = Workbook()
    sheet = book.active
    sheet.title = "Sessions"
    post = rows[0].index("PHQ-9 Post")
    for number, row in enumerate(rows, start=1):
        cells: list[object] = [int(c) if c.isdigit() else c for c in row]
        if number > 1:
            cells[post] = f"=H{number}-2"
        sheet.append(cells)
    book.save(path)


def test_formula_cells_without_saved_values_are_refused_naming_the_cells(tmp_path):
    path = tmp_path / "export.xlsx"
    formula_workbook(path)
    with pytest.raises(PipelineError) as caught:
        read_export(path, load_mapping())
    message = str(caught.value)
    assert "sheet 'Sessions'" in message
    assert "12 formula cells" in message and "I2, I3, I4, I5, I6 and 7 more" in message
    assert "LibreOffice" in message and "CSV" in message


def test_formula_cells_with_saved_values_are_read_as_their_values(tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / "export.xlsx"
    formula_workbook(path)
    # what Excel does on save: keep the formula and store its value beside it
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet_xml = parts["xl/worksheets/sheet1.xml"].decode()
    sheet_xml = re.sub(r"<f>H(\d+)-2</f><v\s*/>|<f>H(\d+)-2</f>",
                       lambda m: f"{m.group(0).split('<v')[0]}<v>7</v>", sheet_xml)  # fmt: skip
    parts["xl/worksheets/sheet1.xml"] = sheet_xml.encode()
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)
    assert load_workbook(path, data_only=True)["Sessions"]["I2"].value == 7
    raw = read_export(path, load_mapping())
    assert set(raw["PHQ-9 Post"]) == {"7"}


# --- a very long list of problems ------------------------------------------------------------


def test_a_huge_invalid_export_prints_a_short_summary_and_reports_every_problem(tmp_path, capsys):
    from pipeline.cli import main

    with GOOD.open(newline="", encoding="utf-8") as handle:
        header, first = list(csv.reader(handle))[:2]
    path = tmp_path / "huge.csv"
    n = 20_000
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i in range(n):
            row = list(first)
            row[0] = f"P{i:06d}"
            row[header.index("PHQ-9 Pre")] = "40"  # out of range
            row[header.index("Route")] = "oral"  # not a route
            writer.writerow(row)
    code = main(["clinic", "import", str(path), "--db", str(tmp_path / "w.duckdb")])
    err = capsys.readouterr().err
    assert code == 1
    assert len(err) < 12_000, f"{len(err):,} characters on stderr"
    assert err.count("\n  row ") == 50
    assert "40,000 problems in 20,000 of 20,000 rows" in err
    report = tmp_path / "huge.invalid_rows.csv"
    assert f"every problem is listed in {report}" in err
    assert "PHQ-9 Pre" in err and "20,000" in err  # the count by column and kind
    with report.open(newline="", encoding="utf-8") as handle:
        listed = list(csv.DictReader(handle))
    assert len(listed) == 2 * n
    assert {int(r["row"]) for r in listed} == set(range(2, n + 2))
    assert not (tmp_path / "w.duckdb").exists()


def test_a_mapping_adapts_headers_dates_and_route_synonyms(tmp_path):
    mapping = DATA / "mrn_mapping.toml"
    _, _, (result, _) = load.check_file(DATA / "mrn_export.csv", mapping)
    assert result.problems == []
    assert list(result.sessions["route"]) == ["iv", "iv"]
    assert list(result.sessions["session_date"].dt.date.astype(str)) == ["2025-01-06", "2025-01-08"]
    iso = tmp_path / "iso.csv"
    iso.write_text((DATA / "mrn_export.csv").read_text().replace("08/01/2025", "2025-01-08"))
    assert problems_of(iso, mapping) == [
        "row 3, column 'Visit': '2025-01-08' is not a date in the form DD/MM/YYYY (set "
        "date_formats in the mapping if your system writes dates differently)"
    ]


# --- shifted columns: no patient id in any message, report or log --------------------------


def shifted_export(tmp_path: Path, numeric_ids: bool) -> tuple[Path, set[str]]:
    """good.csv with rows 3-8 shifted right (the patient id lands in a date or score column).

    With `numeric_ids` the ids are 7-digit numbers (as many records systems write them) and
    rows 3-5 are shifted by seven cells, so that the id lands in PHQ-9 Pre; rows 6-8 by one.
    """
    with GOOD.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    ids = {}
    for row in rows[1:]:
        ids.setdefault(row[0], f"{4_700_000 + 1_113 * len(ids)}" if numeric_ids else row[0])
        row[0] = ids[row[0]]
    for index in range(2, 8):
        by = 7 if numeric_ids and index < 5 else 1
        rows[index] = ([""] * by + rows[index])[: len(rows[0])]
    path = tmp_path / "shifted.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path, set(ids.values())


@pytest.mark.parametrize("numeric_ids", [False, True])
def test_a_shifted_export_never_shows_a_patient_id(tmp_path, capsys, caplog, numeric_ids):
    from pipeline.cli import main

    path, ids = shifted_export(tmp_path, numeric_ids)
    with pytest.raises(ClinicValidationError) as caught:
        load.check_file(path)
    refused = str(caught.value)
    assert "row 3, column 'Session Date'" in refused or "row 3, column 'PHQ-9 Pre'" in refused
    report = tmp_path / "report.csv"
    code = main(["clinic", "import", str(path), "--skip-invalid", "--report", str(report),
                 "--db", str(tmp_path / "w.duckdb")])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0 and report.is_file()
    assert "\n3," in report.read_text()
    seen = "\n".join(
        [refused, captured.out, captured.err, report.read_text(), caplog.text,
         *(str(p) for p in caught.value.problems)]
    )  # fmt: skip
    leaked = [i for i in ids if i in seen]
    assert leaked == [], f"patient ids shown: {leaked}"


def test_values_that_cannot_be_ids_are_still_shown(tmp_path):
    path = edited(tmp_path, {(3, "PHQ-9 Pre"): "31", (4, "Route"): "Oral"})
    shown = problems_of(path)
    assert "row 3, column 'PHQ-9 Pre': PHQ-9 before the session is 31, outside 0-27" in shown
    assert any(p.startswith("row 4, column 'Route': 'Oral' is not a known route") for p in shown)


def test_a_value_that_is_also_a_patient_id_is_not_shown(tmp_path):
    # "31" is a patient id elsewhere in the file, so the out-of-range score is not echoed
    path = edited(tmp_path, {(3, "PHQ-9 Pre"): "31", (10, "Patient ID"): "31"})
    shown = problems_of(path)
    assert any(p.startswith("row 3, column 'PHQ-9 Pre': PHQ-9 before the session is outside "
                            "0-27") for p in shown), shown  # fmt: skip
    assert not any("31" in p for p in shown)
