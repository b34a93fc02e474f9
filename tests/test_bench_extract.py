"""The extraction benchmark's set handling: the development set's two files scored together in
one table, the held-out set in its own, aggregate only."""

from __future__ import annotations

import json

import pytest

from benchmarks import bench_extract
from pipeline.extract.scoring import SourceRecord, score

# Runs the extraction benchmark.
pytestmark = pytest.mark.slow

ABSTRACT = "Response rates for ketamine and midazolam were 64% vs 28% at 24 hours."
ABSTRACT_2 = "Remission was 30% with esketamine (odds ratio 2.5)."

ANNOTATION = {
    "pmid": "1",
    "trial": {"design": "rct"},
    "effects": [
        {"kind": "response_rate", "value": 64, "arm": "ketamine", "quote": "64%"},
        {"kind": "nnt", "value": 4, "quote": "NNT of 4"},
    ],
}
ANNOTATION_2 = {
    "pmid": "2",
    "trial": {"design": "open_label"},
    "effects": [
        {"kind": "remission_rate", "value": 30, "quote": "30%"},
        {"kind": "hazard_ratio", "value": 0.7, "quote": "HR of 0.7"},
    ],
}


@pytest.fixture
def sets(tmp_path, monkeypatch) -> dict:
    """Two development files and a held-out file in tmp_path; the abstracts they annotate."""
    dev, dev_2 = tmp_path / "annotations.jsonl", tmp_path / "development_2.jsonl"
    heldout = tmp_path / "heldout.jsonl"
    dev.write_text(json.dumps(ANNOTATION) + "\n", encoding="utf-8")
    dev_2.write_text(json.dumps(ANNOTATION_2) + "\n", encoding="utf-8")
    heldout.write_text(json.dumps(ANNOTATION) + "\n", encoding="utf-8")
    monkeypatch.setattr(bench_extract, "SETS", {"dev": (dev, dev_2), "heldout": (heldout,)})
    return {
        "1": SourceRecord("1", "Ketamine versus midazolam", ABSTRACT),
        "2": SourceRecord("2", "Esketamine in depression", ABSTRACT_2),
    }


def test_each_set_gets_its_own_aggregate_table(sets, capsys) -> None:
    assert bench_extract.score_set("dev", sets) is not None
    assert bench_extract.score_set("heldout", sets) is not None
    out = capsys.readouterr().out
    assert "=== development set" in out and "=== held-out set" in out
    assert out.count("overall") == 2


def test_the_development_set_is_its_two_files_in_one_table(sets, capsys) -> None:
    result = bench_extract.score_set("dev", sets)
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("=== development set"))
    assert "annotations.jsonl + " in header and header.endswith("development_2.jsonl) ===")
    assert out.count("overall") == 1
    # Both files' effects are counted, and both files' misses are in the one result.
    assert "'hazard_ratio': 1" in out and "'nnt': 1" in out and "'response_rate': 1" in out
    bench_extract.print_mismatches(result)
    mismatches = capsys.readouterr().out
    assert "NNT of 4" in mismatches and "HR of 0.7" in mismatches


def test_mismatches_list_quotes_but_the_table_does_not(sets, capsys) -> None:
    bench_extract.score_set("heldout", sets)
    table = capsys.readouterr().out
    assert "NNT of 4" not in table and "64%" not in table  # nothing per record
    result = score([ANNOTATION], sets)
    bench_extract.print_mismatches(result)
    assert "NNT of 4" in capsys.readouterr().out


def test_every_set_has_a_title() -> None:
    assert set(bench_extract.TITLES) == set(bench_extract.SETS)


def test_the_sets_are_the_development_held_out_and_pool_files() -> None:
    names = {key: [path.name for path in paths] for key, paths in bench_extract.SETS.items()}
    assert names == {
        "dev": ["annotations.jsonl", "development_2.jsonl"],
        "heldout": ["heldout.jsonl"],
        "tuning": ["pool_tuning.jsonl"],
        "untouched": ["pool_untouched.jsonl"],
        "fresh": ["pool_fresh.jsonl"],
        "blind3": ["pool_blind_3_kept.jsonl"],
        "blind3-tuning": ["pool_blind_3_tuning.jsonl"],
        "blind4": ["pool_blind_4.jsonl"],
    }
    assert not {"untouched", "heldout", "blind3", "blind4"} & set(bench_extract.TUNABLE)
    assert set(bench_extract.TUNABLE) == {"dev", "tuning", "fresh", "blind3-tuning"}
    with pytest.raises(SystemExit):
        bench_extract.main(["--set", "heldout2"])


def test_a_missing_or_broken_set_is_reported_not_fatal(sets, capsys) -> None:
    bench_extract.SETS["heldout"][0].unlink()
    assert bench_extract.score_set("heldout", sets) is None
    assert "not present yet" in capsys.readouterr().out
    bench_extract.SETS["dev"][0].write_text("{half a line\n", encoding="utf-8")
    assert bench_extract.score_set("dev", sets) is None
    assert "cannot score it" in capsys.readouterr().out


def test_a_missing_development_file_is_named_and_nothing_is_scored(sets, capsys) -> None:
    bench_extract.SETS["dev"][1].unlink()
    assert bench_extract.score_set("dev", sets) is None
    out = capsys.readouterr().out
    assert "not present yet" in out and "development_2.jsonl missing" in out
    assert "overall" not in out


def test_numbers_in_a_quote_are_read_as_written() -> None:
    assert bench_extract._written_numbers("ROR 2,257.80, PRR 9.1") == {2257.8, 9.1}
    assert bench_extract._written_numbers("(0.11,1.21)") == {0.11, 1.21}
    assert bench_extract._written_numbers("trended lower (- 0.4 days)") == {-0.4}


def test_a_value_computed_from_its_counts_is_not_checked_against_its_quote() -> None:
    from types import SimpleNamespace

    computed = SimpleNamespace(rule="event_share_from_counts", value=25.0, n_events=5, n_total=20)
    written = SimpleNamespace(rule="rate_percent", value=24.0, n_events=5, n_total=20)
    assert bench_extract._from_counts(computed) and not bench_extract._from_counts(written)
