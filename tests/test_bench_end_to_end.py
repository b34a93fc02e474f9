"""A small run of the end-to-end benchmark: the whole command, its stages and the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import bench_end_to_end, bench_ingest

pytestmark = pytest.mark.slow  # runs the ingest command in processes of its own


def test_a_small_end_to_end_run_times_every_stage(pubmed_records: Path, tmp_path: Path):
    xml = bench_ingest.write_scaled(pubmed_records / "efetch_sample.xml", 12, tmp_path / "x.xml")
    run = bench_end_to_end.run_ingest(xml, tmp_path, 2, 12)
    assert run.records == 12 and run.workers == 2 and run.seconds > 0
    assert list(run.stages) == [s for s, _ in bench_end_to_end.STAGE_ENDS] + ["the rest (exit)"]
    assert sum(run.stages.values()) == pytest.approx(run.seconds)
    assert run.peak_rss_mib > 50  # the writer with DuckDB, plus its workers
    assert run.cpu_seconds > 0.5  # at least the start-up of the command and its workers
    named = [s for s, _ in bench_end_to_end.STAGE_ENDS]
    assert list(run.stage_peak_mib)[: len(named)] == named  # each stage's peak, in order
    assert max(run.stage_peak_mib.values()) == run.peak_rss_mib
    assert 0 < run.writer_peak_mib <= run.peak_rss_mib and run.worker_peak_mib > 0
    text = bench_end_to_end.report([run], {12: 1.0}, (0.5, 0.7), 2, {12: 0.5})
    assert "      12       2 " in text and "load average 0.5 before" in text
    assert "parse + extract + load" in text and "marts" in text
    assert "CPU time at 12 records, 2 workers" in text and "Entrez.read's over ours" in text
    assert "peak MiB at 12 records, 2 workers: writer " in text and "largest worker" in text


def test_the_warm_up_run_leaves_compiled_modules_even_where_writing_them_is_off(
    pubmed_records: Path, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    cached = bench_ingest.REPO / "pipeline" / "__pycache__"
    for compiled in cached.glob("post_ingest.*.pyc"):
        compiled.unlink()
    bench_end_to_end.warm_bytecode(pubmed_records / "efetch_sample.xml", tmp_path)
    assert list(cached.glob("post_ingest.*.pyc"))
