"""Rates and shares of patients: response, remission and relapse percentages (after or before
their outcome word, in words, or as counts "12 of 20"), and other shares ("24% worsened")."""

from __future__ import annotations

import math
import re
from bisect import bisect_right, insort
from functools import cached_property

from pipeline.extract.effect_rules.adverse import _REPORTED_AFTER_RE, _REPORTED_BY_RE
from pipeline.extract.effect_rules.base import Example, Rule
from pipeline.extract.effect_rules.effect import RATE_KINDS, Effect
from pipeline.extract.effect_rules.reading import (
    _ANCHORED_WINDOW,
    _CI,
    _PERCENT_SIGN_RE,
    _count,
    _Token,
)
from pipeline.extract.numbers import MINUS_CHARS, SP, UNSIGNED, WORD_NUMBER, parse_word_number
from pipeline.vocab import RATE_OUTCOME

# Rate outcome words; "verb" forms after a percentage ("63% remitted") bind first.
_RATE_WORDS = [
    # not "corresponding": "the corresponding risk was 6%" names no response
    ("response_rate", r"(?<!cor)respon(?:se|ses|der|ders|ded|d)\b|(?<!cor)respond"),
    ("remission_rate", r"remi(?:ssion|ssions|tted|tter|tters|t)\b"),
    ("relapse_rate", r"relaps(?:e|es|ed)\b"),
]
_RATE_RE = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _RATE_WORDS), _CI)
_RATE_LABEL_RE = re.compile(
    "|".join(f"(?P<{kind}>(?:{pattern})(?:{SP}rates?)?{SP}?:$)" for kind, pattern in _RATE_WORDS),
    _CI,
)
# "the (mean) difference in response rates was 25%": a difference of two rates, not a rate
_DIFFERENCE_IN_RATES_RE = re.compile(r"\bdifferences?\s(?:in|of|between)\s(?:the\s)?$", _CI)
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


_NO_RELAPSE_RE = re.compile(r"\bno relapse|relapse-free|without relapse|free of relapse", _CI)


# "26% continued to improve", "(9.5%) discontinued esketamine", "24% worsened"
# also "44% (n = 138) intensified treatment", "(82%) of 17 patients experienced ...",
# "92% versus 47% of patients reached treatment targets" (the verb after the second share)
_PROPORTION_VERB_RE = re.compile(
    rf"{SP}?%[\])]?(?:{SP}?\(n{SP}?={SP}?\d+\))?{SP}(?:of{SP}(?:the{SP})?(?:\d+{SP})?"
    rf"(?:patients|participants){SP}"
    rf"(?:[\[(]\d+{SP}?/{SP}?\d+[\])]{SP})?(?:had{SP})?)?"
    rf"(?P<label>(?:continued to improve|maintained|worsened|improved|remained|further improved"
    rf"|discontinued|experienced|developed|intensified|transitioned|switched|reached|achieved"
    rf"|attained|required|needed|stopped|restarted)\b[^,;.()%\d]{{0,40}})"
)
# "the placebo response accounts for (up to) 72% of the treatment response": a share of an
# effect, not of patients
_ACCOUNTS_FOR_RE = re.compile(
    rf"\baccount(?:s|ed)?{SP}for{SP}(?:up{SP}to{SP}|about{SP}|approximately{SP}|nearly{SP})?$", _CI
)
_SHARE_OF_WHAT_RE = re.compile(rf"{SP}?%{SP}of{SP}(?:the{SP})?(?P<label>[^,;.()%\d]{{3,60}})")
# "Mortality was 14/120 (11.7%) vs 22/118 (18.6%)": one share per arm, each with its counts
_COUNTED_SHARE = rf"\d+{SP}?/{SP}?\d+{SP}?[\[(]{SP}?(?P<{{}}>{UNSIGNED}){SP}?%{SP}?[\])]"
_COUNTED_PAIR_RE = re.compile(
    rf"(?<![\d/.]){_COUNTED_SHARE.format('first')}(?:{SP}(?:with|in|for|on){SP}[\w/+ -]{{1,30}}?)?"
    rf"{SP}?,?{SP}?(?:vs\.?|versus|compared{SP}with){SP}?{_COUNTED_SHARE.format('second')}"
)
_COUNTED_SUBJECT_RE = re.compile(
    rf"(?P<words>\b[A-Za-z][\w-]*(?:{SP}[\w-]+){{0,5}}?){SP}?(?:was|were|:|,)?{SP}?$"
)
_DESCRIBES_PATIENTS_RE = re.compile(
    r"\b(?:female|male|women|men|white|black|age[sd]?|baseline|BMI|married|employed|smok\w*"
    r"|history|complet\w*|randomi[sz]ed|enrol\w*|drop-?outs?)\b",
    _CI,
)
# "... by 2.1% (6/280) of patients in the drug group"
_OF_PATIENTS_AFTER_RE = re.compile(
    rf"{SP}?%[\])]?(?:{SP}?\(\d+{SP}?/{SP}?\d+\))?{SP}of{SP}(?:the{SP})?"
    rf"(?:patients|participants|subjects)\b"
)
# "92% versus 47% of patients ...": the first share of a pair, the words after the second
_SHARE_PAIR_AHEAD_RE = re.compile(
    rf"{SP}?%[\])]?{SP}?(?:vs\.?|versus){SP}?(?P<second>{UNSIGNED})(?={SP}?%)"
)
# "lower in the drug group (17.3% vs. 46.3%; RR 0.37 ...)", "(1344 patients [9.8%] vs. 1563
# patients [11.3%]; hazard ratio ...)": the first share of a compared pair (the second continues
# it), in a sentence that compares the arms with a statistic or a P
_COMPARED_PAIR_AHEAD_RE = re.compile(
    rf"{SP}?%[\])]?(?:{SP}\([^()]{{1,20}}\))?{SP}?,?{SP}?(?:vs\.?|versus){SP}?"
    rf"(?:\d+(?:{SP}[\w-]+){{0,6}}?{SP}?[\[(]{SP}?)?{UNSIGNED}{SP}?%"
)
_PAIR_SUBJECT_RE = re.compile(
    rf"(?P<words>\b[A-Za-z][\w-]*(?:{SP}[\w-]+){{0,5}}?){SP}?(?:was|were|:|,)?{SP}?"
    rf"(?:\({SP}?|\[{SP}?)?(?:\d+(?:{SP}[\w-]+){{0,2}}?{SP}?[\[(]{SP}?)?$"
)
# A sentence reporting how often adverse events occurred: its other percentages are AE rates.


