"""A named trial-fact rule: its pattern, the words that gate it, and example sentences that are
its tests (tests/test_extract_facts.py reads every example with the rule's family)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    """A sentence and what the rule reads from it: True/False for a cue (it matches or not), a
    number for a count, the words for a dose or schedule, None for nothing read."""

    text: str
    reads: object


@dataclass(frozen=True)
class FactRule:
    """One named rule of a family (design, sample_size, arms, dose, ...): what it reads, its
    pattern, the lower-case needles one of which a text must hold before the pattern runs, and
    its examples."""

    name: str
    family: str
    reads: str
    pattern: str
    needles: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    flags: int = re.I | re.A
