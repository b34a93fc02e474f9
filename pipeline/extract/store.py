"""The extraction stage in the warehouse: core.articles -> core.trial_facts, core.arms and
core.effects.

Only articles whose facts are missing, were made by an older extractor version, or were
computed from an older version of the record (checksum) are extracted again, so the stage is
cheap when nothing changed. Each batch is replaced in one transaction; an article the
extractor fails on is quarantined (stage "extract") and the others go on. An effect whose
numbers cannot be stored (a 330-digit percentage, a response rate over 100%) is quarantined
alone, with its span, its reason and its quote as payload, and the article's other rows load.

The functions that read or write the warehouse import pandas and DuckDB when they run: the
worker processes that extract (`extract_batch`, `extract_parsed`) import this module and need
neither (27 MB each instead of 124).
"""

from __future__ import annotations

import hashlib
import logging
import sys
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tqdm import tqdm

from pipeline.errors import PipelineError
from pipeline.extract import EXTRACTOR_VERSION, ExtractionResult, extract_text
from pipeline.models import Quarantined
from pipeline.parallel import ordered_map, worker_pool
from pipeline.parse import ParsedRecord

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

BATCH_SIZE = 500

TRIAL_FACTS_COLUMNS = [
    "pmid", "extractor_version", "article_checksum", "design", "drugs", "routes", "population",
    "comparator", "n_randomized", "arms", "scales", "dose", "schedule", "anaesthesia_or_pain",
    "extracted_at",
]  # fmt: skip
EFFECTS_COLUMNS = [
    "effect_id", "pmid", "extractor_version", "kind", "label", "value", "ci_low", "ci_high",
    "ci_level", "p", "p_operator", "se", "n_events", "n_total", "arm", "timepoint", "scale",
    "start_offset", "end_offset", "quote", "sentence", "sentence_start", "rule", "arm_id",
    "comparator_arm_id", "subgroup", "population", "timepoint_days", "direction", "extracted_at",
]  # fmt: skip
ARMS_COLUMNS = [
    "arm_id", "pmid", "extractor_version", "position", "label", "start_offset", "end_offset",
    "role", "drug", "dose", "dose_unit", "dose_text", "route", "schedule", "n_randomized",
    "n_analysed", "extracted_at",
]  # fmt: skip


# core.effects as other stages read it: the contract's names (`start`, `end` for the offsets).
EFFECTS_READ_SQL = """
    SELECT effect_id, pmid, extractor_version, kind, label, value, ci_low, ci_high, ci_level,
           p, p_operator, se, n_events, n_total, arm, timepoint, scale,
           start_offset AS "start", end_offset AS "end", quote, sentence, sentence_start,
           rule, arm_id, comparator_arm_id, subgroup, population, timepoint_days, direction
    FROM core.effects
"""
# core.arms as other stages read it: one row per arm, offsets as `start`, `end`.
ARMS_READ_SQL = """
    SELECT arm_id, pmid, position, label, start_offset AS "start", end_offset AS "end", role,
           drug, dose, dose_unit, dose_text, route, schedule, n_randomized, n_analysed
    FROM core.arms
"""


def read_arms(con) -> pd.DataFrame:
    """Every study arm, by PMID and position (empty when the warehouse has no core.arms)."""
    import pandas as pd

    from pipeline import warehouse

    if not warehouse.table_columns(con, "core.arms"):
        return pd.DataFrame(columns=[c if c[-7:] != "_offset" else c[:-7] for c in ARMS_COLUMNS])
    return con.execute(f"{ARMS_READ_SQL} ORDER BY pmid, position").df()


def read_effects(con, pmids: Sequence[str] | None = None) -> pd.DataFrame:
    """The extracted effects, ordered by PMID and position; only those of `pmids` when given."""
    import pandas as pd

    from pipeline import warehouse

    if not warehouse.table_columns(con, "core.effects"):
        raise PipelineError(
            "the warehouse has no core.effects table: run `python -m pipeline ingest` first"
        )
    where = "WHERE pmid IN (SELECT pmid FROM only_pmids)" if pmids is not None else ""
    only_pmids = pd.DataFrame({"pmid": pd.Series(list(pmids or ()), dtype=object)})  # noqa: F841
    return con.execute(
        f"{EFFECTS_READ_SQL} {where} ORDER BY pmid, start_offset, end_offset, kind, effect_id"
    ).df()


def effect_id(pmid: str, kind: str, start: int, end: int) -> str:
    """The identity of an effect: sha1 of 'pmid|kind|start|end', kept by a re-extraction."""
    return hashlib.sha1(f"{pmid}|{kind}|{int(start)}|{int(end)}".encode()).hexdigest()


