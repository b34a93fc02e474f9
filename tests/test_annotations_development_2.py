"""Checks on the second part of the extraction development set
(tests/data/extraction/development_2.jsonl).

These 35 abstracts were the first held-out set: scored blind until extractor 1.4.0, then used
for tuning the rules beside annotations.jsonl. They follow the same guide, so the checks on
annotations.jsonl are applied to them, plus: no PMID is also in annotations.jsonl, and the file
is large and mixed enough to mean something.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
import test_annotations as dev

DEVELOPMENT_2 = dev.ANNOTATIONS.parent / "development_2.jsonl"
SEARCH_SAMPLE_FILES = ("search_sample_a.jsonl", "search_sample_b.jsonl")
THOUSANDS_SPACE = re.compile(r"(?<=\d)[ \u2009\u202f](?=\d{3}(?!\d))")


def load_development_2() -> list[tuple[int, dict[str, Any]]]:
    """The file's lines as (line number, record); a line that is not JSON fails the test."""
    return dev.load_annotations(DEVELOPMENT_2)


def count_rate_written_in(effect: dict[str, Any], text: str) -> bool:
    """True for a rate given only as counts ("14/70", "1 case per 20 000"): both counts are in
    `text` and the value is exactly 100 * n_events / n_total (the contract's unrounded percent)."""
    events, total = effect.get("n_events"), effect.get("n_total")
    if events is None or not total:
        return False
    joined = THOUSANDS_SPACE.sub("", text)
    return (
        dev.written_in(events, joined)
        and dev.written_in(total, joined)
        and math.isclose(effect["value"], 100 * events / total, abs_tol=1e-9)
    )


@pytest.fixture(scope="module")
def annotations() -> list[tuple[int, dict[str, Any]]]:
    return load_development_2()


# The bundled PubMed records by file name, then by PMID: the first file's fixture.
sources = dev.sources


# The checks on annotations.jsonl, applied to this file.


def test_every_line_is_one_annotated_article(annotations):
    dev.test_every_line_is_one_annotated_article(annotations)


def test_every_pmid_exists_in_its_source_file(annotations, sources):
    dev.test_every_pmid_exists_in_its_source_file(annotations, sources)


def test_quotes_are_verbatim_and_offsets_slice_back(annotations, sources):
    dev.test_quotes_are_verbatim_and_offsets_slice_back(annotations, sources)


def test_effect_fields_use_the_contract(annotations):
    dev.test_effect_fields_use_the_contract(annotations)


def test_rates_agree_with_their_counts(annotations):
    dev.test_rates_agree_with_their_counts(annotations)


def test_trial_facts_use_the_vocabularies(annotations):
    dev.test_trial_facts_use_the_vocabularies(annotations)


def test_values_and_ci_bounds_are_written_in_their_quote(annotations):
    """As in annotations.jsonl, except that a rate given only as counts is checked by its counts
    (the contract computes its percent, so the percent itself is not written)."""
    dev.check_values_in_quotes(annotations, also_accept=count_rate_written_in)


# What this file adds to the development set.


def test_no_pmid_is_also_in_annotations_jsonl(annotations):
    first = {record["pmid"] for _, record in dev.load_annotations()}
    shared = first & {record["pmid"] for _, record in annotations}
    assert not shared, f"PMIDs in both development files: {sorted(shared)}"


def test_records_come_from_the_search_samples(annotations):
    for number, record in annotations:
        assert record["file"] in SEARCH_SAMPLE_FILES, f"line {number}: {record['file']}"


def test_the_file_is_large_and_mixed(annotations):
    records = [record for _, record in annotations]
    assert len(records) >= 25
    designs = [record["trial"]["design"] for record in records]
    assert {"rct", "crossover_rct"} & set(designs), "no randomized trial"
    assert {"post_hoc", "review", "observational", "open_label"} <= set(designs)
    assert sum(1 for record in records if not record["effects"]) >= 5, (
        "too few effect-free abstracts"
    )
    assert any(r["trial"]["design"] == "review" and r["effects"] for r in records), (
        "no review with pooled or quoted effects"
    )
    kinds = {effect["kind"] for record in records for effect in record["effects"]}
    assert len(kinds) >= 6, f"too few kinds of effect: {sorted(kinds)}"
    with_ci = [e for r in records for e in r["effects"] if e["ci_low"] is not None]
    assert len(with_ci) >= 10, "too few effects with a confidence interval"


@pytest.mark.parametrize(
    ("effect", "text", "expected"),
    [
        ({"value": 20.0, "n_events": 14, "n_total": 70}, "14/70 patients", True),
        ({"value": 0.005, "n_events": 1, "n_total": 20000}, "1 case per 20 000 sessions", True),
        ({"value": 20, "n_events": 14, "n_total": 70}, "14 patients", False),
        ({"value": 21.0, "n_events": 14, "n_total": 70}, "14/70 patients", False),
        ({"value": 20.0}, "14/70 patients", False),
    ],
)
def test_count_rate_written_in(effect, text, expected):
    assert count_rate_written_in(effect, text) is expected
