"""Other results: correlations with their interval, and statistics the contract has no kind
for (AUC, regression coefficients, R²), stored as "other" with a label."""

from __future__ import annotations

import re

from pipeline.extract.effect_rules.base import Example, Rule
from pipeline.extract.effect_rules.reading import _number
from pipeline.extract.numbers import SIGNED, SP, UNSIGNED

STATISTIC_NAMES: dict[str, tuple[str, ...]] = {
    "auc": ("AUC", "area under the curve", "area under the ROC curve"),
    "beta": (
        "β",
        "beta coefficient",
        "regression coefficient",
        "standardized coefficient β",
        "coef",
        "coefficient",
    ),
    "mean_ratio": ("mean ratio", "geometric mean ratio", "ratio of geometric means"),
    "r_squared": ("R2", "R²", "R-squared"),
}
LABELLED_AS_OTHER: dict[str, str] = {
    "auc": "area under the curve",
    "beta": "regression coefficient",
    "mean_ratio": "mean ratio",
    "r_squared": "variance explained (R²)",
}

# "r = 0.06 [-0.05, 0.17]": a correlation with its CI
_CORRELATION_RE = re.compile(
    rf"(?<![\w-])r{SP}?={SP}?(?P<value>{SIGNED}){SP}?[\[(]{SP}?(?P<low>{SIGNED}){SP}?(?:,|to|–|;)"
    rf"{SP}?(?P<high>{SIGNED}){SP}?[\])]"
)


# "7.5 vs 19.5 days, p = 0.073", "578 ± 291 mL vs. 684 ± 245 mL; P = 0.002": one value per arm,
# compared by the P right after them
_UNIT = (
    r"(?:days?|weeks?|months?|hours?|h|min(?:utes)?|seconds?|s|mL|ml|L|dL|kg|g|mg|µg|mmHg|cm|mm"
    r"|points?|mmol/L|mg/dL|ng/mL|pg/mL|bpm|beats/min)"
)
# an SD after "±", or an IQR or range in brackets: "5 [IQR 4-7]", "7 (5-9)"
_SPREAD = (
    rf"(?:{SP}?±{SP}?{UNSIGNED}|{SP}?[\[(](?:IQR|range)?[,:]?{SP}?{UNSIGNED}{SP}?(?:-|–|to|,)"
    rf"{SP}?{UNSIGNED}[\])])?"
)
_ARM_VALUES_RE = re.compile(
    rf"(?<![\w.±/-])(?:(?:mean|median){SP})?(?P<a>{UNSIGNED}){_SPREAD}(?:{SP}?(?P<unit_a>{_UNIT}))?{SP}(?:vs\.?|versus)"
    rf"{SP}(?P<b>{UNSIGNED}){_SPREAD}(?:{SP}?(?P<unit>{_UNIT}))?{SP}?[,;]{SP}?(?=[Pp]{SP}?[=<>≤≥])"
)
# "Mean scores at day 28 were 18.2 and 24.6 in the ketamine and placebo groups, respectively"
_ARM_VALUES_RESPECTIVELY_RE = re.compile(
    rf"\b(?:were|was|of){SP}(?P<a>{UNSIGNED}){_SPREAD}(?:{SP}?(?P<unit_a>{_UNIT}))?{SP}"
    rf"(?:and|vs\.?|versus){SP}(?P<b>{UNSIGNED}){_SPREAD}(?:{SP}?(?P<unit>{_UNIT}))?,?{SP}"
    rf"(?:in|for){SP}the{SP}(?P<first>[\w/+-]+(?:{SP}[\w/+-]+){{0,2}}?){SP}and{SP}"
    rf"(?P<second>[\w/+-]+(?:{SP}[\w/+-]+){{0,2}}?){SP}(?:groups|arms),?{SP}respectively"
)
# Values that describe the patients, not an outcome: "aged 45 vs 50 years, p = 0.2"
_PATIENT_DESCRIPTION_RE = re.compile(
    r"\bage[sd]?\b|\byears old\b|\bbaseline\b|\bBMI\b|\bbody mass\b|\bweight\b|\bheight\b"
    r"|\bduration of (?:illness|disease)\b|\bcharacteristic|\bfollow(?:ed|-up| up)\b",
    re.IGNORECASE,
)
# "lower in the drug group than in the placebo group (578 vs. 684 ...)": the values' arms in turn
_GROUP = r"(?:[\w/+-]+\s){0,3}?[\w/+-]+"
_GROUPS_COMPARED_RE = re.compile(
    rf"\bin\sthe\s(?P<first>{_GROUP})\s(?:group|arm)\sthan\s(?:in\s)?the\s(?P<second>{_GROUP})"
    rf"\s(?:group|arm)\s?\($"
)
# Words before a bracket that say who or how, not what was measured
_NOT_A_MEASURE_RE = re.compile(
    r"\b(?:groups?|arms?|placebo|control|was|were|is|are|with|than|in)\b", re.IGNORECASE
)
_SUBJECT_RE = re.compile(r"^(?:[A-Z]+:\s)?(?P<subject>[^,;()]{3,80}?)\s(?:was|were)\b")
_PHRASE_BEFORE_RE = re.compile(rf"(?P<phrase>(?:[\w/-]+{SP}){{0,4}}[\w/-]+){SP}?\($")
_FUNCTION_WORDS_RE = re.compile(
    r"^(?:(?:a|an|the|and|or|in|of|with|trend|towards?|fewer|more|less|shorter|longer|lower"
    r"|higher|greater|smaller)\s)+",
    re.IGNORECASE,
)


