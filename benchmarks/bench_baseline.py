"""Baseline benchmark: records per second per Dask worker, and what that projects to.

Writes FILES gzip files of RECORDS real-format records each (the real efetch XML repeated with
new PMIDs), runs `ingest_baseline` on a local Dask cluster with each worker count, and reports
the parse + extract + Parquet rate per worker and the bulk load, then projects the 2026 baseline
(about 40 million records in 1,334 files) on 16 and 64 cores from the measured per-worker rate.
The projection assumes the rate per worker holds as cores are added (files are independent
tasks) and leaves out reading 51 GB from disk or network: it is a projection, not a measurement.

    python -m benchmarks.bench_baseline [--files 4] [--records 1000] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import gzip
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_ingest import DEFAULT_SOURCE, renumbered, source_records

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_baseline", description=__doc__
    )
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--records", type=int, default=1_000, help="records per file")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from pipeline import warehouse
    from pipeline.sources import baseline

    total = args.files * args.records
    lines = [
        f"Baseline on Dask: {args.files} files x {args.records:,} records; "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    ]
    for workers in args.workers:
        with tempfile.TemporaryDirectory(prefix="bench_baseline_") as tmp:
            directory = Path(tmp) / "in"
            directory.mkdir()
            write_baseline(directory, args.files, args.records)
            con = warehouse.connect(Path(tmp) / "w.duckdb")
            started = time.perf_counter()
            files = baseline.baseline_files(directory)
            results = baseline.run_on_dask(files, Path(tmp) / "pq", None, workers=workers)
            tasks = time.perf_counter() - started
            load_started = time.perf_counter()
            baseline.load_parquet_set(con, files, Path(tmp) / "pq", "bench")
            load = time.perf_counter() - load_started
            con.close()
        assert sum(r.n_records for r in results) == total
        per_worker = total / tasks / workers
        lines.append(
            f"{workers} workers: parse + extract + Parquet {tasks:.1f} s ({total / tasks:,.0f} "
            f"records/s, {per_worker:,.0f} per worker, cluster start-up included); bulk load "
            f"{load:.1f} s ({total / load:,.0f} records/s)"
        )
        for cores in (16, 64):
            hours = BASELINE_2026_RECORDS / (per_worker * cores) / 3600
            lines.append(
                f"  projection, not a measurement: the 2026 baseline ({BASELINE_2026_RECORDS:,} "
                f"records, {BASELINE_2026_FILES:,} files) on {cores} cores at this rate per "
                f"worker: {hours:.1f} h of parse + extract"
            )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
