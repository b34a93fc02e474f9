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
