"""End-to-end ingest benchmark: `python -m pipeline ingest --snapshot FILE` as a user runs it.

The real efetch response is repeated to N records with fresh PMIDs (as `bench_ingest` does).
For each size the whole command runs in a fresh process against a fresh warehouse (parse, load,
extraction, clinic data, registry, marts), timed from outside, with the peak resident memory of
its whole process tree (the writer and its workers, sampled from /proc) and the share of each
stage (read from when each stage's log line arrives). `Bio.Entrez.read` alone on the same file
is the yardstick. Before timing, one tiny ingest runs with Python's bytecode cache writable,
so every measured run starts as a user's second run does (modules already compiled), even where
PYTHONDONTWRITEBYTECODE is set. CPU seconds of the whole process tree are reported beside wall
time: on a shared machine they are the steadier figure. Sizes and worker counts are options:

    python -m benchmarks.bench_end_to_end [--sizes 5000 20000] [--workers 1 2]
        [--memory-sizes 100000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.bench_ingest import DEFAULT_SOURCE, REPO, run_child, write_scaled
from benchmarks.processes import descendants, rss_mib, tree_cpu_seconds
from pipeline.parallel import default_workers

log = logging.getLogger("benchmarks.bench_end_to_end")

# The log line that ends each stage, in the order the stages run.
STAGE_ENDS = (
    ("start-up", "ingesting the snapshot"),
    ("parse + extract + load", "(snapshot) completed"),  # extraction runs where parsing does
    ("extraction left over", "(re)extracted"),  # the extraction step: articles still unextracted
    ("clinic data", "clinic data"),
    ("registry", "registry run"),
    ("marts", "marts refreshed"),
)


@dataclass
class EndToEnd:
    """One run of the whole command."""

    records: int
    workers: int
    seconds: float
    peak_rss_mib: float  # the writer and its workers together, at the worst moment
    cpu_seconds: float = 0.0  # user + system time of the command and every process it started
    stages: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    stage_cpu: dict[str, float] = field(default_factory=dict)  # stage -> CPU seconds (tree)
    stage_peak_mib: dict[str, float] = field(default_factory=dict)  # stage -> peak RSS (tree)
    writer_peak_mib: float = 0.0  # the command's own process (it writes to DuckDB)
    worker_peak_mib: float = 0.0  # the largest of its worker processes, alone

    @property
    def per_second(self) -> float:
        return self.records / self.seconds


def _children_cpu_seconds() -> float:
    """User + system time of every child process waited for so far (and of their children)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def warm_bytecode(source: Path, workdir: Path) -> None:
    """One tiny ingest with the bytecode cache writable, so the timed runs do not compile."""
    xml = write_scaled(source, 12, workdir / "warm.xml")
    run_ingest(xml, workdir, 2, 12, write_bytecode=True)
    xml.unlink()