# "67% accuracy", "a 92.9% predictive value", "sensitivity of 85%", "specificity was 90.1%"
_MEASURES = (
    r"(?:overall\s|balanced\s|classification\s|diagnostic\s|predictive\s|prediction\s)?"
    r"(?:positive\spredictive\svalues?|negative\spredictive\svalues?|predictive\svalues?"
    r"|accurac(?:y|ies)|sensitivit(?:y|ies)|specificit(?:y|ies)|PPV|NPV)"
)
# "68.60% of accuracy" too
_MEASURE_AFTER_RE = re.compile(rf"{SP}?%{SP}?(?:of{SP})?(?P<label>{_MEASURES})\b")
# "accuracies of 68.5% at T1 and 66.3% at T2": the later values of a list of one measure
_MEASURE_LIST_GAP_RE = re.compile(
    rf"(?:{SP}(?:at|in|for|on){SP}[\w-]+(?:{SP}\d+)?)?{SP}?,?{SP}?(?:and{SP}|or{SP})?"
)
_MEASURE_LIST_LONGEST = 40
# "for 100% sensitivity, the threshold was ...", "at 90% specificity": a level the analysis
# fixed, not a result
_MEASURE_SET_BEFORE_RE = re.compile(rf"\b(?:for|at|to){SP}(?:a{SP})?$", re.IGNORECASE)
_MEASURE_BEFORE_RE = re.compile(
    rf"\b(?P<label>{_MEASURES})(?:{SP}(?:of|was|were|reached|is|at))?(?:{SP}?[=:])?{SP}?$"
)
# "3 times (more) likely to": how many times as likely an outcome is, with one arm than another
_TIMES_LIKELY_RE = re.compile(
    rf"(?<![\w.])(?P<value>{UNSIGNED}){SP}?(?:times|-fold){SP}(?:more{SP}|less{SP}|as{SP})?likely\b"
)


def _may_give_times_likely(text: str) -> bool:
    """A cheap test for "N times (more) likely"."""
    return "likely" in text and ("times" in text or "fold" in text)


