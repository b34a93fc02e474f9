"""Study structure: arms with their words, span, role, drug, dose and sizes; effects point
at them."""

from __future__ import annotations

import pytest

from pipeline.extract import extract_text
from pipeline.extract.arms import arm_key, dose_of, timepoint_days

TRIAL = (
    "Patients with TRD (N = 60) were randomized to esketamine 56 mg (n = 30) or placebo (n = 30). "
    "Remission at day 28 was 40% (12 of 30) in the esketamine group vs 20% (6 of 30) in the "
    "placebo group. The MADRS score was "
    "lower in the esketamine group than in the placebo group by 5.2 points (95% CI, 1.1-9.3) at "
    "week 4."
)


def _result(abstract: str, title: str = "Esketamine versus placebo: a randomized trial"):
    return extract_text("1", title, abstract, publication_types=["Randomized Controlled Trial"])


def test_arms_have_their_words_span_role_drug_dose_and_n():
    result = _result(TRIAL)
    arms = {arm.label: arm for arm in result.arms}
    assert set(arms) == {"esketamine 56 mg", "placebo"}
    esk, pbo = arms["esketamine 56 mg"], arms["placebo"]
    assert TRIAL[esk.start : esk.end] == "esketamine 56 mg"
    assert (esk.role, esk.drug, esk.dose, esk.dose_unit, esk.n_randomized) == (
        "intervention", "esketamine", 56.0, "mg", 30,
    )  # fmt: skip
    assert (pbo.role, pbo.drug, pbo.n_randomized) == ("placebo", "placebo", 30)


def test_effects_point_at_their_arms():
    result = _result(TRIAL)
    arms = {arm.arm_id: arm.label for arm in result.arms}
    rates = [e for e in result.effects if e.kind == "remission_rate"]
    assert [arms[e.arm_id] for e in rates] == ["esketamine 56 mg", "placebo"]
    assert [e.arm for e in rates] == ["esketamine", "placebo"]  # the words as written
    difference = next(e for e in result.effects if e.kind == "mean_difference")
    assert (arms[difference.arm_id], arms[difference.comparator_arm_id]) == (
        "esketamine 56 mg",
        "placebo",
    )
    assert difference.direction == "lower"
    assert difference.timepoint_days == 28.0
    assert rates[0].timepoint_days == 28.0


def test_n_analysed_from_the_arm_rate_denominator():
    result = _result(TRIAL)
    esk = next(arm for arm in result.arms if arm.drug == "esketamine")
    assert esk.n_analysed == 30


def test_an_arm_span_never_starts_inside_a_word():
    """ "ketamine" is not found inside "esketamine"; the span is the whole word."""
    abstract = (
        "Subjects receiving esketamine were compared with those receiving ketamine. Response "
        "was 50% with ketamine vs 30% with placebo."
    )
    result = _result(abstract, "Ketamine and esketamine")
    for arm in result.arms:
        if arm.start is not None:
            assert abstract[arm.start : arm.end].lower() == arm.label.lower()
            assert not abstract[arm.start - 1].isalnum()
            assert not abstract[arm.end : arm.end + 1].isalnum()


@pytest.mark.parametrize(
    ("words", "dose"),
    [
        ("ketamine .5 mg/kg", (0.5, "mg/kg", ".5 mg/kg")),
        ("ketamine 0.5 mg/kg", (0.5, "mg/kg", "0.5 mg/kg")),
        ("esketamine 84 mg", (84.0, "mg", "84 mg")),
        ("esketamine 56 mg or 84 mg", (None, None, None)),  # two doses: not one arm's
        ("placebo", (None, None, None)),
    ],
)
def test_dose_as_written(words, dose):
    assert dose_of(words) == dose


def test_a_dose_without_its_leading_zero_is_never_ten_times_larger():
    abstract = (
        "Sixty patients were randomized to ketamine .5 mg/kg (n = 30) or midazolam (n = 30). "
        "Response was 50% with ketamine vs 20% with midazolam."
    )
    result = _result(abstract, "Ketamine versus midazolam")
    doses = [arm.dose for arm in result.arms if arm.drug == "ketamine"]
    assert doses == [0.5]


def test_arm_keys_fold_synonyms_and_doses():
    assert arm_key("ESK 56 mg") == arm_key("esketamine 56mg")
    assert arm_key("PBO") == arm_key("placebo group")
    assert arm_key("ketamine .5 mg/kg") == arm_key("ketamine 0.5 mg/kg")
    assert arm_key("esketamine 56 mg") != arm_key("esketamine 84 mg")


@pytest.mark.parametrize(
    ("words", "days"),
    [
        ("day 28", 28.0),
        ("24 hours", 1.0),
        ("week 4", 28.0),
        ("4 weeks", 28.0),
        ("40 minutes", 40 / 1440),
        ("weeks 2 and 4", None),  # two times: not one
        (None, None),
        ("endpoint", None),
    ],
)
def test_timepoint_days(words, days):
    assert timepoint_days(words) == pytest.approx(days) if days else timepoint_days(words) is None


