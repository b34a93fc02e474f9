"""Reading numbers: number tokens, confidence intervals, SEs, p-values and what blocks a number
from being an estimate (a dose, a year, a test statistic); spans and bracket balancing."""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from pipeline.extract.numbers import (
    MAX_COUNT_DIGITS,
    MINUS_CHARS,
    SIGNED,
    SP,
    UNSIGNED,
    NumberOutOfRange,
    parse_count,
    parse_number,
    parse_p_value,
)

# Case-insensitive rules match ASCII words: as exact on this text and far faster than Unicode
# case folding (the few rules that need Unicode spaces via \s keep re.IGNORECASE alone).

_CI = re.IGNORECASE | re.ASCII


class _Unrepresentable(float):
    """Stands in for a number a float cannot hold (as infinity, or zero for an underflow) so
    that the rules still read it; the effect it ends up in is quarantined, never output."""

    text: str
    reason: str

    def __new__(cls, stand_in: float, error: NumberOutOfRange) -> _Unrepresentable:
        number = super().__new__(cls, stand_in)
        number.text, number.reason = error.text, error.reason
        return number


class _TooLargeCount(int):
    """Stands in for a count with more digits than a count can have; quarantined like the above."""

    text: str
    reason: str

    def __new__(cls, error: NumberOutOfRange) -> _TooLargeCount:
        count = super().__new__(cls, 10**MAX_COUNT_DIGITS)
        count.text, count.reason = error.text, error.reason
        return count


def _number(text: str) -> float:
    """`parse_number`, with an `_Unrepresentable` (signed infinity) where a float cannot hold it;
    thousands separators ("1,354.63", matched only as such) are dropped."""
    if "," in text:
        text = text.replace(",", "")
    try:
        return parse_number(text)
    except NumberOutOfRange as error:
        negative = text.strip()[:1] in MINUS_CHARS
        return _Unrepresentable(-math.inf if negative else math.inf, error)


def _p_number(text: str) -> float:
    """`parse_p_value`, with an `_Unrepresentable` (infinity, or zero) where a float cannot."""
    try:
        return parse_p_value(text)
    except NumberOutOfRange as error:
        return _Unrepresentable(0.0 if "small" in error.reason else math.inf, error)


def _count(text: str) -> int | None:
    """`parse_count`, with a `_TooLargeCount` where the count has too many digits."""
    try:
        return parse_count(text)
    except NumberOutOfRange as error:
        return _TooLargeCount(error)


# A decimal comma: "3,2", "0,005", "1,4–7,1". Not a thousands separator, which has three
# digits after the comma and no leading zero before it ("1,234", "12,500").
_DECIMAL_COMMA_RE = re.compile(r"(?<![\d,.])(?:0,\d+|[1-9]\d*,\d{1,2}|\d+,\d{4,})(?![\d,])")


# --- building blocks ----------------------------------------------------------------------

