"""Rates and shares of patients (pipeline.extract.effect_rules.rates)."""

from __future__ import annotations

from pipeline.extract.effects import extract_effects


def _read(sentence: str) -> list[tuple[str, float]]:
    return [(e.kind, e.value) for e in extract_effects(sentence)]


def test_corresponding_is_not_a_response() -> None:
    sentence = "With the new drug the corresponding risk of bleeding fell to between 3% and 9%."
    assert not [k for k, _ in _read(sentence) if k == "response_rate"]
    assert ("response_rate", 40.0) in _read("The corresponding response rate was 40%.")


def test_an_event_share_names_its_event_and_a_list_continues_it() -> None:
    effects = extract_effects("Sepsis occurred in 4.4%, 3.9%, and 2.0% of the three cohorts.")
    assert [(e.rule, e.value, e.label) for e in effects] == [
        ("event_share", 4.4, "Sepsis"),
        ("event_share", 3.9, "Sepsis"),
        ("event_share", 2.0, "Sepsis"),
    ]


def test_a_list_of_shares_followed_by_as_many_groups_gives_each_its_group() -> None:
    sentence = (
        "Renal failure was observed in 9 patients (5.5%), 4 patients (2.5%), and 6 patients "
        "(3.8%) in the high-dose, low-dose, and control groups, respectively."
    )
    effects = extract_effects(sentence)
    assert [(e.value, e.n_events, e.arm) for e in effects] == [
        (5.5, 9, "high-dose"),
        (2.5, 4, "low-dose"),
        (3.8, 6, "control"),
    ]


def test_an_event_share_of_counts_is_computed_from_them() -> None:
    sentence = "Gout flares occurred in 30 of 240 patients in the drugx group."
    effects = extract_effects(sentence)
    assert [(e.rule, e.value, e.n_events, e.n_total) for e in effects] == [
        ("event_share_from_counts", 12.5, 30, 240)
    ]


def test_shares_that_describe_the_patients_are_not_event_shares() -> None:
    assert _read("Hypertension was present in 45 patients (30%) at baseline.") == []
    assert _read("Diabetes was observed in 50 patients (16.7%) at enrolment.") == []


def test_response_remission_and_relapse_keep_their_kind() -> None:
    assert _read("Remission occurred in 40% of the patients.") == [("remission_rate", 40.0)]
    assert _read("Relapse was observed in 12 patients (20%).") == [("relapse_rate", 20.0)]


def test_a_share_with_its_count_as_n_then_what_the_patients_did() -> None:
    effects = extract_effects("Overall, 38% (n = 57) switched to a second agent.")
    assert [(e.kind, e.value, e.label) for e in effects] == [
        ("other", 38.0, "switched to a second agent")
    ]
    effects = extract_effects("Nine (45%) of 20 patients restarted the treatment.")
    assert [(e.value, e.label) for e in effects] == [(45.0, "restarted the treatment")]


def test_a_pair_of_shares_takes_the_verb_after_the_second() -> None:
    sentence = "With the combination, 81% versus 52% of patients reached the target."
    assert [(e.kind, e.value) for e in extract_effects(sentence)] == [
        ("other", 81.0),
        ("other", 52.0),
    ]


def test_a_share_of_an_effect_is_not_a_response_rate() -> None:
    sentence = "The placebo response accounts for 58% of the drug response at week 2."
    assert [(e.rule, e.kind, e.value) for e in extract_effects(sentence)] == [
        ("share_of_an_effect", "other", 58.0)
    ]


def test_disposition_and_demographic_shares_are_not_events() -> None:
    assert _read("The dropout rate was similar between groups (12% vs 14%).") == []
    assert _read("The rate of recruitment (75%) was lower than planned.") == []
    assert _read("Most patients were white (85%) and female (62%); adverse events were mild.") == []


def test_the_incidence_of_an_event_is_labelled_with_the_event() -> None:
    sentence = "The incidence of hypotension was 12.0% with propofol (P = 0.01)."
    assert [(e.kind, e.value, e.label) for e in extract_effects(sentence)] == [
        ("other", 12.0, "hypotension")
    ]