def articles_to_extract(con, pmids: list[str] | None = None) -> list[str]:
    """PMIDs (in order) of articles with missing or stale trial facts."""
    import pandas as pd

    frame = pd.DataFrame({"pmid": list(pmids or [])})  # noqa: F841 - read by DuckDB
    only = "AND a.pmid IN (SELECT pmid FROM frame)" if pmids is not None else ""
    rows = con.execute(
        f"""
        SELECT a.pmid
        FROM core.articles a
        LEFT JOIN core.trial_facts t ON t.pmid = a.pmid
        WHERE (t.pmid IS NULL OR t.extractor_version <> ? OR t.article_checksum <> a.checksum)
        {only}
        ORDER BY a.pmid
        """,
        [EXTRACTOR_VERSION],
    ).fetchall()
    return [r[0] for r in rows]


def _batch_texts(con, pmids: list[str]) -> list[tuple[str, str, str, str]]:
    """(pmid, title, abstract, checksum) of these articles, in PMID order."""
    import pandas as pd

    frame = pd.DataFrame({"pmid": pmids})  # noqa: F841 - read by DuckDB
    return con.execute(
        "SELECT pmid, title, abstract, checksum FROM core.articles "
        "WHERE pmid IN (SELECT pmid FROM frame) ORDER BY pmid"
    ).fetchall()


def _record_terms(con, table: str, column: str, pmids: list[str]) -> dict[str, list[str]]:
    import pandas as pd

    frame = pd.DataFrame({"pmid": pmids})  # noqa: F841 - read by DuckDB
    where = "AND qualifier IS NULL" if table == "core.mesh_headings" else ""
    order = "position" if table == "core.mesh_headings" else column
    rows = con.execute(
        f"SELECT pmid, {column} FROM {table} WHERE pmid IN (SELECT pmid FROM frame) {where} "
        f"ORDER BY pmid, {order}"
    ).fetchall()
    terms: dict[str, list[str]] = defaultdict(list)
    for pmid, term in rows:
        terms[pmid].append(term)
    return terms


# core.trial_facts and core.effects hold counts and offsets as DuckDB INTEGER.
_INTEGER_MAX = 2**31 - 1


def _check_integers(pmid: str, what: str, *values: int | None) -> None:
    """PipelineError if a count or offset is beyond what an INTEGER column holds."""
    for value in values:
        if value is not None and not -_INTEGER_MAX - 1 <= value <= _INTEGER_MAX:
            raise PipelineError(f"PMID {pmid}: {what} {value} is too large for the warehouse")


def _rows(
    result: ExtractionResult, checksum: str, extracted_at
) -> tuple[tuple, list[tuple], list[tuple]]:
    trial = result.trial
    _check_integers(result.pmid, "the number randomized", trial.n_randomized)
    _check_integers(result.pmid, "an arm size", *(arm["n"] for arm in trial.arms))
    facts = (
        result.pmid, EXTRACTOR_VERSION, checksum, trial.design, trial.drug, trial.route,
        trial.population, trial.comparator, trial.n_randomized,
        [{"label": arm["label"], "n": arm["n"]} for arm in trial.arms] or None, trial.scales,
        trial.dose, trial.schedule, trial.anaesthesia_or_pain, extracted_at,
    )  # fmt: skip
    effects = {}
    for e in result.effects:
        key = effect_id(result.pmid, e.kind, e.start, e.end)
        if key in effects:
            log.debug(
                "PMID %s: a second %s at %d-%d kept once", result.pmid, e.kind, e.start, e.end
            )
            continue
        _check_integers(result.pmid, f"a {e.kind} count or offset", e.n_events, e.n_total, e.end)
        effects[key] = (
            key, result.pmid, EXTRACTOR_VERSION, e.kind, e.label, e.value, e.ci_low, e.ci_high,
            e.ci_level, e.p, e.p_operator, e.se, e.n_events, e.n_total, e.arm, e.timepoint,
            e.scale, e.start, e.end, e.quote, e.sentence, e.sentence_start, e.rule, e.arm_id,
            e.comparator_arm_id, e.subgroup, e.population, e.timepoint_days, e.direction,
            extracted_at,
        )  # fmt: skip
    arms = []
    for position, arm in enumerate(result.arms, 1):
        _check_integers(result.pmid, "an arm size", arm.n_randomized, arm.n_analysed)
        arms.append(
            (
                arm.arm_id,
                result.pmid,
                EXTRACTOR_VERSION,
                position,
                arm.label,
                arm.start,
                arm.end,
                arm.role,
                arm.drug,
                arm.dose,
                arm.dose_unit,
                arm.dose_text,
                arm.route,
                arm.schedule,
                arm.n_randomized,
                arm.n_analysed,
                extracted_at,
            )  # fmt: skip
        )
    return facts, list(effects.values()), arms


