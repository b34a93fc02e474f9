"""Effect sizes in abstract text: rates, mean differences and changes, SMD/d/g, ratios, NNT.

Rules work sentence by sentence on number tokens. A number is an effect estimate when it is
followed by a confidence interval (labelled "95% CI ..." or a bare bracket the estimate lies
in), when it directly follows a named statistic ("OR = 2.2", "NNT, 6", "effect sizes were
0.48 and 0.63"), when it carries an SE or SD in a sentence about change or difference, or
when it is a percentage tied to response, remission, relapse or a named adverse event.
Its kind comes from the nearest statistic named before it, else from the words around it.
Every effect keeps the span it came from: `abstract[start:end]` contains its value as written.
An effect whose numbers cannot be represented (a float would make a 330-digit percentage
infinite) or are impossible for its kind (a response rate over 100%) is quarantined with its
span and the reason, never output as an effect and never dropped.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cached_property

from pipeline import vocab
from pipeline.extract.numbers import (
    MAX_COUNT_DIGITS,
    MINUS_CHARS,
    NUMBER_RE,
    P_VALUE_RE,
    SIGNED,
    SP,
    UNSIGNED,
    WORD_NUMBER,
    NumberOutOfRange,
    p_operator,
    parse_count,
    parse_number,
    parse_p_value,
    parse_word_number,
    shown_number,
)
from pipeline.extract.sentences import Sentence, split_sentences

# Case-insensitive rules match ASCII words: as exact on this text and far faster than Unicode
# case folding (the few rules that need Unicode spaces via \s keep re.IGNORECASE alone).
_CI = re.IGNORECASE | re.ASCII

RATE_KINDS = vocab.RATE_KINDS
BETWEEN_GROUP_KINDS = vocab.BETWEEN_GROUP_KINDS


@dataclass
class Effect:
    """One reported effect, tied to the characters of the abstract it came from."""

    kind: str
    value: float
    start: int
    end: int
    quote: str
    sentence: str
    sentence_start: int
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float | None = None
    p: float | None = None
    p_operator: str | None = None
    se: float | None = None
    n_events: int | None = None
    n_total: int | None = None
    arm: str | None = None
    timepoint: str | None = None
    scale: str | None = None
    label: str | None = None
    rule: str | None = None  # the name of the rule that read it (pipeline.extract.rules)
    # Study structure (pipeline.extract.arms): the arm it is about and the arm it is compared
    # with, the timepoint in days, "lower"/"higher" when words give the direction of a
    # difference, the population its sentence names, and the subgroup (not read yet: None).
    arm_id: str | None = None
    comparator_arm_id: str | None = None
    timepoint_days: float | None = None
    direction: str | None = None
    population: str | None = None
    subgroup: str | None = None

    def to_dict(self) -> dict:
        """The effect as a plain dict (the JSON-lines form of `extract-text`)."""
        return asdict(self)


@dataclass
class QuarantinedEffect:
    """An effect the rules found whose numbers cannot be output: its kind, span and why."""

    kind: str
    quote: str
    start: int
    end: int
    reason: str

    def to_dict(self) -> dict:
        """The JSON form: {"kind", "quote", "start", "end", "reason"}."""
        return asdict(self)


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
    """`parse_number`, with an `_Unrepresentable` (signed infinity) where a float cannot hold it."""
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


_FIELD_NAMES = {
    "value": "value", "ci_low": "lower CI bound", "ci_high": "upper CI bound", "se": "SE",
    "p": "p-value", "n_events": "count", "n_total": "count",
}  # fmt: skip


def quarantine_reason(effect: Effect) -> str | None:
    """Why an effect cannot be output, or None: a number that cannot be represented, or a
    value impossible for its kind (a response, remission or relapse rate outside 0-100%)."""
    for name, field_name in _FIELD_NAMES.items():
        number = getattr(effect, name)
        if isinstance(number, _Unrepresentable | _TooLargeCount):
            return f"the {field_name} {shown_number(number.text)} {number.reason}"
        if isinstance(number, float) and not math.isfinite(number):
            return f"the {field_name} is not a finite number"
    if effect.kind in RATE_KINDS and not 0 <= effect.value <= 100:
        return f"a {effect.kind} of {_shown(effect.value)} is not a share of patients (0 to 100)"
    if effect.kind in vocab.RATIO_KINDS:
        for name in ("value", "ci_low", "ci_high"):
            number = getattr(effect, name)
            if number is not None and number <= 0:
                what = f"a {effect.kind}" if name == "value" else f"the {_FIELD_NAMES[name]}"
                return f"{what} of {_shown(number)} is impossible (a ratio is above 0)"
    if effect.kind == "nnt" and effect.value == 0:
        return "an NNT of 0 is impossible (at least one patient is treated)"
    return None


def _shown(number: float) -> int | float:
    """A number as a reason shows it: 150 rather than 150.0."""
    return int(number) if float(number).is_integer() else number


# Statistics the contract has no kind for: reported as "other" with this label.
_OTHER_STATISTICS = {
    "nnh": "number needed to harm",
    "auc": "area under the curve",
    "beta": "regression coefficient",
    "r_squared": "variance explained (R²)",
}


# A decimal comma: "3,2", "0,005", "1,4–7,1". Not a thousands separator, which has three
# digits after the comma and no leading zero before it ("1,234", "12,500").
_DECIMAL_COMMA_RE = re.compile(r"(?<![\d,.])(?:0,\d+|[1-9]\d*,\d{1,2}|\d+,\d{4,})(?![\d,])")

# --- vocabularies -------------------------------------------------------------------------

# Named statistics and the kind they give. Written out case by case (no IGNORECASE, every
# alternative starting with a literal) because this scan runs on every sentence with a number;
# word boundaries are checked on each match instead of in the pattern.
_STRONG_TERMS = {
    "smd": ("standardized mean difference", "standardised mean difference", "SMD",
            "effect size"),
    "odds_ratio": ("odds ratio", "adjusted odds ratio", "reporting odds ratio", "OR", "aOR",
                   "dOR", "ROR", "aROR"),
    "risk_ratio": ("risk ratio", "relative risk", "rate ratio", "RR", "aRR"),
    "hazard_ratio": ("hazard ratio", "HR", "aHR"),
    "nnt": ("number needed to treat", "numbers needed to treat", "NNT"),
    "nnh": ("number needed to harm", "numbers needed to harm", "NNH"),
    "auc": ("AUC", "area under the curve", "area under the ROC curve"),
    "beta": ("β", "beta coefficient", "regression coefficient", "standardized coefficient β"),
    "r_squared": ("R2", "R²", "R-squared"),
    "mean_difference": ("mean difference", "MD", "WMD", "difference", "differed", "Δ",
                        "pooled estimate"),
}  # fmt: skip
_TERM_KIND: dict[str, tuple[str, str]] = {}  # lower-case term -> (kind, term as written)
for _kind, _terms in _STRONG_TERMS.items():
    for _term in _terms:
        _TERM_KIND[_term.lower()] = (_kind, _term)
_STRONG_ALTERNATIVES = sorted(
    {t[0].upper() + t[1:] for terms in _STRONG_TERMS.values() for t in terms}
    | {t for terms in _STRONG_TERMS.values() for t in terms},
    key=len,
    reverse=True,
)


def _term_trie(terms: list[str]) -> str:
    """Alternatives matching exactly what `"|".join(terms, longest first)` matches, each term
    with an optional plural "s" after a letter, written as a tree of shared prefixes
    ("H(?:Rs?|azard ratios?)"): the regex engine then tries one branch per first letter
    instead of every term at every position. A term that extends another is tried first."""
    tree: dict = {}
    for term in terms:
        node = tree
        for char in term:
            node = node.setdefault(char, {})
        node[""] = {}  # a term ends here

    def branches(node: dict, last: str) -> str:
        parts = [re.escape(c) + branches(node[c], c) for c in sorted(node) if c]
        if "" in node:
            parts.append("s?" if last.isalpha() else "")  # after the longer terms
        return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"

    return "|".join(re.escape(c) + branches(tree[c], c) for c in sorted(tree))


_STRONG_RE = re.compile(
    "|".join(
        [r"Hedges['’]?s?\s?g", r"Cohen['’]?s?\s?d", r"d(?=\s?[=:])", r"g(?=\s?[=:])"]
        + [_term_trie(_STRONG_ALTERNATIVES)]
    )
)


_STATISTIC_WORDS = (
    "ratio", "risk", "effect size", "standardi", "hedges", "cohen", "needed to", "differ",
    "pooled estimate", "mean difference", "d =", "d=", "g =", "g=", "d\u2009=", "g\u2009=",
    "r =", "r=",
    "d:", "g:", "δ", "area under", "coefficient", "r-squared",
)  # fmt: skip
_STATISTIC_ABBREVIATIONS = (
    "OR", "HR", "RR", "SMD", "NNT", "NNH", "MD", "Δ", "AUC", "β", "R2", "R²",
)  # fmt: skip


def _may_name_statistic(text: str, low: str | None = None) -> bool:
    """Whether a sentence can name a statistic at all (a cheap test before the full scan);
    `low` is the sentence in lower case when the caller has it."""
    for word in _STATISTIC_ABBREVIATIONS:  # plain loops: cheaper than any() over a generator
        if word in text:
            return True
    low = text.lower() if low is None else low
    for word in _STATISTIC_WORDS:  # noqa: SIM110
        if word in low:
            return True
    return False


def _strong_kind(match: re.Match, text: str) -> str | None:
    """The kind a named statistic gives, or None when the match is part of a longer word."""
    start, end = match.span()
    if start and (text[start - 1].isalnum() or text[start - 1] in "'’-"):
        return None
    if end < len(text) and text[end].isalnum():
        return None
    word = match.group()
    if word.startswith("Hedges") or word == "g":
        return "hedges_g"
    if word.startswith("Cohen") or word == "d":
        return "cohens_d"
    key = word.lower()
    found = _TERM_KIND.get(key) or _TERM_KIND.get(key[:-1])
    if not found:
        return None
    kind, term = found
    if term != term.lower() and word not in (term, term + "s"):
        return None  # an abbreviation counts only as written: "OR", not "Or"
    return kind


_DIFFERENCE_CUES_RE = re.compile(
    r"\b(?:greater|lower|higher|less|more|compared|than|vs\.?|versus|between|superior)\b",
    _CI,
)
# Words that name a treatment arm, and a short phrase around one ("esketamine 56 mg",
# "esketamine plus AD", "antidepressant/placebo", "the quetiapine XR").
_ARM_WORD = vocab.ARM_WORD_PATTERN
_ARM_PHRASE = (
    rf"\b(?:[A-Za-z][\w.-]*{SP}){{0,2}}?{_ARM_WORD}(?:{SP}(?:nasal{SP}spray|NS|XR|tablets?))?"
    rf"(?:{SP}?(?:/|\+|plus|and){SP}?(?:an?{SP})?(?:oral{SP})?{_ARM_WORD})?"
    rf"(?:{SP}\d+(?:\.\d+)?{SP}?mg(?:/kg)?)?"
)
_COMPARISON_RE = re.compile(
    rf"(?P<a>{_ARM_PHRASE})(?:-treated)?(?:{SP}(?:group|arm|cohort|patients))?{SP}(?:vs\.?|versus"
    rf"|v\.|compared{SP}(?:with|to)|than(?:{SP}(?:with|in|for))?){SP}(?:the{SP})?(?P<b>{_ARM_PHRASE})",
    _CI,
)
# Between the two values of a pair: "64% vs 28%", "-8.1 ± 10.0 vs -2.5", "24 (26.7%) and 16".
_PAIR_GAP_RE = re.compile(
    rf"(?:{SP}?(?:±{SP}?{UNSIGNED}|[\[(][^\[\]()]{{1,20}}[\])]))?[\])]?{SP}?,?{SP}?"
    rf"(?:vs\.?|versus|v\.|and|compared with){SP}?"
)


_ARM_WORD_RE = re.compile(_ARM_WORD, _CI)
# The same words in lower-cased text (which holds no ASCII capital): a case-sensitive scan, faster.
_ARM_WORD_LOWER_RE = re.compile(_ARM_WORD.lower(), re.ASCII)
_ARM_MODIFIERS = frozenset(
    ["oral", "intranasal", "intravenous", "iv", "subcutaneous", "racemic", "active", "matching"]
)


def _arm_name(phrase: str) -> str | None:
    """The arm as the text names it, from its first treatment word ("lower with ketamine" ->
    "ketamine"), keeping a route or formulation word just before it ("oral ketamine")."""
    first = _ARM_WORD_RE.search(phrase)
    if not first:
        return None
    before = phrase[: first.start()].split()
    kept = before[-1:] if before and before[-1].lower() in _ARM_MODIFIERS else []
    name = " ".join([*kept, phrase[first.start() :].strip()])
    if name[:2].istitle():
        name = name[0].lower() + name[1:]  # "Esketamine" opening a title: "esketamine"
    return name or None


_ARM_WORD_BOUNDED = rf"\b{_ARM_WORD}\b"
# One arm as a sentence names it: "ketamine", "esketamine/antidepressant", "esketamine+AD",
# "propofol-ECT", "esketamine and antidepressant group" ("and" joins only before "group").
_ARM_MENTION_RE = re.compile(
    rf"{_ARM_WORD_BOUNDED}(?:(?:{SP}?(?:/|\+|-){SP}?|{SP}plus{SP}(?:an?{SP})?(?:oral{SP})?)"
    rf"{_ARM_WORD_BOUNDED}|{SP}and{SP}{_ARM_WORD_BOUNDED}(?={SP}(?:group|arm)\b))?",
    _CI,
)
_ARM_CANONICAL = vocab.ARM_SYNONYMS
_COMPARED_BEFORE_RE = re.compile(
    rf"(?:compared{SP}(?:to|with)|relative{SP}to|versus|vs\.?|than){SP}(?:the{SP})?$",
    _CI,
)


_CONTROLS = frozenset(["placebo", "midazolam", "ect", "antidepressant", "quetiapine"])


def _arm_key(name: str) -> frozenset[str]:
    """What an arm name means, for telling two mentions apart: "ESK+AD" = "esketamine plus AD"."""
    words = _ARM_WORD_RE.findall(name)
    return frozenset(_ARM_CANONICAL.get(w.lower(), w.lower()) for w in words)


def _sentence_arms(text: str, found: list[re.Match]) -> tuple[str, str] | None:
    """The two arms a sentence compares, first arm first, or None when it names not exactly two.

    `found` are the sentence's arm mentions (`_ARM_MENTION_RE`). "A vs B" (or "A compared
    with B", "A than B") decides the order where it is written; otherwise the order of first
    mention, unless the first mention follows "compared with" ("Compared with placebo,
    esketamine had higher response (64% vs 28%)").
    """
    if len(found) < 2:
        return None
    low = text.lower()
    if any(word in low for word in (" vs", "versus", " than ", "compared", " v. ")):
        # the comparison's first arm may start two words before the first mention
        comparison = _COMPARISON_RE.search(text, max(0, found[0].start() - 40))
        if comparison:
            first, second = _arm_name(comparison["a"]), _arm_name(comparison["b"])
            if first and second and _arm_key(first) != _arm_key(second):
                return first, second
    if "mg" in text:
        return None  # several doses of one drug: more arms than mentions
    mentions: dict[frozenset[str], tuple[int, str]] = {}
    for match in found:
        if text.startswith("-", match.end()) and text[match.end() + 1 : match.end() + 2].isdigit():
            continue  # "KET01-03": a trial's name
        if _LABEL_AFTER_RE.match(text, match.end()):
            continue  # "ketamine: RR = 0.72": a subgroup's label, not one side of a comparison
        mentions.setdefault(_arm_key(match.group()), (match.start(), match.group()))
    if len(mentions) != 2:
        return None
    (first_at, first), (_, second) = sorted(mentions.values())
    if _COMPARED_BEFORE_RE.search(text, max(0, first_at - 20), first_at):
        first, second = second, first
    return first, second


# An arm named right before its value: "ESK (4.5%)", "placebo 31.0%", "ketamine: RR = 0.72",
# "esketamine 28 mg: -4.2", "esketamine-treated patients (57.1%)".
_ARM_BEFORE_RE = re.compile(
    rf"(?<![\w-])(?P<arm>{_ARM_MENTION_RE.pattern}(?:{SP}\d+(?:\.\d+)?{SP}?mg(?:/kg)?)?)"
    rf"(?:-(?:treated|assigned))?(?:{SP}(?:group|arm|patients|participants))?"
    rf"{SP}?[:,]?{SP}?[\[(]?{SP}?$",
    _CI,
)


_LABEL_AFTER_RE = re.compile(rf"{SP}?:")
_RESPECTIVELY_RE = re.compile(rf"(?:{SP}?[\[(][^\[\]()]{{1,20}}[\])])?[\])]*,?{SP}respectively")
_LABELLED_BEFORE_RE = re.compile(rf"[\w)]{SP}?:{SP}?$")
_LIST_GAP_RE = re.compile(
    rf"(?:{SP}?[\[(][^\[\]()]{{1,20}}[\])])?{SP}?(?:,{SP}?(?:and{SP})?|{SP}and{SP})"
)
_ARM_LIST_RE = re.compile(
    rf"[\])]*,?{SP}(?:for|in){SP}(?:the{SP})?(?P<items>(?:vs\.|[^;.()]){{1,120}}?)"
    rf"(?:{SP}(?:dose{SP})?(?:groups|arms))?(?:,?{SP}respectively)?(?=[;.)]|$)"
)
_DOSE_ITEM_RE = re.compile(rf"\d+(?:\.\d+)?{SP}?-?mg")


_VERSUS_RE = re.compile(rf"{SP}(?:vs\.?|versus){SP}")


def _comparison_name(text: str) -> str:
    """ "esketamine+AD vs. placebo+AD" -> "esketamine+AD vs placebo+AD"."""
    return _VERSUS_RE.sub(" vs ", text.strip())


_LIST_SPLIT_RE = re.compile(rf",{SP}?(?:and{SP}|or{SP})?|{SP}(?:and|or){SP}")


_NAMED_PAIR_GAP_RE = re.compile(
    rf"[\])]?{SP}?,?{SP}?(?:vs\.?|versus|v\.|compared{SP}with|and){SP}(?P<rest>.{{1,60}})"
)


def _arm_before(
    text: str, start: int, found: list[re.Match], *, after_versus: bool = False
) -> str | None:
    """The arm written directly before an effect's span (within a few words), or None.

    `found` are the sentence's arm mentions; the arm must start at the last one before the
    span. An arm that follows "compared with", "than" or "vs" counts only with `after_versus`
    (the second value of a pair: "esketamine 52.5% vs placebo 31.0%")."""
    last = bisect_right(found, start, key=_match_end) - 1  # `found` is in text order
    if last < 0 or start - found[last].end() > 40:
        return None
    match = _ARM_BEFORE_RE.match(text, found[last].start(), start)
    if not match:
        return None
    if not after_versus and _COMPARED_BEFORE_RE.search(
        text, max(0, match.start() - 20), match.start()
    ):
        return None
    return match["arm"]


def assign_arms(
    effects: list[Effect], first: str, second: str, skip: set[int] | frozenset = frozenset()
) -> None:
    """Give effects without an arm the arms of a two-arm comparison: the values of a pair
    written "X vs Y" (or "X and Y") get `first` and `second`, between-group effects "A vs B".
    Effects whose id is in `skip` are left alone."""
    for left, right in zip(effects, effects[1:], strict=False):
        if left.sentence_start != right.sentence_start or left.kind != right.kind:
            continue
        if id(left) in skip or id(right) in skip:
            continue
        gap = left.sentence[left.end - left.sentence_start : right.start - right.sentence_start]
        if left.arm is None and right.arm is None and _PAIR_GAP_RE.fullmatch(gap):
            left.arm, right.arm = first, second
    for effect in effects:
        if effect.kind not in BETWEEN_GROUP_KINDS or id(effect) in skip:
            continue
        if effect.arm is None or (
            _arm_key(effect.arm) == _arm_key(second) and _arm_key(second) & _CONTROLS
        ):
            effect.arm = f"{first} vs {second}"
        elif " vs " not in effect.arm and not _arm_key(effect.arm):
            # "for the 56-mg dose" against placebo: "esketamine 56-mg vs placebo"
            effect.arm = f"{first} {effect.arm} vs {second}"
        elif (
            " vs " not in effect.arm
            and _arm_key(effect.arm) == _arm_key(first)
            and _arm_key(second) & _CONTROLS
        ):
            effect.arm = f"{effect.arm} vs {second}"  # "esketamine 28 mg: -4.2" vs placebo


_RANDOMIZED_TO_RE = re.compile(
    rf"\b(?:randomi[sz]ed|randomly{SP}(?:assigned|allocated)|assigned)(?:{SP}\([\d:]+\))?"
    rf"{SP}to{SP}(?:receive{SP})?(?:either{SP})?(?P<a>{_ARM_PHRASE}){SP}or{SP}(?P<b>{_ARM_PHRASE})",
    _CI,
)


def study_arms(title: str, abstract: str) -> tuple[str, str] | None:
    """The study's one comparison ("esketamine versus quetiapine", "randomized to ketamine or
    midazolam") from its title or abstract; None when it names none or several."""
    found: dict[frozenset, tuple[str, str]] = {}
    for text in (title, abstract):
        low = text.lower()
        for regex, needles, before, after in (
            (_COMPARISON_RE, (" vs", "versus", " than ", "compared", " v. "), 70, 90),
            (_RANDOMIZED_TO_RE, ("random", "assigned"), 0, 150),
        ):
            for start, end in _windows(low, needles, before, after):
                for match in regex.finditer(text, start, end):
                    first, second = _arm_name(match["a"]), _arm_name(match["b"])
                    if not first or not second or _arm_key(first) == _arm_key(second):
                        continue
                    found.setdefault(
                        frozenset([_arm_key(first), _arm_key(second)]), (first, second)
                    )
    return next(iter(found.values())) if len(found) == 1 else None


def _windows(low: str, needles: tuple[str, ...], before: int, after: int) -> list[tuple[int, int]]:
    """Spans from `before` characters ahead of a needle to `after` characters past it, where
    an arm is named on both sides (a cheap test that spares most spans the full pattern)."""
    spans = []
    for needle in needles:
        at = low.find(needle)
        while at >= 0:
            start, end = max(0, at - before), at + len(needle) + after
            if _ARM_WORD_LOWER_RE.search(low, at + len(needle), end) and (
                not before or _ARM_WORD_LOWER_RE.search(low, start, at)
            ):
                spans.append((start, end))
            at = low.find(needle, at + 1)
    return spans


_WITHIN_ARM_RE = re.compile(r"\bbaseline\b|\bwithin\b", _CI)
_CHANGE_CUES_RE = re.compile(
    r"\b(?:chang\w*|decreas\w*|reduc\w*|improv\w*|increas\w*|declin\w*)\b", _CI
)

# Rate outcome words; "verb" forms after a percentage ("63% remitted") bind first.
_RATE_WORDS = [
    ("response_rate", r"respon(?:se|ses|der|ders|ded|d)\b|respond"),
    ("remission_rate", r"remi(?:ssion|ssions|tted|tter|tters|t)\b"),
    ("relapse_rate", r"relaps(?:e|es|ed)\b"),
]
_RATE_RE = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _RATE_WORDS), _CI)
_RATE_LABEL_RE = re.compile(
    "|".join(f"(?P<{kind}>(?:{pattern})(?:{SP}rates?)?{SP}?:$)" for kind, pattern in _RATE_WORDS),
    _CI,
)
_EITHER_OUTCOME_RE = re.compile(r"\brespon\w*\s(?:and/)?or\sremi\w*", _CI)
_SHARE_OF_RATE_RE = re.compile(
    r"\b(?:probability|proportion|percentage|likelihood|rate)\sof\s(?:[\w-]+\s)?"
    r"(?:(?P<response_rate>response)|(?P<remission_rate>remission)|(?P<relapse_rate>relapse))\b"
    r"[^;%]{0,120}?\b(?:was|were)\s$",
    _CI,
)
_SAME_SHARE_RE = re.compile(r"\b(?:probability|proportion|percentage)\s(?:for|in|among)\s", _CI)
_RATE_VERB_RE = re.compile(
    r"\b(?:(?P<remission_rate>remitted|(?:achieved|had|reached|attained) (?:stable |full )?"
    r"remission)|(?P<relapse_rate>relapsed|(?:experienced|had) (?:a )?relapse)"
    r"|(?P<response_rate>responded|(?:achieved|had|met) (?:a |the )?(?:treatment |clinical )?"
    r"response))\b",
    _CI,
)

