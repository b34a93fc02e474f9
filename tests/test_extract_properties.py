"""Properties of the extractor on arbitrary text (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.extract import extract_text
from pipeline.extract.numbers import (
    NUMBER_RE,
    WORD_NUMBER_RE,
    parse_number,
    parse_word_number,
)

# Text built from the pieces effect rules react to, so the rules actually fire.
PIECES = st.sampled_from(
    [
        "OR = ", "hazard ratio [HR], ", "95% CI, ", "(95% CI: ", " to ", "-", "\u2212", "\u2012",
        "\u2009", " ", "(", ")", "[", "]", ";", ",", "%", "P < .", "P\u2009=\u2009", "response ",
        "remission ", "relapse ", "rates of ", " vs ", "nausea (", "n = ", "SMD = - ", "d = ",
        "effect sizes were ", "NNT, ", "mean change ", "difference ", "by ", " and ", ". ",
        "Fifty-nine percent ", "(SD=", "±", "0", "1", "2", "4", "7", "9", ".5", "26.7", "0.49",
        " of ", "/", " patients ", "responded", "remitted", "achieved remission", "Four",
    ]
)  # fmt: skip
EFFECTISH = st.lists(PIECES, max_size=40).map("".join)
ANY_TEXT = st.text(max_size=400)


def check(abstract: str) -> None:
    result = extract_text("0", "Ketamine", abstract)
    for effect in result.effects:
        assert 0 <= effect.start < effect.end <= len(abstract)
        quote = abstract[effect.start : effect.end]
        assert quote == effect.quote
        assert effect.sentence.find(quote) >= 0
        # The value as written is in the quote: some number token in it parses to the value,
        # or, for a rate written as counts alone, both counts are and the value is their rate.
        assert _has_value(quote, effect.value) or _has_counts(quote, effect), (quote, effect)


def _written_numbers(quote: str) -> list[float]:
    numbers = [parse_number(m.group()) for m in NUMBER_RE.finditer(quote)]
    return numbers + [parse_word_number(m.group()) for m in WORD_NUMBER_RE.finditer(quote)]


def _has_value(quote: str, value: float) -> bool:
    return value in _written_numbers(quote)


def _has_counts(quote: str, effect) -> bool:
    if effect.n_events is None or not effect.n_total:
        return False
    written = _written_numbers(quote)
    return (
        effect.n_events in written
        and effect.n_total in written
        and effect.value == 100 * effect.n_events / effect.n_total
    )


def test_the_generated_text_does_produce_effects() -> None:
    """Guard against a vacuous property: the pieces must make the rules fire."""
    samples = [
        "OR = 2 (95% CI, 1 to 4)",
        "response rates of 26.7% vs 9%",
        "d = \u22120.49",
        "4 of 7 patients responded",
    ]
    assert all(extract_text("0", "t", text).effects for text in samples)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_arbitrary_unicode_never_crashes(abstract: str) -> None:
    check(abstract)


@settings(max_examples=500, deadline=None)
@given(EFFECTISH)
def test_effect_offsets_slice_back_to_their_value(abstract: str) -> None:
    check(abstract)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(EFFECTISH, ANY_TEXT), max_size=5).map(" ".join))
def test_mixed_text_never_crashes(abstract: str) -> None:
    check(abstract)
