"""Extraction benchmark: precision and recall on the annotated sets, and speed.

Scores `pipeline.extract.extract_text` against the development set and the held-out set, each in
its own table; the abstracts come from the
real PubMed records bundled in pipeline/data/snapshot. The development set is two files
scored together as one set: tests/data/extraction/annotations.jsonl (the rules were written
against it from the start) and development_2.jsonl (held out until extractor 1.4.0, tuned on
since). The held-out set, tests/data/extraction/heldout.jsonl, is never used to write rules; it
holds reviews and other records with no effect, so every effect extracted there is a false
positive. Then times the extractor on every abstract there, repeated, on one core.
`make bench-extract` runs it:

    python -m benchmarks.bench_extract [--set dev|heldout|all] [--repeat 10] [--rounds 5]
        [--mismatches] [--pubmed DIR]

Only the aggregate table is printed for the held-out set (`--mismatches` lists the development
set's), so that nobody tunes a rule on it.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.extract import EXTRACTOR_VERSION, effect_to_json
from pipeline.extract.numbers import MINUS_CHARS
from pipeline.extract.scoring import (
    Score,
    extract_record,
    kinds_summary,
    load_annotations,
    load_source_records,
    match_effects,
    score,
)
from pipeline.extract.sentences import split_sentences

log = logging.getLogger("benchmarks.bench_extract")

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PUBMED = REPO / "pipeline" / "data" / "snapshot"
ANNOTATION_DIR = REPO / "tests" / "data" / "extraction"
# Each set is one or more annotation files, scored together as one table.
# The record pool: real PubMed records of many treatments, annotated blind (tests/data/pubmed_pool).
POOL_RECORDS = REPO / "tests" / "data" / "pubmed_pool" / "records.jsonl"
SETS: dict[str, tuple[Path, ...]] = {
    "dev": (ANNOTATION_DIR / "annotations.jsonl", ANNOTATION_DIR / "development_2.jsonl"),
    "heldout": (ANNOTATION_DIR / "heldout.jsonl",),
    "tuning": (ANNOTATION_DIR / "pool_tuning.jsonl",),
    "untouched": (ANNOTATION_DIR / "pool_untouched.jsonl",),
    "fresh": (ANNOTATION_DIR / "pool_fresh.jsonl",),
    "blind3": (ANNOTATION_DIR / "pool_blind_3_kept.jsonl",),
    "blind3-tuning": (ANNOTATION_DIR / "pool_blind_3_tuning.jsonl",),
    "blind4": (ANNOTATION_DIR / "pool_blind_4.jsonl",),
}
TITLES = {
    "dev": "development set",
    "heldout": "held-out set",
    "tuning": "pool tuning set",
    "untouched": "pool untouched set (never tuned on)",
    "fresh": (
        "pool fresh set (second blind draw; scored blind with 1.7.0 and 1.8.0, tuned on from 1.9.0)"
    ),
    "blind3": "pool third blind draw, kept half (never tuned on)",
    "blind3-tuning": "pool third blind draw, tuning half (tuned on from 1.10.0)",
    "blind4": "pool fourth blind draw (never tuned on)",
}
# Sets whose misses may be listed: a rule is never written from the others.
TUNABLE = ("dev", "tuning", "fresh", "blind3-tuning")


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


_WORD_RE = re.compile(r"\w+")


def measure_reference(records: list, repeat: int) -> float:
    """CPU seconds for a reference pass over the same abstracts: sentence splitting and a word
    scan, the least any extractor does. Timed beside the extractor, round by round, so that the
    ratio of the two shows the extractor's cost apart from how fast the machine is that minute."""
    start = time.process_time()
    for _ in range(repeat):
        for record in records:
            split_sentences(record.abstract)
            _WORD_RE.findall(record.abstract)
    return time.process_time() - start


def shown(path: Path) -> str:
    """The path as printed: relative to the repository when it is inside it."""
    return str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


