"""Synthesis marts: trial outcomes from effects and trial facts, pooling, and the stored tables."""

from __future__ import annotations

import math
import shutil

import duckdb
import pandas as pd
import pytest

from pipeline import marts, synthesis, warehouse
from pipeline.errors import PipelineError
from pipeline.evidence.corrections import read_current_effects
from pipeline.extract import direction_in_words
from pipeline.marts import TrialFacts

EFFECT_KEYS = (
    "effect_id", "pmid", "kind", "value", "ci_low", "ci_high", "ci_level", "se", "arm",
    "timepoint", "scale", "label", "n_events", "n_total", "start", "end",
)  # fmt: skip


def effect(effect_id: str, pmid: str, kind: str, value: float, **extra) -> dict:
    row = dict.fromkeys(EFFECT_KEYS)
    row.update(effect_id=effect_id, pmid=pmid, kind=kind, value=value, start=0, end=1)
    row.update(extra)
    return row


TWO_ARM = TrialFacts(
    "1", "rct", ["esketamine"], ["intranasal"], ["placebo"],
    [{"label": "esketamine", "n": 25}, {"label": "placebo", "n": 24}], 49,
)  # fmt: skip
THREE_ARM = TrialFacts(
    "2", "rct", ["esketamine"], ["intranasal"], ["placebo"],
    [{"label": "esketamine 56 mg", "n": 86}, {"label": "esketamine 84 mg", "n": 95},
     {"label": "placebo", "n": 197}], 378,
)  # fmt: skip
ECT_TRIAL = TrialFacts(
    "3", "rct", ["ketamine"], ["iv"], ["ect"],
    [{"label": "ketamine", "n": 200}, {"label": "ECT", "n": 203}], 403,
)  # fmt: skip
FACTS = {"1": TWO_ARM, "2": THREE_ARM, "3": ECT_TRIAL}


def arm(arm_id: str, label: str, role: str, drug: str, n: int | None = None) -> dict:
    """A core.arms row as `read_arms` gives it."""
    return {"arm_id": arm_id, "pmid": arm_id.split(":")[0], "label": label, "role": role,
            "drug": drug, "dose_text": None, "n_randomized": n, "n_analysed": None}  # fmt: skip


# The study structure of the trials above (core.arms): what the marts read arms from.
ARMS = {
    row["arm_id"]: row
    for row in (
        arm("1:1", "esketamine", "intervention", "esketamine", 25),
        arm("1:2", "placebo", "placebo", "placebo", 24),
        arm("2:1", "esketamine 56 mg", "intervention", "esketamine", 86),
        arm("2:2", "esketamine 84 mg", "intervention", "esketamine", 95),
        arm("2:3", "placebo", "placebo", "placebo", 197),
        arm("3:1", "ketamine", "intervention", "ketamine", 200),
        arm("3:2", "ECT", "active", "ect", 203),
        arm("9:1", "ketamine", "intervention", "ketamine"),
        arm("9:2", "placebo", "placebo", "placebo"),
    )
}


def build(effects: list[dict], facts: dict | None = None) -> pd.DataFrame:
    return marts.build_trial_outcomes(
        pd.DataFrame(effects), FACTS if facts is None else facts, arms=ARMS
    )


def only(frame: pd.DataFrame, **where) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == value
    assert mask.sum() == 1, frame.loc[mask]
    return frame[mask].iloc[0]


def test_arm_rates_pair_into_a_log_risk_ratio_with_unrounded_events():
    frame = build([
        effect("a", "1", "response_rate", 64.0, arm_id="1:1", timepoint="24 hours"),
        effect("b", "1", "response_rate", 25.0, arm_id="1:2", timepoint="24 hours"),
    ])  # fmt: skip
    row = only(frame, measure="log_rr")
    expected = synthesis.log_risk_ratio(16.0, 25, 6.0, 24)
    assert (row.yi, row.vi) == pytest.approx((expected.yi, expected.vi))
    assert (row.events_1, row.n_1, row.events_2, row.n_2) == (16.0, 25.0, 6.0, 24.0)
    assert row.effect_ids == ["a", "b"]
    assert row.comparison == "esketamine vs placebo"
    assert row.comparator_class == "placebo"
    assert (row.outcome, row.timepoint_window, row.timepoint_days) == ("response", "~24 hours", 1.0)
    assert (row.drug, row.route, row.design) == ("esketamine", "intranasal", "rct")


