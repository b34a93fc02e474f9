"""The extraction benchmark's set handling: each set in its own table, held-out aggregate only."""

from __future__ import annotations

import json

import pytest

from benchmarks import bench_extract
from pipeline.extract.scoring import SourceRecord, score

ABSTRACT = "Response rates for ketamine and midazolam were 64% vs 28% at 24 hours."


@pytest.fixture
def sets(tmp_path, monkeypatch) -> dict:
    annotation = {
        "pmid": "1",
        "trial": {"design": "rct"},
        "effects": [
            {"kind": "response_rate", "value": 64, "arm": "ketamine", "quote": "64%"},
            {"kind": "nnt", "value": 4, "quote": "NNT of 4"},
        ],
    }
    dev, heldout = tmp_path / "dev.jsonl", tmp_path / "heldout.jsonl"
    dev.write_text(json.dumps(annotation) + "\n", encoding="utf-8")
    heldout.write_text(json.dumps(annotation) + "\n", encoding="utf-8")
    monkeypatch.setattr(
        bench_extract, "SETS", {"dev": dev, "heldout": heldout, "heldout2": tmp_path / "none"}
    )
    return {"1": SourceRecord("1", "Ketamine versus midazolam", ABSTRACT)}


def test_each_set_gets_its_own_aggregate_table(sets, capsys) -> None:
    assert bench_extract.score_set("dev", sets) is not None
    assert bench_extract.score_set("heldout", sets) is not None
    out = capsys.readouterr().out
    assert "=== development set" in out and "=== held-out set" in out
    assert out.count("overall") == 2


def test_mismatches_list_quotes_but_the_table_does_not(sets, capsys) -> None:
    bench_extract.score_set("heldout", sets)
    table = capsys.readouterr().out
    assert "NNT of 4" not in table and "64%" not in table  # nothing per record
    result = score([json.loads(bench_extract.SETS["dev"].read_text(encoding="utf-8"))], sets)
    bench_extract.print_mismatches(result)
    assert "NNT of 4" in capsys.readouterr().out


def test_every_set_has_a_title() -> None:
    assert set(bench_extract.TITLES) == set(bench_extract.SETS)


def test_a_missing_or_broken_set_is_reported_not_fatal(sets, capsys) -> None:
    bench_extract.SETS["heldout"].unlink()
    assert bench_extract.score_set("heldout", sets) is None
    assert "not present yet" in capsys.readouterr().out
    bench_extract.SETS["dev"].write_text("{half a line\n", encoding="utf-8")
    assert bench_extract.score_set("dev", sets) is None
    assert "cannot score it" in capsys.readouterr().out
