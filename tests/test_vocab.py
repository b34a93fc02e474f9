"""The one vocabulary: codes unique, the extract-text contract's lists, and the modules using it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline import classify, vocab
from pipeline.evidence import sheet
from pipeline.extract.effect_rules import adverse, context, effect
from pipeline.vocab.sql import CHECKED_COLUMNS


@pytest.mark.parametrize("name", sorted(vocab.VOCABULARIES))
def test_codes_are_unique(name):
    codes = vocab.VOCABULARIES[name]
    assert len(codes) == len(set(codes)), name


def test_contract_lists():
    """The kinds, drugs, routes and designs the extract-text contract names, in its order."""
    assert vocab.KIND_CODES == (
        "response_rate", "remission_rate", "relapse_rate", "mean_difference", "smd", "cohens_d",
        "hedges_g", "odds_ratio", "risk_ratio", "hazard_ratio", "nnt", "percent_change",
        "mean_change", "other",
    )  # fmt: skip
    assert vocab.DRUG_CODES == ("ketamine", "esketamine", "arketamine")
    assert vocab.ROUTE_CODES == ("iv", "intranasal", "oral", "sc", "im", "sublingual")
    assert set(vocab.DESIGN_CODES) == {
        "rct", "crossover_rct", "open_label", "post_hoc", "review", "observational", "protocol",
        "case_report", "other",
    }  # fmt: skip


def test_every_pattern_compiles_and_its_needles_let_it_match():
    """A pattern with needles is only tried where a needle occurs: each alternative of the
    pattern that is written out must contain one of them (case as the needle says)."""
    for term in (*vocab.POPULATIONS, *vocab.COMPARATORS, *vocab.SCALES, *vocab.ROUTES):
        if not term.pattern:
            continue
        re.compile(term.pattern)
        assert term.needles, term.code


def test_drug_patterns_tell_the_forms_apart():
    found = {
        words: [d.code for d in vocab.DRUGS if re.search(d.pattern, words, re.I)]
        for words in ("ketamine 0.5 mg/kg", "ESK 56 mg", "S-ketamine", "esketamine", "arketamine")
    }
    assert found == {
        "ketamine 0.5 mg/kg": ["ketamine"],
        "ESK 56 mg": ["esketamine"],
        "S-ketamine": ["esketamine"],
        "esketamine": ["esketamine"],
        "arketamine": ["arketamine"],
    }


def test_modules_read_the_vocabulary():
    """Classification, extraction and the sheet hold no word list of their own for these."""
    assert [code for code, _ in classify._SCALE_NAMES] == list(vocab.SCALE_CODES)
    assert [code for code, _ in classify._ROUTES] == list(vocab.ROUTE_CODES)
    assert [code for code, _ in context._SCALES] == list(vocab.SCALE_CODES)
    assert adverse._AE_TERMS is vocab.SIDE_EFFECTS
    assert effect.RATE_KINDS == vocab.RATE_KINDS
    assert set(sheet.EVIDENCE_LABELS) <= set(vocab.DESIGN_CODES)


@pytest.mark.parametrize(
    ("drug", "words", "role"),
    [
        ("esketamine", "esketamine 56 mg", "intervention"),
        (None, "placebo nasal spray", "placebo"),
        ("midazolam", "midazolam", "placebo"),
        ("ect", "ECT", "active"),
        (None, "usual treatment", "comparator"),
    ],
)
def test_role_of(drug, words, role):
    assert vocab.role_of(drug, words) == role


SCHEMA = Path(__file__).resolve().parent.parent / "warehouse" / "schema.sql"


def _schema_checks() -> dict[tuple[str, str], tuple[str, ...]]:
    """(table, column) -> the IN list of each CHECK in warehouse/schema.sql."""
    checks = {}
    for line in SCHEMA.read_text().splitlines():
        table = re.match(r"CREATE TABLE (\S+?)\(", line)
        if not table:
            continue
        for column, listed in re.findall(r"CHECK\(\(\"?(\w+)\"? IN \(([^)]*)\)\)\)", line):
            checks[(table[1], column)] = tuple(re.findall(r"'([^']*)'", listed))
    return checks


def test_the_warehouse_checks_equal_the_vocabulary():
    checks = _schema_checks()
    for (table, column), codes in CHECKED_COLUMNS.items():
        assert checks.get((table, column)) == codes, f"{table}.{column}"
    assert checks[("core.trial_facts", "design")] == vocab.DESIGN_CODES
