"""Clinic metrics checked against hand computations on tests/data/clinic/good.csv.

good.csv, by hand (PHQ-9 before each session; a follow-up score where noted):
  A1001 IV      01-06 20, 01-08 12, 01-10 9, 01-13 8 (follow-up 4)     one course
  B2002 nasal   02-03 18, 02-06 15, 02-10 12, 02-13 8                   one course
  C3003 IV      03-03 24, 03-05 20 | 06-02 22, 06-04 11 (follow-up 10)  two courses (gap, restart)
Score after N = follow-up of session N, else PHQ-9 before session N + 1 of the course.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from suppression_check import count_or_none, recovered

from pipeline import warehouse
from pipeline.clinic import load, metrics

DATA = Path(__file__).parent / "data" / "clinic"
HEADER = "Patient ID,Session Date,Route,Medication,Dose,Dose Unit,Session #,PHQ-9 Pre,PHQ-9 Post"


@pytest.fixture(autouse=True)
def clinic_key(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_CLINIC_KEY_FILE", str(tmp_path / "keys" / "clinic.key"))


@pytest.fixture
def con():
    connection = warehouse.connect(":memory:")
    load.import_export(connection, DATA / "good.csv")
    yield connection
    connection.close()


def small_export(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "small.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def by_route(frame: pd.DataFrame, route: str, **where) -> pd.Series:
    selected = frame[frame["route"] == route]
    for column, value in where.items():
        selected = selected[selected[column] == value]
    assert len(selected) == 1, selected
    return selected.iloc[0]


def test_wilson_interval_matches_published_values():
    # Newcombe (1998), Stat Med 17:857, method 3 (score interval); 7/10 is the textbook case.
    assert metrics.wilson_interval(7, 10) == pytest.approx((0.3968, 0.8922), abs=5e-5)
    assert metrics.wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert metrics.wilson_interval(15, 148) == pytest.approx((0.0624, 0.1605), abs=5e-5)
    assert metrics.wilson_interval(0, 20) == pytest.approx((0.0, 0.1611), abs=5e-5)
    assert metrics.wilson_interval(1, 29) == pytest.approx((0.0061, 0.1718), abs=5e-5)
    low, high = metrics.wilson_interval(7, 10, level=0.99)
    assert low < 0.3968 and high > 0.8922
    assert all(math.isnan(v) for v in metrics.wilson_interval(0, 0))
    with pytest.raises(ValueError):
        metrics.wilson_interval(11, 10)


def test_counts_of_patients_courses_and_sessions(con):
    counts = metrics.clinic_counts(con).set_index("route")
    assert counts.loc["iv", ["n_patients", "n_courses", "n_sessions"]].tolist() == [2, 3, 8]
    assert counts.loc["intranasal", ["n_patients", "n_courses", "n_sessions"]].tolist() == [1, 1, 4]
    assert counts.loc["all", ["n_patients", "n_courses", "n_sessions"]].tolist() == [3, 4, 12]
    assert not counts["synthetic"].any()


def test_per_course_baseline_score_after_n_and_percent_change(con):
    scores = metrics.course_scores(con)
    a = scores[scores["baseline"] == 20].set_index("after_sessions")  # A1001's course
    assert a["score_after"].tolist() == [12, 9, 8, 4]  # the last from the follow-up score
    assert a["percent_change"].tolist() == pytest.approx([-40.0, -55.0, -60.0, -80.0])
    assert a["response"].tolist() == [False, True, True, True]  # <= 10 is a 50% fall from 20
    assert a["remission"].tolist() == [False, False, False, True]  # PHQ-9 below 5
    assert a["score_after_day"].tolist() == [2, 4, 7, 7]
    c1 = scores[scores["baseline"] == 24]
    assert c1["after_sessions"].tolist() == [1]  # its second session has no later score
    c2 = scores[scores["baseline"] == 22].set_index("after_sessions")
    assert c2["score_after"].tolist() == [11, 10] and c2["response"].tolist() == [True, True]


def test_response_and_remission_by_route_after_n_sessions(con):
    rr = metrics.response_remission(con)
    iv1 = by_route(rr, "iv", after_sessions=1)  # A 12 of 20 no, C 20 of 24 no, C 11 of 22 yes
    assert (iv1["n_response_evaluable"], iv1["n_response"]) == (3, 1)
    assert iv1["response_rate"] == pytest.approx(1 / 3)
    assert (iv1["response_ci_low"], iv1["response_ci_high"]) == pytest.approx(
        metrics.wilson_interval(1, 3)
    )
    assert (iv1["response_ci_low"], iv1["response_ci_high"]) == pytest.approx(
        (0.0615, 0.7923), abs=5e-5
    )
    iv2 = by_route(rr, "iv", after_sessions=2)  # A 9 yes, C 10 of 22 yes; C's first course ended
    assert (iv2["n_response_evaluable"], iv2["n_response"], iv2["n_remission"]) == (2, 2, 0)
    iv4 = by_route(rr, "iv", after_sessions=4)  # A's follow-up of 4
    assert (iv4["n_response"], iv4["n_remission_evaluable"], iv4["n_remission"]) == (1, 1, 1)
    nasal2 = by_route(rr, "intranasal", after_sessions=2)  # 12 of 18 is not a 50% fall
    assert (nasal2["n_response_evaluable"], nasal2["n_response"]) == (1, 0)
    assert by_route(rr, "intranasal", after_sessions=1)["response_ci_low"] == 0.0
    assert sorted(set(rr["after_sessions"])) == [1, 2, 4]  # no course has a score after 6
    assert rr[(rr["route"] == "intranasal") & (rr["after_sessions"] == 4)].empty
    assert set(rr["scale"]) == {"phq9"} and not rr["synthetic"].any()


def test_madrs_remission_uses_at_most_10(tmp_path):
    con = warehouse.connect(":memory:")
    path = tmp_path / "madrs.csv"
    path.write_text(
        "Patient ID,Session Date,Route,Medication,Dose,Dose Unit,Session #,PHQ-9 Pre,MADRS Pre\n"
        "P1,2025-01-06,IV,ketamine,0.5,mg/kg,1,20,30\n"
        "P1,2025-01-08,IV,ketamine,0.5,mg/kg,2,10,10\n"
        "P2,2025-01-06,IV,ketamine,0.5,mg/kg,1,20,30\n"
        "P2,2025-01-08,IV,ketamine,0.5,mg/kg,2,10,11\n"
    )
    load.import_export(con, path)
    row = by_route(metrics.response_remission(con, scale="madrs"), "iv", after_sessions=1)
    assert (row["n_remission_evaluable"], row["n_remission"], row["n_response"]) == (2, 1, 2)


def test_time_to_response(con):
    outcomes = metrics.course_outcomes(con).set_index("phq9_baseline")
    assert outcomes.loc[20, ["sessions_to_response", "days_to_response"]].tolist() == [2, 4]
    assert outcomes.loc[18, ["sessions_to_response", "days_to_response"]].tolist() == [3, 10]
    assert outcomes.loc[22, ["sessions_to_response", "days_to_response"]].tolist() == [1, 2]
    assert pd.isna(outcomes.loc[24, "sessions_to_response"]) and not outcomes.loc[24, "responded"]
    assert outcomes.loc[20, "phq9_percent_change"] == pytest.approx(-80.0)
    ttr = metrics.time_to_response(con)
    iv = by_route(ttr, "iv")
    assert (iv["n_courses"], iv["n_responders"]) == (3, 2)
    assert iv["median_sessions_among_responders"] == 1.5
    assert iv["median_days_among_responders"] == 3.0
    # Kaplan-Meier: at 1 session 1 of 3 responds (S = 2/3; one censored), at 2 the last one does.
    assert iv["km_median_sessions"] == 2.0


def test_pre_post_hedges_g_by_hand(con):
    # IV courses: baselines 20, 24, 22 (mean 22, SD 2); last scores 4, 20, 10 (mean 34/3).
    # J = 1 - 3 / (4 * 2 - 1) = 4/7; g = 4/7 * (22 - 34/3) / 2 = 64/21.
    # r = 32 / sqrt(8 * 392/3); var = 2 (1 - r) / 3 + g^2 / 6.
    g = 64 / 21
    r = 32 / math.sqrt(8 * 392 / 3)
    se = math.sqrt(2 * (1 - r) / 3 + g * g / 6)
    iv = by_route(metrics.pre_post_effect(con), "iv")
    assert iv["n"] == 3
    assert (iv["mean_pre"], iv["sd_pre"], iv["mean_post"]) == pytest.approx((22, 2, 34 / 3))
    assert iv["r"] == pytest.approx(r)
    assert iv["hedges_g"] == pytest.approx(g)
    assert iv["se"] == pytest.approx(se)
    assert (iv["ci_low"], iv["ci_high"]) == pytest.approx((g - 1.959964 * se, g + 1.959964 * se))
    nasal = by_route(metrics.pre_post_effect(con), "intranasal")
    assert nasal["n"] == 1 and math.isnan(nasal["hedges_g"])  # one course: no SD, no g
    after1 = by_route(metrics.pre_post_effect(con, after_sessions=1), "iv")
    assert after1["mean_post"] == pytest.approx((12 + 20 + 11) / 3)


def test_side_effect_rates_per_session(con):
    effects = metrics.side_effect_rates(con)
    nausea = by_route(effects, "intranasal", side_effect="nausea")
    assert (nausea["n_sessions_recorded"], nausea["n_sessions_with"]) == (3, 1)  # one blank
    dissociation = by_route(effects, "iv", side_effect="dissociation")
    assert (dissociation["n_sessions_with"], dissociation["rate"]) == (4, 0.5)
    assert (dissociation["ci_low"], dissociation["ci_high"]) == pytest.approx(
        metrics.wilson_interval(4, 8)
    )
    assert set(effects["side_effect"]) == {"dissociation", "nausea"}  # the others not recorded
    bp = by_route(metrics.blood_pressure(con), "intranasal")
    assert bp["mean_systolic_change"] == pytest.approx((15 + 12 + 10 + 10) / 4)


def test_phq9_trajectories(con):
    trajectories = metrics.phq9_trajectories(con)
    iv2 = by_route(trajectories, "iv", course_session_no=2)
    assert iv2["n_courses"] == 3 and iv2["mean_phq9"] == pytest.approx((12 + 20 + 11) / 3)
    iv1 = by_route(trajectories, "iv", course_session_no=1)
    half = 4.302653 * 2 / math.sqrt(3)  # t(0.975, 2) * SD / sqrt(n)
    assert (iv1["ci_low"], iv1["ci_high"]) == pytest.approx((22 - half, 22 + half), abs=1e-5)


def test_a_course_ends_after_a_gap_of_more_than_28_days(tmp_path):
    con = warehouse.connect(":memory:")
    load.import_export(con, small_export(tmp_path, [
        "P1,2025-01-01,IV,ketamine,0.5,mg/kg,1,20,",
        "P1,2025-01-29,IV,ketamine,0.5,mg/kg,2,15,",  # 28 days later: same course
        "P1,2025-02-27,IV,ketamine,0.5,mg/kg,3,14,",  # 29 days later: a new course
        "P1,2025-03-01,Intranasal,esketamine,56,mg,1,13,",  # another route: its own course
    ]))  # fmt: skip
    rows = con.execute(
        "SELECT route, course_no, course_session_no FROM marts.clinic_sessions "
        "ORDER BY session_date"
    ).fetchall()
    assert rows == [("iv", 1, 1), ("iv", 1, 2), ("iv", 2, 1), ("intranasal", 1, 1)]


def test_baselines_already_in_remission_or_at_zero_are_not_evaluable(tmp_path):
    con = warehouse.connect(":memory:")
    load.import_export(con, small_export(tmp_path, [
        "P1,2025-01-01,IV,ketamine,0.5,mg/kg,1,4,2",
        "P2,2025-01-01,IV,ketamine,0.5,mg/kg,1,0,0",
    ]))  # fmt: skip
    row = by_route(metrics.response_remission(con), "iv", after_sessions=1)
    assert (row["n_response_evaluable"], row["n_response"]) == (1, 1)
    assert row["n_remission_evaluable"] == 0 and pd.isna(row["remission_rate"])


def test_metrics_of_an_empty_warehouse_are_empty_frames():
    con = warehouse.connect(":memory:")
    assert metrics.clinic_counts(con).empty
    assert metrics.response_remission(con).empty
    assert metrics.time_to_response(con).empty and "km_median_sessions" in metrics.time_to_response(
        con
    )
    assert metrics.pre_post_effect(con).empty
    assert metrics.phq9_trajectories(con).empty


def test_suppress_small_counts_hides_counts_below_11_and_their_rates():
    frame = pd.DataFrame({
        "route": ["iv", "intranasal"], "after_sessions": [4, 4],
        "n_response_evaluable": [40, 9], "n_response": [22, 5],
        "response_rate": [0.55, 5 / 9], "response_ci_low": [0.4, 0.27],
        "synthetic": [False, False],
    })  # fmt: skip
    out = metrics.suppress_small_counts(frame, ["n_response_evaluable", "n_response"])
    assert out.loc[0].tolist() == ["iv", 4, 40, 22, 0.55, 0.4, False]
    assert out.loc[1].tolist() == ["intranasal", 4, "<11", "<11", "suppressed", "suppressed", False]
    assert frame.loc[1, "n_response"] == 5  # the input is not changed
    edge = pd.DataFrame({"n": [10, 11, 0], "rate": [0.1, 0.2, 0.0]})
    assert metrics.suppress_small_counts(edge, ["n"])["n"].tolist() == ["<11", 11, "<11"]
    custom = metrics.suppress_small_counts(edge, ["n"], threshold=5)
    assert custom["n"].tolist() == [10, 11, "<5"]


def test_suppress_small_counts_with_named_derived_columns():
    frame = pd.DataFrame(
        {"n_a": [50, 50], "rate_a": [0.1, 0.2], "n_b": [50, 3], "rate_b": [0.3, 0.4]}
    )
    out = metrics.suppress_small_counts(
        frame, ["n_a", "n_b"], derived={"n_a": ["rate_a"], "n_b": ["rate_b"]}
    )
    assert out.loc[1].tolist() == [50, 0.2, "<11", "suppressed"]
    assert out.loc[0].tolist() == [50, 0.1, 50, 0.3]
    with pytest.raises(KeyError):
        metrics.suppress_small_counts(frame, ["n_missing"])


# --- complementary suppression ------------------------------------------------------------


def counts_frame(iv: dict, intranasal: dict) -> pd.DataFrame:
    """A clinic_counts-shaped table with an 'all' row summing the two routes."""
    rows = [{"synthetic": False, "route": "intranasal", **intranasal},
            {"synthetic": False, "route": "iv", **iv},
            {"synthetic": False, "route": "all",
             **{k: iv[k] + intranasal[k] for k in iv}}]  # fmt: skip
    return pd.DataFrame(rows)


def shown_cells(out: pd.DataFrame, columns: list[str]) -> dict:
    return {(label, c): count_or_none(out.at[label, c]) for label in out.index for c in columns}


def route_sums(frame: pd.DataFrame, columns: list[str]) -> list:
    total = frame.index[frame["route"] == "all"][0]
    parts = list(frame.index[frame["route"] != "all"])
    return [((total, c), [(p, c) for p in parts]) for c in columns]


def test_the_19_13_6_case_no_longer_gives_away_the_intranasal_count():
    frame = counts_frame({"n_patients": 13, "n_sessions": 40}, {"n_patients": 6, "n_sessions": 12})
    out = metrics.suppress_small_counts(frame, ["n_patients", "n_sessions"])
    by_route = out.set_index("route")
    assert by_route.at["intranasal", "n_patients"] == "<11"
    assert by_route.at["iv", "n_patients"] == "suppressed"  # the next smallest, hidden too
    assert by_route.at["all", "n_patients"] == 19
    assert list(by_route["n_sessions"]) == [12, 40, 52]  # nothing small: all shown
    columns = ["n_patients", "n_sessions"]
    assert recovered(shown_cells(out, columns), route_sums(frame, columns)) == {}


def test_without_complementary_suppression_the_checker_finds_the_hidden_count():
    # the checker itself must be able to fail: the old output (All 19, IV 13) gives away 6
    frame = counts_frame({"n_patients": 13}, {"n_patients": 6})
    old = metrics.suppress_small_counts(frame, ["n_patients"], totals=[])
    found = recovered(shown_cells(old, ["n_patients"]), route_sums(frame, ["n_patients"]))
    assert found == {(0, "n_patients"): pytest.approx(6.0)}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 40), min_size=2, max_size=4),
    st.lists(st.integers(0, 40), min_size=2, max_size=4),
)
def test_no_hidden_count_can_be_worked_out_from_any_table(patients, sessions):
    n = min(len(patients), len(sessions))
    routes = [f"route{i}" for i in range(n)] + ["all"]
    frame = pd.DataFrame({
        "synthetic": False, "route": routes,
        "n_patients": patients[:n] + [sum(patients[:n])],
        "n_sessions": sessions[:n] + [sum(sessions[:n])],
    })  # fmt: skip
    columns = ["n_patients", "n_sessions"]
    out = metrics.suppress_small_counts(frame, columns)
    shown = shown_cells(out, columns)
    assert recovered(shown, route_sums(frame, columns)) == {}
    for cell, value in shown.items():  # shown counts are the true ones and never small
        assert value is None or (value == frame.at[cell] and value >= 11)
    for label, column in shown:  # everything small is hidden
        if frame.at[label, column] < 11:
            assert out.at[label, column] == "<11"
