"""Extraction benchmark: precision and recall on the annotated development set, and speed.

Scores `pipeline.extract.extract_text` against tests/data/extraction/annotations.jsonl (the
abstracts come from ../shared/data/pubmed), then times the extractor on every abstract there,
repeated, on one core. `make bench-extract` runs it:

    python -m benchmarks.bench_extract [--repeat 10] [--rounds 5] [--mismatches] [--pubmed DIR]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from pipeline.extract import EXTRACTOR_VERSION
from pipeline.extract.scoring import (
    extract_record,
    kinds_summary,
    load_annotations,
    load_source_records,
    score,
)

log = logging.getLogger("benchmarks.bench_extract")

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PUBMED = REPO.parent / "shared" / "data" / "pubmed"
DEFAULT_ANNOTATIONS = REPO / "tests" / "data" / "extraction" / "annotations.jsonl"


def measure_speed(records: list, repeat: int) -> tuple[int, float]:
    """(abstracts processed, CPU seconds) for `repeat` passes over `records` in this process.

    CPU time of this process, not wall time, so that other work on a shared machine does not
    count against the extractor.
    """
    start = time.process_time()
    for _ in range(repeat):
        for record in records:
            extract_record(record)
    return len(records) * repeat, time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pubmed", type=Path, default=DEFAULT_PUBMED, help="PubMed records folder")
    parser.add_argument("--annotations", type=Path, default=DEFAULT_ANNOTATIONS)
    parser.add_argument(
        "--repeat", type=int, default=10, help="passes over the abstracts per round"
    )
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (the best is reported)")
    parser.add_argument("--mismatches", action="store_true", help="list every missed/extra effect")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says

    records = load_source_records(args.pubmed)
    annotations = load_annotations(args.annotations)
    by_kind = dict(kinds_summary(annotations))
    print(f"extractor {EXTRACTOR_VERSION}; annotated effects by kind: {by_kind}")
    result = score(annotations, records)
    print(result.table())
    if args.mismatches:
        print("\nmismatches (missed = annotated, not extracted; extra = extracted, not annotated)")
        for m in result.mismatches:
            ci = f" [{m.ci_low}, {m.ci_high}]" if m.ci_low is not None else ""
            print(f"  {m.pmid} {m.side:<6} {m.kind:<16} {m.value}{ci}  {m.quote!r}")

    corpus = list(records.values())
    extract_record(corpus[0])  # warm the regex caches
    # Best of several rounds, as timeit does: the fastest round is the one least disturbed by
    # other processes on the machine; the median is printed beside it.
    rounds = sorted(measure_speed(corpus, args.repeat)[1] for _ in range(args.rounds))
    n, seconds = len(corpus) * args.repeat, rounds[0]
    median = rounds[len(rounds) // 2]
    characters = sum(len(r.abstract) for r in corpus) * args.repeat
    print(
        f"\nspeed: {n} abstracts ({len(corpus)} distinct x {args.repeat}) in {seconds:.2f} CPU s "
        f"on one core = {n / seconds:,.0f} abstracts/s ({characters / seconds / 1e6:.2f} M chars/s)"
        f"; best of {args.rounds} rounds, median round {n / median:,.0f} abstracts/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
