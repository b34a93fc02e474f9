"""The claim checker: every sentence of free text gets a verdict, in order: supported,
contradicted, not_found or no_claim (nothing checkable), with a reason true of that sentence.

A claim is supported only when a record matches every part of its statement: the number (to the
precision the claim writes it, and as its qualifier "fewer than", "at least", ... reads), the
drug and route, the arm the number belongs to, the measure, the timepoint of that effect (not of
its sentence), the trial (acronym, registry number, author, year, journal) and the negation. A
sentence vague about any of these is not_found, never supported. Regulatory sentences (approvals,
the boxed warning, monitoring) are judged against the bundled facts file. By default only
verified effects count (those a person checked); `include_unreviewed=True` checks against every
extracted effect and says so.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date

import pandas as pd
from tqdm import tqdm

from pipeline import vocab, warehouse
from pipeline.evidence import citations, corrections, regulatory, review
from pipeline.extract import extract_text
from pipeline.extract.numbers import (
    NUMBER_RE,
    WORD_NUMBER,
    parse_number,
    parse_word_number,
)
from pipeline.extract.store import read_arms

log = logging.getLogger(__name__)

SUPPORTED, CONTRADICTED, NOT_FOUND, NO_CLAIM = "supported", "contradicted", "not_found", "no_claim"
VERDICTS = (SUPPORTED, CONTRADICTED, NOT_FOUND, NO_CLAIM)
MAX_EVIDENCE = 10

# --- reading a sentence -------------------------------------------------------------------------

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n")
_CLAIM_WORDS = re.compile(
    r"\b(study|studies|trial|trials|published|journal|found|"
    r"showed|shown|than|compared|versus|vs|better|faster|superior|inferior|fewer)\b",
    re.IGNORECASE,
)


def _term_pattern(term: vocab.Term) -> re.Pattern:
    """A vocabulary term as a claim names it: the words an abstract uses for it (its pattern) or
    the words the evidence sheet shows for it (its display)."""
    display = re.escape(term.display)
    return re.compile(rf"(?:{term.pattern})|\b{display}\b" if term.pattern else rf"\b{display}\b",
                      re.IGNORECASE)  # fmt: skip


# Drugs, routes and comparators from the one vocabulary (pipeline.vocab), keyed by its codes;
# the ketamine forms more specific than "ketamine" are looked for first.
_DRUGS = {d.code: _term_pattern(d) for d in sorted(vocab.DRUGS, key=lambda d: d.code == "ketamine")}
_ROUTES = {r.code: _term_pattern(r) for r in vocab.ROUTES}
_COMPARATORS = {c.code: _term_pattern(c) for c in vocab.COMPARATORS if c.pattern}
# The outcome a claim names, by the rate kinds' own patterns in the vocabulary.
_MEASURES = {k.code: re.compile(k.pattern, re.IGNORECASE) for k in vocab.EFFECT_KINDS if
             k.family == "rate"}  # fmt: skip
# Side effects as the vocabulary names them, then by the stems the sheet shows them by (a
# stem naming no one side effect, such as "adverse" or "discontinu", is not one a claim names).
_NOT_ONE_SIDE_EFFECT = ("adverse", "teae", "side effect", "discontinu", "cadss")
SIDE_EFFECTS = tuple(
    dict.fromkeys(
        [
            *vocab.SIDE_EFFECTS,
            *(s for s in vocab.SIDE_EFFECT_STEMS if s not in _NOT_ONE_SIDE_EFFECT),
        ]
    )
)
# Ratios in a claim are read by the extractor itself (`_read_numbers`). Percents and counts
# as a leaflet writes them are read with the extractor's own number pieces
# (pipeline.extract.numbers): a number in digits or in words, then "%" / "percent", or a count
# "91 of 336", "seven in ten".
_NUMBER_OR_WORD = rf"(?:{NUMBER_RE.pattern}|\b{WORD_NUMBER}\b)"
_PERCENT = re.compile(rf"(?P<n>{_NUMBER_OR_WORD})\s*(?:%|percent\b|per cent\b)", re.IGNORECASE)
_COUNT = re.compile(
    rf"(?P<a>{_NUMBER_OR_WORD})\s+(?:(?:patients\s+|people\s+|participants\s+)?out\s+of|in|of)"
    rf"\s+(?:(?:the|every|all)\s+)?(?P<b>{_NUMBER_OR_WORD})(?![\w.%]|\s*(?:%|percent))",
    re.IGNORECASE,
)
_QUALIFIERS = (
    ("lt", re.compile(r"\b(?:fewer|less|lower)\s+than\s*$|\b(?:under|below)\s*$", re.I)),
    ("gt", re.compile(r"\b(?:more|greater|higher)\s+than\s*$|\b(?:over|above)\s*$", re.I)),
    ("ge", re.compile(r"\b(?:at\s+least|no\s+(?:fewer|less)\s+than|as\s+many\s+as)\s*$", re.I)),
    ("le", re.compile(r"\b(?:up\s+to|at\s+most|no\s+more\s+than)\s*$", re.I)),
    ("about", re.compile(
        r"\b(?:about|around|approximately|roughly|nearly|almost|some|close\s+to)\s*$|~\s*$", re.I
    )),
)  # fmt: skip
_QUALIFIER_WORDS = {"lt": "fewer than", "gt": "more than", "ge": "at least", "le": "up to",
                    "about": "about"}  # fmt: skip
_NEGATION = re.compile(
    r"\b(?:did\s+not|didn't|do\s+not|don't|does\s+not|doesn't|not|never|no|none|neither|nor|"
    r"failed\s+to|without|cannot|can't)\b",
    re.IGNORECASE,
)
_NEGATION_EXEMPT = re.compile(r"\bno\s+(?:fewer|less|more)\s+than\b|\bnot\s+only\b", re.IGNORECASE)
# A trial named by its acronym: "ESCAPE-TRD", "TRANSFORM-2", "SUSTAIN-1"; or a capitalised word
# right before "trial"/"study" ("the KetECT trial", "the KADS study"); or a registry number.
_TRIAL_HYPHENATED = re.compile(
    r"\b[A-Z][A-Za-z]*[A-Z](?:-[A-Z0-9][A-Za-z0-9]*)+\b|\b[A-Z]{3,}-\d+\b"
)
_TRIAL_BEFORE_WORD = re.compile(r"\b([A-Z][A-Za-z]*[A-Z][A-Za-z0-9]*)\s+(?:trial|study)\b")
_TRIAL_IN_PARENS = re.compile(r"\(([A-Z][A-Za-z]*[A-Z][A-Za-z0-9-]*)(?:\s+(?:trial|study))?\)")
_NCT = re.compile(r"\bNCT\d{8}\b")
NOT_TRIAL_NAMES = frozenset([
    "FDA", "US", "USA", "UK", "EU", "IV", "IM", "SC", "ECT", "TRD", "MDD", "RCT", "REMS", "MADRS",
    "HAM-D", "HAMD", "HDRS", "PHQ-9", "QIDS-SR", "QIDS-SR16", "BDI", "BDI-II", "CGI-S", "CGI-I",
    "GAD-7", "IDS", "EPDS", "SSRI", "SNRI", "NMDA", "AD", "OAD", "CI", "HR", "OR", "RR", "NNT",
    "TEAE", "TEAEs", "SD", "MD", "SMD", "II", "III", "IV-B", "COVID-19", "SARS-CoV-2", "DSM-5",
    "DSM-IV", "ICD-10", "NIH", "NIMH", "JAMA", "NEJM", "BMJ", "MRI", "EEG", "PTSD", "OCD", "C-SSRS",
])  # fmt: skip
_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b(?!\s*(?:%|percent))")
_TIMEPOINT = re.compile(
    rf"\b(?:(\d+|{WORD_NUMBER})\s*-?\s*(hours?|hrs?|h|days?|weeks?|months?)\b"
    rf"|(hour|day|week|month)\s+(\d+|{WORD_NUMBER})\b)",
    re.IGNORECASE,
)
_JOURNAL_PHRASE = re.compile(
    r"\b(?:published in|appeared in|reported in|in)\s+(?:the\s+)?"
    r"((?:[A-Z][\w&'-]*)(?:\s+(?:[A-Z][\w&'-]*|of|and|the|for|&))*)"
)
_JOURNAL_WORDS = re.compile(
    r"\b(journal|j|psychiatry|psychiatr\w*|medicine|med|lancet|jama|nature|science|neuro\w*|"
    r"psychopharmacol\w*|bmj|nejm|review|reports)\b",
    re.IGNORECASE,
)
_AUTHOR = re.compile(r"\b([A-Z][a-zA-Z'\-]+)\s+(?:et al\b|and colleagues\b)")
_CLINIC = re.compile(r"\b(our (clinic|patients|practice|center|centre)|at our)\b", re.IGNORECASE)
_VAGUE = re.compile(
    r"\b(antidepressant effects?|improv\w+|benefit\w*|helped|works?|effective|relief)\b",
    re.IGNORECASE,
)
_LOWER = re.compile(
    r"\b(lower(ed|s)?|reduc(e|ed|es|ing)|decreas\w*|fewer|less (likely|often)|cuts?|"
    r"prevent\w*)\b",
    re.IGNORECASE,
)
_HIGHER = re.compile(
    r"\b(higher|rais(e|ed|es)|increas\w*|more (likely|often|people|patients))\b", re.IGNORECASE
)
_COMPARISON = re.compile(r"\b(than|compared|versus|vs)\b", re.IGNORECASE)
_UNIT_FAMILY = {"h": "hour", "hr": "hour", "hrs": "hour", "hour": "hour", "hours": "hour"}


@dataclass(frozen=True)
class ClaimedNumber:
    """One number a claim states: a percent (of a rate), a count "91 of 336", or a named ratio,
    with the arm and timepoint it belongs to and the qualifier before it."""

    value: float
    text: str
    kind: str | None = None  # a ratio kind for ratios; None for a percent or a count
    decimals: int = 0
    qualifier: str | None = None  # lt | gt | ge | le | about
    count: tuple[int, int] | None = None  # (events, total) when written as a count
    arm: str | None = None  # a drug or comparator key the number belongs to
    timepoint: tuple[str, str] | None = None  # (number, unit family) of this number
    start: int = 0
    end: int = 0
    tolerance: float | None = None  # set for fractions in words ("seven in ten": 65-75)

    def matches(self, stated: float) -> bool:
        """The record's value, written to the claim's precision, is the claimed number (read
        through its qualifier: "fewer than 30%" is matched by any value below 30)."""
        stated = float(stated)
        tolerance = (
            self.tolerance
            if self.tolerance is not None
            else 0.5 * 10 ** (-self.decimals)
            if self.decimals < 6
            else 1e-9
        )
        if self.qualifier == "lt":
            return stated < self.value - 1e-9
        if self.qualifier == "gt":
            return stated > self.value + 1e-9
        if self.qualifier == "ge":
            return stated >= self.value - 1e-9
        if self.qualifier == "le":
            return stated <= self.value + 1e-9
        return abs(stated - self.value) <= tolerance + 1e-9

    def matches_count(self, events, total) -> bool | None:
        """For a count: True/False when the record has both counts, None when it has not."""
        events, total = review._none_if_nan(events), review._none_if_nan(total)
        if self.count is None or events is None or total is None or self.qualifier:
            return None
        return (int(events), int(total)) == self.count

    def said(self) -> str:
        """The number as the claim wrote it, with its qualifier."""
        return f"{_QUALIFIER_WORDS[self.qualifier]} {self.text}" if self.qualifier else self.text


@dataclass
class Claim:
    """What one sentence states, as far as the records can check it."""

    sentence: str
    numbers: list[ClaimedNumber] = field(default_factory=list)
    drugs: list[str] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)
    comparators: list[str] = field(default_factory=list)
    measure: str | None = None  # response_rate | remission_rate | relapse_rate | a side effect
    side_effect: str | None = None
    year: int | None = None
    journal: str | None = None
    author: str | None = None
    trials: list[str] = field(default_factory=list)  # acronyms and registry numbers named
    timepoints: list[tuple[str, str]] = field(default_factory=list)  # (number, unit family)
    about_clinic: bool = False
    vague: bool = False
    negated: bool = False
    direction: str | None = None  # 'lower' | 'higher': a comparison stated without a number


_ABBREVIATION_END = re.compile(r"\b(vs|e\.g|i\.e|al|approx|cf|Dr|Fig|No|Ref)\.[\"')\]]?$", re.I)


def iter_sentences(text: str) -> Iterator[tuple[str, int]]:
    """(sentence, offset of its end) of free text, in order, one at a time (paragraph breaks end
    a sentence too; decimals and 'vs.' or 'et al.' do not end one)."""
    begin = 0
    for match in _SENTENCE_SPLIT.finditer(text):
        if match[0].strip() == "" and _ABBREVIATION_END.search(
            text[max(begin, match.start() - 8) : match.start()]
        ):
            continue  # "vs. 45.3%": an abbreviation, not the end of the sentence
        sentence = " ".join(text[begin : match.start()].split())
        if sentence:
            yield sentence, match.end()
        begin = match.end()
    sentence = " ".join(text[begin:].split())
    if sentence:
        yield sentence, len(text)


def split_sentences(text: str) -> list[str]:
    """Sentences of free text, in order."""
    return [sentence for sentence, _ in iter_sentences(text)]


def visible_text(html: str) -> str:
    """The text a reader sees on an HTML page: scripts, styles and markup dropped, each block
    element its own paragraph (lxml's HTML parser)."""
    import lxml.html

    try:
        document = lxml.html.document_fromstring(html)
    except Exception as error:  # lxml raises several types for unreadable markup
        from pipeline.errors import PipelineError

        raise PipelineError(f"the HTML could not be read: {error}") from None
    for element in document.xpath("//script | //style | //noscript | //template | //head"):
        element.drop_tree()
    blocks = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "td", "th",
              "section", "article", "header", "footer", "blockquote", "dd", "dt", "figcaption",
              "ul", "ol", "table", "main", "nav", "aside", "title"}  # fmt: skip
    for element in document.iter():
        if isinstance(element.tag, str) and element.tag.lower() in blocks:
            element.tail = "\n\n" + (element.tail or "")
            if element.text is not None or len(element):
                element.text = "\n\n" + (element.text or "")
    return document.text_content()


