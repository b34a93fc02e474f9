"""Ingest benchmark: streaming parse + DuckDB load against Bio.Entrez.read, on real PubMed XML.

The real efetch response (3 articles) is repeated to N articles with fresh PMIDs and written
to a temporary file. Each measurement runs in its own Python process, so its peak resident
memory (ru_maxrss) is its own: parse + load into a fresh DuckDB in batches, the parser alone,
and `Bio.Entrez.read` alone on the same file; parse + load runs again at a larger size, and
with tracemalloc at two sizes, to show how memory follows the input. `make bench` runs it:

    python -m benchmarks.bench_ingest [--articles 20000] [--memory-sizes 10000]
        [--heap-sizes 1000 3000] [--batch-size 500]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from tqdm import tqdm

log = logging.getLogger("benchmarks.bench_ingest")

REPO = Path(__file__).resolve().parent.parent
# The real efetch response bundled with the offline snapshot (a copy of the shared record).
DEFAULT_SOURCE = REPO / "pipeline" / "data" / "snapshot" / "efetch_sample.xml"
FIRST_PMID = 90_000_001
MEASUREMENTS = ("parse+load", "parse", "entrez", "heap")
LABELS = {
    "parse+load": "parse + load (streaming)",
    "parse": "parse only (streaming)",
    "entrez": "Bio.Entrez.read (parse only)",
    "heap": "parse + load under tracemalloc",
}


@dataclass
class Result:
    """One measurement, as the child process reports it."""

    measurement: str
    articles: int
    seconds: float  # wall clock
    cpu_seconds: float  # user + system time of the process (all its threads)
    start_rss_mib: float  # after imports, before reading the file
    peak_rss_mib: float  # ru_maxrss over the whole process
    python_heap_peak_mib: float | None = None  # tracemalloc peak (the "heap" measurement)

    @property
    def per_second(self) -> float:
        return self.articles / self.seconds if self.seconds else float("inf")

    @property
    def per_cpu_second(self) -> float:
        """Records per CPU-second: steadier than wall time when other work shares the cores."""
        return self.articles / self.cpu_seconds if self.cpu_seconds else float("inf")


# --- the scaled input ---------------------------------------------------------------------------


def source_records(source: Path) -> tuple[bytes, list[bytes]]:
    """The prolog (up to and including <PubmedArticleSet>) and each record's bytes."""
    from pipeline.parse import iter_record_bytes

    data = source.read_bytes()
    opening = re.search(rb"<PubmedArticleSet[^>]*>", data)
    if opening is None:
        raise SystemExit(f"{source} is not a PubmedArticleSet")
    with source.open("rb") as stream:
        records = list(iter_record_bytes(stream))
    if not records:
        raise SystemExit(f"{source} holds no PubmedArticle")
    return data[: opening.end()], records


def renumbered(record: bytes, new_pmid: int) -> bytes:
    """The record with its own PMID (MedlineCitation and ArticleIdList) replaced."""
    own = re.search(rb"<PMID[^>]*>(\d+)</PMID>", record)
    if own is None:
        raise SystemExit("a source record without PMID")
    old, new = own[1], str(new_pmid).encode()
    out = record[: own.start(1)] + new + record[own.end(1) :]
    return out.replace(
        b'<ArticleId IdType="pubmed">' + old + b"</ArticleId>",
        b'<ArticleId IdType="pubmed">' + new + b"</ArticleId>",
        1,
    )


def write_scaled(source: Path, articles: int, path: Path) -> Path:
    """Write an efetch-style response of `articles` records cycled from `source`, new PMIDs."""
    prolog, records = source_records(source)
    with path.open("wb") as out:
        out.write(prolog + b"\n")
        for i in range(articles):
            out.write(renumbered(records[i % len(records)], FIRST_PMID + i) + b"\n")
        out.write(b"</PubmedArticleSet>\n")
    return path


# --- measurements (each in a child process) -----------------------------------------------------