_LEVEL = rf"(?P<level>\d{{2}}(?:\.\d+)?){SP}?%"
_CI_NAME = r"(?:CIs?|confidence intervals?|credible intervals?|CrI)"
_BOUND_UNIT = rf"(?:{SP}?%|{SP}?(?:pp|points?|percentage points|weeks?|days?|mmHg))?"
# a bound written with thousands separators ("1,354.63") is read whole
_THOUSANDS = r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d|,\d|\.\d)"
_LOW = rf"\$?(?P<low>{_THOUSANDS}|{SIGNED}){SP}?%?"
_HIGH = rf"\$?(?P<high>{_THOUSANDS}|{SIGNED}){_BOUND_UNIT}"
_RANGE_SEP = rf"(?:{SP}?(?:to|and|–|—|-|,|;|~|～){SP}?|{SP}(?=[{MINUS_CHARS}]))"
# "95% CI, 0.29-0.84", "(95% confidence interval [CI], 3.20 to 12.71)", "95%CI: 1.18 to 1.64",
# "95% CI = [-1.00, -0.03]", "95% CI - 1.24; - 0.53", "[95% confidence interval 1.402, 2.087]"
_LABELLED_CI = (
    # the level before the name, or after it ("[CI 95%: -2.9 to -0.79]")
    # or its abbreviation alone in brackets ("95% [CI]: 0.22 to 0.62")
    rf"(?:(?P<name_first>{_CI_NAME}){SP}?)?{_LEVEL}"
    rf"(?(name_first)|{SP}?(?:{_CI_NAME}|[\[(]CIs?[\])]))(?:{SP}?[\[(](?:CI|CIs)[\])])?{SP}?(?:[:=,]|of|was|were)?{SP}?"
    rf"[\[(]?{SP}?{_LOW}{_RANGE_SEP}{_HIGH}{SP}?[\])]?"
)
_LABELLED_CI_RE = re.compile(_LABELLED_CI)
_CI_NAME_RE = re.compile(_CI_NAME)
_BARE_CI = (
    rf"[\[(]{SP}?\$?(?P<blow>{SIGNED}){SP}?%?(?:{SP}?(?:to|–|—|-|,|~|～){SP}?)"
    rf"\$?(?P<bhigh>{SIGNED}){_BOUND_UNIT}{SP}?[\]);]"
)

# What may follow an estimate: a unit, an SE in brackets or "SE=", then a CI.
_TRAIL_RE = re.compile(
    rf"(?P<unit>{SP}?(?:%|percentage points|points?|pp|weeks?|days?|mmHg)(?![\w-]))?"
    rf"(?:{SP}?[\[(]{SP}?(?:SE[,:=]?{SP}?)?(?P<se>{UNSIGNED}){SP}?[\])])?"
    rf"(?:{SP}?[,;]{SP}?SE{SP}?[=:,]?{SP}?(?P<se2>{UNSIGNED}))?"
    rf"(?:(?P<ci>{SP}?[,;]?{SP}?[\[(]?{SP}?{_LABELLED_CI})|(?P<bare>{SP}?{_BARE_CI}))?"
)
# A signed number in a list of signed numbers: "(- 15.2, - 14.5, - 15.1, and - 15.3 for ...)".


# coefficients (β) and R² are reported results ("other" with a label), so they are not here.
_STAT_RE = re.compile(
    rf"(?<![\w-])(?:t|z|F|r|χ2|χ²|chi2|df|SE|SD|n|N|I2|I²|k|B|U|H|W)"
    rf"{SP}?(?:\[[^\]]{{0,12}}\]|\([^)]{{0,12}}\))?{SP}?(?:=|<|>|≤|≥){SP}?{SIGNED}"
)
_NAME_NUMBER_RE = re.compile(r"[A-Za-z]-$|[A-Za-z]$")
_BLOCK_BEFORE_RE = re.compile(
    r"(?:\b(?:day|days|week|weeks|month|months|year|visit|phase|period|cohort|age|aged|ages"
    r"|version|stage|grade|step|dose|doses|session|sessions|group|arm|trial|study|criterion"
    r"|score|scores|of|than|to|from|between|over|within|[Ss]tudies|[Nn]umber)"
    rf"{SP}?|[≥≤<>~±×/:]{SP}?|[≥≤<>]=?{SP}?)$",
    _CI,
)
_BLOCK_AFTER_RE = re.compile(
    rf"{SP}?-?{SP}?(?:mg|µg|μg|ng|mL|ml|kg|g|mmHg|years?|yrs?|y|months?|weeks?|days?|hours?|h|hrs?"
    rf"|min|minutes?|seconds?|s|infusions?|sessions?|sites?|cent(?:er|re)s?|trials?|studies"
    rf"|study|RCTs?|cohorts?|women|men|cases|events"
    rf"|patients?|participants?|subjects?|adults|individuals|outpatients|inpatients|people|doses?"
    rf"|items?|randomi[sz]ed|times|[A-Za-z]*-?fold|-?sided|-?tailed|x|×|:\d|/\d"
    # the first number of a range of ages or doses: "18 to 65 years", "0.5-1 mg/kg"
    rf"|(?:to|–|-){SP}?\d+(?:\.\d+)?{SP}?(?:years?|yrs?|mg|µg|μg|kg))(?![\w])",
    _CI,
)


