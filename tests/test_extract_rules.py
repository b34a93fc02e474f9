"""Every named effect rule: its examples are read by it, and every rule the extractor uses is
listed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline import vocab
from pipeline.extract.effects import extract_effects
from pipeline.extract.rules import RULE_NAMES, RULES

EXAMPLES = [(rule.name, example) for rule in RULES for example in rule.examples]


@pytest.mark.parametrize(("name", "example"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_each_example_is_read_by_its_rule(name, example):
    found = [(e.rule, e.kind, e.value) for e in extract_effects(example.sentence)]
    assert (name, example.kind, pytest.approx(example.value)) in found, found


def test_every_rule_the_extractor_names_is_listed():
    package = Path(__file__).resolve().parent.parent / "pipeline" / "extract" / "effect_rules"
    text = "\n".join(path.read_text() for path in sorted(package.glob("*.py")))
    used = set(re.findall(r'_make\(\s*"(\w+)"', text)) | set(
        re.findall(r'^\s+rule = "(\w+)"', text, re.M)
    )
    used |= set(re.findall(r'if kind in RATE_KINDS else "(\w+)"', text))
    used |= set(re.findall(r'kind, rule = [^,\n]+, "(\w+)"', text))
    assert used <= RULE_NAMES, used - RULE_NAMES
    assert len(RULES) == len(RULE_NAMES)


def test_rule_families_are_vocabulary_families_or_adverse_events():
    families = {k.family for k in vocab.EFFECT_KINDS} | {"adverse_event"}
    assert {rule.family for rule in RULES} <= families


def test_every_effect_records_its_rule():
    text = (
        "Remission was 52.5% with esketamine vs 31.0% with placebo (OR 2.4, 95% CI 1.2-4.8). "
        "Nausea (28.9%) was common; 12 of 20 patients responded."
    )
    effects = extract_effects(text)
    assert effects and all(e.rule in RULE_NAMES for e in effects)
