"""Loading clinic exports: all or nothing, --skip-invalid with its report, idempotent re-runs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipeline import warehouse
from pipeline.checksums import file_sha256
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
        "SELECT source_name, synthetic, n_rows, n_added, n_skipped, n_replaced, n_rejected "
        "FROM core.clinic_imports"
    ).fetchone()
    assert row == ("good.csv", False, 12, 12, 0, 0, 0)
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
        load.import_export(con, other, replace=True)  # fails after the sessions were merged
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
    stored = con.execute("SELECT n_rejected, invalid_report FROM core.clinic_imports").fetchone()
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
    assert again.unchanged and (again.n_sessions_held, again.n_patients_held) == (12, 3)
    assert "already loaded and unchanged" in again.sentence()
    assert snapshot(con) == before


def test_an_export_repeating_stored_sessions_skips_them_and_adds_nothing(con, tmp_path):
    load.import_export(con, GOOD)
    sessions_before = snapshot(con)["core.clinic_sessions"]
    part = tmp_path / "part.csv"
    part.write_text("\n".join(GOOD.read_text().splitlines()[:5]) + "\n")  # 4 sessions, A1001
    summary = load.import_export(con, part)
    assert (summary.n_added, summary.n_skipped, summary.n_replaced) == (0, 4, 0)
    assert summary.sentence() == (
        "loaded clinic export part.csv: 0 sessions added, 4 unchanged and skipped, 0 replaced; "
        "the warehouse now holds 12 sessions, 3 patients"
    )
    assert snapshot(con)["core.clinic_sessions"] == sessions_before
    assert con.execute(
        "SELECT source_name, n_rows, n_added, n_skipped FROM core.clinic_imports "
        "ORDER BY imported_at"
    ).fetchall() == [("good.csv", 12, 12, 0), ("part.csv", 4, 0, 4)]


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


# --- monthly exports, one on top of the other ------------------------------------------------


def monthly_exports(tmp_path: Path) -> tuple[Path, list[Path]]:
    """The demo export whole, and split into one file per calendar month of session date."""
    from pipeline.clinic import demo

    frame = demo.generate_demo_export(demo.DEFAULT_SEED)
    whole = tmp_path / "whole.csv"
    frame.to_csv(whole, index=False)
    months = []
    for month, rows in frame.groupby(frame["Session Date"].str[:7], sort=True):
        path = tmp_path / f"sessions-{month}.csv"
        rows.to_csv(path, index=False)
        months.append(path)
    return whole, months


MART_QUERIES = {
    "sessions": "SELECT * EXCLUDE (import_id, source_row) FROM marts.clinic_sessions",
    "courses": "SELECT * FROM marts.clinic_course_outcomes",
    "scores": "SELECT * FROM marts.clinic_course_scores",
    "counts": "SELECT * FROM marts.clinic_counts",
    "response": "SELECT * FROM marts.clinic_response_remission",
    "side effects": "SELECT * FROM marts.clinic_side_effects",
    "trajectories": "SELECT * FROM marts.clinic_phq9_trajectories",
}


def marts_of(con) -> dict[str, list[tuple]]:
    """Every mart's rows, sorted; floats to 12 significant digits (sums in another order)."""

    def fixed(value):
        return float(f"{value:.12g}") if isinstance(value, float) else value

    return {
        name: sorted((tuple(map(fixed, row)) for row in con.execute(sql).fetchall()), key=repr)
        for name, sql in MART_QUERIES.items()
    }


