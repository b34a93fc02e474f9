"""Worker processes beside one writer: results in order, and the same warehouse rows as with one
worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from warehouse_rows import rows_without_times_and_run_ids

from benchmarks.bench_ingest import write_scaled
from pipeline import ingest, parse, post_ingest, warehouse
from pipeline.errors import PipelineError
from pipeline.extract import store
from pipeline.parallel import check_workers, default_workers, ordered_map, worker_pool
from pipeline.sources.snapshot import bundled_snapshot_dir, open_snapshot


def square(x: int) -> int:
    return x * x


def numbers_then_failure():
    yield from range(5)
    raise ValueError("the input ended badly")


def test_default_workers_is_the_number_of_cores():
    assert default_workers() >= 1


@pytest.mark.parametrize("workers", [0, -1])
def test_workers_must_be_positive(workers):
    with pytest.raises(PipelineError, match="positive whole number"):
        check_workers(workers)


def test_ordered_map_without_a_pool_runs_in_process():
    assert list(ordered_map(None, square, range(5))) == [0, 1, 4, 9, 16]


@pytest.mark.slow
def test_ordered_map_keeps_the_order_and_hands_out_what_came_before_a_failed_input():
    with worker_pool(2) as pool:
        assert list(ordered_map(pool, square, range(50), in_flight=3)) == [x * x for x in range(50)]
        results = []
        with pytest.raises(ValueError, match="ended badly"):
            for value in ordered_map(pool, square, numbers_then_failure(), in_flight=10):
                results.append(value)
        assert results == [0, 1, 4, 9, 16]


@pytest.mark.slow
def test_two_workers_fill_the_warehouse_with_the_rows_of_one(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_CLINIC_KEY_FILE", str(tmp_path / "clinic.key"))
    for name in ("CLINIC_EXPORT", "NCBI_EMAIL", "NCBI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(parse, "RECORDS_PER_CHUNK", 7)  # many chunks per file
    monkeypatch.setattr(store, "BATCH_SIZE", 20)  # many extraction batches
    results = {}
    for workers in (1, 2):
        con = warehouse.connect(tmp_path / f"w{workers}.duckdb")
        try:
            snapshot = open_snapshot(bundled_snapshot_dir())
            ingest.ingest_snapshot(con, snapshot, batch_size=30, progress=False, workers=workers)
            post_ingest.run_post_ingest_steps(con, workers=workers)
            results[workers] = rows_without_times_and_run_ids(con)
        finally:
            con.close()
    one, two = results[1], results[2]
    assert one.keys() == two.keys()
    assert len(one["core.articles"]) == 127 and len(one["core.effects"]) > 100
    assert len(one["marts.trial_outcomes"]) > 100
    for table in one:
        assert one[table] == two[table], table


@pytest.mark.slow
@pytest.mark.parametrize("source", ["bundled", "xml"])
def test_extracting_where_articles_are_parsed_gives_the_rows_of_extracting_after_the_load(
    source, pubmed_records, tmp_path, monkeypatch
):
    monkeypatch.setenv("PIPELINE_CLINIC_KEY_FILE", str(tmp_path / "clinic.key"))
    for name in ("CLINIC_EXPORT", "NCBI_EMAIL", "NCBI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(parse, "RECORDS_PER_CHUNK", 7)  # many chunks per file
    path = bundled_snapshot_dir()
    if source == "xml":  # the real efetch records, renumbered: every article from XML
        path = write_scaled(pubmed_records / "efetch_sample.xml", 45, tmp_path / "x.xml")
    results = {}
    for extract in (False, True):
        con = warehouse.connect(tmp_path / f"e{extract}.duckdb")
        try:
            snapshot = open_snapshot(path)
            ingest.ingest_snapshot(
                con, snapshot, batch_size=30, progress=False, workers=2, extract=extract
            )
            left = store.articles_to_extract(con)
            from_json = con.execute(
                "SELECT DISTINCT pmid FROM raw.records WHERE format = 'json' EXCEPT "
                "SELECT pmid FROM raw.records WHERE format = 'xml' ORDER BY 1"
            ).fetchall()
            post_ingest.run_post_ingest_steps(con)
            results[extract] = (
                left,
                [p for (p,) in from_json],
                rows_without_times_and_run_ids(con),
            )
        finally:
            con.close()
    (left_after, _, after), (left_with, from_json, with_load) = results[False], results[True]
    # Every XML article was extracted where it was parsed: the step is left the JSON-only ones.
    assert left_with == from_json and len(from_json) < len(left_after)
    assert len(left_after) == (127 if source == "bundled" else 45)
    assert after.keys() == with_load.keys()
    assert len(after["core.effects"]) > 100
    for table in after:
        assert after[table] == with_load[table], table


REPO = Path(__file__).resolve().parent.parent
WRITER_SCRIPT = """
import time
from pipeline.parallel import worker_pool

with worker_pool(2) as pool:
    for done in [pool.submit(time.sleep, 0.5) for _ in range(2)]:
        done.result(60)
    print(" ".join(str(pid) for pid in pool._processes), flush=True)
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for its parent counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow  # a second process
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_workers_end_when_the_writer_is_killed():
    """`kill -9` of an ingest leaves no worker processes waiting for work forever."""
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER_SCRIPT], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        pids = [int(p) for p in writer.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
    finally:
        writer.kill()
        writer.wait(30)
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids), f"workers {pids} outlived their writer"
