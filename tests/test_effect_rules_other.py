"""Other results (pipeline.extract.effect_rules.other): per-arm values compared, correlations."""

from __future__ import annotations

from pipeline.extract.effects import extract_effects


def test_per_arm_values_with_their_p_are_two_effects_sharing_the_p() -> None:
    sentence = "Time to extubation was shorter with the drug (12.5 vs 20.0 hours, p = 0.03)."
    effects = extract_effects(sentence)
    assert [(e.rule, e.kind, e.value, e.p) for e in effects] == [
        ("arm_values_compared", "other", 12.5, 0.03),
        ("arm_values_compared", "other", 20.0, 0.03),
    ]
    assert effects[0].label == "Time to extubation"


def test_per_arm_values_take_their_arms_from_the_groups_compared_before_them() -> None:
    sentence = (
        "Pain scores were lower in the nerve block group than in the sham group "
        "(2.1 ± 1.0 points vs. 3.4 ± 1.2 points; P < 0.001)."
    )
    effects = extract_effects(sentence)
    assert [(e.value, e.arm) for e in effects] == [(2.1, "nerve block"), (3.4, "sham")]


def test_values_that_describe_the_patients_or_lack_a_p_are_not_read() -> None:
    assert extract_effects("Patients were older with the drug (66 vs 61 years, p = 0.01).") == []
    assert extract_effects("Stays were 5 vs 7 days in the two arms.") == []
    # units that disagree are not one measure in two arms
    assert extract_effects("Doses were 5 mg vs 7 days, p = 0.2, in the two arms.") == []


def test_a_measure_of_prediction_in_percent_is_read_but_not_a_bound() -> None:
    effects = extract_effects("The model classified remitters with 71% accuracy.")
    assert [(e.rule, e.value, e.label) for e in effects] == [
        ("predictive_accuracy", 71.0, "accuracy")
    ]
    assert extract_effects("Each drug was told apart with >90% accuracy.") == []
    assert extract_effects("It beat the chance level of 12.5% by far.") == []


def test_times_as_likely_is_read_once_when_a_named_ratio_gives_the_same_value() -> None:
    effects = extract_effects("Treated patients were 2.4 times more likely to remit.")
    assert [(e.rule, e.value) for e in effects] == [("times_as_likely", 2.4)]
    sentence = "Falls were 3.1 times as likely (OR 3.1; 95% CI 1.5-6.4) with the drug."
    assert [(e.kind, e.value) for e in extract_effects(sentence)] == [("odds_ratio", 3.1)]


def test_follow_up_durations_are_not_per_arm_values() -> None:
    assert extract_effects("Patients were followed for 12 vs 14 weeks, p = 0.2.") == []


def test_per_arm_medians_with_their_iqr() -> None:
    sentence = "Stays were shorter with the drug (median 5 [IQR 4-7] vs 7 [5-9] days; P = 0.002)."
    assert [(e.value, e.p) for e in extract_effects(sentence)] == [(5.0, 0.002), (7.0, 0.002)]


def test_per_arm_values_given_for_two_groups_in_turn() -> None:
    sentence = "Mean pain scores were 3.1 and 4.6 in the block and sham groups, respectively."
    effects = extract_effects(sentence)
    assert [(e.value, e.arm, e.label) for e in effects] == [
        (3.1, "block", "Mean pain scores"),
        (4.6, "sham", "Mean pain scores"),
    ]
    assert (
        extract_effects("Mean ages were 45 and 47 in the drug and placebo groups, respectively.")
        == []
    )


def test_a_measure_the_analysis_fixed_is_not_a_result() -> None:
    sentence = "For 100% sensitivity, the thresholds were 31% and 24% of the upper limit."
    assert [e for e in extract_effects(sentence) if e.rule == "predictive_accuracy"] == []
    sentence = "The model reached accuracies of 70.1% at week 2 and 66.0% at week 6."
    assert [(e.rule, e.value) for e in extract_effects(sentence)] == [
        ("predictive_accuracy", 70.1),
        ("predictive_accuracy", 66.0),
    ]


def test_a_coefficient_and_a_change_per_unit_of_a_predictor_are_regression_coefficients() -> None:
    """A regression coefficient is "other", not a mean difference, whether named ("Coefficient
    -4.3 95%CI: ...") or written as the change per unit of a predictor ("each additional point
    was associated with a -0.05 [95% CI ...] decrease")."""
    named = (
        "Stays were shorter with the drug than in the control group (Coefficient -4.3 95%CI: "
        "-6.6 to -1.9)."
    )
    per_unit = (
        "Each additional symptom point was associated with a - .05 [95% CI - .09, - .01] "
        "(p = .03) decrease in the score."
    )
    for sentence, value in ((named, -4.3), (per_unit, -0.05)):
        assert [(e.kind, e.label, e.value) for e in extract_effects(sentence)] == [
            ("other", "regression coefficient", value)
        ], sentence
    # the CI's "95%" does not make the coefficient a share of the group named before it
    assert [e.arm for e in extract_effects(named)] == [None]


def test_a_mean_ratio_is_other_not_a_change() -> None:
    """A ratio of means ("the placebo-corrected mean ratio of albuminuria ... was reduced (for
    10 mg/d, 0.76 [90% CI, ...])") has no kind of its own: "other", labelled, with its 90% CI."""
    sentence = (
        "The placebo-corrected mean ratio of albuminuria at day 90 relative to baseline was "
        "reduced (for 10 mg/d, 0.76 [90% CI, 0.65-0.88; P = .001]; for 20 mg/d, 0.62 [90% CI, "
        "0.54-0.72; P < .001])."
    )
    effects = extract_effects(sentence)
    assert [(e.kind, e.label, e.value, e.ci_level) for e in effects] == [
        ("other", "mean ratio", 0.76, 90.0),
        ("other", "mean ratio", 0.62, 90.0),
    ]
    assert [
        (e.kind, e.label)
        for e in extract_effects(
            "Exposure was similar (geometric mean ratio 1.02, 90% CI 0.95-1.10)."
        )
    ] == [("other", "mean ratio")]
