"""A named rule and its example sentences (each example is a test: tests/test_extract_rules.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    """A sentence and one effect the rule must read from it."""

    sentence: str
    kind: str
    value: float


@dataclass(frozen=True)
class Rule:
    """One named rule: its family (as in pipeline.vocab), what it reads, its patterns, examples."""

    name: str
    family: str
    reads: str
    patterns: tuple[str, ...]
    examples: tuple[Example, ...]