# A one-treatment cohort, as REAL-ESK reports it: no arm is named beside its results.
COHORT = (
    "INTRODUCTION: Data on esketamine in real-world patients are scarce. METHODS: This is an "
    "observational, retrospective study (REAL-ESK study). Subjects were assessed 6 months "
    "after the start of ESK-NS 56 mg treatment. RESULTS: Of 63 patients who maintained "
    "treatment, 48 were responders (76.2%). At least one side effect was reported by 71.8% "
    "of subjects. Baseline heart rate variability predicted response (AUC = 0.844)."
)
COHORT_TITLE = "Esketamine treatment trajectory of patients with TRD: data from REAL-ESK"


def _cohort(abstract: str = COHORT, title: str = COHORT_TITLE):
    return extract_text("7", title, abstract, publication_types=["Observational Study"])


def test_a_single_group_study_gets_its_one_arm_as_written():
    result = _cohort()
    assert result.trial.design == "observational" and result.trial.n_randomized == 63
    assert len(result.arms) == 1
    arm = result.arms[0]
    assert arm.label == "ESK-NS 56 mg"  # the first mention in the methods, with its dose
    assert COHORT[arm.start : arm.end] == arm.label
    assert (arm.role, arm.drug, arm.route, arm.dose, arm.dose_unit, arm.n_randomized) == (
        "intervention", "esketamine", "intranasal", 56.0, "mg", 63,
    )  # fmt: skip


def test_a_single_group_studys_within_arm_results_point_at_its_arm():
    result = _cohort()
    arm_id = result.arms[0].arm_id
    by_value = {e.value: e for e in result.effects}
    for value in (76.2, 71.8):  # a response rate and a side-effect share
        assert by_value[value].arm_id == arm_id
        assert by_value[value].comparator_arm_id is None
        assert by_value[value].arm == "ESK-NS 56 mg"  # the guide: the treatment, as written
    assert by_value[0.844].arm_id is None  # an AUC is no result of the arm


def test_a_single_group_study_with_no_treated_group_gets_no_arm():
    """A claims study of who starts esketamine treats no group of its own: nothing guessed."""
    abstract = (
        "METHODS: Adults with TRD were included from a claims database. RESULTS: A low income "
        "reduced the chance of esketamine initiation by 37%. Of all patients, 4.1% initiated."
    )
    result = _cohort(abstract, "Esketamine initiation in the United States")
    assert result.trial.design == "observational"
    assert result.arms == [] and all(e.arm_id is None for e in result.effects)


@pytest.mark.parametrize(
    ("title", "abstract", "types"),
    [
        (  # a comparator in the title
            "Esketamine versus real-world treatment: the ICEBERG study",
            "METHODS: An observational study of patients treated with esketamine. RESULTS: "
            "Remission was 25.6% at month 6.",
            ["Observational Study"],
        ),
        (  # four treated cohorts, one of them ECT
            "Disability days after esketamine and conventional therapies",
            "METHODS: Adults were classified into four cohorts (esketamine, ECT, TMS and SGA) "
            "based on therapy initiated and treated with esketamine. RESULTS: At least one side "
            "effect was reported by 71.8% of subjects.",
            ["Observational Study"],
        ),
        (  # a survey of people seeking a treatment, none treated by the study
            "Patients expressing an interest in ketamine treatment: an online survey",
            "METHOD: An online survey was completed by patients exploring ketamine treatment. "
            "RESULTS: At least one side effect was reported by 71.8% of subjects.",
            [],
        ),
        (  # two ketamine forms in the methods
            "Side effects of ketamine in clinical settings",
            "METHODS: Retrospective data from three services were collected. RESULTS: At least "
            "one side effect was reported by 71.8% of subjects. LIMITATIONS: subcutaneous "
            "racemic and intranasal esketamine analysed. CONCLUSIONS: Patients treated with "
            "ketamine tolerate it.",
            ["Observational Study"],
        ),
        (  # randomized
            "Esketamine in TRD",
            "METHODS: Patients were randomized and treated with esketamine. RESULTS: Remission "
            "was 25.6% at month 6.",
            ["Randomized Controlled Trial"],
        ),
        (  # a second treatment named beside a result
            "Esketamine in TRD",
            "METHODS: An observational study of patients treated with esketamine. RESULTS: "
            "Remission was 25.6% with esketamine and 30.1% with ECT. Side effects were reported "
            "by 40.0% of patients.",
            ["Observational Study"],
        ),
    ],
)
def test_no_single_arm_is_guessed_outside_single_group_studies(title, abstract, types):
    result = extract_text("8", title, abstract, publication_types=types)
    assert all(arm.n_randomized is None for arm in result.arms)
    unnamed = [e for e in result.effects if e.arm is None]
    assert unnamed and all(e.arm_id is None for e in unnamed)


