"""Live ingest benchmark: `python -m pipeline ingest --live` against the fake E-utilities server.

The bench starts the fake server of the tests (tests/fake_eutils.py) on 127.0.0.1 with N records
(the real efetch records renumbered) and a latency per request, points EUTILS_BASE_URL at it, and
times the whole command as a user runs it (search, fetch and load, extraction, marts), without
and with an API key. Beside each wall time it prints the rate-limit floor (requests sent x the
interval NCBI allows: 1/3 s, 0.1 s with a key) and the ratio. What else can bind is measured
alone: the same ingest and post-ingest steps with the network made free (no latency, no rate
limit), in a fresh process against a fresh warehouse. The larger of the two is the bound no
run can beat; the report says which one binds.

    python -m benchmarks.bench_live [--records 20000] [--batch-size 500] [--latency 0.3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from benchmarks.bench_ingest import REPO

sys.path.insert(0, str(REPO / "tests"))  # the fake server the tests use
import fake_ctgov  # noqa: E402
import fake_eutils  # noqa: E402

RECORDS_DIR = REPO / "pipeline" / "data" / "snapshot"
FIRST_EDAT = date(1960, 1, 1)  # one record a day from here: all entered before today
EMAIL = "bench@example.org"
API_KEY = "bench-key"


@dataclass
class LiveRun:
    """One measured run of the command."""

    label: str
    seconds: float  # the whole command, timed from outside
    fetch_seconds: float  # search, fetch and load (the run's own start and end in core.runs)
    requests: int
    esearches: int
    interval: float  # seconds between request starts the rate limit allows
    most_in_flight: int
    cpu_seconds: float = 0.0  # user + system time of the command and its worker processes

    @property
    def floor(self) -> float:
        return self.requests * self.interval


def fake_server(records: int, latency: float) -> fake_eutils.FakeEutils:
    fake = fake_eutils.FakeEutils(fake_eutils.real_articles(RECORDS_DIR), latency=latency)
    fake.add_records(records, edat=FIRST_EDAT)
    return fake


# The registry step of a live run asks ClinicalTrials.gov: the tests' fake answers it here.
CTGOV_URL: str | None = None


def _environment(url: str, api_key: str | None, folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NCBI_API_KEY", "CLINIC_EXPORT")}
    env.update(
        NCBI_EMAIL=EMAIL, EUTILS_BASE_URL=url, CTGOV_BASE_URL=CTGOV_URL or "",
        PIPELINE_CLINIC_KEY_FILE=str(folder / "clinic.key"),
    )  # fmt: skip
    if api_key:
        env["NCBI_API_KEY"] = api_key
    return env


def _ingest_seconds(db: Path) -> float:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        started, finished = con.execute(
            "SELECT started_at, finished_at FROM core.runs WHERE mode = 'live'"
        ).fetchone()
    return (finished - started).total_seconds()


def run_live(records: int, batch_size: int, latency: float, api_key: str | None) -> LiveRun:
    """The whole `ingest --live` command against a fresh fake server and warehouse."""
    fake = fake_server(records, latency)
    with tempfile.TemporaryDirectory() as tmp, fake_eutils.serve(fake) as url:
        folder = Path(tmp)
        db = folder / "w.duckdb"
        command = [sys.executable, "-m", "pipeline", "ingest", "--live",
                   "--batch-size", str(batch_size), "--db", str(db)]  # fmt: skip
        began, cpu_before = time.perf_counter(), _children_cpu_seconds()
        done = subprocess.run(
            command, cwd=REPO, env=_environment(url, api_key, folder),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False,
        )  # fmt: skip
        seconds = time.perf_counter() - began
        cpu_seconds = _children_cpu_seconds() - cpu_before
        if done.returncode != 0:
            raise SystemExit(f"the live ingest failed (exit {done.returncode}):\n{done.stderr}")
        fetch_seconds = _ingest_seconds(db)
    return LiveRun(
        "with API key" if api_key else "no API key", seconds, fetch_seconds,
        requests=len(fake.requests), esearches=len(fake.calls("esearch")),
        interval=0.1 if api_key else 1 / 3, most_in_flight=fake.most_in_flight,
        cpu_seconds=cpu_seconds,
    )  # fmt: skip


def _children_cpu_seconds() -> float:
    """User + system time of the ended child processes (and theirs), as the kernel counts it."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_processing_only(records: int, batch_size: int) -> dict[str, float]:
    """The same ingest and post-ingest steps in a fresh process, the network made free."""
    fake = fake_server(records, 0.0)
    with tempfile.TemporaryDirectory() as tmp, fake_eutils.serve(fake) as url:
        folder = Path(tmp)
        command = [sys.executable, "-m", "benchmarks.bench_live", "--processing-child",
                   "--base-url", url, "--db", str(folder / "w.duckdb"),
                   "--batch-size", str(batch_size)]  # fmt: skip
        cpu_before = _children_cpu_seconds()
        done = subprocess.run(
            command, cwd=REPO, env=_environment(url, None, folder), capture_output=True,
            text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"the processing-only run failed:\n{done.stderr}")
        times = json.loads(done.stdout.strip().splitlines()[-1])
        return {**times, "cpu": _children_cpu_seconds() - cpu_before}