def test_counts_in_the_effect_win_over_the_arm_n():
    frame = build([
        effect("a", "1", "remission_rate", 30.0, arm_id="1:1", n_events=9, n_total=30),
        effect("b", "1", "remission_rate", 10.0, arm_id="1:2", n_events=3, n_total=30),
    ])  # fmt: skip
    row = only(frame, measure="log_rr")
    assert row.yi == pytest.approx(math.log(3.0))
    assert (row.n_1, row.n_2) == (30.0, 30.0)


def test_rates_that_cannot_be_paired_are_listed_with_the_reason():
    frame = build([
        effect("a", "1", "response_rate", 64.0, arm_id="1:1", timepoint="24 hours"),
        effect("b", "1", "response_rate", 40.0, arm="esketamine", timepoint="day 28"),
        effect("c", "9", "response_rate", 50.0, arm_id="9:1", timepoint="day 1"),
        effect("d", "9", "response_rate", 20.0, arm_id="9:2", timepoint="day 1"),
    ])  # fmt: skip
    reasons = dict(zip(frame["effect_ids"].map(tuple), frame["reason"], strict=True))
    assert reasons[("a",)] == "no comparator arm's rate at this timepoint"
    # the rules' words name a drug, but no arm id says which arm: not paired, not guessed
    assert reasons[("b",)] == "rate not attributed to one arm (arm not stated)"
    assert reasons[("c", "d")].startswith("n per arm not stated")
    assert frame["yi"].isna().all()


def test_mean_difference_gives_md_and_hedges_g_when_n_per_arm_is_known():
    frame = build([
        effect("a", "2", "mean_difference", -5.1, ci_low=-7.91, ci_high=-2.33, scale="MADRS",
               arm_id="2:1", comparator_arm_id="2:3", timepoint="day 28"),
    ])  # fmt: skip
    md = only(frame, measure="md")
    assert md.yi == -5.1
    assert md.vi == pytest.approx(synthesis.variance_from_ci(-7.91, -2.33, df=86 + 197 - 2))
    smd = only(frame, measure="smd")
    g = synthesis.hedges_g_from_mean_difference(-5.1, -7.91, -2.33, 86, 197)
    assert smd.yi == pytest.approx(g.yi)
    assert (smd.n_1, smd.n_2) == (86.0, 197.0)
    assert md.effect_ids == smd.effect_ids == ["a"]
    assert (md.outcome, md.timepoint_window, md.scale) == ("scale_change", "~day 28", "MADRS")


def test_mean_difference_without_a_ci_or_n_per_arm_says_why():
    frame = build([
        effect("a", "2", "mean_difference", -4.0, arm_id="2:1", comparator_arm_id="2:3"),
        effect("b", "8", "mean_difference", -3.0, ci_low=-5.0, ci_high=-1.0),
    ])  # fmt: skip
    assert only(frame, pmid="2").reason == "no confidence interval or SE"
    assert only(frame, pmid="8", measure="md").notes == "SE from the CI with the normal quantile"
    assert only(frame, pmid="8", measure="smd").reason.startswith("n per arm not stated")


def test_ratios_need_a_ci_and_take_the_outcome_from_the_label():
    frame = build([
        effect("a", "1", "hazard_ratio", 0.49, ci_low=0.29, ci_high=0.84, label="relapse",
               arm="esketamine vs placebo"),
        effect("b", "1", "odds_ratio", 2.2),
        effect("c", "1", "risk_ratio", 2.0, ci_low=2.5, ci_high=3.0),
    ])  # fmt: skip
    hr = only(frame, measure="log_hr")
    assert (hr.outcome, hr.yi) == ("relapse", pytest.approx(math.log(0.49)))
    assert only(frame, measure="log_or").reason == "no confidence interval reported"
    assert "outside its CI" in only(frame, measure="log_rr").reason


def test_every_effect_appears_in_some_row():
    effects = [
        effect("a", "1", "nnt", 6.0),
        effect("b", "1", "mean_change", -20.0, arm="esketamine"),
        effect("c", "1", "other", 12.0, label="nausea", arm="esketamine"),
        effect("d", "1", "smd", 0.48, arm_id="1:1", comparator_arm_id="1:2"),
        effect("e", "1", "percent_change", -45.0),
    ]
    frame = build(effects)
    assert marts.effect_ids_covered(frame) == {e["effect_id"] for e in effects}
    assert only(frame, measure="smd_reported").yi == 0.48
    assert only(frame, measure="nnt").reason.startswith("number needed to treat")
    assert only(frame, measure="other").outcome == "other"
    assert frame["outcome_id"].is_unique


