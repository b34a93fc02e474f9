"""Differences and changes: mean differences (with a CI, or a labelled CI after the words
"lower ... by 7.95 points"), changes from baseline with their SE or SD, lists of signed
changes, blood-pressure pairs, relative changes in percent and changes in percentage points;
and the names of standardised and mean differences, read by the estimate pass."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from functools import cached_property

from pipeline.extract.effect_rules.base import Example, Rule
from pipeline.extract.effect_rules.effect import RATE_KINDS
from pipeline.extract.effect_rules.rates import _RATE_RE
from pipeline.extract.effect_rules.reading import (
    _BLOCK_AFTER_RE,
    _CI,
    _LABELLED_CI_RE,
    _number,
    _Token,
)
from pipeline.extract.numbers import MINUS_CHARS, SP, UNSIGNED

# kind -> names as written, read by the estimate pass (Cohen's d and Hedges' g are matched
# there, with their spellings)
STATISTIC_NAMES: dict[str, tuple[str, ...]] = {
    "smd": ("standardized mean difference", "standardised mean difference", "SMD",
            "effect size", "effect-size", "ES"),
    "mean_difference": ("mean difference", "MD", "WMD", "difference", "differed", "Δ",
                        "pooled estimate"),
}  # fmt: skip
# A difference between two shares in percentage points ("the difference in risk was 0.4
# percentage points (95% CI ...)"): no kind of its own in the contract (a mean difference is a
# difference of means, not of shares).
LABELLED_AS_OTHER: dict[str, str] = {"point_difference": "difference in percentage points"}
# after an estimate: its unit is percentage points
_IN_POINTS_RE = re.compile(r"\s?(?:percentage\spoints?|pp)\b")

_DIFFERENCE_CUES_RE = re.compile(
    r"\b(?:greater|lower|higher|less|more|compared|than|vs\.?|versus|between|superior)\b",
    _CI,
)


_WITHIN_ARM_RE = re.compile(r"\bbaseline\b|\bwithin\b", _CI)
_CHANGE_CUES_RE = re.compile(
    r"\b(?:chang\w*|decreas\w*|reduc\w*|improv\w*|increas\w*|declin\w*)\b", _CI
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
# "the mean improvement of depressive symptoms was 33 %": a relative change named before it
_PERCENT_CHANGE_NAMED_RE = re.compile(
    rf"\b(?:mean|average|relative|median){SP}(?P<word>improvement|reduction|decrease|increase"
    rf"|decline){SP}(?:of|in){SP}(?P<label>[^%;\d]{{3,80}}?){SP}(?:was|were){SP}$",
    _CI,
)
# A percentage that defines an outcome (a threshold, a criterion, an analysis variable: "a
# dependent variable of a 50% reduction in scores") is a plan, not a result
_DEFINITION_RE = re.compile(
    r"defin|[≥≤<>]|at least|criteri|threshold|less than|more than|greater than|up to"
    r"|variable|cut-?off"
    # a target to reach: "the number of treatments to a 50% reduction", "time to achieve a 50%"
    r"|\b(?:time|treatments?|sessions?|infusions?|doses?|days?|weeks?)\sto\s"
    r"(?:(?:achieve|reach|attain)\s)?(?:an?\s)?$|\bto\s(?:achieve|reach|attain)\s(?:an?\s)?$",
    _CI,
)


# "-11.5 (p < 0.0001), -5.1 (p = 0.03), and +3.8": each value may carry its own P
_OWN_P = rf"(?:{SP}?\({SP}?[Pp]{SP}?[=<>≤≥][^()]{{0,25}}\))?"
_SIGNED_LIST_RE = re.compile(rf"{_OWN_P}{SP}?,{SP}?(?:and{SP})?[{MINUS_CHARS}+]{SP}?{UNSIGNED}")
_POINTS_TRAIL_RE = re.compile(rf"{SP}?[\[(]{SP}?{UNSIGNED}{SP}?[\])]{SP}points?\b")
# "13.3/8.7 mmHg": systolic/diastolic pairs; "r = 0.06 [-0.05, 0.17]": a correlation with its CI
_PRESSURE_PAIR_RE = re.compile(r"(?<![\d.>≥<≤/])(\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)(?![\d./])")


_SD_TRAIL_RE = re.compile(
    rf"{SP}?(?:[\[(]{SP}?SD{SP}?[=:,]?{SP}?{UNSIGNED}{SP}?[\])]|±{SP}?{UNSIGNED})"
)
# Statistics that are not effects ("t = -2.4", "df = 127", "n = 86", "I2 = 24%"). Regression


_POINT_UNIT = r"(?:percentage\spoints|pp)\b"
_POINT_CHANGE_RE = re.compile(
    rf"\b(?:decreas|increas|reduc|improv|declin)\w*{SP}(?:from{SP}baseline{SP})?by{SP}"
    rf"(?P<first>{UNSIGNED})(?:{SP}(?P<unit1>{_POINT_UNIT}))?(?:{SP}and{SP}(?P<second>{UNSIGNED}))?"
    rf"{SP}(?P<unit>{_POINT_UNIT})"
)


# "increase time in remission from 25.3% to 31.1%", "decreased from 12.4 to 8.1": a level
# before and after a change, each an effect ("other", labelled with what changed); "the
# proportion ... decreased to 33%": the level after it. Not "ranging from 12 to 41".
_CHANGE_VERB = r"(?:increas|decreas|reduc|improv|declin|fell|rose|dropp|lower|rais)\w*"
_FROM_TO_RE = re.compile(
    rf"\b{_CHANGE_VERB}{SP}(?:(?P<label>[^.;%\d()]{{3,60}}?){SP})?from{SP}(?P<before>{UNSIGNED})"
    rf"(?P<pct1>{SP}?%)?(?:{SP}at{SP}baseline)?{SP}to{SP}(?P<after>{UNSIGNED})(?P<pct2>{SP}?%)?",
    _CI,
)
_SHARE_CHANGED_TO_RE = re.compile(
    rf"\b(?:proportion|percentage|share|rate|incidence)\sof\s(?P<label>[^.;%()]{{3,80}}?)\s"
    rf"{_CHANGE_VERB}\sto\s(?P<after>{UNSIGNED}){SP}?%",
    _CI,
)
_RATE_NOUN_RE = re.compile(r"\brates?\b", _CI)
_SUBJECT_BEFORE_RE = re.compile(
    rf"(?P<words>\b[A-Za-z][\w-]*(?:{SP}[A-Za-z][\w-]*){{0,4}}){SP}(?:was{SP}|were{SP})?$"
)
_YEAR_RE = re.compile(r"(?:19|20)\d\d")


# cheap tests before the patterns above: a number right after "from" or "to"
_FROM_NUMBER_RE = re.compile(rf"from{SP}\d")
_TO_NUMBER_RE = re.compile(rf"to{SP}\d")


def _may_change_level(text: str) -> bool:
    """A cheap test: levels before and after a change need "from <number> ... to"."""
    return (
        " to " in text
        and _FROM_NUMBER_RE.search(text) is not None
        and _FROM_TO_RE.search(text) is not None
    )


_NOT_A_CHANGE_RE = re.compile(r"\b(?:rang\w*|var(?:ied|ying|ies)|dose|dosage)\b", _CI)


# "improved by 12.3 points with the drug versus 4.1 points with placebo": a change per arm
_POINTS = r"(?:points?|pts)"
_CHANGES_BY_POINTS_RE = re.compile(
    rf"\b(?:improv|decreas|reduc|increas|declin|fell|rose|dropp)\w*{SP}by{SP}(?P<a>{UNSIGNED}){SP}"
    rf"{_POINTS}(?:{SP}(?:with|in|for|on|among){SP}[\w/+ -]{{1,40}}?)?{SP}?,?{SP}?"
    rf"(?:versus|vs\.?|compared{SP}with|and){SP}(?:by{SP})?(?P<b>{UNSIGNED}){SP}{_POINTS}",
    _CI,
)


# "12 percentage points higher with the drug", "differed by 7.5 pp": a difference between two
# shares in percentage points ("other", as the contract has no kind for it)
_POINT_DIFFERENCE_RE = re.compile(
    rf"(?:\bdiffer\w*{SP}by{SP}(?P<a>{UNSIGNED}){SP}(?:percentage{SP}points?|pp)\b"
    rf"|(?<![\w.])(?P<b>{UNSIGNED}){SP}(?:percentage{SP}points?|pp){SP}(?:higher|lower|greater"
    rf"|more|fewer|less)\b)",
    _CI,
)


# "trended lower in the drug cohort (- 0.4 days) ... and higher (+ 1.6 days)": a change with
# its sign written out, alone in its brackets, in a sentence about change
_SIGNED_IN_BRACKETS_RE = re.compile(
    rf"\({SP}?(?P<sign>[{MINUS_CHARS}+]){SP}?(?P<value>{UNSIGNED})"
    rf"(?:{SP}?(?:days?|weeks?|months?|hours?|points?|kg|mmHg|bpm|%))?{SP}?\)"
)
_TRENDED_RE = re.compile(
    r"\b(?:trend\w*|chang\w*|decreas\w*|increas\w*|reduc\w*|improv\w*|declin\w*|rose|fell"
    r"|higher|lower)\b",
    _CI,
)


# "costs decreased in all cohorts (drug A, 50%; drug B, 22%; usual care, 17%)": a relative
# change per group, each group named before its percent
_GROUP_PERCENT = rf"[A-Za-z][\w/+-]*(?:{SP}[\w/+-]+){{0,3}}{SP}?[,:]{SP}?{UNSIGNED}{SP}?%"
_GROUP_PERCENTS_RE = re.compile(
    rf"\b(?P<verb>decreas|increas|reduc|declin|fell|rose|dropp|lower|improv)\w*\b[^.;()%\d]{{0,60}}"
    rf"\((?P<items>{_GROUP_PERCENT}(?:{SP}?;{SP}?{_GROUP_PERCENT})+){SP}?\)",
    _CI,
)
_GROUP_PERCENT_RE = re.compile(
    rf"(?P<group>[A-Za-z][\w/+-]*(?:{SP}[\w/+-]+){{0,3}}){SP}?[,:]{SP}?(?P<value>{UNSIGNED})"
    rf"{SP}?%"
)


_AND_BEFORE_RE = re.compile(rf"(?:,{SP}?(?:and{SP})?|{SP}and{SP})$")


class _DifferencesRules:
    """The sentence reader's differences rules (mixed into the reader)."""

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

    def _change_or_difference(self, token: _Token) -> str | None:
        keyword = self._nearest_strong(token.start)
        if keyword and keyword[2] == "mean_difference":
            return "mean_difference"
        if self._names_mean_difference_before(token.start):
            # "(least squares mean difference versus placebo) ... (-3.1 [2.21]; ES 0.36)"
            return "mean_difference"
        if self._change_cue_before(token.start):
            return "mean_change"
        return None

    def _names_mean_difference_before(self, pos: int) -> bool:
        """Whether the sentence names a mean difference in words before `pos`."""
        if "ifference" not in self.low:
            return False
        return any(
            kind == "mean_difference" and end <= pos and "mean" in self.low[start:end]
            for start, end, kind in self.strong
        )

    def _backward_cis(self) -> None:
        """A labelled CI whose estimate comes earlier: "lower ... by 7.95 points (95% CI, ...)"."""
        for match in self.labelled_cis:
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
        named = _PERCENT_CHANGE_NAMED_RE.search(self.text, max(0, token.start - 130), token.start)
        if named:
            return f"{named['word'].lower()} of {named['label'].strip()}"
        previous = self.last_percent_change
        if previous and _AND_BEFORE_RE.search(before) and not self._verb_after_pair(token):
            last_end = previous.end - self.sentence.start
            if 0 <= token.start - last_end < 120:
                return previous.label
        return None

    def _levels_changed(self) -> None:
        """The levels before and after a change ("increase time in remission from 25.3% to
        31.1%"), and a share's level after one ("the proportion of ... decreased to 33%")."""
        from_to = _FROM_TO_RE.finditer(self.text) if _FROM_NUMBER_RE.search(self.text) else ()
        for match in from_to:
            if _NOT_A_CHANGE_RE.search(self.text, match.start(), match.start("before")):
                continue
            if bool(match["pct1"]) != bool(match["pct2"]) and match["pct1"]:
                continue  # "from 20% to 30 patients": not one measure
            if _BLOCK_AFTER_RE.match(self.text, match.end("after")) or _YEAR_RE.fullmatch(
                match["after"]
            ):
                continue  # "from 28 to 84 mg", "from 2 to 4 weeks", "from 2015 to 2020"
            label = (match["label"] or "").strip() or self._what_changed(match.start())
            # a rate only when the words name one: not "time in remission"
            rate = _RATE_RE.search(label or "") if match["pct2"] else None
            rate = rate if rate and _RATE_NOUN_RE.search(label) else None
            kind = rate.lastgroup if rate else "other"  # "the response rate rose from 30% to 45%"
            levels = (("before", "pct1"), ("after", "pct2"))
            if kind == "other" and not match["label"]:
                # "CRP levels fell from 95 to 14": a quantity that changed over time, its level
                # before the change the patients' baseline (not an effect), the level after it
                # the result; "raise adherence from 48% to 61%" (what a treatment changed,
                # named after the verb) compares two levels, each an effect
                levels = levels[1:]
            for name, end_name in levels:
                end = match.end(end_name) if match[end_name] else match.end(name)
                if self._overlaps(self.taken, match.start(name), end):
                    continue
                effect = self._make(
                    "level_before_after", kind, _number(match[name]), match.start(name), end
                )
                effect.label = None if rate else label
                self.taken.append((match.start(name), end))
        changed_to = (
            _SHARE_CHANGED_TO_RE.finditer(self.text)
            if "%" in self.text and _TO_NUMBER_RE.search(self.text)
            else ()
        )
        for match in changed_to:
            end = self.text.index("%", match.end("after")) + 1
            if self._overlaps(self.taken, match.start("after"), end):
                continue
            effect = self._make(
                "level_before_after", "other", _number(match["after"]), match.start("after"), end
            )
            effect.label = match["label"].strip()
            self.taken.append((match.start("after"), end))

    def _what_changed(self, verb_start: int) -> str | None:
        """The words right before a change verb ("Depression scores decreased from ...")."""
        subject = _SUBJECT_BEFORE_RE.search(self.text, max(0, verb_start - 60), verb_start)
        return subject["words"] if subject else None

    def _changes_by_points(self) -> None:
        """ "improved by 12.3 points with the drug versus 4.1 points with placebo": two mean
        changes, positive as written."""
        for match in _CHANGES_BY_POINTS_RE.finditer(self.text):
            if self._overlaps(self.taken, match.start("a"), match.end()):
                continue
            for name in ("a", "b"):
                start, end = match.span(name)
                self._make("changes_by_points", "mean_change", _number(match[name]), start, end)
                self.taken.append((start, end))

    def _point_differences(self) -> None:
        """A difference between two shares in percentage points, without an interval."""
        for match in _POINT_DIFFERENCE_RE.finditer(self.text):
            name = "a" if match["a"] else "b"
            if self._overlaps(self.taken, *match.span(name)):
                continue
            effect = self._make(
                "percentage_point_difference", "other", _number(match[name]), *match.span()
            )
            effect.label = "difference in percentage points"
            self.taken.append(match.span())

    def _signed_changes_in_brackets(self) -> None:
        """ "(+ 0.1 days)", "(- 0.4 days)": a change, its sign written out, in a sentence about
        change; a plus sign keeps the value positive."""
        if not _TRENDED_RE.search(self.text):
            return
        for match in _SIGNED_IN_BRACKETS_RE.finditer(self.text):
            if self._overlaps(self.taken, *match.span()) or self._overlaps(
                self.blocked, *match.span()
            ):
                continue
            value = _number(match["value"])
            if match["sign"] != "+":
                value = -value
            start = match.start("sign")
            end = match.end() - 1  # without the closing bracket
            self._make("signed_change_in_brackets", "mean_change", value, start, end)
            self.taken.append((start, end))

    def _group_percent_changes(self) -> None:
        """ "decreased in all cohorts (drug A, 50%; drug B, 22%)": one relative change per
        group, the group its arm, labelled with what changed."""
        for match in _GROUP_PERCENTS_RE.finditer(self.text):
            label = self._what_changed(match.start())
            for item in _GROUP_PERCENT_RE.finditer(self.text, match.start("items"), match.end()):
                start, end = item.span()
                if self._overlaps(self.taken, start, end):
                    continue
                effect = self._make(
                    "group_percent_changes", "percent_change", _number(item["value"]), start, end
                )
                effect.arm, effect.label = item["group"], label
                self.taken.append((start, end))

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