_CHANGE_WORDS = (
    r"(?:more|fewer|less|greater|higher|lower|reduction|decrease|increase|improvement|decline)"
)
# "43.2 % more weeks with ...", "an 11.9 % reduction in ...": a relative difference in percent.
_PERCENT_CHANGE_AFTER_RE = re.compile(
    rf"{SP}?%{SP}?(?P<word>{_CHANGE_WORDS})\b(?:{SP}(?:in|of){SP})?(?P<label>[^,;.()%\d]{{0,50}})"
)
# "decreased the risk of relapse by 51%"
_PERCENT_CHANGE_BEFORE_RE = re.compile(
    rf"\b(?:reduc|decreas|increas|lower|rais|improv)\w*{SP}(?P<label>[^%;\d]{{0,100}}?){SP}by{SP}?$",
    _CI,
)
_DEFINITION_RE = re.compile(
    r"defin|[≥≤<>]|at least|criteri|threshold|less than|more than|greater than|up to",
    _CI,
)
_NO_RELAPSE_RE = re.compile(r"\bno relapse|relapse-free|without relapse|free of relapse", _CI)
_DISCONTINUATION_RE = re.compile(r"discontinu", _CI)
_ADVERSE_RE = re.compile(r"adverse|\bTEAEs?\b|\bAEs?\b|side effect|tolerab", _CI)
# "26% continued to improve", "(9.5%) discontinued esketamine", "24% worsened"
_PROPORTION_VERB_RE = re.compile(
    rf"{SP}?%[\])]?{SP}(?:of{SP}(?:the{SP})?(?:patients|participants){SP})?"
    rf"(?P<label>(?:continued to improve|maintained|worsened|improved|remained|further improved"
    rf"|discontinued|experienced|developed)\b[^,;.()%\d]{{0,40}})"
)
# A sentence reporting how often adverse events occurred: its other percentages are AE rates.
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
_PARTIAL_RE = re.compile(r"partial\s$", re.IGNORECASE)

