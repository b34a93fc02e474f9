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