def score_set(name: str, records: dict) -> Score | None:
    """Score one annotated set, all its files together, and print its aggregate table (None when
    a file is missing or cannot be read)."""
    paths = SETS[name]
    print(f"\n=== {TITLES[name]} ({' + '.join(shown(path) for path in paths)}) ===")
    missing = [shown(path) for path in paths if not path.is_file()]
    if missing:
        print(f"not present yet: nothing to score ({', '.join(missing)} missing)")
        return None
    try:
        annotations = [annotation for path in paths for annotation in load_annotations(path)]
        result = score(annotations, records)
    except PipelineError as error:
        print(f"cannot score it: {error}")
        return None
    print(f"annotated effects by kind: {dict(sorted(kinds_summary(annotations).items()))}")
    print(result.table())
    print(structure_checks(annotations, records))
    return result


_DOSE_NUMBER_RE = re.compile(r"(?<![\d.·])(\d*[.·]?\d+)\s?-?(mg/kg|µg/kg|mcg/kg|mg|µg|mcg|g)\b")
_QUOTE_NUMBER_RE = re.compile(
    rf"[{MINUS_CHARS}]?\s?(?:\d{{1,3}}(?:,\d{{3}})+(?:[.·]\d+)?(?![\d.])|\d+(?:[.·]\d+)?|[.·]\d+)"
)


def _written_numbers(text: str) -> set[float]:
    """Every number written in `text`, as written (minus signs of every kind, "·" as a point,
    thousands separators as in "2,257.80")."""
    found = set()
    for match in _QUOTE_NUMBER_RE.finditer(text):
        written = re.sub(rf"[{MINUS_CHARS}]\s?", "-", match.group()).replace("·", ".")
        written = written.replace(",", "")
        found.add(float(written))
    return found


def _annotated_dose(words: str | None) -> tuple[float, str] | None:
    """(number, unit) of the one dose an annotation writes, None when it gives none or several."""
    found = _DOSE_NUMBER_RE.findall(words or "")
    if len(found) != 1:
        return None
    number, unit = found[0]
    return float(number.replace("·", ".")), unit.replace("mcg", "µg")


def _from_counts(effect) -> bool:
    """Whether an effect's value is the contract's 100 x events / total of its counts."""
    if not effect.n_events or not effect.n_total:
        return effect.rule == "rate_from_counts"
    return abs(effect.value - 100 * effect.n_events / effect.n_total) < 1e-9


def structure_checks(annotations: list[dict], records: dict) -> str:
    """Study structure on one set: values whose digits differ from their quote, arm doses that
    differ from their words, and on matched effects whose annotation gives a dose, whether the
    extracted arm's dose is that dose."""
    values = values_off = doses = doses_off = 0
    agree = wrong = missing = 0
    for annotation in annotations:
        record = records.get(annotation["pmid"])
        if record is None:
            continue
        result = extract_record(record)
        arms = {arm.arm_id: arm for arm in result.arms}
        for effect in result.effects:
            if effect.rule == "percent_in_words" or _from_counts(effect):
                continue  # a number written in words, or 100 x events / total (the contract)
            values += 1
            values_off += effect.value not in _written_numbers(effect.quote)
        for arm in result.arms:
            if arm.dose is not None:
                doses += 1
                written = _annotated_dose(arm.dose_text)
                doses_off += written is None or written[0] != arm.dose
        extracted = [effect_to_json(e) for e in result.effects]
        for i, j in match_effects(extracted, annotation.get("effects", [])):
            want = _annotated_dose(annotation["effects"][j].get("dose"))
            if want is None:
                continue
            arm = arms.get(result.effects[i].arm_id)
            if arm is None or arm.dose is None:
                missing += 1
            elif (arm.dose, arm.dose_unit) == want:
                agree += 1
            else:
                wrong += 1
    return (
        f"\nstudy structure          checked  differ\n"
        f"values vs their quote    {values:7d} {values_off:7d}\n"
        f"arm doses vs their words {doses:7d} {doses_off:7d}\n"
        f"dose on matched effects: {agree} exact, {wrong} wrong, {missing} not found "
        f"(of {agree + wrong + missing} annotated with a dose)"
    )


