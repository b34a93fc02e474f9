"""Effect sizes in abstract text: the names other modules import, from the rule families in
`pipeline.extract.effect_rules` (where the rules, their patterns and examples live).

Rules work sentence by sentence on number tokens. A number is an effect estimate when it is
followed by a confidence interval, when it directly follows a named statistic, when it carries
an SE or SD in a sentence about change or difference, or when it is a percentage tied to
response, remission, relapse or a named adverse event. Every effect keeps the span it came
from (`abstract[start:end]` contains its value as written) and the name of its rule; an effect
whose numbers cannot be represented or are impossible for its kind is quarantined with the
reason, never output and never dropped.
"""

from __future__ import annotations

from pipeline.extract.effect_rules.arm_assignment import _ARM_MENTION_RE, assign_arms, study_arms
from pipeline.extract.effect_rules.effect import Effect, QuarantinedEffect, quarantine_reason
from pipeline.extract.effect_rules.engine import extract_effects

__all__ = [
    "_ARM_MENTION_RE",
    "Effect",
    "QuarantinedEffect",
    "assign_arms",
    "extract_effects",
    "quarantine_reason",
    "study_arms",
]