def looks_like_html(text: str, name: str = "") -> bool:
    """An HTML page rather than plain text: by its name, or a tag near its start."""
    if name.lower().endswith((".html", ".htm", ".xhtml")):
        return True
    head = text[:2000].lstrip().lower()
    return head.startswith(("<!doctype html", "<html")) or bool(
        re.search(r"<(p|div|body|h[1-6]|ul|li|span|section|article)\b[^>]*>", head)
    )


def is_claim(sentence: str) -> bool:
    """The sentence states a number, a study or a comparison."""
    return bool(
        re.search(r"\d", sentence)
        or _CLAIM_WORDS.search(sentence)
        or _PERCENT.search(sentence)
        or _COUNT.search(sentence)
    )


def _unit(word: str) -> str:
    word = word.lower()
    return _UNIT_FAMILY.get(word, word.rstrip("s"))


def _number_value(text: str) -> float:
    """A number in digits or in words, as numbers.py reads it."""
    text = text.strip()
    if text[:1].isalpha():
        return float(parse_word_number(text))
    return parse_number(text.replace(",", ""))


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text and text[:1] != "." else 0


def _timepoint_key(number: str, unit: str) -> tuple[str, str]:
    value = _number_value(number)
    return (f"{value:g}", _unit(unit))


def timepoints_in(text: str) -> list[tuple[tuple[str, str], int, int]]:
    """((number, unit family), start, end) of each timepoint written in a text."""
    found = []
    for match in _TIMEPOINT.finditer(text):
        if match[1]:
            found.append((_timepoint_key(match[1], match[2]), match.start(), match.end()))
        else:
            found.append((_timepoint_key(match[4], match[3]), match.start(), match.end()))
    return found


