"""Per-arm values in brackets, each after the arm it belongs to, compared by a P in their
sentence: "lower in the TXA group (460.33 mL) than in the placebo group (511.93 mL) (p < 0.05)",
"lower blood loss (629.0 ± 139.62 mL) compared to the oxytocin group (712.7 ± 131.32 mL;
p = 0.017)". One value per arm, kind "other" labelled with what was measured (the contract has
no kind for a per-arm mean); each value needs a unit, so counts of patients are never read."""

from __future__ import annotations

import re

from pipeline.extract.effect_rules.base import Example, Rule
from pipeline.extract.effect_rules.other import _PATIENT_DESCRIPTION_RE, _SPREAD, _UNIT
from pipeline.extract.effect_rules.reading import _number
from pipeline.extract.numbers import SP, UNSIGNED

_GROUP = rf"(?:[\w/+-]+{SP}){{0,3}}?[\w/+-]+"
_BRACKETED_ARM_VALUES_RE = re.compile(
    rf"(?:\bin{SP}the{SP}(?P<first>{_GROUP}){SP}(?:group|arm){SP}?)?"
    rf"\((?P<a>{UNSIGNED}){_SPREAD}{SP}?(?P<unit_a>{_UNIT})\){SP}"
    rf"(?:than{SP}(?:in{SP})?|compared{SP}(?:to|with){SP}(?:that{SP}of{SP}|those{SP}of{SP})?)"
    rf"the{SP}(?P<second>{_GROUP}){SP}(?:group|arm){SP}?"
    rf"\((?P<b>{UNSIGNED}){_SPREAD}{SP}?(?P<unit>{_UNIT})(?=[);])"
)
# What the values measure: the words before the first bracket ("The mean EBL was lower in the
# TXA group (", "significantly lower blood loss (")
_MEASURE_BEFORE_RE = re.compile(
    rf"(?:\b(?:the{SP})?(?P<subject>(?:mean|median){SP}[\w-]+(?:{SP}[\w-]+)?){SP}(?:was|were)\b"
    rf"[^()]{{0,60}}$|\b(?:lower|higher|greater|less|more|shorter|longer){SP}"
    rf"(?P<object>[\w-]+(?:{SP}[\w-]+)?){SP}?$)",
    re.IGNORECASE,
)


def _may_hold_bracketed_values(text: str) -> bool:
    """A cheap test: two bracketed values compared need "than" or "compared" and a group."""
    return ("than" in text or "compared" in text) and ("group" in text or " arm" in text)


class BracketedArmValuesRules:
    """Per-arm values in brackets after their arms (run on every sentence after the built-in
    rules, on spans they left)."""

    def read(self) -> None:
        """Two per-arm values, each in brackets after its arm, in a sentence with a P."""
        if not self.p_values or not _may_hold_bracketed_values(self.text):
            return
        if _PATIENT_DESCRIPTION_RE.search(self.text):
            return
        for match in _BRACKETED_ARM_VALUES_RE.finditer(self.text):
            if match["unit_a"] != match["unit"] or self._overlaps(
                self.taken, match.start("a"), match.end("b")
            ):
                continue
            before = match.start("first") if match["first"] else match.start("a") - 1
            measured = _MEASURE_BEFORE_RE.search(self.text, max(0, before - 80), before)
            label = (measured["subject"] or measured["object"]) if measured else None
            p_value = next((p for p in self.p_values if 0 <= p[0] - match.end() <= 4), None)
            for group, arm in (("a", match["first"]), ("b", match["second"])):
                effect = self._make(
                    "bracketed_arm_values", "other", _number(match[group]), *match.span(group)
                )
                effect.label, effect.arm = label, arm
                if p_value:  # the comparison's P, for both values
                    effect.p, effect.p_operator = p_value[2], p_value[3]
                self.taken.append(match.span(group))


RULES = (
    Rule(
        "bracketed_arm_values",
        "other",
        "two per-arm values, each in brackets after its arm, compared by a P ('lower in the A "
        "group (460 mL) than in the B group (512 mL) (p < 0.05)')",
        (_BRACKETED_ARM_VALUES_RE.pattern,),
        (
            Example("The mean blood loss was lower in the drug group (460.3 mL) than in the "
                    "placebo group (511.9 mL) (p < 0.05).", "other", 511.9),
            Example("The drug gave lower blood loss (629.0 ± 139.6 mL) compared to the standard "
                    "group (712.7 ± 131.3 mL; p = 0.017).", "other", 629.0),
        ),
    ),
)  # fmt: skip
