"""Checks on the blind annotations of the record pool (tests/data/extraction/pool_*.jsonl).

84 records drawn at random from the pool (tests/data/pubmed_pool/blind_draw.txt) were annotated
from their text before the extractor was run on any of them, then split at random into a tuning
half and an untouched half that no rule is written from. A second draw of 40 (blind_draw_2.txt)
is the fresh set, annotated the same way, scored blind with extractors 1.7.0 and 1.8.0 and tuned on
from 1.9.0; a third draw of 40 (blind_draw_3.txt) was scored blind with 1.8.0 and 1.9.0, then
split at random into a half tuned on from 1.10.0 and a kept half that never is; a fourth draw of
40 (blind_draw_4.txt) is the fourth blind set, never tuned on. The development set's per-record
checks apply, plus: arms carry their words as written with offsets, each set is
its draw exactly, and no PMID is in another annotated set.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest
import test_annotations as dev
import test_annotations_development_2 as dev2
import test_annotations_heldout as heldout

POOL_DIR = dev.ANNOTATIONS.parent.parent / "pubmed_pool"
HALVES = (
    dev.ANNOTATIONS.parent / "pool_tuning.jsonl",
    dev.ANNOTATIONS.parent / "pool_untouched.jsonl",
)
# The second blind draw (blind_draw_2.txt): 40 further records, annotated before the extractor
# was run on any of them; scored blind with 1.7.0 and 1.8.0, tuned on from 1.9.0.
FRESH = dev.ANNOTATIONS.parent / "pool_fresh.jsonl"
# The third blind draw (blind_draw_3.txt): 40 further records, annotated the same way, then split
# at random (blind_3_tuning_half.txt) into a half tuned on from 1.10.0 and a half never tuned on.
BLIND_3 = (
    dev.ANNOTATIONS.parent / "pool_blind_3_tuning.jsonl",
    dev.ANNOTATIONS.parent / "pool_blind_3_kept.jsonl",
)
# The fourth blind draw (blind_draw_4.txt): 40 further records, annotated the same way.
BLIND_4 = dev.ANNOTATIONS.parent / "pool_blind_4.jsonl"


@pytest.fixture(
    scope="module", params=(*HALVES, FRESH, *BLIND_3, BLIND_4), ids=lambda path: path.stem
)
def annotations(request) -> list[tuple[int, dict[str, Any]]]:
    return dev.load_annotations(request.param)


@pytest.fixture(scope="module")
def sources() -> dict[str, dict[str, dict[str, Any]]]:
    """The pool's records by file name (as the annotations name it), then by PMID."""
    rows = (POOL_DIR / "records.jsonl").read_text(encoding="utf-8").splitlines()
    return {"pool/records.jsonl": {row["pmid"]: row for row in map(json.loads, rows)}}


@pytest.mark.parametrize(
    "check",
    [
        dev.test_every_line_is_one_annotated_article,
        dev.test_effect_fields_use_the_contract,
        dev.test_rates_agree_with_their_counts,
    ],
    ids=lambda check: check.__name__.removeprefix("test_"),
)
def test_development_set_check(check, annotations):
    check(annotations)


@pytest.mark.parametrize(
    "check",
    [
        dev.test_every_pmid_exists_in_its_source_file,
        dev.test_quotes_are_verbatim_and_offsets_slice_back,
    ],
    ids=lambda check: check.__name__.removeprefix("test_"),
)
def test_development_set_check_against_sources(check, annotations, sources):
    check(annotations, sources)


def plain_numbers(quote: str) -> str:
    """The quote with Lancet's decimal point (6·4) as a full stop and a comma between two decimals
    ("(0.11,1.21)") spaced, so that the number reader sees each number as written; a thousands
    comma ("1,354.63") is left as it is."""
    return re.sub(r"(\.\d+),(?=\d+\.\d)", r"\1, ", quote.replace("\u00b7", "."))


def written_another_way(effect: dict[str, Any], quote: str) -> bool:
    """A rate given as counts; thousands split by a comma and a space ("2, 257.80"); or a
    difference whose sign is in words ("12% ... fewer")."""
    if dev2.count_rate_written_in(effect, quote):
        return True
    if dev.written_in(effect["value"], re.sub(r"(?<=\d), (?=\d{3}\b)", ",", quote)):
        return True
    worded = re.search(r"\b(fewer|lower|less|reduc\w*)\b", quote)
    return bool(worded) and effect["value"] < 0 and dev.written_in(-effect["value"], quote)