_AE_TERMS = vocab.SIDE_EFFECTS
_AE_RE = re.compile(
    r"\b(?P<label>" + "|".join(sorted(map(re.escape, _AE_TERMS), key=len, reverse=True)) + r")"
    rf"{SP}?\((?:(?P<n>\d+){SP}?(?:(?:participants|patients|subjects){SP}?)?[\[(])?"
    rf"(?P<pct>{UNSIGNED}){SP}?%(?:[\])]?{SP}?(?:vs\.?|versus|v\.){SP}?(?P<pct2>{UNSIGNED}){SP}?%)?",
    _CI,
)


def _may_name_adverse_event(text: str) -> bool:
    low = text.lower()
    for term in _AE_TERMS:  # noqa: SIM110 - a loop is cheaper than any() over a generator
        if term in low:
            return True
    return False


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

# --- building blocks ----------------------------------------------------------------------

_LEVEL = rf"(?P<level>\d{{2}}(?:\.\d+)?){SP}?%"
_CI_NAME = r"(?:CIs?|confidence intervals?|credible intervals?|CrI)"
_BOUND_UNIT = rf"(?:{SP}?%|{SP}?(?:pp|points?|percentage points|weeks?|days?|mmHg))?"
_LOW = rf"\$?(?P<low>{SIGNED}){SP}?%?"
_HIGH = rf"\$?(?P<high>{SIGNED}){_BOUND_UNIT}"
_RANGE_SEP = rf"(?:{SP}?(?:to|and|–|—|-|,|;){SP}?|{SP}(?=[{MINUS_CHARS}]))"
# "95% CI, 0.29-0.84", "(95% confidence interval [CI], 3.20 to 12.71)", "95%CI: 1.18 to 1.64",
# "95% CI = [-1.00, -0.03]", "95% CI - 1.24; - 0.53", "[95% confidence interval 1.402, 2.087]"
_LABELLED_CI = (
    rf"{_LEVEL}{SP}?{_CI_NAME}(?:{SP}?[\[(](?:CI|CIs)[\])])?{SP}?(?:[:=,]|of|was|were)?{SP}?"
    rf"[\[(]?{SP}?{_LOW}{_RANGE_SEP}{_HIGH}{SP}?[\])]?"
)
_LABELLED_CI_RE = re.compile(_LABELLED_CI)
_CI_NAME_RE = re.compile(_CI_NAME)
_BARE_CI = (
    rf"[\[(]{SP}?\$?(?P<blow>{SIGNED}){SP}?%?(?:{SP}?(?:to|–|—|-|,){SP}?)"
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
_SIGNED_LIST_RE = re.compile(rf"{SP}?,{SP}?(?:and{SP})?[{MINUS_CHARS}]{SP}?{UNSIGNED}")
_POINTS_TRAIL_RE = re.compile(rf"{SP}?[\[(]{SP}?{UNSIGNED}{SP}?[\])]{SP}points?\b")
# "13.3/8.7 mmHg": systolic/diastolic pairs; "r = 0.06 [-0.05, 0.17]": a correlation with its CI
_PRESSURE_PAIR_RE = re.compile(r"(?<![\d.>≥<≤/])(\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)(?![\d./])")
_CORRELATION_RE = re.compile(
    rf"(?<![\w-])r{SP}?={SP}?(?P<value>{SIGNED}){SP}?[\[(]{SP}?(?P<low>{SIGNED}){SP}?(?:,|to|–|;)"
    rf"{SP}?(?P<high>{SIGNED}){SP}?[\])]"
)
_SD_TRAIL_RE = re.compile(
    rf"{SP}?(?:[\[(]{SP}?SD{SP}?[=:,]?{SP}?{UNSIGNED}{SP}?[\])]|±{SP}?{UNSIGNED})"
)
# Statistics that are not effects ("t = -2.4", "df = 127", "n = 86", "I2 = 24%"). Regression
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
    rf"|patients?|participants?|subjects?|adults|individuals|outpatients|inpatients|people|doses?"
    rf"|items?|randomi[sz]ed|times|[A-Za-z]*-?fold|-?sided|-?tailed|x|×|:\d|/\d)(?![\w])",
    _CI,
)
_RATE_WORD_REACH = 60  # characters between an outcome word and its percentage
_PERCENT_EXCLUDE_BEFORE_RE = re.compile(
    rf"(?:[≥≤<>~±]=?|\d{SP}?[-–]{SP}?|%{SP}?[-–]{SP}?|\b(?:stud(?:y|ies)|trials|articles|reports){SP}?\("
    rf"|\b(?:approximately|about|around|over|up to|more than|less than|nearly|"
    rf"almost|by|ca\.|roughly|only|least|than|to))\s?(?:{SP})?$",
    re.IGNORECASE,
)
_PERCENT_EXCLUDE_AFTER_RE = re.compile(
    rf"^{SP}?(?:percent|%)?[\])]?{SP}?(?:-|–|to\b|(?:of\s)?(?:improvement|reduction|decrease|decline"
    rf"|increase|higher|lower|more|less|fewer|greater|female|male|women|men|white|black|power"
    rf"|accuracy|likelihood|predictive|chance|CI\b|confidence|were (?:female|male|women|men))"
    rf"|of (?:life|the (?:sample|cohort))|(?:of )?(?:the )?(?:participants|patients|subjects)?"
    rf"{SP}?(?:were|was) (?:female|male|women|men|white))",
    re.IGNORECASE,
)
_WORD_PERCENT_RE = re.compile(rf"\b(?P<word>{WORD_NUMBER}){SP}percent\b", _CI)
_COUNT_BEFORE_RE = re.compile(
    rf"(?:(?P<events>\d+){SP}of{SP}(?:the{SP})?(?P<total>\d+)(?:{SP}[\w-]+){{0,2}}"
    rf"|(?P<events2>\d+)(?:{SP}(?:participants|patients|subjects))?)"
    rf"{SP}?[\[(]{SP}?$"
)
_TIME_WORD_BEFORE_RE = re.compile(
    rf"\b(?:weeks?|days?|months?|hours?|visits?|years?|phase|cohort){SP}?$", _CI
)
_COUNT_AFTER_RE = re.compile(rf"{SP}?[\[(]{SP}?(?P<events>\d+){SP}?(?:/|of){SP}?(?P<total>\d+)")
_CLAUSE_BREAK_RE = re.compile(r"[;:]")
# A rate written as counts alone: "4 of 15 patients responded", "14/70 participants remitted",
# "Four of the 7 esketamine-assigned patients achieved a treatment response".
_COUNTS_RE = re.compile(
    rf"(?<![\w./-])(?P<events>\d+|{WORD_NUMBER}){SP}?(?:(?:out{SP})?of{SP}(?:the{SP})?|/)"
    rf"(?P<total>\d+)(?![\w./]|{SP}?[\[(]{SP}?\d[\d.]*{SP}?%)",
    _CI,
)
# "decreased from baseline by 30.3 and 17.3 percentage points", "by 45.3 pp and 32.5 pp"
_POINT_UNIT = r"(?:percentage\spoints|pp)\b"
_POINT_CHANGE_RE = re.compile(
    rf"\b(?:decreas|increas|reduc|improv|declin)\w*{SP}(?:from{SP}baseline{SP})?by{SP}"
    rf"(?P<first>{UNSIGNED})(?:{SP}(?P<unit1>{_POINT_UNIT}))?(?:{SP}and{SP}(?P<second>{UNSIGNED}))?"
    rf"{SP}(?P<unit>{_POINT_UNIT})"
)
# What may stand between the counts and the verb: "patients", "esketamine-assigned patients".
_COUNTS_TO_VERB_RE = re.compile(rf"(?:{SP}[\w-]+){{0,3}}?{SP}(?:(?:had|have|also){SP})?$")
# "... patients experienced treatment-emergent transient hypertension": an event's share as counts
_EVENT_AFTER_COUNTS_RE = re.compile(
    rf"{SP}(?:[\w-]+{SP}){{0,2}}?(?:patients|participants|subjects){SP}(?:experienced|developed)"
    rf"{SP}(?P<label>[^,;.()\d]{{3,60}}?)(?={SP}?[,;.(]|$)",
    _CI,
)
_PEOPLE_AFTER_COUNTS_RE = re.compile(
    rf"{SP}(?:[\w-]+{SP}){{0,2}}?(?:patients|participants|subjects|individuals|adults|people"
    rf"|women|men|adolescents|veterans)\b",
    _CI,
)
# "Remission was achieved in 12 of 30 patients", "response in 5/20 participants"
_RATE_IN_COUNTS_RE = re.compile(
    rf"\b(?:(?P<response_rate>respon(?:se|ded))|(?P<remission_rate>remission|remitted)"
    rf"|(?P<relapse_rate>relapse[sd]?))\b(?:{SP}[\w-]+){{0,4}}?{SP}(?:in|by|among){SP}$",
    _CI,
)