def test_comparator_classes_keep_pools_apart():
    frame = build([
        effect("a", "3", "odds_ratio", 1.2, ci_low=0.8, ci_high=1.9, arm_id="3:1",
               comparator_arm_id="3:2"),
        effect("b", "2", "mean_difference", -2.0, ci_low=-4.0, ci_high=0.0, arm_id="2:2",
               comparator_arm_id="2:1"),
        effect("c", "1", "odds_ratio", 2.0, ci_low=1.1, ci_high=3.5, arm_id="1:1",
               comparator_arm_id="1:2"),
    ])  # fmt: skip
    classes = dict(zip(frame["pmid"], frame["comparator_class"], strict=False))
    assert classes == {"3": "active", "2": "dose", "1": "placebo"}
    assert only(frame, pmid="2", measure="md").comparison == "esketamine 84 mg vs esketamine 56 mg"
    assert marts.comparator_class(TWO_ARM) == "placebo"
    assert marts.comparator_class(ECT_TRIAL) == "active"
    assert marts.comparator_class(None) == "unspecified"


def test_arms_and_n_come_from_the_arm_ids_never_from_the_arm_words():
    """Words that misname the arms ("antidepressant vs antidepressant/placebo") are not read:
    the comparison, n per arm and comparator class are those of the arms the ids point at; an
    effect whose words name two arms but has no arm ids gets no n per arm."""
    frame = build([
        effect("a", "2", "mean_difference", -5.1, ci_low=-7.91, ci_high=-2.33, scale="MADRS",
               arm="antidepressant vs antidepressant/placebo", arm_id="2:2",
               comparator_arm_id="2:3"),
        effect("b", "2", "mean_difference", -4.0, ci_low=-7.0, ci_high=-1.0, scale="MADRS",
               arm="esketamine 56 mg vs placebo"),
    ])  # fmt: skip
    rows = frame[frame["effect_ids"].map(tuple) == ("a",)]
    smd = rows[rows["measure"] == "smd"].iloc[0]
    assert smd.comparison == "esketamine 84 mg vs placebo"
    assert (smd.n_1, smd.n_2) == (95.0, 197.0)
    unnamed = frame[frame["effect_ids"].map(tuple) == ("b",)]
    assert unnamed["comparison"].isna().all()
    assert unnamed[unnamed["measure"] == "smd"].iloc[0].reason.startswith("n per arm not stated")


@pytest.mark.parametrize(
    ("text", "days"),
    [("24 hours", 1.0), ("day 28", 28.0), ("week 4", 28.0), ("4 weeks", 28.0),
     ("2-h post-dose", 2 / 24), ("40 minutes", 40 / 1440), ("day 1 to week 4", 28.0),
     ("12 months", 365.25), ("end of treatment", None), (None, None)],
)  # fmt: skip
def test_timepoint_days(text, days):
    assert marts.timepoint_days(text) == (pytest.approx(days) if days is not None else None)


def test_timepoint_windows():
    assert marts.timepoint_window(1.0) == "~24 hours"
    assert marts.timepoint_window(28.0) == "~day 28"
    assert marts.timepoint_window(0.1) == "< 12 hours"
    assert marts.timepoint_window(None) == "unspecified"


def test_pooling_keeps_one_comparison_per_trial_and_only_randomised_trials():
    effects = [
        effect("a", "2", "mean_difference", -5.1, ci_low=-7.91, ci_high=-2.33, scale="MADRS",
               arm_id="2:1", comparator_arm_id="2:3", timepoint="day 28"),
        effect("b", "2", "mean_difference", -6.8, ci_low=-9.48, ci_high=-4.07, scale="MADRS",
               arm_id="2:2", comparator_arm_id="2:3", timepoint="day 28"),
        effect("c", "1", "mean_difference", -4.0, ci_low=-7.3, ci_high=-0.7, scale="MADRS",
               arm_id="1:1", comparator_arm_id="1:2", timepoint="week 4"),
        effect("d", "7", "mean_difference", -9.0, ci_low=-12.0, ci_high=-6.0, scale="MADRS",
               timepoint="day 28"),
    ]  # fmt: skip
    facts = {**FACTS, "7": TrialFacts("7", "open_label", ["esketamine"], ["intranasal"])}
    frame = build(effects, facts)
    pooled = marts.pooled_estimates(frame)
    md = only(pooled, measure="md")
    assert md.k == 2 and sorted(md.pmids) == ["1", "2"]
    direct = synthesis.random_effects([-5.1, -4.0], [
        only(frame, pmid="2", measure="md", comparison="esketamine 56 mg vs placebo").vi,
        only(frame, pmid="1", measure="md").vi,
    ])  # fmt: skip
    assert md.estimate == pytest.approx(direct.estimate)
    assert (md.scale, md.comparator_class, md.timepoint_window) == ("MADRS", "placebo", "~day 28")
    assert math.isnan(md.estimate_exp)


