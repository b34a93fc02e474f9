"""Risk differences: an absolute difference in the share of patients with an event ("absolute
risk reduction [ARR] 1.1%, 95% CI -0.7 to 2.8"), read by the estimate pass from the names
below and stored as "other" with its label (the contract has no kind of its own for it)."""

from __future__ import annotations

from pipeline.extract.effect_rules.base import Example

STATISTIC_NAMES: dict[str, tuple[str, ...]] = {
    "risk_difference": ("risk difference", "absolute risk difference", "absolute risk reduction",
                        "absolute risk increase", "absolute difference", "ARR", "ARD", "RD"),
}  # fmt: skip
LABELLED_AS_OTHER: dict[str, str] = {"risk_difference": "risk difference"}

RULES = ()
EXAMPLES: dict[str, tuple[Example, ...]] = {
    "estimate_with_ci": (
        Example("Events were fewer with the drug (absolute risk reduction 2.4%, 95% CI 0.3 to "
                "4.5).", "other", 2.4),
        Example("The ARD was -1.2% (95% CI -3.0 to 0.6) at one year.", "other", -1.2),
        Example("The absolute risk difference, 0.4%; 95% CI, -0.8 to 1.6, favoured neither arm.",
                "other", 0.4),
    ),
}  # fmt: skip
