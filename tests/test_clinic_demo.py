"""The SYNTHETIC demo export and `ensure_clinic_data`, the step `make ingest` runs."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from pipeline import warehouse
from pipeline.clinic import demo, load, metrics
from pipeline.clinic.mapping import load_mapping
from pipeline.clinic.validate import read_export
from pipeline.errors import PipelineError

DATA = Path(__file__).parent / "data" / "clinic"


@pytest.fixture(autouse=True)
def clinic_key(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_CLINIC_KEY_FILE", str(tmp_path / "keys" / "clinic.key"))
    monkeypatch.delenv("CLINIC_EXPORT", raising=False)
    monkeypatch.delenv("CLINIC_MAPPING", raising=False)


@pytest.fixture(scope="module")
def demo_frame() -> pd.DataFrame:
    return demo.generate_demo_export()


def test_the_demo_is_seeded(demo_frame):
    pd.testing.assert_frame_equal(demo.generate_demo_export(), demo_frame)
    assert not demo.generate_demo_export(seed=1).equals(demo_frame)


def test_the_demo_is_sized_like_a_clinic_and_marked_synthetic(demo_frame):
    routes = demo_frame["Route"].value_counts()
    assert 780 <= routes["IV infusion"] <= 830
    assert 240 <= routes["Intranasal"] <= 270
    assert set(demo_frame["Synthetic"]) == {"yes"}
    assert demo_frame["Patient ID"].str.fullmatch(r"KC\d{7}").all()
    assert 100 <= demo_frame["Patient ID"].nunique() <= 200


def test_demo_round_trip_export_import_metrics(tmp_path):
    path = tmp_path / "demo.csv"
    n = demo.write_demo_export(path)
    assert path.read_text().startswith("Patient ID,Session Date,")
    con = warehouse.connect(tmp_path / "w.duckdb")
    summary = load.import_export(con, path)
    assert summary.synthetic and summary.n_loaded == n and summary.n_invalid == 0
    counts = metrics.clinic_counts(con).set_index("route")
    assert counts.loc["all", "n_sessions"] == n
    assert counts["synthetic"].all()
    for frame in (metrics.response_remission(con), metrics.time_to_response(con),
                  metrics.pre_post_effect(con), metrics.side_effect_rates(con),
                  metrics.phq9_trajectories(con), metrics.course_outcomes(con)):  # fmt: skip
        assert len(frame) and frame["synthetic"].all()
    # plausible: IV works faster than intranasal, some do not respond, some drop out
    rr = metrics.response_remission(con).set_index(["route", "after_sessions"])
    assert rr.loc[("iv", 2), "response_rate"] > rr.loc[("intranasal", 2), "response_rate"]
    assert rr.loc[("iv", 6), "n_response_evaluable"] < rr.loc[("iv", 1), "n_response_evaluable"]
    outcomes = metrics.course_outcomes(con)
    assert 0.2 < outcomes["responded"].mean() < 0.8
    effect = metrics.pre_post_effect(con).set_index("route")
    assert (effect["hedges_g"] > 0.5).all()
    assert (metrics.blood_pressure(con)["mean_systolic_change"] > 0).all()
    con.execute("CHECKPOINT")
    con.close()
    raw_ids = pd.read_csv(path, dtype=str)["Patient ID"].unique()
    data = (tmp_path / "w.duckdb").read_bytes()
    assert not any(raw_id.encode() in data for raw_id in raw_ids[:50])


def test_the_demo_can_be_written_as_a_workbook(tmp_path):
    path = tmp_path / "demo.xlsx"
    n = demo.write_demo_export(path, seed=3)
    assert pd.ExcelFile(path).sheet_names == ["sessions (SYNTHETIC)"]
    assert len(read_export(path, load_mapping())) == n
    with pytest.raises(PipelineError, match=r"written as \.csv or \.xlsx"):
        demo.write_demo_export(tmp_path / "demo.json")


def test_ensure_clinic_data_loads_the_demo_once(tmp_path):
    con = warehouse.connect(tmp_path / "w.duckdb")
    said = demo.ensure_clinic_data(con)
    assert re.fullmatch(r"loaded synthetic demo clinic data: 1,0\d\d sessions, \d+ patients", said)
    imports = con.execute("SELECT count(*) FROM core.clinic_imports").fetchone()[0]
    again = demo.ensure_clinic_data(con)
    assert again.startswith("clinic data already loaded (synthetic demo:")
    assert again.endswith("nothing to do")
    assert con.execute("SELECT count(*) FROM core.clinic_imports").fetchone()[0] == imports
    assert con.execute("SELECT bool_and(synthetic) FROM marts.clinic_counts").fetchone()[0]


def test_ensure_clinic_data_imports_the_configured_export_over_the_demo(tmp_path, monkeypatch):
    con = warehouse.connect(tmp_path / "w.duckdb")
    demo.ensure_clinic_data(con)
    monkeypatch.setenv("CLINIC_EXPORT", str(DATA / "good.csv"))
    n_demo = con.execute("SELECT count(*) FROM core.clinic_sessions").fetchone()[0]
    assert demo.ensure_clinic_data(con) == (
        f"loaded clinic export good.csv: 12 sessions, 3 patients (the {n_demo:,} SYNTHETIC demo "
        "sessions were removed)"
    )
    assert not con.execute("SELECT bool_or(synthetic) FROM marts.clinic_counts").fetchone()[0]
    assert demo.ensure_clinic_data(con).startswith(
        "clinic export good.csv already loaded and unchanged"
    )
    monkeypatch.setenv("CLINIC_EXPORT", str(DATA / "mrn_export.csv"))
    monkeypatch.setenv("CLINIC_MAPPING", str(DATA / "mrn_mapping.toml"))
    assert demo.ensure_clinic_data(con) == (
        "loaded clinic export mrn_export.csv: 2 sessions added, 0 unchanged and skipped, "
        "0 replaced; the warehouse now holds 14 sessions, 4 patients"
    )
    monkeypatch.delenv("CLINIC_EXPORT")
    assert demo.ensure_clinic_data(con) == (
        "clinic data already loaded (clinic exports: 14 sessions, 4 patients): nothing to do"
    )


def test_ensure_clinic_data_refuses_a_bad_configured_export(tmp_path, monkeypatch):
    con = warehouse.connect(tmp_path / "w.duckdb")
    monkeypatch.setenv("CLINIC_EXPORT", str(DATA / "many_problems.csv"))
    with pytest.raises(PipelineError, match="5 problems in 4 of 4 rows"):
        demo.ensure_clinic_data(con)
    assert con.execute("SELECT count(*) FROM core.clinic_imports").fetchone()[0] == 0