def print_mismatches(result: Score) -> None:
    """Every missed or extra effect, then every wrong or missing arm, timepoint and scale."""
    print("\nmismatches (missed = annotated, not extracted; extra = extracted, not annotated)")
    for m in result.mismatches:
        ci = f" [{m.ci_low}, {m.ci_high}]" if m.ci_low is not None else ""
        print(f"  {m.pmid} {m.side:<6} {m.kind:<16} {m.value}{ci}  {m.quote!r}")
    print("\nmatched effects whose arm, timepoint or scale is wrong or missing")
    for pmid, name, got, want, quote in result.attribute_mismatches:
        print(f"  {pmid} {name:<9} got {got!r:<40} want {want!r:<40} {quote!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pubmed", type=Path, default=DEFAULT_PUBMED, help="PubMed records folder")
    parser.add_argument(
        "--set",
        choices=(*SETS, "all"),
        default="all",
        dest="which",
        help="annotated set(s) to score: development (both its files together), held-out, the "
        "pool's tuning or untouched half, the pool's second blind draw (fresh), the third draw's "
        "kept and tuning halves (blind3, blind3-tuning), the fourth draw (blind4), or all (one "
        "table each)",
    )
    parser.add_argument(
        "--repeat", type=int, default=10, help="passes over the abstracts per round"
    )
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (the best is reported)")
    parser.add_argument(
        "--mismatches",
        action="store_true",
        help="list every missed/extra effect and every wrong or missing arm/timepoint/scale "
        "(development, pool tuning and pool fresh sets only)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says

    records = load_source_records(args.pubmed, extra_jsonl=[POOL_RECORDS])
    print(f"extractor {EXTRACTOR_VERSION}")
    names = tuple(SETS) if args.which == "all" else (args.which,)
    for name in names:
        result = score_set(name, records)
        if result is not None and name in TUNABLE and args.mismatches:
            print_mismatches(result)

    # Speed over the snapshot's abstracts, as in earlier versions, so that figures compare.
    pool = {
        record.pmid for record in load_source_records(REPO / "missing", [POOL_RECORDS]).values()
    }
    corpus = [record for pmid, record in records.items() if pmid not in pool]
    extract_record(corpus[0])  # warm the regex caches
    # Best of several rounds, as timeit does: the fastest round is the one least disturbed by
    # other processes on the machine; the median is printed beside it.
    # Rounds alternate with a reference pass, so that each ratio compares the two at one moment.
    paired = [
        (measure_speed(corpus, args.repeat)[1], measure_reference(corpus, args.repeat))
        for _ in range(args.rounds)
    ]
    rounds = sorted(extract for extract, _ in paired)
    ratios = sorted(extract / reference for extract, reference in paired)
    n, seconds = len(corpus) * args.repeat, rounds[0]
    median = rounds[len(rounds) // 2]
    characters = sum(len(r.abstract) for r in corpus) * args.repeat
    print(
        f"\nspeed: {n} abstracts ({len(corpus)} distinct x {args.repeat}) in {seconds:.2f} CPU s "
        f"on one core = {n / seconds:,.0f} abstracts/s ({characters / seconds / 1e6:.2f} M chars/s)"
        f"; best of {args.rounds} rounds, median round {n / median:,.0f} abstracts/s"
    )
    print(
        f"cost relative to a sentence split and word scan of the same abstracts, timed in turn: "
        f"{ratios[len(ratios) // 2]:.1f}x (median of {args.rounds} rounds; range "
        f"{ratios[0]:.1f}x-{ratios[-1]:.1f}x): the figure to compare between runs and machines"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
