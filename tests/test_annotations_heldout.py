"""Checks on the hand-annotated held-out extraction set (tests/data/extraction/heldout.jsonl).

The held-out set is every search-sample record that the development set (annotations.jsonl and
development_2.jsonl) does not annotate: mostly reviews, commentaries and laboratory studies, where
trial facts and false positives are what is measured. It is never used for tuning the rules. The
development set's per-record checks are applied to it, plus: no PMID is in a development file,
the three files together annotate every search-sample record with a PMID exactly once, and every
drug and route annotated is stated in the record's title or abstract.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
import test_annotations as dev
import test_annotations_development_2 as dev2

HELDOUT = dev.ANNOTATIONS.parent / "heldout.jsonl"
DEVELOPMENT_FILES = (dev.ANNOTATIONS, dev2.DEVELOPMENT_2)

# What "stated" means for each drug and route: a word the text must contain (title or abstract),
# abbreviations in capitals. Racemic ketamine is "ketamine" not glued to a prefix (es-, ar-, (S)-,
# R-, nor-), or written as R/S-, R,S- or racemic ketamine.
DRUG_CUES = {
    "ketamine": r"(?<![\w)/,-])ketamine|\bR\s*[/,]\s*S-ketamine|racemic",
    "esketamine": r"esketamine|\(S\)-ketamine|\bS-ketamine|s-isomer|(?-i:\bESK\b)|Spravato",
    "arketamine": r"arketamine|\(R\)-ketamine|\bR-ketamine",
}
ROUTE_CUES = {
    "iv": r"intravenous|infusion|(?-i:\bIV\b)|\bi\.v\.",
    "intranasal": r"nasal|(?-i:\bIN\b)",
    "oral": r"\boral|by mouth",
    "im": r"intramuscular|(?-i:\bIM\b)|\bi\.m\.",
    "sc": r"subcutaneous|(?-i:\bSC\b)|\bs\.c\.",
    "sublingual": r"sublingual",
}


def stated_in(cue: str, record: dict[str, Any]) -> bool:
    """True when the pattern `cue` (case-insensitive outside its capitals) occurs in the record's
    title or abstract."""
    return any(re.search(cue, record[key], re.IGNORECASE) for key in ("title", "abstract"))


@pytest.fixture(scope="module")
def annotations() -> list[tuple[int, dict[str, Any]]]:
    return dev.load_annotations(HELDOUT)


# The bundled PubMed records by file name, then by PMID: the development set's fixture.
sources = dev.sources


# The development set's checks, applied to this file.


@pytest.mark.parametrize(
    "check",
    [
        dev.test_every_line_is_one_annotated_article,
        dev.test_effect_fields_use_the_contract,
        dev.test_rates_agree_with_their_counts,
        dev.test_trial_facts_use_the_vocabularies,
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


def test_values_and_ci_bounds_are_written_in_their_quote(annotations):
    """As in development_2.jsonl: a rate given only as counts is checked by its counts."""
    dev.check_values_in_quotes(annotations, also_accept=dev2.count_rate_written_in)


# What makes it the held-out set.


def development_pmids() -> set[str]:
    """Every PMID annotated in the two development files."""
    return {
        record["pmid"] for path in DEVELOPMENT_FILES for _, record in dev.load_annotations(path)
    }


def test_no_pmid_is_in_the_development_set(annotations):
    shared = development_pmids() & {record["pmid"] for _, record in annotations}
    assert not shared, f"PMIDs also in the development set: {sorted(shared)}"


def test_exactly_the_remaining_search_sample_records_are_covered(annotations, sources):
    development = development_pmids()
    remaining = {
        (name, pmid)
        for name in dev2.SEARCH_SAMPLE_FILES
        for pmid in sources[name]
        if pmid not in development
    }
    covered = {(record["file"], record["pmid"]) for _, record in annotations}
    assert covered == remaining, (
        f"missing: {sorted(remaining - covered)}; not remaining: {sorted(covered - remaining)}"
    )
    assert len(covered) == 35


def test_the_three_files_annotate_every_search_sample_record_exactly_once(annotations, sources):
    times = Counter(
        record["pmid"] for path in DEVELOPMENT_FILES for _, record in dev.load_annotations(path)
    )
    times.update(record["pmid"] for _, record in annotations)
    search_sample = {pmid for name in dev2.SEARCH_SAMPLE_FILES for pmid in sources[name]}
    wrong = {pmid: times[pmid] for pmid in sorted(search_sample) if times[pmid] != 1}
    assert not wrong, f"search-sample PMIDs not annotated exactly once (PMID: times): {wrong}"


def test_drugs_and_routes_are_stated_in_the_title_or_abstract(annotations, sources):
    for number, record in annotations:
        source = sources[record["file"]][record["pmid"]]
        trial = record["trial"]
        for key, cues in (("drug", DRUG_CUES), ("route", ROUTE_CUES)):
            for value in trial[key] or []:
                assert stated_in(cues[value], source), (
                    f"line {number} PMID {record['pmid']}: {key} {value!r} is not stated"
                )


@pytest.mark.parametrize(
    ("cues", "value", "text", "expected"),
    [
        (DRUG_CUES, "ketamine", "Ketamine's effects", True),
        (DRUG_CUES, "ketamine", "R,S-ketamine", True),
        (DRUG_CUES, "ketamine", "r/s-ketamine", True),
        (DRUG_CUES, "ketamine", "esketamine and (S)-ketamine", False),
        (DRUG_CUES, "ketamine", "arketamine, R-ketamine and nor-ketamine", False),
        (DRUG_CUES, "esketamine", "Intranasal (S)-ketamine", True),
        (DRUG_CUES, "esketamine", "its s-isomer, Esketamine (Spravato)", True),
        (DRUG_CUES, "esketamine", "ketamine", False),
        (DRUG_CUES, "arketamine", "(R)-ketamine", True),
        (DRUG_CUES, "arketamine", "esketamine", False),
        (ROUTE_CUES, "iv", "after infusion", True),
        (ROUTE_CUES, "iv", "its effect lasted", False),
        (ROUTE_CUES, "intranasal", "a nasal spray formulation", True),
        (ROUTE_CUES, "intranasal", "IN esketamine", True),
        (ROUTE_CUES, "intranasal", "in esketamine", False),
        (ROUTE_CUES, "sc", "subcutaneous racemic ketamine", True),
        (ROUTE_CUES, "sc", "the scale", False),
        (ROUTE_CUES, "im", "im Rahmen", False),
    ],
)
def test_stated_in(cues, value, text, expected):
    assert stated_in(cues[value], {"title": "", "abstract": text}) is expected
