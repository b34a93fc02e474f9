"""Numbers as abstracts write them: signs, Unicode minus, thin spaces, leading dots, words.

Every parser here returns the float of the digits as written (never rounded) and the regex
pieces are shared by the effect rules, so a number means the same thing everywhere. A number
a float cannot hold (a 330-digit percentage would become infinity, "1 x 10-400" zero) raises
NumberOutOfRange instead of turning into another number.
"""

from __future__ import annotations

import math
import re

from pipeline.errors import PipelineError

# Characters that act as a minus sign before a number: hyphen-minus, U+2212 minus, U+2012
# figure dash, U+2013 en dash (some journals print negative numbers with it).
MINUS_CHARS = "-\u2212\u2012\u2013"
# Spaces that abstracts put around "=", "<" and inside "- 15.2": ordinary, thin, narrow
# no-break, no-break and hair spaces.
SPACE_CHARS = " \u2009\u202f\u00a0\u200a"
SP = f"[{SPACE_CHARS}]"

# An unsigned number as written: "12", "12.5", ".001", "0.5".
UNSIGNED = r"(?:\d+(?:\.\d+)?|\.\d+)"
# A signed number: the sign may be separated by one space ("- 15.2"); the sign must not
# follow a letter, digit or closing bracket (there it is a hyphen or a range dash).
SIGNED = rf"(?:(?<![\w)\]%.])[{MINUS_CHARS}]{SP}?)?{UNSIGNED}(?![\d.]\d)"

# A number not glued to a word or another number. This is the plain form; NUMBER_RE below
# matches exactly the same spans (tests/test_extract_numbers.py checks it) but is written so
# that each alternative starts with the character it needs, behind a look-ahead for a minus,
# digit or dot: the regex engine can then skip the text between numbers quickly, where the
# plain form tries the look-behind at every position. It runs on every sentence with a digit.
PLAIN_NUMBER = rf"(?<![\w.]){SIGNED}(?!\w)"
NUMBER_RE = re.compile(
    rf"(?=[{MINUS_CHARS}\d.])(?:[{MINUS_CHARS}](?<![\w.)\]%][{MINUS_CHARS}]){SP}?{UNSIGNED}"
    rf"|\d(?<![\w.]\d)\d*(?:\.\d+)?|\.(?<![\w.]\.)\d+)(?![\d.]\d)(?!\w)"
)

_SPACES_RE = re.compile(SP)

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip

_TENS_WORD = r"(?:" + "|".join(_TENS) + r")(?:[- ](?:" + "|".join(list(_UNITS)[1:10]) + r"))?"
_UNITS_WORD = r"(?:" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")"
WORD_NUMBER = (
    rf"(?:(?:(?:one|two|three|four|five|six|seven|eight|nine) )?hundred"
    rf"(?:(?: and)? (?:{_TENS_WORD}|{_UNITS_WORD}))?|{_TENS_WORD}|{_UNITS_WORD})"
)
WORD_NUMBER_RE = re.compile(rf"\b{WORD_NUMBER}\b", re.IGNORECASE)


# The most digits a count may have: more than any count of people, and within what the
# warehouse stores and Python converts.
MAX_COUNT_DIGITS = 9


class NumberOutOfRange(PipelineError):
    """A number as written that a float (or a stored count) cannot represent."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"the number {shown_number(text)} {reason}")
        self.text = text
        self.reason = reason


def shown_number(text: str, limit: int = 40) -> str:
    """A number's text for a message: whole when short, else its start and its length."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _finite(value: float, text: str) -> float:
    if not math.isfinite(value):
        raise NumberOutOfRange(text, "is too large to represent")
    return value


def parse_number(text: str) -> float:
    """The float of a number as written: "−5.39" -> -5.39, "- 0.89" -> -0.89, ".001" -> 0.001.

    Raises PipelineError naming the text when it is not a number, NumberOutOfRange when a
    float cannot hold it.
    """
    if text[:1].isdigit() and text.isascii() and " " not in text:
        try:
            return _finite(float(text), text)  # the common case: plain digits
        except ValueError:
            pass
    cleaned = _SPACES_RE.sub("", text.strip())
    if cleaned and cleaned[0] in MINUS_CHARS:
        cleaned = "-" + cleaned[1:]
    if cleaned.startswith(("-.", ".")):
        cleaned = cleaned.replace(".", "0.", 1)
    try:
        value = float(cleaned)
    except ValueError:
        raise PipelineError(f"not a number: {text!r}") from None
    return _finite(value, text)


def parse_word_number(text: str) -> int:
    """The value of an English number word: "Fifty-nine" -> 59, "One hundred twenty-six" -> 126."""
    words = [w for w in re.split(r"[\s-]+", text.lower().strip()) if w and w != "and"]
    if not words:
        raise PipelineError(f"not a number word: {text!r}")
    value = 0
    for word in words:
        if word in _UNITS:
            value += _UNITS[word]
        elif word in _TENS:
            value += _TENS[word]
        elif word == "hundred":
            value = (value or 1) * 100
        else:
            raise PipelineError(f"not a number word: {text!r}")
    return value


def parse_count(text: str) -> int | None:
    """A count as written in digits ("1,088") or words ("Forty-one"); None for anything else.

    Raises NumberOutOfRange for more than MAX_COUNT_DIGITS digits.
    """
    digits = text.replace(",", "")
    if digits.isdigit():
        if len(digits.lstrip("0")) > MAX_COUNT_DIGITS:
            reason = f"is too large for a count (over {MAX_COUNT_DIGITS} digits)"
            raise NumberOutOfRange(text, reason)
        return int(digits)
    try:
        return parse_word_number(digits)
    except PipelineError:
        return None


P_OPERATORS = {"=": "=", "<": "<", ">": ">", "≤": "<=", "≥": ">=", "<=": "<=", ">=": ">="}

# "P < .001", "2-sided P = .004", "log-rank P = .003", "p-value = 0.001", "P<0.0001",
# "p = 3.57 × 10-8". The operator and value may be separated by thin spaces.
P_VALUE_RE = re.compile(
    rf"(?<![\w-])(?:[Pp](?:{SP}?-?{SP}?values?)?|[Pp]s|[Pp]'s)(?:{SP}?\(adj\))?{SP}*"
    rf"(?P<op><=|>=|=|<|>|≤|≥){SP}*"
    rf"(?P<value>{UNSIGNED}(?:{SP}?[×x*]{SP}?10{SP}?(?:\^|e)?[{MINUS_CHARS}]{SP}?\d+)?)"
)


def parse_p_value(text: str) -> float:
    """The float of a p-value as written, including "3.57 × 10-8" forms."""
    cleaned = _SPACES_RE.sub("", text)
    match = re.fullmatch(rf"({UNSIGNED})(?:[×x*]10(?:\^|e)?[{MINUS_CHARS}](\d+))?", cleaned)
    if not match:
        raise PipelineError(f"not a p-value: {text!r}")
    value = parse_number(match[1])
    if match[2]:
        value = float(f"{match[1]}e-{match[2]}")
        if value == 0 and parse_number(match[1]) != 0:
            raise NumberOutOfRange(text, "is too small to represent")
    return value


def p_operator(symbol: str) -> str:
    """The p-value operator in its ASCII form: "≤" -> "<=", "<" -> "<"."""
    return P_OPERATORS[symbol]