def _may_compare_arm_values(text: str) -> bool:
    """A cheap test: per-arm values compared need "vs"/"versus" (or "than", "compared" for
    values in brackets after their arms) and a P, or groups named in turn ("respectively")."""
    if "respectively" in text and " groups" in text:
        return True
    return (
        ("vs" in text or "versus" in text or "than" in text or "compared" in text)
        and ("P" in text or "p" in text)
        and ("=" in text or "<" in text or "≤" in text)
    )


class _OtherRules:
    """The sentence reader's rules for other results (mixed into the reader)."""

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

    def _accuracy_measure(self, token, pct_end: int) -> str | None:
        """The measure of prediction a percentage is ("67% accuracy", "sensitivity of 85%")."""
        after = _MEASURE_AFTER_RE.match(self.text, token.end)
        if after:
            return after["label"]
        before = _MEASURE_BEFORE_RE.search(self.text, max(0, token.start - 40), token.start)
        if before:
            return before["label"]
        last = self.effects[-1] if self.effects else None
        if last is not None and last.rule == "predictive_accuracy":
            gap_start = last.end - self.sentence.start
            if 0 <= token.start - gap_start <= _MEASURE_LIST_LONGEST and (
                _MEASURE_LIST_GAP_RE.fullmatch(self.text, gap_start, token.start)
            ):
                return last.label
        return None

    def _measure_is_set(self, token) -> bool:
        """Whether a measure's percentage is a level the analysis fixed ("for 100%
        sensitivity, the thresholds were ..."), not a result."""
        return (
            _MEASURE_SET_BEFORE_RE.search(self.text, max(0, token.start - 8), token.start)
            is not None
        )

    def _times_likely(self) -> None:
        """ "esketamine was 3 times likely to result in remission": other, labelled; not when
        the sentence also gives the value as a named ratio (one effect, written twice)."""
        named = {effect.value for effect in self.effects}
        for match in _TIMES_LIKELY_RE.finditer(self.text):
            value = _number(match["value"])
            if value in named or self._overlaps(self.taken, *match.span()):
                continue
            effect = self._make("times_as_likely", "other", value, *match.span())
            effect.label = "times as likely"
            self.taken.append(match.span())

    def _arm_values(self) -> None:
        """Per-arm values with the P of their comparison: "(7.5 vs 19.5 days, p = 0.073)"."""
        if _PATIENT_DESCRIPTION_RE.search(self.text):
            return
        for match in _ARM_VALUES_RE.finditer(self.text):
            if self._overlaps(self.taken, *match.span()) or self._overlaps(
                self.blocked, *match.span()
            ):
                continue
            if match["unit_a"] and match["unit"] and match["unit_a"] != match["unit"]:
                continue
            label = self._measured(match.start())
            p_value = next((p for p in self.p_values if p[0] == match.end()), None)
            groups = _GROUPS_COMPARED_RE.search(
                self.text, max(0, match.start() - 120), match.start()
            )
            for group, arm in (("a", "first"), ("b", "second")):
                effect = self._make(
                    "arm_values_compared", "other", _number(match[group]), *match.span(group)
                )
                effect.label = label
                if groups:
                    effect.arm = groups[arm]
                if p_value:  # the comparison's P, for both values
                    effect.p, effect.p_operator = p_value[2], p_value[3]
            self.taken.append(match.span())

    def _arm_values_respectively(self) -> None:
        """ "Mean scores were 18.2 and 24.6 in the ketamine and placebo groups, respectively":
        each value its group's, labelled with the sentence's subject."""
        if _PATIENT_DESCRIPTION_RE.search(self.text):
            return
        for match in _ARM_VALUES_RESPECTIVELY_RE.finditer(self.text):
            if self._overlaps(self.taken, match.start("a"), match.end("b")):
                continue
            subject = _SUBJECT_RE.match(self.text)
            label = _FUNCTION_WORDS_RE.sub("", subject["subject"]) if subject else None
            for group, arm in (("a", "first"), ("b", "second")):
                effect = self._make(
                    "arm_values_compared", "other", _number(match[group]), *match.span(group)
                )
                effect.label, effect.arm = label, match[arm]
            self.taken.append((match.start("a"), match.end("b")))

    def _measured(self, start: int) -> str | None:
        """What a pair of per-arm values measures: the words before its bracket, or the
        sentence's subject when those words name a group."""
        phrase = _PHRASE_BEFORE_RE.search(self.text, max(0, start - 60), start)
        if phrase and not _NOT_A_MEASURE_RE.search(phrase["phrase"]):
            return _FUNCTION_WORDS_RE.sub("", phrase["phrase"]) or None
        subject = _SUBJECT_RE.match(self.text)
        return _FUNCTION_WORDS_RE.sub("", subject["subject"]) if subject else None


