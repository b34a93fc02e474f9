"""The development set's scores as a floor: a rule change that drops precision, recall, arm
agreement or N randomized below the figures of extractor 1.10.0 fails here instead of landing
silently (doses must all be exact). Raise the floors when the scores rise; never lower them to let
a change through."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.extract.scoring import load_annotations, load_source_records, score

REPO = Path(__file__).resolve().parent.parent
DEVELOPMENT = [
    REPO / "tests" / "data" / "extraction" / "annotations.jsonl",
    REPO / "tests" / "data" / "extraction" / "development_2.jsonl",
]
# Extractor 1.11.0 on the development set (92 abstracts, 277 effects; the same as 1.10.0).
FLOORS = {"matched": 274, "extra": 0, "arm_agree": 188, "arm_wrong": 0, "n_randomized": 43}


@pytest.fixture(scope="module")
def development_score():
    records = load_source_records(REPO / "pipeline" / "data" / "snapshot")
    annotations = [a for path in DEVELOPMENT for a in load_annotations(path)]
    return score(annotations, records)


def test_effects_precision_and_recall_hold(development_score):
    overall = development_score.overall
    assert overall.tp >= FLOORS["matched"], (
        f"recall fell: {overall.tp} of {overall.tp + overall.fn}"
    )
    assert overall.fp <= FLOORS["extra"], f"precision fell: {overall.fp} effects not annotated"


def test_arms_on_matched_effects_hold(development_score):
    arm = development_score.attributes["arm"]
    assert arm.agree >= FLOORS["arm_agree"]
    assert arm.wrong <= FLOORS["arm_wrong"]


def test_n_randomized_holds(development_score):
    correct, _ = development_score.facts["n_randomized"]
    assert correct >= FLOORS["n_randomized"]


def test_every_dose_is_written_as_extracted(development_score):
    exact, checked = development_score.facts["dose_exact"]
    assert checked and exact == checked, f"{checked - exact} doses not written as extracted"