_PARTIAL_RE = re.compile(r"partial\s$", re.IGNORECASE)

# An event's share of patients, the event named before it: "AF occurred in 7.7%", "bleeding
# was observed in 37 patients (25.2%)", "the percentage of patients who died ... was 8.1%",
# "POAF incidence of 12.9%", "pregnancy rate compared to placebo (47.7% vs. 42.9%)".
_EVENT_VERB = (
    r"(?:occurred|(?:was|were)\s(?:observed|seen|reported|found|noted|diagnosed|recorded)"
    r"|(?:increased|decreased|rose|fell)\b[^%;()\d]{0,20}?(?:\d+(?:\.\d+)?[^%;()\d]{1,20}?)?)"
)
_EVENT_OCCURRED_RE = re.compile(
    rf"(?P<label>\b[A-Za-z][\w/-]*(?:{SP}[\w/-]+){{0,5}}?){SP}{_EVENT_VERB}{SP}(?:in|among|by)"
    rf"{SP}$"
)
_SHARE_OF_EVENT_RE = re.compile(
    r"\b(?:percentage|proportion)\sof\s(?:the\s)?(?:patients|participants|subjects|women|men)"
    r"\s(?:who|with)\s(?P<label>[^;%\d]{3,80}?)\s(?:was|were)\s$",
    _CI,
)
_INCIDENCE_RE = re.compile(
    rf"(?:\b(?P<label>[A-Za-z][\w-]*){SP})?\bincidence(?:{SP}of{SP}(?P<label2>[^;%\d,]{{3,50}}?))?"
    rf"{SP}(?:of|to|was|were|at){SP}$|(?P<label3>\b(?:[\w-]+{SP}){{0,2}}?[\w-]+{SP}"
    rf"(?:rate|incidence))\b[^%\d;()]{{0,40}}?[\[(]$",
    _CI,
)
# "in 30 of the 1279 drug patients (", "by 27 patients (", "in 200 drug (": a count just before
_EVENT_COUNT_BEFORE_RE = re.compile(
    rf"\b(?:in|by|among){SP}(?P<events>\d+)(?:{SP}of{SP}(?:the{SP})?\d+)?(?:{SP}[\w-]+){{0,2}}?"
    rf"{SP}?[\[(]{SP}?$"
)
# Shares that describe the patients rather than an outcome; also their social circumstances
# (work, sick leave, marital status, schooling), which describe who was studied
_BASELINE_RE = re.compile(
    r"\bbaseline\b|\bpresent\b|\bhistory\b|\bat (?:entry|enrol)|\bcharacteristic"
    r"|\b(?:were|was) (?:female|women|male|men)\b|\bcomplet|\benrol|\bincluded\b"
    r"|\bdrop-?outs?\b|\battrition\b|\bretention\b|\brecruit"
    r"|\b(?:were|was) (?:un)?employed\b|\bsick leave\b|\b(?:were|was) (?:married|single"
    r"|divorced|widowed)\b|\bmarital\b|\beducation(?:al)? level",
    _CI,
)
_LEADING_WORDS_RE = re.compile(r"^(?:(?:and|or|in|of|the|with|a|an)\s)+", _CI)
_EVENT_WINDOW = 90  # characters before a share searched for its event


