"""Adverse events: named side effects with their share ("nausea (28.9%)"), the share of
patients reporting side effects, and how a sentence about adverse events labels its shares."""

from __future__ import annotations

import re
from functools import cached_property

from pipeline import vocab
from pipeline.extract.effect_rules.base import Example, Rule
from pipeline.extract.effect_rules.reading import _CI, _PERCENT_SIGN_RE, _count, _number
from pipeline.extract.numbers import SP, UNSIGNED

_DISCONTINUATION_RE = re.compile(r"discontinu", _CI)
_ADVERSE_RE = re.compile(r"adverse|\bTEAEs?\b|\bAEs?\b|side effect|tolerab", _CI)


_ADVERSE_EVENT_SENTENCE_RE = re.compile(
    r"adverse (?:events?|effects?|reactions?)[^.;]{0,80}?\b(?:were |was )?(?:reported|observed"
    r"|occurred) in\b|\bantihypertensive medication\b",
    _CI,
)
_EVENTS = r"(?:at\sleast\sone\s)?(?:side\seffects?|adverse\s(?:events?|effects?|reactions?)|TEAEs?)"
# "At least one side effect was reported by 71.8% of subjects"
_REPORTED_BY_RE = re.compile(
    rf"(?P<label>{_EVENTS})\s(?:was|were)\s(?:reported|experienced)\sby\s(?:about\s)?$", _CI
)
# "(42% of patients who continued the treatment reported side effects at 12 months)"
_REPORTED_AFTER_RE = re.compile(
    rf"[\])]?\sof\s(?:the\s)?(?:patients|participants|subjects)\b[^,;.()%]{{0,60}}?\b(?:reported"
    rf"|experienced|had|developed)\s(?P<label>{_EVENTS})",
    _CI,
)


_AE_TERMS = vocab.SIDE_EFFECTS
_AE_RE = re.compile(
    r"\b(?P<label>" + "|".join(sorted(map(re.escape, _AE_TERMS), key=len, reverse=True)) + r")"
    rf"{SP}?\((?:(?P<n>\d+){SP}?(?:(?:participants|patients|subjects){SP}?)?[\[(])?"
    rf"(?P<pct>{UNSIGNED}){SP}?%(?:[\])]?{SP}?(?:vs\.?|versus|v\.){SP}?(?P<pct2>{UNSIGNED}){SP}?%)?",
    _CI,
)


# Any event listed with its share in a sentence about adverse events, beyond the vocabulary:
# "... adverse events were nasopharyngitis (5.9% versus 2.4%) and pruritus (5.9% versus 0%)"
_LISTED_EVENT_RE = re.compile(
    rf"(?<![\w-])(?P<label>[a-z][a-z-]{{3,30}}(?:{SP}[a-z][a-z-]{{1,30}}){{0,2}}){SP}?\({SP}?"
    rf"(?P<pct>{UNSIGNED}){SP}?%(?:{SP}?(?:vs\.?|versus|v\.){SP}?(?P<pct2>{UNSIGNED}){SP}?%)?"
    rf"{SP}?\)"
)
_FUNCTION_WORDS = frozenset(
    [
        "and",
        "or",
        "were",
        "was",
        "are",
        "is",
        "including",
        "include",
        "included",
        "of",
        "with",
        "the",
        "a",
        "an",
        "most",
        "common",
        "frequent",
        "reported",
        "observed",
        "followed",
        "by",
        "as",
        "such",
        "than",
    ]
)


def _event_words(words: str) -> str:
    """The event's name: the words before the bracket after the last function word ("placebo
    were rhinitis" -> "rhinitis")."""
    kept: list[str] = []
    for word in reversed(words.split()):
        if word in _FUNCTION_WORDS:
            break
        kept.insert(0, word)
    return " ".join(kept)


