"""The trial-fact rules by name: every example sentence of every rule is read as it says."""

from __future__ import annotations

import re

import pytest

from pipeline.extract.facts import READERS, RULES, FactRule

EXAMPLES = [(rule, example) for rule in RULES for example in rule.examples]


@pytest.mark.parametrize(
    ("rule", "example"), EXAMPLES, ids=[f"{r.name}-{i}" for i, (r, _) in enumerate(EXAMPLES)]
)
def test_each_example_is_read_by_its_rule(rule: FactRule, example):
    assert READERS[rule.name](rule, example.text) == example.reads


def test_rule_names_are_unique_and_every_rule_has_an_example():
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert all(rule.examples for rule in RULES), [r.name for r in RULES if not r.examples]


def test_every_pattern_compiles_with_its_flags():
    for rule in RULES:
        re.compile(rule.pattern, rule.flags)