_RATE_WORD_REACH = 60  # characters between an outcome word and its percentage
_PERCENT_EXCLUDE_BEFORE_RE = re.compile(
    rf"(?:[≥≤<>~±＞＜]=?|\d{SP}?[-–]{SP}?|%{SP}?[-–]{SP}?|\bCI{SP}?"
    rf"|\b(?:stud(?:y|ies)|trials|articles|reports){SP}?\("
    rf"|\b(?:approximately|about|around|over|up to|more than|less than|nearly|"
    rf"almost|by|ca\.|roughly|only|least|than|(?<!incidence\s)(?<!rate\s)to))\s?(?:{SP})?$",
    re.IGNORECASE,
)
_PERCENT_EXCLUDE_AFTER_RE = re.compile(
    rf"^{SP}?(?:percent|%)?[\])]?{SP}?(?:-|–|to\b|(?:of\s)?(?:improvement|reduction|decrease|decline"
    rf"|increase|higher|lower|more|less|fewer|greater|female|male|women|men|white|black|power"
    rf"|accuracy|likelihood|predictive|chance|CIs?\b|CrI|confidence|credible|change\b"
    rf"|were (?:female|male|women|men))"
    rf"|of (?:life|the (?:sample|cohort))|(?:of )?(?:the )?(?:participants|patients|subjects)?"
    rf"{SP}?(?:were|was) (?:female|male|women|men|white))",
    re.IGNORECASE,
)
_WORD_PERCENT_RE = re.compile(rf"\b(?P<word>{WORD_NUMBER}){SP}percent\b", _CI)
# a count, read whole with its thousands separators ("1,139 patients (14.3%)" is 1139)
_WHOLE_COUNT = r"(?<![\d,])(?:\d{1,3}(?:,\d{3})+|\d+)"
_COUNT_BEFORE_RE = re.compile(
    rf"(?:(?P<events>{_WHOLE_COUNT}){SP}of{SP}(?:the{SP})?(?P<total>{_WHOLE_COUNT})"
    rf"(?:{SP}[\w-]+){{0,2}}"
    rf"|(?<![\d/])(?P<events3>\d+){SP}?/{SP}?(?P<total3>\d+)"
    rf"|(?P<events2>{_WHOLE_COUNT})(?:{SP}(?:participants|patients|subjects))?)"
    rf"{SP}?[\[(]{SP}?$"
)
_TIME_WORD_BEFORE_RE = re.compile(
    rf"\b(?:weeks?|days?|months?|hours?|visits?|years?|phase|cohort){SP}?$", _CI
)
_COUNT_AFTER_RE = re.compile(rf"{SP}?[\[(]{SP}?(?P<events>\d+){SP}?(?:/|of){SP}?(?P<total>\d+)")


