"""The rules package: how a new rule file is found and what its names must be."""

from __future__ import annotations

import types

from pipeline import vocab
from pipeline.extract.effect_rules import RULES, engine, rule_modules, statistics


def test_statistic_names_give_vocabulary_kinds_or_a_label() -> None:
    for module in rule_modules():
        for kind in getattr(module, "STATISTIC_NAMES", {}):
            assert kind in vocab.KIND_CODES or kind in module.LABELLED_AS_OTHER, (module, kind)


def test_a_name_the_cheap_test_would_miss_is_added_to_it() -> None:
    words, abbreviations = statistics._uncovered(("ratio",), ("OR",))
    assert "hazard ratio" not in words and "HR" in abbreviations
    assert "number needed to treat" in words


def test_a_reader_in_a_new_rule_file_is_found(monkeypatch) -> None:
    class ReportingRules:
        def read(self) -> None:  # pragma: no cover - only found, not run here
            pass

    module = types.ModuleType("pipeline.extract.effect_rules.reporting")
    ReportingRules.__module__ = module.__name__
    module.ReportingRules = ReportingRules
    module.RULES = ()
    monkeypatch.setattr(engine, "rule_modules", lambda: [*rule_modules(), module])
    assert engine._readers_of_new_rule_files()[-1:] == (ReportingRules,)


def test_every_rule_family_module_lists_its_rules() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert {"rate_percent", "estimate_with_ci", "named_adverse_event", "correlation"} <= set(names)


def test_a_trial_of_another_treatment_has_its_comparison_from_title_or_groups() -> None:
    from pipeline.extract.effect_rules.arm_assignment import other_treatment_arms, study_arms

    assert study_arms("Apixaban versus Aspirin in atrial fibrillation", "") == (
        "apixaban",
        "aspirin",
    )
    abstract = "Events occurred in 10 patients in the drugx group and 20 in the placebo group."
    assert other_treatment_arms("A trial in heart failure", abstract) == ("drugx", "placebo")
    # words that name no treatment ("bleeding versus ...") are not arms unless they name a group
    assert other_treatment_arms("A trial", "Major bleeding versus warfarin was rare.") is None
    # a ketamine trial keeps its own rules: no comparison guessed from other words
    assert study_arms("Ketamine in depression", "in the early group and the late group") is None


def test_effects_of_another_treatment_get_its_arms() -> None:
    from pipeline.extract import extract_text

    abstract = (
        "Patients were randomly assigned to receive drugx or placebo. Stroke occurred in 30 "
        "patients in the drugx group (2.1%) and 45 patients in the placebo group (3.2%) "
        "(hazard ratio, 0.66; 95% CI, 0.42 to 1.04)."
    )
    result = extract_text("1", "A randomized trial of drugx in atrial fibrillation", abstract)
    assert [(e.value, e.arm) for e in result.effects] == [
        (2.1, "drugx"),
        (3.2, "placebo"),
        (0.66, "drugx vs placebo"),
    ]


def test_a_treatment_is_a_whole_phrase_not_the_head_of_a_longer_one() -> None:
    from pipeline.extract.effect_rules.arm_assignment import other_treatment_arms

    assert other_treatment_arms("Anticoagulants versus vitamin K antagonists in AF", "") is None
    assert other_treatment_arms("Drugx versus placebo for gout", "") == ("drugx", "placebo")


def test_a_risk_difference_in_percent_without_an_interval_is_read() -> None:
    from pipeline.extract.effects import extract_effects

    text = "Thrombosis was less frequent with the drug (risk difference -12.5%)."
    assert [(e.kind, e.label, e.value) for e in extract_effects(text)] == [
        ("other", "risk difference", -12.5)
    ]


