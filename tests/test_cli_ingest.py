"""`python -m pipeline ingest` and `status` end to end: modes, errors people meet, the lock,
recording and replaying a live run, and a run killed with SIGKILL that the next run resumes."""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys

import duckdb
import pytest
from fake_eutils import FakeEutils, fetched_pmids, real_articles, serve, wait_for

from pipeline import ingest, post_ingest
from pipeline.cli import main
from pipeline.errors import PipelineError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def no_post_steps(monkeypatch):
    """The post-ingest steps replaced by no-ops (they belong to other stages' tests)."""
    monkeypatch.setattr(
        post_ingest,
        "POST_INGEST_STEPS",
        (
            post_ingest.PostIngestStep("extraction", "none in this test", lambda c, o: "0"),
            post_ingest.PostIngestStep("clinic", "none", lambda c, o: "no clinic data"),
        ),
    )


@pytest.fixture
def offline(monkeypatch):
    for name in ("NCBI_EMAIL", "NCBI_API_KEY", "EUTILS_BASE_URL", "PIPELINE_DB"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake(pubmed_records) -> FakeEutils:
    return FakeEutils(real_articles(pubmed_records))


@pytest.fixture
def live_env(fake, monkeypatch):
    """NCBI_EMAIL set and every E-utilities request sent to the fake server."""
    with serve(fake) as url:
        monkeypatch.setenv("NCBI_EMAIL", "ingest-tests@example.org")
        monkeypatch.setenv("NCBI_API_KEY", "test-key")
        monkeypatch.setenv("EUTILS_BASE_URL", url)
        monkeypatch.setenv("EUTILS_RETRY_DELAYS", "0,0")
        monkeypatch.setenv("EUTILS_TIMEOUT", "5")
        yield url


def count(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# --- offline ------------------------------------------------------------------------------------


def test_without_email_the_bundled_snapshot_is_ingested_and_said(
    offline, no_post_steps, tmp_path, capsys, caplog
):
    db = tmp_path / "w.duckdb"
    caplog.set_level("INFO")
    assert main(["ingest", "--db", str(db)]) == 0
    assert "NCBI_EMAIL is not set: ingesting the bundled snapshot of 2026-09-15 (131 records)" in (
        caplog.text
    )
    out = capsys.readouterr().out
    assert "127 articles loaded, 1 quarantined" in out and str(db) in out
    assert count(db, "SELECT count(*) FROM core.articles") == [(127,)]
    assert count(db, "SELECT mode, status FROM core.runs") == [("snapshot", "completed")]


def test_status_shows_counts_quarantine_and_runs(offline, no_post_steps, tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    main(["ingest", "--db", str(db)])
    capsys.readouterr()
    assert main(["status", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "127 articles" in out
    assert "articles by publication type" in out
    assert re.search(r"Randomized Controlled Trial +23\n", out)
    assert "articles by year" in out and "articles by source" in out
    assert "quarantined records (1)" in out and "landmark.jsonl line 18" in out
    assert "a snapshot record without a usable PMID" in out
    assert "last runs" in out and "completed  snapshot" in out


def test_status_without_a_warehouse(offline, tmp_path, capsys):
    assert main(["status", "--db", str(tmp_path / "none.duckdb")]) == 1
    assert "no warehouse at" in capsys.readouterr().err


def test_a_single_file_snapshot_replays(offline, no_post_steps, pubmed_records, tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    path = pubmed_records / "efetch_sample.xml"
    assert main(["ingest", "--snapshot", str(path), "--db", str(db)]) == 0
    assert count(db, "SELECT count(*), min(source) FROM core.articles") == [(3, "snapshot")]
    assert count(db, "SELECT snapshot_path FROM core.runs") == [(str(path),)]


def test_a_failing_post_ingest_step_fails_loudly(offline, tmp_path, capsys, monkeypatch):
    def fail(con, options):
        raise PipelineError("the marts could not be refreshed")

    monkeypatch.setattr(
        post_ingest, "POST_INGEST_STEPS", (post_ingest.PostIngestStep("marts", "x", fail),)
    )
    assert main(["ingest", "--db", str(tmp_path / "w.duckdb")]) == 1
    err = capsys.readouterr().err
    assert "the marts could not be refreshed" in err
    assert "Traceback" not in err


def test_post_ingest_steps_get_the_number_of_workers(offline, tmp_path, monkeypatch):
    seen = []
    step = post_ingest.PostIngestStep("probe", "x", lambda c, o: seen.append(o.workers) or "ok")
    monkeypatch.setattr(post_ingest, "POST_INGEST_STEPS", (step,))
    assert main(["ingest", "--workers", "3", "--db", str(tmp_path / "w.duckdb")]) == 0
    assert seen == [3]


def test_an_ingest_runs_with_the_ingest_memory_cap(offline, tmp_path, monkeypatch):
    """The load and every post-ingest step run at the ingest's cap (128 MB), not the 256 MB that
    queries of a finished warehouse get; PIPELINE_DB_MEMORY_LIMIT sets both."""
    monkeypatch.delenv("PIPELINE_DB_MEMORY_LIMIT", raising=False)
    seen = []

    def probe(con, options):
        seen.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        return "ok"

    step = post_ingest.PostIngestStep("probe", "x", probe)
    monkeypatch.setattr(post_ingest, "POST_INGEST_STEPS", (step,))
    assert main(["ingest", "--db", str(tmp_path / "w.duckdb")]) == 0
    monkeypatch.setenv("PIPELINE_DB_MEMORY_LIMIT", "200MB")
    assert main(["ingest", "--db", str(tmp_path / "w.duckdb")]) == 0
    assert seen == ["122.0 MiB", "190.7 MiB"]  # DuckDB reports MB in MiB


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--live"], "--live needs NCBI_EMAIL"),
        (["--query", "ketamine"], "apply to a live PubMed search"),
        (["--since", "2024-01-01"], "apply to a live PubMed search"),
        (["--record", "out"], "apply to a live PubMed search"),
        (["--live", "--snapshot", "x"], "exclude each other"),
    ],
)
def test_usage_errors_are_one_sentence(offline, tmp_path, capsys, args, message):
    assert main(["ingest", *args, "--db", str(tmp_path / "w.duckdb")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_a_bad_date_or_batch_size_is_refused_by_the_parser(offline, capsys):
    for args in (["--since", "last week"], ["--batch-size", "0"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["ingest", *args])
        assert exit_info.value.code == 2
    assert "not a date" in capsys.readouterr().err


def test_an_unwritable_db_path(offline, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["ingest", "--db", str(blocker / "w.duckdb")]) == 1
    err = capsys.readouterr().err
    assert "cannot create the folder for the database" in err and "Traceback" not in err


def test_a_missing_snapshot_is_named(offline, tmp_path, capsys):
    missing = tmp_path / "snap"
    assert main(["ingest", "--snapshot", str(missing), "--db", str(tmp_path / "w.duckdb")]) == 1
    assert f"the snapshot {missing} does not exist" in capsys.readouterr().err


def test_a_corrupt_snapshot_is_named_and_nothing_is_loaded(
    offline, pubmed_records, tmp_path, capsys
):
    cut = tmp_path / "cut.xml"
    cut.write_bytes((pubmed_records / "efetch_sample.xml").read_bytes()[:50000])
    db = tmp_path / "w.duckdb"
    assert main(["ingest", "--snapshot", str(cut), "--db", str(db)]) == 1
    assert f"the snapshot file {cut} is corrupt" in capsys.readouterr().err
    assert not db.exists()


# --- live ---------------------------------------------------------------------------------------


def test_live_ingest_records_a_snapshot_that_replays_the_same(
    live_env, fake, no_post_steps, tmp_path, capsys, monkeypatch
):
    pmids = fake.add_records(5)
    db, recorded = tmp_path / "live.duckdb", tmp_path / "recorded"
    args = ["ingest", "--db", str(db), "--batch-size", "2", "--record", str(recorded)]
    assert main([*args, "--query", "esketamine[tiab]"]) == 0
    assert "5 articles loaded" in capsys.readouterr().out
    assert fake.calls("esearch")[0].params["term"] == "esketamine[tiab]"
    live_rows = count(db, "SELECT pmid, title, abstract FROM core.articles ORDER BY pmid")
    assert [r[0] for r in live_rows] == pmids

    monkeypatch.delenv("NCBI_EMAIL")
    replay = tmp_path / "replay.duckdb"
    assert main(["ingest", "--snapshot", str(recorded), "--db", str(replay)]) == 0
    assert count(replay, "SELECT pmid, title, abstract FROM core.articles ORDER BY pmid") == (
        live_rows
    )
    assert count(replay, "SELECT DISTINCT query FROM core.pmid_sightings") == [
        ("esketamine[tiab]",)
    ]


def test_live_uses_the_default_query_and_since(live_env, fake, no_post_steps, tmp_path):
    fake.add_records(3)
    assert main(["ingest", "--since", "2020-01-02", "--db", str(tmp_path / "w.duckdb")]) == 0
    search = fake.calls("esearch")[0].params
    assert search["term"] == ingest.default_query()
    assert (search["datetype"], search["mindate"]) == ("edat", "2020/01/02")
    assert sorted(p for r in fake.calls("efetch") for p in fetched_pmids(r, fake)) == [
        "90000002",
        "90000003",
    ]


def test_an_empty_search_result_says_so(live_env, fake, no_post_steps, tmp_path, capsys):
    fake.queries["no such thing"] = []
    assert main(["ingest", "--query", "no such thing", "--db", str(tmp_path / "w.duckdb")]) == 1
    err = capsys.readouterr().err
    assert "the PubMed search found no records" in err and "Traceback" not in err


def test_pubmed_unreachable_points_at_the_snapshot(no_post_steps, tmp_path, capsys, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("NCBI_EMAIL", "ingest-tests@example.org")
    monkeypatch.setenv("EUTILS_BASE_URL", f"http://127.0.0.1:{port}/")
    monkeypatch.setenv("EUTILS_RETRY_DELAYS", "0")
    monkeypatch.setenv("NCBI_API_KEY", "test-key")
    db = tmp_path / "w.duckdb"
    assert main(["ingest", "--live", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert "PubMed could not be reached" in err and "snapshot" in err
    assert "Traceback" not in err
    assert count(db, "SELECT status FROM core.runs") == [("failed",)]


@pytest.mark.slow  # a second process
def test_a_second_ingest_while_one_holds_the_warehouse(offline, tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); time.sleep(60)", str(db)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        assert main(["ingest", "--db", str(db)]) == 1
        err = capsys.readouterr().err
        assert "is in use by another process" in err and "Traceback" not in err
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow  # a second process
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_run_leaves_whole_batches_and_the_next_run_resumes(
    live_env, fake, no_post_steps, tmp_path, how
):
    pmids = fake.add_records(6)
    fake.fault("efetch", "hang", seconds=120, after=2)  # the third batch never answers
    db = tmp_path / "w.duckdb"
    child = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "ingest", "--live", "--batch-size", "2", "--db",
         str(db)],
        cwd=REPO, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert wait_for(lambda: len(fake.calls("efetch")) == 3), "the third batch was not asked"
    finally:
        child.send_signal(how)
        child.wait(30)
    if how == signal.SIGKILL:
        assert child.returncode == -signal.SIGKILL
        assert count(db, "SELECT status FROM core.runs") == [("running",)]
    else:  # recorded as interrupted by the process itself
        assert child.returncode == 130
        assert count(db, "SELECT status, message FROM core.runs") == [
            ("interrupted", "interrupted; whole batches kept")
        ]
    # Batches are fetched ahead of the one being loaded, so when the hanging third request
    # arrives the first two may or may not have committed yet: whichever whole batches did,
    # the rest is what the next run fetches.
    kept = count(db, "SELECT count(*) FROM core.run_batches")[0][0]
    assert kept in (0, 1, 2)
    assert count(db, "SELECT count(*) FROM core.articles") == [(2 * kept,)]
    fake.faults.clear()
    before = sum(len(fetched_pmids(r, fake)) for r in fake.calls("efetch"))
    assert main(["ingest", "--live", "--batch-size", "2", "--db", str(db)]) == 0
    again = [p for r in fake.calls("efetch") for p in fetched_pmids(r, fake)][before:]
    assert again == pmids[2 * kept :]
    assert count(db, "SELECT status, n_loaded FROM core.runs ORDER BY started_at") == [
        ("interrupted", 2 * kept),
        ("completed", 6 - 2 * kept),
    ]
    assert count(db, "SELECT count(*) FROM core.articles") == [(6,)]


# --- the API key stays secret whatever fails ----------------------------------------------------

SECRET_KEY = "SECRETKEY123abcXYZ"


def _echo_key(request) -> bytes:
    """What NCBI answers to a bad key: JSON that quotes it."""
    key = request.params.get("api_key", "")
    return f'{{"error":"API key invalid","api-key":"{key}","type":"invalid"}}'.encode()


def _truncated_with_key(request) -> bytes:
    """A PubmedArticleSet cut off inside a record whose text quotes the key."""
    key = request.params.get("api_key", "")
    return f'<?xml version="1.0" ?>\n<PubmedArticleSet><PubmedArticle><Title>{key}'.encode()


def _not_xml_with_key(request) -> bytes:
    return f"<html>bad request for api_key={request.params.get('api_key', '')}".encode()


KEY_FAULTS = {
    "timeout": [("esearch", "hang", {"times": None, "seconds": 30})],
    "http_400_echoing_the_key": [("esearch", "status", {"status": 400, "body": _echo_key})],
    "http_429_echoing_the_key": [
        (
            "esearch",
            "status",
            {"status": 429, "times": None, "body": _echo_key, "headers": {"Retry-After": "0"}},
        ),
    ],  # fmt: skip
    "http_500_echoing_the_key": [
        ("esearch", "status", {"status": 500, "times": None, "body": _echo_key}),
    ],
    "esearch_not_xml": [
        ("esearch", "status", {"status": 200, "times": None, "body": _not_xml_with_key}),
    ],
    "efetch_400_echoing_the_key": [("efetch", "status", {"status": 400, "body": _echo_key})],
    "efetch_truncated_quoting_the_key": [
        ("efetch", "status", {"status": 200, "times": None, "body": _truncated_with_key}),
    ],
    "efetch_body_broken_off": [("efetch", "broken_body", {"times": None})],
}


def _text_in_every_table(db) -> str:
    """Every value of every column of every table and view, as text."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
        ).fetchall()
        values = []
        for schema, table in tables:
            for row in con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall():
                values += [v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row]
        return "\n".join(values)
    finally:
        con.close()


def _assert_key_nowhere(folder, db, texts: list[str], capsys) -> None:
    assert main(["status", "--db", str(db)]) == 0
    captured = capsys.readouterr()
    for text in (*texts, captured.out, captured.err):
        assert SECRET_KEY not in text
    assert SECRET_KEY not in _text_in_every_table(db)
    dumps = list((folder / "failed_responses").glob("*"))
    for path in folder.rglob("*"):
        if path.is_file():
            assert SECRET_KEY.encode() not in path.read_bytes(), path
    return dumps


@pytest.fixture
def secret_key_env(monkeypatch):
    monkeypatch.setenv("NCBI_EMAIL", "ingest-tests@example.org")
    monkeypatch.setenv("NCBI_API_KEY", SECRET_KEY)
    monkeypatch.setenv("EUTILS_RETRY_DELAYS", "0")
    monkeypatch.setenv("EUTILS_TIMEOUT", "0.5")
    monkeypatch.delenv("PIPELINE_DB", raising=False)


@pytest.mark.parametrize("query", [["--query", "ketamine[tiab]"], []], ids=["GET", "POST"])
def test_the_api_key_leaks_nowhere_when_pubmed_cannot_be_reached(
    secret_key_env, no_post_steps, tmp_path, capsys, caplog, monkeypatch, query
):
    """A short query goes in the URL (GET), the long default one in a form (POST)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("EUTILS_BASE_URL", f"http://127.0.0.1:{port}/")
    caplog.set_level("INFO")
    db = tmp_path / "w.duckdb"
    assert main(["ingest", "--live", *query, "--db", str(db)]) == 1
    captured = capsys.readouterr()
    assert "PubMed could not be reached" in captured.err
    dumps = _assert_key_nowhere(tmp_path, db, [caplog.text, captured.out, captured.err], capsys)
    assert dumps and all(b"api_key=REDACTED" in p.read_bytes() for p in dumps)
    assert count(db, "SELECT status FROM core.runs") == [("failed",)]


@pytest.mark.parametrize("case", sorted(KEY_FAULTS))
def test_the_api_key_leaks_nowhere_whatever_the_server_answers(
    secret_key_env, fake, no_post_steps, tmp_path, capsys, caplog, monkeypatch, case
):
    fake.add_records(2)
    for endpoint, kind, settings in KEY_FAULTS[case]:
        fake.fault(endpoint, kind, **settings)
    caplog.set_level("INFO")
    db = tmp_path / "w.duckdb"
    with serve(fake) as url:
        monkeypatch.setenv("EUTILS_BASE_URL", url)
        code = main(["ingest", "--query", "ketamine", "--batch-size", "1", "--db", str(db)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert fake.calls("esearch")[0].params["api_key"] == SECRET_KEY  # the key was sent
    dumps = _assert_key_nowhere(tmp_path, db, [caplog.text, captured.out, captured.err], capsys)
    assert dumps, "the failed responses were dumped"
    if code == 0:  # the bad batches were quarantined, not dropped
        assert count(db, "SELECT count(*) FROM raw.quarantine")[0][0] >= 1
    else:
        assert count(db, "SELECT status FROM core.runs") == [("failed",)]


def test_each_post_ingest_step_reports_once(offline, tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("PIPELINE_CLINIC_KEY_FILE", str(tmp_path / "clinic.key"))
    monkeypatch.delenv("CLINIC_EXPORT", raising=False)
    caplog.set_level("INFO")
    assert main(["ingest", "--db", str(tmp_path / "w.duckdb")]) == 0
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    reports = [
        [line for line in lines if "(re)extracted" in line or "articles processed" in line],
        [line for line in lines if "synthetic demo clinic data" in line],
        [line for line in lines if line.startswith("registry run")],
        [line for line in lines if "registry cross-check" in line],
        [line for line in lines if "marts refreshed" in line],
    ]
    assert [len(r) for r in reports] == [1, 1, 1, 1, 1], reports
    assert reports[2] == reports[3]  # the registry step says what its cross-check found
    order = [lines.index(r[0]) for r in reports]
    assert order == sorted(order)  # in the order the steps ran
    assert len(lines) == len(set(lines)), lines
