"""The effect rules by name (kept for the modules that import it): see
`pipeline.extract.effect_rules`, where each rule family has its module."""

from __future__ import annotations

from pipeline.extract.effect_rules import RULE_NAMES, RULES, Example, Rule

__all__ = ["RULES", "RULE_NAMES", "Example", "Rule"]