def processing_child(base_url: str, db: Path, batch_size: int) -> None:
    """In the child: ingest_live with no rate limit, then the post-ingest steps; print times.

    The run is the command's but for the network: the same worker processes (as many as
    cores, the default of `--workers`) and the same batches fetched and parsed ahead."""
    from pipeline import ingest, post_ingest, warehouse
    from pipeline.parallel import default_workers
    from pipeline.sources.entrez import EntrezClient, EntrezPolicy

    began = time.perf_counter()
    workers = default_workers()
    con = warehouse.connect(db)
    client = EntrezClient(EntrezPolicy(email=EMAIL, base_url=base_url, request_interval=0.0))
    ingest.ingest_live(con, client, query=ingest.default_query(), batch_size=batch_size,
                       progress=False, fetch_ahead=ingest.FETCH_AHEAD,
                       workers=workers)  # fmt: skip
    client.close()
    loaded = time.perf_counter()
    post_ingest.run_post_ingest_steps(con, post_ingest.POST_INGEST_STEPS, workers=workers)
    con.close()
    ended = time.perf_counter()
    print(json.dumps({"load": loaded - began, "post": ended - loaded, "total": ended - began}))


def report(
    records: int, batch_size: int, latency: float, runs: list[LiveRun], alone: dict[str, float]
) -> str:
    lines = [
        f"live ingest of {records} records, {batch_size} per efetch, {latency * 1000:.0f} ms per "
        f"request (fake E-utilities on 127.0.0.1, `python -m pipeline ingest --live`)",
        f"our processing alone (network free: parse + load {alone['load']:.1f} s, extraction, "
        f"clinic, registry and marts {alone['post']:.1f} s): {alone['total']:.1f} s"
        + (f", {alone['cpu']:.1f} s of CPU" if "cpu" in alone else ""),
        "",
        f"{'':14} {'requests':>8} {'floor':>8} {'wall':>8} {'wall/floor':>10} "
        f"{'bound':>8} {'wall/bound':>10} {'fetch+load':>10} {'in flight':>9} {'CPU':>8}  binds",
    ]
    for run in runs:
        bound = max(run.floor, alone["total"])
        binds = "the rate limit" if run.floor >= alone["total"] else "our processing"
        lines.append(
            f"{run.label:14} {run.requests:>8} {run.floor:>7.1f}s {run.seconds:>7.1f}s "
            f"{run.seconds / run.floor:>9.2f}x {bound:>7.1f}s {run.seconds / bound:>9.2f}x "
            f"{run.fetch_seconds:>9.1f}s {run.most_in_flight:>9} {run.cpu_seconds:>7.1f}s  {binds}"
        )
    lines += [
        "",
        "floor = requests x the interval NCBI allows (1/3 s; 0.1 s with a key); bound = the larger",
        "of the floor and our processing alone; fetch+load = the ingest run itself (core.runs),",
        "with the extraction done as articles load; CPU = user + system time of the command and",
        f"its worker processes; {runs[0].esearches} of the requests are esearch pages, which run",
        "one after the other (each split of the search depends on the count the last returned).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.3, help="seconds per request")
    parser.add_argument("--processing-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.processing_child:
        processing_child(args.base_url, args.db, args.batch_size)
        return 0
    global CTGOV_URL
    with fake_ctgov.serve(fake_ctgov.FakeCtgov(fake_ctgov.real_outcome_measures())) as CTGOV_URL:
        alone = run_processing_only(args.records, args.batch_size)
        runs = [
            run_live(args.records, args.batch_size, args.latency, api_key)
            for api_key in (None, API_KEY)
        ]
    print(report(args.records, args.batch_size, args.latency, runs, alone))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
