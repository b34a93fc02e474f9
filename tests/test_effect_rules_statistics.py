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
