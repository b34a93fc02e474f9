"""Drug and route rules: which ketamine forms a study is about and how they were given.

The drug and route words themselves are vocabulary entries (`pipeline.vocab.DRUGS`,
`pipeline.vocab.ROUTES`); the named rules here are the cases the vocabulary cannot say alone:
infusions as intravenous, "IV" as a route and not a Roman numeral, oral in a list of routes.
What the background section says earlier studies used is not the study's own drug or route.
"""

from __future__ import annotations

import functools
import re

from pipeline import vocab
from pipeline.extract.facts.matching import (
    Gated,
    contains_any,
    first_character_form,
    gated,
    lower,
    positions,
)
from pipeline.extract.facts.rule import Example, FactRule

_REPEATED = 3  # mentions that make a drug or route more than a passing reference


def _drug_counts(text: str) -> dict[str, int]:
    """Mentions of each drug: racemic "ketamine" is the word not part of "esketamine" etc."""
    low = lower(text)
    esketamine = low.count("esketamine") + low.count("s-ketamine") + low.count("spravato")
    esketamine += low.count("(s)-ketamine")
    esketamine += low.count("(es)ketamine")
    if "ESK" in text:
        esketamine += len(re.findall(r"\bESK\b", text))
    arketamine = low.count("arketamine") + low.count("r-ketamine") + low.count("(r)-ketamine")
    ketamine = low.count("racemic ketamine") + low.count("r,s-ketamine") + low.count("(es)ketamine")
    for at in positions(low, "ketamine"):
        before = low[at - 1] if at else " "
        if not (before.isalnum() or before in ")-") and not low.startswith("-induced", at + 8):
            ketamine += 1
    return {"ketamine": ketamine, "esketamine": esketamine, "arketamine": arketamine}


def drugs_in(text: str) -> list[str]:
    """The ketamine forms `text` names, in vocabulary order."""
    counts = _drug_counts(text)
    return [drug for drug in vocab.DRUG_CODES if counts[drug]]


_BACKGROUND_LABELS = ("BACKGROUND", "INTRODUCTION", "RATIONALE", "CONTEXT", "IMPORTANCE")
_BACKGROUND_LABEL_RE = re.compile(
    rf"(?:{'|'.join(_BACKGROUND_LABELS)}|{'|'.join(w.title() for w in _BACKGROUND_LABELS)})\s?:\s"
)
# The label that ends a background section: one in capitals ("METHODS:", "AIMS:") or a usual
# one in title case ("Objective:", "Methods:").
_NEXT_LABEL_RE = re.compile(
    r"(?<=\s)(?:[A-Z][A-Z/&-]+(?: [A-Z/&-]+)*|Objectives?|Aims?|Methods?|Results|Purpose|Design"
    r"|Areas covered|Materials and methods|Data sources)\s?:\s"
)


_BACKGROUND_NEEDLES = tuple(f"{label.lower()}:" for label in _BACKGROUND_LABELS) + tuple(
    f"{label.lower()} :" for label in _BACKGROUND_LABELS
)


@functools.lru_cache(maxsize=4)
def without_background(abstract: str) -> str:
    """The abstract without its background section ("BACKGROUND: ...", "INTRODUCTION: ..."):
    what earlier studies did, which is not what this study did. Unstructured abstracts and
    abstracts that are all background are returned whole."""
    if ":" not in abstract or not contains_any(lower(abstract), _BACKGROUND_NEEDLES):
        return abstract
    start = _BACKGROUND_LABEL_RE.search(abstract)
    while start and start.start() and not abstract[start.start() - 1].isspace():
        start = _BACKGROUND_LABEL_RE.search(abstract, start.end())
    if not start:
        return abstract
    end = _NEXT_LABEL_RE.search(abstract, start.end())
    if not end:
        return abstract
    return abstract[: start.start()] + abstract[end.start() :]


def study_drugs(title: str, abstract: str) -> list[str] | None:
    """The ketamine forms the study is about: the title's, else those the abstract repeats."""
    from_title = drugs_in(title)
    counts = _drug_counts(without_background(abstract) if from_title else abstract)
    if from_title:
        # A comparator drug the abstract keeps naming counts too (oral ketamine vs esketamine).
        extra = [d for d, n in counts.items() if d not in from_title and n >= _REPEATED]
        return [d for d in vocab.DRUG_CODES if d in from_title + extra]
    from_abstract = [d for d in vocab.DRUG_CODES if counts[d]]
    if len(from_abstract) > 1:
        # Several named: keep those the abstract keeps returning to.
        top = max(counts.values())
        from_abstract = [d for d in from_abstract if counts[d] * 3 >= top]
    return from_abstract or None


_ROUTES = [(route.code, route.pattern) for route in vocab.ROUTES]