# "response and remission rates": two outcomes whose values follow in turn ("..., respectively")
_OUTCOME_PAIR_RE = re.compile(
    r"\b(?P<first>respon\w*|remi\w*|relaps\w*)\s(?:rates?\s)?and\s"
    r"(?P<second>respon(?:se|ses|ders?|ded|d)\b|remi(?:ssion|ssions|tted|tters?|t)\b|relaps(?:e|es|ed)\b)",
    _CI,
)
_TRAILING_AND_RE = re.compile(r"\s+(?:and|or)$")
_RESPECTIVELY_AHEAD_RE = re.compile(r"(?:[^;.]|\.\d){0,60}?\brespectively\b")
# An arm named beside a share of its patients (see `_share_of_an_arm`).
# an arm's words: "5-mg apixaban", "2.5-mg apixaban" (a decimal point inside a dose)
_ARM_WORD_CHARS = r"[\w/+-]+(?:\.\d[\w/+-]*)?"
_ARM_NAMED = (
    rf"(?:(?:in|of){SP}the{SP}(?P<group>(?:{_ARM_WORD_CHARS}{SP}){{0,2}}?{_ARM_WORD_CHARS}){SP}"
    rf"(?:group|arm)\b"
    rf"|(?:randomly{SP})?(?:assigned|randomi[sz]ed){SP}to{SP}(?:receive{SP})?(?:the{SP})?"
    rf"(?P<assigned>[\w-]+)"
    rf"|receiving{SP}(?:the{SP})?(?P<receiving>(?:{UNSIGNED}{SP}?-?mg{SP}(?:of{SP}(?:the{SP})?)?)?"
    rf"[\w-]+))"
)
_ARM_SHARE_AFTER_RE = re.compile(
    rf"[\])]?(?:{SP}?[\[(][^\[\]()]{{1,15}}[\])])?{SP}(?:of{SP}(?:the{SP})?(?:\d+{SP})?)?"
    rf"(?:(?:patients|participants){SP})?(?:who{SP}(?:were|was){SP})?{_ARM_NAMED}"
)
_ARM_SHARE_BEFORE_RE = re.compile(
    rf"\b\d+{SP}(?:of{SP}(?:the{SP})?\d+{SP}(?:[\w-]+{SP})?)?(?:patients|participants|events)"
    rf"{SP}{_ARM_NAMED}{SP}?[\[(]{SP}?$"
)
# words of a group that is no one arm
_NO_ONE_ARM_RE = re.compile(r"\b(?:each|both|all|either|two|three|patients|participants)\b", _CI)
# "more common in the drug group (134 [8.3%] events) than the placebo group (38 [2.4%])"
_ARM_THEN_COUNT_RE = re.compile(
    rf"\b(?:in|than){SP}the{SP}(?P<group>(?:{_ARM_WORD_CHARS}{SP}){{0,2}}?{_ARM_WORD_CHARS})"
    rf"{SP}(?:group|arm)"
    rf"{SP}?\({SP}?\d+{SP}?\[{SP}?$"
)
# "..., and 5 patients (3.2%) in the A, B, and C groups": the groups of a list of shares
_GROUPS_AFTER_RE = re.compile(
    rf"[\])]?,?{SP}in{SP}the{SP}(?P<items>[^.;()%]{{3,150}}?){SP}(?:groups|arms)\b"
)
_SHARE_LIST_GAP_RE = re.compile(rf"[\])]?,?{SP}?(?:and{SP}|or{SP})?")
_GROUP_SPLIT_RE = re.compile(rf",{SP}?(?:and{SP}|or{SP})?|{SP}(?:and|or){SP}")
# A rate written as counts alone: "4 of 15 patients responded", "14/70 participants remitted",
# "Four of the 7 esketamine-assigned patients achieved a treatment response".
_COUNTS_RE = re.compile(
    rf"(?<![\w./-])(?P<events>\d+|{WORD_NUMBER}){SP}?(?:(?:out{SP})?of{SP}(?:the{SP})?|/)"
    rf"(?P<total>\d+)(?![\w./]|{SP}?[\[(]{SP}?\d[\d.]*{SP}?%)",
    _CI,
)
# "decreased from baseline by 30.3 and 17.3 percentage points", "by 45.3 pp and 32.5 pp"


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


_COUNTS_HINT_RE = re.compile(r"(?:of|/) ?(?:the )?\d")


def _may_hold_counts(text: str) -> bool:
    return ("of" in text or "/" in text) and _COUNTS_HINT_RE.search(text) is not None


def _may_name_event(text: str) -> bool:
    """Whether a sentence may give an event's share as counts ("patients experienced ...",
    "bleeding occurred in 30 of 1279 patients")."""
    return "experienced" in text or "developed" in text or "occur" in text or "observed" in text


def _may_name_rate(low: str) -> bool:
    """Whether a sentence (in lower case) may name response, remission or relapse (for rates
    given as counts)."""
    return "respon" in low or "remi" in low or "relaps" in low


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