def test_pooled_ratios_are_back_transformed():
    effects = [
        effect(f"e{i}", pmid, "risk_ratio", rr, ci_low=lo, ci_high=hi, label="response",
               arm_id=f"{pmid}:1", comparator_arm_id=f"{pmid}:{3 if pmid == '2' else 2}",
               timepoint="24 hours")
        for i, (pmid, rr, lo, hi) in enumerate([("1", 2.0, 1.2, 3.3), ("2", 1.5, 1.0, 2.25)])
    ]  # fmt: skip
    pooled = marts.pooled_estimates(build(effects))
    row = only(pooled, measure="log_rr")
    assert row.estimate_exp == pytest.approx(math.exp(row.estimate))
    assert row.k == 2 and math.isnan(row.pi_low)


def test_pooled_arm_rates_use_named_drug_arms_with_n_only():
    effects = pd.DataFrame([
        effect("a", "1", "response_rate", 64.0, arm_id="1:1", timepoint="day 28"),
        effect("b", "1", "response_rate", 25.0, arm_id="1:2", timepoint="day 28"),
        effect("c", "2", "response_rate", 50.0, arm_id="2:1", timepoint="day 28"),
        effect("d", "2", "response_rate", 40.0, arm="esketamine", timepoint="day 28", n_total=100),
    ])  # fmt: skip
    rates = marts.arm_rates(effects, FACTS, ARMS)
    assert list(rates["arm_role"]) == ["drug", "comparator", "drug", "not named"]
    assert rates.loc[0, "n"] == 25 and rates.loc[0, "events"] == 16
    assert rates.loc[0, "ci_low"] < 0.64 < rates.loc[0, "ci_high"]
    pooled = marts.pooled_arm_rates(rates)
    row = only(pooled, outcome="response")
    assert row.k == 2 and sorted(row.pmids) == ["1", "2"]
    logits = [synthesis.logit_proportion(16, 25), synthesis.logit_proportion(43, 86)]
    fit = synthesis.random_effects([x.yi for x in logits], [x.vi for x in logits])
    assert row.rate == pytest.approx(synthesis.inverse_logit(fit.estimate))


# --- against a real ingested warehouse ------------------------------------------------------


@pytest.fixture
def warehouse_copy(ingested_warehouse, tmp_path):
    target = tmp_path / "evidence.duckdb"
    shutil.copy(ingested_warehouse, target)
    return target


def test_trial_outcomes_cover_every_extracted_effect(ingested_warehouse):
    con = duckdb.connect(str(ingested_warehouse), read_only=True)
    try:
        outcomes = marts.trial_outcomes(con)
        ids = {r[0] for r in con.execute("SELECT effect_id FROM core.effects").fetchall()}
        pmids = {r[0] for r in con.execute("SELECT pmid FROM core.articles").fetchall()}
    finally:
        con.close()
    assert ids, "the ingested warehouse has no extracted effects"
    assert marts.effect_ids_covered(outcomes) == ids
    assert set(outcomes["pmid"]) <= pmids
    computed = outcomes[outcomes["yi"].notna()]
    assert (computed["vi"] > 0).all()
    assert outcomes.loc[outcomes["yi"].isna(), "reason"].notna().all()


def test_outcome_ids_are_those_of_the_rows_as_the_frame_holds_them(ingested_warehouse):
    con = duckdb.connect(str(ingested_warehouse), read_only=True)
    try:
        outcomes = marts.trial_outcomes(con)
    finally:
        con.close()
    built = outcomes[outcomes["source"] == "abstract"]
    assert len(built)
    # read back from the frame: a missing field as NaN, the way pandas holds it
    assert list(built["outcome_id"]) == [marts._outcome_id(r) for r in marts._records(built)]


