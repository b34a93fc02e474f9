"""An effect's context from its sentence: the timepoint and the rating scale it is on."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from pipeline import vocab
from pipeline.extract.effect_rules.effect import RATE_KINDS, Effect
from pipeline.extract.effect_rules.rates import _RATE_RE
from pipeline.extract.effect_rules.reading import _CI, _match_end, _match_start
from pipeline.extract.numbers import SP

_SCALES = [(scale.code, scale.pattern) for scale in vocab.SCALES]
# Case-sensitive (scale names are written with capitals), which keeps the scan fast.
_SCALE_RE = re.compile("|".join(f"(?P<s{i}>{pattern})" for i, (_, pattern) in enumerate(_SCALES)))

# Every alternative of a scale pattern begins with one of its needles.
_SCALE_NEEDLES = tuple(dict.fromkeys(n for scale in vocab.SCALES for n in scale.needles))


def _scale_matches(text: str) -> list[re.Match]:
    """What `_SCALE_RE.finditer(text)` finds, tried only where a needle starts (every
    alternative of `_SCALES` begins with one): far cheaper than trying every position."""
    starts = set()
    for needle in _SCALE_NEEDLES:
        at = text.find(needle)
        while at >= 0:
            starts.add(at)
            at = text.find(needle, at + 1)
    found: list[re.Match] = []
    for at in sorted(starts):
        if found and at < found[-1].end():
            continue  # inside the previous match: finditer goes on after it
        match = _SCALE_RE.match(text, at)
        if match:
            found.append(match)
    return found


_TIMEPOINT_RE = re.compile(
    rf"\b(?:(?:day|week|month|visit)s?{SP}?\d+(?:{SP}?(?:and|to|-){SP}?\d+)?"
    rf"|\d+(?:\.\d+)?{SP}?(?:-{SP}?)?(?:hours?|h|hrs?|days?|weeks?|months?|minutes?|min)\b"
    rf"(?:{SP}(?:post[- ]?(?:dose|infusion|treatment|first dose)|after (?:treatment|infusion"
    rf"|dosing|the first (?:dose|infusion))))?|endpoint)",
    _CI,
)


_SCALE_KINDS = (*RATE_KINDS, "mean_change", "mean_difference", "smd", "cohens_d", "hedges_g")
_NOT_A_SCORE_RE = re.compile(r"weeks?|days?|mmHg|hours?|%", re.IGNORECASE)


def _measured_on_a_scale(effect: Effect) -> bool:
    """An efficacy effect read off a rating scale: not a labelled share or blood pressure, not a
    difference in weeks or percent, and a ratio or NNT only of response, remission or relapse."""
    if effect.label is not None:
        return False
    if effect.kind in RATE_KINDS:
        return True
    if effect.kind in _SCALE_KINDS:
        return not _NOT_A_SCORE_RE.search(effect.quote)
    if effect.kind in ("odds_ratio", "risk_ratio", "hazard_ratio", "nnt"):
        return _RATE_RE.search(effect.sentence) is not None
    return False


_TIMEPOINT_JUST_AFTER_RE = re.compile(
    rf"(?:{SP}?[\[(][^\[\]()]{{1,25}}[\])])?[\])]*,?{SP}(?:at|on|by|through|until){SP}$"
)


def _timepoint(matches: list[re.Match], start: int, end: int, text: str = "") -> str | None:
    """The timepoint right after the effect ("-14.0 on day 5"), else the one written closest
    before it (within 120 characters), else one just after. `matches` are in text order and
    do not overlap, so their starts and ends both rise: each question is a bisection."""
    first_after = bisect_left(matches, end, key=_match_start)
    for m in matches[first_after:]:
        if m.start() > end + 45:
            break
        if _TIMEPOINT_JUST_AFTER_RE.match(text, end, m.start()):
            return m.group()
    last_before = bisect_right(matches, start, key=_match_end) - 1
    if last_before >= 0 and start - matches[last_before].end() < 120:
        return matches[last_before].group()
    if first_after < len(matches) and matches[first_after].end() <= end + 60:
        return matches[first_after].group()
    return None


def _scale(matches: list[re.Match], start: int) -> str | None:
    if not matches:
        return None
    last_before = bisect_left(matches, start, key=_match_start) - 1  # in text order
    match = matches[last_before] if last_before >= 0 else matches[0]
    return _SCALES[int(match.lastgroup[1:])][0]


# A subgroup a sentence names: "in the China sub-population", "in cohort 2", "among the 121
# who achieved stable response", "for patients 65 to 74 years", "for those ≥75 years", "in
# children", "in the elderly". Each alternative names its words in the group "g".
_SUBGROUP_RE = re.compile(
    rf"\b(?:in|among|for){SP}(?:the{SP})?(?:"
    rf"(?!(?:this|that|each|every|all|the|a|an|any|which){SP})(?P<named>(?:[\w-]+{SP}){{0,3}}?"
    rf"(?:sub-?populations?|subgroups?))\b"
    rf"|(?P<cohort>cohort{SP}\d+)\b"
    rf"|(?:\d+{SP})?(?:patients{SP}|participants{SP}|those{SP})?(?:who|that){SP}(?:had{SP})?"
    rf"(?:achieved|reached|attained){SP}(?:a{SP})?(?P<achieved>(?:stable|sustained|clinical|full)"
    rf"{SP}(?:remission|response))\b"
    rf"|(?:patients{SP}|participants{SP}|those{SP}|adults{SP})?(?:aged{SP})?"
    rf"(?P<age>(?:[≥≤<>]=?{SP}?\d+|\d+{SP}?(?:to|-|–){SP}?\d+){SP}?years(?:{SP}or{SP}older)?)"
    rf"|(?P<people>children|adolescents|young{SP}adults|younger{SP}adults|older{SP}adults"
    rf"|elderly))",
    re.IGNORECASE,
)
_SUBGROUP_NEEDLES = ("sub", "cohort ", "achieved", "reached", "attained", "years", "children",
                     "adolescents", "adults", "elderly")  # fmt: skip
_SUBGROUP_REACH = 250  # characters from a subgroup's words to an effect after it
_SUBGROUP_AFTER_REACH = 12  # "-0.4 (...) for those ≥75 years": the words right after it


def _subgroups(text: str, low: str) -> list[tuple[int, int, str]]:
    """(start, end, words) of each subgroup the sentence names, in text order."""
    for needle in _SUBGROUP_NEEDLES:
        if needle in low:
            break
    else:
        return []
    return [(m.start(), m.end(), m[m.lastgroup]) for m in _SUBGROUP_RE.finditer(text)]


# The rest of an effect's bracket before the words after it: "; t = -2.4, p = 0.017) for"
_REST_OF_BRACKET_RE = re.compile(r"[^()]{0,80}\)[\s,]{0,3}")


def _subgroup(
    found: list[tuple[int, int, str]], text: str, start: int, end: int, next_effect: int
) -> str | None:
    """The subgroup an effect is about: one named right after it (or after the rest of its
    bracket), before the next effect; else the last one named before it in its sentence that
    no earlier effect has right after it ("-4.9 for those under 75 versus -0.4 for ...")."""
    for s, _, words in found:
        if end <= s < next_effect and (
            s <= end + _SUBGROUP_AFTER_REACH or _REST_OF_BRACKET_RE.fullmatch(text, end, s)
        ):
            return words
    before = [(s, words) for s, e, words in found if e <= start and start - e <= _SUBGROUP_REACH]
    if not before:
        return None
    at, words = before[-1]
    written_after_a_value = re.search(r"[\d%\])]\)?[\s,]{0,3}$", text[max(0, at - 6) : at])
    return None if written_after_a_value else words