def run_ingest(
    xml: Path, workdir: Path, workers: int, records: int, *, write_bytecode: bool = False
) -> EndToEnd:
    """`python -m pipeline ingest --snapshot xml` on a fresh warehouse, timed from outside."""
    db = workdir / f"e2e_{records}_{workers}.duckdb"
    db.unlink(missing_ok=True)
    dropped = ("NCBI_EMAIL", "CLINIC_EXPORT", *(("PYTHONDONTWRITEBYTECODE",) * write_bytecode))
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["PIPELINE_CLINIC_KEY_FILE"] = str(workdir / "clinic.key")
    command = [
        sys.executable, "-m", "pipeline", "ingest", "--snapshot", str(xml), "--db", str(db),
        "--workers", str(workers),
    ]  # fmt: skip
    cpu_before = _children_cpu_seconds()
    started = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = writer_peak = worker_peak = 0.0
    stage_peaks: dict[str, float] = {}
    current = [STAGE_ENDS[0][0]]  # the stage running now, as the log says
    done = threading.Event()

    def measure(stage: str) -> None:
        """One sample of the tree's memory, counted in `stage`."""
        nonlocal peak, writer_peak, worker_peak
        writer = rss_mib(child.pid)
        workers_rss = [rss_mib(p) for p in descendants(child.pid)]
        total = writer + sum(workers_rss)
        peak = max(peak, total)
        writer_peak = max(writer_peak, writer)
        worker_peak = max(worker_peak, *workers_rss, 0.0)
        stage_peaks[stage] = max(stage_peaks.get(stage, 0.0), total)

    def sample() -> None:
        while not done.is_set():
            measure(current[0])
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    ends: dict[str, float] = {}
    cpu_at: dict[str, float] = {}
    tail: list[str] = []
    for raw in child.stderr:
        line = raw.decode("utf-8", "replace")
        tail = (tail + [line])[-20:]
        for stage, marker in STAGE_ENDS:
            if stage not in ends and marker in line and line.startswith("INFO"):
                ends[stage] = time.perf_counter() - started
                cpu_at[stage] = tree_cpu_seconds(child.pid)
                measure(stage)  # a stage shorter than the sampling interval is still seen
                current[0] = _next_stage(stage)
    child.wait()
    seconds = time.perf_counter() - started
    cpu_seconds = _children_cpu_seconds() - cpu_before
    done.set()
    sampler.join()
    db.unlink(missing_ok=True)
    if child.returncode != 0:
        raise SystemExit(f"the ingest of {records} records failed:\n{''.join(tail)}")
    stages, stage_cpu, previous, previous_cpu = {}, {}, 0.0, 0.0
    for stage, _ in STAGE_ENDS:
        if stage in ends:
            stages[stage] = ends[stage] - previous
            stage_cpu[stage] = cpu_at[stage] - previous_cpu
            previous, previous_cpu = ends[stage], cpu_at[stage]
    stages["the rest (exit)"] = seconds - previous
    stage_cpu["the rest (exit)"] = max(0.0, cpu_seconds - previous_cpu)
    return EndToEnd(
        records, workers, seconds, peak, cpu_seconds, stages, stage_cpu,
        {k: v for k, v in stage_peaks.items() if k in stages}, writer_peak, worker_peak,
    )  # fmt: skip


def _next_stage(ended: str) -> str:
    """The stage that runs after `ended` (the exit after the last one)."""
    names = [name for name, _ in STAGE_ENDS] + ["the rest (exit)"]
    return names[names.index(ended) + 1]


