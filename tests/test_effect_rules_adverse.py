"""Adverse events (pipeline.extract.effect_rules.adverse)."""

from __future__ import annotations

from pipeline.extract.effects import extract_effects


def test_events_beyond_the_vocabulary_are_read_in_a_sentence_about_adverse_events() -> None:
    sentence = (
        "Adverse events more frequent with the drug than placebo were rhinitis (4.1% vs 1.2%), "
        "and muscle cramps (3.0% versus 0%)."
    )
    assert [(e.rule, e.value, e.label) for e in extract_effects(sentence)] == [
        ("listed_adverse_event", 4.1, "rhinitis"),
        ("listed_adverse_event", 1.2, "rhinitis"),
        ("listed_adverse_event", 3.0, "muscle cramps"),
        ("listed_adverse_event", 0.0, "muscle cramps"),
    ]


def test_vocabulary_events_keep_their_rule_and_other_sentences_are_left() -> None:
    sentence = "Adverse events included nausea (12.0%) and rhinitis (4.0%)."
    assert [(e.rule, e.label) for e in extract_effects(sentence)] == [
        ("named_adverse_event", "nausea"),
        ("listed_adverse_event", "rhinitis"),
    ]
    # no adverse events named: a bracketed share after a word is not taken for one
    assert extract_effects("Most were outpatients of the clinics (64.0%).") == []


def test_groups_and_patients_are_not_events() -> None:
    sentence = "Adverse events occurred in the placebo group (12.0%) and in treated patients (9%)."
    assert "listed_adverse_event" not in {e.rule for e in extract_effects(sentence)}