def _load(
    con, pmids: list[str], facts: list[tuple], effects: list[tuple], arms: list[tuple] = ()
) -> None:
    """Replace the batch's rows in one transaction (all or nothing)."""
    from pipeline import warehouse

    with warehouse.transaction(con):
        _replace_rows(con, pmids, facts, effects, arms)


def _replace_rows(
    con, pmids: list[str], facts: list[tuple], effects: list[tuple], arms: list[tuple] = ()
) -> None:
    """Replace the rows of `pmids` in the three tables, inside the caller's transaction."""
    import pyarrow as pa

    batch = pa.table({"pmid": pa.array(pmids, pa.string())})  # noqa: F841 - read by DuckDB
    facts_frame = _columns(facts, TRIAL_FACTS_COLUMNS)  # noqa: F841
    effects_frame = _columns(effects, EFFECTS_COLUMNS)  # noqa: F841
    arms_frame = _columns(list(arms), ARMS_COLUMNS)  # noqa: F841
    con.execute("DELETE FROM core.arms WHERE pmid IN (SELECT pmid FROM batch)")
    con.execute("DELETE FROM core.effects WHERE pmid IN (SELECT pmid FROM batch)")
    con.execute("DELETE FROM core.trial_facts WHERE pmid IN (SELECT pmid FROM batch)")
    if facts:
        con.execute(
            f"INSERT INTO core.trial_facts ({', '.join(TRIAL_FACTS_COLUMNS)}) "
            "SELECT * FROM facts_frame"
        )
    if effects:
        con.execute(
            f"INSERT INTO core.effects ({', '.join(EFFECTS_COLUMNS)}) SELECT * FROM effects_frame"
        )
    if arms:
        con.execute(f"INSERT INTO core.arms ({', '.join(ARMS_COLUMNS)}) SELECT * FROM arms_frame")