RULES = (
    Rule(
        "predictive_accuracy",
        "other",
        "a measure of prediction in percent ('67% accuracy', 'a 92.9% predictive value', "
        "'sensitivity of 85%')",
        (_MEASURE_AFTER_RE.pattern, _MEASURE_BEFORE_RE.pattern),
        (
            Example("The classifier identified responders with 74% accuracy.", "other", 74.0),
            Example("Remote ratings gave an 88.5% predictive value for remission.", "other", 88.5),
            Example("The screening tool had a sensitivity of 81.2% in the clinic.", "other", 81.2),
            Example(
                "Models predicted relapse with accuracies of 71.5% at week 4 and 69.0% at week 8.",
                "other",
                69.0,
            ),
            Example("Response was predicted with 70.2% of accuracy.", "other", 70.2),
        ),
    ),
    Rule(
        "times_as_likely",
        "other",
        "how many times as likely an outcome is ('was 3 times more likely to remit')",
        (_TIMES_LIKELY_RE.pattern,),
        (Example("Patients on the drug were 2.5 times more likely to remain well.", "other", 2.5),),
    ),
    Rule(
        "arm_values_compared",
        "other",
        "one value per arm compared by the P right after them ('7.5 vs 19.5 days, p = 0.07', "
        "'578 ± 291 mL vs. 684 ± 245 mL; P = 0.002'), or given for two groups in turn ('were "
        "18.2 and 24.6 in the A and B groups, respectively'): each value, labelled",
        (_ARM_VALUES_RE.pattern, _ARM_VALUES_RESPECTIVELY_RE.pattern),
        (
            Example(
                "Patients on the drug left hospital sooner (6 vs 9 days, p = 0.04).", "other", 9.0
            ),
            Example(
                "Operative time was shorter with the new technique (41.5 ± 8.2 min vs. "
                "55.0 ± 10.1 min; P < 0.001).",
                "other",
                41.5,
            ),
            Example(
                "Length of stay was shorter with the drug (median 4 [IQR 3-6] vs 6 [4-8] "
                "days; P = 0.01).",
                "other",
                6.0,
            ),
            Example(
                "Mean fatigue scores at week 6 were 21.0 and 27.5 in the active and sham "
                "groups, respectively.",
                "other",
                27.5,
            ),
        ),
    ),
    Rule(
        "correlation",
        "other",
        "a correlation coefficient r with its interval",
        (_CORRELATION_RE.pattern,),
        (Example("Scores were weakly related (r = 0.21 [0.05, 0.36]).", "other", 0.21),),
    ),
)
EXAMPLES: dict[str, tuple[Example, ...]] = {
    "named_statistic": (Example("The model discriminated well (AUC = 0.81).", "other", 0.81),),
    "estimate_with_ci": (
        Example("Stays were shorter (Coefficient -4.3 95%CI: -6.6 to -1.9).", "other", -4.3),
        Example("The placebo-corrected mean ratio of albuminuria at day 90 was lower (for 10 "
                "mg/d, 0.76 [90% CI, 0.65-0.88; P = .001]).", "other", 0.76),
        Example("Each additional point was associated with a -0.05 [95% CI -0.09, -0.01] "
                "decrease in the score.", "other", -0.05),
    ),
}  # fmt: skip