@dataclass
class _Token:
    start: int  # offsets within the sentence
    end: int
    value: float
    percent: bool


_DIGIT_RE = re.compile(r"\d")
# A minus at the start or after a space, bracket or "=:,;": the lookbehind comes after the minus
# so that the scan jumps from one minus to the next instead of trying every position.
_SIGNED_NUMBER_RE = re.compile(rf"[{MINUS_CHARS}](?<![^\s(\[=:,;][{MINUS_CHARS}]){SP}?\.?\d")


def _may_report_effect(text: str, low: str) -> bool:
    """A cheap test: every rule needs a digit and a %, a signed number or a named statistic
    (or a percentage written in words); `low` is `text` in lower case."""
    if "ercent" in text:
        return True
    if not _DIGIT_RE.search(text):
        return False
    return (
        "%" in text
        or "points" in text
        or " pp" in text
        or "mmHg" in text
        or bool(_SIGNED_NUMBER_RE.search(text))
        or _may_name_statistic(text, low)
        or ((_may_name_rate(low) or _may_name_event(text)) and _may_hold_counts(text))
    )


# "4 of 15", "14/70", "Four of the 7": where a rate may be written as counts.
_COUNTS_HINT_RE = re.compile(r"(?:of|/) ?(?:the )?\d")


def _may_hold_counts(text: str) -> bool:
    return ("of" in text or "/" in text) and _COUNTS_HINT_RE.search(text) is not None


def _may_name_event(text: str) -> bool:
    """Whether a sentence may give an event's share as counts ("patients experienced ...")."""
    return "experienced" in text or "developed" in text


def _may_name_rate(low: str) -> bool:
    """Whether a sentence (in lower case) may name response, remission or relapse (for rates
    given as counts)."""
    return "respon" in low or "remi" in low or "relaps" in low


_PERCENT_SIGN_RE = re.compile(rf"{SP}?%")
# Between a named statistic and its value: "OR = ", "hazard ratio [HR], ", "MD (95% CI) = $"
_NAME_TO_VALUE_RE = re.compile(
    rf"[\])]?(?:{SP}?[\[(][^\[\]()\d]{{1,25}}[\])])?{SP}?(?:[:=,]|of|was|were|is|"
    rf"was estimated at)?{SP}?(?:[\[(](?:95{SP}?%{SP}?CI|SE)[\])]{SP}?[:=]?{SP}?)?"
    rf"(?:\${SP}?)?"
)
_OPENING_BRACKET_RE = re.compile(rf"{SP}?[\[(]")
# Between two values of one list: "0.48 and 0.63", "-5.1 for the 56-mg dose and -6.8"
_LIST_CONTINUES_RE = re.compile(
    rf"(?:{SP}?(?:for|in) (?:the )?[\w/+ -]{{1,30}}?)?{SP}?[,;]?{SP}?(?:and|or|vs\.?|versus)?{SP}?"
)
_AND_BEFORE_RE = re.compile(rf"(?:,{SP}?(?:and{SP})?|{SP}and{SP})$")


