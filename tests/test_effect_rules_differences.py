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
