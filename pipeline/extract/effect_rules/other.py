"""Other results: correlations with their interval, and statistics the contract has no kind
for (AUC, regression coefficients, R²), stored as "other" with a label."""

from __future__ import annotations

import re

from pipeline.extract.effect_rules.base import Example, Rule
from pipeline.extract.effect_rules.reading import _number
from pipeline.extract.numbers import SIGNED, SP

STATISTIC_NAMES: dict[str, tuple[str, ...]] = {
    "auc": ("AUC", "area under the curve", "area under the ROC curve"),
    "beta": (
        "β",
        "beta coefficient",
        "regression coefficient",
        "standardized coefficient β",
        "coef",
    ),
    "r_squared": ("R2", "R²", "R-squared"),
}
LABELLED_AS_OTHER: dict[str, str] = {
    "auc": "area under the curve",
    "beta": "regression coefficient",
    "r_squared": "variance explained (R²)",
}

# "r = 0.06 [-0.05, 0.17]": a correlation with its CI
_CORRELATION_RE = re.compile(
    rf"(?<![\w-])r{SP}?={SP}?(?P<value>{SIGNED}){SP}?[\[(]{SP}?(?P<low>{SIGNED}){SP}?(?:,|to|–|;)"
    rf"{SP}?(?P<high>{SIGNED}){SP}?[\])]"
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


RULES = (
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
}