def extract_effects(
    abstract: str,
    *,
    study_arms: tuple[str, str] | Callable[[], tuple[str, str] | None] | None = None,
    single_arm: str | None = None,
    study_scale: str | None = None,
    quarantined: list[QuarantinedEffect] | None = None,
) -> list[Effect]:
    """Every effect the rules find in `abstract`, in text order, with spans into it.

    Effects that cannot be output (see `quarantine_reason`) are appended to `quarantined`
    instead; pass a list to receive them.

    Arms come from each effect's sentence first; what a sentence leaves open is filled from
    the study when the caller knows it: `single_arm` (a single-arm study's treatment) for every
    effect, else `study_arms` (the study's one comparison, or a function finding it, called
    only when an effect needs it) for pairs and between-group effects. `study_scale` (the one
    depression scale the abstract names) is the scale of efficacy effects whose sentence names
    none: rates, changes and differences, and ratios or NNTs of response, remission or relapse.
    """
    effects: list[Effect] = []
    arms = _Lazy(study_arms)
    for sentence in split_sentences(abstract):
        low = sentence.text.lower()
        if not _may_report_effect(sentence.text, low):
            continue
        extractor = _SentenceExtractor(sentence, low)
        found = extractor.run()
        if quarantined is not None:
            quarantined.extend(extractor.quarantined)
        open_arms = [
            e
            for e in found
            if id(e) not in extractor.no_arm
            and (e.arm is None or (e.kind in BETWEEN_GROUP_KINDS and " vs " not in e.arm))
        ]
        if single_arm:
            for effect in open_arms:
                if effect.arm is None:
                    effect.arm = single_arm
        elif open_arms and arms.value():
            assign_arms(found, *arms.value(), skip=extractor.no_arm)
        if study_scale:
            for effect in found:
                if effect.scale is None and _measured_on_a_scale(effect):
                    effect.scale = study_scale
        effects.extend(found)
    return effects


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


class _Lazy:
    """A value, or a function computing it on first use."""

    def __init__(self, source) -> None:
        self.source, self.done = source, not callable(source)

    def value(self):
        """The value, computed once."""
        if not self.done:
            self.source, self.done = self.source(), True
        return self.source


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


class _Proportions(list):
    """The rates and labelled shares found so far, in the order found, indexed by where they
    end so that the ones just before a percentage are found without a scan of all."""

    def __init__(self, base: int) -> None:
        super().__init__()
        self.base = base
        self.by_end: list[tuple[int, int]] = []  # (end within the sentence, index), sorted

    def append(self, effect: Effect) -> None:
        insort(self.by_end, (effect.end - self.base, len(self)))
        super().append(effect)

    def ending_in(self, low: int, high: int) -> list[tuple[int, Effect]]:
        """(index, effect) of those ending in (low, high] within the sentence."""
        first = bisect_right(self.by_end, (low, math.inf))
        last = bisect_right(self.by_end, (high, math.inf))
        return [(index, self[index]) for _, index in self.by_end[first:last]]


# The longest text _NAME_TO_VALUE_RE and _LIST_CONTINUES_RE can match (tests check it against
# the patterns): a longer gap between a name and a number cannot match, and is not sliced.
_NAME_TO_VALUE_LONGEST = 70
_LIST_CONTINUES_LONGEST = 50
_OPENING_BRACKET_LONGEST = 2
# What the `$`-anchored patterns searched just before a position can span at most (a match
# may also end before a final newline): searched in a window of this size, not from 0.
_ANCHORED_WINDOW = 24


