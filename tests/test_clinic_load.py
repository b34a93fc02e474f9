"""Loading clinic exports: all or nothing, --skip-invalid with its report, idempotent re-runs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipeline import warehouse
from pipeline.clinic import load
from pipeline.clinic.validate import ClinicValidationError
from pipeline.errors import PipelineError

DATA = Path(__file__).parent / "data" / "clinic"
GOOD = DATA / "good.csv"


@pytest.fixture(autouse=True)
def clinic_key(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_CLINIC_KEY_FILE", str(tmp_path / "keys" / "clinic.key"))


@pytest.fixture
def con(tmp_path):
    connection = warehouse.connect(tmp_path / "w.duckdb")
    yield connection
    connection.close()


def snapshot(con) -> dict[str, list[tuple]]:
    """Every row of every table, sorted: the database's contents to compare before and after."""
    tables = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' ORDER BY 1, 2"
    ).fetchall()
    return {
        f"{s}.{t}": sorted(con.execute(f"SELECT * FROM {s}.{t}").fetchall(), key=repr)
        for s, t in tables
    }


def bad_copy(tmp_path: Path) -> Path:
    """good.csv with PHQ-9 31 on row 3 and an unknown route on row 7."""
    with GOOD.open(newline="") as handle:
        rows = list(csv.reader(handle))
    rows[2][rows[0].index("PHQ-9 Pre")] = "31"
    rows[6][rows[0].index("Route")] = "oral"
    path = tmp_path / "bad.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_a_good_export_loads_every_row(con):
    summary = load.import_export(con, GOOD)
    assert (summary.n_rows, summary.n_loaded, summary.n_invalid, summary.n_patients) == (
        12,
        12,
        0,
        3,
    )
    assert summary.sentence() == "loaded clinic export good.csv: 12 sessions, 3 patients"
    row = con.execute(
        "SELECT source_name, synthetic, n_rows, n_loaded, n_invalid, is_current "
        "FROM core.clinic_imports"
    ).fetchone()
    assert row == ("good.csv", False, 12, 12, 0, True)
    assert con.execute(
        "SELECT list(source_row ORDER BY source_row) FROM core.clinic_sessions"
    ).fetchone()[0] == list(range(2, 14))


def test_a_refused_import_leaves_the_database_table_for_table_unchanged(con, tmp_path):
    load.import_export(con, GOOD)
    before = snapshot(con)
    with pytest.raises(ClinicValidationError):
        load.import_export(con, bad_copy(tmp_path))
    assert snapshot(con) == before


def test_a_failure_during_the_load_rolls_everything_back(con, tmp_path, monkeypatch):
    load.import_export(con, GOOD)
    before = snapshot(con)
    other = tmp_path / "other.csv"
    other.write_text(GOOD.read_text().replace(",24,", ",23,"))

    def broken_now():
        raise RuntimeError("disk full")

    monkeypatch.setattr(load.warehouse, "now", broken_now)
    with pytest.raises(RuntimeError, match="disk full"):
        load.import_export(con, other)
    assert snapshot(con) == before


def test_skip_invalid_loads_the_rest_and_reports_every_invalid_row(con, tmp_path):
    report = tmp_path / "out" / "invalid.csv"
    summary = load.import_export(con, bad_copy(tmp_path), skip_invalid=True, report_path=report)
    assert (summary.n_rows, summary.n_loaded, summary.n_invalid) == (12, 10, 2)
    assert summary.report_path == report
    assert "2 invalid rows not loaded, listed in" in summary.sentence()
    with report.open(newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert [(r["row"], r["column"], r["field"]) for r in lines] == [
        ("3", "PHQ-9 Pre", "phq9_pre"),
        ("7", "Route", "route"),
    ]
    assert lines[0]["problem"] == "PHQ-9 before the session is 31, outside 0-27"
    loaded = {r[0] for r in con.execute("SELECT source_row FROM core.clinic_sessions").fetchall()}
    reported = {int(r["row"]) for r in lines}
    assert loaded | reported == set(range(2, 14)) and not loaded & reported  # none dropped silently
    stored = con.execute("SELECT n_invalid, invalid_report FROM core.clinic_imports").fetchone()
    assert stored == (2, str(report))


def test_skip_invalid_with_nothing_valid_loads_nothing(con, tmp_path):
    path = tmp_path / "all_bad.csv"
    lines = GOOD.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[1].replace(",20,", ",40,")]) + "\n")
    before = snapshot(con)
    with pytest.raises(PipelineError, match="every row is invalid, so nothing was loaded"):
        load.import_export(con, path, skip_invalid=True, report_path=tmp_path / "r.csv")
    assert snapshot(con) == before
    assert (tmp_path / "r.csv").exists()


def test_the_default_report_lies_beside_the_export(tmp_path):
    assert load.default_report_path(tmp_path / "march.xlsx") == tmp_path / "march.invalid_rows.csv"


def test_reimporting_the_same_export_changes_nothing(con):
    load.import_export(con, GOOD)
    before = snapshot(con)
    again = load.import_export(con, GOOD)
    assert again.unchanged and again.n_loaded == 12 and again.n_patients == 3
    assert "already loaded and unchanged" in again.sentence()
    assert snapshot(con) == before


def test_a_new_export_replaces_the_current_data(con, tmp_path):
    load.import_export(con, GOOD)
    newer = tmp_path / "newer.csv"
    newer.write_text("\n".join(GOOD.read_text().splitlines()[:5]) + "\n")
    summary = load.import_export(con, newer)
    assert summary.n_loaded == 4 and summary.n_patients == 1
    imports = con.execute(
        "SELECT source_name, is_current FROM core.clinic_imports ORDER BY imported_at"
    ).fetchall()
    assert imports == [("good.csv", False), ("newer.csv", True)]
    assert con.execute("SELECT count(*) FROM core.clinic_sessions").fetchone()[0] == 4
    assert con.execute("SELECT count(*) FROM marts.clinic_sessions").fetchone()[0] == 4


def test_an_export_marked_synthetic_is_stored_as_synthetic(con, tmp_path):
    lines = GOOD.read_text().splitlines()
    path = tmp_path / "marked.csv"
    path.write_text(
        "\n".join([lines[0] + ",Synthetic", *(line + ",yes" for line in lines[1:])]) + "\n"
    )
    assert load.import_export(con, path).synthetic
    assert con.execute("SELECT bool_and(synthetic) FROM marts.clinic_sessions").fetchone()[0]
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(path.read_text().replace("first infusion,yes", "first infusion,no"))
    with pytest.raises(
        PipelineError, match=r"'Synthetic' must say yes on every row .*rows \[2\] do not say yes"
    ):
        load.import_export(con, mixed)


def test_an_unchanged_export_is_not_even_read_again(con, monkeypatch):
    load.import_export(con, GOOD)

    def no_reading(*args, **kwargs):
        raise AssertionError("read again")

    monkeypatch.setattr(load, "read_export", no_reading)
    assert load.import_export(con, GOOD).unchanged


def test_a_strict_import_of_an_export_once_loaded_with_skip_invalid_still_fails(con, tmp_path):
    bad = bad_copy(tmp_path)
    load.import_export(con, bad, skip_invalid=True, report_path=tmp_path / "r.csv")
    assert load.import_export(con, bad, skip_invalid=True, report_path=tmp_path / "r.csv").unchanged
    with pytest.raises(ClinicValidationError, match="2 problems in 2 of 12 rows"):
        load.import_export(con, bad)