def test_refresh_writes_both_tables_and_is_idempotent(warehouse_copy):
    con = warehouse.connect(warehouse_copy)
    try:
        first = marts.refresh_trial_outcomes(con)
        second = marts.refresh_trial_outcomes(con)
        stored = con.execute(
            "SELECT count(*), count(DISTINCT outcome_id) FROM marts.trial_outcomes"
        )
        n_rows, n_ids = stored.fetchone()
        n_pooled = con.execute("SELECT count(*) FROM marts.pooled_estimates").fetchone()[0]
        missing = con.execute(
            "SELECT count(*) FROM core.effects WHERE effect_id NOT IN "
            "(SELECT unnest(effect_ids) FROM marts.trial_outcomes)"
        ).fetchone()[0]
    finally:
        con.close()
    assert first == second == (n_rows, n_pooled)
    assert n_rows == n_ids > 0
    assert missing == 0


def test_a_refresh_that_writes_an_outcome_id_twice_fails_and_changes_nothing(
    warehouse_copy, monkeypatch
):
    original = marts.trial_outcomes

    def doubled(*args, **kwargs) -> pd.DataFrame:
        frame = original(*args, **kwargs)
        return pd.concat([frame, frame.head(1)], ignore_index=True)

    con = warehouse.connect(warehouse_copy)
    try:
        marts.refresh_trial_outcomes(con)
        before = con.execute("SELECT count(*), max(refreshed_at) FROM marts.trial_outcomes")
        before = before.fetchone()
        monkeypatch.setattr(marts, "trial_outcomes", doubled)
        with pytest.raises(
            PipelineError, match=r"outcome ids written twice: \w+ \(PMID \d+, 2 rows"
        ):
            marts.refresh_trial_outcomes(con)
        after = con.execute("SELECT count(*), max(refreshed_at) FROM marts.trial_outcomes")
        after = after.fetchone()
        staging = _staging_tables(con)
    finally:
        con.close()
    assert before == after
    assert before[0] > 0
    assert staging == []


def test_a_failed_refresh_leaves_the_tables_as_they_were(warehouse_copy, monkeypatch):
    original = marts.pooled_estimates

    def broken(*args, **kwargs) -> pd.DataFrame:
        frame = original(*args, **kwargs)
        if frame.empty:
            frame = pd.DataFrame([dict.fromkeys(frame.columns)])
        return frame.assign(k=None)  # k is NOT NULL: the insert fails inside the transaction

    con = warehouse.connect(warehouse_copy)
    try:
        marts.refresh_trial_outcomes(con)
        before = con.execute(
            "SELECT count(*), max(refreshed_at) FROM marts.trial_outcomes"
        ).fetchone()
        monkeypatch.setattr(marts, "pooled_estimates", broken)
        with pytest.raises(duckdb.Error):
            marts.refresh_trial_outcomes(con)
        after = con.execute(
            "SELECT count(*), max(refreshed_at) FROM marts.trial_outcomes"
        ).fetchone()
        staging = _staging_tables(con)
    finally:
        con.close()
    assert before == after
    assert before[0] > 0
    assert staging == []


def _staging_tables(con) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' "
            "AND table_name = 'trial_outcomes_next'"
        ).fetchall()
    ]


def test_a_refresh_from_scratch_swaps_in_a_table_with_the_same_columns_and_constraints(
    warehouse_copy,
):
    """The staging table is made from marts.trial_outcomes's own statement, so the table swapped
    in is the same table: the schema dump is unchanged and NOT NULL still holds."""
    con = warehouse.connect(warehouse_copy)
    try:
        schema_before = warehouse.dump_schema(con)
        marts.refresh_trial_outcomes(con)
        schema_after = warehouse.dump_schema(con)
        with pytest.raises(duckdb.ConstraintException, match="outcome_id"):
            con.execute("INSERT INTO marts.trial_outcomes (outcome_id) VALUES (NULL)")
    finally:
        con.close()
    assert schema_after == schema_before