class _RatesRules:
    """The sentence reader's rates rules (mixed into the reader)."""

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
            difference = _DIFFERENCE_IN_RATES_RE.search(
                self.text, max(0, before[-1].start() - 30), before[-1].start()
            )
            if difference:  # "the difference in response rates was 25%": not a rate itself
                word = RATE_OUTCOME[before[-1].lastgroup]
                return "other", f"difference in {word} rates"
            if _EITHER_OUTCOME_RE.search(
                self.text, max(0, before[-1].start() - 30), before[-1].end()
            ):
                return "response_rate", None  # "responders or remitters": every remitter responded
            paired = self._outcome_of_a_respective_pair(before[-1], token)
            return paired or before[-1].lastgroup, None
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
            if last.rule in ("event_share", "event_share_with_count", "counted_share_pair"):
                self.share_rules[token.start] = last.rule  # a later share of its list
            return last.kind, last.label
        after = _RATE_RE.search(self.text, token.end, min(clause_end, token.end + 40))
        return (after.lastgroup, None) if after else None

    def _proportion_kind(self, token: _Token) -> tuple[str, str | None] | None:
        """(kind, label) of a percentage: response/remission/relapse, or another proportion."""
        clause_start = self._clause_start(token.start)
        window_start = max(clause_start, token.start - 90)
        if _NO_RELAPSE_RE.search(self.text, window_start, token.start):
            composite_start = max(clause_start, token.start - 200)
            return "other", self._no_relapse_label(composite_start, token.start)
        verb = _PROPORTION_VERB_RE.match(self.text, token.end) or self._verb_after_pair(token)
        if verb and not _RATE_RE.search(verb["label"]):
            return "other", _TRAILING_AND_RE.sub(
                "", verb["label"].strip()
            )  # "24% worsened", "(6.9%) experienced ..."
        event = self._event_share(token)
        if event:
            arm = self._share_of_an_arm(token)
            if arm:  # "death occurred in 52 (3.9%) of 1330 patients assigned to the drug"
                self.share_arms[token.start] = arm
                del self.share_rules[token.start]
            return "other", event
        context = self._proportion_context(token)
        if context and context[0] == "response_rate" and self._rate_word_is_partial(token):
            return "other", "partial response"
        if context:
            return context
        if self._names_discontinuation_for_adverse_events:
            return "other", "discontinuation due to adverse events"
        if self._names_adverse_event_occurrence:
            return "other", "adverse events"
        arm = self._share_of_an_arm(token)
        if arm:
            self.share_arms[token.start] = arm
            return "other", None
        if token.start in self._counted_pairs:
            self.share_rules[token.start] = "counted_share_pair"
            return "other", self._counted_pairs[token.start]
        return self._compared_pair(token)

    def _compared_pair(self, token: _Token) -> tuple[str, str | None] | None:
        """ "POAF incidence was lower (17.3% vs. 46.3%; RR 0.37 ...)": the first share of a pair
        compared by a ratio or a P in the same sentence, or in a sentence about "the proportion
        of" patients, labelled with the words before it (the second share continues it); not in
        a sentence describing the patients."""
        if not ("vs" in self.text or "versus" in self.text):
            return None
        if not (self.p_values or self.strong or "proportion of" in self.low):
            return None  # compared by a statistic, or shares the sentence names as such
        if not _COMPARED_PAIR_AHEAD_RE.match(self.text, token.end):
            return None
        if _BASELINE_RE.search(self.text) or _DESCRIBES_PATIENTS_RE.search(self.text):
            return None
        subject = _PAIR_SUBJECT_RE.search(
            self.text, max(self._clause_start(token.start), token.start - 60), token.start
        )
        self.share_rules[token.start] = "compared_share_pair"
        return "other", _LEADING_WORDS_RE.sub("", subject["words"]) if subject else None

    @cached_property
    def _counted_pairs(self) -> dict[int, str | None]:
        """Start of each share of a counted pair ("14/120 (11.7%) vs 22/118 (18.6%)") ->
        what the shares are of (the words before the pair), in a sentence not describing the
        patients."""
        if "/" not in self.text or _DESCRIBES_PATIENTS_RE.search(self.text):
            return {}
        found: dict[int, str | None] = {}
        for match in _COUNTED_PAIR_RE.finditer(self.text):
            subject = _COUNTED_SUBJECT_RE.search(
                self.text,
                max(self._clause_start(match.start()), match.start() - 60),
                match.start(),
            )
            label = _LEADING_WORDS_RE.sub("", subject["words"]) if subject else None
            found[match.start("first")] = found[match.start("second")] = label
        return found

    def _verb_after_pair(self, token: _Token) -> re.Match | None:
        """The verb after the second share of "92% versus 47% of patients reached ..."."""
        pair = _SHARE_PAIR_AHEAD_RE.match(self.text, token.end)
        return _PROPORTION_VERB_RE.match(self.text, pair.end()) if pair else None

    def _event_share(self, token: _Token) -> str | None:
        """The event a percentage is the share of, named before it ("AF occurred in 7.7%",
        "bleeding occurred in 30 of the 1279 patients (2.3%)", "the incidence of POAF was
        2.9%"); None when no event is named so, when the words name response, remission or
        relapse (a rate, read by the rate rules) or when the sentence describes the patients."""
        window_start = max(self._clause_start(token.start), token.start - _EVENT_WINDOW)
        count = _EVENT_COUNT_BEFORE_RE.search(self.text, window_start, token.start)
        before = count.start("events") if count else token.start
        found = (
            _EVENT_OCCURRED_RE.search(self.text, window_start, before)
            or _SHARE_OF_EVENT_RE.search(self.text, max(0, token.start - 160), token.start)
            or _INCIDENCE_RE.search(self.text, window_start, token.start)
        )
        if not found:
            return None
        named = found.groupdict()
        label = _LEADING_WORDS_RE.sub(
            "", (named.get("label2") or named.get("label3") or named["label"] or "").strip()
        )
        if not label and named.get("label") is not None:
            return None
        label = label or "incidence"
        if named.get("label3") and " " not in label:
            return None  # "the rate (75%)": no event named
        if _RATE_RE.search(found.group()) or _BASELINE_RE.search(self.text):
            return None
        self.share_rules[token.start] = "event_share_with_count" if count else "event_share"
        return label

    def _event_before_counts(self, start: int, end: int) -> tuple[int, str] | None:
        """(end of the span, event) when counts of patients follow a named event ("bleeding
        occurred in 30 of 1279 patients"), in a sentence that does not describe the patients."""
        if not ("occur" in self.text or "observed" in self.text):
            return None
        found = _EVENT_OCCURRED_RE.search(
            self.text, max(self._clause_start(start), start - 90), start
        )
        people = _PEOPLE_AFTER_COUNTS_RE.match(self.text, end)
        if (
            not found
            or not people
            or _RATE_RE.search(found.group())
            or _BASELINE_RE.search(self.text)
        ):
            return None
        return people.end(), _LEADING_WORDS_RE.sub("", found["label"].strip())

    def _share_of_an_arm(self, token: _Token) -> str | None:
        """The arm a percentage is the share of, when the arm is named beside it: "130
        patients in the drug group (3.2%)", "(8.5%) in the drug group", "103 (6.4%) of 1608
        patients assigned to the drug", "15 patients receiving the drug (1.2%)"; else None."""
        if not any(word in self.text for word in ("group", " arm", "assigned", "receiving")):
            return None
        pct_end = _PERCENT_SIGN_RE.match(self.text, token.end).end()
        named = (
            _ARM_SHARE_AFTER_RE.match(self.text, pct_end)
            or _ARM_SHARE_BEFORE_RE.search(self.text, max(0, token.start - 70), token.start)
            or _ARM_THEN_COUNT_RE.search(self.text, max(0, token.start - 60), token.start)
        )
        if not named:
            return None
        arm = next(
            named[g]
            for g in ("group", "assigned", "receiving")
            if named.re.groupindex.get(g) and named[g]
        )
        return None if _NO_ONE_ARM_RE.search(arm) else arm  # "of the patients in each group"

    def _outcome_of_a_respective_pair(self, last_word: re.Match, token: _Token) -> str | None:
        """ "Response and remission rates were 31% and 22.8%, respectively": the first value
        is the first outcome's, the second the second's; None when the sentence is not so."""
        if "respectively" not in self.text:
            return None
        pair = _OUTCOME_PAIR_RE.search(self.text, max(0, last_word.start() - 40), last_word.end())
        if not pair or pair.end("second") != last_word.end():
            return None
        if not _RESPECTIVELY_AHEAD_RE.match(self.text, token.end):
            return None
        earlier = len(self.proportions.ending_in(pair.end(), token.start))
        if earlier > 1:
            return None
        return _RATE_RE.match(pair["second" if earlier else "first"]).lastgroup

    def _no_relapse_label(self, start: int, end: int) -> str:
        """ "no relapse", or the composite a sentence names ("remission at week 8 and no
        relapse through week 32": "remission and no relapse"), never the part alone."""
        for word in _RATE_RE.finditer(self.text, start, end):
            if word.lastgroup in ("remission_rate", "response_rate"):
                return f"{RATE_OUTCOME[word.lastgroup]} and no relapse"
        return "no relapse"

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
            share_of = _ACCOUNTS_FOR_RE.search(self.text, max(0, token.start - 40), token.start)
            what = share_of and _SHARE_OF_WHAT_RE.match(self.text, token.end)
            if what:  # "accounts for 66% of the treatment response"
                effect = self._make(
                    "share_of_an_effect", "other", token.value, token.start, pct_end
                )
                effect.label = f"share of the {what['label'].strip()}"
                self.taken.append((token.start, pct_end))
                continue
            measure = self._accuracy_measure(token, pct_end)
            if measure and self._measure_is_set(token):
                continue  # "for 100% sensitivity, the thresholds were ...": fixed, not found
            if measure and not _PERCENT_EXCLUDE_BEFORE_RE.search(
                self.text, max(0, token.start - 16), token.start
            ):  # "67% accuracy", "sensitivity of 85%"; not a bound (">95% accuracy")
                effect = self._make(
                    "predictive_accuracy", "other", token.value, token.start, pct_end
                )
                effect.label = measure
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
            excluded = _PERCENT_EXCLUDE_BEFORE_RE.search(before)
            if (
                excluded
                and excluded.group().strip() == "by"
                and _OF_PATIENTS_AFTER_RE.match(self.text, token.end)
            ):
                excluded = None  # "initiated by 2.1% (6/280) of patients": a share, not a change
            if excluded or _PERCENT_EXCLUDE_AFTER_RE.match(after):
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
                n_events = _count(count["events"] or count["events3"] or count["events2"])
                total = count["total"] or count["total3"]
                n_total = _count(total) if total else None
            else:
                following = _COUNT_AFTER_RE.match(self.text, pct_end)
                if following:
                    n_events, n_total = _count(following["events"]), _count(following["total"])
            rule = "rate_percent" if kind in RATE_KINDS else "proportion_percent"
            if kind == "other" and (label is None or token.start in self.share_arms):
                rule = "arm_share_percent"
            rule = self.share_rules.get(token.start, rule)
            effect = self._make(rule, kind, token.value, start, pct_end)
            if token.start in self.share_arms:
                effect.arm = self.share_arms[token.start]
            effect.n_events, effect.n_total, effect.label = n_events, n_total, label
            if label and label.startswith("difference in "):
                # "the difference in response rates was 25% for drug A": A against its control,
                # which one arm's name after it does not say
                self.no_arm.add(id(effect))
            self.proportions.append(effect)
            self.taken.append((start, pct_end))

    def _share_list_arms(self) -> None:
        """ "in 10 patients (6.1%), 6 patients (3.7%), and 5 patients (3.2%) in the A, B, and C
        groups": a list of shares followed by as many groups, the i-th share the i-th group's."""
        if "groups" not in self.text and "arms" not in self.text:
            return
        base = self.sentence.start
        ends = {effect.end - base: at for at, effect in enumerate(self.proportions)}
        for match in _GROUPS_AFTER_RE.finditer(self.text):
            at = ends.get(match.start(), ends.get(match.start() + 1))
            if at is None:
                continue
            chain = [self.proportions[at]]
            while at > 0:
                at -= 1
                earlier = self.proportions[at]
                gap = self.text[earlier.end - base : chain[0].start - base]
                if earlier.label != chain[0].label or not _SHARE_LIST_GAP_RE.fullmatch(gap):
                    break
                chain.insert(0, earlier)
            items = [i for i in _GROUP_SPLIT_RE.split(match["items"]) if i.strip()]
            if len(chain) < 2 or len(items) != len(chain):
                continue
            for effect, item in zip(chain, items, strict=True):
                effect.arm = item.strip()

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
            rule = "rate_from_counts"
            clause_end = self._clause_end(end)
            verb = _RATE_VERB_RE.search(self.text, end, min(clause_end, end + 70))
            event = _EVENT_AFTER_COUNTS_RE.match(self.text, end)
            label = None
            if verb and _COUNTS_TO_VERB_RE.fullmatch(self.text, end, verb.start()):
                kind, span_end = verb.lastgroup, verb.end()
            elif event:  # "14/70 patients experienced treatment-emergent transient hypertension"
                kind, span_end, label = "other", event.end(), event["label"].strip()
            elif occurred := self._event_before_counts(start, end):
                # "events occurred in 624 of 3003 patients in the drug group"
                if "%" in self.text[end : min(clause_end, end + 80)]:
                    continue  # "... 30 of 1274 patients assigned to A (2.4%)": as written
                kind, span_end, label = "other", occurred[0], occurred[1]
                rule = "event_share_from_counts"
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
            effect = self._make(rule, kind, 100 * events / total, start, span_end)
            effect.n_events, effect.n_total, effect.label = events, total, label
            self.proportions.append(effect)
            self.taken.append((start, span_end))


