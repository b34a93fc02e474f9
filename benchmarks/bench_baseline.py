"""Baseline benchmark: records per second per Dask worker, and what that projects to.

Writes FILES gzip files of RECORDS real-format records each (the real efetch XML repeated with
new PMIDs), runs `ingest_baseline` on a local Dask cluster with each worker count, and reports
the parse + extract + Parquet rate per worker and the bulk load, then projects the 2026 baseline
(about 40 million records in 1,334 files) on 16 and 64 cores from the measured per-worker rate.
The projection assumes the rate per worker holds as cores are added (files are independent
tasks) and leaves out reading 51 GB from disk or network: it is a projection, not a measurement.

The peak resident memory of each worker process is sampled from /proc: with the same records
per file it should not move with the number of files.

    python -m benchmarks.bench_baseline [--files 2 4 8] [--records 2000] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import gzip
import logging
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_ingest import DEFAULT_SOURCE, renumbered, source_records
from benchmarks.processes import descendants, rss_mib

BASELINE_2026_RECORDS = 40_000_000
BASELINE_2026_FILES = 1_334


def write_baseline(directory: Path, files: int, records: int, source: Path = DEFAULT_SOURCE):
    """`files` baseline files of `records` records each, PMIDs numbered from 1."""
    prolog, originals = source_records(source)
    pmid = 1
    for number in range(1, files + 1):
        body = [prolog]
        for _ in range(records):
            body.append(renumbered(originals[pmid % len(originals)], pmid))
            pmid += 1
        body.append(b"</PubmedArticleSet>\n")
        (directory / f"pubmed26n{number:04d}.xml.gz").write_bytes(
            gzip.compress(b"\n".join(body), compresslevel=1)
        )


class WorkerMemory:
    """Samples the resident memory of each process the benchmark starts (Dask's nannies and
    workers) every 50 ms; `peak_mib` is the largest any single process reached."""

    def __init__(self) -> None:
        self.peaks: dict[int, float] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.wait(0.05):
            for pid in descendants(os.getpid()):
                self.peaks[pid] = max(self.peaks.get(pid, 0.0), rss_mib(pid))

    def __enter__(self) -> WorkerMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()

    @property
    def peak_mib(self) -> float:
        return max(self.peaks.values(), default=0.0)


@dataclass
class BaselineRun:
    """One run of the baseline path on a local cluster."""

    files: int
    records_per_file: int
    workers: int
    wall_seconds: float  # cluster start-up, every task, and shutdown
    task_seconds: float  # the tasks' own time, summed over files
    load_seconds: float
    peak_worker_mib: float

    @property
    def records(self) -> int:
        return self.files * self.records_per_file

    @property
    def per_worker(self) -> float:
        """Records per second of one worker, from the tasks' own time."""
        return self.records / self.task_seconds


def run_once(files: int, records: int, workers: int) -> BaselineRun:
    """Write the files, run them on a local Dask cluster, load the Parquet set."""
    from pipeline import warehouse
    from pipeline.sources import baseline

    with tempfile.TemporaryDirectory(prefix="bench_baseline_") as tmp:
        directory = Path(tmp) / "in"
        directory.mkdir()
        write_baseline(directory, files, records)
        con = warehouse.connect(Path(tmp) / "w.duckdb")
        paths = baseline.baseline_files(directory)
        with WorkerMemory() as memory:
            started = time.perf_counter()
            results = baseline.run_on_dask(paths, Path(tmp) / "pq", None, workers=workers)
            wall = time.perf_counter() - started
        load_started = time.perf_counter()
        baseline.load_parquet_set(con, paths, Path(tmp) / "pq", "bench")
        load = time.perf_counter() - load_started
        con.close()
    assert sum(r.n_records for r in results) == files * records
    return BaselineRun(
        files, records, workers, wall, sum(r.seconds for r in results), load, memory.peak_mib
    )


def projection(per_worker: float, cores: int) -> str:
    hours = BASELINE_2026_RECORDS / (per_worker * cores) / 3600
    return (
        f"projection, not a measurement: the 2026 baseline ({BASELINE_2026_RECORDS:,} records, "
        f"{BASELINE_2026_FILES:,} files) on {cores} cores at this rate per worker: {hours:.1f} h "
        "of parse + extract"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_baseline", description=__doc__
    )
    parser.add_argument("--files", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--records", type=int, default=2_000, help="records per file")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    import distributed  # noqa: F401 - configures its own loggers on import; quiet them after

    logging.getLogger("distributed").setLevel(logging.WARNING)

    print(
        f"Baseline on Dask, {args.records:,} records per file; load average "
        f"{os.getloadavg()[0]:.1f} at the start"
    )
    print(
        f"{'files':>5} {'workers':>7} {'wall s':>7} {'records/s':>9} {'per worker/s':>12} "
        f"{'load s':>6} {'peak MiB/worker':>15}"
    )
    runs = []
    for files in args.files:
        for workers in args.workers:
            run = run_once(files, args.records, workers)
            runs.append(run)
            print(
                f"{run.files:>5} {run.workers:>7} {run.wall_seconds:>7.1f} "
                f"{run.records / run.wall_seconds:>9,.0f} {run.per_worker:>12,.0f} "
                f"{run.load_seconds:>6.1f} {run.peak_worker_mib:>15,.0f}"
            )
    best = max(runs, key=lambda r: r.records)
    print("wall: cluster start-up and shutdown included; per worker: the tasks' own time")
    for cores in (16, 64):
        print(projection(best.per_worker, cores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