def test_monthly_exports_imported_in_turn_give_the_marts_of_the_whole_export(tmp_path):
    whole, months = monthly_exports(tmp_path)
    assert len(months) > 12
    at_once = warehouse.connect(tmp_path / "at_once.duckdb")
    monthly = warehouse.connect(tmp_path / "monthly.duckdb")
    try:
        load.import_export(at_once, whole)
        for path in months:
            summary = load.import_export(monthly, path)
            assert (summary.n_skipped, summary.n_replaced) == (0, 0)
            assert summary.n_added == summary.n_rows
        assert marts_of(monthly) == marts_of(at_once)
        # courses that run across a month boundary are whole courses, not two
        spanning = monthly.execute(
            "SELECT count(*) FROM marts.clinic_course_outcomes "
            "WHERE date_trunc('month', start_date) <> date_trunc('month', end_date)"
        ).fetchone()[0]
        assert spanning > 50
        log = monthly.execute(
            "SELECT source_name, n_rows, n_added, n_skipped, n_replaced, n_rejected "
            "FROM core.clinic_imports ORDER BY imported_at"
        ).fetchall()
        assert [row[0] for row in log] == [p.name for p in months]
        assert all(row[1] == row[2] and row[3:] == (0, 0, 0) for row in log)
        assert (
            sum(row[1] for row in log)
            == at_once.execute("SELECT count(*) FROM core.clinic_sessions").fetchone()[0]
        )
    finally:
        at_once.close()
        monthly.close()


def test_a_month_imported_again_changes_nothing_and_an_overlapping_export_skips(tmp_path):
    _, months = monthly_exports(tmp_path)
    con = warehouse.connect(tmp_path / "w.duckdb")
    try:
        for path in months[:2]:
            load.import_export(con, path)
        before = snapshot(con)
        again = load.import_export(con, months[0])
        assert again.unchanged and "already loaded and unchanged" in again.sentence()
        assert snapshot(con) == before
        # an export of both months at once (other bytes): the first two skipped, nothing added
        both = tmp_path / "both.csv"
        header, *rows = months[0].read_text().splitlines()
        both.write_text("\n".join([header, *rows, *months[1].read_text().splitlines()[1:]]) + "\n")
        summary = load.import_export(con, both)
        assert summary.n_added == 0 and summary.n_skipped == summary.n_rows
        assert snapshot(con)["core.clinic_sessions"] == before["core.clinic_sessions"]
    finally:
        con.close()


def changed_copy(tmp_path: Path) -> Path:
    """good.csv with row 10's PHQ-9 Pre changed (24 -> 23) and a new session on row 14."""
    lines = GOOD.read_text().splitlines()
    assert lines[9].startswith("C3003,2025-03-03,") and ",24," in lines[9]
    lines[9] = lines[9].replace(",24,", ",23,")
    lines.append("C3003,2025-06-06,IV,ketamine,0.5,mg/kg,3,10,,,8,no,no,130,84,138,87,")
    path = tmp_path / "february.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_changed_session_is_refused_without_replace_listing_its_row(con, tmp_path):
    load.import_export(con, GOOD)
    before = snapshot(con)
    with pytest.raises(load.ChangedSessionsError) as caught:
        load.import_export(con, changed_copy(tmp_path))
    message = str(caught.value)
    assert message.startswith("february.csv: 1 session already stored (same patient and date) "
                              "differs in this export")  # fmt: skip
    assert "  row 10: PHQ-9 Pre differs" in message and "--replace" in message
    assert "nothing was loaded" in message and caught.value.rows == [10]
    assert snapshot(con) == before  # not even the new session on row 14 was added


def test_a_changed_session_is_replaced_with_replace(con, tmp_path):
    load.import_export(con, GOOD)
    summary = load.import_export(con, changed_copy(tmp_path), replace=True)
    assert (summary.n_rows, summary.n_added, summary.n_skipped, summary.n_replaced) == (
        13, 1, 11, 1,
    )  # fmt: skip
    assert con.execute(
        "SELECT count(*), count(*) FILTER (WHERE phq9_pre = 23) FROM core.clinic_sessions"
    ).fetchone() == (13, 1)
    assert (
        con.execute("SELECT count(DISTINCT import_id) FROM core.clinic_sessions").fetchone()[0] == 2
    )  # the replaced and the added session belong to the second import
    log = con.execute(
        "SELECT source_name, file_sha256, n_rows, n_added, n_skipped, n_replaced, n_rejected "
        "FROM core.clinic_imports ORDER BY imported_at"
    ).fetchall()
    assert log == [
        ("good.csv", file_sha256(GOOD), 12, 12, 0, 0, 0),
        ("february.csv", file_sha256(tmp_path / "february.csv"), 13, 1, 11, 1, 0),
    ]


