"""The trial-fact rules, one module per family, each rule named with its pattern and examples.

| module | reads |
| --- | --- |
| `design` | randomised, crossover, post hoc, open label, observational, review, protocol, ... |
| `drugs_routes` | the ketamine forms a study is about and how they were given |
| `terms` | population, comparator, scales, anaesthesia or pain (vocabulary terms) |
| `sample_size` | N randomized (else enrolled), the sample of a one-group study, cohorts |
| `arms_stated` | the arms a text states with their sizes |
| `dose` | the first dose in mg or mg/kg, the dosing schedule |

`pipeline.classify.classify` assembles them into `TrialFacts`; `matching` holds the speed
plumbing they share. Every example of every rule is a test (tests/test_extract_facts.py).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from pipeline.extract.facts import arms_stated, design, dose, drugs_routes, sample_size, terms
from pipeline.extract.facts.rule import Example, FactRule

FAMILY_MODULES: tuple[ModuleType, ...] = (
    design,
    drugs_routes,
    terms,
    sample_size,
    arms_stated,
    dose,
)
RULES: tuple[FactRule, ...] = tuple(rule for module in FAMILY_MODULES for rule in module.RULES)
READERS: dict[str, Callable[[FactRule, str], object]] = {
    rule.name: module.read for module in FAMILY_MODULES for rule in module.RULES
}

__all__ = ["READERS", "RULES", "Example", "FactRule"]