class _SentenceExtractor:
    """The rules applied to one sentence; offsets are made absolute on the way out.

    Every rule is linear in the sentence's length overall: what a rule asks of the text
    before or after each number is either bounded in length or answered from indexes built
    once per sentence (sorted positions and bisection), so that one long sentence without a
    full stop costs no more per character than a short one.
    """

    def __init__(self, sentence: Sentence, low: str | None = None) -> None:
        self.sentence = sentence
        self.text = sentence.text
        self.low = sentence.text.lower() if low is None else low
        self.taken = _Spans()  # spans already used by an effect or a CI
        self.blocked = _Spans()
        self.effects: list[Effect] = []
        self.quarantined: list[QuarantinedEffect] = []
        has_operator = any(op in self.text for op in "=<>≤≥")  # p-values and statistics need one
        self.p_values = (
            [
                (m.start(), m.end(), _p_number(m["value"]), p_operator(m["op"]))
                for m in P_VALUE_RE.finditer(self.text)
            ]
            if has_operator
            else []
        )
        self.blocked.extend((s, e) for s, e, _, _ in self.p_values)
        if has_operator:
            self.blocked.extend(m.span() for m in _STAT_RE.finditer(self.text))
        self.has_ci_label = (
            [m.start() for m in _CI_NAME_RE.finditer(self.text)]
            if "CI" in self.text or "onfidence" in self.text or "redible" in self.text
            else []
        )
        if self.has_ci_label and "%" in self.text:
            # The bounds of a CI are never estimates or rates themselves.
            self.blocked.extend(m.span() for m in _LABELLED_CI_RE.finditer(self.text))
        self.strong = []
        named = _may_name_statistic(self.text, self.low)
        for match in _STRONG_RE.finditer(self.text) if named else ():
            kind = _strong_kind(match, self.text)
            if kind:
                self.strong.append((match.start(), match.end(), kind))
        has_percent = "%" in self.text
        self.tokens = [
            _Token(
                m.start(),
                m.end(),
                _number(m.group()),
                has_percent and self._is_percent(m.end()),
            )
            for m in NUMBER_RE.finditer(self.text)
        ]
        self.scales: list[re.Match] | None = None
        self.timepoints: list[re.Match] | None = None
        # rates and labelled shares, for "X% vs Y%" lists
        self.proportions = _Proportions(sentence.start)
        self.last_percent_change: Effect | None = None
        self.next_matches: dict[tuple[re.Pattern, int], tuple[int, re.Match | None]] = {}
        self.no_arm: set[int] = set()  # ids of effects whose arm the sentence leaves ambiguous
        self.mentions: list[re.Match] = []  # the arms the sentence names (_ARM_MENTION_RE)
        low = self.low if "%" in self.text else ""
        self.names_events = "side effect" in low or "adverse" in low or "teae" in low

    # -- helpers --

    def _is_percent(self, end: int) -> bool:
        return _PERCENT_SIGN_RE.match(self.text, end) is not None

    def _overlaps(self, spans: _Spans, start: int, end: int) -> bool:
        return spans.overlaps(start, end)

    @cached_property
    def _token_ends(self) -> list[int]:
        return [token.end for token in self.tokens]  # increasing: the tokens do not overlap

    @cached_property
    def _strong_ends(self) -> list[int]:
        return [end for _, end, _ in self.strong]  # increasing: the matches do not overlap

    @cached_property
    def _clause_breaks(self) -> list[int]:
        return [m.start() for m in _CLAUSE_BREAK_RE.finditer(self.text)]

    @cached_property
    def _names_discontinuation_for_adverse_events(self) -> bool:
        return bool(_DISCONTINUATION_RE.search(self.text) and _ADVERSE_RE.search(self.text))

    @cached_property
    def _names_adverse_event_occurrence(self) -> bool:
        return _ADVERSE_EVENT_SENTENCE_RE.search(self.text) is not None

    @cached_property
    def _names_within_arm(self) -> bool:
        return _WITHIN_ARM_RE.search(self.text) is not None

    @cached_property
    def _first_change_cue(self) -> re.Match | None:
        return _CHANGE_CUES_RE.search(self.text)

    @cached_property
    def _difference_cues(self) -> list[tuple[int, int]]:
        return [m.span() for m in _DIFFERENCE_CUES_RE.finditer(self.text)]

    def _change_cue_before(self, pos: int) -> bool:
        """Whether `_CHANGE_CUES_RE` matches in text[:pos]. Each of its words may end in any
        word characters, so a match there is a whole-text match starting at the same place:
        none before the first whole-text match, which once complete is in every longer prefix."""
        first = self._first_change_cue
        if first is None or pos <= first.start():
            return False
        if pos >= first.end():
            return True
        return _CHANGE_CUES_RE.search(self.text, first.start(), pos) is not None

    def _difference_cue_between(self, start: int, token: _Token) -> bool:
        """Whether `_DIFFERENCE_CUES_RE` matches in text[start:token.start], where `start` is 0
        or follows a clause break and a number token never follows a word character or a dot:
        so exactly when a whole-text match lies inside."""
        cues = self._difference_cues
        at = bisect_left(cues, (start, -1))
        return at < len(cues) and cues[at][1] <= token.start

    def _next_match(self, regex: re.Pattern, pos: int, endpos: int) -> re.Match | None:
        """`regex.search(self.text, pos, endpos)`, remembering the last answer for `endpos`:
        a search from a later `pos` that does not pass the match found (or found none) has
        the same answer, so rising positions scan the text once, not once each."""
        key = (regex, endpos)
        known = self.next_matches.get(key)
        if known is not None:
            searched_from, found = known
            if searched_from <= pos and (found is None or found.start() >= pos):
                return found
        found = regex.search(self.text, pos, endpos)
        self.next_matches[key] = (pos, found)
        return found

    def _usable(self, token: _Token) -> bool:
        if self._overlaps(self.taken, token.start, token.end):
            return False
        if self._overlaps(self.blocked, token.start, token.end):
            return False
        before = self.text[max(0, token.start - 2) : token.start]
        return not _NAME_NUMBER_RE.search(before) and not before.endswith(("$", "€", "£"))

    def _nearest_strong(self, before: int, limit: int = 0) -> tuple[int, int, str] | None:
        """The last named statistic ending by `before` and starting at `limit` or later."""
        at = bisect_right(self._strong_ends, before) - 1
        return self.strong[at] if at >= 0 and self.strong[at][0] >= limit else None

    def _adjacent_keyword(self, start: int) -> tuple[int, int, str] | None:
        """A named statistic written right before the number: "OR = ", "hazard ratio [HR], "."""
        at = bisect_right(self._strong_ends, start) - 1
        if at < 0:
            return None
        k_start, k_end, kind = self.strong[at]
        if start - k_end > _NAME_TO_VALUE_LONGEST:
            return None
        if not _NAME_TO_VALUE_RE.fullmatch(self.text, k_end, start):
            return None
        # "hazard ratio [HR], 0.49": the span starts at the name written out, which ends
        # one or two characters before the abbreviation.
        first = bisect_left(self._strong_ends, k_start - _OPENING_BRACKET_LONGEST)
        for full_start, full_end, _ in self.strong[first:at]:
            if full_end <= k_start and _OPENING_BRACKET_RE.fullmatch(self.text, full_end, k_start):
                k_start = full_start
        return k_start, k_end, kind

    def _clause_start(self, pos: int) -> int:
        at = bisect_left(self._clause_breaks, pos) - 1  # the last break before `pos`
        return self._clause_breaks[at] + 1 if at >= 0 else 0

    def _clause_end(self, pos: int) -> int:
        at = bisect_left(self._clause_breaks, pos)  # the first break at or after `pos`
        return self._clause_breaks[at] if at < len(self._clause_breaks) else len(self.text)

    # -- the rules --

    def run(self) -> list[Effect]:
        if "%" in self.text and _may_name_adverse_event(self.text):
            self._adverse_event_rates()
        previous_kind: str | None = None
        previous_end = -1
        for token in self.tokens:
            if not self._usable(token):
                continue
            effect = self._estimate_at(token, previous_kind, previous_end)
            if effect:
                previous_kind, previous_end = effect.kind, effect.end - self.sentence.start
        self._backward_cis()
        if "/" in self.text and "mmHg" in self.text:
            self._pressure_changes()
        if "r" in self.text and "=" in self.text:
            self._correlations()
        self._rates()
        self._word_percent_rates()
        if (_may_name_rate(self.low) or _may_name_event(self.text)) and _may_hold_counts(self.text):
            self._count_rates()
        if " by " in self.text and ("pp" in self.text or "points" in self.text):
            self._point_changes()
        self.effect_starts = sorted(e.start - self.sentence.start for e in self.effects)
        for effect in self.effects:
            self._attach_context(effect)
        self.effects.sort(key=lambda e: (e.start, e.end))
        if self.effects:
            self._arms_from_comparison()
        self._quarantine()
        return self.effects

    def _quarantine(self) -> None:
        """Move the effects that cannot be output to `quarantined`, with the reason. In a
        sentence that writes decimals with a comma ("OR 3,2; 95 %-KI 1,4–7,1") every effect is
        held: its numbers are read whole or not at all, never "3" of "3,2"."""
        kept = []
        comma = _DECIMAL_COMMA_RE.search(self.text) if "," in self.text else None
        for effect in self.effects:
            reason = quarantine_reason(effect)
            if reason is None and comma:
                reason = (
                    f"the sentence writes decimals with a comma ({comma.group()!r}): its numbers "
                    "are not read, so that none is read in part"
                )
            if reason is None:
                kept.append(effect)
            else:
                self.quarantined.append(
                    QuarantinedEffect(effect.kind, effect.quote, effect.start, effect.end, reason)
                )
        self.effects = kept

    def _arms_from_comparison(self) -> None:
        """Arms from the sentence: an arm named right before a value ("ESK (4.5%)",
        "placebo 31.0%"), then the sentence's two arms: in a pair "X% vs Y%" the first value
        is the first arm's, and a between-group effect gets "A vs B"."""
        self.mentions = list(_ARM_MENTION_RE.finditer(self.text))
        self._arm_lists()
        if self.mentions:
            self._arms_named_before()
        arms = _sentence_arms(self.text, self.mentions)
        if arms:
            assign_arms(self.effects, *arms, skip=self.no_arm)
            return
        base = self.sentence.start
        for left, right in zip(self.effects, self.effects[1:], strict=False):
            if left.arm is None and _RESPECTIVELY_RE.match(self.text, right.end - base):
                # "... for the 0.2 and 0.4 mg/kg groups were -16.8 and -16.9, respectively":
                # the arms are a list written earlier, not the study's two arms
                self.no_arm.update((id(left), id(right)))

    def _arms_named_before(self) -> None:
        """Per-arm values with their arm written right before them. In a pair "X vs Y" both
        must be named ("esketamine 52.5% vs placebo 31.0%"); a lone value whose arm follows
        "compared with" or "than" is the comparator's, which the rule leaves alone."""
        base = self.sentence.start
        named = {}
        for effect in self.effects:
            if effect.arm is not None:
                continue
            if id(effect) in self.no_arm:
                continue
            arm = _arm_before(self.text, effect.start - base, self.mentions)
            if effect.kind not in BETWEEN_GROUP_KINDS:
                named[id(effect)] = arm
            elif arm and _LABELLED_BEFORE_RE.search(
                self.text, max(0, effect.start - base - _ANCHORED_WINDOW), effect.start - base
            ):
                effect.arm = arm  # "esketamine: RR = 0.43": the estimate of that subgroup
        paired: set[int] = set()
        for left, right in zip(self.effects, self.effects[1:], strict=False):
            if left.kind != right.kind:
                continue
            gap = self.text[left.end - base : right.start - base]
            if _PAIR_GAP_RE.fullmatch(gap):
                paired |= {id(left), id(right)}
            first = named.get(id(left))
            versus = first and _NAMED_PAIR_GAP_RE.fullmatch(gap)
            if versus and _ARM_BEFORE_RE.fullmatch(versus["rest"]):
                # "esketamine 52.5% vs placebo 31.0%": both values named
                paired |= {id(left), id(right)}
                second = _ARM_BEFORE_RE.fullmatch(versus["rest"])["arm"]
                if _arm_key(first) != _arm_key(second):
                    left.arm, right.arm = first, second
        for effect in self.effects:
            if id(effect) not in paired and effect.arm is None and named.get(id(effect)):
                effect.arm = named[id(effect)]

    def _arm_lists(self) -> None:
        """A list of values followed by its list of arms: "(-15.2, -14.5 and -15.3 for
        esketamine 28 mg, 56 mg and placebo groups)", "0.48 and 0.63 for the 56-mg and 84-mg
        dose groups": the i-th value is the i-th arm's; when the lists differ in length (or a
        value of the list is not an effect), the arms stay unknown."""
        base = self.sentence.start
        groups: list[list[Effect]] = [[self.effects[0]]]
        for effect in self.effects[1:]:
            last = groups[-1][-1]
            gap = self.text[last.end - base : effect.start - base]
            if effect.kind == last.kind and _LIST_GAP_RE.fullmatch(gap):
                groups[-1].append(effect)
            else:
                groups.append([effect])
        for group in groups:
            if len(group) < 2:
                continue
            after = _ARM_LIST_RE.match(self.text, group[-1].end - base)
            if not after:
                continue
            items = [i for i in _LIST_SPLIT_RE.split(after["items"].strip()) if i]
            if not all(_ARM_WORD_RE.search(i) or _DOSE_ITEM_RE.match(i) for i in items):
                if group[0].kind not in BETWEEN_GROUP_KINDS:
                    self.no_arm.update(id(e) for e in group)  # "for men and women": not arms
                continue
            if len(items) == 1 and group[0].kind in BETWEEN_GROUP_KINDS:
                for effect in group:  # "NNT of 8 and 6 for esketamine vs placebo"
                    effect.arm = _comparison_name(items[0])
                continue
            span_start, span_end = group[0].start - base, group[-1].end - base
            values = [m.start() for m in NUMBER_RE.finditer(self.text, span_start, span_end)]
            values = [v for v in values if not self._overlaps(self.blocked, v, v + 1)]
            positions = [self._value_position(e, values) for e in group]
            if len(items) != len(values) or None in positions:
                self.no_arm.update(id(e) for e in group)
                for effect in group:
                    effect.arm = None
                continue
            drug = next((_ARM_WORD_RE.search(i)[0] for i in items if _ARM_WORD_RE.search(i)), None)
            for effect, position in zip(group, positions, strict=True):
                item = items[position]
                if drug and not _ARM_WORD_RE.search(item) and item[:1].isdigit():
                    item = f"{drug} {item}"  # "56 mg" after "esketamine 28 mg"
                effect.arm = item

    def _value_position(self, effect: Effect, values: list[int]) -> int | None:
        """The index in `values` (number starts) of the number an effect's value is."""
        start, end = effect.start - self.sentence.start, effect.end - self.sentence.start
        first = bisect_left(values, start)  # `values` rise
        return first if first < len(values) and values[first] < end else None

    def _estimate_at(self, token: _Token, previous_kind: str | None, previous_end: int):
        trail = _TRAIL_RE.match(self.text, token.end)
        ci = trail and (trail["ci"] or trail["bare"])
        low = high = level = None
        if ci:
            low = _number(trail["low"] or trail["blow"])
            high = _number(trail["high"] or trail["bhigh"])
            level = float(trail["level"]) if trail["level"] else 95.0
            if not low <= token.value <= high or (
                trail["bare"] and not self._bare_ci_allowed(token)
            ):
                ci, low, high = None, None, None
        if not ci and _BLOCK_AFTER_RE.match(self.text, token.end):
            return None
        adjacent = self._adjacent_keyword(token.start)
        se_text = trail and (trail["se"] or trail["se2"])
        end = trail.end() if ci else token.end
        rule = "estimate_with_ci"
        if ci:
            kind = self._kind_for(token, end)
        elif (
            adjacent
            and adjacent[2] != "mean_difference"
            or (adjacent and token.value is not None and self._signed(token))
        ):
            kind, rule = adjacent[2], "named_statistic"
        elif (
            previous_kind
            and previous_kind not in RATE_KINDS
            and self._continues(previous_end, token)
        ):
            kind, rule = previous_kind, "statistic_list"
        elif se_text and self._change_or_difference(token) and self._signed(token):
            kind, rule = self._change_or_difference(token), "change_with_se"
            end = trail.end()
        elif _POINTS_TRAIL_RE.match(self.text, token.end) and self._change_cue_before(token.start):
            kind, rule = "mean_change", "change_in_points"  # "29.6 [12.5] points" after "change"
            end = _POINTS_TRAIL_RE.match(self.text, token.end).end()
        elif _SD_TRAIL_RE.match(self.text, token.end) and self._signed(token):
            kind, rule = "mean_change", "change_with_sd"  # a negative mean with its SD
        elif self._signed(token) and _SIGNED_LIST_RE.match(self.text, token.end):
            kind, rule = self._change_or_difference(token), "signed_list"
        else:
            return None
        if kind is None or (
            token.percent and not ci and kind not in ("mean_difference", "r_squared")
        ):
            return None
        if kind == "auc" and not 0 <= token.value <= 1:
            return None  # a pharmacokinetic AUC ("3.5 µg × h/mL"), not a discrimination
        if kind in RATE_KINDS and not token.percent:
            return None
        start = adjacent[0] if adjacent else token.start
        if token.percent and not ci:
            end = _PERCENT_SIGN_RE.match(self.text, token.end).end()  # "R2 was 24%"
        effect = self._make(rule, kind, token.value, start, end, ci_low=low, ci_high=high)
        if kind in RATE_KINDS:
            self.proportions.append(effect)  # a rate with its CI: later shares may continue it
        effect.ci_level = level if ci else None
        if se_text:
            effect.se = _number(se_text)
        self.taken.append((start, end))
        return effect

    def _signed(self, token: _Token) -> bool:
        return self.text[token.start] in MINUS_CHARS

    def _bare_ci_allowed(self, token: _Token) -> bool:
        if self.has_ci_label and self.has_ci_label[0] < token.start:
            return True
        if self._adjacent_keyword(token.start):
            return True
        return self._nearest_strong(token.start) is not None

    def _continues(self, previous_end: int, token: _Token) -> bool:
        """The number continues a list started by a named statistic ("0.48 and 0.63")."""
        if previous_end < 0 or previous_end > token.start:
            return False
        if token.start - previous_end > _LIST_CONTINUES_LONGEST:
            return False
        gap = self.text[previous_end : token.start]
        return bool(_LIST_CONTINUES_RE.fullmatch(gap)) and not _BLOCK_AFTER_RE.match(
            self.text, token.end
        )

    def _change_or_difference(self, token: _Token) -> str | None:
        keyword = self._nearest_strong(token.start)
        if keyword and keyword[2] == "mean_difference":
            return "mean_difference"
        if self._change_cue_before(token.start):
            return "mean_change"
        return None

    def _kind_for(self, token: _Token, ci_end: int) -> str:
        """The kind of an estimate with a CI: the nearest statistic named, else the words."""
        keyword = self._nearest_strong(token.start)
        if keyword:
            return keyword[2]
        if token.percent:
            return self._rate_kind(token) or "other"
        after = self.text[token.end : ci_end]
        if _DIFFERENCE_CUES_RE.search(after) or self._difference_cue_between(
            self._clause_start(token.start), token
        ):
            return "mean_difference"
        if self._change_cue_before(token.start) and self._names_within_arm:
            return "mean_change"
        return "mean_difference"

    def _backward_cis(self) -> None:
        """A labelled CI whose estimate comes earlier: "lower ... by 7.95 points (95% CI, ...)"."""
        if not self.has_ci_label or "%" not in self.text:
            return
        for match in _LABELLED_CI_RE.finditer(self.text):
            if self._overlaps(self.taken, match.start(), match.end()):
                continue
            low, high = _number(match["low"]), _number(match["high"])
            first = bisect_right(self._token_ends, match.start() - 160)
            last = bisect_right(self._token_ends, match.start())
            candidates = [
                t
                for t in self.tokens[first:last]
                if t.end <= match.start()
                and match.start() - t.end < 160
                and self._usable(t)
                and low <= t.value <= high
                and not _BLOCK_AFTER_RE.match(self.text, t.end)
            ]
            if not candidates:
                continue
            token = candidates[-1]
            if self._overlaps(self.taken, token.end, match.start()):
                continue
            kind = self._kind_for(token, match.end())
            if kind in RATE_KINDS and not token.percent:
                continue
            effect = self._make(
                "ci_after_words", kind, token.value, token.start, match.end(), low, high
            )
            effect.ci_level = float(match["level"])
            self.taken.append((token.start, match.end()))

    def _pressure_changes(self) -> None:
        """Blood-pressure changes per arm: "13.3/8.7 mmHg" is a systolic and a diastolic change."""
        if not _CHANGE_CUES_RE.search(self.text):
            return
        for match in _PRESSURE_PAIR_RE.finditer(self.text):
            unit = self.text.find("mmHg", match.end(), match.end() + 40 + len("mmHg"))
            if unit < 0 or unit - match.end() > 40 or self._overlaps(self.taken, *match.span()):
                continue
            for group, label in ((1, "systolic blood pressure"), (2, "diastolic blood pressure")):
                effect = self._make(
                    "blood_pressure_pair", "mean_change", _number(match[group]), *match.span(group)
                )
                effect.label = label
            self.taken.append(match.span())

    def _correlations(self) -> None:
        for match in _CORRELATION_RE.finditer(self.text):
            value, low, high = (_number(match[g]) for g in ("value", "low", "high"))
            if self._overlaps(self.taken, *match.span()) or not low <= value <= high:
                continue
            effect = self._make(
                "correlation", "other", value, match.start(), match.end(), low, high
            )
            effect.label, effect.ci_level = "correlation (r)", 95.0
            self.taken.append(match.span())

    def _rate_kind(self, token: _Token) -> str | None:
        """Response, remission or relapse: a verb after ("63% remitted"), else a word close by."""
        found = self._proportion_context(token)
        return found[0] if found and found[0] in RATE_KINDS else None

    def _proportion_context(self, token: _Token) -> tuple[str, str | None] | None:
        clause_start = self._clause_start(token.start)
        clause_end = self._clause_end(token.end)
        verb = self._next_match(_RATE_VERB_RE, token.end, clause_end)
        if verb:
            return verb.lastgroup, None
        window_start = max(clause_start, token.start - _RATE_WORD_REACH)
        before = list(_RATE_RE.finditer(self.text, window_start, token.start))
        if before:
            if _EITHER_OUTCOME_RE.search(
                self.text, max(0, before[-1].start() - 30), before[-1].end()
            ):
                return "response_rate", None  # "responders or remitters": every remitter responded
            return before[-1].lastgroup, None
        # "the probability of functional remission in ... patients (n=512) was 25.6%"
        share_of = _SHARE_OF_RATE_RE.search(
            self.text, max(clause_start, token.start - 160), token.start
        )
        if share_of:
            return share_of.lastgroup, None
        if clause_start and self.text[clause_start - 1] == ":":
            # "Remission: esketamine 52.5% vs placebo 31.0%": the outcome labels the clause
            label = _RATE_LABEL_RE.search(self.text, max(0, clause_start - 30), clause_start)
            if label:
                return label.lastgroup, None
        chained = [
            (index, e)
            for index, e in self.proportions.ending_in(token.start - 160, token.start)
            if token.start - (e.end - self.sentence.start) < _RATE_WORD_REACH
            or (  # "the probability of remission ... was 25.6% ..., while the adjusted
                # probability for ... was 11.5%": the same share, for the other group
                _SAME_SHARE_RE.search(self.text, e.end - self.sentence.start, token.start)
            )
        ]
        if chained:
            _, last = max(chained, key=lambda found: found[0])  # the last found
            return last.kind, last.label
        after = _RATE_RE.search(self.text, token.end, min(clause_end, token.end + 40))
        return (after.lastgroup, None) if after else None

    def _percent_change(self, token: _Token) -> str | None:
        """The label of a relative difference in percent ("by 51%", "11.9 % reduction")."""
        before = self.text[max(0, token.start - 40) : token.start]
        if _DEFINITION_RE.search(before):
            return None
        after = _PERCENT_CHANGE_AFTER_RE.match(self.text, token.end)
        if after:
            label = f"{after['word']} {after['label']}".strip()
            return label
        by = _PERCENT_CHANGE_BEFORE_RE.search(self.text, max(0, token.start - 130), token.start)
        if by:
            return by["label"].strip() or "change"
        previous = self.last_percent_change
        if previous and _AND_BEFORE_RE.search(before):
            last_end = previous.end - self.sentence.start
            if 0 <= token.start - last_end < 120:
                return previous.label
        return None

    def _proportion_kind(self, token: _Token) -> tuple[str, str | None] | None:
        """(kind, label) of a percentage: response/remission/relapse, or another proportion."""
        clause_start = self._clause_start(token.start)
        if _NO_RELAPSE_RE.search(self.text, max(clause_start, token.start - 90), token.start):
            return "other", "no relapse"
        verb = _PROPORTION_VERB_RE.match(self.text, token.end)
        if verb and not _RATE_RE.search(verb["label"]):
            return "other", verb["label"].strip()  # "24% worsened", "(6.9%) experienced ..."
        context = self._proportion_context(token)
        if context and context[0] == "response_rate" and self._rate_word_is_partial(token):
            return "other", "partial response"
        if context:
            return context
        if self._names_discontinuation_for_adverse_events:
            return "other", "discontinuation due to adverse events"
        if self._names_adverse_event_occurrence:
            return "other", "adverse events"
        return None

    def _rate_word_is_partial(self, token: _Token) -> bool:
        window_start = max(self._clause_start(token.start), token.start - _RATE_WORD_REACH)
        words = list(_RATE_RE.finditer(self.text, window_start, token.start))
        before = words[-1].start() if words else 0
        return bool(words) and bool(
            _PARTIAL_RE.search(self.text, max(0, before - _ANCHORED_WINDOW), before)
        )

    def _rates(self) -> None:
        for token in self.tokens:
            if not token.percent or not self._usable(token):
                continue
            if self.text[token.start] in MINUS_CHARS:
                continue
            pct_end = _PERCENT_SIGN_RE.match(self.text, token.end).end()
            change_label = self._percent_change(token)
            if change_label:
                effect = self._make(
                    "relative_change", "percent_change", token.value, token.start, pct_end
                )
                effect.label = change_label
                self.taken.append((token.start, pct_end))
                continue
            reported = self.names_events and (
                _REPORTED_BY_RE.search(self.text, max(0, token.start - 70), token.start)
                or _REPORTED_AFTER_RE.match(self.text, pct_end)
            )
            if reported:  # "side effects were reported by 71.8%", "42% of patients reported AEs"
                effect = self._make("reported_by", "other", token.value, token.start, pct_end)
                effect.label = reported["label"].lower()
                self.proportions.append(effect)
                self.taken.append((token.start, pct_end))
                continue
            before = self.text[max(0, token.start - 16) : token.start]
            after = self.text[token.end : token.end + 40]
            if _PERCENT_EXCLUDE_BEFORE_RE.search(before) or _PERCENT_EXCLUDE_AFTER_RE.match(after):
                continue
            found = self._proportion_kind(token)
            if not found:
                continue
            kind, label = found
            start, n_events, n_total = token.start, None, None
            window_start = max(0, token.start - 40)
            count = _COUNT_BEFORE_RE.search(self.text[window_start : token.start])
            count_at = window_start + count.start() if count else 0
            if count and _TIME_WORD_BEFORE_RE.search(
                self.text, max(0, count_at - _ANCHORED_WINDOW), count_at
            ):
                count = None  # "week 8 (28.3%)": a timepoint, not a count of patients
            if count:
                start = window_start + count.start()
                n_events = _count(count["events"] or count["events2"])
                n_total = _count(count["total"]) if count["total"] else None
            else:
                following = _COUNT_AFTER_RE.match(self.text, pct_end)
                if following:
                    n_events, n_total = _count(following["events"]), _count(following["total"])
            rule = "rate_percent" if kind in RATE_KINDS else "proportion_percent"
            effect = self._make(rule, kind, token.value, start, pct_end)
            effect.n_events, effect.n_total, effect.label = n_events, n_total, label
            self.proportions.append(effect)
            self.taken.append((start, pct_end))

    def _word_percent_rates(self) -> None:
        if "ercent" not in self.text:
            return
        for match in _WORD_PERCENT_RE.finditer(self.text):
            if self._overlaps(self.taken, *match.span()):
                continue
            value = float(parse_word_number(match["word"]))
            token = _Token(match.start(), match.end(), value, True)
            found = self._proportion_kind(token)
            if found:
                effect = self._make(
                    "percent_in_words", found[0], token.value, match.start(), match.end()
                )
                effect.label = found[1]
                self.proportions.append(effect)
                self.taken.append(match.span())

    def _point_changes(self) -> None:
        """Within-group changes written "decreased from baseline by 30.3 and 17.3 percentage
        points" or "by 45.3 pp and 32.5 pp": each value a mean change, positive as written."""
        for match in _POINT_CHANGE_RE.finditer(self.text):
            for name in ("first", "second"):
                if match[name] is None:
                    continue
                start, end = match.span(name)
                if self._overlaps(self.taken, start, end):
                    continue
                if name == "first":  # "decreased from baseline by 30.3" (and its unit, if any)
                    span_start, stop = match.start(), match.end("unit1") if match["unit1"] else end
                else:  # "17.3 percentage points"
                    span_start, stop = start, match.end()
                effect = self._make(
                    "percentage_points", "mean_change", _number(match[name]), span_start, stop
                )
                effect.label = "change in percentage points"
                self.taken.append((span_start, stop))

    def _count_rates(self) -> None:
        """Response, remission and relapse written as counts alone ("4 of 15 patients
        responded"): the value is 100 * events / total, unrounded, with both counts kept; the
        quote holds both numbers as written (the percentage itself is not in the text)."""
        for match in _COUNTS_RE.finditer(self.text):
            start, end = match.span()
            if self._overlaps(self.taken, start, end) or self._overlaps(self.blocked, start, end):
                continue
            events, total = _count(match["events"]), _count(match["total"])
            if events is None or total == 0 or events > total:
                continue
            clause_end = self._clause_end(end)
            verb = _RATE_VERB_RE.search(self.text, end, min(clause_end, end + 70))
            event = _EVENT_AFTER_COUNTS_RE.match(self.text, end)
            label = None
            if verb and _COUNTS_TO_VERB_RE.fullmatch(self.text, end, verb.start()):
                kind, span_end = verb.lastgroup, verb.end()
            elif event:  # "14/70 patients experienced treatment-emergent transient hypertension"
                kind, span_end, label = "other", event.end(), event["label"].strip()
            else:
                before = _RATE_IN_COUNTS_RE.search(
                    self.text, max(self._clause_start(start), start - 60), start
                )
                if not before:
                    continue
                people = _PEOPLE_AFTER_COUNTS_RE.match(self.text, end)
                if not people:
                    continue  # "in 1/2 of the trials": not a count of patients
                kind, span_end, start = before.lastgroup, people.end(), before.start()
            effect = self._make("rate_from_counts", kind, 100 * events / total, start, span_end)
            effect.n_events, effect.n_total, effect.label = events, total, label
            self.proportions.append(effect)
            self.taken.append((start, span_end))

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
                end2 = _PERCENT_SIGN_RE.match(self.text, match.end("pct2")).end()
                second = self._make(
                    "named_adverse_event",
                    "other",
                    _number(match["pct2"]),
                    match.start("pct2"),
                    end2,
                )
                second.label = label
                self.taken.append((match.start("pct2"), end2))

    # -- output --

    def _make(self, rule, kind, value, start, end, ci_low=None, ci_high=None) -> Effect:
        start, end = _balanced(self.text, start, end)
        base = self.sentence.start
        label = None
        if kind in _OTHER_STATISTICS:  # no kind of its own in the contract: "other", labelled
            kind, label = "other", _OTHER_STATISTICS[kind]
        effect = Effect(
            label=label,
            kind=kind,
            value=value,
            start=base + start,
            end=base + end,
            quote=self.text[start:end],
            sentence=self.text,
            sentence_start=base,
            ci_low=ci_low,
            ci_high=ci_high,
            rule=rule,
        )
        self.effects.append(effect)
        if kind == "percent_change":
            self.last_percent_change = effect
        return effect

    def _attach_context(self, effect: Effect) -> None:
        base = self.sentence.start
        start, end = effect.start - base, effect.end - base
        at = bisect_left(self.p_values, end, key=lambda found: found[0])
        if at < len(self.p_values):  # the first p-value after the effect
            p_start, _, p_value, op = self.p_values[at]
            # close enough, and no other effect between the two
            between = bisect_left(self.effect_starts, end)
            if p_start - end <= 60 and not (
                between < len(self.effect_starts) and self.effect_starts[between] < p_start
            ):
                effect.p, effect.p_operator = p_value, op
        if self.timepoints is None:
            # "-1.1 weeks" inside an effect's span is a value, not when it was measured
            self.timepoints = [
                m
                for m in _TIMEPOINT_RE.finditer(self.text)
                if not self._overlaps(self.taken, *m.span())
            ]
        effect.timepoint = _timepoint(self.timepoints, start, end, self.text)
        if effect.kind != "other":
            if self.scales is None:
                self.scales = _scale_matches(self.text)
            effect.scale = _scale(self.scales, start)
        if effect.arm is None:
            effect.arm = _arm(self.text, end)
            if effect.arm and effect.kind in BETWEEN_GROUP_KINDS:
                # "NNT of 6 for esketamine+AD vs. placebo+AD": the arm is the comparison
                versus = _VERSUS_AFTER_RE.match(
                    self.text, self.text.find(effect.arm, end) + len(effect.arm)
                )
                if versus and _arm_name(versus["b"]):
                    effect.arm = f"{effect.arm} vs {_arm_name(versus['b'])}"


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


