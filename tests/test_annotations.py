"""Checks on the hand-annotated extraction development set (tests/data/extraction).

The set is the ground truth the extractor is scored on, so every quote must come verbatim from
the stored abstract and every number must be readable in its quote.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

ANNOTATIONS = Path(__file__).resolve().parent / "data" / "extraction" / "annotations.jsonl"
SOURCE_FILES = ("landmark.jsonl", "search_sample_a.jsonl", "search_sample_b.jsonl")

KINDS = {
    "response_rate", "remission_rate", "relapse_rate", "mean_difference", "smd", "cohens_d",
    "hedges_g", "odds_ratio", "risk_ratio", "hazard_ratio", "nnt", "percent_change",
    "mean_change", "other",
}  # fmt: skip
RATE_KINDS = {"response_rate", "remission_rate", "relapse_rate"}
RATIO_KINDS = {"odds_ratio", "risk_ratio", "hazard_ratio"}
DESIGNS = {
    "rct", "crossover_rct", "open_label", "post_hoc", "review", "observational", "protocol",
    "case_report", "other",
}  # fmt: skip
DRUGS = {"ketamine", "esketamine", "arketamine"}
ROUTES = {"iv", "intranasal", "oral", "im", "sc", "sublingual"}
COMPARATORS = {"placebo", "midazolam", "ect", "antidepressant", "ketamine_dose", "other"}
POPULATIONS = {
    "trd", "mdd", "bipolar_depression", "suicidal_ideation", "ptsd", "postpartum",
    "adolescents", "older_adults",
}  # fmt: skip
P_OPERATORS = {"=", "<", ">", "<=", ">="}
TRIAL_KEYS = {
    "design", "drug", "route", "comparator", "population", "n_randomized", "arms", "scales",
}  # fmt: skip
TRIAL_OPTIONAL = {"dose", "schedule", "anaesthesia_or_pain"}
EFFECT_KEYS = {"kind", "value", "ci_low", "ci_high", "p", "p_operator", "arm", "timepoint", "scale"}
EFFECT_OPTIONAL = {
    "label", "subgroup", "se", "ci_level", "n_events", "n_total", "value_text", "quote", "start",
    "end", "sentence",
}  # fmt: skip

MINUS = "-\u2212\u2012"  # hyphen-minus, MINUS SIGN, FIGURE DASH (used as a minus in 39564613)
NUMBER = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?![\d])")
WORD_NUMBERS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
}  # fmt: skip


def numbers_in(text: str) -> list[float]:
    """Every number written in `text`, signed when a minus sign (maybe then a space) leads it.

    A hyphen between two numbers is usually a range dash, so a number after a hyphen is listed
    both signed and unsigned.
    """
    found: list[float] = []
    for match in NUMBER.finditer(text):
        number = float(match.group(1).replace(",", ""))
        found.append(number)
        before = text[: match.start()].rstrip(" ")
        if before and before[-1] in MINUS:
            found.append(-number)
    return found


def words_to_number(text: str) -> float:
    """'Fifty-nine percent' -> 59.0; only the small vocabulary the set needs."""
    total = 0
    for word in re.split(r"[\s-]+", text.lower()):
        if word in ("percent", "per", "cent", "and", ""):
            continue
        if word == "hundred":
            total = max(total, 1) * 100
        else:
            total += WORD_NUMBERS[word]
    return float(total)


def written_in(value: float, text: str) -> bool:
    """True when `value` (with its sign) is one of the numbers written in `text`."""
    return any(math.isclose(value, n, abs_tol=1e-9) for n in numbers_in(text))


def load_annotations(path: Path = ANNOTATIONS) -> list[tuple[int, dict[str, Any]]]:
    """The annotation lines as (line number, record); a line that is not JSON fails the test."""
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            pytest.fail(f"{path.name} line {number} is not JSON: {error}")
    return records


@pytest.fixture(scope="module")
def annotations() -> list[tuple[int, dict[str, Any]]]:
    return load_annotations()


@pytest.fixture(scope="module")
def sources(pubmed_records: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """The bundled PubMed records by file name, then by PMID."""
    by_file: dict[str, dict[str, dict[str, Any]]] = {}
    for name in SOURCE_FILES:
        records = {}
        for line in (pubmed_records / name).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record.get("pmid"):
                records[record["pmid"]] = record
        by_file[name] = records
    return by_file


def test_every_line_is_one_annotated_article(annotations):
    pmids = [record["pmid"] for _, record in annotations]
    assert len(pmids) == len(set(pmids)), "a PMID is annotated twice"
    for number, record in annotations:
        assert set(record) == {"pmid", "file", "annotator_notes", "trial", "effects"}, number
        assert isinstance(record["pmid"], str) and record["pmid"].isdigit(), number
        assert isinstance(record["effects"], list), number


def test_every_pmid_exists_in_its_source_file(annotations, sources):
    for number, record in annotations:
        assert record["file"] in sources, f"line {number}: unknown file {record['file']}"
        assert record["pmid"] in sources[record["file"]], (
            f"line {number}: PMID {record['pmid']} is not in {record['file']}"
        )


def test_quotes_are_verbatim_and_offsets_slice_back(annotations, sources):
    for number, record in annotations:
        abstract = sources[record["file"]][record["pmid"]]["abstract"]
        for effect in record["effects"]:
            where = f"line {number} PMID {record['pmid']} quote {effect['quote']!r}"
            assert effect["quote"] in abstract, f"{where} is not in the abstract"
            assert abstract[effect["start"] : effect["end"]] == effect["quote"], where


def check_values_in_quotes(annotations, also_accept=None) -> None:
    """Every value (or its words) and CI bound is written in its quote; `also_accept(effect,
    quote)`, where given, admits a value written in another form (e.g. as counts)."""
    for number, record in annotations:
        for effect in record["effects"]:
            quote = effect["quote"]
            where = f"line {number} PMID {record['pmid']} {effect['kind']} {effect['value']}"
            if "value_text" in effect:
                assert effect["value_text"] in quote, where
                assert words_to_number(effect["value_text"]) == effect["value"], where
            else:
                found = written_in(effect["value"], quote) or bool(
                    also_accept and also_accept(effect, quote)
                )
                assert found, f"{where}: value not in {quote!r}"
            for bound in ("ci_low", "ci_high"):
                if effect[bound] is not None:
                    assert written_in(effect[bound], quote), f"{where}: {bound} not in {quote!r}"


def test_values_and_ci_bounds_are_written_in_their_quote(annotations):
    check_values_in_quotes(annotations)


def test_effect_fields_use_the_contract(annotations):
    for number, record in annotations:
        for effect in record["effects"]:
            where = f"line {number} PMID {record['pmid']} {effect}"
            assert EFFECT_KEYS <= set(effect) <= EFFECT_KEYS | EFFECT_OPTIONAL, where
            assert effect["kind"] in KINDS, where
            assert isinstance(effect["value"], int | float), where
            assert (effect["ci_low"] is None) == (effect["ci_high"] is None), where
            if effect["ci_low"] is not None:
                assert effect["ci_low"] <= effect["value"] <= effect["ci_high"], where
            if effect["kind"] in RATIO_KINDS:
                assert effect["value"] > 0, where
            if effect["kind"] in RATE_KINDS:
                assert 0 <= effect["value"] <= 100, f"{where}: a rate is a percent"
            if effect["p"] is not None:
                assert 0 <= effect["p"] <= 1, where
                assert effect["p_operator"] in P_OPERATORS, where
            else:
                assert effect["p_operator"] is None, where
            if effect["kind"] == "other":
                assert effect.get("label"), f"{where}: an 'other' effect needs a label"


def test_rates_agree_with_their_counts(annotations):
    for number, record in annotations:
        for effect in record["effects"]:
            events, total = effect.get("n_events"), effect.get("n_total")
            if events is None or total is None:
                continue
            where = f"line {number} PMID {record['pmid']} {effect['quote']!r}"
            assert 0 <= events <= total, where
            # a percent written in the text is rounded; one computed from counts is exact
            assert abs(effect["value"] - 100 * events / total) <= 0.5 + 1e-9, where


def test_trial_facts_use_the_vocabularies(annotations):
    vocabularies = {
        "drug": DRUGS, "route": ROUTES, "comparator": COMPARATORS, "population": POPULATIONS,
    }  # fmt: skip
    for number, record in annotations:
        trial = record["trial"]
        where = f"line {number} PMID {record['pmid']}"
        assert TRIAL_KEYS <= set(trial) <= TRIAL_KEYS | TRIAL_OPTIONAL, where
        assert trial["design"] is None or trial["design"] in DESIGNS, where
        for key, vocabulary in vocabularies.items():
            values = trial[key]
            assert values is None or (isinstance(values, list) and set(values) <= vocabulary), (
                f"{where}: {key}={values}"
            )
        assert trial["n_randomized"] is None or (
            isinstance(trial["n_randomized"], int) and trial["n_randomized"] > 0
        ), where
        for arm in trial["arms"]:
            assert set(arm) == {"label", "n"} and arm["label"], where
            assert arm["n"] is None or isinstance(arm["n"], int), where
        if trial["n_randomized"] is not None and all(arm["n"] for arm in trial["arms"]):
            assert sum(arm["n"] for arm in trial["arms"]) <= trial["n_randomized"], where
        assert isinstance(trial["scales"], list), where


def test_the_set_is_large_and_mixed(annotations, sources):
    records = [record for _, record in annotations]
    assert len(records) >= 40
    designs = {record["trial"]["design"] for record in records}
    assert {"rct", "post_hoc", "review", "protocol"} <= designs
    assert sum(1 for record in records if not record["effects"]) >= 5, (
        "too few effect-free abstracts"
    )
    reviews_with_effects = [r for r in records if r["trial"]["design"] == "review" and r["effects"]]
    assert reviews_with_effects, "no meta-analysis with pooled effects"
    annotated = {record["pmid"] for record in records}
    assert set(sources["landmark.jsonl"]) <= annotated, "a landmark trial is not annotated"


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("-5.1 (1.42)", -5.1, True),
        ("−18.4 (SD=12.0)", -18.4, True),
        ("(- 15.2, - 14.5", -14.5, True),
        ("95% CI 2.1-69.2", 69.2, True),
        ("0.29-0.84", -0.84, True),
        ("12.1", -12.1, False),
        ("0.48 and 0.63", 0.6, False),
        ("41.0%", 41, True),
    ],
)
def test_numbers_in_reads_signs_and_ranges(text, value, expected):
    assert written_in(value, text) is expected


def test_words_to_number():
    assert words_to_number("Fifty-nine percent") == 59
    assert words_to_number("one hundred") == 100
