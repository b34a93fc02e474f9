"""Loading registry studies into the warehouse: one study per transaction, replaced whole.

A study's raw document (exactly as received, with run id, retrieval time, checksum and URL) and
its typed rows land together or not at all, with the run's record of what happened to it; a
changed study's old typed rows are deleted in the same transaction, so a reader never sees a
mix of two versions.
"""

from __future__ import annotations

import logging

import pyarrow as pa

from pipeline import warehouse
from pipeline.registry.parse import (
    ANALYSIS_COLUMNS,
    GROUP_COLUMNS,
    OUTCOME_COLUMNS,
    STUDY_COLUMNS,
    ParsedStudy,
)
from pipeline.sources.ctgov import FetchedStudy

log = logging.getLogger(__name__)

TYPED_TABLES = (
    "core.registry_studies",
    "core.registry_groups",
    "core.registry_outcomes",
    "core.registry_analyses",
)
CLINICALTRIALS_GOV = "ClinicalTrials.gov"


def _insert(con, table: str, rows: list[dict], columns: tuple[str, ...]) -> None:
    """Insert rows (dicts) through an Arrow table; DuckDB casts each column to the table's type."""
    if not rows:
        return
    arrow_rows = pa.table({c: pa.array([r[c] for r in rows]) for c in columns})  # noqa: F841
    con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM arrow_rows")


def record_fetch(
    con, run_id: str, nct_id: str, outcome: str, url: str | None = None, message: str | None = None
) -> None:
    """What happened to one NCT id in one run (the last word of the run counts)."""
    con.execute(
        "INSERT OR REPLACE INTO core.registry_fetches VALUES (?, ?, ?, ?, ?, ?)",
        [run_id, nct_id, outcome, url, message, warehouse.now()],
    )


def load_study(con, fetched: FetchedStudy, parsed: ParsedStudy, run_id: str) -> None:
    """Raw document, typed rows (replacing any earlier version) and the fetch record, in one
    transaction."""
    loaded_at = warehouse.now()
    study = {
        **parsed.study,
        "source": fetched.source,
        "checksum": fetched.checksum,
        "run_id": run_id,
        "loaded_at": loaded_at,
    }
    with warehouse.transaction(con):
        con.execute(
            "INSERT INTO raw.registry_records SELECT ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS "
            "(SELECT 1 FROM raw.registry_records WHERE nct_id = ? AND checksum = ?)",
            [fetched.nct_id, fetched.checksum, fetched.source, fetched.url, run_id,
             fetched.retrieved_at, fetched.body, fetched.nct_id, fetched.checksum],
        )  # fmt: skip
        for table in TYPED_TABLES:
            con.execute(f"DELETE FROM {table} WHERE nct_id = ?", [parsed.nct_id])
        _insert(
            con,
            "core.registry_studies",
            [study],
            (*STUDY_COLUMNS, "source", "checksum", "run_id", "loaded_at"),
        )
        _insert(con, "core.registry_groups", parsed.groups, GROUP_COLUMNS)
        _insert(con, "core.registry_outcomes", parsed.outcomes, OUTCOME_COLUMNS)
        _insert(con, "core.registry_analyses", parsed.analyses, ANALYSIS_COLUMNS)
        record_fetch(con, run_id, parsed.nct_id, "loaded", fetched.url)


def record_failure(
    con, run_id: str, nct_id: str, url: str | None, error: str, body: bytes | None
) -> None:
    """A study that could not be used: the fetch record and, with its bytes, the quarantine."""
    with warehouse.transaction(con):
        record_fetch(con, run_id, nct_id, "failed", url, error)
        con.execute(
            "INSERT INTO raw.quarantine (run_id, stage, pmid, location, error, payload, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [run_id, "registry", None, nct_id, error, body, warehouse.now()],
        )


def stored_studies(con) -> dict[str, tuple[str | None, str, str]]:
    """nct_id -> (last-update-post date, source, checksum) of every stored study."""
    rows = con.execute(
        "SELECT nct_id, last_update_post_date, source, checksum FROM core.registry_studies"
    ).fetchall()
    return {nct_id: (date, source, checksum) for nct_id, date, source, checksum in rows}


def not_in_registry(con) -> set[str]:
    """NCT ids whose latest answer was a 404 and that are not stored."""
    rows = con.execute(
        """
        SELECT nct_id FROM (
            SELECT nct_id, outcome FROM core.registry_fetches
            WHERE outcome <> 'unchanged'
            QUALIFY row_number() OVER (PARTITION BY nct_id ORDER BY fetched_at DESC) = 1
        )
        WHERE outcome = 'not_in_registry'
          AND nct_id NOT IN (SELECT nct_id FROM core.registry_studies)
        """
    ).fetchall()
    return {r[0] for r in rows}


def refresh_links(con) -> dict[str, bool]:
    """Rebuild core.registry_links from the PubMed records and the studies' references.

    Returns every linked NCT id -> True when its only links are weak (written in the text).
    """
    with warehouse.transaction(con):
        con.execute("DELETE FROM core.registry_links")
        con.execute(
            """
            INSERT INTO core.registry_links
            SELECT DISTINCT pmid, upper(accession),
                CASE WHEN source = 'text' THEN 'text' ELSE 'databank' END,
                source = 'text'
            FROM core.trial_ids
            WHERE registry = ? AND regexp_full_match(upper(accession), 'NCT[0-9]{8}')
            """,
            [CLINICALTRIALS_GOV],
        )
        con.execute(
            """
            INSERT INTO core.registry_links
            SELECT DISTINCT p.pmid, s.nct_id, 'registry_reference', false
            FROM core.registry_studies s, unnest(s.reference_pmids) AS p(pmid)
            WHERE p.pmid IN (SELECT pmid FROM core.articles)
            """
        )
    rows = con.execute(
        "SELECT nct_id, bool_and(weak) FROM core.registry_links GROUP BY nct_id ORDER BY nct_id"
    ).fetchall()
    return {nct_id: bool(weak) for nct_id, weak in rows}
