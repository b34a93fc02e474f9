"""The bundled regulatory facts: complete, sourced, dated, and their SOURCES.md as handed over."""

from __future__ import annotations

import hashlib
from datetime import date
from importlib import resources

import pytest

from pipeline.cli import main
from pipeline.errors import PipelineError
from pipeline.evidence import regulatory

# SHA-256 of pipeline/data/regulatory/SOURCES.md, a byte-for-byte copy of the file handed over.
SOURCES_SHA256 = "d94617f6494ba755fd2bff895212893488952ee077732e70856040a6096d032b"


def test_sources_md_is_the_handed_over_file():
    data = (resources.files("pipeline") / "data" / "regulatory" / "SOURCES.md").read_bytes()
    assert hashlib.sha256(data).hexdigest() == SOURCES_SHA256


def test_the_required_facts_are_there_with_source_and_dates():
    facts = {f.id: f for f in regulatory.load_facts()}
    approvals = sorted(f.effective for f in facts.values() if f.topic == "approval")
    assert approvals == [date(2019, 3, 5), date(2020, 8, 3), date(2025, 1, 21)]
    assert facts["esketamine-rems-monitoring"].hours == 2
    assert "respiratory depression" in facts["esketamine-boxed-warning"].risks
    assert "not FDA approved" in facts["ketamine-not-approved-psychiatric"].wording
    for fact in facts.values():
        assert fact.last_checked == date(2026, 12, 7)
        assert fact.url or fact.source_kind == "secondary"
    assert all(facts[i].source_kind == "secondary" for i in facts if i.startswith("esketamine-ap"))


def test_facts_older_than_a_year_are_said():
    facts = regulatory.load_facts()
    assert regulatory.stale_notice(facts, date(2027, 12, 7)) is None
    assert "more than a year ago" in regulatory.stale_notice(facts, date(2027, 12, 9))


def test_a_fact_without_a_source_is_a_clear_error():
    text = regulatory.facts_text().replace('source_version = "REMS page', 'ignored = "REMS page', 1)
    with pytest.raises(PipelineError, match="esketamine-rems-monitoring lacks source_version"):
        regulatory.load_facts(text)


def test_facts_command_lists_them(capsys):
    assert main(["facts"]) == 0
    out = capsys.readouterr().out
    assert "esketamine-approval-monotherapy-2025 (in effect 2025-01-21" in out
    assert "last checked 2026-12-07" in out and "9 fact(s)" in out
