"""Rates and shares of patients (pipeline.extract.effect_rules.rates)."""

from __future__ import annotations

from pipeline.extract.effects import extract_effects


def _read(sentence: str) -> list[tuple[str, float]]:
    return [(e.kind, e.value) for e in extract_effects(sentence)]


def test_corresponding_is_not_a_response() -> None:
    sentence = "With the new drug the corresponding risk of bleeding fell to between 3% and 9%."
    assert not [k for k, _ in _read(sentence) if k == "response_rate"]
    assert ("response_rate", 40.0) in _read("The corresponding response rate was 40%.")