def _qualifier(sentence: str, start: int) -> str | None:
    before = sentence[max(0, start - 30) : start]
    for name, pattern in _QUALIFIERS:
        if pattern.search(before):
            return name
    return None


def _arm_terms(sentence: str) -> list[tuple[int, str]]:
    """(offset, key) of every drug and comparator named in the sentence, in order."""
    terms = []
    esketamine_spans = [m.span() for m in _DRUGS["esketamine"].finditer(sentence)]
    for name, pattern in {**_DRUGS, **_COMPARATORS}.items():
        for match in pattern.finditer(sentence):
            if name == "ketamine" and any(a <= match.start() < b for a, b in esketamine_spans):
                continue
            terms.append((match.start(), name))
    return sorted(terms)


def _owner(items: list[tuple[int, str]], start: int, end: int, next_start: int, previous_end: int):
    """What a number at [start, end) belongs to: the first item after it and before the next
    number, else the last one before it and after the previous number."""
    after = [key for at, key in items if end <= at < next_start]
    if after:
        return after[0]
    before = [key for at, key in items if previous_end <= at < start]
    return before[-1] if before else None


def _read_numbers(sentence: str) -> list[ClaimedNumber]:
    """Ratios (read by the extractor, interval included), then counts and percents outside them,
    in order, each with its qualifier."""
    numbers: list[ClaimedNumber] = []
    taken: list[tuple[int, int]] = []
    for effect in extract_text("claim", "", sentence).effects:
        if effect.kind not in vocab.RATIO_KINDS:
            continue
        text = sentence[effect.start : effect.end]
        digits = NUMBER_RE.findall(text)
        numbers.append(ClaimedNumber(
            float(effect.value), text, effect.kind, _decimals(digits[0]) if digits else 2,
            _qualifier(sentence, effect.start), start=effect.start, end=effect.end,
        ))  # fmt: skip
        taken.append((effect.start, effect.end))
    for match in _COUNT.finditer(sentence):
        if any(a <= match.start() < b for a, b in taken):
            continue
        events, total = _number_value(match["a"]), _number_value(match["b"])
        if total <= 0 or events > total or events != int(events) or total != int(total):
            continue
        worded = match["a"][:1].isalpha() or match["b"][:1].isalpha()
        tolerance = 50.0 / total if worded else None  # "seven in ten": 65% to 75%
        numbers.append(ClaimedNumber(
            100.0 * events / total, match[0], None, 6, _qualifier(sentence, match.start()),
            count=None if worded else (int(events), int(total)), start=match.start(),
            end=match.end(), tolerance=tolerance,
        ))  # fmt: skip
        taken.append(match.span())
    for match in _PERCENT.finditer(sentence):
        if any(a <= match.start() < b for a, b in taken):
            continue
        text = match["n"]
        numbers.append(ClaimedNumber(_number_value(text), match[0], None, _decimals(text),
                                     _qualifier(sentence, match.start()), start=match.start(),
                                     end=match.end()))  # fmt: skip
    numbers.sort(key=lambda n: n.start)
    return numbers