_CLAUSE_BREAK_RE = re.compile(r"[;:]")

# A number written with thousands separators: "2,257.80", "1,093" (not "0.11,1.21" or "1,2")
_THOUSANDS_NUMBER_RE = re.compile(_THOUSANDS)
_THOUSANDS_HINT_RE = re.compile(r"\d,\d{3}")


@dataclass
class _Token:
    start: int  # offsets within the sentence
    end: int
    value: float
    percent: bool


def _with_thousands(text: str, tokens: list[_Token], percent) -> list[_Token]:
    """The number tokens with each number written with thousands separators ("2,257.80") as
    one token, in place of the pieces the separators split it into; `percent(end)` tells
    whether a % follows a token."""
    if not _THOUSANDS_HINT_RE.search(text):
        return tokens
    merged = [
        _Token(m.start(), m.end(), float(m.group().replace(",", "")), percent(m.end()))
        for m in _THOUSANDS_NUMBER_RE.finditer(text)
    ]
    if not merged:
        return tokens
    kept = [t for t in tokens if not any(m.start <= t.start < m.end for m in merged)]
    return sorted(kept + merged, key=lambda t: t.start)


_DIGIT_RE = re.compile(r"\d")
# A minus at the start or after a space, bracket or "=:,;": the lookbehind comes after the minus
# so that the scan jumps from one minus to the next instead of trying every position.
_SIGNED_NUMBER_RE = re.compile(rf"[{MINUS_CHARS}](?<![^\s(\[=:,;][{MINUS_CHARS}]){SP}?\.?\d")


_PERCENT_SIGN_RE = re.compile(rf"{SP}?%")


class _Spans:
    """Half-open spans, kept sorted by start, asked whether any overlaps a given span: a
    bisection and the few spans near it, not a scan of all (a long sentence has thousands)."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.longest = 0

    def append(self, span: tuple[int, int]) -> None:
        start, end = span
        at = bisect_right(self.starts, start)
        self.starts.insert(at, start)
        self.ends.insert(at, end)
        self.longest = max(self.longest, end - start)

    def extend(self, spans) -> None:
        for span in spans:
            self.append(span)

    def overlaps(self, start: int, end: int) -> bool:
        """Whether a span (s, e) has s < end and start < e; only spans with s > start - longest
        can end after `start`."""
        first = bisect_right(self.starts, start - self.longest)
        last = bisect_left(self.starts, end)
        for at in range(first, last):  # noqa: SIM110 - a loop is cheaper than any()
            if self.ends[at] > start:
                return True
        return False


# What the `$`-anchored patterns searched just before a position can span at most (a match
# may also end before a final newline): searched in a window of this size, not from 0.
_ANCHORED_WINDOW = 24


_PAIRS = {")": "(", "]": "["}


def _balanced(text: str, start: int, end: int) -> tuple[int, int]:
    """Trim a closing bracket the span does not open, or close one it leaves open."""
    quote = text[start:end]
    while quote and quote[-1] in _PAIRS and quote.count(quote[-1]) > quote.count(_PAIRS[quote[-1]]):
        quote, end = quote[:-1], end - 1
    for close, open_ in _PAIRS.items():
        if quote.count(open_) > quote.count(close) and text[end : end + 1] == close:
            quote, end = quote + close, end + 1
    return start, end


def _match_start(match: re.Match) -> int:
    return match.start()


def _match_end(match: re.Match) -> int:
    return match.end()