def test_a_failed_refresh_raises_its_own_error_when_the_staging_table_cannot_be_dropped(
    warehouse_copy, monkeypatch
):
    """A connection DuckDB has invalidated cannot drop the staging table: the refresh's own error
    is raised, not the clean-up's, and the next refresh drops the table."""
    drops = []
    drop = marts._drop_staging_table

    def failing_drop(con) -> None:
        drops.append(con)
        if len(drops) > 1:  # the clean-up after the failure
            raise duckdb.FatalException("database has been invalidated")
        drop(con)

    def failing(*args, **kwargs) -> pd.DataFrame:
        raise PipelineError("the chunk failed")

    con = warehouse.connect(warehouse_copy)
    try:
        monkeypatch.setattr(marts, "_drop_staging_table", failing_drop)
        monkeypatch.setattr(marts, "trial_outcomes", failing)
        with pytest.raises(PipelineError, match="the chunk failed"):
            marts.refresh_trial_outcomes(con)
        left = _staging_tables(con)
        monkeypatch.undo()
        marts.refresh_trial_outcomes(con)
        staging = _staging_tables(con)
    finally:
        con.close()
    assert len(drops) == 2
    assert left == ["trial_outcomes_next"]
    assert staging == []


def test_a_staging_table_left_by_a_killed_refresh_is_replaced(warehouse_copy):
    con = warehouse.connect(warehouse_copy)
    try:
        marts.refresh_trial_outcomes(con)
        expected = _marts_rows(con)
        con.execute(
            f"CREATE TABLE {marts.STAGING_TABLE} AS SELECT * FROM marts.trial_outcomes LIMIT 5"
        )
        marts.refresh_trial_outcomes(con)
        rows = _marts_rows(con)
        staging = _staging_tables(con)
    finally:
        con.close()
    assert rows == expected
    assert staging == []


def test_a_difference_whose_direction_is_in_words_is_kept_out_of_pooling():
    sentence = (
        "After adjustment, the MADRS score was lower in the ketamine group than in the "
        "midazolam group by 7.95 points (95% confidence interval [CI], 3.20 to 12.71)."
    )
    start = sentence.index("7.95")
    worded = effect(
        "a", "3", "mean_difference", 7.95, ci_low=3.20, ci_high=12.71, scale="MADRS",
        sentence=sentence, sentence_start=100, start=100 + start, end=100 + start + 4,
    )  # fmt: skip
    signed = effect(
        "b", "2", "mean_difference", -5.1, ci_low=-7.91, ci_high=-2.33, scale="MADRS",
        sentence="The LS mean difference was -5.1 (95% CI, -7.91 to -2.33).", sentence_start=0,
        start=31, end=35,
    )  # fmt: skip
    assert (
        direction_in_words(worded) == "lower in the ketamine group than in the midazolam group by"
    )
    assert direction_in_words(signed) is None
    frame = build([worded, signed])
    row = only(frame, pmid="3")
    assert math.isnan(row.yi) and "direction stated in words" in row.reason
    assert only(frame, pmid="2", measure="md").yi == -5.1


def test_arm_roles_and_comparator_class_come_from_the_study_structure():
    """An arm the words alone would misread ("active control": no drug named, not placebo
    words) is what core.arms says it is; its n comes from the arm when the rate gives none."""
    arms = {
        "9:1": {"arm_id": "9:1", "label": "esketamine 56 mg", "role": "intervention",
                "n_randomized": 40, "n_analysed": None},
        "9:2": {"arm_id": "9:2", "label": "active control", "role": "active",
                "n_randomized": 38, "n_analysed": None},
    }  # fmt: skip
    facts = {"9": TrialFacts("9", "rct", ["esketamine"], ["intranasal"], ["other"], [], 78)}
    effects = [
        effect("a", "9", "response_rate", 50.0, arm="esketamine", arm_id="9:1",
               timepoint="day 28", timepoint_days=28.0),
        effect("b", "9", "response_rate", 25.0, arm="active control", arm_id="9:2",
               timepoint="day 28", timepoint_days=28.0),
        effect("c", "9", "odds_ratio", 3.0, ci_low=1.2, ci_high=7.5, arm="esketamine vs control",
               arm_id="9:1", comparator_arm_id="9:2"),
    ]  # fmt: skip
    rates = marts.arm_rates(pd.DataFrame(effects), facts, arms)
    assert list(rates["arm_role"]) == ["drug", "comparator"]
    assert list(rates["n"]) == [40, 38]
    assert list(rates["arm"]) == ["esketamine 56 mg", "active control"]
    frame = marts.build_trial_outcomes(pd.DataFrame(effects), facts, arms=arms)
    assert set(frame["comparator_class"]) == {"active"}


