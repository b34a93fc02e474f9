"""Differences and changes (pipeline.extract.effect_rules.differences)."""

from __future__ import annotations

from pipeline.extract.effects import extract_effects


def test_a_list_of_signed_changes_each_with_its_own_p() -> None:
    sentence = (
        "Mean changes from baseline in the three scores were -8.2 (p < 0.001), -3.0 (p = 0.04), "
        "and +2.5 points (p = 0.21)."
    )
    assert [(e.rule, e.kind, e.value, e.p) for e in extract_effects(sentence)] == [
        ("signed_list", "mean_change", -8.2, 0.001),
        ("statistic_list", "mean_change", -3.0, 0.04),
        ("statistic_list", "mean_change", 2.5, 0.21),
    ]


def test_a_list_of_signed_changes_without_p_is_still_read() -> None:
    sentence = "Mean changes from baseline were -12.1, -10.4 and -6.3."
    assert [e.value for e in extract_effects(sentence)] == [-12.1, -10.4, -6.3]


def test_levels_before_and_after_a_change_are_two_effects_labelled_with_what_changed() -> None:
    sentence = "The programme was projected to raise adherence from 48.0% to 61.5% of doses taken."
    effects = extract_effects(sentence)
    assert [(e.rule, e.kind, e.value, e.label) for e in effects] == [
        ("level_before_after", "other", 48.0, "adherence"),
        ("level_before_after", "other", 61.5, "adherence"),
    ]


def test_a_level_before_a_change_over_time_is_the_baseline_not_an_effect() -> None:
    sentence = (
        "Pain scores fell from 7 to 3 (P<0.001), and platelet counts rose from 150 to "
        "210/uL (P=0.02)."
    )
    assert [(e.value, e.p) for e in extract_effects(sentence)] == [(3.0, 0.001), (210.0, 0.02)]
    # what a treatment changed, named after the verb, compares two levels: both are effects
    sentence = "The programme raised adherence from 48.0% to 61.5% of doses taken."
    assert [e.value for e in extract_effects(sentence)] == [48.0, 61.5]


def test_a_share_after_a_change_is_its_level() -> None:
    sentence = "The proportion of patients using rescue medication fell to 18% (P = 0.01)."
    assert [(e.value, e.p) for e in extract_effects(sentence)] == [(18.0, 0.01)]


def test_ranges_and_dose_changes_are_not_levels() -> None:
    assert extract_effects("Ages ranged from 29.1 to 41.2 in the cohorts.") == []
    assert extract_effects("The dose was increased from 28 to 84 mg.") == []
    assert extract_effects("Follow-up was extended from 2 to 4 weeks.") == []


def test_a_mean_improvement_named_before_its_percent_is_a_relative_change() -> None:
    sentence = "The mean improvement of pain scores was 27 % (p = 0.002)."
    assert [(e.kind, e.value, e.label) for e in extract_effects(sentence)] == [
        ("percent_change", 27.0, "improvement of pain scores")
    ]


def test_a_level_change_takes_its_subject_and_a_named_rate_keeps_its_kind() -> None:
    effects = extract_effects("Fatigue scores decreased from 28.4 to 12.1 with the drug.")
    assert [(e.value, e.label) for e in effects] == [(12.1, "Fatigue scores")]
    effects = extract_effects("The remission rate increased from 30% to 45% (p = 0.02).")
    assert [(e.kind, e.value) for e in effects] == [
        ("remission_rate", 30.0),
        ("remission_rate", 45.0),
    ]
    effects = extract_effects("It raised time in remission from 20.5% to 26.0% of life-years.")
    assert [e.kind for e in effects] == ["other", "other"]


def test_changes_in_points_per_arm_are_two_mean_changes() -> None:
    sentence = "Sleep quality improved by 6.4 points with the drug versus 2.2 points with placebo."
    assert [(e.rule, e.kind, e.value) for e in extract_effects(sentence)] == [
        ("changes_by_points", "mean_change", 6.4),
        ("changes_by_points", "mean_change", 2.2),
    ]
    # one change alone, or a difference between the groups, is not this rule's
    sentence = "Scores were lower with the drug than with placebo by 3.1 points."
    assert "changes_by_points" not in {e.rule for e in extract_effects(sentence)}


def test_a_difference_in_percentage_points_without_an_interval_is_other() -> None:
    effects = extract_effects("Remission rates differed by 6.5 pp between the arms.")
    assert [(e.rule, e.kind, e.value, e.label) for e in effects] == [
        ("percentage_point_difference", "other", 6.5, "difference in percentage points")
    ]
    # a change within a group in percentage points stays a change
    effects = extract_effects(
        "Impairment decreased from baseline by 20.5 and 11.0 percentage points."
    )
    assert {e.kind for e in effects} == {"mean_change"}


def test_a_change_with_its_sign_written_out_in_brackets() -> None:
    sentence = "Sick days fell with the drug (- 1.2 days) and rose with usual care (+ 0.8 days)."
    assert [(e.rule, e.value) for e in extract_effects(sentence)] == [
        ("signed_change_in_brackets", -1.2),
        ("signed_change_in_brackets", 0.8),
    ]
    # an SD in brackets after a change is not a second change; digits are not signs
    sentence = "Changes were -16.8 (3.00) and -16.9 (2.61) in the two groups."
    assert "signed_change_in_brackets" not in {e.rule for e in extract_effects(sentence)}
    # no words of change: a signed value in brackets is left alone
    assert extract_effects("The two readers agreed (+ 0.8 days).") == []


def test_relative_changes_listed_per_group_after_a_word_of_change() -> None:
    sentence = "Hospital days fell in both arms (home care, 40%; ward care, 15.5%)."
    effects = extract_effects(sentence)
    assert [(e.rule, e.kind, e.value, e.arm) for e in effects] == [
        ("group_percent_changes", "percent_change", 40.0, "home care"),
        ("group_percent_changes", "percent_change", 15.5, "ward care"),
    ]
    # without a word of change, group shares are not changes
    sentence = "Shares by site were listed (north, 40%; south, 15.5%)."
    assert "group_percent_changes" not in {e.rule for e in extract_effects(sentence)}


def test_a_respective_list_of_changes_does_not_give_every_value_the_first_scale() -> None:
    sentence = (
        "Respective mean changes in MADRS, QIDS and SDS scores from baseline were -9.0 "
        "(p < 0.001), -4.1 (p = 0.02), and -2.0 (p = 0.3)."
    )
    effects = extract_effects(sentence, study_scale="MADRS")
    assert [e.value for e in effects] == [-9.0, -4.1, -2.0]
    assert [e.scale for e in effects[1:]] == [None, None]


def test_a_percentage_that_defines_an_analysis_variable_is_not_a_change() -> None:
    sentence = (
        "Predictors were tested by logistic regression with a dependent variable of a 50% "
        "reduction in rating scale scores."
    )
    assert extract_effects(sentence) == []


def test_a_percentage_reduction_to_be_reached_is_a_target_not_a_change() -> None:
    """ "the number of treatments to a 50% reduction", "time to achieve a 50% reduction": the
    reduction defines an outcome; a reduction that was found is still read."""
    for sentence in (
        "We compared the number of treatments to a 50 % reduction in scores between groups.",
        "The number of sessions to achieve a 50 % reduction in scores did not depend on group.",
        "Time to reach a 30% reduction in pain was shorter with the drug.",
    ):
        assert extract_effects(sentence) == [], sentence
    found = extract_effects("The drug led to a 40% reduction in relapses compared with placebo.")
    assert [(e.kind, e.value) for e in found] == [("percent_change", 40.0)]