RULES = (
    Rule(
        "ci_after_words",
        "difference",
        "a labelled interval whose estimate was written before it ('lower ... by 7.95 points "
        "(95% CI, ...)')",
        (_LABELLED_CI_RE.pattern,),
        (
            Example(
                "The MADRS score was lower in the ketamine group than in the midazolam group by "
                "7.95 points (adjusted 95% CI, 3.20 to 12.71).",
                "mean_difference",
                7.95,
            ),
        ),
    ),
    Rule(
        "change_with_se",
        "change",
        "a signed change or difference with its SE in a sentence about change",
        (_CHANGE_CUES_RE.pattern,),
        (Example("The change from baseline was -20.0 (SE 1.3) with esketamine.",
                 "mean_change", -20.0),),
    ),
    Rule(
        "change_in_points",
        "change",
        "a change in points with its SD in brackets after a word of change",
        (_POINTS_TRAIL_RE.pattern,),
        (Example("MADRS scores decreased by 29.6 [12.5] points vs 0.7 [1.7] points.",
                 "mean_change", 29.6),),
    ),
    Rule(
        "change_with_sd",
        "change",
        "a negative mean with its SD: a change score",
        (_SD_TRAIL_RE.pattern,),
        (Example("The mean change from baseline was -16.4 ± 8.8 in the ketamine group.",
                 "mean_change", -16.4),),
    ),
    Rule(
        "signed_list",
        "change",
        "a list of signed changes ('-12.1, -10.4 and -6.3')",
        (_SIGNED_LIST_RE.pattern,),
        (Example("Changes from baseline were -9.4 (p < 0.001), -4.2 (p = 0.02) and +1.1.",
                 "mean_change", -9.4),),
    ),
    Rule(
        "blood_pressure_pair",
        "change",
        "a systolic/diastolic change written '13.3/8.7 mmHg': two mean changes",
        (_PRESSURE_PAIR_RE.pattern,),
        (Example("Blood pressure increased by a maximum of 13.3/8.7 mmHg after dosing.",
                 "mean_change", 8.7),),
    ),
    Rule(
        "relative_change",
        "change",
        "a relative difference in percent ('decreased the risk of relapse by 51%')",
        (_PERCENT_CHANGE_AFTER_RE.pattern, _PERCENT_CHANGE_BEFORE_RE.pattern,
         _PERCENT_CHANGE_NAMED_RE.pattern),
        (Example("Esketamine decreased the risk of relapse by 51% compared with placebo.",
                 "percent_change", 51.0),
         Example("The mean reduction of anxiety scores was 41 % at the last visit.",
                 "percent_change", 41.0),),
    ),
    Rule(
        "level_before_after",
        "change",
        "the levels before and after a change a treatment made ('increased time in remission "
        "from 25.3% to 31.1%'); the level after a quantity changed over time ('CRP fell from 95 "
        "to 14': 14, the level before is the baseline); a share's level after a change ('the "
        "proportion of ... decreased to 33%')",
        (_FROM_TO_RE.pattern, _SHARE_CHANGED_TO_RE.pattern),
        (
            Example("The drug increased the share of days at target from 41.0% to 55.5%.",
                    "other", 55.5),
            Example("Serum ferritin decreased from 310 to 190 over the year.", "other", 190.0),
            Example("The proportion of patients on opioids declined to 12% by the last visit.",
                    "other", 12.0),
        ),
    ),
    Rule(
        "changes_by_points",
        "change",
        "a change in points per arm ('improved by 12.3 points with the drug versus 4.1 points "
        "with placebo'): two mean changes",
        (_CHANGES_BY_POINTS_RE.pattern,),
        (
            Example(
                "Function improved by 9.5 points with training versus 3.0 points with usual care.",
                "mean_change",
                3.0,
            ),
        ),
    ),
    Rule(
        "percentage_point_difference",
        "difference",
        "a difference between two shares in percentage points ('12 percentage points higher "
        "with the drug', 'differed by 7.5 pp', 'a difference of 7.2 percentage points (95% CI "
        "5.0 to 9.3)' when no mean difference is named)",
        (_POINT_DIFFERENCE_RE.pattern,),
        (
            Example(
                "Remission was 11 percentage points higher with the drug than with placebo.",
                "other",
                11.0,
            ),
            Example(
                "Events were fewer with the drug, a difference of 3.1 percentage points (95% CI, "
                "1.2 to 5.0).",
                "other",
                3.1,
            ),
        ),
    ),
    Rule(
        "signed_change_in_brackets",
        "change",
        "a change whose sign is written out, alone in its brackets, in a sentence about change "
        "('trended lower (- 0.4 days) ... and higher (+ 1.6 days)')",
        (_SIGNED_IN_BRACKETS_RE.pattern,),
        (
            Example(
                "Sick days fell in the drug cohort (- 1.2 days) and rose in the usual-care cohort "
                "(+ 0.8 days).",
                "mean_change",
                0.8,
            ),
        ),
    ),
    Rule(
        "group_percent_changes",
        "change",
        "a relative change per group listed after a word of change ('costs decreased in all "
        "cohorts (drug A, 50%; drug B, 22%)')",
        (_GROUP_PERCENTS_RE.pattern,),
        (
            Example(
                "Visits declined in every arm (nurse-led, 31%; usual care, 12%).",
                "percent_change",
                12.0,
            ),
        ),
    ),
    Rule(
        "percentage_points",
        "change",
        "within-group changes in percentage points ('by 30.3 and 17.3 percentage points')",
        (_POINT_CHANGE_RE.pattern,),
        (),
    ),
)  # fmt: skip
EXAMPLES: dict[str, tuple[Example, ...]] = {
    "named_statistic": (Example("The pooled SMD = 0.62 favoured the active arm.", "smd", 0.62),),
}