# --- the incremental refresh after an ingest -----------------------------------------------------


def _marts_rows(con) -> tuple[list, list]:
    outcomes = con.execute(
        f"SELECT {', '.join(marts.TRIAL_OUTCOME_COLUMNS)} FROM marts.trial_outcomes "
        "ORDER BY outcome_id"
    ).fetchall()
    pooled = con.execute(
        f"SELECT {', '.join(marts.POOLED_COLUMNS)} FROM marts.pooled_estimates ORDER BY ALL"
    ).fetchall()
    return outcomes, pooled


def test_the_incremental_refresh_gives_the_rows_of_a_refresh_from_scratch(warehouse_copy):
    con = warehouse.connect(warehouse_copy)
    try:
        con.execute("DELETE FROM marts.refresh_state")
        first = marts.refresh_touched(con)  # never refreshed: from scratch
        assert first.full
        before = _marts_rows(con)
        nothing = marts.refresh_touched(con)
        assert not nothing.full
        assert _marts_rows(con) == before
        # One trial's effects change (a new extraction), another trial's facts disappear.
        changed, gone = con.execute(
            "SELECT pmid FROM marts.trial_outcomes WHERE source = 'abstract' AND yi IS NOT NULL "
            "AND design IN ('rct', 'crossover_rct') GROUP BY pmid ORDER BY pmid LIMIT 2"
        ).fetchall()
        con.execute(
            "DELETE FROM core.effects WHERE effect_id = (SELECT min(effect_id) FROM core.effects "
            "WHERE pmid = ?)",
            [changed[0]],
        )
        con.execute(
            "UPDATE core.trial_facts SET extracted_at = now()::TIMESTAMP + INTERVAL 1 MINUTE "
            "WHERE pmid = ?",
            [changed[0]],
        )
        con.execute("DELETE FROM core.effects WHERE pmid = ?", [gone[0]])
        con.execute("DELETE FROM core.trial_facts WHERE pmid = ?", [gone[0]])
        refresh = marts.refresh_touched(con)
        incremental = _marts_rows(con)
        assert not refresh.full and refresh.n_touched < 100
        marts.refresh_trial_outcomes(con)
        from_scratch = _marts_rows(con)
    finally:
        con.close()
    assert incremental != before
    assert incremental == from_scratch


def test_a_refresh_that_touches_every_trial_is_one_from_scratch(warehouse_copy):
    """After a new extractor version every trial is touched: the refresh is then the one from
    scratch (staged, a chunk per commit), with the same rows."""
    con = warehouse.connect(warehouse_copy)
    try:
        marts.refresh_trial_outcomes(con)
        expected = _marts_rows(con)
        con.execute("UPDATE core.trial_facts SET extracted_at = now()::TIMESTAMP + INTERVAL 1 DAY")
        refresh = marts.refresh_touched(con)
        rows = _marts_rows(con)
    finally:
        con.close()
    assert refresh.full
    assert rows == expected


def test_a_refresh_in_chunks_of_trials_gives_the_rows_of_one_pass(warehouse_copy, monkeypatch):
    """Trial rows are computed and written a chunk of trials at a time (memory bounded by the
    chunk); any chunk size gives the same tables, registry rows included."""
    con = warehouse.connect(warehouse_copy)
    try:
        marts.refresh_trial_outcomes(con)
        whole = _marts_rows(con)
        chunks = list(marts._pmid_chunks(con, None))
        monkeypatch.setattr(marts, "REFRESH_CHUNK_PMIDS", 3)
        marts.refresh_trial_outcomes(con)
        in_threes = _marts_rows(con)
        small = list(marts._pmid_chunks(con, None))
        registry_rows = con.execute(
            "SELECT count(*) FROM marts.trial_outcomes WHERE source = 'registry'"
        ).fetchone()[0]
    finally:
        con.close()
    assert len(small) > len(chunks) and all(len(c) <= 3 for c in small[1:])
    assert registry_rows > 0
    assert in_threes == whole


