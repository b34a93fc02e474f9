"""The effect rules, one module per family, each rule with a name, its patterns and examples.

Where things live:
- `reading`: number tokens, confidence intervals, SEs, p-values, what blocks a number (a dose,
  a year, a test statistic); `effect`: the Effect and QuarantinedEffect records and why an
  effect is quarantined; `context`: an effect's timepoint and scale.
- `statistics`: the named statistics and the estimate pass (an estimate with its CI, a number
  after a named statistic, a list a statistic starts); the names come from the family modules.
- `rates`, `differences`, `ratios`, `nnt`, `adverse`, `other`: the rule families.
- `arm_assignment`: which arm an effect belongs to, from its sentence.
- `engine`: the sentence reader that runs every family on each sentence (`extract_effects`).

Every stored effect records the name of the rule that read it (core.effects.rule), so a
reviewer's rejection points at a rule; `RULES` lists every rule with its examples, and
tests/test_extract_rules.py runs each example through the extractor.

To add an effect kind:
1. Add its `EffectKind` to `pipeline.vocab.EFFECT_KINDS` (code, display words, family); the
   warehouse's CHECK constraints follow from it.
2. Add one rule file here, `pipeline/extract/effect_rules/<family or kind>.py`, holding
   - `STATISTIC_NAMES = {"<code>": ("its name", "ABBR")}` when the kind is a named statistic
     ("ROR = 2.1 (95% CI ...)"): the estimate pass then reads it with its CI, p-value, arm and
     timepoint, with no other code (an abbreviation counts only as written);
   - or, for wording the estimate pass cannot read, a class `<Name>Rules` with one method
     `read(self)` that calls `self._make(rule_name, kind, value, start, end)` for each effect
     found in `self.text` (offsets within the sentence) and marks its span with
     `self.taken.append((start, end))`; it runs after the built-in rules, on spans they left;
   - `RULES = (Rule(name, family, what it reads, (patterns,), (Example(...), ...)),)`: examples
     are sentences of your own wording, each with a kind and value the rule must read;
   - `EXAMPLES = {"named_statistic": (Example(...),)}` for examples of a shared rule.
   Modules are found by name: nothing else is edited. Run tests/test_extract_rules.py, then
   `python -m benchmarks.bench_extract --set dev` and bump `EXTRACTOR_VERSION`.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import replace

from pipeline.extract.effect_rules.base import Example, Rule

__all__ = ["RULES", "RULE_NAMES", "Example", "Rule", "rule_modules"]

# Modules that hold no rules of their own.
_NOT_RULE_FILES = frozenset(["base", "effect", "engine", "reading", "context"])


def rule_modules() -> list:
    """Every rule file of the package (a module defining RULES), in name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in _NOT_RULE_FILES:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "RULES"):
            found.append(module)
    return found


def _all_rules() -> tuple[Rule, ...]:
    """Every rule, with the examples other modules give for it added to its own."""
    modules = rule_modules()
    rules = {rule.name: rule for module in modules for rule in module.RULES}
    for module in modules:
        for name, examples in getattr(module, "EXAMPLES", {}).items():
            rules[name] = replace(rules[name], examples=rules[name].examples + tuple(examples))
    return tuple(rules.values())


RULES: tuple[Rule, ...] = _all_rules()
RULE_NAMES: frozenset[str] = frozenset(rule.name for rule in RULES)
