"""Registry runs: which studies to fetch, fetching them, and recording what happened.

What is fetched: every NCT id the warehouse's PubMed records link to (`core.registry_links`:
the DataBankList accession numbers, and ids written in the abstract as a weaker, flagged
link), plus the studies a registry search for depression trials of ketamine or esketamine
finds. Incremental: a study already stored is fetched again only when its last-update-post date
has changed (linked studies outside the search are listed with `filter.advanced=AREA[
LastUpdatePostDate]RANGE[date,MAX]`); ids answered with 404 are asked again only when a listing
shows them. Each study is loaded in its own transaction, so a killed run keeps the studies it
finished and the next run fetches only the rest.

Offline, the same parser and loader read a recorded snapshot (the bundled one by default).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tqdm import tqdm

from pipeline import config, warehouse
from pipeline.errors import PipelineError, SourceUnavailableError, as_interrupt
from pipeline.registry import SEARCH_CONDITION, SEARCH_INTERVENTION, store
from pipeline.registry.crosscheck import refresh_crosscheck
from pipeline.registry.parse import RegistryParseError, parse_study
from pipeline.sources.ctgov import (
    CtgovClient,
    CtgovError,
    CtgovPolicy,
    InvalidDocumentError,
    NotInRegistryError,
)
from pipeline.sources.ctgov_snapshot import (
    RegistrySnapshot,
    bundled_registry_snapshot,
    open_registry_snapshot,
)

log = logging.getLogger(__name__)


@dataclass
class RegistryRunSummary:
    """What a registry run did, as recorded in core.registry_runs."""

    run_id: str
    mode: str
    source: str
    status: str = "running"
    n_candidates: int = 0
    n_fetched: int = 0
    n_loaded: int = 0
    n_unchanged: int = 0
    n_not_found: int = 0
    n_failed: int = 0
    message: str | None = None
    crosscheck: dict[str, int] | None = None  # effects by cross-check status, once refreshed

    def sentence(self) -> str:
        """One line for the log."""
        said = (
            f"registry run {self.run_id} ({self.mode}) {self.status}: {self.n_candidates} "
            f"studies considered, {self.n_fetched} fetched, {self.n_loaded} loaded, "
            f"{self.n_unchanged} unchanged, {self.n_not_found} not in the registry, "
            f"{self.n_failed} failed"
        )
        if self.crosscheck is not None:
            counts = self.crosscheck
            said += (
                f"; registry cross-check: {counts.get('agrees', 0)} effects agree, "
                f"{counts.get('differs', 0)} differ, {counts.get('no_counterpart', 0)} have no "
                "registry counterpart"
            )
        return said


# --- run bookkeeping ----------------------------------------------------------------------------


def _start(con, mode: str, source: str) -> RegistryRunSummary:
    abandoned = con.execute(
        "UPDATE core.registry_runs SET status = 'interrupted', "
        "message = 'the process ended before the run finished; studies loaded are kept' "
        "WHERE status = 'running' RETURNING run_id"
    ).fetchall()
    if abandoned:
        log.info("%d earlier registry run(s) had been killed; resuming", len(abandoned))
    summary = RegistryRunSummary(uuid.uuid4().hex[:12], mode, source)
    con.execute(
        "INSERT INTO core.registry_runs (run_id, started_at, status, mode, source) "
        "VALUES (?, ?, 'running', ?, ?)",
        [summary.run_id, warehouse.now(), mode, source],
    )
    return summary


def _save(con, summary: RegistryRunSummary, finished: bool = False) -> None:
    con.execute(
        "UPDATE core.registry_runs SET status = ?, finished_at = ?, n_candidates = ?, "
        "n_fetched = ?, n_loaded = ?, n_unchanged = ?, n_not_found = ?, n_failed = ?, "
        "message = ? WHERE run_id = ?",
        [summary.status, warehouse.now() if finished else None, summary.n_candidates,
         summary.n_fetched, summary.n_loaded, summary.n_unchanged, summary.n_not_found,
         summary.n_failed, summary.message, summary.run_id],
    )  # fmt: skip


def _finish(con, summary: RegistryRunSummary, status: str, message: str | None = None) -> None:
    summary.status = status
    summary.message = message
    _save(con, summary, finished=True)


@contextmanager
def _finished_if_stopped(con, summary: RegistryRunSummary) -> Iterator[None]:
    """Record the run as interrupted (Ctrl-C, SIGTERM, also inside a DuckDB query) or failed
    when it stops early, then re-raise."""
    try:
        yield
    except BaseException as error:
        interrupt = as_interrupt(error)
        if interrupt is None:
            _finish(con, summary, "failed", str(error))
            raise
        _finish(con, summary, "interrupted", "interrupted; studies loaded are kept")
        raise interrupt from interrupt.__cause__


# --- snapshot -----------------------------------------------------------------------------------


def ingest_registry_snapshot(con, snapshot: RegistrySnapshot) -> RegistryRunSummary:
    """Load every study of a recorded snapshot through the same parser and loader as live.

    A study stored from a live run is kept (a snapshot never replaces fresher live data); one
    stored from the same bytes is left as it is.
    """
    summary = _start(con, "snapshot", str(snapshot.location))
    with _finished_if_stopped(con, summary):
        stored = store.stored_studies(con)
        for fetched in snapshot.documents():
            summary.n_candidates += 1
            before = stored.get(fetched.nct_id)
            if before is not None and (before[1] == "live" or before[2] == fetched.checksum):
                summary.n_unchanged += 1
                why = "kept the live version" if before[1] == "live" else "same document"
                store.record_fetch(con, summary.run_id, fetched.nct_id, "unchanged", None, why)
                continue
            summary.n_fetched += 1
            _parse_and_load(con, summary, fetched)
        store.refresh_links(con)
        summary.crosscheck = refresh_crosscheck(con)
    _finish(con, summary, "completed")
    log.debug(summary.sentence())  # the command, or the ingest's step runner, reports it once
    return summary


def _parse_and_load(con, summary: RegistryRunSummary, fetched) -> bool:
    try:
        parsed = parse_study(fetched.nct_id, fetched.document)
    except RegistryParseError as error:
        summary.n_failed += 1
        store.record_failure(con, summary.run_id, fetched.nct_id, fetched.url, str(error),
                             fetched.body)  # fmt: skip
        log.warning("%s", error)
        return False
    store.load_study(con, fetched, parsed, summary.run_id)
    summary.n_loaded += 1
    _save(con, summary)
    return True


# --- live ---------------------------------------------------------------------------------------


def plan_fetches(
    candidates: set[str],
    stored: dict[str, tuple[str | None, str, str]],
    missing: set[str],
    listed: dict[str, str | None],
) -> list[str]:
    """The NCT ids to fetch: new ones, those a listing shows with another last-update date than
    the stored one, and 404s that a listing now shows. Studies stored from a snapshot (whose
    date is unknown) are fetched live once."""
    fetch = set()
    for nct_id in candidates:
        before = stored.get(nct_id)
        if before is None:
            if nct_id not in missing or nct_id in listed:
                fetch.add(nct_id)
        elif before[1] != "live" or (nct_id in listed and listed[nct_id] != before[0]):
            fetch.add(nct_id)
    return sorted(fetch)


def ingest_registry_live(
    con,
    client: CtgovClient,
    *,
    condition: str = SEARCH_CONDITION,
    intervention: str = SEARCH_INTERVENTION,
) -> RegistryRunSummary:
    """Fetch what is new or changed from the live registry, one study per transaction."""
    summary = _start(con, "live", client.policy.base_url)
    with _finished_if_stopped(con, summary):
        linked = store.refresh_links(con)
        weak = sorted(n for n, only_text in linked.items() if only_text)
        if weak:
            log.info("%d NCT id(s) are linked only by the abstract text (weaker links)", len(weak))
        hits = {s.nct_id: s.last_update_post_date for s in client.search(condition, intervention)}
        stored = store.stored_studies(con)
        missing = store.not_in_registry(con)
        candidates = set(linked) | set(hits)
        summary.n_candidates = len(candidates)
        listed = dict(hits)
        # Linked studies the search does not cover: which changed since their stored date?
        to_check = sorted(
            n for n in candidates - set(hits) if n in stored and stored[n][1] == "live"
        )
        dates = [stored[n][0] for n in to_check if stored[n][0]]
        if to_check:
            since = min(dates) if dates else None
            listed.update((s.nct_id, s.last_update_post_date)
                          for s in client.list_ids(to_check, since=since))  # fmt: skip
        recheck = sorted((candidates & missing) - set(hits))
        if recheck:
            listed.update((s.nct_id, s.last_update_post_date) for s in client.list_ids(recheck))
        to_fetch = plan_fetches(candidates, stored, missing, listed)
        unchanged = sorted(candidates - set(to_fetch))
        with warehouse.transaction(con):
            for nct_id in unchanged:
                outcome = "not_in_registry" if nct_id in missing else "unchanged"
                store.record_fetch(con, summary.run_id, nct_id, outcome)
        summary.n_unchanged = sum(1 for n in unchanged if n not in missing)
        summary.n_not_found = len(unchanged) - summary.n_unchanged
        _save(con, summary)
        log.info(
            "registry: %d studies considered (%d linked, %d found by the search), %d to fetch",
            len(candidates), len(linked), len(hits), len(to_fetch),
        )  # fmt: skip
        for nct_id in tqdm(to_fetch, desc="registry studies", unit="study", disable=None):
            _fetch_one(con, client, summary, nct_id)
    store.refresh_links(con)
    summary.crosscheck = refresh_crosscheck(con)
    _finish(con, summary, "completed")
    log.debug(summary.sentence())  # the command, or the ingest's step runner, reports it once
    return summary


def _fetch_one(con, client: CtgovClient, summary: RegistryRunSummary, nct_id: str) -> None:
    summary.n_fetched += 1
    try:
        fetched = client.study(nct_id)
    except NotInRegistryError as error:
        summary.n_not_found += 1
        store.record_fetch(con, summary.run_id, nct_id, "not_in_registry", error.url, str(error))
        log.info("%s", error)
        _save(con, summary)
        return
    except InvalidDocumentError as error:
        summary.n_failed += 1
        store.record_failure(con, summary.run_id, nct_id, client.url(f"studies/{nct_id}"),
                             str(error), error.body)  # fmt: skip
        log.warning("%s: recorded as failed, nothing of it loaded", error)
        _save(con, summary)
        return
    except SourceUnavailableError:
        raise
    except CtgovError as error:
        summary.n_failed += 1
        store.record_failure(con, summary.run_id, nct_id, None, str(error), None)
        log.warning("%s", error)
        _save(con, summary)
        return
    _parse_and_load(con, summary, fetched)


# --- after the PubMed ingest --------------------------------------------------------------------


def ingest_after_pubmed(con) -> str:
    """The post-ingest step of `make ingest`: live when PubMed was live (NCBI_EMAIL set), else
    the bundled registry snapshot, saying so."""
    if config.ncbi_email():
        with CtgovClient(CtgovPolicy()) as client:
            try:
                summary = ingest_registry_live(con, client)
            except SourceUnavailableError as error:
                raise PipelineError(
                    f"{error}; the PubMed articles are loaded, the registry tables are as they "
                    "were: run `python -m pipeline registry ingest` again later"
                ) from None
        return summary.sentence()
    snapshot = open_registry_snapshot(bundled_registry_snapshot())
    log.info(
        "offline (no NCBI_EMAIL): loading the bundled registry snapshot of %s (%d studies, "
        "posted outcome measures only) instead of the live registry",
        snapshot.retrieved_on, snapshot.study_count,
    )  # fmt: skip
    return ingest_registry_snapshot(con, snapshot).sentence()