def _columns(rows: list[tuple], columns: list[str]):
    """Rows as an Arrow table, a column at a time, for DuckDB to insert: NaN stored as NULL, as
    from a DataFrame. A column Arrow cannot type (mixed kinds of values) makes it a DataFrame,
    whose values DuckDB converts one by one (several times slower on the usual batch)."""
    import pyarrow as pa

    if rows:
        try:
            return pa.table(
                {
                    name: pa.array(values, from_pandas=True)
                    for name, values in zip(columns, zip(*rows, strict=True), strict=True)
                }
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
    import pandas as pd

    return pd.DataFrame.from_records(rows, columns=columns)


@dataclass(frozen=True)
class ExtractionTask:
    """One batch of articles to extract, with what the extractor reads besides the text."""

    articles: list[tuple[str, str, str, str]]  # pmid, title, abstract, checksum
    publication_types: dict[str, list[str]]
    mesh: dict[str, list[str]]
    extracted_at: datetime


@dataclass
class ExtractionBatch:
    """What a worker returns for one task: rows for the three tables, the articles that failed,
    and the effects held back (quarantined with their reason)."""

    pmids: list[str]
    facts: list[tuple] = field(default_factory=list)
    effects: list[tuple] = field(default_factory=list)
    arms: list[tuple] = field(default_factory=list)
    failed: list[Quarantined] = field(default_factory=list)
    held: list[Quarantined] = field(default_factory=list)


def extract_batch(task: ExtractionTask) -> ExtractionBatch:
    """Extract one batch (runs in a worker process); a failing article becomes a Quarantined."""
    result = ExtractionBatch([row[0] for row in task.articles])
    for pmid, title, abstract, checksum in task.articles:
        try:
            extracted = extract_text(
                pmid,
                title,
                abstract,
                publication_types=task.publication_types.get(pmid, ()),
                mesh=task.mesh.get(pmid, ()),
            )
            fact_row, effect_rows, arm_rows = _rows(extracted, checksum, task.extracted_at)
        except Exception as error:  # noqa: BLE001 - one bad article must not stop the rest
            result.failed.append(
                Quarantined(
                    stage="extract",
                    error=f"{type(error).__name__}: {error}",
                    payload=(abstract or "").encode("utf-8"),
                    pmid=pmid,
                    location=f"core.articles PMID {pmid} (extractor {EXTRACTOR_VERSION})",
                )
            )
            continue
        result.facts.append(fact_row)
        result.effects.extend(effect_rows)
        result.arms.extend(arm_rows)
        result.held.extend(_quarantined_effects(extracted))
    return result


def extract_parsed(item: ParsedRecord) -> ParsedRecord:
    """A parsed record with its extraction (an ExtractionBatch of one article): what
    `extract_articles` would compute once the article is loaded, from the same text, publication
    types (distinct, sorted) and MeSH descriptors (in order). Runs in the parsing worker."""
    article = item.article
    types = sorted(set(article.publication_types))
    mesh = [heading.descriptor for heading in article.mesh]
    task = ExtractionTask(
        [(article.pmid, article.title, article.abstract, item.raw.checksum)],
        {article.pmid: types} if types else {},
        {article.pmid: mesh} if mesh else {},
        datetime.now(UTC).replace(tzinfo=None),  # as warehouse.now(), without importing DuckDB
    )
    return replace(item, extraction=extract_batch(task))


def write_extractions(con, batches: Sequence[ExtractionBatch]) -> int:
    """Write extractions made before their articles were loaded, inside the caller's transaction
    (the one loading those articles): the rows `extract_articles` would write, the failures and
    held-back effects quarantined as it quarantines them. Returns the articles extracted."""
    from pipeline import warehouse

    if not batches:
        return 0
    merged = ExtractionBatch([pmid for b in batches for pmid in b.pmids])
    for batch in batches:
        merged.facts.extend(batch.facts)
        merged.effects.extend(batch.effects)
        merged.arms.extend(batch.arms)
        merged.failed.extend(batch.failed)
        merged.held.extend(batch.held)
    for failure in merged.failed:
        log.warning("extraction failed for PMID %s: %s", failure.pmid, failure.error)
    _replace_rows(con, merged.pmids, merged.facts, merged.effects, merged.arms)
    warehouse.insert_quarantined(con, None, merged.failed + merged.held)
    return len(merged.facts)


def _tasks(con, todo: list[str]) -> Iterator[ExtractionTask]:
    from pipeline import warehouse

    for first in range(0, len(todo), BATCH_SIZE):
        batch_pmids = todo[first : first + BATCH_SIZE]
        yield ExtractionTask(
            _batch_texts(con, batch_pmids),
            _record_terms(con, "core.publication_types", "name", batch_pmids),
            _record_terms(con, "core.mesh_headings", "descriptor", batch_pmids),
            warehouse.now(),
        )


def extract_articles(con, pmids: list[str] | None = None, *, workers: int = 1) -> int:
    """(Re)extract every article whose trial facts are missing or stale; returns how many.

    `pmids` limits the stage to those articles. Publication types and MeSH come from the
    record's core tables. A failing article is quarantined with its PMID and error, its stale
    rows removed, and the rest of its batch still loaded. With `workers` > 1 the extraction
    runs in that many worker processes and this one writes each batch as it comes back (the
    same rows as with one worker).
    """
    from pipeline import warehouse

    todo = articles_to_extract(con, pmids)
    if not todo:
        log.info("extraction %s: 0 articles (re)extracted: nothing new or stale", EXTRACTOR_VERSION)
        return 0
    done = effects_held = 0
    with (
        worker_pool(workers) as pool,
        tqdm(
            total=len(todo), desc="extract", unit="article", file=sys.stderr,
            disable=len(todo) < 2000,
        ) as progress,
    ):  # fmt: skip
        for batch in ordered_map(pool, extract_batch, _tasks(con, todo)):
            for failure in batch.failed:
                log.warning("extraction failed for PMID %s: %s", failure.pmid, failure.error)
            _load(con, batch.pmids, batch.facts, batch.effects, batch.arms)
            if batch.failed or batch.held:
                warehouse.quarantine(con, None, batch.failed + batch.held)
            done += len(batch.facts)
            effects_held += len(batch.held)
            progress.update(len(batch.pmids))
    log.info(
        "extraction %s: %d articles (re)extracted, %d quarantined",
        EXTRACTOR_VERSION,
        done,
        len(todo) - done,
    )
    if effects_held:
        log.warning(
            "extraction %s: %d effects quarantined (numbers that cannot be stored; "
            "see raw.quarantine, stage 'extract')",
            EXTRACTOR_VERSION,
            effects_held,
        )
    return done


def _quarantined_effects(result: ExtractionResult) -> list[Quarantined]:
    """The result's quarantined effects as quarantine records: span, reason, quote as payload."""
    return [
        Quarantined(
            stage="extract",
            error=f"{held.kind} effect: {held.reason}",
            payload=held.quote.encode("utf-8"),
            pmid=result.pmid,
            location=(
                f"core.articles PMID {result.pmid} characters {held.start}-{held.end} "
                f"(extractor {EXTRACTOR_VERSION})"
            ),
        )
        for held in result.quarantined
    ]
