"""Effect rules on the forms real abstracts use (each checked for kind, value, CI and span)."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.extract import extract_text
from pipeline.extract.effects import Effect, extract_effects


def only(text: str, kind: str | None = None) -> Effect:
    effects = [e for e in extract_effects(text) if kind is None or e.kind == kind]
    assert len(effects) == 1, [(e.kind, e.value, e.quote) for e in effects]
    return effects[0]


def assert_span(text: str, effect: Effect) -> None:
    assert text[effect.start : effect.end] == effect.quote


def test_rates_per_arm_64_vs_28() -> None:
    text = "The likelihood of response was greater, with response rates of 64% vs 28%."
    effects = extract_effects(text)
    assert [(e.kind, e.value) for e in effects] == [
        ("response_rate", 64.0),
        ("response_rate", 28.0),
    ]
    for effect in effects:
        assert_span(text, effect)


def test_count_with_percent_keeps_the_count() -> None:
    text = (
        "24 (26.7%) in the esketamine group and 39 (45.3%) in the placebo group "
        "experienced relapse."
    )
    first, second = extract_effects(text)
    assert (first.kind, first.value, first.n_events) == ("relapse_rate", 26.7, 24)
    assert first.quote == "24 (26.7%)"
    assert (second.value, second.n_events) == (45.3, 39)


def test_n_of_total_with_percent() -> None:
    text = (
        "More patients had remission at week 8 (91 of 336 patients [27.1%] vs. 60 of 340 [17.6%])."
    )
    first, second = extract_effects(text)
    assert (first.kind, first.value, first.n_events, first.n_total) == (
        "remission_rate", 27.1, 91, 336,
    )  # fmt: skip
    assert (second.value, second.n_events, second.n_total) == (17.6, 60, 340)
    assert first.timepoint == "week 8"


def test_mean_difference_with_ci_to() -> None:
    text = "The difference of least square means was -4.0 (95% CI, -7.31 to -0.64) at day 28."
    effect = only(text)
    assert (effect.kind, effect.value, effect.ci_low, effect.ci_high) == (
        "mean_difference", -4.0, -7.31, -0.64,
    )  # fmt: skip
    assert effect.ci_level == 95.0
    assert effect.timepoint == "day 28"
    assert_span(text, effect)


def test_ci_with_colon_and_hyphen() -> None:
    text = "Relapse was less likely (HR = 0.49, 95% CI: 0.29-0.84)."
    effect = only(text)
    assert (effect.kind, effect.value, effect.ci_low, effect.ci_high) == (
        "hazard_ratio", 0.49, 0.29, 0.84,
    )  # fmt: skip


def test_bracketed_ci_with_unicode_minus() -> None:
    text = (
        "The LS mean difference vs placebo was \u22122.9 [\u22125.39 to \u22120.48] on the MADRS."
    )
    effect = only(text)
    assert (effect.kind, effect.value, effect.ci_low, effect.ci_high) == (
        "mean_difference", -2.9, -5.39, -0.48,
    )  # fmt: skip
    assert "\u22122.9" in effect.quote
    assert effect.scale == "MADRS"


def test_p_value_attaches_to_the_effect_it_follows() -> None:
    text = "Remission favoured ketamine (OR = 12.1, 95% CI 2.1-69.2, P < .001)."
    effect = only(text)
    assert (effect.p, effect.p_operator) == (0.001, "<")


def test_odds_ratio_with_a_bare_en_dash_interval() -> None:
    text = "Response was more likely with ketamine (OR = 2.2 (1.1–4.5))."
    effect = only(text)
    assert (effect.kind, effect.value, effect.ci_low, effect.ci_high) == (
        "odds_ratio", 2.2, 1.1, 4.5,
    )  # fmt: skip
    assert effect.quote == "OR = 2.2 (1.1–4.5)"


def test_hazard_ratio_written_out_with_its_abbreviation() -> None:
    text = "Treatment decreased relapse (hazard ratio [HR], 0.49; 95% CI, 0.29-0.84)."
    effect = only(text, "hazard_ratio")
    assert effect.quote == "hazard ratio [HR], 0.49; 95% CI, 0.29-0.84"
    assert (effect.value, effect.ci_low, effect.ci_high) == (0.49, 0.29, 0.84)


def test_thin_spaces_around_equals_and_less_than() -> None:
    text = (
        "Ketamine was superior (OR\u2009=\u20092.85, 95% CI\u2009=\u20091.14, 7.15; "
        "P\u2009<\u2009.001)."
    )
    effect = only(text)
    assert (effect.kind, effect.value, effect.ci_low, effect.ci_high) == (
        "odds_ratio", 2.85, 1.14, 7.15,
    )  # fmt: skip
    assert (effect.p, effect.p_operator) == (0.001, "<")


@pytest.mark.parametrize(
    "text",
    [
        "Esketamine 56 mg (n = 86), 84 mg (n = 95) or placebo (n = 197) was given.",
        "Mean age was 45.4 (14.1) years and 231 participants (61.1%) were female.",
        "The difference was significant (P = .02).",
        "Patients received 0.5 mg/kg over 40 minutes twice weekly for 4 weeks.",
        "Responders (≥50% reduction in MADRS) continued; t = -2.4, df = 127.",
        "ClinicalTrials.gov Identifier: NCT04599855. Registered: 28 September 2016.",
    ],
)
def test_not_effects(text: str) -> None:
    assert extract_effects(text) == []


def test_named_statistics_without_ci() -> None:
    text = "Observed effect sizes were 0.48 and 0.63 (number needed to treat [NNT], 6; d = −0.82)."
    effects = extract_effects(text)
    assert [(e.kind, e.value) for e in effects] == [
        ("smd", 0.48), ("smd", 0.63), ("nnt", 6.0), ("cohens_d", -0.82),
    ]  # fmt: skip


def test_estimate_written_before_its_ci() -> None:
    text = (
        "The MADRS score was lower with ketamine than midazolam by 7.95 points "
        "(95% CI, 3.20 to 12.71)."
    )
    effect = only(text)
    assert (effect.kind, effect.value, effect.ci_low, effect.ci_high) == (
        "mean_difference", 7.95, 3.2, 12.71,
    )  # fmt: skip


def test_adverse_event_rates_carry_their_label() -> None:
    text = (
        "The most common adverse events were nausea (56 participants [24.8%]) and "
        "dizziness (21.7%)."
    )
    nausea, dizziness = extract_effects(text)
    assert (nausea.kind, nausea.label, nausea.value, nausea.n_events) == (
        "other",
        "nausea",
        24.8,
        56,
    )
    assert (dizziness.label, dizziness.value) == ("dizziness", 21.7)


def test_within_arm_change_with_sd() -> None:
    text = "The mean change in MADRS score from baseline was −18.4 (SD=12.0) for ketamine."
    effect = only(text)
    assert (effect.kind, effect.value) == ("mean_change", -18.4)


def test_rate_written_in_words() -> None:
    text = "Fifty-nine percent of participants met response criteria after repeated infusions."
    effect = only(text)
    assert (effect.kind, effect.value, effect.quote) == (
        "response_rate",
        59.0,
        "Fifty-nine percent",
    )


def test_extract_text_offsets_index_the_whole_abstract() -> None:
    abstract = "BACKGROUND: A trial. RESULTS: Remission was 40% vs 20% (OR = 2.7, 95% CI 1.2-6.1)."
    result = extract_text("1", "Ketamine trial", abstract)
    assert len(result.effects) == 3
    for effect in result.effects:
        assert abstract[effect.start : effect.end] == effect.quote
        assert abstract[effect.sentence_start :].startswith(effect.sentence)


def test_relative_percent_changes() -> None:
    text = (
        "Esketamine decreased the risk of relapse by 51% (HR, 0.49; 95% CI, 0.29-0.84) among "
        "remitters and 70% (HR, 0.30; 95% CI, 0.16-0.55) among responders."
    )
    kinds = [(e.kind, e.value) for e in extract_effects(text)]
    assert kinds == [
        ("percent_change", 51.0), ("hazard_ratio", 0.49),
        ("percent_change", 70.0), ("hazard_ratio", 0.3),
    ]  # fmt: skip


def test_definitions_are_not_percent_changes() -> None:
    text = "Response was defined as a 50% reduction in MADRS, remission as MADRS ≤10."
    assert extract_effects(text) == []


def test_labelled_shares_that_are_not_response_remission_or_relapse() -> None:
    text = "Thereafter, 19% further improved, 49% maintained benefit, and 32% worsened."
    effects = extract_effects(text)
    assert [(e.kind, e.value) for e in effects] == [
        ("other", 19.0),
        ("other", 49.0),
        ("other", 32.0),
    ]
    assert [e.label for e in effects] == ["further improved", "maintained benefit", "worsened"]


def test_number_needed_to_harm_is_other() -> None:
    effect = only("Discontinuation due to adverse events yielded NNH=17.")
    assert (effect.kind, effect.value, effect.label) == ("other", 17.0, "number needed to harm")


def test_correlation_with_ci() -> None:
    effect = only("Dissociation was unrelated to response (r = 0.06 [-0.05, 0.17]; P = 0.268).")
    assert (effect.kind, effect.value, effect.ci_low, effect.ci_high) == (
        "other",
        0.06,
        -0.05,
        0.17,
    )


def test_blood_pressure_pairs_are_two_changes() -> None:
    text = "The largest mean postdose BP increases were 13.3/8.7 mmHg for esketamine."
    effects = extract_effects(text)
    assert [(e.kind, e.value, e.label) for e in effects] == [
        ("mean_change", 13.3, "systolic blood pressure"),
        ("mean_change", 8.7, "diastolic blood pressure"),
    ]
    assert extract_effects("Hypertension (> 140/> 90 mmHg) was an exclusion criterion.") == []


def test_adverse_event_sentence_shares() -> None:
    text = (
        "Adverse events related to increased BP were reported in 12.8% of all esketamine-treated "
        "patients (in double-blind trials: 11.6% vs. 3.9%)."
    )
    assert [(e.kind, e.value) for e in extract_effects(text)] == [
        ("other", 12.8), ("other", 11.6), ("other", 3.9),
    ]  # fmt: skip


def test_no_relapse_and_ranges() -> None:
    text = "Patients had no relapse through week 32 (73 of 336 [21.7%] vs. 48 of 340 [14.1%])."
    assert [(e.kind, e.label) for e in extract_effects(text)] == [
        ("other", "no relapse"), ("other", "no relapse"),
    ]  # fmt: skip
    assert extract_effects("The most common AEs (incidence, 20.4%-27.0%) were mild.") == []


def test_arms_from_the_sentence_comparison() -> None:
    text = (
        "More patients in the esketamine group than in the quetiapine group had remission at "
        "week 8 (91 of 336 patients [27.1%] vs. 60 of 340 patients [17.6%]; P = 0.003)."
    )
    first, second = extract_effects(text)
    assert (first.arm, second.arm) == ("esketamine", "quetiapine")
    text = "The MADRS score was lower with ketamine than with midazolam (OR = 2.2 (1.1–4.5))."
    assert only(text).arm == "ketamine vs midazolam"


def test_a_timepoint_is_not_a_count() -> None:
    effect = only("More patients remitted starting at week 8 (28.3% versus nothing).", None)
    assert (effect.value, effect.n_events, effect.quote) == (28.3, None, "28.3%")


# --- arms ----------------------------------------------------------------------------------


def arms(text: str, kind: str | None = None) -> list[tuple[float, str | None]]:
    return [(e.value, e.arm) for e in extract_effects(text) if kind is None or e.kind == kind]


def test_arm_named_right_before_each_value() -> None:
    text = "At week 6, remission: esketamine 41.5% vs placebo 22.0% (P = .01)."
    assert arms(text) == [(41.5, "esketamine"), (22.0, "placebo")]
    text = "Fewer discontinued because of adverse events with ESK (3.1%) versus PBO (8.4%)."
    assert arms(text) == [(3.1, "ESK"), (8.4, "PBO")]


def test_arms_in_order_of_mention_for_a_pair() -> None:
    text = "Response rates for ketamine and saline were 55% vs 21% at 24 hours."
    assert arms(text) == [(55.0, "ketamine"), (21.0, "saline")]


def test_compared_with_names_the_comparator_first() -> None:
    text = "Compared with midazolam, ketamine produced higher response rates (48% vs. 19%)."
    assert arms(text) == [(48.0, "ketamine"), (19.0, "midazolam")]


def test_comparator_before_a_pair_is_not_the_first_arm() -> None:
    text = (
        "Scores fell more in the ketamine group compared to the placebo group "
        "(-9.4 ± 8.0 vs -3.3 ± 4.1)."
    )
    assert arms(text) == [(-9.4, "ketamine"), (-3.3, "placebo")]


def test_between_group_effect_gets_both_arms() -> None:
    text = "Remission was more likely with ketamine than with midazolam (OR, 3.1; 95% CI, 1.2-7.9)."
    assert arms(text) == [(3.1, "ketamine vs midazolam")]
    text = "The number needed to treat was 5 for esketamine+AD vs. placebo+AD."
    assert arms(text) == [(5.0, "esketamine+AD vs placebo+AD")]


def test_a_list_of_values_takes_a_list_of_arms_in_order() -> None:
    text = (
        "Mean changes from baseline were (-11.2, -12.9, -13.4, and -6.1 for esketamine 14 mg, "
        "28 mg, 42 mg, and placebo groups)."
    )
    assert arms(text) == [
        (-11.2, "esketamine 14 mg"),
        (-12.9, "esketamine 28 mg"),
        (-13.4, "esketamine 42 mg"),
        (-6.1, "placebo"),
    ]


def test_lists_of_different_lengths_leave_the_arms_unknown() -> None:
    text = (
        "Mean changes from baseline were (-11.2, -12.9, and -6.1 for the esketamine and "
        "placebo groups)."
    )
    assert [arm for _, arm in arms(text)] == [None, None, None]


def test_subgroups_labelled_by_drug_are_not_a_comparison() -> None:
    text = (
        "Both ketamine and esketamine reduced the incidence (ketamine: RR = 0.61, 95% CI "
        "[0.44, 0.85]; esketamine: RR = 0.52, 95% CI [0.38, 0.71])."
    )
    assert arms(text) == [(0.61, "ketamine"), (0.52, "esketamine")]


def test_respectively_after_a_dose_list_is_not_the_study_pair() -> None:
    abstract = (
        "Patients were randomized to esketamine or placebo. Mean changes for the esketamine "
        "0.2 mg/kg and 0.4 mg/kg groups were -14.1 (2.5) and -15.0 (2.2), respectively."
    )
    result = extract_text("1", "Esketamine versus placebo in depression", abstract)
    assert [(e.value, e.arm) for e in result.effects] == [(-14.1, None), (-15.0, None)]


def test_the_study_comparison_fills_pairs_and_between_group_effects() -> None:
    abstract = (
        "We compared esketamine with quetiapine in a randomized trial. Remission rates were "
        "31.2% and 19.5% (P = .002); the odds ratio was 1.9 (95% CI, 1.3-2.8)."
    )
    result = extract_text("1", "Esketamine versus quetiapine for resistant depression", abstract)
    assert [(e.value, e.arm) for e in result.effects] == [
        (31.2, "esketamine"),
        (19.5, "quetiapine"),
        (1.9, "esketamine vs quetiapine"),
    ]


def test_two_comparisons_in_a_study_give_no_study_arms() -> None:
    abstract = (
        "Ketamine versus midazolam was compared in one trial and esketamine versus placebo in "
        "another. Response rates were 40% and 20%."
    )
    result = extract_text("1", "Two trials", abstract)
    assert [e.arm for e in result.effects] == [None, None]


def test_single_arm_study_gives_its_drug_to_every_value() -> None:
    abstract = (
        "In this open-label study, 40 patients received subcutaneous esketamine. The response "
        "rate was 45.0% and the remission rate was 30.0% at week 8."
    )
    result = extract_text("1", "Open-label subcutaneous esketamine", abstract)
    assert [(e.kind, e.arm) for e in result.effects] == [
        ("response_rate", "esketamine"),
        ("remission_rate", "esketamine"),
    ]


@pytest.mark.parametrize(
    ("text", "kind", "events", "total", "quote"),
    [
        (
            "Response occurred in 12 of 20 patients given ketamine.",
            "response_rate", 12, 20, "Response occurred in 12 of 20 patients",
        ),
        (
            "Four of the 7 esketamine-assigned patients achieved a treatment response.",
            "response_rate", 4, 7,
            "Four of the 7 esketamine-assigned patients achieved a treatment response",
        ),
        ("By week 4, 2 of 15 remitted.", "remission_rate", 2, 15, "2 of 15 remitted"),
        (
            "14/70 participants relapsed during maintenance.",
            "relapse_rate", 14, 70, "14/70 participants relapsed",
        ),
    ],
)  # fmt: skip
def test_counts_alone_give_the_rate_they_make(text, kind, events, total, quote) -> None:
    # A rate written as n/N only: the value is 100 * n / N, unrounded, and the quote holds both
    # counts as written (the percentage itself is not in the text).
    effect = only(text)
    assert (effect.kind, effect.n_events, effect.n_total) == (kind, events, total)
    assert effect.value == 100 * events / total
    assert effect.quote == quote
    assert_span(text, effect)


@pytest.mark.parametrize(
    "text",
    [
        "Response was seen in 1/2 of the trials.",  # not a count of patients
        "Of 20 patients, 3 of 20 were male and 12 responded.",  # the counts are not the rate's
        "None of the 7 placebo-assigned patients achieved a response.",  # no numeral
        "Remission was reported in 3 of 12 studies.",
        "Response occurred in 5 of 3 patients.",  # more events than patients: not a rate
    ],
)
def test_counts_that_are_not_a_rate(text: str) -> None:
    assert extract_effects(text) == []


def test_counts_with_a_percentage_keep_the_written_percentage() -> None:
    effect = only("Response occurred in 12 of 20 patients (60%) given ketamine.")
    assert (effect.kind, effect.value, effect.n_events, effect.n_total) == (
        "response_rate",
        60.0,
        12,
        20,
    )


# --- timepoints and scales -------------------------------------------------------------------


def test_timepoint_written_right_after_the_value_wins() -> None:
    text = "At day 3, scores fell with twice-weekly ketamine, -11.5 [SD=9.0] on day 7."
    (effect,) = extract_effects(text)
    assert effect.timepoint == "day 7"


def test_a_value_in_weeks_is_not_a_timepoint() -> None:
    text = (
        "Patients on esketamine had a 9.5 % reduction in missed work (difference: -0.8 weeks "
        "[95 % CI: -1.9, 0.3]) versus quetiapine."
    )
    effects = extract_effects(text)
    assert [e.timepoint for e in effects] == [None, None]


def test_the_one_depression_scale_of_an_abstract_scores_its_efficacy_effects() -> None:
    abstract = (
        "Depression was rated with the MADRS. Response rates were 52% vs 30%. Adverse events "
        "included nausea (20.0%). The difference was 4.1 weeks (95% CI, 1.0 to 7.2)."
    )
    result = extract_text("1", "A randomized trial of ketamine versus placebo", abstract)
    assert [(e.kind, e.scale) for e in result.effects] == [
        ("response_rate", "MADRS"),
        ("response_rate", "MADRS"),
        ("other", None),  # an adverse event is not read off the scale
        ("mean_difference", None),  # nor is a difference in weeks
    ]
    two_scales = abstract.replace("the MADRS", "the MADRS and the HAM-D")
    result = extract_text("1", "A randomized trial of ketamine versus placebo", two_scales)
    assert result.effects[0].scale is None  # which one is not for us to guess


def test_statistic_names_tree_matches_as_the_plain_alternation() -> None:
    import random
    import re

    from pipeline.extract.effect_rules.statistics import _STRONG_ALTERNATIVES, _term_trie

    terms = _STRONG_ALTERNATIVES  # longest first, as a plain alternation must be ordered
    plain = re.compile("|".join(re.escape(t) + ("s?" if t[-1].isalpha() else "") for t in terms))
    tree = re.compile(_term_trie(terms))
    pieces = [*terms, "s", " ", "x", "-", "ratios", "numbers", "Numbers needed", "ORs", "d ="]
    rng = random.Random(3)
    for _ in range(3000):
        text = "".join(rng.choice(pieces)[: rng.randint(1, 25)] for _ in range(rng.randint(1, 6)))
        assert [m.span() for m in tree.finditer(text)] == [m.span() for m in plain.finditer(text)]
    assert _term_trie(["abc", "ab", "b"]) == "ab(?:cs?|s?)|bs?"


def test_scale_names_found_from_their_needles_as_by_a_full_scan() -> None:
    import random

    from pipeline.extract.effect_rules.context import (
        _SCALE_NEEDLES,
        _SCALE_RE,
        _SCALES,
        _scale_matches,
    )

    # every top-level alternative of every scale pattern starts with one of the needles
    for _, pattern in _SCALES:
        depth, alternatives = 0, [""]
        for char in pattern:
            depth += {"(": 1, ")": -1}.get(char, 0)
            if char == "|" and depth == 0:
                alternatives.append("")
            else:
                alternatives[-1] += char
        for alternative in alternatives:
            assert alternative.removeprefix(r"\b").startswith(_SCALE_NEEDLES), alternative
    names = [
        "MADRS", "Montgomery-Åsberg", "HAM-D", "HAMD", "HDRS", "Hamilton Depression", "BDI",
        "QIDS", "PHQ-9", "C-SSRS", "CGI", "SSI", "xSSI", "EPDS", "CADSS", "SDS", "PCL-5",
        "PTSD Checklist", "CAPS-5", "IDS", "QIDS-SR", "Inventory of Depressive Symptomatology",
        "Quick Inventory of Depressive Symptomatology", "Clinician-Administered PTSD",
    ]  # fmt: skip
    pieces = [*names, " ", "-", "(", "x", "1", "S"]
    rng = random.Random(5)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        expected = [(m.span(), m.lastgroup) for m in _SCALE_RE.finditer(text)]
        assert [(m.span(), m.lastgroup) for m in _scale_matches(text)] == expected


# --- statistics without a kind of their own, and other shares ----------------------------------


@pytest.mark.parametrize(
    ("text", "value", "label", "quote"),
    [
        (
            "A locus was found (p = 3.57 × 10-8, β = - 51.6, SE = 9.2).",
            -51.6, "regression coefficient", "β = - 51.6",
        ),
        ("Baseline HRV discriminated responders (AUC = 0.844).", 0.844, "area under the curve",
         "AUC = 0.844"),
        ("For psilocybin the R2 was 24%.", 24.0, "variance explained (R²)", "R2 was 24%"),
    ],
)  # fmt: skip
def test_statistics_without_a_kind_are_other_with_a_label(text, value, label, quote) -> None:
    effect = only(text)
    assert (effect.kind, effect.value, effect.label, effect.quote) == ("other", value, label, quote)


@pytest.mark.parametrize(
    "text",
    [
        "Exposure was higher (AUC for norketamine, 1.4 µg × h/mL).",  # pharmacokinetics
        "Levels of IL-1β, 2 ng/mL, were measured.",
        "R2-values ranged from 5-10% across studies.",  # a range is not an estimate
    ],
)
def test_what_looks_like_those_statistics_but_is_not(text: str) -> None:
    assert extract_effects(text) == []


def test_changes_in_percentage_points_are_within_group_changes() -> None:
    text = (
        "By week 32, total WPL decreased from baseline by 45.3 pp and 32.5 pp in the esketamine "
        "and quetiapine cohorts."
    )
    first, second = extract_effects(text)
    assert [(e.kind, e.value, e.quote) for e in (first, second)] == [
        ("mean_change", 45.3, "decreased from baseline by 45.3 pp"),
        ("mean_change", 32.5, "32.5 pp"),
    ]


def test_an_events_share_given_as_counts() -> None:
    effect = only("However, 14/70 patients experienced treatment-emergent transient hypertension.")
    assert (effect.kind, effect.value, effect.n_events, effect.n_total, effect.label) == (
        "other",
        20.0,
        14,
        70,
        "treatment-emergent transient hypertension",
    )


@pytest.mark.parametrize(
    ("text", "value", "label"),
    [
        ("At least one side effect was reported by 71.8% of subjects.", 71.8,
         "at least one side effect"),
        ("Side effects fell (42% of patients who continued reported side effects at 12 months).",
         42.0, "side effects"),
    ],
)  # fmt: skip
def test_shares_of_patients_reporting_side_effects(text, value, label) -> None:
    effect = only(text)
    assert (effect.kind, effect.value, effect.label) == ("other", value, label)


def test_responders_or_remitters_is_a_response_rate() -> None:
    effect = only("Of 63 patients, 48 were responders or remitters (76.2%).")
    assert (effect.kind, effect.value) == ("response_rate", 76.2)


def test_the_probability_of_an_outcome_names_the_rate_and_the_next_group_continues_it() -> None:
    text = (
        "At Month 6, the probability of functional remission in esketamine-treated patients "
        "(n=512) was 25.6% (95% CI 21.8-29.4), while the adjusted probability for patients given "
        "usual care (n=184) was 11.5% (95% CI 6.9-16.1)."
    )
    assert [(e.kind, e.value, e.ci_low) for e in extract_effects(text)] == [
        ("remission_rate", 25.6, 21.8),
        ("remission_rate", 11.5, 6.9),
    ]


def test_a_list_of_relative_changes_after_by() -> None:
    text = (
        "Mean acute care use decreased from baseline in the esketamine, SGA augmentation, and "
        "antidepressant monotherapy cohorts by 58%, 21%, and 37%."
    )
    assert [(e.kind, e.value) for e in extract_effects(text)] == [
        ("percent_change", 58.0),
        ("percent_change", 21.0),
        ("percent_change", 37.0),
    ]


# --- one long sentence costs time linear in its length ---------------------------------------


class _CountingPattern:
    """A compiled pattern that adds to `work` the characters each call asks the regex engine
    to look at: the region scanned by a search (up to the match found), the text a match or
    fullmatch covers. A rule that searches the whole sentence for each number shows here as
    work growing with the square of the length, without timing anything."""

    def __init__(self, pattern: re.Pattern, work: list[int]) -> None:
        self._pattern, self._work = pattern, work

    def __getattr__(self, name: str):
        return getattr(self._pattern, name)

    def _region(self, text: str, pos: int, endpos: int | None) -> tuple[int, int]:
        end = len(text) if endpos is None else min(endpos, len(text))
        return max(0, pos), end

    def search(self, text, pos=0, endpos=None):
        start, end = self._region(text, pos, endpos)
        found = self._pattern.search(text, start, end)
        self._work[0] += (found.end() if found else end) - start + 1
        return found

    def match(self, text, pos=0, endpos=None):
        start, end = self._region(text, pos, endpos)
        found = self._pattern.match(text, start, end)
        self._work[0] += (found.end() - start if found else 0) + 1
        return found

    def fullmatch(self, text, pos=0, endpos=None):
        start, end = self._region(text, pos, endpos)
        self._work[0] += end - start + 1
        return self._pattern.fullmatch(text, start, end)

    def finditer(self, text, pos=0, endpos=None):
        start, end = self._region(text, pos, endpos)
        self._work[0] += end - start + 1
        return self._pattern.finditer(text, start, end)

    def findall(self, text, pos=0, endpos=None):
        start, end = self._region(text, pos, endpos)
        self._work[0] += end - start + 1
        return self._pattern.findall(text, start, end)

    def sub(self, repl, text, count=0):
        self._work[0] += len(text) + 1
        return self._pattern.sub(repl, text, count)

    def split(self, text, maxsplit=0):
        self._work[0] += len(text) + 1
        return self._pattern.split(text, maxsplit)


def extraction_work(monkeypatch, text: str) -> int:
    """The work `extract_text` does on `text`, counted, not timed: the characters the regex
    engine is asked to look at (see _CountingPattern) plus the lines of the package's Python
    run (a loop over every span or effect so far, for each number, shows there)."""
    import pipeline
    import pipeline.classify
    import pipeline.extract
    import pipeline.extract.effect_rules
    import pipeline.extract.numbers
    import pipeline.extract.sentences
    from pipeline.extract.effect_rules import (
        adverse,
        arm_assignment,
        context,
        differences,
        engine,
        other,
        rates,
        reading,
        statistics,
    )

    work = [0]
    package = pipeline.__path__[0]

    def count_lines(frame, event, arg):
        if event == "line":
            work[0] += 1
        return count_lines

    def trace_package(frame, event, arg):
        return count_lines if frame.f_code.co_filename.startswith(package) else None

    with monkeypatch.context() as patch:
        for module in (
            pipeline.classify,
            pipeline.extract,
            adverse,
            arm_assignment,
            context,
            differences,
            engine,
            other,
            rates,
            reading,
            statistics,
            pipeline.extract.numbers,
            pipeline.extract.sentences,
        ):
            for name, value in list(vars(module).items()):
                if isinstance(value, re.Pattern):
                    patch.setattr(module, name, _CountingPattern(value, work))
        tracer = sys.gettrace()
        sys.settrace(trace_package)
        try:
            extract_text("x", "A randomized trial of ketamine", text)
        finally:
            sys.settrace(tracer)
    return work[0]


# One sentence, no full stop, repeated: each exercises a different rule on every number.
LONG_SENTENCE_UNITS = [
    "ketamine 45% ",
    "45% responded ",
    "45% responded; ",
    "45% vs 30% ",
    "OR 2.2 (1.1-4.5) ",
    "OR = 2.2 (95% CI, 1.1-4.5) ",
    "NNT 6 and 8 ",
    "-5.1 ± 2.0 ",
    "MADRS change -5.1 (SE 1.2) ",
    "nausea (12%) ",
    "fifty percent responded ",
    "4 of 15 patients responded ",
    "Remission: esketamine 52.5% vs placebo 31.0% ",
    "increased 13.3/8.7 mmHg ",
    "r = 0.06 [-0.05, 0.17] ",
]


@pytest.mark.parametrize("unit", LONG_SENTENCE_UNITS)
def test_one_long_sentence_costs_work_linear_in_its_length(monkeypatch, unit: str) -> None:
    def sentence(length: int) -> str:
        return (unit * (length // len(unit) + 1))[:length]

    small, large = (extraction_work(monkeypatch, sentence(n)) for n in (5_000, 20_000))
    # 4 times the text: about 4 times the work when linear, 16 times when quadratic
    assert large / small < 6, (unit, small, large)


def test_the_bounds_the_fast_paths_rely_on_cover_the_patterns() -> None:
    """A gap longer than a pattern can match is not tried; `$`-anchored patterns are searched
    in a window before the position (one more character for a final newline)."""
    from re import _parser

    from pipeline.extract.effect_rules import arm_assignment, rates, reading, statistics

    def longest(pattern: re.Pattern) -> int:
        return _parser.parse(pattern.pattern, pattern.flags).getwidth()[1]

    assert longest(statistics._NAME_TO_VALUE_RE) <= statistics._NAME_TO_VALUE_LONGEST
    assert longest(statistics._LIST_CONTINUES_RE) <= statistics._LIST_CONTINUES_LONGEST
    assert longest(statistics._OPENING_BRACKET_RE) <= statistics._OPENING_BRACKET_LONGEST
    for anchored in (
        rates._PARTIAL_RE,
        rates._TIME_WORD_BEFORE_RE,
        arm_assignment._LABELLED_BEFORE_RE,
    ):
        assert anchored.pattern.endswith("$")
        assert longest(anchored) + 1 <= reading._ANCHORED_WINDOW


@settings(max_examples=300, deadline=None)
@given(
    spans=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 12)), max_size=25),
    query=st.tuples(st.integers(0, 70), st.integers(0, 12)),
)
def test_span_index_answers_as_a_scan_of_all_spans(spans, query) -> None:
    from pipeline.extract.effect_rules.reading import _Spans

    index = _Spans()
    index.extend((start, start + length) for start, length in spans)
    start, end = query[0], query[0] + query[1]
    assert index.overlaps(start, end) == any(s < end and start < s + length for s, length in spans)


_WORDS = [
    "changed", "change", "reduc", "reduced", "decreas", "declined", "improvement", "than",
    "thank", "more", "moreover", "vs.", "vs", "versus", "between", "lower", "ketamine", "45%",
    "-5.1", ".5", "2.2", "(1.1-4.5)", ";", ":", "remitted", "responded", "had", "response", "a",
    "the", "group", "within", "baseline",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=40), st.sampled_from([" ", ""]))
def test_indexed_questions_answer_as_the_scans_they_replace(words, joiner) -> None:
    from pipeline.extract.effect_rules import differences, engine, rates, reading
    from pipeline.extract.sentences import Sentence

    text = joiner.join(words)
    extractor = engine._SentenceExtractor(Sentence(0, len(text), text))
    for pos in range(len(text) + 1):
        assert extractor._change_cue_before(pos) == bool(
            differences._CHANGE_CUES_RE.search(text[:pos])
        )
        breaks = [m.end() for m in reading._CLAUSE_BREAK_RE.finditer(text, 0, pos)]
        assert extractor._clause_start(pos) == (breaks[-1] if breaks else 0)
        after = reading._CLAUSE_BREAK_RE.search(text, pos)
        assert extractor._clause_end(pos) == (after.start() if after else len(text))
        for endpos in (len(text), extractor._clause_end(pos)):
            assert _same_match(
                extractor._next_match(rates._RATE_VERB_RE, pos, endpos),
                rates._RATE_VERB_RE.search(text, pos, endpos),
            )
    for token in extractor.tokens:
        clause_start = extractor._clause_start(token.start)
        assert extractor._difference_cue_between(clause_start, token) == bool(
            differences._DIFFERENCE_CUES_RE.search(text[clause_start : token.start])
        )


def _same_match(first: re.Match | None, second: re.Match | None) -> bool:
    if first is None or second is None:
        return first is second
    return first.span() == second.span() and first.lastgroup == second.lastgroup


# --- impossible values and decimal commas are held with the reason, never output ----------------
@pytest.mark.parametrize(
    ("sentence", "kind", "reason"),
    [
        ("The odds ratio was -2.5 (95% CI -3.1 to -1.2).", "odds_ratio", "impossible"),
        ("Relapse was reduced (HR 0; 95% CI 0 to 0.5).", "hazard_ratio", "impossible"),
        ("The risk ratio was 0 (95% CI 0 to 1.2).", "risk_ratio", "impossible"),
        ("The number needed to treat was 0.", "nnt", "NNT of 0"),
        ("The response rate was 150% in the ketamine group.", "response_rate", "0 to 100"),
    ],
)
def test_impossible_values_are_quarantined_with_the_reason(sentence, kind, reason):
    held = []
    assert extract_effects(sentence, quarantined=held) == []
    assert [(q.kind, q.quote in sentence) for q in held] == [(kind, True)]
    assert reason in held[0].reason
    assert sentence[held[0].start : held[0].end] == held[0].quote


@pytest.mark.parametrize(
    "sentence",
    [
        "Ketamin war wirksamer (OR 3,2; 95 %-KI 1,4–7,1; p = 0,005).",
        "The odds ratio was 3,2 (95% CI 1,4-7,1; p = 0,005).",
    ],
)
def test_decimal_commas_are_read_whole_or_not_at_all(sentence):
    """Seen: OR 3.0 and an invented OR 2.0 with p = 0.0 from "OR 3,2; ... p = 0,005"."""
    held = []
    effects = extract_effects(sentence, quarantined=held)
    assert effects == []
    assert held and all("decimals with a comma" in q.reason for q in held)


def test_thousands_separators_are_not_decimal_commas():
    effects = extract_effects("Among 12,500 patients, the odds ratio was 2.4 (95% CI 1.2-4.8).")
    assert [(e.kind, e.value) for e in effects] == [("odds_ratio", 2.4)]


@pytest.mark.parametrize(
    ("sentence", "value", "low", "high"),
    [
        ("The mean difference was \u22124.1 (95% CI, \u22127.7 to \u22120.5).", -4.1, -7.7, -0.5),
        ("The mean difference was \u20134.1 (95% CI, \u20137.7 to \u20130.5).", -4.1, -7.7, -0.5),
        ("The risk ratio was 1.4 (95%\u2009CI 1.1\u20131.8).", 1.4, 1.1, 1.8),
        ("The OR was .52 (95% CI .31-.87).", 0.52, 0.31, 0.87),
    ],
)
def test_odd_minus_signs_thin_spaces_and_bare_decimals_read_as_printed(sentence, value, low, high):
    [effect] = extract_effects(sentence)
    assert (effect.value, effect.ci_low, effect.ci_high) == (value, low, high)


def test_a_composite_of_remission_and_no_relapse_is_labelled_as_the_composite() -> None:
    text = (
        "More patients were in remission at week 6 and had no relapse through week 30 "
        "(50 of 200 patients [25.0%] vs. 30 of 200 patients [15.0%])."
    )
    assert [(e.value, e.label) for e in extract_effects(text)] == [
        (25.0, "remission and no relapse"),
        (15.0, "remission and no relapse"),
    ]


def test_a_decimal_point_printed_as_a_middle_dot_is_read_and_quoted_as_printed() -> None:
    text = "Events were fewer (HR 0·85, 95% CI 0·65 to 1·10; p=0·22) with the drug."
    (effect,) = extract_effects(text)
    assert (effect.kind, effect.value, effect.ci_low, effect.ci_high, effect.p) == (
        "hazard_ratio", 0.85, 0.65, 1.1, 0.22,
    )  # fmt: skip
    assert effect.quote == "HR 0·85, 95% CI 0·65 to 1·10" and "0·22" in effect.sentence


def test_a_risk_difference_is_other_with_its_label_not_a_mean_difference() -> None:
    text = "The absolute risk difference was 0.4% (95% CI, -0.8 to 1.6) between the groups."
    (effect,) = extract_effects(text)
    assert (effect.kind, effect.label, effect.value) == ("other", "risk difference", 0.4)


def test_reporting_ratios_of_pharmacovigilance_are_labelled() -> None:
    text = "Dissociation was reported disproportionately (ROR 41.2, PRR 39.8, EBGM 30.1)."
    assert [(e.kind, e.label, e.value) for e in extract_effects(text)] == [
        ("odds_ratio", None, 41.2),
        ("other", "proportional reporting ratio", 39.8),
        ("other", "empirical Bayes geometric mean", 30.1),
    ]


@pytest.mark.parametrize(
    ("text", "subgroups"),
    [
        (
            "The difference was -2.9 [-4.8, -1.0] in the Japan sub-population.",
            ["Japan sub-population"],
        ),
        ("In cohort 3 the odds ratio was 4.1 (95% CI 1.5-11.0).", ["cohort 3"]),
        (
            "Among the 80 who achieved stable response, 10 (20.0%) with the drug relapsed.",
            ["stable response"],
        ),
        (
            "The mean difference was -5.0 (95% CI -8.0 to -2.0; p = 0.01) for patients 18 to 64 "
            "years versus -1.0 (95% CI -6.0 to 4.0; p = 0.70) for those ≥65 years.",
            ["18 to 64 years", "≥65 years"],
        ),
        ("The odds ratio was 2.5 (95% CI 1.2-5.0) in adolescents.", ["adolescents"]),
        ("The odds ratio was 2.5 (95% CI 1.2-5.0) in this trial.", [None]),
    ],
)
def test_the_subgroup_a_sentence_names_is_recorded(text: str, subgroups: list) -> None:
    assert [e.subgroup for e in extract_effects(text)] == subgroups


def test_a_number_with_a_thousands_separator_is_read_whole_never_in_part() -> None:
    text = "Reports were disproportionate (ROR 1,482.50; PRR 640.10)."
    assert [(e.kind, e.label, e.value) for e in extract_effects(text)] == [
        ("odds_ratio", None, 1482.5),
        ("other", "proportional reporting ratio", 640.1),
    ]


def test_an_interval_without_label_at_the_end_of_a_sentence_is_read() -> None:
    (effect,) = extract_effects("Mortality was lower with the drug, HR 0.61, 0.44 to 0.85.")
    assert (effect.value, effect.ci_low, effect.ci_high) == (0.61, 0.44, 0.85)


def test_an_action_named_after_a_value_is_not_its_arm() -> None:
    sentence = "The drug outperformed placebo (RR 0.35; 95% CI 0.16-0.59) in reducing mortality."
    assert [e.arm for e in extract_effects(sentence)] == [None]
    assert [e.arm for e in extract_effects("Relapse was 12% in the tapering group.")] == [
        "tapering"
    ]


def test_a_share_right_after_its_group_or_in_a_sentence_about_one_group_takes_that_arm() -> None:
    sentence = (
        "The combined group showed a lower infection incidence (7%) compared to the probiotic "
        "group (15%) and the control group (31%) (P<0.01)."
    )
    assert [e.arm for e in extract_effects(sentence)] == [None, "probiotic", "control"]
    sentence = "In the antibiotic group, 70 patients (27.3%; 95% CI, 22.0% to 33.2%) had surgery."
    assert [e.arm for e in extract_effects(sentence)] == ["antibiotic"]
    sentence = "Diarrhoea was as frequent in both groups (12%) (P = 0.4)."
    assert [e.arm for e in extract_effects(sentence)] in ([], [None])