def test_an_open_label_studys_arm_is_its_treatment_as_written():
    abstract = (
        "BACKGROUND: Ketamine is a rapid antidepressant. METHODS: In this open-label study, 40 "
        "adults with TRD received intravenous ketamine 0.5 mg/kg twice weekly. RESULTS: Response "
        "was 52.5% (21 of 40) after six infusions, and the MADRS score fell by 14.1 points."
    )
    result = extract_text("9", "Repeated ketamine infusions", abstract)
    assert result.trial.design == "open_label"
    assert [arm.label for arm in result.arms] == ["intravenous ketamine 0.5 mg/kg"]
    arm = result.arms[0]
    assert (arm.drug, arm.route, arm.dose, arm.dose_unit, arm.n_randomized) == (
        "ketamine", "iv", 0.5, "mg/kg", 40,
    )  # fmt: skip
    rate = next(e for e in result.effects if e.kind == "response_rate")
    assert rate.arm_id == arm.arm_id


def test_a_treatment_had_before_is_no_second_group():
    """ECT named as what patients had before is no comparator: the one arm stands."""
    abstract = (
        "OBJECTIVE: To relate response to previous use of electroconvulsive therapy. METHODS: A "
        "prospective, observational study of patients who received esketamine. RESULTS: No "
        "differences were found between patients that previously received ECT and those that "
        "didn't. Of 16 patients, 10 were responders (62.5%)."
    )
    result = _cohort(abstract, "Treating TRD with esketamine nasal spray")
    assert [arm.label for arm in result.arms] == ["esketamine"]
    rate = next(e for e in result.effects if e.kind == "response_rate")
    assert rate.arm_id == result.arms[0].arm_id


@pytest.mark.parametrize(
    "text",
    [
        "Data from a claims DATABASE of 3,000 patients",
        "a national REGISTRY",
        "two cohorts treated with ketamine",
        "the Adverse Event Reporting System",
        "a ſurvey of prescribers",  # long s: matched as "s" by a case-insensitive pattern
        "Claıms data",  # dotless i
        "CLAİMS data",  # capital I with a dot, two characters in lower case
        "ketamine compared with placebo",
        "the ketamine group",
        "ketamine alone",
    ],
)
def test_the_cheap_word_tests_pass_every_text_their_patterns_match(text):
    from pipeline.extract.arms import (
        _GROUP_WORDS,
        _GROUP_WORDS_RE,
        _NOT_ONE_TREATED_GROUP_RE,
        _NOT_ONE_TREATED_GROUP_WORDS,
        _may_hold,
    )

    for regex, words in (
        (_NOT_ONE_TREATED_GROUP_RE, _NOT_ONE_TREATED_GROUP_WORDS),
        (_GROUP_WORDS_RE, _GROUP_WORDS),
    ):
        if regex.search(text):
            assert _may_hold(text, words), (regex.pattern, text)
    assert not _may_hold("ketamine alone", _GROUP_WORDS)


FAERS_TITLE = "Safety signals of esketamine nasal spray: a FAERS disproportionality analysis"
FAERS = (
    "METHODS: Reports in the FDA Adverse Event Reporting System (2019-2024) naming esketamine "
    "nasal spray as the primary suspect were analysed with the reporting odds ratio (ROR) and "
    "the information component (IC). RESULTS: Dissociation gave a strong signal (ROR = 412.5, "
    "95% CI 380.1-447.6; IC = 6.9, 95% CI 6.7-7.1), as did sedation (PRR 88.2)."
)


def _reports(abstract: str = FAERS, title: str = FAERS_TITLE):
    return extract_text("8", title, abstract, publication_types=["Journal Article"])


def test_a_disproportionality_signal_of_one_drug_points_at_that_drug():
    result = _reports()
    signals = [e for e in result.effects if e.value in (412.5, 6.9, 88.2)]
    assert len(signals) == 3
    (arm,) = result.arms
    assert (arm.label, arm.drug) == ("esketamine nasal spray", "esketamine")
    assert FAERS[arm.start : arm.end] == arm.label
    assert all(e.arm_id == arm.arm_id and e.comparator_arm_id is None for e in signals)


@pytest.mark.parametrize(
    "results",
    [
        # the signal sets age groups against each other, with a reference drug
        "RESULTS: Compared to fluoxetine and adults, children had a higher signal "
        "(aROR = 7.38, 95% CI, 6.02-9.05).",
        # another antidepressant beside it
        "RESULTS: The signal for suicidality was ROR = 3.2 (95% CI 2.2-4.5) against "
        "antidepressants.",
    ],
)
def test_a_signal_that_sets_groups_apart_gets_no_arm(results):
    abstract = FAERS.split("RESULTS:")[0] + results
    result = _reports(abstract)
    assert result.effects and all(e.arm_id is None for e in result.effects)


def test_a_signal_outside_a_reports_analysis_gets_no_arm():
    abstract = (
        "METHODS: Adults treated with esketamine were followed. RESULTS: The ROR of "
        "dissociation was 4.1 (95% CI 2.0-8.3)."
    )
    result = _reports(abstract, "Esketamine in routine care")
    assert all(e.arm_id is None for e in result.effects)