def trial_names(text: str) -> list[str]:
    """Trial acronyms a text names ("ESCAPE-TRD", "the KADS study", "(KetECT)") and registry
    numbers, without scale and agency abbreviations."""
    names = [m[0] for m in _TRIAL_HYPHENATED.finditer(text)]
    names += [m[1] for m in _TRIAL_BEFORE_WORD.finditer(text)]
    names += [m[1] for m in _TRIAL_IN_PARENS.finditer(text)]
    names += _NCT.findall(text)
    seen = []
    for name in names:
        if name not in NOT_TRIAL_NAMES and name.upper() not in NOT_TRIAL_NAMES and name not in seen:
            seen.append(name)
    return seen


def parse_claim(sentence: str) -> Claim:
    """Read what a sentence claims: numbers (with their arm, timepoint and qualifier), drug,
    route, measure, negation, study and timepoint."""
    claim = Claim(sentence)
    for name, pattern in _DRUGS.items():
        if pattern.search(sentence):
            claim.drugs.append(name)
    if "esketamine" in claim.drugs and "ketamine" in claim.drugs:
        # "ketamine" inside a sentence about esketamine only counts when written on its own
        stripped = _DRUGS["esketamine"].sub("", sentence)
        if not _DRUGS["ketamine"].search(stripped):
            claim.drugs.remove("ketamine")
    claim.routes = [name for name, pattern in _ROUTES.items() if pattern.search(sentence)]
    claim.comparators = [n for n, pattern in _COMPARATORS.items() if pattern.search(sentence)]
    numbers = _read_numbers(sentence)
    timepoints = timepoints_in(sentence)
    # a number inside a timepoint ("week 8", "24 hours") is not a claimed percent or count
    numbers = [n for n in numbers if not any(a <= n.start < b for _, a, b in timepoints)]
    arms = _arm_terms(sentence)
    for index, number in enumerate(numbers):
        next_start = numbers[index + 1].start if index + 1 < len(numbers) else len(sentence)
        previous_end = numbers[index - 1].end if index else 0
        arm = _owner(arms, number.start, number.end, next_start, previous_end)
        if len({key for key, _, _ in timepoints}) == 1:
            timepoint = timepoints[0][0]
        else:
            points = [(at, key) for key, at, _ in timepoints]
            timepoint = _owner(points, number.start, number.end, next_start, previous_end)
        claim.numbers.append(
            ClaimedNumber(
                **{**asdict(number), "arm": arm, "timepoint": timepoint, "count": number.count}
            )  # fmt: skip
        )
    for name, pattern in _MEASURES.items():
        if pattern.search(sentence):
            claim.measure = name
            break
    lowered = sentence.lower()
    for name in SIDE_EFFECTS:
        if re.search(rf"\b{re.escape(name)}\w*", lowered):
            claim.side_effect = name
            claim.measure = claim.measure or "side_effect"
            break
    year = _YEAR.search(sentence)
    claim.year = int(year[1]) if year else None
    for match in _JOURNAL_PHRASE.finditer(sentence):
        phrase = match[1].strip()
        if _JOURNAL_WORDS.search(phrase):
            claim.journal = phrase
            break
    author = _AUTHOR.search(sentence)
    claim.author = author[1] if author else None
    claim.trials = trial_names(sentence)
    claim.timepoints = [key for key, _, _ in timepoints]
    claim.negated = bool(_NEGATION.search(_NEGATION_EXEMPT.sub(" ", sentence)))
    if _COMPARISON.search(sentence) or claim.comparators:
        lower, higher = bool(_LOWER.search(sentence)), bool(_HIGHER.search(sentence))
        claim.direction = "lower" if lower and not higher else "higher" if higher else None
    claim.about_clinic = bool(_CLINIC.search(sentence))
    claim.vague = claim.measure is None and bool(_VAGUE.search(sentence))
    return claim


# --- the records ------------------------------------------------------------------------------