def _match_start(match: re.Match) -> int:
    return match.start()


def _match_end(match: re.Match) -> int:
    return match.end()


def _scale(matches: list[re.Match], start: int) -> str | None:
    if not matches:
        return None
    last_before = bisect_left(matches, start, key=_match_start) - 1  # in text order
    match = matches[last_before] if last_before >= 0 else matches[0]
    return _SCALES[int(match.lastgroup[1:])][0]


_ARM_RE = re.compile(
    rf"^[\])]*{SP}?(?:,{SP})?(?:for|in|with){SP}(?:the{SP})?(?P<arm>(?:[\w/+.-]+{SP}){{0,4}}?"
    rf"[\w/+.-]+?)(?:{SP}(?:group|groups|arm|cohort|dose|dose group))?(?=[,;.)]|{SP}and\b|"
    rf"{SP}vs\b|{SP}compared|{SP}at\b|{SP}versus|$)"
)


_VERSUS_AFTER_RE = re.compile(
    rf"{SP}(?:vs\.?|versus|compared{SP}(?:with|to)){SP}(?:the{SP})?(?P<b>{_ARM_PHRASE})", _CI
)


def _arm(text: str, end: int) -> str | None:
    match = _ARM_RE.match(text[end : end + 70])
    if not match:
        return None
    arm = match["arm"].strip()
    if arm.lower() in ("both", "each", "all", "patients", "participants", "those", "this"):
        return None
    if _RATE_RE.search(arm) or (arm[:1].isdigit() and "mg" not in arm):
        return None  # "for remission", "with 57 ...": an outcome or a number, not an arm
    return arm
