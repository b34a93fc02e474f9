"""`python -m pipeline clinic ...`: one-sentence errors without tracebacks, and the outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from suppression_check import count_or_none, recovered, write_small_clinic

from pipeline import warehouse
from pipeline.cli import main

DATA = Path(__file__).parent / "data" / "clinic"


@pytest.fixture(autouse=True)
def clinic_key(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_CLINIC_KEY_FILE", str(tmp_path / "keys" / "clinic.key"))


def test_import_prints_one_sentence(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    assert main(["clinic", "import", str(DATA / "good.csv"), "--db", str(db)]) == 0
    assert capsys.readouterr().out == "loaded clinic export good.csv: 12 sessions, 3 patients\n"


def test_a_refused_import_prints_every_problem_without_a_traceback(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    assert main(["clinic", "import", str(DATA / "good.csv"), "--db", str(db)]) == 0
    before = db.read_bytes()
    capsys.readouterr()
    code = main(["clinic", "import", str(DATA / "many_problems.csv"), "--db", str(db)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("error: many_problems.csv: 5 problems in 4 of 4 rows")
    assert "  row 5, column 'Route': 'Oral' is not a known route" in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert db.read_bytes() == before  # byte for byte: the warehouse was never opened


def test_an_identifying_export_is_refused_in_one_sentence(tmp_path, capsys):
    code = main(["clinic", "import", str(DATA / "identifying_headers.csv"), "--db",
                 str(tmp_path / "w.duckdb")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: identifying_headers.csv was refused")
    assert "Traceback" not in err and not (tmp_path / "w.duckdb").exists()


def test_skip_invalid_writes_the_report(tmp_path, capsys):
    report = tmp_path / "invalid.csv"
    code = main(["clinic", "import", str(DATA / "blank_line.csv"), "--skip-invalid",
                 "--report", str(report), "--db", str(tmp_path / "w.duckdb")])  # fmt: skip
    assert code == 0
    assert capsys.readouterr().out == (
        f"loaded clinic export blank_line.csv: 2 sessions, 1 patients; 1 invalid rows not loaded, "
        f"listed in {report}\n"
    )
    assert report.read_text().splitlines()[1].startswith("5,PHQ-9 Pre,phq9_pre,")


def test_demo_then_metrics_say_synthetic(tmp_path, capsys):
    out, db = tmp_path / "demo.csv", tmp_path / "w.duckdb"
    assert main(["clinic", "demo", "--out", str(out), "--seed", "5"]) == 0
    assert "SYNTHETIC sessions (seed 5)" in capsys.readouterr().out
    assert main(["clinic", "import", str(out), "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["clinic", "metrics", "--db", str(db), "--suppress"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("SYNTHETIC demo data")
    assert "PHQ-9 response and remission after N sessions" in shown and "<11" in shown


def test_metrics_of_a_warehouse_without_clinic_data(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    warehouse.connect(db).close()
    assert main(["clinic", "metrics", "--db", str(db)]) == 0
    assert "no clinic data in the warehouse" in capsys.readouterr().out


def test_clinic_without_an_action_shows_help(capsys):
    assert main(["clinic"]) == 2
    assert "import" in capsys.readouterr().out


def test_the_command_default_seed_is_the_demo_default():
    from pipeline.clinic import demo
    from pipeline.commands import clinic as clinic_command

    assert clinic_command.DEMO_SEED == demo.DEFAULT_SEED


def printed_table(text: str, title: str) -> list[list[str]]:
    """The rows (split on spaces) of a table `clinic metrics` printed under `title`."""
    lines = text.split(f"\n{title}\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return [line.split() for line in lines[1:]]


def test_metrics_suppress_hides_enough_that_no_count_follows_from_the_totals(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    export = write_small_clinic(tmp_path / "small.csv", n_iv=13, n_intranasal=6)
    assert main(["clinic", "import", str(export), "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["clinic", "metrics", "--db", str(db), "--suppress"]) == 0
    rows = printed_table(capsys.readouterr().out, "Patients, courses and sessions")
    by_route = {row[1]: row[2:] for row in rows}  # synthetic, route, patients, courses, sessions
    assert set(by_route) == {"iv", "intranasal", "all"}
    assert by_route["intranasal"][0] == "<11" and by_route["all"][0] == "19"
    assert "13" not in by_route["iv"][:2]  # IV 13 beside All 19 would give away 6
    names = ["patients", "courses", "sessions"]
    shown = {(route, column): count_or_none(value)
             for route, values in by_route.items()
             for column, value in zip(names, values, strict=True)}  # fmt: skip
    sums = [
        (("all", c), [("iv", c), ("intranasal", c)]) for c in ("patients", "courses", "sessions")
    ]
    assert recovered(shown, sums) == {}
