"""Named statistics ("OR = 2.2", "hazard ratio [HR], 0.49", "NNT, 6", "Hedges' g") and the
pass over a sentence's numbers that reads an estimate beside its name or its confidence interval.

Each family module (ratios, nnt, differences, other) lists the names of its statistics in
`STATISTIC_NAMES` (kind -> names as written); a kind the contract has no code for is stored as
"other" with the label its module gives in `LABELLED_AS_OTHER`. The estimate pass itself is one
loop over the number tokens (for speed), whose branches are the rules named below.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from pipeline import vocab
from pipeline.extract.effect_rules import rule_modules
from pipeline.extract.effect_rules.base import Example, Rule
from pipeline.extract.effect_rules.differences import (
    _DIFFERENCE_CUES_RE,
    _IN_POINTS_RE,
    _OWN_P,
    _POINTS_TRAIL_RE,
    _SD_TRAIL_RE,
    _SIGNED_LIST_RE,
)
from pipeline.extract.effect_rules.reading import (
    _BLOCK_AFTER_RE,
    _PERCENT_SIGN_RE,
    _TRAIL_RE,
    _number,
    _Token,
)
from pipeline.extract.numbers import MINUS_CHARS, SIGNED, SP, UNSIGNED

RATE_KINDS = vocab.RATE_KINDS

# Every rule file that names statistics (found by name: a new one needs no edit here).
_FAMILIES = tuple(module for module in rule_modules() if hasattr(module, "STATISTIC_NAMES"))

# Statistics the contract has no kind for: reported as "other" with this label.
_OTHER_STATISTICS: dict[str, str] = {
    kind: label
    for module in _FAMILIES
    for kind, label in getattr(module, "LABELLED_AS_OTHER", {}).items()
}

# Named statistics and the kind they give. Written out case by case (no IGNORECASE, every
# alternative starting with a literal) because this scan runs on every sentence with a number;
# word boundaries are checked on each match instead of in the pattern.
_STRONG_TERMS: dict[str, tuple[str, ...]] = {
    kind: names for module in _FAMILIES for kind, names in module.STATISTIC_NAMES.items()
}
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
        [
            r"Hedges?['’]?s?\s?g",
            r"Cohen['’]?s?\s?d",
            r"d(?:\s[a-z]{1,3}(?:\s\d+[a-z])?)?(?=\s?[=:])",
            r"g(?=\s?[=:])",
        ]
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


def _uncovered(words: tuple[str, ...], abbreviations: tuple[str, ...]) -> tuple[list, list]:
    """The statistic names the cheap test above would miss (a name a family module added):
    (lower-case words, abbreviations as written) to add to it."""
    more_words: list[str] = []
    more_abbreviations: list[str] = []
    for names in _STRONG_TERMS.values():
        for name in names:
            low = name.lower()
            if any(a in name for a in abbreviations) or any(w in low for w in words):
                continue
            (more_words if name == low else more_abbreviations).append(name if name != low else low)
    return more_words, more_abbreviations


_MORE_WORDS, _MORE_ABBREVIATIONS = _uncovered(_STATISTIC_WORDS, _STATISTIC_ABBREVIATIONS)
_STATISTIC_WORDS += tuple(_MORE_WORDS)
_STATISTIC_ABBREVIATIONS += tuple(_MORE_ABBREVIATIONS)


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
    return "=" in text and "d " in text and _D_SUBSCRIPT_RE.search(text) is not None


# "d pl = -1.85": Cohen's d with a subscript (the cheap test's words miss it)
_D_SUBSCRIPT_RE = re.compile(r"(?<!\w)d\s[a-z]{1,3}(?:\s\d+[a-z])?\s?=")


def _strong_kind(match: re.Match, text: str) -> str | None:
    """The kind a named statistic gives, or None when the match is part of a longer word."""
    start, end = match.span()
    if start and (text[start - 1].isalnum() or text[start - 1] in "'’-"):
        return None
    if end < len(text) and text[end].isalnum():
        return None
    word = match.group()
    if word.startswith("Hedge") or word == "g":
        return "hedges_g"
    if word.startswith("Cohen") or word == "d" or word.startswith("d "):
        # "d = 0.8", and "d pl = -1.85", "d tr 7d = -3.01": d with a subscript
        return "cohens_d"
    key = word.lower()
    found = _TERM_KIND.get(key) or _TERM_KIND.get(key[:-1])
    if not found:
        return None
    kind, term = found
    if term != term.lower() and word not in (term, term + "s"):
        return None  # an abbreviation counts only as written: "OR", not "Or"
    return kind


# "HR 0.89, 0.76 to 1.05", "ARR 2.0%, -0.8 to 4.7": an interval right after a named
# statistic's value and a comma, with neither label nor brackets
_UNLABELLED_RANGE_RE = re.compile(
    rf"(?:{SP}?%)?,{SP}?(?P<low>{SIGNED}){SP}?%?{SP}?(?:to|–|—|-){SP}?(?P<high>{SIGNED})"
    rf"(?:{SP}?%)?(?!\d|\.\d|{SP}?(?:mg|kg|years?|days?|weeks?|months?|patients|%))"
)
# Between a named statistic and its value: "OR = ", "hazard ratio [HR], ", "MD (95% CI) = $"
# also "the mean difference in pain was -1.2", "the odds ratio for remission was 2.1": the
# outcome named between the statistic and a verb
_NAME_TO_VALUE_RE = re.compile(
    rf"[\])]?(?:{SP}?[\[(][^\[\]()\d]{{1,25}}[\])])?"
    rf"(?:{SP}(?:in|for|of){SP}[A-Za-z][\w/-]{{0,15}}(?:{SP}[A-Za-z][\w/-]{{0,15}}){{0,3}}{SP}"
    rf"(?=was|were|is))?"
    rf"{SP}?(?:[:=,]|of|was|were|is|"
    rf"was estimated at)?{SP}?(?:[\[(](?:95{SP}?%{SP}?CI|SE)[\])]{SP}?[:=]?{SP}?)?"
    rf"(?:\${SP}?)?"
)
_OPENING_BRACKET_RE = re.compile(rf"{SP}?[\[(]")
# "coef = -1949 to -2114": the first number of a range that summarises several estimates
_RANGE_AFTER_RE = re.compile(rf"{SP}?(?:to|–|—){SP}?{SIGNED}")
_POINTS_AFTER_RE = re.compile(rf"{SP}?(?:points?|pts)\b")
# Between two items of a list, each named before its value with its spread in brackets:
# "induction -12.8 [9.73]; optimization/maintenance +1.1 [9.93]", "IND, -16.4 [8.76]; OP/MAINT,"
_LABELLED_ITEM_GAP_RE = re.compile(rf"{SP}?;{SP}?[A-Za-z][\w/+-]*(?:{SP}[\w/+-]+){{0,2}}?,?{SP}\+?")
_BRACKETED_SPREAD_RE = re.compile(rf"{SP}?\[{SP}?{UNSIGNED}{SP}?\]")
# Between two values of one list: "0.48 and 0.63", "-5.1 for the 56-mg dose and -6.8"
_LIST_CONTINUES_RE = re.compile(
    rf"(?:{SP}?(?:for|in) (?:the )?[\w/+ -]{{1,30}}?)?{_OWN_P}{SP}?[,;]?{SP}?"
    rf"(?:and|or|vs\.?|versus)?{SP}?\+?"
)


# "shorter in the drug group (4.5 days, 95% CI 4.0-5.0) than in the placebo group (5.0 days":
# an estimate in brackets right after the group it is of is that group's value, not a difference
_GROUP_BRACKET_BEFORE_RE = re.compile(
    rf"\b(?:[Ii]n|[Ff]or){SP}the{SP}(?:[\w/+-]+{SP}){{0,3}}?[\w/+-]+{SP}(?:group|arm){SP}?\({SP}?$"
)
_GROUP_BRACKET_LONGEST = 100
# "each additional CADSS point was associated with a -.04 [95% CI ...] decrease": the change in
# the outcome per unit of a predictor, a regression coefficient
_PER_UNIT_BEFORE_RE = re.compile(
    rf"\b(?:each|every|per){SP}(?:additional|extra|one|1)(?:{SP}|-)(?:[\w-]+{SP}){{0,2}}?"
    rf"(?:points?|units?|increase|increment|standard{SP}deviation|SD)\b[^.;()]{{0,40}}?"
    rf"\bassociated{SP}with\b",
    re.IGNORECASE,
)


# the patterns): a longer gap between a name and a number cannot match, and is not sliced.
_NAME_TO_VALUE_LONGEST = 134  # with an outcome named before the verb ("OR for remission was")
_LIST_CONTINUES_LONGEST = 90  # 50 for the words, 40 for a value's own bracketed P
_OPENING_BRACKET_LONGEST = 2


class _StatisticsRules:
    """The sentence reader's statistics rules (mixed into the reader)."""

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
        if not ci and (
            _BLOCK_AFTER_RE.match(self.text, token.end)
            or _RANGE_AFTER_RE.match(self.text, token.end)
        ):
            return None
        adjacent = self._adjacent_keyword(token.start)
        se_text = trail and (trail["se"] or trail["se2"])
        end = trail.end() if ci else token.end
        rule = "estimate_with_ci"
        if not ci and adjacent and "," in self.text[token.end : token.end + 3]:
            # "HR 0.89, 0.76 to 1.05": an interval after a comma, without a label or brackets
            bounds = _UNLABELLED_RANGE_RE.match(self.text, token.end)
            if bounds:
                low, high = _number(bounds["low"]), _number(bounds["high"])
                if low < high and low <= token.value <= high:
                    ci, level, end, rule = True, 95.0, bounds.end(), "named_statistic_with_range"
                else:
                    low = high = None
        if ci:
            kind = self._kind_for(token, end)
            if kind == "point_difference":
                rule = "percentage_point_difference"
        elif (
            adjacent
            and adjacent[2] != "mean_difference"
            or (adjacent and token.value is not None and self._signed(token))
            or (adjacent and self._mean_difference_in_points(adjacent, token))
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
            token.percent
            and not ci
            and kind not in ("mean_difference", "risk_difference", "r_squared")
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

    def _mean_difference_in_points(self, adjacent: tuple[int, int, str], token: _Token) -> bool:
        """ "mean difference of 1.71 points": a mean difference named as such (not the bare word
        "difference"), its value in points."""
        return (
            adjacent[2] == "mean_difference"
            and not self.low.startswith("differ", adjacent[0])
            and _POINTS_AFTER_RE.match(self.text, token.end) is not None
        )

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
        if (
            self.text[previous_end - 1] == "]"
            and _LABELLED_ITEM_GAP_RE.fullmatch(gap)
            and _BRACKETED_SPREAD_RE.match(self.text, token.end)
        ):  # "(IND, -16.4 [8.76]; OP/MAINT, 0.3 [8.12])": the next phase's value, both with SDs
            return True
        return bool(_LIST_CONTINUES_RE.fullmatch(gap)) and not _BLOCK_AFTER_RE.match(
            self.text, token.end
        )

    def _kind_for(self, token: _Token, ci_end: int) -> str | None:
        """The kind of an estimate with a CI: the nearest statistic named, else the words."""
        keyword = self._nearest_strong(token.start)
        if _IN_POINTS_RE.match(self.text, token.end) and (
            keyword is None
            or keyword[2] == "mean_difference"
            and self.low.startswith("differ", keyword[0])
        ):  # "a difference of 7.2 percentage points": of two shares, not of means ("MD = 13 pp")
            return "point_difference"
        if keyword:
            return keyword[2]
        if token.percent:
            return self._rate_kind(token) or "other"
        if "group" in self.text or "arm" in self.text:
            before = max(0, token.start - _GROUP_BRACKET_LONGEST)
            if _GROUP_BRACKET_BEFORE_RE.search(self.text, before, token.start):
                return None  # "in the drug group (4.5 days, 95% CI ...)": one group's value
        if "associated" in self.text and _PER_UNIT_BEFORE_RE.search(
            self.text, self._clause_start(token.start), token.start
        ):
            return "beta"  # "each additional point was associated with a -0.04 decrease"
        after = self.text[token.end : ci_end]
        if _DIFFERENCE_CUES_RE.search(after) or self._difference_cue_between(
            self._clause_start(token.start), token
        ):
            return "mean_difference"
        if self._change_cue_before(token.start) and self._names_within_arm:
            return "mean_change"
        return "mean_difference"


RULES = (
    Rule(
        "estimate_with_ci",
        "ratio",
        "an estimate followed by its confidence interval; the kind from the nearest statistic "
        "named before it, else from the words around it",
        (_TRAIL_RE.pattern, _STRONG_RE.pattern),
        (
            Example("The difference was -4.1 (95% CI, -7.7 to -0.5) points.",
                    "mean_difference", -4.1),
        ),
    ),
    Rule(
        "named_statistic",
        "ratio",
        "a number right after a named statistic, without an interval ('NNT, 6', 'OR = 2.2')",
        (_STRONG_RE.pattern, _NAME_TO_VALUE_RE.pattern),
        (Example("Ketamine was superior (Cohen's d = 0.8).", "cohens_d", 0.8),
         Example("The hazard ratio for relapse was 0.55 in the maintenance phase.",
                 "hazard_ratio", 0.55),
         Example("Against placebo the mean difference was 2.05 points, p = 0.02.",
                 "mean_difference", 2.05)),
    ),
    Rule(
        "named_statistic_with_range",
        "ratio",
        "a named statistic's value followed by a comma and an interval with neither label nor "
        "brackets ('HR 0.89, 0.76 to 1.05')",
        (_STRONG_RE.pattern, _UNLABELLED_RANGE_RE.pattern),
        (
            Example("Stroke was less frequent (HR 0.72, 0.55 to 0.94; p=0.02).",
                    "hazard_ratio", 0.72),
            Example("The ARR was 3.1%, 0.4 to 5.8, at one year.", "other", 3.1),
            Example("Bleeding did not differ (OR 1.10, 0.85-1.42).", "odds_ratio", 1.10),
        ),
    ),
    Rule(
        "statistic_list",
        "ratio",
        "the later numbers of a list a named statistic starts ('effect sizes were 0.48 and 0.63')",
        (_STRONG_RE.pattern, _LIST_CONTINUES_RE.pattern),
        (Example("The effect sizes were 0.48 and 0.63.", "smd", 0.63),
         Example("Mean [SD] changes from baseline: phase A, -12.8 [9.7]; phase B, +1.1 [9.9].",
                 "mean_change", 1.1)),
    ),
)  # fmt: skip
