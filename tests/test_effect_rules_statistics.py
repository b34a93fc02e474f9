"""The estimate pass (effect_rules.statistics): what it reads and what it leaves."""

from __future__ import annotations

from pipeline.extract.effects import extract_effects


def _read(sentence: str) -> list[tuple[str, float]]:
    return [(e.kind, e.value) for e in extract_effects(sentence)]


def test_a_range_after_a_named_statistic_is_not_an_estimate() -> None:
    # a range summarising several estimates (guide: ranges are not annotated)
    assert _read("Across the models the coefficients ranged widely (coef = -12.5 to -20.1).") == []
    assert _read("Odds ratios were similar in every stratum (OR 1.4 to 1.9).") == []


def test_a_named_statistic_without_a_range_is_still_read() -> None:
    # "to" followed by a word, not a number: no range
    assert ("odds_ratio", 1.8) in _read("The adjusted OR was 1.8 to the advantage of the drug.")


def test_cohens_d_with_a_subscript_is_a_cohens_d() -> None:
    sentence = "At day 7 the drug effect (d dr 7d = -2.40 [95% CI -3.1 to -1.7]) was large."
    assert _read(sentence) == [("cohens_d", -2.4)]
    assert _read("The effect was large (d av = 0.91).") == [("cohens_d", 0.91)]
    assert _read("The dose = 5 mg was given once.") == []  # a word, not d with a subscript


def test_hedges_g_with_an_apostrophe_before_the_s_and_effect_size_spellings() -> None:
    assert _read("Symptoms fell (Hedge's g = -0.52, 95% CI -0.80 to -0.24).") == [
        ("hedges_g", -0.52)
    ]
    assert _read("The mean improvement was large (p < 0.001, effect-size: 0.81).") == [
        ("smd", 0.81)
    ]
    assert _read("The drug was superior at week 4 (ES 0.41).") == [("smd", 0.41)]


def test_a_difference_with_a_bracketed_number_after_a_named_mean_difference() -> None:
    sentence = (
        "Improvement (least squares mean difference versus placebo) was larger with the drug "
        "(-2.8 [1.20], p = 0.01)."
    )
    assert _read(sentence) == [("mean_difference", -2.8)]


def test_a_named_statistic_with_its_outcome_named_before_the_verb() -> None:
    assert _read("The odds ratio for remission was 2.1 (P = 0.02).") == [("odds_ratio", 2.1)]
    assert _read("The mean difference in pain was -1.2 points (P = 0.01).") == [
        ("mean_difference", -1.2)
    ]
    # an unsigned number after "difference in ... was" is not a difference
    assert _read("The difference in the rates of relapse was 12 patients.") == []


def test_a_list_of_changes_each_named_before_its_value_with_its_sd() -> None:
    sentence = "Mean [SD] changes from baseline: phase A, -12.8 [9.7]; phase B, +1.1 [9.9]."
    assert [(e.kind, e.value) for e in extract_effects(sentence)] == [
        ("mean_change", -12.8),
        ("mean_change", 1.1),
    ]
    # an effect size named before does not start such a list
    sentence = "Scores fell more with the drug (ES 0.23; late group -3.1 [2.21], p = 0.002)."
    assert "mean_change" not in [e.kind for e in extract_effects(sentence) if e.value == -3.1]


def test_a_mean_difference_named_as_such_in_points_is_read_without_a_sign() -> None:
    sentence = "Against placebo, the mean difference was 2.05 points (p = 0.02)."
    assert [(e.kind, e.value, e.p) for e in extract_effects(sentence)] == [
        ("mean_difference", 2.05, 0.02)
    ]
    assert extract_effects("The difference of 3 points was not significant.") == []


def test_an_estimate_in_brackets_after_its_group_is_that_groups_value_not_a_difference() -> None:
    """ "shorter in the drug group (4.5 days, 95% CI ...) than in the placebo group (5.0 days,
    ...)": each bracket holds one group's value; neither is a mean difference."""
    sentence = (
        "Median stay was shorter in the drug group (4.5 days, 95% CI 4.0-5.0 days) than in the "
        "placebo group (5.0 days, 95% CI 4.6-5.4 days; p=0.033)."
    )
    assert [e for e in extract_effects(sentence) if e.kind == "mean_difference"] == []
    # a difference written after the groups is still read
    difference = "Stays differed between the groups (difference -0.5 days, 95% CI -0.9 to -0.1)."
    assert [(e.kind, e.value) for e in extract_effects(difference)] == [("mean_difference", -0.5)]
