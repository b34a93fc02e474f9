"""Per-arm values in brackets after their arms (effect_rules.bracketed_arm_values)."""

from __future__ import annotations

from pipeline.extract.effects import extract_effects


def test_two_bracketed_values_after_their_arms_are_one_value_per_arm_with_the_p() -> None:
    sentence = (
        "The mean blood loss was lower in the drug group (460.3 mL) than in the placebo group "
        "(511.9 mL) (p < 0.05)."
    )
    assert [(e.value, e.arm, e.label, e.p) for e in extract_effects(sentence)] == [
        (460.3, "drug", "mean blood loss", 0.05),
        (511.9, "placebo", "mean blood loss", 0.05),
    ]


def test_values_without_a_unit_or_describing_the_patients_are_not_read() -> None:
    assert extract_effects("More were seen in the drug group (46) than in the placebo group "
                           "(51) (p = 0.2).") == []  # fmt: skip
    assert extract_effects("Age was higher in the drug group (45 years) than in the placebo "
                           "group (41 years) (p = 0.03).") == []  # fmt: skip
