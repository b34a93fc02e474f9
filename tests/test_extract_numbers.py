"""Numbers as abstracts write them: signs, Unicode minus, thin spaces, p-values, words."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import PipelineError
from pipeline.extract.numbers import (
    NUMBER_RE,
    P_VALUE_RE,
    PLAIN_NUMBER,
    NumberOutOfRange,
    parse_count,
    parse_number,
    parse_p_value,
    parse_word_number,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", 12.0),
        ("0.49", 0.49),
        (".001", 0.001),
        ("-7.31", -7.31),
        ("\u22125.39", -5.39),  # U+2212 MINUS SIGN
        ("\u201228.07", -28.07),  # U+2012 FIGURE DASH used as a minus
        ("- 0.89", -0.89),  # a space between the sign and the digits
        ("-.5", -0.5),
    ],
)
def test_parse_number_keeps_the_written_value(text: str, value: float) -> None:
    assert parse_number(text) == value


def test_parse_number_names_what_is_not_a_number() -> None:
    with pytest.raises(PipelineError, match="abc"):
        parse_number("abc")


def test_number_tokens_keep_signs_but_not_range_dashes() -> None:
    text = "0.29-0.84 [\u22125.39 to \u22120.48] SMD = - 0.89; 1.1\u20134.5"
    assert [m.group() for m in NUMBER_RE.finditer(text)] == [
        "0.29", "0.84", "\u22125.39", "\u22120.48", "- 0.89", "1.1", "4.5",
    ]  # fmt: skip


# Characters that decide where a number starts and ends, and a few others.
_NUMBER_ALPHABET = "0123456789.-\u2212\u2012\u2013 \u2009\u00a0a_)]%(=,;x"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=_NUMBER_ALPHABET, max_size=14), st.integers(min_value=0, max_value=3))
def test_number_tokens_are_those_of_the_plain_pattern(text: str, pos: int) -> None:
    plain = re.compile(PLAIN_NUMBER)
    assert [m.span() for m in NUMBER_RE.finditer(text, pos)] == [
        m.span() for m in plain.finditer(text, pos)
    ]


@pytest.mark.parametrize(
    ("text", "operator", "value"),
    [
        ("P < .001", "<", 0.001),
        ("2-sided P = .004", "=", 0.004),
        ("P\u2009=\u2009.003", "=", 0.003),  # thin spaces around "="
        ("P\u2009<\u2009.001", "<", 0.001),
        ("p-value = 0.001", "=", 0.001),
        ("P<0.0001", "<", 0.0001),
        ("p ≤ 0.009", "≤", 0.009),
    ],
)
def test_p_values(text: str, operator: str, value: float) -> None:
    match = P_VALUE_RE.search(text)
    assert match is not None
    assert match["op"] == operator
    assert parse_p_value(match["value"]) == value


def test_p_value_in_scientific_notation() -> None:
    match = P_VALUE_RE.search("p = 3.57 × 10-8, rs11465988")
    assert parse_p_value(match["value"]) == pytest.approx(3.57e-8)


@pytest.mark.parametrize(
    ("text", "value"),
    [("Fifty-nine", 59), ("seventeen", 17), ("One hundred twenty-six", 126), ("forty one", 41)],
)
def test_word_numbers(text: str, value: int) -> None:
    assert parse_word_number(text) == value


def test_word_number_rejects_other_words() -> None:
    with pytest.raises(PipelineError):
        parse_word_number("many")


@pytest.mark.parametrize(
    ("text", "count"),
    [("24", 24), ("1,088", 1088), ("Forty-one", 41), ("Seventy", 70), ("many", None), ("", None)],
)
def test_parse_count(text: str, count: int | None) -> None:
    assert parse_count(text) == count


def test_a_number_a_float_cannot_hold_is_refused_not_made_infinite() -> None:
    with pytest.raises(
        NumberOutOfRange, match=r"the number 9{40}\.\.\. \(330 characters\) is too large"
    ):
        parse_number("9" * 330)
    with pytest.raises(NumberOutOfRange, match="too large"):
        parse_number("\u2212" + "9" * 400)
    assert parse_number("9" * 300) == float("9" * 300)  # large but finite: kept


def test_a_p_value_a_float_cannot_hold_is_refused_not_made_zero() -> None:
    with pytest.raises(NumberOutOfRange, match="too small to represent"):
        parse_p_value("1 × 10-400")
    assert parse_p_value("0 × 10-400") == 0.0
    assert parse_p_value("3.57 × 10-8") == 3.57e-8


def test_a_count_with_too_many_digits_is_refused() -> None:
    assert parse_count("999999999") == 999_999_999
    assert parse_count("0001,088") == 1088
    with pytest.raises(NumberOutOfRange, match="too large for a count"):
        parse_count("1" + "0" * 9)
    with pytest.raises(NumberOutOfRange, match="too large for a count"):
        parse_count("9" * 5000)  # beyond what Python converts: refused, not a ValueError