_NOT_AN_EVENT_RE = re.compile(
    r"\b(?:patients?|participants?|subjects?|groups?|arms?|placebo|controls?|total|overall"
    r"|respectively|versus|vs|week|weeks|day|days|month|months|doses?|trials?|studies|study"
    r"|white|black|asian|hispanic|caucasian|female|male|women|men|married|employed|smokers?)\b"
)


def _may_list_adverse_events(text: str) -> bool:
    """Whether a sentence is about adverse events (and may list them with their shares)."""
    return "dverse" in text or "side effect" in text or "TEAE" in text


def _may_name_adverse_event(text: str) -> bool:
    low = text.lower()
    for term in _AE_TERMS:  # noqa: SIM110 - a loop is cheaper than any() over a generator
        if term in low:
            return True
    return False


class _AdverseRules:
    """The sentence reader's adverse rules (mixed into the reader)."""

    @cached_property
    def _names_discontinuation_for_adverse_events(self) -> bool:
        return bool(_DISCONTINUATION_RE.search(self.text) and _ADVERSE_RE.search(self.text))

    @cached_property
    def _names_adverse_event_occurrence(self) -> bool:
        return _ADVERSE_EVENT_SENTENCE_RE.search(self.text) is not None

    def _adverse_event_rates(self) -> None:
        for match in _AE_RE.finditer(self.text):
            label = match["label"].lower()
            pct_end = _PERCENT_SIGN_RE.match(self.text, match.end("pct")).end()
            start = match.start("n") if match["n"] else match.start("pct")
            effect = self._make(
                "named_adverse_event", "other", _number(match["pct"]), start, pct_end
            )
            effect.label = label
            effect.n_events = _count(match["n"]) if match["n"] else None
            self.taken.append((start, pct_end))
            if match["pct2"]:
                self._second_share(match, label)

    def _listed_adverse_events(self) -> None:
        for match in _LISTED_EVENT_RE.finditer(self.text):
            if self._overlaps(self.taken, match.start("pct"), match.end()):
                continue
            label = _event_words(match["label"])
            if len(label) < 4 or _NOT_AN_EVENT_RE.search(label):
                continue
            pct_end = _PERCENT_SIGN_RE.match(self.text, match.end("pct")).end()
            effect = self._make(
                "listed_adverse_event", "other", _number(match["pct"]), match.start("pct"), pct_end
            )
            effect.label = label
            self.taken.append((match.start("pct"), pct_end))
            if match["pct2"]:
                self._second_share(match, label, "listed_adverse_event")

    def _second_share(self, match: re.Match, label: str, rule: str = "named_adverse_event"):
        """The second share of "(8.2% versus 2.4%)": the other arm's."""
        end2 = _PERCENT_SIGN_RE.match(self.text, match.end("pct2")).end()
        second = self._make(rule, "other", _number(match["pct2"]), match.start("pct2"), end2)
        second.label = label
        self.taken.append((match.start("pct2"), end2))
        return second


RULES = (
    Rule(
        "listed_adverse_event",
        "adverse_event",
        "an event listed with its share (or one share per arm) in a sentence about adverse "
        "events, whatever its name ('adverse events were rhinitis (4.1% versus 1.2%)')",
        (_LISTED_EVENT_RE.pattern,),
        (Example("The most frequent adverse events with the drug were rhinitis (4.1% versus "
                 "1.2%) and back pain (3.0% vs 2.2%).", "other", 3.0),),
    ),
    Rule(
        "reported_by",
        "adverse_event",
        "the share of patients reporting side effects ('side effects were reported by 71.8%')",
        (_REPORTED_BY_RE.pattern, _REPORTED_AFTER_RE.pattern),
        (Example("Adverse events were reported by 71.8% of the patients.", "other", 71.8),),
    ),
    Rule(
        "named_adverse_event",
        "adverse_event",
        "a named adverse event with its share ('nausea (28.9%)')",
        (_AE_RE.pattern,),
        (Example("Common adverse events were nausea (28.9%) and dizziness (20.9%).",
                 "other", 28.9),),
    ),
)  # fmt: skip
