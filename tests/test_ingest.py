"""Ingest runs against a real DuckDB file and the fake E-utilities server."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime

import pytest
from fake_eutils import FakeEutils, fetched_pmids, real_articles, serve, wait_for
from warehouse_rows import rows_without_times_and_run_ids

from pipeline import ingest, parse, post_ingest, warehouse
from pipeline.errors import PipelineError, SourceUnavailableError
from pipeline.extract import store
from pipeline.sources.entrez import EntrezClient, EntrezPolicy, SearchResult, SearchSegment
from pipeline.sources.snapshot import bundled_snapshot_dir, open_snapshot

QUERY = "ketamine AND depression"


@pytest.fixture
def fake(pubmed_records) -> FakeEutils:
    return FakeEutils(real_articles(pubmed_records))


@pytest.fixture
def client(fake):
    with serve(fake) as url:
        policy = EntrezPolicy(
            email="ingest-tests@example.org", api_key="test-key", base_url=url, timeout=5.0,
            retry_delays=(0.0, 0.0), request_interval=0.0,
        )  # fmt: skip
        client = EntrezClient(policy, sleep=lambda seconds: None)
        yield client
        client.close()


@pytest.fixture
def con(tmp_path):
    con = warehouse.connect(tmp_path / "evidence.duckdb")
    yield con
    con.close()


def scalar(con, sql, params=()):
    return con.execute(sql, list(params)).fetchone()[0]


def runs(con):
    return con.execute(
        "SELECT status, n_found, n_fetched, n_loaded, n_quarantined FROM core.runs "
        "ORDER BY started_at"
    ).fetchall()


def fetched(fake) -> list[str]:
    return [p for r in fake.calls("efetch") for p in fetched_pmids(r, fake)]


def live(con, client, **kwargs):
    kwargs.setdefault("query", QUERY)
    kwargs.setdefault("batch_size", 3)
    return ingest.ingest_live(con, client, progress=False, **kwargs)


# --- live ---------------------------------------------------------------------------------------


def test_happy_path_over_several_batches(con, client, fake):
    pmids = fake.add_records(7)
    summary = live(con, client)
    assert summary.status == "completed" and summary.n_batches == 3
    assert runs(con) == [("completed", 7, 7, 7, 0)]
    assert sorted(r[0] for r in con.execute("SELECT pmid FROM core.articles").fetchall()) == pmids
    assert scalar(con, "SELECT count(*) FROM raw.records WHERE source = 'live'") == 7
    batches = con.execute("SELECT batch_no, pmids FROM core.run_batches ORDER BY 1").fetchall()
    assert batches == [(1, pmids[0:3]), (2, pmids[3:6]), (3, pmids[6:7])]
    sightings = con.execute("SELECT DISTINCT query FROM core.pmid_sightings").fetchall()
    assert sightings == [(QUERY,)] and scalar(con, "SELECT count(*) FROM core.pmid_sightings") == 7
    calls = fake.calls("efetch")
    assert [c.params["retstart"] for c in calls] == ["0", "3", "6"]  # from the history server
    assert {c.params["WebEnv"] for c in calls} == {"MCID_fake_1"}  # the search's history
    # the real records' parts arrive too
    assert scalar(con, "SELECT count(*) FROM core.authors WHERE pmid = ?", [pmids[0]]) > 10
    assert scalar(con, "SELECT count(*) FROM core.trial_ids WHERE pmid = ?", [pmids[0]]) == 1


def test_a_rerun_fetches_nothing(con, client, fake):
    fake.add_records(5)
    live(con, client)
    n_efetch = len(fake.calls("efetch"))
    second = live(con, client)
    assert second.status == "completed" and second.n_loaded == 0 and second.n_skipped == 5
    assert len(fake.calls("efetch")) == n_efetch
    assert scalar(con, "SELECT count(DISTINCT run_id) FROM core.pmid_sightings") == 2


def test_a_record_modified_since_the_last_run_is_fetched_again(con, client, fake):
    pmids = fake.add_records(4)
    live(con, client)
    fake.records[pmids[1]].mdat = datetime.now(UTC).date()
    before = len(fetched(fake))
    summary = live(con, client)
    assert fetched(fake)[before:] == [pmids[1]]
    assert summary.n_loaded == 1
    modified_search = fake.calls("esearch")[-1].params
    assert modified_search["datetype"] == "mdat"
    assert modified_search["mindate"] == datetime.now(UTC).strftime("%Y/%m/%d")


def test_since_limits_the_search_by_entrez_date(con, client, fake):
    pmids = fake.add_records(6, edat=date(2024, 1, 1))
    summary = live(con, client, since=date(2024, 1, 4))
    search = fake.calls("esearch")[0].params
    assert search["datetype"] == "edat" and search["mindate"] == "2024/01/04"
    assert search["maxdate"] == datetime.now(UTC).strftime("%Y/%m/%d")
    assert summary.n_found == 3 and sorted(fetched(fake)) == pmids[3:]
    assert scalar(con, "SELECT since FROM core.runs") == date(2024, 1, 4)


def test_an_empty_search_result_fails_the_run_clearly(con, client, fake):
    fake.add_records(2)
    fake.queries["nothing here"] = []
    with pytest.raises(ingest.EmptySearchError, match="found no records; check the query"):
        live(con, client, query="nothing here")
    assert runs(con) == [("failed", 0, 0, 0, 0)]


def test_an_interrupted_run_resumes_without_refetching(con, client, fake):
    pmids = fake.add_records(8)
    fake.fault("efetch", "status", status=500, times=None, after=2)  # fails for good
    with pytest.raises(SourceUnavailableError):
        live(con, client)
    assert runs(con) == [("failed", 8, 6, 6, 0)]
    assert scalar(con, "SELECT count(*) FROM core.articles") == 6  # whole batches only
    assert scalar(con, "SELECT message FROM core.runs").startswith("PubMed kept failing")
    fake.faults.clear()
    before = len(fetched(fake))
    summary = live(con, client)
    assert sorted(fetched(fake)[before:]) == pmids[6:]
    assert summary.status == "completed" and summary.n_loaded == 2
    assert scalar(con, "SELECT count(*) FROM core.articles") == 8


@pytest.mark.parametrize(
    ("where", "stop"),
    [
        ("fetch", KeyboardInterrupt()),  # Ctrl-C while a request is on its way
        # A signal that lands while DuckDB writes a batch comes out of DuckDB as an error
        ("load", RuntimeError("Query interrupted")),
    ],
)
def test_ctrl_c_marks_the_run_interrupted_and_keeps_whole_batches(
    con, client, fake, monkeypatch, where, stop
):
    pmids = fake.add_records(6)
    owner, name = (client, "fetch") if where == "fetch" else (warehouse, "load_batch")
    original = getattr(owner, name)
    calls = []

    def second_call_stops(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise stop
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, second_call_stops)
    with pytest.raises(KeyboardInterrupt):
        live(con, client)
    assert runs(con) == [("interrupted", 6, 3, 3, 0)]
    monkeypatch.setattr(owner, name, original)
    before = len(fetched(fake))
    live(con, client)
    assert sorted(fetched(fake)[before:]) == pmids[3:]


def test_a_run_left_running_by_a_killed_process_is_marked_interrupted(con, client, fake):
    fake.add_records(2)
    ingest.start_run(con, "live", query=QUERY)  # as if the process had died here
    live(con, client)
    assert [r[0] for r in runs(con)] == ["interrupted", "completed"]


def test_revised_records_already_loaded_by_an_unfinished_run_are_not_refetched(con, client, fake):
    pmids = fake.add_records(6)
    live(con, client)
    today = datetime.now(UTC).date()
    for pmid in pmids:
        fake.records[pmid].mdat = today
    fake.fault("efetch", "status", status=500, times=None, after=len(fake.calls("efetch")) + 1)
    with pytest.raises(SourceUnavailableError):
        live(con, client)  # refetches the first batch of revised records, then fails
    fake.faults.clear()
    before = len(fetched(fake))
    live(con, client)
    assert sorted(fetched(fake)[before:]) == pmids[3:]


def test_a_500_in_the_middle_of_a_run_is_retried(con, client, fake):
    fake.add_records(6)
    fake.fault("efetch", "status", status=500, after=1)
    summary = live(con, client)
    assert summary.n_loaded == 6 and len(fake.calls("efetch")) == 3


def test_a_malformed_record_is_quarantined_and_the_rest_loaded(con, client, fake):
    pmids = fake.add_records(5)
    fake.records[pmids[3]].malformed = True
    summary = live(con, client)
    assert (summary.n_loaded, summary.n_quarantined) == (4, 1)
    stage, pmid, payload = con.execute("SELECT stage, pmid, payload FROM raw.quarantine").fetchone()
    assert (stage, pmid) == ("parse", pmids[3])
    assert payload == fake.records[pmids[3]].xml()


def test_a_truncated_record_is_isolated_and_quarantined(con, client, fake):
    pmids = fake.add_records(6)
    fake.truncate_record(pmids[4])
    summary = live(con, client)
    assert (summary.n_loaded, summary.n_quarantined) == (5, 1)
    assert con.execute("SELECT stage, pmid FROM raw.quarantine").fetchall() == [("fetch", pmids[4])]


def test_live_replaces_snapshot_articles(con, client, fake, pubmed_records):
    ingest.ingest_snapshot(con, open_snapshot(bundled_snapshot_dir()), progress=False)
    fake.add_records(1, first_pmid=37792613)  # a PMID the snapshot has as JSON
    live(con, client)
    assert scalar(con, "SELECT source FROM core.articles WHERE pmid = '37792613'") == "live"
    assert scalar(con, "SELECT count(*) FROM raw.records WHERE pmid = '37792613'") == 2


def test_batch_size_must_be_positive(con, client):
    with pytest.raises(PipelineError, match="positive"):
        live(con, client, batch_size=0)


def test_plan_batches_uses_history_only_for_contiguous_stretches():
    segment = SearchSegment(tuple("abcdefg"), "W", "1")
    found = SearchResult("q", segment.pmids, (segment,))
    contiguous = ingest.plan_batches(found, set("cdef"), 2)
    assert [(b.pmids, b.retstart) for b in contiguous] == [(("c", "d"), 2), (("e", "f"), 4)]
    scattered = ingest.plan_batches(found, set("aceg"), 3)
    assert [(b.pmids, b.from_history) for b in scattered] == [
        (("a", "c", "e"), False),
        (("g",), True),
    ]


# --- fetching ahead -----------------------------------------------------------------------------


@pytest.fixture
def slow_fake(pubmed_records) -> FakeEutils:
    """The fake answering as NCBI does, each request after 200 ms."""
    return FakeEutils(real_articles(pubmed_records), latency=0.2)


@pytest.fixture
def spaced_client(slow_fake):
    """A client whose requests start 50 ms apart at most, as a rate limit spaces them."""
    with serve(slow_fake) as url:
        policy = EntrezPolicy(
            email="ingest-tests@example.org", api_key="test-key", base_url=url, timeout=5.0,
            retry_delays=(0.0, 0.0), request_interval=0.05,
        )  # fmt: skip
        client = EntrezClient(policy)
        yield client
        client.close()


def efetches_started(fake) -> int:
    """efetch requests that reached the server (answered or not; every esearch was answered)."""
    return len(fake.started) - len(fake.calls("esearch"))


def slow_loads(
    monkeypatch, fake, seen: list[int], *, interrupt_at: int | None = None,
    stopped: list[float] | None = None,
) -> None:  # fmt: skip
    """Make each batch load take 300 ms, noting how many efetches had started by then; the
    load number `interrupt_at` is stopped as by Ctrl-C, its time noted in `stopped`."""
    load = warehouse.load_batch

    def slow_load(*args, **kwargs):
        seen.append(efetches_started(fake))
        if len(seen) == interrupt_at:
            if stopped is not None:
                stopped.append(time.monotonic())
            raise KeyboardInterrupt
        time.sleep(0.3)
        return load(*args, **kwargs)

    monkeypatch.setattr(warehouse, "load_batch", slow_load)


def test_the_next_batches_are_fetched_while_one_is_loaded(
    con, spaced_client, slow_fake, monkeypatch
):
    pmids = slow_fake.add_records(30)
    seen: list[int] = []
    slow_loads(monkeypatch, slow_fake, seen)
    summary = live(con, spaced_client)
    assert summary.status == "completed" and summary.n_loaded == 30 and summary.n_batches == 10
    assert seen[0] > 1  # the second batch was on its way while the first loaded
    ahead = [started - loading for loading, started in enumerate(seen, start=1)]
    assert max(ahead) <= ingest.FETCH_AHEAD  # bounded: at most that many answers wait
    batches = con.execute("SELECT batch_no, pmids FROM core.run_batches ORDER BY 1").fetchall()
    assert batches == [(n + 1, pmids[3 * n : 3 * n + 3]) for n in range(10)]  # plan order
    # Each batch is asked for once. Requests start in plan order, 50 ms apart; on a busy
    # machine one can still reach the server after the next (seen once in a full test run).
    calls = slow_fake.calls("efetch")
    assert sorted(int(c.params["retstart"]) for c in calls) == [3 * n for n in range(10)]
    assert slow_fake.most_in_flight >= 2


@pytest.mark.parametrize("workers", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_a_prefetched_batch_that_fails_fails_the_run_in_its_turn_and_the_next_resumes(
    con, spaced_client, slow_fake, workers
):
    pmids = slow_fake.add_records(12)
    slow_fake.fault(
        "efetch", "status", status=500, times=None, when=lambda r: r.params.get("retstart") == "6"
    )
    with pytest.raises(SourceUnavailableError, match="PubMed kept failing"):
        live(con, spaced_client, workers=workers)
    assert runs(con) == [("failed", 12, 6, 6, 0)]  # the two batches before it, whole
    asked = len(slow_fake.started)
    time.sleep(0.5)
    assert len(slow_fake.started) == asked  # no request outlived the run
    slow_fake.faults.clear()
    before = len(fetched(slow_fake))
    summary = live(con, spaced_client, workers=workers)
    assert sorted(fetched(slow_fake)[before:]) == pmids[6:]  # exactly the rest
    assert summary.n_loaded == 6 and scalar(con, "SELECT count(*) FROM core.articles") == 12


@pytest.mark.parametrize("workers", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_ctrl_c_while_batches_are_fetched_ahead_keeps_whole_batches_and_resumes(
    con, spaced_client, slow_fake, monkeypatch, workers
):
    pmids = slow_fake.add_records(30)
    seen: list[int] = []
    stopped: list[float] = []
    slow_loads(monkeypatch, slow_fake, seen, interrupt_at=2, stopped=stopped)
    with pytest.raises(KeyboardInterrupt):
        live(con, spaced_client, workers=workers)
    assert time.monotonic() - stopped[0] < 5  # did not wait for the requests in flight
    assert runs(con)[0] == ("interrupted", 30, 3, 3, 0)
    assert wait_for(lambda: slow_fake.in_flight == 0, timeout=10)
    monkeypatch.undo()
    before = len(fetched(slow_fake))
    summary = live(con, spaced_client, workers=workers)
    assert sorted(fetched(slow_fake)[before:]) == pmids[3:]  # exactly the rest
    assert summary.n_loaded == 27 and scalar(con, "SELECT count(*) FROM core.articles") == 30


# --- snapshot -----------------------------------------------------------------------------------


def test_snapshot_ingest_counts(con):
    summary = ingest.ingest_snapshot(con, open_snapshot(bundled_snapshot_dir()), progress=False)
    assert summary.status == "completed"
    assert (summary.n_found, summary.n_loaded, summary.n_quarantined) == (131, 127, 1)
    assert scalar(con, "SELECT count(*) FROM core.articles") == 127
    assert scalar(con, "SELECT count(*) FROM raw.records") == 130  # 3 PMIDs as XML and JSON
    assert scalar(con, "SELECT count(*) FROM raw.quarantine") == 1
    counts = dict(
        con.execute("SELECT name, count(*) FROM core.publication_types GROUP BY 1").fetchall()
    )
    assert counts["Randomized Controlled Trial"] == 23
    assert counts["Review"] == 29 and counts["Published Erratum"] == 1
    assert scalar(con, "SELECT count(*) FROM core.pmid_sightings") == 127
    formats = con.execute(
        "SELECT format FROM raw.records WHERE pmid = '31166571' ORDER BY format"
    ).fetchall()
    assert formats == [("json",), ("xml",)]
    xml_checksum = scalar(
        con, "SELECT checksum FROM raw.records WHERE pmid = '31166571' AND format = 'xml'"
    )
    assert scalar(con, "SELECT checksum FROM core.articles WHERE pmid = '31166571'") == xml_checksum
    # raw payloads exactly as received: the JSON line's bytes, the XML record's bytes
    line = next(
        li for li in (bundled_snapshot_dir() / "landmark.jsonl").read_bytes().splitlines()
        if b'"pmid": "37792613"' in li
    )  # fmt: skip
    assert warehouse.read_raw_payload(con, "37792613") == line
    # fields a JSON record lacks stay empty
    assert scalar(con, "SELECT count(*) FROM core.authors WHERE pmid = '37792613'") == 0


def test_snapshot_rerun_loads_nothing_and_quarantines_nothing_twice(con):
    snapshot = open_snapshot(bundled_snapshot_dir())
    ingest.ingest_snapshot(con, snapshot, progress=False)
    second = ingest.ingest_snapshot(con, snapshot, batch_size=7, progress=False)
    assert (second.n_loaded, second.n_quarantined, second.n_batches) == (0, 0, 0)
    assert scalar(con, "SELECT count(*) FROM raw.quarantine") == 1
    assert scalar(con, "SELECT count(*) FROM core.pmid_sightings WHERE run_id = ?",
                  [second.run_id]) == 127  # fmt: skip


def test_snapshot_in_small_batches_gives_the_same_warehouse(con):
    summary = ingest.ingest_snapshot(
        con, open_snapshot(bundled_snapshot_dir()), batch_size=10, progress=False
    )
    assert summary.n_batches >= 13 and summary.n_loaded == 127
    assert scalar(con, "SELECT count(*) FROM raw.records") == 130


def _jsonl_lines(count: int) -> list[bytes]:
    return (bundled_snapshot_dir() / "search_sample_b.jsonl").read_bytes().splitlines()[:count]


def test_a_pmid_twice_in_a_snapshot_counts_once_and_the_differing_copy_is_quarantined(
    con, tmp_path, caplog
):
    first, second = _jsonl_lines(2)
    changed = first.replace(b'"title": "', b'"title": "CHANGED ', 1)
    path = tmp_path / "twice.jsonl"
    path.write_bytes(first + b"\n" + second + b"\n" + changed + b"\n")
    pmid = json.loads(first)["pmid"]
    summary = ingest.ingest_snapshot(con, open_snapshot(path), progress=False)
    assert (summary.n_found, summary.n_loaded, summary.n_quarantined) == (3, 2, 1)
    assert "2 articles loaded, 1 quarantined" in summary.sentence()
    assert scalar(con, "SELECT count(*) FROM core.articles") == 2
    title = scalar(con, "SELECT title FROM core.articles WHERE pmid = ?", [pmid])
    assert not title.startswith("CHANGED")  # the first copy stays
    row = con.execute("SELECT stage, pmid, location, error, payload FROM raw.quarantine").fetchall()
    ((stage, q_pmid, location, error, payload),) = row
    assert (stage, q_pmid, location, payload) == ("load", pmid, "twice.jsonl line 3", changed)
    assert "twice.jsonl line 1" in error
    warning = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(pmid in w and "line 1" in w and "line 3" in w for w in warning), warning
    again = ingest.ingest_snapshot(con, open_snapshot(path), progress=False)
    assert (again.n_loaded, again.n_quarantined) == (0, 0)
    assert scalar(con, "SELECT count(*) FROM raw.quarantine") == 1


def test_an_identical_copy_of_a_record_in_a_snapshot_is_counted_once_and_said(
    con, tmp_path, caplog
):
    first, second = _jsonl_lines(2)
    path = tmp_path / "twice.jsonl"
    path.write_bytes(first + b"\n" + second + b"\n" + first + b"\n")
    summary = ingest.ingest_snapshot(con, open_snapshot(path), progress=False)
    assert (summary.n_found, summary.n_loaded, summary.n_quarantined) == (3, 2, 0)
    assert summary.n_duplicates == 1 and "1 duplicate" in summary.sentence()
    assert scalar(con, "SELECT count(*) FROM raw.records") == 2
    pmid = json.loads(first)["pmid"]
    assert any(
        pmid in r.getMessage() and "twice.jsonl line 1" in r.getMessage()
        and "twice.jsonl line 3" in r.getMessage()
        for r in caplog.records if r.levelname == "WARNING"
    )  # fmt: skip


def test_a_pmid_twice_in_an_xml_snapshot_names_both_records(con, pubmed_records, tmp_path, caplog):
    data = (pubmed_records / "efetch_sample.xml").read_bytes()
    first_record = data[data.index(b"<PubmedArticle>") : data.index(b"</PubmedArticle>") + 17]
    path = tmp_path / "twice.xml"
    path.write_bytes(data.replace(b"</PubmedArticleSet>", first_record + b"</PubmedArticleSet>"))
    summary = ingest.ingest_snapshot(con, open_snapshot(path), progress=False)
    assert (summary.n_found, summary.n_loaded, summary.n_duplicates) == (4, 3, 1)
    assert any(
        "record 1 of twice.xml" in r.getMessage() and "record 4 of twice.xml" in r.getMessage()
        for r in caplog.records if r.levelname == "WARNING"
    )  # fmt: skip


# --- post-ingest steps and status ----------------------------------------------------------------


def test_warehouse_status(con):
    ingest.ingest_snapshot(con, open_snapshot(bundled_snapshot_dir()), progress=False)
    status = ingest.warehouse_status(con)
    assert status.n_articles == 127
    assert status.by_source == [("snapshot", 127)]
    assert ("Randomized Controlled Trial", 23) in status.by_publication_type
    assert sum(n for _, n in status.by_year) == 127
    (quarantined,) = status.quarantined
    assert quarantined[:3] == ("parse", None, "landmark.jsonl line 18")
    assert status.runs[0][1:3] == ("completed", "snapshot")
    text = status.render()
    assert "landmark.jsonl line 18" in text and "Randomized Controlled Trial" in text


def test_default_query_reads_the_config():
    query = ingest.default_query()
    assert query.startswith('("Ketamine"[Mesh] OR')
    for word in ("esketamine[tiab]", "arketamine[tiab]", '"Suicidal Ideation"[Mesh]',
                 '"Randomized Controlled Trial"[pt]', "NOT"):  # fmt: skip
        assert word in query


# --- worker processes ---------------------------------------------------------------------------


def _live_runs_with_workers(workers: int, pubmed_records, db) -> dict:
    """Two live runs against a fresh fake (the second after records were revised, one of them
    with new content), then the post-ingest steps; the warehouse's rows and what the extraction
    step had left after each run."""
    fake = FakeEutils(real_articles(pubmed_records))
    pmids = fake.add_records(40)
    fake.records[pmids[5]].malformed = True  # quarantined when parsed
    fake.truncate_record(pmids[23])  # its batch split until it is alone and quarantined
    left = []
    con = warehouse.connect(db)
    with serve(fake) as url:
        policy = EntrezPolicy(
            email="ingest-tests@example.org", base_url=url, timeout=5.0,
            retry_delays=(0.0, 0.0), request_interval=0.0,
        )  # fmt: skip
        client = EntrezClient(policy, sleep=lambda seconds: None)
        try:
            ahead = ingest.FETCH_AHEAD if workers > 1 else 0  # fetched and parsed in threads
            for rerun in (False, True):
                if rerun:
                    today = datetime.now(UTC).date()
                    for pmid in pmids[10:20]:
                        fake.records[pmid].mdat = today  # revised, same bytes
                    changed = fake.records[pmids[12]]
                    changed.template = next(t for t in fake.templates if t != changed.template)
                summary = ingest.ingest_live(
                    con, client, query=QUERY, batch_size=7, progress=False, workers=workers,
                    fetch_ahead=ahead,
                )  # fmt: skip
                assert summary.status == "completed"
                left.append(store.articles_to_extract(con))
                post_ingest.run_post_ingest_steps(con, workers=workers)
            return {"left": left, "rows": rows_without_times_and_run_ids(con)}
        finally:
            client.close()
            con.close()


@pytest.mark.slow
def test_two_workers_load_the_rows_of_one_and_extract_with_the_load(
    pubmed_records, tmp_path, monkeypatch
):
    monkeypatch.setenv("PIPELINE_CLINIC_KEY_FILE", str(tmp_path / "clinic.key"))
    for name in ("CLINIC_EXPORT", "NCBI_EMAIL", "NCBI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(parse, "RECORDS_PER_CHUNK", 3)  # several chunks per batch
    one, two = (
        _live_runs_with_workers(workers, pubmed_records, tmp_path / f"w{workers}.duckdb")
        for workers in (1, 2)
    )
    # One worker: the extraction step does the work after each load (38 articles, then the
    # changed one). Two: each article with new bytes was extracted as it was parsed.
    assert [len(pmids) for pmids in one["left"]] == [38, 1]
    assert two["left"] == [[], []]
    rows = one["rows"]
    assert len(rows["core.articles"]) == 38
    assert len(rows["raw.quarantine"]) == 4  # the two bad records, asked for by both runs
    assert len(rows["core.trial_facts"]) == 38 and len(rows["core.effects"]) > 38
    assert rows.keys() == two["rows"].keys()
    for table in rows:
        assert rows[table] == two["rows"][table], table