def _tokens(name: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", name.lower().replace(".", " "))
    return [w for w in words if w not in ("the", "of", "and", "for", "in")]


def journal_matches(phrase: str, names: Sequence[str | None]) -> bool:
    """A journal named in a claim is this one: same words, or its abbreviation word by word
    ('American Journal of Psychiatry' ~ 'Am J Psychiatry')."""
    said = _tokens(phrase)
    for name in names:
        name = review._none_if_nan(name)
        if not name:
            continue
        known = _tokens(name)
        if said == known:
            return True
        if len(said) == len(known) and all(
            s.startswith(k) or k.startswith(s) for s, k in zip(said, known, strict=True)
        ):
            return True
    return False


def article_index(con) -> pd.DataFrame:
    """Every record's year, journal and author surnames (lower case), to find a named study."""
    articles = con.execute(
        "SELECT pmid, pub_year, journal_title, journal_iso, title, abstract FROM core.articles"
    ).df()
    by_pmid: dict[str, set[str]] = {}
    for pmid, last in con.execute("SELECT pmid, lower(last_name) FROM core.authors").fetchall():
        by_pmid.setdefault(pmid, set()).add(last or "")
    articles["author_names"] = [by_pmid.get(p, set()) for p in articles["pmid"]]
    registered: dict[str, set[str]] = {}
    if warehouse.table_columns(con, "core.trial_ids"):
        for pmid, accession in con.execute("SELECT pmid, accession FROM core.trial_ids").fetchall():
            registered.setdefault(pmid, set()).add((accession or "").upper())
    articles["trial_names"] = [
        {n.lower() for n in trial_names(f"{title or ''} {abstract or ''}")}
        | {a.lower() for a in registered.get(pmid, set())}
        for pmid, title, abstract in zip(
            articles["pmid"], articles["title"], articles["abstract"], strict=True
        )
    ]
    return articles.drop(columns=["title", "abstract"])


def records(con, include_unreviewed: bool = False) -> pd.DataFrame:
    """The effects a claim may be checked against, with article and trial facts."""
    effects = review.effect_statuses(con)
    if not include_unreviewed:
        effects = effects[(effects["status"] == review.VERIFIED) & ~effects["needs_rereview"]]
    effects = effects[~effects["is_retracted"].fillna(False).astype(bool)]
    facts_columns = warehouse.table_columns(con, "core.trial_facts")
    if facts_columns:
        drugs = "drugs" if "drugs" in facts_columns else "drug"
        routes = "routes" if "routes" in facts_columns else "route"
        facts = con.execute(
            f"SELECT pmid, {drugs} AS drugs, {routes} AS routes, design FROM core.trial_facts"
        ).df()
    else:
        facts = pd.DataFrame(columns=["pmid", "drugs", "routes", "design"])
    merged = effects.merge(article_index(con), on="pmid", how="left")
    merged = merged.merge(facts, on="pmid", how="left").reset_index(drop=True)
    return with_arms(con, merged)


ARM_COLUMNS = ["arm_label", "arm_drug", "arm_role", "comparator_label", "comparator_drug"]


def with_arms(con, effects: pd.DataFrame) -> pd.DataFrame:
    """The effects with the label, drug and role of their arm and the label and drug of their
    comparator arm, from core.arms through the arm ids (or a reviewer's correction naming an arm
    of the study); None where no arm id says."""
    rows = read_arms(con).to_dict("records")
    by_id = {row["arm_id"]: row for row in rows}
    by_pmid: dict[str, list[dict]] = {}
    for row in rows:
        by_pmid.setdefault(row["pmid"], []).append(row)
    found = {column: [] for column in ARM_COLUMNS}
    for effect in effects.to_dict("records"):
        arm, _ = corrections.arm_of_effect(effect, "arm", by_id, by_pmid)
        comparator, _ = corrections.arm_of_effect(effect, "comparator", by_id, by_pmid)
        found["arm_label"].append(arm["label"] if arm else None)
        found["arm_drug"].append(review._none_if_nan(arm["drug"]) if arm else None)
        found["arm_role"].append(arm["role"] if arm else None)
        found["comparator_label"].append(comparator["label"] if comparator else None)
        found["comparator_drug"].append(
            review._none_if_nan(comparator["drug"]) if comparator else None
        )
    return effects.assign(**found)


def _as_list(value) -> list[str]:
    value = review._none_if_nan(value)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _arm_drugs(effect) -> set[str]:
    """The drugs of an effect's arm and comparator arm in core.arms (empty: no arm id says)."""
    return {d for d in (effect.arm_drug, effect.comparator_drug) if review._none_if_nan(d)}


def _arm_fits(effect, claim: Claim, drug: str) -> bool:
    """The effect is about a group the claim names (the drug, or a named comparator), as its
    arms in core.arms say."""
    drugs = _arm_drugs(effect)
    if review._none_if_nan(effect.arm_label) is None:
        # a single-group study of one drug: every number is about the people who got it
        return effect.design in ("open_label", "observational") and _as_list(effect.drugs) == [drug]
    return bool(drugs & {drug, *claim.comparators})


def _measure_fits(effect, claim: Claim, number: ClaimedNumber) -> bool:
    label = (review._none_if_nan(effect.label) or "").lower()
    if number.kind is not None:  # a ratio: same kind, about the claimed measure
        if effect.kind != number.kind:
            return False
        word = {"relapse_rate": "relaps", "response_rate": "respon", "remission_rate": "remi"}
        wanted = word.get(claim.measure or "")
        context = f"{label} {review.sentence_around(effect.abstract, effect.start, effect.end)[0]}"
        return wanted is None or wanted in context.lower()
    if claim.side_effect:
        return effect.kind == "other" and claim.side_effect in label
    return effect.kind == claim.measure


def effect_timepoints(effect) -> set[tuple[str, str]]:
    """The timepoints of the effect itself (its own timepoint field, never its sentence); a
    small function so that typed timepoint columns can replace the text later."""
    said = review._none_if_nan(getattr(effect, "timepoint", None)) or ""
    return {key for key, _, _ in timepoints_in(said)}


def _timepoint_fits(effect, number: ClaimedNumber | None, claim: Claim) -> bool:
    """The effect's own timepoint is the one the claim gives this number (or, for a claim
    without numbers, every timepoint the claim names)."""
    wanted = [number.timepoint] if number and number.timepoint else []
    if number is None:
        wanted = claim.timepoints
    if not wanted:
        return True
    return set(wanted) <= effect_timepoints(effect)


def _number_arm_fits(effect, number: ClaimedNumber, claim: Claim, drug: str) -> bool:
    """The effect is about the group this number belongs to ("27.1% ... on quetiapine"): its arm
    in core.arms has the drug or comparator the claim gives the number."""
    if number.arm is None or number.kind is not None:
        return _arm_fits(effect, claim, drug)
    if review._none_if_nan(effect.arm_label) is None:
        return number.arm in _DRUGS and _arm_fits(effect, claim, number.arm)
    if review._none_if_nan(effect.comparator_label) is not None:
        return False  # a comparison's number is not one group's rate
    return effect.arm_drug == number.arm


def arm_shown(effect) -> str | None:
    """The arm an effect is about as core.arms labels it ('esketamine 56 mg vs placebo')."""
    arm = review._none_if_nan(getattr(effect, "arm_label", None))
    comparator = review._none_if_nan(getattr(effect, "comparator_label", None))
    if arm is None:
        return None
    return f"{arm} vs {comparator}" if comparator else arm


def _study_fits(row, claim: Claim) -> bool:
    if any(name.lower() not in row.trial_names for name in claim.trials):
        return False
    if claim.year is not None and row.pub_year != claim.year:
        return False
    if claim.journal and not journal_matches(claim.journal, [row.journal_title, row.journal_iso]):
        return False
    return not (claim.author and claim.author.lower() not in row.author_names)


_RATIO_KINDS = vocab.RATIO_KINDS


def _ratio_direction(effect, drug: str) -> str | None:
    """'lower' or 'higher' when the ratio's CI excludes 1, seen from the drug's side."""
    low, high = review._none_if_nan(effect.ci_low), review._none_if_nan(effect.ci_high)
    if low is None or high is None:
        return None
    direction = "lower" if high < 1 else "higher" if low > 1 else None
    if direction is None or effect.arm_drug == drug:
        return direction
    if effect.comparator_drug == drug:  # placebo against esketamine: seen from the drug, reversed
        return {"lower": "higher", "higher": "lower"}[direction]
    return None  # neither arm is the drug: no side to see it from


def _check_direction(claim: Claim, pool: list, basis: str, cited: dict) -> Verdict:
    """A comparison without a number ('lowered the risk of relapse compared with placebo'):
    supported by a ratio for that measure whose CI lies wholly on the claimed side of 1."""
    outcome = _MEASURES[claim.measure]
    candidates = []
    for row in pool:
        context = f"{review._none_if_nan(row.label) or ''} "
        context += review.sentence_around(row.abstract, row.start, row.end)[0]
        if row.kind not in _RATIO_KINDS or not outcome.search(context):
            continue
        drugs = _arm_drugs(row)  # which way a ratio points needs its arms (core.arms)
        drug = next((d for d in claim.drugs if d in drugs), None)
        if drug is None or (claim.comparators and not drugs & set(claim.comparators)):
            continue
        candidates.append((row, _ratio_direction(row, drug)))
    agree = [row for row, d in candidates if d == claim.direction]
    disagree = [row for row, d in candidates if d is not None and d != claim.direction]
    if agree and not disagree:
        evidence = [_evidence(row, None, True, cited) for row in agree][:MAX_EVIDENCE]
        reason = f"a ratio whose confidence interval lies wholly {claim.direction} than 1"
        return Verdict(claim.sentence, SUPPORTED, evidence, reason, basis)
    if disagree:
        evidence = [_evidence(row, None, False, cited) for row in disagree][:MAX_EVIDENCE]
        reason = f"the records show the opposite of '{claim.direction}' (confidence interval)"
        return Verdict(claim.sentence, CONTRADICTED, evidence, reason, basis)
    evidence = [_evidence(row, None, False, cited) for row, _ in candidates][:MAX_EVIDENCE]
    reason = (
        "the records for this comparison do not show a clear difference (the confidence "
        "interval includes 1, or none is given)"
        if candidates
        else "no record gives a ratio for this measure, drug and comparison"
    )
    return Verdict(claim.sentence, NOT_FOUND, evidence, reason, basis)


# --- verdicts ---------------------------------------------------------------------------------


@dataclass
class Verdict:
    """The checker's answer for one sentence."""

    sentence: str
    verdict: str
    evidence: list[dict]
    reason: str
    basis: str

    def to_json(self) -> dict:
        return asdict(self)


def _evidence(effect, claim_number: ClaimedNumber | None, matches: bool, cited: dict) -> dict:
    record = cited.get(effect.pmid)
    return {
        "pmid": effect.pmid,
        "effect_id": effect.effect_id,
        "quote": effect.quote,
        "kind": effect.kind,
        "label": review._none_if_nan(effect.label),
        "value": float(effect.value),
        "arm": arm_shown(effect),
        "timepoint": review._none_if_nan(effect.timepoint),
        "review_status": effect.status,
        "claimed": claim_number.text if claim_number else None,
        "matches": matches,
        "citation": citations.format_ama(record) if record else None,
        "pubmed_url": citations.PUBMED_URL.format(pmid=effect.pmid),
    }


def _describe_study(claim: Claim) -> str:
    """The study as the sentence describes it: 'TRANSFORM-2, 2019, JAMA Psychiatry, Daly et al'."""
    parts = list(claim.trials)
    if claim.year:
        parts.append(str(claim.year))
    if claim.journal:
        parts.append(claim.journal)
    if claim.author:
        parts.append(f"{claim.author} et al")
    return ", ".join(parts)


def check_sentence(
    claim: Claim, effects: pd.DataFrame, articles: pd.DataFrame, basis: str, cited: dict
) -> Verdict:
    """The verdict on one claim against the given effects (`articles`: every record)."""

    def not_found(reason: str, evidence: list[dict] | None = None) -> Verdict:
        return Verdict(claim.sentence, NOT_FOUND, evidence or [], reason, basis)

    reasons = []
    direction_claim = (
        not claim.numbers and claim.direction is not None and claim.measure in _MEASURES
    )
    if claim.about_clinic:
        reasons.append("it is about the clinic's own patients: check it against the clinic's "
                       "metrics, not the published records")  # fmt: skip
    if not claim.numbers and not direction_claim:
        reasons.append("it states no number the records could confirm (a percent, a count or a "
                       "ratio)")  # fmt: skip
    if not claim.drugs:
        reasons.append("it does not name the drug (ketamine, esketamine, arketamine)")
    if claim.measure is None:
        what = "what it calls an effect" if claim.vague else "what was measured"
        reasons.append(
            f"it does not say {what} in terms the records use (response, remission, relapse, "
            "a named side effect or a named ratio)"
        )
    study = effects
    if claim.year or claim.journal or claim.author or claim.trials:
        described = {row.pmid for row in articles.itertuples() if _study_fits(row, claim)}
        if not described:
            described_text = _describe_study(claim)
            reasons.insert(0, f"no record matches the study it describes ({described_text})")
        study = effects[effects["pmid"].isin(described)]
    if reasons:
        return not_found("; ".join(reasons))
    pool = []
    for row in study.itertuples():
        drugs, routes = _as_list(row.drugs), _as_list(row.routes)
        drug = next((d for d in claim.drugs if d in drugs), None)
        if drug is None or (claim.routes and not set(claim.routes) & set(routes)):
            continue
        pool.append((row, drug))
    if direction_claim:
        if claim.negated:
            return not_found("it is negated ('not', 'no'), and a comparison without a number "
                             "is checked only as stated")  # fmt: skip
        rows = [r for r, d in pool if _arm_fits(r, claim, d) and _timepoint_fits(r, None, claim)]
        return _check_direction(claim, rows, basis, cited)
    supported_by: dict[str, list] = {}  # pmid -> matching effects, per claimed number
    contradicting = []
    outcome = []
    for number in claim.numbers:
        candidates = [
            row
            for row, drug in pool
            if _number_arm_fits(row, number, claim, drug)
            and _timepoint_fits(row, number, claim)
            and _measure_fits(row, claim, number)
        ]
        matching = []
        for row in candidates:
            by_count = number.matches_count(row.n_events, row.n_total)
            if by_count is True or (by_count is None and number.matches(row.value)):
                matching.append(row)
        bound = number.qualifier in ("lt", "gt", "ge", "le")
        if bound and len(matching) < len(candidates):
            # "fewer than 27.1%" is a statement about the group: a record outside it refutes it
            outcome.append(CONTRADICTED)
            contradicting.extend((number, row) for row in candidates if row not in matching)
        elif matching:
            outcome.append(SUPPORTED)
            for row in matching:
                supported_by.setdefault(row.pmid, []).append((number, row))
        elif candidates:
            outcome.append(CONTRADICTED)
            contradicting.extend((number, row) for row in candidates)
        else:
            outcome.append(NOT_FOUND)
    if claim.negated:
        if SUPPORTED in outcome or CONTRADICTED in outcome:
            found = [(n, r) for rows in supported_by.values() for n, r in rows] + contradicting
            evidence = [_evidence(row, n, False, cited) for n, row in found][:MAX_EVIDENCE]
            return Verdict(
                claim.sentence, CONTRADICTED, evidence,
                "the sentence is negated ('not', 'no', 'never'), but the records state the "
                "measure without a negation: " + _record_values(found), basis,
            )  # fmt: skip
        return not_found("it is negated ('not', 'no', 'never') and no record states it so")
    if CONTRADICTED in outcome:
        evidence = [_evidence(row, n, False, cited) for n, row in contradicting][:MAX_EVIDENCE]
        said = ", ".join(n.said() for n, s in zip(claim.numbers, outcome, strict=True)
                         if s == CONTRADICTED)  # fmt: skip
        return Verdict(
            claim.sentence, CONTRADICTED, evidence,
            f"the records say otherwise than {said} for the same drug, measure, group and "
            f"timepoint: {_record_values(contradicting)}", basis,
        )  # fmt: skip
    if outcome and all(s == SUPPORTED for s in outcome):
        needed = len(claim.numbers)
        for _pmid, found in supported_by.items():
            if len({id(n) for n, _ in found}) == needed:
                evidence = [_evidence(row, n, True, cited) for n, row in found][:MAX_EVIDENCE]
                return Verdict(claim.sentence, SUPPORTED, evidence, "a record states it", basis)
        return not_found("each number is in some record, but no one record states them all")
    missing = [n for n, s in zip(claim.numbers, outcome, strict=True) if s == NOT_FOUND]
    parts = []
    for number in missing:
        part = number.said()
        if number.arm:
            part += f" for {number.arm}"
        if number.timepoint:
            part += f" at {number.timepoint[1]} {number.timepoint[0]}"
        parts.append(part)
    return not_found(
        f"no record states {', '.join(parts)} for this drug and measure"
        + (f" in the study described ({_describe_study(claim)})" if study is not effects else "")
    )


def _record_values(found: list) -> str:
    """What the records give instead, e.g. '17.6 (quetiapine, week 8; PMID 37792613)'."""
    said = []
    for _number, row in found[:MAX_EVIDENCE]:
        context = ", ".join(
            str(v) for v in (arm_shown(row), review._none_if_nan(row.timepoint)) if v
        )
        value = f"{float(row.value):g}"
        events, total = review._none_if_nan(row.n_events), review._none_if_nan(row.n_total)
        if events is not None and total is not None:
            value += f" ({int(events)} of {int(total)})"
        said.append(f"{value} ({context + '; ' if context else ''}PMID {row.pmid})")
    return "; ".join(dict.fromkeys(said))


@dataclass
class ClaimReport:
    """Verdicts for every sentence of a text, and what they were checked against."""

    basis: str
    n_effects: int
    verdicts: list[Verdict]
    n_sentences: int
    facts_notice: str | None = None

    def basis_sentence(self) -> str:
        if self.basis == "verified":
            text = (
                f"Checked against the {self.n_effects} verified effect(s) only (checked by a "
                "person); unreviewed extractions do not count."
            )
        else:
            text = (
                f"Checked against all {self.n_effects} extracted effect(s), including ones no "
                "person has reviewed: a 'supported' here is not yet fit for patient materials."
            )
        text += " Regulatory sentences are checked against the bundled facts file."
        return text + (f" {self.facts_notice}" if self.facts_notice else "")


class Checker:
    """Everything needed to judge sentences, loaded once from the warehouse."""

    def __init__(self, con, *, include_unreviewed: bool = False, today: date | None = None):
        self.basis = "all_extracted" if include_unreviewed else "verified"
        self.effects = records(con, include_unreviewed)
        self.articles = article_index(con)
        pmids = sorted(set(self.effects.pmid))
        self.cited = {r.pmid: r for r in citations.load_citation_records(con, pmids)}
        self.facts = regulatory.load_facts()
        self.today = today or warehouse.now().date()
        self.by_drug = {
            drug: self.effects[[drug in _as_list(d) for d in self.effects["drugs"]]]
            for drug in _DRUGS
        }

    def judge(self, sentence: str) -> Verdict:
        """The verdict on one sentence: regulatory, a claim about the records, or no claim."""
        from pipeline.evidence import regulatory_claims

        ruled = regulatory_claims.judge(sentence, self.facts, self.basis, self.today)
        if ruled is not None:
            return ruled
        if not is_claim(sentence):
            return Verdict(sentence, NO_CLAIM, [],
                           "it states no number, study, comparison or regulatory fact to check",
                           self.basis)  # fmt: skip
        claim = parse_claim(sentence)
        effects = self.effects
        if claim.drugs:
            frames = [self.by_drug[d] for d in claim.drugs]
            effects = (
                pd.concat(frames).drop_duplicates("effect_id") if len(frames) > 1 else frames[0]
            )
        return check_sentence(claim, effects, self.articles, self.basis, self.cited)


def iter_verdicts(
    checker: Checker, text: str, *, progress: bool | None = None
) -> Iterator[Verdict]:
    """One verdict per sentence, in order, streamed; a progress bar (characters) on stderr for
    long texts."""
    show = len(text) >= 200_000 if progress is None else progress
    with tqdm(total=len(text), unit="char", unit_scale=True, desc="checking sentences",
              disable=not show, file=sys.stderr) as bar:  # fmt: skip
        done = 0
        for sentence, end in iter_sentences(text):
            yield checker.judge(sentence)
            bar.update(end - done)
            done = end


def check_text(
    con,
    text: str,
    *,
    include_unreviewed: bool = False,
    html: bool | None = None,
    progress: bool | None = None,
    today: date | None = None,
) -> ClaimReport:
    """Check every sentence of a text (or of an HTML page's visible text) against the
    warehouse and the regulatory facts."""
    if html or (html is None and looks_like_html(text)):
        text = visible_text(text)
    checker = Checker(con, include_unreviewed=include_unreviewed, today=today)
    verdicts = list(iter_verdicts(checker, text, progress=progress))
    notice = regulatory.stale_notice(checker.facts, checker.today)
    return ClaimReport(checker.basis, len(checker.effects), verdicts, len(verdicts), notice)


def format_verdict(verdict: Verdict) -> str:
    """One verdict as lines for a terminal."""
    lines = [f"[{verdict.verdict}] {verdict.sentence}"]
    if verdict.verdict != SUPPORTED:
        lines.append(f"    {verdict.verdict.replace('_', ' ')}: {verdict.reason}")
    for item in verdict.evidence:
        if "fact_id" in item:
            lines.append(f'    fact {item["fact_id"]}: "{item["wording"]}" ({item["citation"]})')
            continue
        context = ", ".join(str(item[k]) for k in ("label", "arm", "timepoint") if item.get(k))
        lines.append(
            f'    PMID {item["pmid"]}: "{item["quote"]}" ({item["kind"]} {item["value"]:g}'
            + (f"; {context}" if context else "")
            + f"; {item['review_status']})"
        )
    return "\n".join(lines)


def format_report(report: ClaimReport) -> str:
    """The report as text for a terminal."""
    lines = [report.basis_sentence(), ""]
    for verdict in report.verdicts:
        lines += [format_verdict(verdict), ""]
    counts = {v: sum(1 for x in report.verdicts if x.verdict == v) for v in VERDICTS}
    lines.append(
        f"{report.n_sentences} sentence(s): {counts[SUPPORTED]} supported, "
        f"{counts[CONTRADICTED]} contradicted, {counts[NOT_FOUND]} not found, "
        f"{counts[NO_CLAIM]} with no claim to check"
    )
    return "\n".join(lines) + "\n"
