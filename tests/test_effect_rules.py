"""The rules package: how a new rule file is found and what its names must be."""

from __future__ import annotations

import types

from pipeline import vocab
from pipeline.extract.effect_rules import RULES, engine, rule_modules, statistics


def test_statistic_names_give_vocabulary_kinds_or_a_label() -> None:
    for module in rule_modules():
        for kind in getattr(module, "STATISTIC_NAMES", {}):
            assert kind in vocab.KIND_CODES or kind in module.LABELLED_AS_OTHER, (module, kind)


def test_a_name_the_cheap_test_would_miss_is_added_to_it() -> None:
    words, abbreviations = statistics._uncovered(("ratio",), ("OR",))
    assert "hazard ratio" not in words and "HR" in abbreviations
    assert "number needed to treat" in words


def test_a_reader_in_a_new_rule_file_is_found(monkeypatch) -> None:
    class ReportingRules:
        def read(self) -> None:  # pragma: no cover - only found, not run here
            pass

    module = types.ModuleType("pipeline.extract.effect_rules.reporting")
    ReportingRules.__module__ = module.__name__
    module.ReportingRules = ReportingRules
    module.RULES = ()
    monkeypatch.setattr(engine, "rule_modules", lambda: [*rule_modules(), module])
    assert engine._readers_of_new_rule_files() == (ReportingRules,)


def test_every_rule_family_module_lists_its_rules() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert {"rate_percent", "estimate_with_ci", "named_adverse_event", "correlation"} <= set(names)
