"""Dose and schedule rules: the first dose written in mg or mg/kg and the first dosing schedule
named, each as written (never converted or rounded)."""

from __future__ import annotations

import re

from pipeline.extract.facts.matching import lower
from pipeline.extract.facts.rule import Example, FactRule

DOSE = FactRule(
    "dose_before_mg",
    "dose",
    "the first dose written in mg or mg/kg, with the doses listed before it ('56 or 84 mg')",
    r"(?<![\d.])(?:(?:\d+(?:\.\d+)?|\.\d+)(?:\s?(?:-|–|to|or|and|,)\s?(?:\d+(?:\.\d+)?|\.\d+))*"
    r"\s?mg/kg|(?:\d+(?:\.\d+)?|\.\d+)(?:\s?(?:or|and|,|-|/)\s?(?:\d+(?:\.\d+)?|\.\d+))*\s?mg)$",
    ("mg",),
    (
        Example("Esketamine 56 or 84 mg was given twice weekly.", "56 or 84 mg"),
        Example("Ketamine 0.5 mg/kg was infused.", "0.5 mg/kg"),
        Example("Sertraline 50 mg/day.", None),
        Example("Esketamine .5 mg/kg was injected.", ".5 mg/kg"),
        Example("Esketamine 0.2 mg was given.", "0.2 mg"),
    ),
    flags=0,
)
_DOSE_BEFORE_MG_RE = re.compile(DOSE.pattern)


def dose(text: str) -> str | None:
    """The first dose written in mg or mg/kg ("0.5 mg/kg", "56 or 84 mg"), as written."""
    at = text.find("mg")
    while at >= 0:
        end = at + (5 if text.startswith("mg/kg", at) else 2)
        if end == len(text) or not text[end].isalnum():
            match = _DOSE_BEFORE_MG_RE.search(text[max(0, at - 60) : end])
            if match and (text.startswith("mg/kg", at) or text[end : end + 1] != "/"):
                return match.group()
        at = text.find("mg", at + 2)
    return None


# By a word each phrase contains: the phrases of a word absent from the text are not looked for.
_SCHEDULES = {
    "single": ("single dose", "single infusion", "single injection", "single administration"),
    "week": (
        "twice weekly", "twice-weekly", "thrice weekly", "thrice-weekly", "once weekly",
        "once-weekly", "weekly", "every other week", "two or three times weekly",
        "twice a week", "three times a week", "three times per week",
    ),
    "daily": ("daily",),
}  # fmt: skip
SCHEDULE = FactRule(
    "schedule_phrase",
    "schedule",
    "the first dosing schedule named, as a whole phrase ('twice weekly', 'single infusion')",
    "|".join(re.escape(phrase) for group in _SCHEDULES.values() for phrase in group),
    tuple(_SCHEDULES),
    (
        Example("A single infusion of ketamine was given.", "single infusion"),
        Example("Esketamine was given twice-weekly for 4 weeks.", "twice-weekly"),
        Example("Injections were given biweekly.", None),
    ),
)


def schedule(text: str) -> str | None:
    """The first dosing schedule named ("twice weekly", "single infusion"), lower case."""
    low = lower(text)
    best: tuple[int, int] | None = None  # (position, -length): earliest, then longest
    phrases = [p for word, group in _SCHEDULES.items() if word in low for p in group]
    for phrase in phrases:
        at = low.find(phrase)
        while at >= 0 and at and low[at - 1].isalnum():  # "biweekly" is not "weekly"
            at = low.find(phrase, at + 1)
        end = at + len(phrase)
        whole_word = at >= 0 and (end == len(low) or not low[end].isalnum())
        if whole_word and (best is None or (at, -len(phrase)) < best):
            best = (at, -len(phrase))
    return low[best[0] : best[0] - best[1]] if best else None


RULES: tuple[FactRule, ...] = (DOSE, SCHEDULE)


def read(rule: FactRule, text: str) -> str | None:
    """The dose or schedule `text` gives, as the trial facts read it."""
    return dose(text) if rule is DOSE else schedule(text)
