"""Which arm an effect belongs to, from its sentence (effect_rules.arm_assignment)."""

from __future__ import annotations

from pipeline.extract import extract_text
from pipeline.extract.effect_rules.arm_assignment import sentence_comparison
from pipeline.extract.effects import extract_effects


def test_estimates_bracketed_after_listed_treatments_are_each_treatments() -> None:
    """Rule `treatments_listed_with_their_estimates`: a list of treatments, each with its own
    bracket of estimates, is not a two-arm sentence although it names only two arm words."""
    sentence = (
        "Compared with placebo, sleep time improved with drugx (MD 25.1, 95% CI 15.5-34.6; "
        "objective: MD 22.3, 95% CI 7.6-37.1), antidepressants (MD 54.4, 95% CI 35.0-75.8) "
        "and orexin antagonists (MD 21.6, 95% CI 0.8-42.4)."
    )
    assert [(e.value, e.arm) for e in extract_effects(sentence)] == [
        (25.1, "drugx vs placebo"),
        (22.3, "drugx vs placebo"),
        (54.4, "antidepressants vs placebo"),
        (21.6, "orexin antagonists vs placebo"),
    ]


def test_listed_treatments_without_a_named_control_get_no_arm() -> None:
    sentence = (
        "Sleep latency was shortened with drugx (MD -10.1, 95% CI -13.8 to -6.4) and "
        "antidepressants (MD -7.7, 95% CI -15.2 to -0.3)."
    )
    assert [e.arm for e in extract_effects(sentence, study_arms=("drugx", "placebo"))] == [
        None,
        None,
    ]


def test_outcomes_listed_with_their_estimates_keep_the_sentence_arms() -> None:
    """Brackets after outcomes ("mortality (RR ...)"), not after treatments: the rule does not
    apply, and the sentence's two arms stand."""
    sentence = (
        "Compared with placebo, ketamine gave lower mortality (RR 0.70, 95% CI 0.39-1.14) and "
        "fewer infections (RR 0.68, 95% CI 0.34-1.22)."
    )
    assert [e.arm for e in extract_effects(sentence)] == [
        "ketamine vs placebo",
        "ketamine vs placebo",
    ]


def test_an_estimate_among_those_with_a_characteristic_compares_that_stratum() -> None:
    """Rule `stratum_compared`: "lower among those with X (HR ...)" compares people with X
    and people without it, not the study's two treatments."""
    abstract = (
        "Patients received ketamine or esketamine. The hazard of response was lower among "
        "those with baseline anxiety (HR = 0.41, 95% CI, 0.20-0.85, p = 0.02). Esketamine vs. "
        "ketamine gave a similar hazard (HR = 0.80 [95% CI, 0.30-2.10]; p = 0.6)."
    )
    result = extract_text("1", "Ketamine versus esketamine in depression", abstract)
    assert [(e.value, e.arm) for e in result.effects] == [
        (0.41, "baseline anxiety vs no baseline anxiety"),
        (0.8, "esketamine vs ketamine"),
    ]


def test_a_sentence_naming_its_own_comparator_after_vs_overrides_the_study_comparison() -> None:
    """Rule `sentence_comparison`: a second trial's control named in the sentence ("vs. 51
    events with drugz") replaces the study's; a sentence naming the study's control keeps it."""
    other = "Drugx was noninferior (36 events [2.1%], vs. 51 events with drugz [3.0%]; HR 0.68)."
    assert sentence_comparison(other, "drugx", "placebo") == ("drugx", "drugz")
    same = "Drugx was superior (8 events [1.3%], vs. 42 with placebo [7.1%]; HR 0.18)."
    assert sentence_comparison(same, "drugx", "placebo") == ("drugx", "placebo")
    # the other comparator, and not the study's first arm: no comparison is given
    assert (
        sentence_comparison("Events fell (10 vs. 12 with drugz [3%]).", "drugx", "placebo") is None
    )
    assert sentence_comparison("No comparison here.", "drugx", "placebo") == ("drugx", "placebo")
    # people with a condition are not a comparator
    conditions = "With drugx, 12 patients with MDD (40%) vs. 10 patients with BD (30%) responded."
    assert sentence_comparison(conditions, "drugx", "placebo") == ("drugx", "placebo")