RULES = (
    Rule(
        "rate_percent",
        "rate",
        "a percentage tied to response, remission or relapse",
        (_RATE_RE.pattern, _RATE_VERB_RE.pattern),
        (
            Example("Remission at day 28 was 52.5% with esketamine vs 31.0% with placebo.",
                    "remission_rate", 52.5),
            Example("Remission and response were seen in 20.0% and 35.5% of patients, "
                    "respectively.", "response_rate", 35.5),
            Example("Response and remission rates were 40 % and 25.5 %, respectively.",
                    "response_rate", 40.0),
        ),
    ),
    Rule(
        "proportion_percent",
        "adverse_event",
        "another share of patients: adverse events, discontinuation, partial response; a "
        "difference of two rates ('the difference in response rates was 25%')",
        (_PROPORTION_VERB_RE.pattern,),
        (
            Example("Overall, 24% worsened during the follow-up.", "other", 24.0),
            Example("Against placebo, the difference in remission rates was 14% for the drug.",
                    "other", 14.0),
            Example("Remission by day 30 and no relapse to month 6 was seen in 18.5% of the "
                    "drug group.", "other", 18.5),
        ),
    ),
    Rule(
        "percent_in_words",
        "rate",
        "a rate written in words ('Fifty-nine percent responded')",
        (_WORD_PERCENT_RE.pattern,),
        (Example("Fifty-nine percent of patients responded.", "response_rate", 59.0),),
    ),
    Rule(
        "arm_share_percent",
        "adverse_event",
        "the share of one arm's patients with an event, the arm named beside it ('41 patients "
        "in the active group (5.1%)', '(9.8%) in the control group', '(1.7%) who were "
        "receiving 2.5 mg of apixaban')",
        (_ARM_SHARE_AFTER_RE.pattern, _ARM_SHARE_BEFORE_RE.pattern),
        (
            Example("Bleeding occurred in 41 patients in the active group (5.1%).", "other", 5.1),
            Example("The event rate was 7.4% in the control arm.", "other", 7.4),
            Example("Death occurred in 52 (3.9%) of 1330 patients assigned to the new drug.",
                    "other", 3.9),
            Example("Death occurred in 12 of 800 patients (1.5%) who were receiving 2.5 mg of "
                    "the drug.", "other", 1.5),
            Example("Bleeding was 0.4% in the 2.5-mg drug group.", "other", 0.4),
            Example("Stroke occurred in 30 of the 1274 patients randomly assigned to receive "
                    "the drug (2.4%).", "other", 2.4),
            Example("Transfusions were needed in 4.7% (7 cases) of the drug group.", "other", 4.7),
        ),
    ),
    Rule(
        "share_of_an_effect",
        "other",
        "the part of one effect another accounts for ('the placebo response accounts for 66% of "
        "the treatment response')",
        (_ACCOUNTS_FOR_RE.pattern, _SHARE_OF_WHAT_RE.pattern),
        (Example("Expectancy accounted for up to 40% of the drug response in the trials.",
                 "other", 40.0),),
    ),
    Rule(
        "counted_share_pair",
        "adverse_event",
        "one share per arm, each with its counts, compared ('mortality was 14/120 (11.7%) vs "
        "22/118 (18.6%)')",
        (_COUNTED_PAIR_RE.pattern,),
        (Example("Readmission was 9/85 (10.6%) vs 17/88 (19.3%), P = 0.11.", "other", 19.3),),
    ),
    Rule(
        "compared_share_pair",
        "adverse_event",
        "two shares compared by a ratio or a P in their sentence ('incidence was lower with the "
        "drug (17.3% vs. 46.3%; RR 0.37)', '(1344 patients [9.8%] vs. 1563 patients [11.3%]; "
        "hazard ratio 0.85)'): one share per arm",
        (_COMPARED_PAIR_AHEAD_RE.pattern,),
        (
            Example("Readmission was less frequent with the drug (12.5% vs. 20.1%; RR 0.62, "
                    "95% CI 0.41-0.93).", "other", 12.5),
            Example("The drug reduced strokes (210 patients [3.1%] vs. 260 patients [3.9%]; "
                    "P = 0.01).", "other", 3.1),
        ),
    ),
    Rule(
        "event_share",
        "adverse_event",
        "the share of patients with an event the words name before it ('stroke occurred in "
        "4.1%', 'the percentage of patients who died was 8.1%', 'an incidence of 12.9%', 'the "
        "pregnancy rate (47.7% vs. 42.9%)'); later shares of a list continue it",
        (_EVENT_OCCURRED_RE.pattern, _SHARE_OF_EVENT_RE.pattern, _INCIDENCE_RE.pattern),
        (
            Example("Delirium occurred in 6.2% and 9.8% of the two groups.", "other", 6.2),
            Example("The proportion of patients who needed a transfusion was 11.5% with the "
                    "drug.", "other", 11.5),
            Example("The new regimen lowered the infection incidence to 3.4%.", "other", 3.4),
            Example("Live birth rate was higher than with the comparator (31.0% vs. 24.5%).",
                    "other", 31.0),
        ),
    ),
    Rule(
        "event_share_with_count",
        "adverse_event",
        "an event's share with its count, the event named before the count ('bleeding was "
        "observed in 12 patients (4.0%)', 'occurred in 30 of the 1279 patients (2.3%)')",
        (_EVENT_COUNT_BEFORE_RE.pattern, _EVENT_OCCURRED_RE.pattern),
        (
            Example("Wound infection was observed in 12 patients (4.0%), 9 patients (3.1%) and "
                    "15 patients (5.2%) in the three groups.", "other", 3.1),
            Example("Major bleeding occurred in 18 of the 950 treated patients (1.9%).",
                    "other", 1.9),
        ),
    ),
    Rule(
        "event_share_from_counts",
        "adverse_event",
        "an event's share written as counts alone after the event ('events occurred in 62 of "
        "300 patients'): 100 x events / total",
        (_EVENT_OCCURRED_RE.pattern, _COUNTS_RE.pattern),
        (Example("A first fracture occurred in 45 of 900 patients in the active group.",
                 "other", 5.0),),
    ),
    Rule(
        "rate_from_counts",
        "rate",
        "a rate written only as counts ('12 of 20 patients responded'): 100 x events / total",
        (_COUNTS_RE.pattern,),
        (Example("In all, 12 of 20 patients responded to ketamine.", "response_rate", 60.0),),
    ),
)  # fmt: skip