def _rss_mib() -> float:
    """Current resident memory of this process (Linux /proc), MiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _batches(items: Iterator, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _parse_and_load(xml: Path, db: Path, batch_size: int, memory_limit: str | None) -> int:
    """Stream the file through the parser into a fresh warehouse, batch by batch."""
    from pipeline import warehouse
    from pipeline.models import Quarantined
    from pipeline.parse import parse_pubmed_xml

    count = 0
    con = warehouse.connect(db)
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    with xml.open("rb") as stream, tqdm(unit=" articles", file=sys.stderr, leave=False) as bar:
        for batch in _batches(parse_pubmed_xml(stream, "snapshot"), batch_size):
            good = [item for item in batch if not isinstance(item, Quarantined)]
            bad = [item for item in batch if isinstance(item, Quarantined)]
            warehouse.load_batch(
                con,
                [item.article for item in good],
                [item.raw for item in good],
                run_id="bench",
                quarantined=bad,
            )
            count += len(batch)
            bar.update(len(batch))
    ((stored,),) = con.execute("SELECT count(*) FROM core.articles").fetchall()
    con.close()
    if stored != count:
        raise SystemExit(f"{count} articles parsed but {stored} stored")
    return count


def measure(
    measurement: str,
    xml: Path,
    db: Path | None,
    batch_size: int,
    memory_limit: str | None = None,
) -> Result:
    """Run one measurement in this process and return its time and memory."""
    from Bio import Entrez

    from pipeline import warehouse  # noqa: F401 - imported here so start_rss counts DuckDB
    from pipeline.parse import parse_pubmed_xml

    if measurement not in MEASUREMENTS:
        raise SystemExit(f"unknown measurement {measurement!r}")
    start_rss = _rss_mib()
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    count = 0
    heap_peak = None
    if measurement == "entrez":
        with xml.open("rb") as stream:
            count = len(Entrez.read(stream)["PubmedArticle"])
    elif measurement == "parse":
        with xml.open("rb") as stream:
            for _ in parse_pubmed_xml(stream, "snapshot"):
                count += 1
    elif measurement == "parse+load":
        count = _parse_and_load(xml, db, batch_size, memory_limit)
    else:  # heap: the same, with every Python allocation traced
        tracemalloc.start()
        count = _parse_and_load(xml, db, batch_size, memory_limit)
        heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    seconds, cpu_seconds = time.perf_counter() - started, _cpu_seconds() - cpu_started
    return Result(measurement, count, seconds, cpu_seconds, start_rss, _peak_rss_mib(), heap_peak)


def run_child(
    measurement: str,
    xml: Path,
    db: Path | None,
    batch_size: int,
    memory_limit: str | None = None,
) -> Result:
    """Run one measurement in a fresh interpreter (its own peak memory) and read its result."""
    command = [
        sys.executable, "-m", "benchmarks.bench_ingest", "--measure", measurement,
        "--xml", str(xml), "--batch-size", str(batch_size),
    ]  # fmt: skip
    if db is not None:
        command += ["--db", str(db)]
    if memory_limit:
        command += ["--duckdb-memory-limit", memory_limit]
    done = subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {measurement} measurement failed (exit {done.returncode})")
    return Result(**json.loads(done.stdout.strip().splitlines()[-1]))


# --- the report -------------------------------------------------------------------------------


def report(
    results: list[Result],
    batch_size: int,
    source: Path,
    load_average: tuple[float, float] | None = None,
    memory_limit: str | None = None,
) -> str:
    """A small plain-text table, the speed ratios, and memory against input size."""
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("lxml", "duckdb", "biopython", "pyarrow")
    )
    lines = [
        f"Ingest benchmark: {source.name} cycled to N articles (PMIDs renumbered), "
        f"DuckDB load in batches of {batch_size}"
        + (f", DuckDB memory_limit {memory_limit}" if memory_limit else ""),
        f"Python {platform.python_version()}, {versions}, {os.cpu_count()} CPUs"
        + (
            f"; load average {load_average[0]:.1f} before, {load_average[1]:.1f} after"
            if load_average
            else ""
        ),
        "",
        f"{'measurement':<30} {'articles':>9} {'wall s':>7} {'records/s':>10} {'CPU s':>7} "
        f"{'rec/CPU-s':>10} {'start MiB':>10} {'peak MiB':>9}",
    ]
    for r in results:
        lines.append(
            f"{LABELS[r.measurement]:<30} {r.articles:>9,} {r.seconds:>7.1f} "
            f"{r.per_second:>10,.0f} {r.cpu_seconds:>7.1f} {r.per_cpu_second:>10,.0f} "
            f"{r.start_rss_mib:>10.0f} {r.peak_rss_mib:>9.0f}"
        )
    entrez = next((r for r in results if r.measurement == "entrez"), None)
    if entrez:
        lines.append("")
        for r in results:
            if r.measurement in ("parse+load", "parse") and r.articles == entrez.articles:
                lines.append(
                    f"{LABELS[r.measurement]} / Entrez.read: "
                    f"{r.per_second / entrez.per_second:.2f}x the records per second, "
                    f"{r.per_cpu_second / entrez.per_cpu_second:.2f}x per CPU-second"
                )
    loads = sorted((r for r in results if r.measurement == "parse+load"), key=lambda r: r.articles)
    if len(loads) >= 2:
        small, large = loads[0], loads[-1]
        lines.append(
            f"parse + load peak memory: {small.peak_rss_mib:.0f} MiB at {small.articles:,} "
            f"articles, {large.peak_rss_mib:.0f} MiB at {large.articles:,} "
            f"({large.articles / small.articles:.1f}x the input, "
            f"{large.peak_rss_mib - small.peak_rss_mib:+.0f} MiB; DuckDB's block cache and "
            "indexes, bounded by its memory_limit)"
        )
    heaps = sorted((r for r in results if r.measurement == "heap"), key=lambda r: r.articles)
    if heaps:
        lines.append(
            "Python heap peak during parse + load (tracemalloc): "
            + ", ".join(f"{r.python_heap_peak_mib:.0f} MiB at {r.articles:,}" for r in heaps)
            + " articles"
        )
    parse_only = next((r for r in results if r.measurement == "parse"), None)
    if parse_only:
        growth = parse_only.peak_rss_mib - parse_only.start_rss_mib
        lines.append(
            f"parse only peak memory: {parse_only.peak_rss_mib:.0f} MiB for "
            f"{parse_only.articles:,} articles ({growth:+.0f} MiB over the interpreter with its "
            "libraries loaded)"
        )
    return "\n".join(lines)


def run_benchmark(
    articles: int,
    memory_sizes: list[int],
    batch_size: int,
    source: Path,
    workdir: Path,
    heap_sizes: Sequence[int] = (),
    memory_limit: str | None = None,
) -> list[Result]:
    """Every measurement: parse + load, parse alone and Entrez.read at `articles`, parse + load
    at the other sizes (memory), and parse + load with tracemalloc at `heap_sizes`."""
    results = []
    sizes = sorted({articles, *memory_sizes, *heap_sizes})
    for size in sizes:
        xml = workdir / f"pubmed_{size}.xml"
        log.info("writing %s articles to %s", f"{size:,}", xml)
        write_scaled(source, size, xml)
        plan = ["parse+load", "parse", "entrez"] if size == articles else []
        if size in memory_sizes and size != articles:
            plan.append("parse+load")
        if size in heap_sizes:
            plan.append("heap")
        for measurement in plan:
            log.info("measuring %s on %s articles", LABELS[measurement], f"{size:,}")
            db = workdir / f"bench_{size}.duckdb" if measurement in ("parse+load", "heap") else None
            results.append(run_child(measurement, xml, db, batch_size, memory_limit))
            if db is not None:
                db.unlink(missing_ok=True)
        xml.unlink()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_ingest", description=__doc__)
    parser.add_argument("--articles", type=int, default=20_000, help="size for the speed ratio")
    parser.add_argument(
        "--memory-sizes", type=int, nargs="*", default=[10_000],
        help="further sizes measured for parse + load (memory against input size)",
    )  # fmt: skip
    parser.add_argument(
        "--heap-sizes", type=int, nargs="*", default=[1_000, 3_000],
        help="sizes at which parse + load runs again with tracemalloc (Python heap peak)",
    )  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--source", type=Path, default=DEFAULT_SOURCE, help="a real efetch XML file"
    )
    parser.add_argument(
        "--duckdb-memory-limit",
        help="SET memory_limit for the loads, e.g. 256MB (DuckDB's default is 80%% of RAM)",
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--measure", choices=MEASUREMENTS, help=argparse.SUPPRESS)
    parser.add_argument("--xml", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    if args.measure:  # the child process
        result = measure(args.measure, args.xml, args.db, args.batch_size, args.duckdb_memory_limit)
        print(json.dumps(asdict(result)))
        return 0

    if not args.source.is_file():
        raise SystemExit(f"no source XML at {args.source} (use --source)")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        results = run_benchmark(
            args.articles,
            args.memory_sizes,
            args.batch_size,
            args.source,
            Path(tmp),
            args.heap_sizes,
            args.duckdb_memory_limit,
        )
    load_average = (load_before, os.getloadavg()[0])
    print(report(results, args.batch_size, args.source, load_average, args.duckdb_memory_limit))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