def test_a_review_comparing_the_impact_of_its_treatment_and_placebo() -> None:
    """Rule `review_comparison`: "compared the impact of using drugx and placebo" names the
    review's one comparison, as "comparing drugx with placebo" does."""
    from pipeline.extract.effect_rules.arm_assignment import review_comparison

    title = "The effects of drugx on postoperative pain: a meta-analysis"
    for abstract in (
        "The included trials compared the impact of using drugx and placebo on pain.",
        "Trials compared the efficacy of drugx with placebo.",
    ):
        assert review_comparison(title, abstract) == ("drugx", "placebo"), abstract


def test_a_review_sentence_comparing_the_titles_treatment_with_placebo() -> None:
    """Rule `review_sentence_comparison`: in a review with no one comparison, a sentence that
    names the title's treatment and "compared with placebo" compares the two; a sentence naming
    another treatment, or no control, gets no arm."""
    from pipeline.extract.effect_rules.arm_assignment import review_sentence_comparison

    title = "Efficacy and safety of drugxs in critically ill patients: a meta-analysis"
    assert review_sentence_comparison(
        title, "Drugxs reduced mortality compared to placebo (RR, 0.85; 95% CI, 0.77-0.94)."
    ) == ("drugxs", "placebo")
    assert review_sentence_comparison(
        title, "The use of drugx showed fewer infections (RR 0.58) compared with placebo."
    ) == ("drugxs", "placebo")
    assert (
        review_sentence_comparison(
            title, "In patients treated with drugy, mortality fell (RR 0.45) compared with placebo."
        )
        is None
    )
    assert review_sentence_comparison(title, "Drugxs reduced mortality (RR 0.85).") is None
    abstract = (
        "We pooled trials of drugxs and drugy in the ICU. Drugxs reduced short-term mortality "
        "compared to placebo (RR, 0.85; 95% CI, 0.77-0.94). Bleeding was more frequent "
        "(RR, 1.10; 95% CI, 1.06-1.14)."
    )
    result = extract_text("1", title, abstract, publication_types=["Meta-Analysis"])
    assert result.trial.design == "review"
    assert [e.arm for e in result.effects] == ["drugxs vs placebo", None]


def test_a_trial_of_another_drug_assigned_to_it_or_placebo_compares_the_two() -> None:
    """Rule `other_treatment_arms`: "randomly assigned to receive drugx (its regimen in
    brackets) or matching placebo" and "adults ... received drugx or placebo" name the trial's
    comparison; a control word on one side is enough where the text says how arms were given."""
    from pipeline.extract.effect_rules.arm_assignment import other_treatment_arms

    title = "Drugx and clinical outcomes in heart disease"
    assigned = (
        "Patients were randomly assigned to receive drugx (either 140 mg every 2 weeks or 420 mg "
        "monthly) or matching placebo."
    )
    assert other_treatment_arms(title, assigned) == ("drugx", "placebo")
    received = "In this trial, 172 adults received drugx or placebo. Fewer events occurred."
    assert other_treatment_arms(title, received) == ("drugx", "placebo")
    # neither side a control: the treatments must also name groups
    assert other_treatment_arms(title, "Adults received drugx or drugy.") is None
    result = extract_text("1", title, assigned + " Events fell (hazard ratio, 0.85; 95% CI, "
                          "0.79 to 0.92; P<0.001).")  # fmt: skip
    assert [e.arm for e in result.effects] == ["drugx vs placebo"]


def test_a_counted_share_in_a_sentence_opening_in_the_group_is_that_groups() -> None:
    """Rule `group_named_before_a_share`: "RESULTS: In the drug group, 1,139 patients (14.3%)
    ..." is the drug group's share although a heading opens the sentence and the count opens
    the quote; the count after "compared to" is the other group's, not the opening one's."""
    sentence = (
        "RESULTS: In the drug group, 1,139 patients (14.3%) experienced AKI30, compared to 1,211 "
        "patients (15.4%) among those given saline (P=0.04)."
    )
    assert [(e.value, e.arm) for e in extract_effects(sentence)][:2] == [
        (14.3, "drug"),
        (15.4, None),
    ]