def test_a_counted_pair_of_shares_gives_one_share_per_arm_with_its_counts() -> None:
    effects = extract_effects("Readmission was 9/85 (10.6%) vs 17/88 (19.3%), P = 0.11.")
    assert [(e.kind, e.value, e.n_events, e.n_total, e.label) for e in effects] == [
        ("other", 10.6, 9, 85, "Readmission"),
        ("other", 19.3, 17, 88, "Readmission"),
    ]


def test_a_counted_pair_describing_the_patients_is_not_read() -> None:
    assert _read("Women were 30/60 (50%) vs 28/58 (48.3%) of the groups.") == []


def test_a_share_after_by_is_read_when_it_is_a_share_of_patients() -> None:
    sentence = (
        "Rescue medication was started by 4.2% (5/120) of patients in the drug group and "
        "9.8% (12/122) of patients in the placebo group."
    )
    effects = extract_effects(sentence)
    assert [(e.value, e.n_events, e.n_total) for e in effects] == [(4.2, 5, 120), (9.8, 12, 122)]


def test_shares_of_the_patients_social_circumstances_are_baseline_not_outcomes() -> None:
    sentence = "Sick leave was reported by 21.4% of patients; 28.0% were unemployed."
    assert _read(sentence) == []
    assert _read("Insomnia was reported by 21.4% of patients.") != []


def test_shares_of_arms_named_with_a_decimal_dose_or_after_who_were_receiving() -> None:
    sentence = (
        "Bleeding rates were 0.5% in the placebo group, 0.2% in the 2.5-mg drug group, and "
        "0.1% in the 5-mg drug group."
    )
    assert [(e.value, e.arm) for e in extract_effects(sentence)] == [
        (0.5, "placebo"),
        (0.2, "2.5-mg drug"),
        (0.1, "5-mg drug"),
    ]
    sentence = (
        "Events occurred in 73 of the 829 patients (8.8%) who were receiving placebo, as "
        "compared with 14 of the 840 patients (1.7%) who were receiving 2.5 mg of the drug."
    )
    assert [(e.value, e.arm) for e in extract_effects(sentence)] == [
        (8.8, "placebo"),
        (1.7, "2.5 mg of the drug"),
    ]


def test_two_shares_compared_by_a_ratio_are_one_share_per_arm() -> None:
    sentence = "Infection was rarer with the drug (12.5% vs. 20.1%; RR 0.62, 95% CI 0.41-0.93)."
    assert [(e.kind, e.value) for e in extract_effects(sentence)][:2] == [
        ("other", 12.5),
        ("other", 20.1),
    ]
    assert _read("Women were 55% vs 60% of the groups (P = 0.3).") == []


def test_a_difference_in_rates_is_not_a_rate_and_names_no_single_arm() -> None:
    sentence = "The difference in response rates was 25% for drug A and 9% for drug B."
    assert [(e.kind, e.value, e.label, e.arm) for e in extract_effects(sentence)] == [
        ("other", 25.0, "difference in response rates", None),
        ("other", 9.0, "difference in response rates", None),
    ]


def test_shares_of_arms_with_their_counts_of_events_or_cases() -> None:
    sentence = (
        "Stroke occurred in 30 of the 1274 patients randomly assigned to receive dabigatran "
        "(2.4%), as compared with 50 events in the warfarin group (3.9%)."
    )
    assert [(e.value, e.arm) for e in extract_effects(sentence)] == [
        (2.4, "dabigatran"),
        (3.9, "warfarin"),
    ]
    sentence = "Transfusions were needed in 4.7% (7 cases) of the drug group."
    assert [(e.value, e.arm) for e in extract_effects(sentence)] == [(4.7, "drug")]
    sentence = "The safety outcome occurred in 8.1% of the patients in each group."
    assert [e.arm for e in extract_effects(sentence)] == [None]


def test_a_count_with_thousands_separators_before_its_share_is_read_whole() -> None:
    """ "1,139 patients (14.3%)": the count of events is 1139, never the 139 after the comma."""
    sentence = (
        "In the drug group, 1,139 patients (14.3%) experienced AKI30, compared to 1,211 patients "
        "(15.4%) in the saline group (P=0.04)."
    )
    assert [(e.value, e.n_events, e.quote) for e in extract_effects(sentence)] == [
        (14.3, 1139, "1,139 patients (14.3%)"),
        (15.4, 1211, "1,211 patients (15.4%)"),
    ]
