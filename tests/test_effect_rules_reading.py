"""Reading numbers and intervals (pipeline.extract.effect_rules.reading) through the extractor."""

from __future__ import annotations

from pipeline.extract.effects import extract_effects


def _read(sentence: str) -> list[tuple[str, float, float | None, float | None]]:
    return [(e.kind, e.value, e.ci_low, e.ci_high) for e in extract_effects(sentence)]


def test_a_number_with_thousands_separators_is_read_whole() -> None:
    sentence = "Reports of sedation were disproportionate (n = 2,310, ROR 1,204.55, PRR 98.1)."
    assert ("odds_ratio", 1204.55, None, None) in _read(sentence)
    assert ("odds_ratio", 1.0, None, None) not in _read(sentence)
    assert ("odds_ratio", 1204.55, 1034.2, 1402.9) in _read(
        "The reporting odds ratio was 1,204.55 (95% CI 1,034.20-1,402.90)."
    )


def test_two_decimals_joined_by_a_comma_are_not_a_thousands_number() -> None:
    assert ("odds_ratio", 0.62, 0.11, 1.21) in _read("The odds ratio was 0.62 (0.11,1.21).")


def test_an_interval_whose_name_comes_before_its_level() -> None:
    assert _read("The pooled effect was large (SMD = -1.20 [CI 95%: -1.9 to -0.5]).") == [
        ("smd", -1.2, -1.9, -0.5)
    ]
    assert _read("Risk fell (HR 0.70; CI 95% 0.55-0.89).") == [("hazard_ratio", 0.7, 0.55, 0.89)]


def test_interval_bounds_joined_by_a_tilde() -> None:
    assert _read("Scores improved (SMD = -0.75, 95% CI -1.10~-0.40).") == [
        ("smd", -0.75, -1.1, -0.4)
    ]
    assert _read("The odds ratio was 2.1 (1.3~3.4).") == [("odds_ratio", 2.1, 1.3, 3.4)]


def test_an_interval_whose_abbreviation_alone_is_in_brackets() -> None:
    """ "95% [CI]: 0.22 to 0.62": the interval is read with its estimate, not left off."""
    assert _read("Incidence fell (relative risk [RR]:0.37;95% [CI]: 0.22 to 0.62; P=0.0001).") == [
        ("risk_ratio", 0.37, 0.22, 0.62)
    ]
    assert _read("It helped (OR 2.1, 95% (CI) 1.2-3.4).") == [("odds_ratio", 2.1, 1.2, 3.4)]
