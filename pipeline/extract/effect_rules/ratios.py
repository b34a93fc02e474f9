"""Ratios: odds, risk and hazard ratios, read by the estimate pass (`statistics`) from their
names below; a ratio is above 0, so a ratio or bound of 0 or less is quarantined."""

from __future__ import annotations

from pipeline.extract.effect_rules.base import Example

# kind -> names as written (an abbreviation counts only as written, a word in any case)
STATISTIC_NAMES: dict[str, tuple[str, ...]] = {
    "odds_ratio": ("odds ratio", "adjusted odds ratio", "reporting odds ratio", "OR", "aOR",
                   "dOR", "ROR", "aROR"),
    "risk_ratio": ("risk ratio", "relative risk", "rate ratio", "RR", "aRR"),
    "hazard_ratio": ("hazard ratio", "HR", "aHR"),
    # pharmacovigilance disproportionality (a reporting odds ratio is an odds ratio, above)
    "prr": ("proportional reporting ratio", "PRR"),
    "ebgm": ("empirical Bayes geometric mean", "EBGM"),
    # the Bayesian confidence propagation neural network's signal, a log2 ratio ("IC = 8.19,
    # 95% CI = 7.96, 8.35"); not "IC025" or "IC50", which the abbreviation check refuses
    "information_component": ("information component", "IC"),
}  # fmt: skip
LABELLED_AS_OTHER: dict[str, str] = {
    "prr": "proportional reporting ratio",
    "ebgm": "empirical Bayes geometric mean",
    "information_component": "information component",
}

RULES = ()
# Examples of the estimate pass's rules (pipeline.extract.effect_rules.statistics) on ratios.
EXAMPLES: dict[str, tuple[Example, ...]] = {
    "estimate_with_ci": (
        Example("Relapse was less likely (hazard ratio, 0.49; 95% CI, 0.29-0.84).",
                "hazard_ratio", 0.49),
        Example("The odds ratio was 2.2 (95% CI 1.1 to 4.3).", "odds_ratio", 2.2),
        Example("Dropout was similar across arms (RR 0.91, 95% CI 0.70 to 1.18).",
                "risk_ratio", 0.91),
        Example("Nausea was reported disproportionately (IC = 2.6, 95% CI = 2.2, 2.9).",
                "other", 2.6),
    ),
    "named_statistic": (
        Example("The adjusted OR was 1.8 in favour of the drug.", "odds_ratio", 1.8),
        Example("Reports of dissociation were disproportionate (ROR 41.2, PRR 39.8).",
                "other", 39.8),
        Example("Sedation stood out among the reports (EBGM 12.5).", "other", 12.5),
        Example("Dizziness was a signal (ROR 9.4, IC 3.1).", "other", 3.1),
    ),
}  # fmt: skip
