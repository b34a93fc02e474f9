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
    text = bench_end_to_end.report([run], {12: 1.0}, (0.5, 0.7), 2)
    assert "      12       2 " in text and "load average 0.5 before" in text
    assert "parse + load" in text and "marts" in text