def test_each_share_of_a_pair_gets_the_arm_named_beside_it() -> None:
    """Rule `shares_of_named_arms`: the second share of a pair is read as the first one's
    kind; its arm is the group named beside it, as the first one's is."""
    from pipeline.extract.effects import extract_effects

    sentences = {
        "Bleeding occurred in 21 patients in the drugx group (4.1%) and 35 patients in the "
        "comparator group (6.8%).": ["drugx", "comparator"],
        "The event occurred in 8.4% in the drugx arm and 15.0% in the usual care arm.": [
            "drugx",
            "usual care",
        ],
        "Stroke occurred in 40 (2.5%) of 1600 patients assigned to drugx and 52 (3.3%) of "
        "1590 patients assigned to placebo.": ["drugx", "placebo"],
    }
    for sentence, arms in sentences.items():
        assert [e.arm for e in extract_effects(sentence)] == arms, sentence


def test_a_study_stating_two_arms_of_different_treatments_compares_them() -> None:
    """Rule `stated_arms_comparison`: where the words name no comparison, the two arms the
    facts state (with their sizes) are the study's comparison, a control second."""
    from pipeline.extract import extract_text
    from pipeline.extract.effect_rules.arm_assignment import stated_arms_comparison

    abstract = (
        "Adults with treatment-resistant depression received esketamine nasal spray (n = 210) "
        "or quetiapine extended release (n = 205) for 8 weeks. Esketamine shortened the time "
        "to remission (hazard ratio 1.52; 95% CI 1.20 to 1.93)."
    )
    title = "Esketamine nasal spray over quetiapine extended release: a randomised trial"
    result = extract_text("1", title, abstract)
    assert [e.arm for e in result.effects] == [
        "esketamine nasal spray vs quetiapine extended release"
    ]
    assert stated_arms_comparison(["placebo", "ketamine"]) == ("ketamine", "placebo")
    # two doses of one drug, or three arms: no comparison is made of them
    assert stated_arms_comparison(["esketamine 56 mg", "esketamine 84 mg"]) is None
    assert stated_arms_comparison(["ketamine", "midazolam", "placebo"]) is None
    # another treatment against placebo; two unnamed groups are no comparison
    assert stated_arms_comparison(["placebo group", "drugx group"]) == ("drugx", "placebo")
    assert stated_arms_comparison(["control group", "intervention group"]) is None


def test_randomized_to_two_arms_with_a_ratio_or_a_background_treatment() -> None:
    """Rules `randomized_to` (with a ratio written "1:1", "(2:1)" or "in a 1:1 ratio"),
    `add_on_after` (both arms take the same background drug) and `randomized_labels` (arms
    given short names in brackets as they are defined)."""
    from pipeline.extract.effect_rules.arm_assignment import study_arms

    assert study_arms("", "Adults were randomized 1:1 to ketamine or midazolam.") == (
        "ketamine",
        "midazolam",
    )
    assert study_arms(
        "", "Patients were randomly assigned in a 2:1 ratio to esketamine or placebo."
    )
    add_on = (
        "Patients were randomized 1:1 to receive esketamine or matching placebo, each in "
        "conjunction with a newly initiated oral antidepressant."
    )
    assert study_arms("", add_on) == (
        "esketamine plus antidepressant",
        "matching placebo plus antidepressant",
    )
    labelled = (
        "The study randomized older adults (1:1) to flexibly dosed esketamine and a new oral "
        "antidepressant (esketamine/antidepressant) or a new oral antidepressant and placebo "
        "spray (antidepressant/placebo)."
    )
    assert study_arms("", labelled) == ("esketamine/antidepressant", "antidepressant/placebo")