def test_a_refused_or_failed_import_leaves_the_database_file_byte_for_byte(
    tmp_path, capsys, monkeypatch
):
    from pipeline.cli import main

    db = tmp_path / "w.duckdb"
    assert main(["clinic", "import", str(GOOD), "--db", str(db)]) == 0
    before = db.read_bytes()
    capsys.readouterr()
    assert main(["clinic", "import", str(changed_copy(tmp_path)), "--db", str(db)]) == 1
    assert "row 10: PHQ-9 Pre differs" in capsys.readouterr().err
    assert db.read_bytes() == before

    def broken_now():
        raise PipelineError("the clock stopped")  # a failure after the sessions were merged

    with monkeypatch.context() as patch:
        patch.setattr(load.warehouse, "now", broken_now)
        assert main(["clinic", "import", str(tmp_path / "february.csv"), "--replace",
                     "--db", str(db)]) == 1  # fmt: skip
    assert "the clock stopped" in capsys.readouterr().err
    assert db.read_bytes() == before
    assert main(["clinic", "import", str(tmp_path / "february.csv"), "--replace",
                 "--db", str(db)]) == 0  # fmt: skip
    assert "1 sessions added, 11 unchanged and skipped, 1 replaced" in capsys.readouterr().out


def test_demo_data_is_never_added_to_real_data(con, tmp_path):
    from pipeline.clinic import demo

    load.import_export(con, GOOD)
    before = snapshot(con)
    path = tmp_path / "demo.csv"
    demo.write_demo_export(path)
    with pytest.raises(PipelineError, match="SYNTHETIC demo data and the warehouse holds real"):
        load.import_export(con, path)
    assert snapshot(con) == before


def test_sessions_pseudonymised_with_another_key_are_refused(con, tmp_path, monkeypatch):
    load.import_export(con, GOOD)
    before = snapshot(con)
    monkeypatch.setenv("PIPELINE_CLINIC_KEY_FILE", str(tmp_path / "other" / "clinic.key"))
    with pytest.raises(PipelineError, match="pseudonymised with another key"):
        load.import_export(con, changed_copy(tmp_path))
    assert snapshot(con) == before


@pytest.mark.fresh_migrations  # the database is built up to migration 021 only
def test_migration_022_keeps_earlier_sessions_and_logs_their_imports(tmp_path, monkeypatch):
    shipped = warehouse.available_migrations()
    monkeypatch.setattr(
        warehouse, "available_migrations", lambda: [m for m in shipped if m.version != 22]
    )
    db = tmp_path / "before_022.duckdb"
    con = warehouse.connect(db)
    con.execute(
        "INSERT INTO core.clinic_imports VALUES "
        "('i1', 'december.csv', 'a1', 'm', FALSE, 'f', 5, 5, 0, NULL, '2025-01-02', FALSE), "
        "('i2', 'january.csv', 'a2', 'm', FALSE, 'f', 9, 8, 1, 'r.csv', '2025-02-01', TRUE)"
    )
    con.execute(
        "INSERT INTO core.clinic_sessions (import_id, source_row, patient_key, session_date, "
        "route, drug, dose, dose_unit, session_number, phq9_pre) VALUES "
        "('i2', 2, 'k', '2025-01-06', 'iv', 'ketamine', 0.5, 'mg/kg', 1, 20), "
        "('i2', 3, 'k', '2025-01-08', 'iv', 'ketamine', 0.5, 'mg/kg', 2, 12)"
    )
    con.close()
    monkeypatch.setattr(warehouse, "available_migrations", lambda: shipped)
    con = warehouse.connect(db)
    try:
        assert con.execute(
            "SELECT import_id, source_name, n_rows, n_added, n_skipped, n_replaced, n_rejected, "
            "invalid_report FROM core.clinic_imports ORDER BY imported_at"
        ).fetchall() == [
            ("i1", "december.csv", 5, 5, 0, 0, 0, None),
            ("i2", "january.csv", 9, 8, 0, 0, 1, "r.csv"),
        ]
        assert con.execute(
            "SELECT count(*), count(DISTINCT course_id) FROM marts.clinic_sessions"
        ).fetchone() == (2, 1)
    finally:
        con.close()