def test_a_list_of_pairs_gives_each_pair_the_two_arms() -> None:
    """Rule `pairs_listed`: "69.0% vs 55.3% (A), 64.5% vs 48.9% (B), and 77.1% vs 64.7% (C)" is
    three pairs of the sentence's two arms, not a list of six groups; a plain list of three
    shares still gets no arm."""
    sentence = (
        "The proportion of patients showing substantial improvement in the esketamine group "
        "versus the placebo group favored esketamine: 69.0% vs 55.3% (scale A), 64.5% vs 48.9% "
        "(scale B), and 77.1% vs 64.7% (scale C)."
    )
    assert [e.arm for e in extract_effects(sentence)] == ["esketamine", "placebo"] * 3
    listed = "The response rate with esketamine versus placebo was 58%, 21%, and 37% at the sites."
    found = extract_effects(listed)
    assert len(found) == 3 and [e.arm for e in found] == [None, None, None]


def test_a_predictors_estimate_gets_no_treatment_comparison() -> None:
    """Rule `sentence_comparison`: "older age was associated with ... (OR ...)", "female sex
    predicted remission (OR ...)": estimates of a patient characteristic, not of the treatments
    compared, get no arm where the sentence names no arm; a sentence naming the treatment keeps
    the study's comparison."""
    abstract = (
        "Patients were randomly assigned to receive drugx or placebo. Each 10-year increase in "
        "age was associated with a higher risk of flare (HR 1.2, 95% CI 1.1-1.3). Female sex "
        "predicted remission (OR 1.8, 95% CI 1.1-2.9). Treatment with drugx was associated with "
        "fewer flares (HR 0.6, 95% CI 0.4-0.9)."
    )
    result = extract_text("1", "Drugx versus placebo in gout", abstract)
    assert [(e.value, e.arm) for e in result.effects] == [
        (1.2, None),
        (1.8, None),
        (0.6, "drugx vs placebo"),
    ]


def test_an_estimate_against_its_own_named_comparator() -> None:
    """Rules `comparator_named_before_the_bracket` and `sentence_comparison`: an estimate whose
    sentence names its own comparison is not given the study's: "superior to placebo (SMD 0.8)
    and to midazolam (SMD 0.4)", "Compared with drugy, drugx ...", and "men had more events
    than women" (two groups that are no arm: none)."""
    review = extract_text(
        "1",
        "Ketamine for depression: a meta-analysis",
        "We pooled RCTs comparing ketamine with placebo. Ketamine was superior to placebo (SMD "
        "0.8, 95% CI 0.5-1.1) and to midazolam (SMD 0.4, 95% CI 0.1-0.7).",
        publication_types=["Meta-Analysis"],
    )
    assert [e.arm for e in review.effects] == ["ketamine vs placebo", "ketamine vs midazolam"]
    trial = extract_text(
        "2",
        "Drugx versus placebo",
        "Patients were randomly assigned to receive drugx or placebo. Compared with drugy, drugx "
        "reduced events (HR 0.7, 95% CI 0.5-0.9). Men had more events than women (HR 1.5, 95% CI "
        "1.1-2.0). Compared with placebo, drugx reduced pain (HR 0.6, 95% CI 0.5-0.9). Events "
        "were fewer than expected (HR 0.8, 95% CI 0.7-0.9).",
    )
    assert [e.arm for e in trial.effects] == [
        "drugx vs drugy",
        None,
        "drugx vs placebo",
        "drugx vs placebo",
    ]


def test_doses_times_or_groups_compared_with_each_other_get_no_study_comparison() -> None:
    """Rule `sentence_comparison`: a sentence comparing two doses, two times or two groups that
    are no arm gives its estimate no study comparison; "than in the control group" does not
    count as such a group, and subgroups written "short vs long" keep the comparison (the
    treatments' estimate in each)."""
    title = "Esketamine versus placebo in depression"
    design = "Patients were randomized to esketamine or placebo. "
    for sentence, arm in (
        ("The 84 mg dose was superior to the 56 mg dose (OR 1.4, 95% CI 1.1-1.8).", None),
        ("Response at week 4 was higher than at week 1 (OR 1.5, 95% CI 1.1-2.0).", None),
        ("Responders differed from non-responders in severity (MD 3.1, 95% CI 1.0-5.2).", None),
        ("Relapse was lower than in the control group (HR 0.7, 95% CI 0.5-0.9).",
         "esketamine vs placebo"),
        ("Courses differed (short vs long; OR: 0.69; 95% CI 0.53 to 0.89 vs OR: 0.96; 95% CI "
         "0.81 to 1.14).", "esketamine vs placebo"),
    ):  # fmt: skip
        result = extract_text("1", title, design + sentence)
        assert [e.arm for e in result.effects][:1] == [arm], sentence