def test_a_review_compares_the_treatment_its_title_names_with_a_control() -> None:
    """Rule `review_comparison`: a review's one comparison, its treatment (named in its title)
    against a control, as its methods or results write it; none where the treatment is also
    compared with another treatment, or where the compared word is not the title's."""
    from pipeline.extract import extract_text
    from pipeline.extract.effect_rules.arm_assignment import review_comparison

    title = "Drugx for gout flares: a systematic review and meta-analysis"
    cases = {
        "We included RCTs comparing drugx with placebo or no treatment.": ("drugx", "placebo"),
        "Trials of drugx versus usual care were pooled.": ("drugx", "usual care"),
        "Compared with placebo, oral drugx reduced flares.": ("drugx", "placebo"),
        "The drugx group had fewer flares than the control group.": ("drugx", "control group"),
        "Of 900 patients, 450 (50.0%) were allocated to drugx and 450 (50.0%) received placebo.": (
            "drugx",
            "placebo",
        ),
    }
    for abstract, comparison in cases.items():
        assert review_comparison(title, abstract) == comparison, abstract
    assert review_comparison(title, "Flares were fewer with aspirin versus placebo.") is None
    both = "RCTs comparing drugx with placebo were pooled. Drugx versus colchicine was also seen."
    assert review_comparison(title, both) is None
    abstract = (
        "We pooled trials comparing drugx with placebo. Drugx reduced the risk of a flare "
        "(RR 0.61, 95% CI 0.45 to 0.83)."
    )
    result = extract_text("1", title, abstract, publication_types=["Meta-Analysis"])
    assert result.trial.design == "review"
    assert [e.arm for e in result.effects] == ["drugx vs placebo"]


def test_a_risk_difference_or_nnh_gets_the_comparison_as_a_ratio_does() -> None:
    """Rule `between_groups`: a risk difference and a number needed to harm (labelled "other")
    compare the two arms, so they get the study's comparison, never one arm's name."""
    from pipeline.extract import extract_text

    abstract = (
        "Patients were randomly assigned to receive drugx or placebo. Stroke occurred in 4.0% "
        "in the drugx group and 5.5% in the placebo group (hazard ratio 0.72, 95% CI 0.55 to "
        "0.94; absolute risk reduction 1.5%, 95% CI 0.2 to 2.8). Nausea led to "
        "stopping in 6.0% vs 1.0% (NNH=20)."
    )
    result = extract_text("1", "A randomized trial of drugx in atrial fibrillation", abstract)
    arms = {(e.label or e.kind): e.arm for e in result.effects if e.value in (0.72, 1.5, 20)}
    assert arms == {
        "hazard_ratio": "drugx vs placebo",
        "risk difference": "drugx vs placebo",
        "number needed to harm": "drugx vs placebo",
    }


def test_no_pair_arms_for_a_list_of_three_or_an_estimate_after_than() -> None:
    """`assign_arms`: three values written as a list are more groups than the study's two,
    and an estimate written after "than" belongs to the group named there, not the study's
    comparison: both keep no arm rather than a wrong one."""
    from pipeline.extract.effects import extract_effects

    three = (
        "Visits decreased from baseline in the esketamine, lithium and psychotherapy cohorts by "
        "40%, 12%, and 25%."
    )
    found = extract_effects(three, study_arms=("esketamine", "ECT"))
    assert [e.arm for e in found if e.value in (12, 25)] == [None, None]
    than = (
        "The difference versus placebo was larger for the esketamine trials (mean difference = "
        "3.9, 95% CI 2.0 to 5.8) than for the lithium trials (mean difference = 1.8, 95% CI "
        "1.1 to 2.5)."
    )
    assert [e.arm for e in extract_effects(than)] == ["esketamine vs placebo", None]


def test_a_list_of_values_then_its_list_of_cohorts() -> None:
    """`_arm_lists`: "by 41.0 pp and 30.2 pp in the esketamine and quetiapine cohorts (...)":
    the i-th value is the i-th cohort's."""
    from pipeline.extract.effects import extract_effects

    text = (
        "Total work loss decreased from baseline by 41.0 pp and 30.2 pp in the esketamine "
        "and quetiapine cohorts (MD = 10.8 pp; 95% CI, 3.1-18.5 pp)."
    )
    assert [e.arm for e in extract_effects(text)] == [
        "esketamine",
        "quetiapine",
        "esketamine vs quetiapine",
    ]


def test_shares_listed_after_the_events_reported_for_an_arm() -> None:
    """Rule `events_reported_for_an_arm`: "the adverse events reported for X were A (n%), B
    (n%)" are X's; "reported for X (versus Y) were A (a% versus b%)" pairs are X's and Y's."""
    from pipeline.extract.effects import extract_effects

    one = (
        "The most common adverse events reported for ketamine (combined doses) were vomiting "
        "(30 participants [15.2%]) and drowsiness (22 [11.1%])."
    )
    assert [e.arm for e in extract_effects(one)] == ["ketamine", "ketamine"]
    pairs = (
        "The most frequent adverse events reported for drugx (versus placebo) were insomnia "
        "(9.4% versus 3.5%) and dry mouth (7.1% versus 1.2%)."
    )
    assert [e.arm for e in extract_effects(pairs)] == ["drugx", "placebo", "drugx", "placebo"]


