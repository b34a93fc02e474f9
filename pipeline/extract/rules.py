"""The effect rules by name: what each reads, the patterns it uses, and example sentences that
are its tests (tests/test_extract_rules.py runs every example).

Every stored effect records the name of the rule that read it (core.effects.rule), so a
reviewer's rejection points at a rule. The rules themselves run in `pipeline.extract.effects`
(one pass per sentence, for speed); this table is where a reader finds them. A new effect
kind is one entry in `pipeline.vocab.EFFECT_KINDS` and one rule here with its examples.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.extract import effects as _e


@dataclass(frozen=True)
class Example:
    """A sentence and one effect the rule must read from it."""

    sentence: str
    kind: str
    value: float


@dataclass(frozen=True)
class Rule:
    """One named rule: its family (as in pipeline.vocab), what it reads, its patterns, examples."""

    name: str
    family: str
    reads: str
    patterns: tuple[str, ...]
    examples: tuple[Example, ...]


RULES: tuple[Rule, ...] = (
    Rule(
        "estimate_with_ci",
        "ratio",
        "an estimate followed by its confidence interval; the kind from the nearest statistic "
        "named before it, else from the words around it",
        (_e._TRAIL_RE.pattern, _e._STRONG_RE.pattern),
        (
            Example("Relapse was less likely (hazard ratio, 0.49; 95% CI, 0.29-0.84).",
                    "hazard_ratio", 0.49),
            Example("The odds ratio was 2.2 (95% CI 1.1 to 4.3).", "odds_ratio", 2.2),
            Example("The difference was -4.1 (95% CI, -7.7 to -0.5) points.",
                    "mean_difference", -4.1),
        ),
    ),
    Rule(
        "named_statistic",
        "ratio",
        "a number right after a named statistic, without an interval ('NNT, 6', 'OR = 2.2')",
        (_e._STRONG_RE.pattern,),
        (
            Example("The number needed to treat (NNT) was 6.", "nnt", 6.0),
            Example("Ketamine was superior (Cohen's d = 0.8).", "cohens_d", 0.8),
        ),
    ),
    Rule(
        "statistic_list",
        "ratio",
        "the later numbers of a list a named statistic starts ('effect sizes were 0.48 and 0.63')",
        (_e._STRONG_RE.pattern,),
        (Example("The effect sizes were 0.48 and 0.63.", "smd", 0.63),),
    ),
    Rule(
        "ci_after_words",
        "difference",
        "a labelled interval whose estimate was written before it ('lower ... by 7.95 points "
        "(95% CI, ...)')",
        (_e._LABELLED_CI_RE.pattern,),
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
        (_e._TRAIL_RE.pattern, _e._CHANGE_CUES_RE.pattern),
        (Example("The change from baseline was -20.0 (SE 1.3) with esketamine.",
                 "mean_change", -20.0),),
    ),
    Rule(
        "change_in_points",
        "change",
        "a change in points with its SD in brackets after a word of change",
        (_e._POINTS_TRAIL_RE.pattern,),
        (Example("MADRS scores decreased by 29.6 [12.5] points vs 0.7 [1.7] points.",
                 "mean_change", 29.6),),
    ),
    Rule(
        "change_with_sd",
        "change",
        "a negative mean with its SD: a change score",
        (_e._SD_TRAIL_RE.pattern,),
        (Example("The mean change from baseline was -16.4 ± 8.8 in the ketamine group.",
                 "mean_change", -16.4),),
    ),
    Rule(
        "signed_list",
        "change",
        "a list of signed changes ('-12.1, -10.4 and -6.3')",
        (_e._SIGNED_LIST_RE.pattern,),
        (),
    ),
    Rule(
        "blood_pressure_pair",
        "change",
        "a systolic/diastolic change written '13.3/8.7 mmHg': two mean changes",
        (_e._PRESSURE_PAIR_RE.pattern,),
        (Example("Blood pressure increased by a maximum of 13.3/8.7 mmHg after dosing.",
                 "mean_change", 8.7),),
    ),
    Rule(
        "correlation",
        "other",
        "a correlation coefficient r with its interval",
        (_e._CORRELATION_RE.pattern,),
        (),
    ),
    Rule(
        "relative_change",
        "change",
        "a relative difference in percent ('decreased the risk of relapse by 51%')",
        (_e._PERCENT_CHANGE_AFTER_RE.pattern, _e._PERCENT_CHANGE_BEFORE_RE.pattern),
        (Example("Esketamine decreased the risk of relapse by 51% compared with placebo.",
                 "percent_change", 51.0),),
    ),
    Rule(
        "reported_by",
        "adverse_event",
        "the share of patients reporting side effects ('side effects were reported by 71.8%')",
        (_e._REPORTED_BY_RE.pattern, _e._REPORTED_AFTER_RE.pattern),
        (Example("Adverse events were reported by 71.8% of the patients.", "other", 71.8),),
    ),
    Rule(
        "rate_percent",
        "rate",
        "a percentage tied to response, remission or relapse",
        (_e._RATE_RE.pattern, _e._RATE_VERB_RE.pattern),
        (Example("Remission at day 28 was 52.5% with esketamine vs 31.0% with placebo.",
                 "remission_rate", 52.5),),
    ),
    Rule(
        "proportion_percent",
        "adverse_event",
        "another share of patients: adverse events, discontinuation, partial response",
        (_e._PROPORTION_VERB_RE.pattern,),
        (Example("Overall, 24% worsened during the follow-up.", "other", 24.0),),
    ),
    Rule(
        "percent_in_words",
        "rate",
        "a rate written in words ('Fifty-nine percent responded')",
        (_e._WORD_PERCENT_RE.pattern,),
        (Example("Fifty-nine percent of patients responded.", "response_rate", 59.0),),
    ),
    Rule(
        "percentage_points",
        "change",
        "within-group changes in percentage points ('by 30.3 and 17.3 percentage points')",
        (_e._POINT_CHANGE_RE.pattern,),
        (),
    ),
    Rule(
        "rate_from_counts",
        "rate",
        "a rate written only as counts ('12 of 20 patients responded'): 100 x events / total",
        (_e._COUNTS_RE.pattern,),
        (Example("In all, 12 of 20 patients responded to ketamine.", "response_rate", 60.0),),
    ),
    Rule(
        "named_adverse_event",
        "adverse_event",
        "a named adverse event with its share ('nausea (28.9%)')",
        (_e._AE_RE.pattern,),
        (Example("Common adverse events were nausea (28.9%) and dizziness (20.9%).",
                 "other", 28.9),),
    ),
)  # fmt: skip

RULE_NAMES: frozenset[str] = frozenset(rule.name for rule in RULES)
