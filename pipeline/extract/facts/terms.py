"""Population, comparator, scale and anaesthesia rules: the vocabulary terms a text names.

The terms and their patterns are vocabulary entries (`pipeline.vocab.POPULATIONS`,
`COMPARATORS`, `SCALES`); the named rules here are what the vocabulary cannot say alone: a study
comparing doses or schedules of ketamine, and ketamine given for anaesthesia or pain.
"""

from __future__ import annotations

import functools
import re

from pipeline import vocab
from pipeline.extract.facts.matching import (
    compiled,
    gated,
    lower,
    lower_case_regex,
    lowers_as_ascii,
)
from pipeline.extract.facts.rule import Example, FactRule

_POPULATIONS = [(term.code, term.pattern) for term in vocab.POPULATIONS]
_COMPARATORS = [(term.code, term.pattern) for term in vocab.COMPARATORS if term.pattern]
DOSE_COMPARISON = FactRule(
    "dose_comparison",
    "terms",
    "a study comparing doses or schedules of ketamine",
    r"(?:\d+(?:\.\d+)?\s?(?:mg/kg|mg)\s?(?:,|or|and|vs\.?|versus)\s?(?:\d+(?:\.\d+)?\s?"
    r"(?:mg/kg|mg)?\s?(?:,|or|and)?\s?)+(?:esketamine|ketamine)?)|dose[- ](?:ranging|frequency"
    r"|response)|twice[- ] (?:and|or|vs\.?) thrice|twice-weekly (?:and|or|vs\.?) thrice",
    (
        "mg or",
        "mg, ",
        "mg and",
        "mg vs",
        "mg versus",
        "mg/kg or",
        "mg/kg, ",
        "mg/kg and",
        "dose-",
        "dose ranging",
        "dose frequency",
        "dose response",
        "thrice",
    ),  # fmt: skip
    (
        Example("Adults received 0.5 mg/kg or 1.0 mg/kg ketamine.", True),
        Example("A dose-ranging study", True),
        Example("Ketamine 0.5 mg/kg vs saline", False),
    ),
)
_DOSE_COMPARISON_RE = gated(DOSE_COMPARISON)
_SCALE_NAMES = [(scale.code, scale.pattern) for scale in vocab.SCALES]
ANAESTHESIA = FactRule(
    "anaesthesia_or_pain",
    "terms",
    "ketamine for anaesthesia, sedation, surgery or pain",
    r"\banaesthe\w+|\banesthe\w+|\banalges\w+|\bpostoperative\b|\bsurgery\b|\bsurgical\b"
    r"|\bsedation\b|\bcolonoscopy\b|\bcesarean\b|\bcaesarean\b|\bchronic pain\b|\bneuralgia\b",
    (
        "anaesthe",
        "anesthe",
        "analges",
        "operative",
        "surg",
        "sedation",
        "colonoscopy",
        "cesarean",
        "caesarean",
        "pain",
        "neuralgia",
    ),  # fmt: skip
    (
        Example("Esketamine for sedation during colonoscopy", True),
        Example("Esketamine for depression", False),
    ),
)
_ANAESTHESIA_RE = gated(ANAESTHESIA)
DEPRESSION = FactRule(
    "depression",
    "terms",
    "a title about depression, suicidality or mood",
    r"depressi\w+|\bsuicid\w+|\bmood\b",
    ("depressi", "suicid", "mood"),
    (
        Example("Ketamine and suicidal thoughts", True),
        Example("Ketamine after knee surgery", False),
    ),
)
_DEPRESSION_RE = gated(DEPRESSION)


# Lower-case words one of which a pattern needs: checking them first (a plain substring test)
# spares the regex scan of abstracts that cannot match, which keeps classification fast.
_NEEDLES = {
    term.code: term.needles
    for term in (*vocab.POPULATIONS, *vocab.COMPARATORS, *vocab.SCALES)
    if term.pattern
}


# Needles in capitals are looked for in the text as written, the others in lower case.
_SPLIT_NEEDLES = {
    name: (
        tuple(n for n in needles if not n[:1].isupper()),
        tuple(n for n in needles if n[:1].isupper()),
    )
    for name, needles in _NEEDLES.items()
}


# The needles in capitals, longest first, as one pattern: its scan stops only at capitals, which
# is cheaper than a substring test per needle ("MADRS", "HDRS", ... in every abstract).
_CAPITAL_NEEDLES = sorted({n for _, upper in _SPLIT_NEEDLES.values() for n in upper}, key=len)[::-1]
_CAPITAL_NEEDLE_RE = re.compile("|".join(map(re.escape, _CAPITAL_NEEDLES)))
# A needle found, with the shorter needles it starts with ("HAM-A" holds "HAM").
_NEEDLE_PREFIXES = {
    n: frozenset(m for m in _CAPITAL_NEEDLES if n.startswith(m)) for n in _CAPITAL_NEEDLES
}


@functools.lru_cache(maxsize=8)
def _capital_needles_in(text: str) -> frozenset[str]:
    """The needles in capitals that occur in `text`, overlapping ones included: each search
    finds the longest needle at the next position holding one, and goes on from the position
    after (not after the match), so that a needle inside another is found too."""
    found: set[str] = set()
    match = _CAPITAL_NEEDLE_RE.search(text)
    while match:
        found |= _NEEDLE_PREFIXES[match.group()]
        match = _CAPITAL_NEEDLE_RE.search(text, match.start() + 1)
    return frozenset(found)


def _has_needle(name: str, text: str, low: str) -> bool:
    split = _SPLIT_NEEDLES.get(name)
    if split is None:
        return True
    for needle in split[0]:  # plain loops: cheaper than any() over a generator here
        if needle in low:
            return True
    present = _capital_needles_in(text) if split[1] else frozenset()
    for needle in split[1]:  # noqa: SIM110
        if needle in present:
            return True
    return False


def labels(
    patterns: list[tuple[str, str]], text: str, flags: int = re.I | re.A, low: str | None = None
) -> list[str]:
    """The codes of the (code, pattern) entries whose pattern `text` holds, in entry order."""
    low = lower(text) if low is None else low
    lower_case = flags == re.I | re.A and lowers_as_ascii(text)
    found = []
    for name, pattern in patterns:
        if not _has_needle(name, text, low):
            continue
        regex = lower_case_regex(pattern) if lower_case else None
        if regex.search(low) if regex else compiled(pattern, flags).search(text):
            found.append(name)
    return found


def study_population(text: str) -> list[str] | None:
    """The vocabulary populations `text` names (TRD, not also MDD)."""
    found = labels(_POPULATIONS, text)
    if "trd" in found and "mdd" in found:
        found.remove("mdd")
    return found or None


def study_comparators(text: str, design: str | None) -> list[str] | None:
    """What a trial compared its drug with; None for designs without a comparison."""
    if design in ("review", "observational", "case_report", "other", None):
        return None
    found = labels(_COMPARATORS, text)
    if "midazolam" in found and "placebo" in found and re.search(r"active placebo", text, re.I):
        found.remove("placebo")
    if _DOSE_COMPARISON_RE.search(text) and (
        design in ("rct", "crossover_rct") or "placebo" not in found
    ):
        found.append("ketamine_dose")
    return found or None


RULES: tuple[FactRule, ...] = (DOSE_COMPARISON, ANAESTHESIA, DEPRESSION)


def read(rule: FactRule, text: str) -> bool:
    """Whether a term rule finds its words in `text`."""
    return gated(rule).search(text) is not None