def test_an_arm_of_two_names_with_group_is_one_arm() -> None:
    """`_arm`: "in the esketamine and antidepressant group" names one arm of both words;
    "in the ketamine and placebo groups" names two, so the value before it is neither's."""
    from pipeline.extract.effects import extract_effects

    text = (
        "Relapse occurred in 20 (25.0%) in the esketamine and antidepressant group and 35 "
        "(44.0%) in the antidepressant and placebo group."
    )
    assert [e.arm for e in extract_effects(text)] == [
        "esketamine and antidepressant",
        "antidepressant and placebo",
    ]
    assert [
        e.arm for e in extract_effects("Remission was 40.0% in the ketamine and placebo groups.")
    ] == [None]


def test_a_relative_difference_in_percent_gets_the_comparison() -> None:
    """`between_groups`: a percent change written as one arm's relative difference from the
    other ("38.5% more days ... versus", "lowered the risk of relapse by 45% ... compared
    with") gets the comparison; a change within one arm does not."""
    from pipeline.extract.effects import extract_effects

    arms = ("ketamine", "midazolam")
    more = "Ketamine-treated patients had 38.5% more days in remission versus the comparator."
    assert [e.arm for e in extract_effects(more, study_arms=arms)] == ["ketamine vs midazolam"]
    risk = (
        "Ketamine lowered the risk of relapse by 45% (hazard ratio, 0.55; 95% CI, 0.31-0.97) "
        "compared with midazolam."
    )
    found = extract_effects(risk, study_arms=arms)
    assert [(e.kind, e.arm.lower()) for e in found] == [
        ("percent_change", "ketamine vs midazolam"),
        ("hazard_ratio", "ketamine vs midazolam"),
    ]
    within = "Depression scores showed a 41% reduction from baseline at day 7."
    assert [e.arm for e in extract_effects(within, study_arms=arms)] == [None]


def test_the_arm_written_after_a_value_and_its_unit() -> None:
    """Rule `arm_written_after_the_value`: "12.1/7.9 mmHg for ketamine" (both numbers of the
    pressure) and "9.4% of all esketamine-treated patients" are that arm's."""
    from pipeline.extract.effects import extract_effects

    pressure = (
        "The largest systolic/diastolic increases were 12.1/7.9 mmHg for ketamine and 5.2/3.3 "
        "mmHg for midazolam."
    )
    assert [e.arm for e in extract_effects(pressure)] == [
        "ketamine",
        "ketamine",
        "midazolam",
        "midazolam",
    ]
    share = "Adverse events of dizziness were reported in 9.4% of all esketamine-treated patients."
    assert [e.arm for e in extract_effects(share)] == ["esketamine"]
    counted = (
        "Two of 40 (5%) ketamine-treated participants had adverse events that led to study "
        "discontinuation."
    )
    assert [e.arm for e in extract_effects(counted)] == ["ketamine"]


def test_a_share_of_the_same_group_a_clause_later() -> None:
    """Rule `the_same_group_a_clause_later`: "..., and 2 patients (25.0%) remitted" after a
    share of the named group is that group's; not when the sentence names a second arm."""
    from pipeline.extract.effects import extract_effects

    same = (
        "Five of the 8 ketamine-assigned patients (62.5%) had a response at 4 hours, and 2 "
        "patients (25.0%) achieved remission."
    )
    assert [e.arm for e in extract_effects(same)] == ["ketamine", "ketamine"]
    other = (
        "Five of the 8 ketamine-assigned patients (62.5%) had a response, and 2 patients "
        "(25.0%) achieved remission with midazolam."
    )
    assert [e.arm for e in extract_effects(other)][1] != "ketamine"
