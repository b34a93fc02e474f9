"""The baseline benchmark's own measuring: memory of every process it starts, and the projection."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from benchmarks import bench_baseline

_HOLD_60_MIB = "import time; block = bytearray(60 * 1024 * 1024); time.sleep(1.5)"


@pytest.mark.slow  # starts a process
def test_memory_of_a_process_started_by_another_thread_is_seen():
    """Dask starts its workers from its event-loop thread, not the main one."""
    with bench_baseline.WorkerMemory() as memory:
        starter = threading.Thread(
            target=subprocess.run, args=([sys.executable, "-c", _HOLD_60_MIB],)
        )
        starter.start()
        starter.join()
    assert memory.peak_mib >= 60


def test_per_worker_rate_comes_from_the_tasks_own_time():
    run = bench_baseline.BaselineRun(
        files=4, records_per_file=1_000, workers=2, wall_seconds=10.0, task_seconds=8.0,
        load_seconds=1.0, peak_worker_mib=300.0,
    )  # fmt: skip
    assert run.records == 4_000
    assert run.per_worker == 500.0


def test_the_projection_says_it_is_one_and_does_the_sum():
    # 40,000,000 records / (1,000 records/s x 16 cores) = 2,500 s = 0.69 h.
    sentence = bench_baseline.projection(1_000.0, 16)
    assert sentence.startswith("projection, not a measurement")
    assert "on 16 cores" in sentence and "0.7 h" in sentence