def study_routes(title: str, abstract: str) -> list[str] | None:
    """The routes the study gave its drugs by: the title's, and any its own text keeps naming."""
    from_title = routes_in(title)
    # What earlier studies used (the background section) is not this study's route, unless the
    # background is the only place a route is named.
    own = without_background(abstract)
    if not from_title:
        return routes_in(own) or routes_in(abstract)
    # Another route counts when the study itself keeps naming it.
    repeated = [
        route
        for route in routes_in(own) or []
        if route not in from_title and _route_mentions(route, own) >= _REPEATED
    ]
    return [r for r, _ in _ROUTES if r in from_title + repeated]


def _route_mentions(route: str, text: str) -> int:
    if route == "iv":
        return len(_IV_WORDS_RE.findall(text)) + len(_IV_RE.findall(text))
    return len(_MENTION_RES[route].findall(text))


INFUSION = FactRule(
    "infusion_is_intravenous",
    "route",
    "an infusion of a ketamine form: intravenous",
    r"\bketamine infusions?\b|\besketamine infusions?\b"
    r"|\binfusions? of (?:[\w-]+ )?(?:es)?ketamine",
    ("infusion",),
    (
        Example("Six infusions of low-dose ketamine were given.", True),
        Example("Saline infusions were given.", False),
    ),
)
_INFUSION_RE = gated(INFUSION)
_IV_WORDS_RE = re.compile(first_character_form(r"\bintravenous(?:ly)?\b|\binfusions?\b"))
_MENTION_RES = {
    route: re.compile(first_character_form(pattern), re.I)
    for route, pattern in _ROUTES
    if route != "iv"  # counted with _IV_WORDS_RE and _IV_RE
}
INTRAVENOUS = FactRule(
    "intravenous",
    "route",
    "intravenous written out or as i.v.",
    r"\bintravenous(?:ly)?\b|\bi\.v\.",
    ("intravenous", "i.v."),
    (Example("Ketamine was given i.v. over 40 minutes.", True), Example("Given orally.", False)),
)
_INTRAVENOUS_RE = gated(INTRAVENOUS)
# "IV" as a route, not a Roman numeral ("phase IV", "type IV", "grade IV")
_IV_RE = re.compile(
    r"I(?<=\bI)V\b(?<![Pp]hase IV)(?<![Ss]tage IV)(?<![Tt]ype IV)(?<![Cc]lass IV)(?<![Gg]rade IV)"
)
# Oral named in a list of routes: "intravenous, intramuscular, intranasal, oral and sublingual"
_ROUTE_WORDS = ("intravenous", "intramuscular", "intranasal", "subcutaneous", "sublingual")
ORAL_IN_ROUTE_LIST = FactRule(
    "oral_in_route_list",
    "route",
    "oral named in a list of routes",
    "|".join(rf"\b{word},?\s(?:(?:and|or)\s)?(?:\w+,\s)*?oral\b" for word in _ROUTE_WORDS)
    + rf"|\boral(?:,|\sand|\sor)\s(?:{'|'.join(_ROUTE_WORDS)})\b",
    ("oral",),
    (
        Example("Routes were intravenous, intranasal or oral.", True),
        Example("An oral antidepressant was continued.", False),
    ),
)
_ORAL_IN_ROUTE_LIST_RE = gated(ORAL_IN_ROUTE_LIST)
# Lower-case words one of which each route's pattern needs (intravenous: see routes_in).
_ROUTE_NEEDLES = {route.code: route.needles for route in vocab.ROUTES if route.code != "iv"}


_ROUTE_RES = {
    route: Gated(pattern, _ROUTE_NEEDLES[route])
    for route, pattern in _ROUTES
    if route not in ("iv", "oral")
}


def routes_in(text: str) -> list[str] | None:
    """The routes `text` names, in vocabulary order; None when it names none."""
    found = []
    low = lower(text)
    for route, pattern in _ROUTES:
        # Intravenous tests its own words below; every other route needs one of its words.
        if route != "iv" and not contains_any(low, _ROUTE_NEEDLES[route]):
            continue
        if route == "iv":
            hit = _INTRAVENOUS_RE.search(text)
            hit = hit or ("IV" in text and _IV_RE.search(text))
            hit = hit or _INFUSION_RE.search(text)
        elif route == "oral":
            hit = any(
                re.search(pattern, text[max(0, at - 60) : at + 80], re.I)
                for word in ("oral", "tablet", "lozenge")
                for at in positions(low, word)
            ) or (contains_any(low, _ROUTE_WORDS) and _ORAL_IN_ROUTE_LIST_RE.search(text))
        else:
            hit = _ROUTE_RES[route].search(text)  # its words were found just above
        if hit:
            found.append(route)
    return found or None


RULES: tuple[FactRule, ...] = (INFUSION, INTRAVENOUS, ORAL_IN_ROUTE_LIST)


def read(rule: FactRule, text: str) -> bool:
    """Whether a route rule finds its words in `text`."""
    return gated(rule).search(text) is not None