def test_values_and_ci_bounds_are_written_in_their_quote(annotations):
    readable = [
        (
            line,
            {
                **record,
                "effects": [{**e, "quote": plain_numbers(e["quote"])} for e in record["effects"]],
            },
        )
        for line, record in annotations
    ]
    dev.check_values_in_quotes(readable, also_accept=written_another_way)


def test_arm_labels_are_the_abstracts_words_at_their_offsets(annotations, sources):
    for line, record in annotations:
        abstract = sources[record["file"]][record["pmid"]]["abstract"]
        for arm in record["trial"]["arms"]:
            if "start" in arm:
                assert abstract[arm["start"] : arm["end"]] == arm["label"], (line, arm)


def test_the_two_halves_are_the_blind_draw_exactly():
    drawn = (POOL_DIR / "blind_draw.txt").read_text(encoding="utf-8").split()
    annotated = [record["pmid"] for path in HALVES for _, record in dev.load_annotations(path)]
    assert len(drawn) == 84 and len(annotated) == len(set(annotated)) == 84
    assert set(annotated) == set(drawn)


def test_the_fresh_set_is_the_second_blind_draw_exactly():
    drawn = (POOL_DIR / "blind_draw_2.txt").read_text(encoding="utf-8").split()
    annotated = [record["pmid"] for _, record in dev.load_annotations(FRESH)]
    assert len(drawn) == 40 and len(annotated) == len(set(annotated)) == 40
    assert annotated == drawn


def test_the_third_blind_set_is_the_third_draw_exactly_split_at_random():
    drawn = (POOL_DIR / "blind_draw_3.txt").read_text(encoding="utf-8").split()
    tuning, kept = ([record["pmid"] for _, record in dev.load_annotations(p)] for p in BLIND_3)
    half = (POOL_DIR / "blind_3_tuning_half.txt").read_text(encoding="utf-8").split()
    assert random.Random(20261212).sample(drawn, 20) == half
    assert tuning == [pmid for pmid in drawn if pmid in half]
    assert kept == [pmid for pmid in drawn if pmid not in half]


def test_the_fourth_blind_set_is_the_fourth_draw_exactly():
    drawn = (POOL_DIR / "blind_draw_4.txt").read_text(encoding="utf-8").split()
    annotated = [record["pmid"] for _, record in dev.load_annotations(BLIND_4)]
    assert len(drawn) == 40 and len(annotated) == len(set(annotated)) == 40
    assert annotated == drawn


def test_the_fourth_draw_is_the_seeded_sample_of_the_records_not_drawn_before():
    pmids = [json.loads(line)["pmid"] for line in (POOL_DIR / "records.jsonl").open()]
    before = {
        pmid
        for name in ("blind_draw.txt", "blind_draw_2.txt", "blind_draw_3.txt")
        for pmid in (POOL_DIR / name).read_text(encoding="utf-8").split()
    }
    rest = [pmid for pmid in pmids if pmid not in before]
    drawn = (POOL_DIR / "blind_draw_4.txt").read_text(encoding="utf-8").split()
    assert len(rest) == 76 and random.Random(20261211).sample(rest, 40) == drawn


def test_the_second_draw_is_the_seeded_sample_of_the_records_not_drawn_before():
    pmids = [json.loads(line)["pmid"] for line in (POOL_DIR / "records.jsonl").open()]
    first = set((POOL_DIR / "blind_draw.txt").read_text(encoding="utf-8").split())
    rest = [pmid for pmid in pmids if pmid not in first]
    drawn = (POOL_DIR / "blind_draw_2.txt").read_text(encoding="utf-8").split()
    assert random.Random(20261209).sample(rest, 40) == drawn


def test_no_pmid_is_in_another_annotated_set():
    pool = {record["pmid"] for path in HALVES for _, record in dev.load_annotations(path)}
    fresh = {record["pmid"] for _, record in dev.load_annotations(FRESH)}
    others = heldout.development_pmids() | {
        record["pmid"] for _, record in dev.load_annotations(heldout.HELDOUT)
    }
    blind_3 = {record["pmid"] for path in BLIND_3 for _, record in dev.load_annotations(path)}
    blind_4 = {record["pmid"] for _, record in dev.load_annotations(BLIND_4)}
    assert not pool & others and not fresh & (others | pool)
    assert not blind_3 & (others | pool | fresh)
    assert not blind_4 & (others | pool | fresh | blind_3)