def report(
    runs: list[EndToEnd],
    entrez: dict[int, float],
    load: tuple[float, float],
    cores: int,
    entrez_cpu: dict[int, float] | None = None,
) -> str:
    """The table, the ratios against Entrez.read, the scaling, the stage shares and memory."""
    lines = [
        "End to end: python -m pipeline ingest --snapshot FILE (fresh warehouse; extraction, "
        "clinic data, registry and marts included)",
        f"{cores} cores; load average {load[0]:.1f} before, {load[1]:.1f} after "
        "(other work on the machine slows every figure)",
        "",
        f"{'records':>8} {'workers':>7} {'wall s':>7} {'CPU s':>7} {'records/s':>9} "
        f"{'vs Entrez.read':>14} {'peak MiB':>8}",
    ]
    for r in runs:
        ratio = (
            f"{entrez[r.records] / r.seconds:.2f}x" if r.records in entrez else "-"
        )  # Entrez.read's seconds over ours: how many times faster we are
        lines.append(
            f"{r.records:>8,} {r.workers:>7} {r.seconds:>7.1f} {r.cpu_seconds:>7.1f} "
            f"{r.per_second:>9,.0f} {ratio:>14} {r.peak_rss_mib:>8.0f}"
        )
    lines.append("")
    for size, seconds in sorted(entrez.items()):
        cpu = (entrez_cpu or {}).get(size)
        lines.append(
            f"Bio.Entrez.read alone, {size:,} records: {seconds:.1f} s ({size / seconds:,.0f}/s)"
            + (f", {cpu:.1f} CPU s" if cpu is not None else "")
        )
    for r in runs:
        cpu = (entrez_cpu or {}).get(r.records)
        if cpu and r.cpu_seconds:
            lines.append(
                f"CPU time at {r.records:,} records, {r.workers} workers: {r.cpu_seconds:.1f} s "
                f"for the whole process tree, Entrez.read's over ours {cpu / r.cpu_seconds:.2f}x"
            )
    by_key = {(r.records, r.workers): r for r in runs}
    for (size, workers), r in sorted(by_key.items()):
        one = by_key.get((size, 1))
        if workers > 1 and one is not None:
            lines.append(
                f"scaling at {size:,} records: {workers} workers {one.seconds / r.seconds:.2f}x "
                "the speed of 1"
            )
    lines.append("")
    for r in runs:
        shares = ", ".join(
            f"{stage} {seconds:.1f} s ({100 * seconds / r.seconds:.0f}%"
            + (f", {r.stage_cpu[stage]:.1f} CPU s)" if stage in r.stage_cpu else ")")
            for stage, seconds in r.stages.items()
        )
        lines.append(f"{r.records:,} records, {r.workers} workers: {shares}")
    lines.append("")
    for r in runs:
        peaks = ", ".join(f"{stage} {mib:.0f}" for stage, mib in r.stage_peak_mib.items())
        lines.append(
            f"peak MiB at {r.records:,} records, {r.workers} workers: "
            f"writer {r.writer_peak_mib:.0f}, largest worker {r.worker_peak_mib:.0f}; "
            f"whole tree per stage: {peaks}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_end_to_end", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 20_000])
    parser.add_argument(
        "--workers", type=int, nargs="+", default=sorted({1, default_workers()}),
        help="worker counts measured at the smallest size (the others use the default)",
    )  # fmt: skip
    parser.add_argument(
        "--memory-sizes", type=int, nargs="*", default=[],
        help="further sizes run with the default workers, for peak memory (e.g. 100000)",
    )  # fmt: skip
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    cores = default_workers()
    load_before = os.getloadavg()[0]
    runs: list[EndToEnd] = []
    entrez: dict[int, float] = {}
    entrez_cpu: dict[int, float] = {}
    smallest = min(args.sizes)
    with tempfile.TemporaryDirectory(prefix="bench_e2e_") as tmp:
        workdir = Path(tmp)
        warm_bytecode(args.source, workdir)
        for size in sorted({*args.sizes, *args.memory_sizes}):
            xml = write_scaled(args.source, size, workdir / f"pubmed_{size}.xml")
            if size in args.sizes:
                log.info("Bio.Entrez.read on %s records", f"{size:,}")
                yardstick = run_child("entrez", xml, None, 500)
                entrez[size], entrez_cpu[size] = yardstick.seconds, yardstick.cpu_seconds
                log.info(
                    "Bio.Entrez.read, %s records: %.1f s (%.1f CPU s)",
                    f"{size:,}", entrez[size], entrez_cpu[size],
                )  # fmt: skip
            counts = args.workers if size == smallest else [cores]
            for workers in counts:
                log.info("ingest --snapshot of %s records, %d workers", f"{size:,}", workers)
                runs.append(run_ingest(xml, workdir, workers, size))
                log.info(  # said as it comes, so a run stopped early still leaves its numbers
                    "%s records, %d workers: %.1f s (%.1f CPU s), peak %.0f MiB (writer %.0f, "
                    "largest worker %.0f), load average %.1f; %s",
                    f"{size:,}", workers, runs[-1].seconds, runs[-1].cpu_seconds,
                    runs[-1].peak_rss_mib, runs[-1].writer_peak_mib, runs[-1].worker_peak_mib,
                    os.getloadavg()[0],
                    ", ".join(
                        f"{k} {v:.1f} s ({runs[-1].stage_cpu.get(k, 0):.1f} CPU s, "
                        f"peak {runs[-1].stage_peak_mib.get(k, 0):.0f} MiB)"
                        for k, v in runs[-1].stages.items()
                    ),
                )  # fmt: skip
            xml.unlink()
    load = (load_before, os.getloadavg()[0])
    print(report(runs, entrez, load, cores, entrez_cpu))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "runs": [asdict(r) for r in runs],
                    "entrez_seconds": entrez,
                    "entrez_cpu_seconds": entrez_cpu,
                },
                indent=2,
            ),  # fmt: skip
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