def test_a_refresh_reads_only_the_arms_its_effects_refer_to(warehouse_copy):
    con = warehouse.connect(warehouse_copy, read_only=True)
    try:
        every_arm = marts.arms_by_id(con)
        pmid = con.execute(
            "SELECT pmid FROM core.effects WHERE comparator_arm_id IS NOT NULL LIMIT 1"
        ).fetchone()[0]
        effects = read_current_effects(con, [pmid])
        arms = marts.arms_of_effects(con, effects)
    finally:
        con.close()
    referred = set(effects["arm_id"].dropna()) | set(effects["comparator_arm_id"].dropna())
    assert arms.keys() == referred and len(every_arm) > len(arms)

    def same(row: dict) -> dict:  # a column read for a few arms may hold None where NaN was
        return {k: None if v is None or (isinstance(v, float) and math.isnan(v)) else v
                for k, v in row.items()}  # fmt: skip

    assert all(same(every_arm[arm_id]) == same(row) for arm_id, row in arms.items())


def test_re_fitting_pools_reads_the_stored_rows_of_those_pools_only(warehouse_copy):
    con = warehouse.connect(warehouse_copy)
    try:
        marts.refresh_trial_outcomes(con)
        stored = marts._stored_outcomes(con)
        usable = marts.poolable(stored)
        key = marts._key_tuples(usable)[0]
        rows = marts._stored_outcomes_in_pools(con, {key})
    finally:
        con.close()
    assert 0 < len(rows) < len(stored)
    in_pool = [k == key for k in marts._key_tuples(marts.poolable(rows))]
    expected = [k == key for k in marts._key_tuples(usable)]
    assert sum(in_pool) == sum(expected) > 0


def _boxed_one_by_one(frame: pd.DataFrame) -> list[dict]:
    """Each element as iterating its column gives it, numpy scalars made Python ones (what
    `marts._records` read before it converted Arrow columns in one call), with its type."""
    from pandas.core.dtypes.cast import maybe_box_native

    columns = [[maybe_box_native(v) for v in frame[c]] for c in frame.columns]
    return [
        {c: (type(v), repr(v)) for c, v in zip(frame.columns, row, strict=True)}
        for row in zip(*columns, strict=True)
    ]


def test_records_give_the_values_and_types_read_one_element_at_a_time():
    import pyarrow as pa

    frame = pd.DataFrame(
        {
            "text": pd.Series(["a", None, "ç"], dtype="str"),
            "arrow_text": pd.Series(["x", None, "z"], dtype=pd.ArrowDtype(pa.string())),
            "arrow_int": pd.Series([1, None, 3], dtype=pd.ArrowDtype(pa.int32())),
            "arrow_float": pd.Series([1.5, None, float("nan")], dtype=pd.ArrowDtype(pa.float64())),
            "arrow_bool": pd.Series([True, None, False], dtype=pd.ArrowDtype(pa.bool_())),
            "arrow_list": pd.Series([["a"], None, []], dtype=pd.ArrowDtype(pa.list_(pa.string()))),
            "masked_int": pd.Series([1, None, 3], dtype="Int32"),
            "float": [0.5, float("nan"), 2.0],
            "objects": [["a", "b"], None, {"k": 1}],
        }
    )
    got = marts._records(frame)
    assert [list(r) for r in got] == [list(frame.columns)] * 3
    assert [{k: (type(v), repr(v)) for k, v in r.items()} for r in got] == _boxed_one_by_one(frame)


def test_the_registry_rows_go_to_the_articles_whole_facts_and_labels_choose(ingested_warehouse):
    """RegistryChoice reads each linked trial's design and year alone; the articles it picks
    are those the whole trial facts and study labels pick."""
    con = duckdb.connect(str(ingested_warehouse), read_only=True)
    try:
        linked = sorted(marts._registry_linked(con))
        whole = marts.primary_publications(
            con, marts.read_trial_facts(con, linked), marts.study_labels(con, linked)
        )
        assert whole  # the bundled snapshot has registry studies with a primary article
        assert marts.RegistryChoice.of(con).publications == whole
    finally:
        con.close()


def test_the_literature_overview_counts_each_articles_effects(ingested_warehouse):
    con = warehouse.connect(ingested_warehouse, read_only=True)
    try:
        overview = marts.literature_overview(con)
        stored = dict(
            con.execute("SELECT pmid, count(*) FROM core.effects GROUP BY pmid").fetchall()
        )
        n_articles = con.execute("SELECT count(*) FROM core.articles").fetchone()[0]
    finally:
        con.close()
    assert len(overview) == n_articles
    assert overview["n_effects"].dtype.kind == "i"
    counted = dict(zip(overview["pmid"], overview["n_effects"], strict=True))
    assert {p: n for p, n in counted.items() if n} == stored
    assert 0 in counted.values()  # an article without effects counts 0
