"""The registry stage: parsing every posted value of the six bundled trials, loading one study
per transaction, incremental and resumable live runs against the fake registry, snapshots."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import signal
import subprocess
import sys

import duckdb
import pytest
from fake_ctgov import EXCERPT, FakeCtgov, real_outcome_measures, serve
from fake_eutils import wait_for

from pipeline import warehouse
from pipeline.cli import main
from pipeline.registry import ingest, store
from pipeline.registry.parse import RegistryParseError, count, number, p_value, parse_study
from pipeline.sources.ctgov import CtgovClient, CtgovPolicy
from pipeline.sources.ctgov_snapshot import (
    RegistrySnapshotError,
    bundled_registry_snapshot,
    open_registry_snapshot,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# SHA-256 of esketamine_trd_ctgov_results.json as handed over in the project's shared data.
HANDED_OVER_SHA256 = "f7b67c1bfc5f42bab3f177c869cea11ea1a0774488500e8fb7629eeb154a4292"
MEASURES_PER_TRIAL = {  # as SOURCES.md lists them
    "NCT04599855": 2, "NCT03434041": 12, "NCT02418585": 16, "NCT02918318": 13,
    "NCT02422186": 8, "NCT02417064": 16,
}  # fmt: skip
SIX = sorted(MEASURES_PER_TRIAL)


@pytest.fixture
def con(tmp_path):
    connection = warehouse.connect(tmp_path / "w.duckdb")
    yield connection
    connection.close()


@pytest.fixture
def fake() -> FakeCtgov:
    return FakeCtgov()


class NoSleep:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def sleeps() -> NoSleep:
    return NoSleep()


@pytest.fixture
def client(fake, sleeps):
    with serve(fake) as url:
        policy = CtgovPolicy(base_url=url, request_interval=0.0, retry_delays=(0.0, 0.0),
                             timeout=5.0, page_size=3)  # fmt: skip
        with CtgovClient(policy, sleep=sleeps) as c:
            yield c


def link(con, pmid: str, nct_id: str, source: str = "databank") -> None:
    con.execute(
        "INSERT INTO core.trial_ids VALUES (?, 'ClinicalTrials.gov', ?, ?)", [pmid, nct_id, source]
    )


def rows(con, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


# --- the bundled data ----------------------------------------------------------------------------


def test_the_bundled_copy_is_the_handed_over_file():
    data = EXCERPT.read_bytes()
    assert hashlib.sha256(data).hexdigest() == HANDED_OVER_SHA256
    manifest = json.loads((EXCERPT.parent / "manifest.json").read_text())
    assert manifest["files"][0]["sha256"] == HANDED_OVER_SHA256
    assert (EXCERPT.parent / "SOURCES.md").read_text().startswith("# ClinicalTrials.gov")


def test_a_damaged_snapshot_is_refused(tmp_path):
    for name in ("manifest.json", "SOURCES.md", EXCERPT.name):
        (tmp_path / name).write_bytes((EXCERPT.parent / name).read_bytes())
    damaged = (tmp_path / EXCERPT.name).read_bytes().replace(b'"-21.4"', b'"-21.5"', 1)
    (tmp_path / EXCERPT.name).write_bytes(damaged)
    with pytest.raises(RegistrySnapshotError, match="does not match its checksum"):
        open_registry_snapshot(tmp_path)


# --- values -------------------------------------------------------------------------------------


def test_numbers_keep_their_text_and_flag_what_is_not_a_number():
    assert number("-21.4", "x") == (-21.4, "-21.4", False)
    assert number("NA", "x") == (None, "NA", True)
    assert number(None, "x") == (None, None, False)
    assert number("1.5e-3", "x") == (0.0015, "1.5e-3", False)
    assert count("185", "x") == (185, "185", False)
    assert count("18.5", "x") == (None, "18.5", True)
    assert p_value("<0.001", "x") == (0.001, "<", "<0.001", False)
    assert p_value("=0.020", "x") == (0.02, "=", "=0.020", False)
    assert p_value("0.5", "x") == (0.5, None, "0.5", False)
    assert p_value("NS", "x") == (None, None, "NS", True)


# --- every posted value of the six trials -------------------------------------------------------


@pytest.fixture
def snapshot_con(con):
    ingest.ingest_registry_snapshot(con, open_registry_snapshot(bundled_registry_snapshot()))
    return con


def _denominator(denoms: list[dict], group_id: str) -> str | None:
    for denom in denoms:
        if denom["units"] == "Participants":
            for item in denom["counts"]:
                if item["groupId"] == group_id:
                    return item["value"]
    return None


def test_every_measurement_of_the_six_trials_matches_its_source_strings(snapshot_con):
    source = real_outcome_measures()
    stored = {
        (r[0], r[1], r[2], r[3], r[4]): r[5:]
        for r in rows(
            snapshot_con,
            "SELECT nct_id, outcome_no, class_no, category_no, group_id, value, value_text, "
            "value_not_number, spread, spread_text, lower_limit_text, upper_limit, "
            "upper_limit_text, upper_limit_not_number, n_analyzed, n_analyzed_text, "
            "n_analyzed_level, title, param_type, time_frame, class_title "
            "FROM core.registry_outcomes",
        )
    }
    expected = 0
    for nct_id, measures in source.items():
        for o, measure in enumerate(measures):
            for c, klass in enumerate(measure["classes"]):
                for k, category in enumerate(klass["categories"]):
                    for m in category["measurements"]:
                        expected += 1
                        row = stored[(nct_id, o, c, k, m["groupId"])]
                        (value, value_text, value_flag, spread, spread_text, lower_text, upper,
                         upper_text, upper_flag, n, n_text, level, title, param_type, time_frame,
                         class_title) = row  # fmt: skip
                        assert value_text == m["value"] and value == float(m["value"])
                        assert not value_flag
                        assert spread_text == m.get("spread")
                        assert spread == (float(m["spread"]) if "spread" in m else None)
                        assert lower_text == m.get("lowerLimit")
                        assert upper_text == m.get("upperLimit")
                        if m.get("upperLimit") == "NA":
                            assert upper is None and upper_flag
                        posted_n = _denominator(klass.get("denoms", []), m["groupId"])
                        want_level = "class" if posted_n is not None else "outcome"
                        if posted_n is None:
                            posted_n = _denominator(measure["denoms"], m["groupId"])
                        assert n_text == posted_n and n == int(posted_n) and level == want_level
                        assert title == measure["title"]
                        assert param_type == measure["paramType"]
                        assert time_frame == measure["timeFrame"]
                        assert class_title == klass.get("title")
    assert expected == len(stored) == 255


def test_every_analysis_of_the_six_trials_matches_its_source_strings(snapshot_con):
    source = real_outcome_measures()
    stored = {
        (r[0], r[1], r[2]): r[3:]
        for r in rows(
            snapshot_con,
            "SELECT nct_id, outcome_no, analysis_no, group_ids, param_value_text, param_value, "
            "ci_level_text, ci_sides, ci_lower_text, ci_upper_text, ci_lower, ci_upper, "
            "p_value_text, p_value, p_operator, method, param_type FROM core.registry_analyses",
        )
    }
    expected = 0
    for nct_id, measures in source.items():
        for o, measure in enumerate(measures):
            for a, analysis in enumerate(measure.get("analyses", [])):
                expected += 1
                (groups, value_text, value, level, sides, low_text, high_text, low, high, p_text,
                 p, operator, method, param_type) = stored[(nct_id, o, a)]  # fmt: skip
                assert groups == analysis["groupIds"]
                assert value_text == analysis["paramValue"]
                assert value == float(analysis["paramValue"])
                assert level == analysis["ciPctValue"] and sides == analysis["ciNumSides"]
                assert (low_text, high_text) == (analysis["ciLowerLimit"], analysis["ciUpperLimit"])
                assert (low, high) == (float(low_text), float(high_text))
                assert p_text == analysis.get("pValue")
                if p_text:
                    assert f"{operator or ''}{p_text.lstrip('<>=')}" == p_text
                    assert p == float(p_text.lstrip("<>="))
                assert method == analysis.get("statisticalMethod")
                assert param_type == analysis["paramType"]
    assert expected == len(stored) == 18


def test_snapshot_studies_leave_absent_fields_empty(snapshot_con):
    found = rows(
        snapshot_con,
        "SELECT nct_id, n_outcome_measures, brief_title, phases, enrollment, has_results, "
        "last_update_post_date, fields_absent, source FROM core.registry_studies ORDER BY 1",
    )
    assert [(r[0], r[1]) for r in found] == sorted(MEASURES_PER_TRIAL.items())
    for row in found:
        assert row[2:7] == (None, None, None, None, None)
        assert row[7] == "protocolSection, hasResults" and row[8] == "snapshot"


def test_groups_are_mapped_with_the_extractor_vocabulary(snapshot_con):
    groups = {
        (r[0], r[1]): r[2:]
        for r in rows(
            snapshot_con,
            "SELECT nct_id, group_id, title, drugs, routes, dose, role, comparator "
            "FROM core.registry_groups WHERE outcome_no = 0",
        )
    }
    assert groups[("NCT04599855", "OG000")] == (
        "DB: Placebo",
        None,
        ["intranasal"],
        None,
        "comparator",
        ["placebo"],
    )
    assert groups[("NCT04599855", "OG001")] == (
        "DB: Esketamine 56 mg",
        ["esketamine"],
        ["intranasal"],
        "56 mg",
        "drug",
        None,
    )
    esk_ad = groups[("NCT03434041", "OG000")]
    assert esk_ad[1] == ["esketamine"] and esk_ad[4] == "drug" and esk_ad[3] is None
    assert groups[("NCT03434041", "OG001")][4] == "comparator"
    assert groups[("NCT02417064", "OG002")][4] == "comparator"  # Oral AD Plus Intranasal Placebo
    roles = rows(snapshot_con, "SELECT count(*) FROM core.registry_groups WHERE role IS NULL")
    assert roles == [(0,)]
    # The extractor reads "28 mg", not "28 Milligrams (mg)": the dose is left unknown, not guessed.
    assert groups[("NCT02918318", "OG000")][:4] == (
        "Esketamine 28 Milligrams (mg)",
        ["esketamine"],
        ["intranasal"],
        None,
    )


def test_a_measurement_for_an_unlisted_group_is_refused_with_where():
    measures = real_outcome_measures()["NCT04599855"]
    measures[1]["classes"][0]["categories"][0]["measurements"][0]["groupId"] = "OG009"
    document = {"resultsSection": {"outcomeMeasuresModule": {"outcomeMeasures": measures}}}
    with pytest.raises(RegistryParseError, match=r"NCT04599855 outcome measure 1 .*'OG009'"):
        parse_study("NCT04599855", document)


def test_a_document_about_another_study_is_refused():
    document = {"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}}}
    with pytest.raises(RegistryParseError, match="NCT00000002: the document is about NCT00000001"):
        parse_study("NCT00000002", document)


def test_a_full_document_fills_the_study_row():
    document = {
        "protocolSection": {
            "identificationModule": {"nctId": "NCT00000001", "briefTitle": "A trial",
                                     "acronym": "AT"},
            "statusModule": {"overallStatus": "COMPLETED",
                             "startDateStruct": {"date": "2016-08"},
                             "lastUpdatePostDateStruct": {"date": "2020-01-02"}},
            "designModule": {"phases": ["PHASE3"],
                             "enrollmentInfo": {"count": 227, "type": "ACTUAL"}},
            "referencesModule": {"references": [{"pmid": "31109201"}, {"citation": "x"}]},
        },
        "hasResults": False,
    }  # fmt: skip
    study = parse_study("NCT00000001", document).study
    assert study["brief_title"] == "A trial" and study["phases"] == ["PHASE3"]
    assert (study["enrollment"], study["enrollment_text"]) == (227, "227")
    assert study["start_date"] == "2016-08" and study["last_update_post_date"] == "2020-01-02"
    assert study["reference_pmids"] == ["31109201"] and study["has_results"] is False
    assert study["fields_absent"] == "resultsSection"


# --- snapshot runs ------------------------------------------------------------------------------


def test_a_snapshot_rerun_loads_nothing_again(snapshot_con):
    second = ingest.ingest_registry_snapshot(
        snapshot_con, open_registry_snapshot(bundled_registry_snapshot())
    )
    assert (second.n_loaded, second.n_unchanged) == (0, 6)
    assert rows(snapshot_con, "SELECT count(*) FROM raw.registry_records") == [(6,)]


def test_snapshot_raw_records_keep_url_checksum_and_run(snapshot_con):
    for nct_id, checksum, url, payload, run_id in rows(
        snapshot_con, "SELECT nct_id, checksum, url, payload, run_id FROM raw.registry_records"
    ):
        assert hashlib.sha256(payload).hexdigest() == checksum
        assert url == (
            f"https://clinicaltrials.gov/api/v2/studies/{nct_id}"
            "?fields=hasResults,resultsSection.outcomeMeasuresModule"
        )
        measures = json.loads(payload)["resultsSection"]["outcomeMeasuresModule"]
        assert measures["outcomeMeasures"] == real_outcome_measures()[nct_id]
        assert rows(snapshot_con, "SELECT status FROM core.registry_runs WHERE run_id = ?",
                    [run_id]) == [("completed",)]  # fmt: skip


# --- live runs ----------------------------------------------------------------------------------


def test_linked_and_searched_studies_are_all_loaded_exactly_once(con, client, fake, sleeps):
    link(con, "29700001", "NCT02417064")
    link(con, "29700002", "NCT02418585", source="text")  # written in the abstract only
    link(con, "29700003", "NCT09999999")  # not in the registry
    fake.fault("study", "status", status=429, headers={"Retry-After": "7"})
    fake.fault("study", "status", status=500, after=2)
    fake.fault("study", "truncate", after=4)
    summary = ingest.ingest_registry_live(con, client)
    assert (summary.status, summary.n_loaded, summary.n_not_found, summary.n_failed) == (
        "completed", 6, 1, 0,
    )  # fmt: skip
    assert 7.0 in sleeps.sleeps
    assert sorted(set(fake.fetched_ids())) == sorted([*SIX, "NCT09999999"])
    assert rows(con, "SELECT count(*), count(DISTINCT nct_id) FROM raw.registry_records") == [
        (6, 6)
    ]
    assert rows(con, "SELECT count(*) FROM core.registry_studies WHERE source = 'live'") == [(6,)]
    assert rows(con, "SELECT count(*) FROM core.registry_outcomes") == [(255,)]
    assert rows(
        con, "SELECT outcome, message FROM core.registry_fetches WHERE nct_id = 'NCT09999999'"
    ) == [("not_in_registry", "NCT09999999 is not in the registry (HTTP 404 from "
           f"{client.policy.base_url}studies/NCT09999999)")]  # fmt: skip
    assert rows(con, "SELECT nct_id, link_source, weak FROM core.registry_links ORDER BY 1") == [
        ("NCT02417064", "databank", False),
        ("NCT02418585", "text", True),
        ("NCT09999999", "databank", False),
    ]
    dates = rows(con, "SELECT DISTINCT last_update_post_date FROM core.registry_studies")
    assert dates == [("2024-01-15",)]


def test_a_rerun_with_nothing_changed_fetches_no_study(con, client, fake):
    link(con, "29700003", "NCT09999999")
    ingest.ingest_registry_live(con, client)
    before = len(fake.fetched_ids())
    second = ingest.ingest_registry_live(con, client)
    assert fake.fetched_ids()[before:] == []
    assert (second.n_fetched, second.n_unchanged, second.n_not_found) == (0, 6, 1)


def test_linked_studies_outside_the_search_are_checked_by_update_date(con, client, fake):
    fake.search_hits = ["NCT02417064"]
    for i, nct_id in enumerate(SIX):
        link(con, f"2970000{i}", nct_id)
    ingest.ingest_registry_live(con, client)
    fake.update("NCT02422186", "2026-11-30")
    before = len(fake.fetched_ids())
    ingest.ingest_registry_live(con, client)
    assert fake.fetched_ids()[before:] == ["NCT02422186"]
    listing = [r for r in fake.calls("studies") if "filter.ids" in r.params][-1]
    assert listing.params["filter.advanced"] == "AREA[LastUpdatePostDate]RANGE[2024-01-15,MAX]"


def _change_first_value(study: dict) -> None:
    measure = study["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"][0]
    measure["classes"][0]["categories"][0]["measurements"][0]["value"] = "-99.9"
    del measure["analyses"]


def test_a_changed_study_is_fetched_again_and_its_rows_replaced(con, client, fake):
    ingest.ingest_registry_live(con, client)
    fake.update("NCT04599855", "2026-11-30", _change_first_value)
    before = len(fake.fetched_ids())
    ingest.ingest_registry_live(con, client)
    assert fake.fetched_ids()[before:] == ["NCT04599855"]
    assert rows(
        con,
        "SELECT value_text FROM core.registry_outcomes WHERE nct_id = 'NCT04599855' "
        "AND outcome_no = 0 AND group_id = 'OG000'",
    ) == [("-99.9",)]
    assert rows(
        con, "SELECT count(*) FROM core.registry_outcomes WHERE nct_id = 'NCT04599855'"
    ) == [(6,)]
    assert rows(
        con, "SELECT count(*) FROM core.registry_analyses WHERE nct_id = 'NCT04599855'"
    ) == [(2,)]  # the first measure's two analyses are gone, the second's kept
    assert rows(con, "SELECT count(*) FROM raw.registry_records WHERE nct_id = 'NCT04599855'") == [
        (2,)
    ]  # both versions kept as received
    assert rows(
        con, "SELECT last_update_post_date FROM core.registry_studies WHERE nct_id = 'NCT04599855'"
    ) == [("2026-11-30",)]


def test_a_load_that_fails_midway_leaves_the_old_rows(con, client, fake, monkeypatch):
    ingest.ingest_registry_live(con, client)
    before = rows(
        con, "SELECT * FROM core.registry_outcomes WHERE nct_id = 'NCT04599855' ORDER BY ALL"
    )
    fake.update("NCT04599855", "2026-11-30", _change_first_value)
    original = store._insert

    def failing(con_, table, rows_, columns):
        if table == "core.registry_analyses":
            raise RuntimeError("disk full")
        original(con_, table, rows_, columns)

    monkeypatch.setattr(store, "_insert", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest.ingest_registry_live(con, client)
    after = rows(
        con, "SELECT * FROM core.registry_outcomes WHERE nct_id = 'NCT04599855' ORDER BY ALL"
    )
    assert after == before
    assert rows(con, "SELECT count(*) FROM raw.registry_records") == [(6,)]
    assert rows(con, "SELECT status FROM core.registry_runs ORDER BY started_at DESC LIMIT 1") == [
        ("failed",)
    ]


def test_ctrl_c_inside_a_study_load_is_recorded_as_interrupted(con, client, fake, monkeypatch):
    """DuckDB raises RuntimeError('Query interrupted') for Ctrl-C inside a query: the run is
    interrupted, not failed, and the study being written is left as it was."""
    original = store._insert
    inserts = []

    def interrupted(con_, table, rows_, columns):
        inserts.append(table)
        if len(inserts) == 3:
            raise RuntimeError("Query interrupted")
        original(con_, table, rows_, columns)

    monkeypatch.setattr(store, "_insert", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ingest.ingest_registry_live(con, client)
    assert rows(con, "SELECT status, message FROM core.registry_runs") == [
        ("interrupted", "interrupted; studies loaded are kept")
    ]


def test_a_body_that_stays_truncated_is_recorded_as_failed_and_nothing_loaded(con, client, fake):
    fake.fault("study", "truncate", times=None, when=lambda r: r.nct_id == "NCT02918318")
    summary = ingest.ingest_registry_live(con, client)
    assert (summary.n_loaded, summary.n_failed) == (5, 1)
    for table in ("raw.registry_records", "core.registry_studies", "core.registry_outcomes"):
        assert rows(con, f"SELECT count(*) FROM {table} WHERE nct_id = 'NCT02918318'") == [(0,)]
    ((outcome, message),) = rows(
        con, "SELECT outcome, message FROM core.registry_fetches WHERE nct_id = 'NCT02918318'"
    )
    assert outcome == "failed" and "not complete JSON" in message
    ((location, payload),) = rows(
        con, "SELECT location, payload FROM raw.quarantine WHERE stage = 'registry'"
    )
    assert location == "NCT02918318" and len(payload) > 0
    fake.faults.clear()
    before = len(fake.fetched_ids())
    ingest.ingest_registry_live(con, client)  # the failed study is asked again, alone
    assert fake.fetched_ids()[before:] == ["NCT02918318"]


def test_live_replaces_snapshot_studies_and_snapshot_keeps_live_ones(snapshot_con, client, fake):
    first = ingest.ingest_registry_live(snapshot_con, client)
    assert first.n_loaded == 6
    again = ingest.ingest_registry_snapshot(
        snapshot_con, open_registry_snapshot(bundled_registry_snapshot())
    )
    assert (again.n_loaded, again.n_unchanged) == (0, 6)
    assert rows(snapshot_con, "SELECT DISTINCT source FROM core.registry_studies") == [("live",)]


def test_plan_fetches():
    stored = {"NCT1": ("2024-01-01", "live", "c1"), "NCT2": (None, "snapshot", "c2")}
    listed = {"NCT1": "2024-01-01", "NCT3": "2024-02-02"}
    assert ingest.plan_fetches({"NCT1", "NCT2", "NCT3", "NCT4"}, stored, {"NCT4"}, listed) == [
        "NCT2", "NCT3",
    ]  # fmt: skip
    listed["NCT1"] = "2025-01-01"
    listed["NCT4"] = "2025-01-01"
    assert ingest.plan_fetches({"NCT1", "NCT4"}, stored, {"NCT4"}, listed) == ["NCT1", "NCT4"]


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def offline(monkeypatch):
    for name in ("NCBI_EMAIL", "NCBI_API_KEY", "CTGOV_BASE_URL", "PIPELINE_DB"):
        monkeypatch.delenv(name, raising=False)


def test_the_command_loads_the_bundled_snapshot_and_says_so(offline, tmp_path, caplog, capsys):
    caplog.set_level("INFO")
    db = tmp_path / "w.duckdb"
    assert main(["registry", "ingest", "--db", str(db)]) == 0
    assert "loading the bundled registry snapshot of 2026-09-11 (6 studies" in caplog.text
    assert "6 loaded" in capsys.readouterr().out


def test_the_command_runs_with_the_ingest_memory_cap(offline, tmp_path, monkeypatch):
    """A registry ingest is an ingest: DuckDB's cache at 128 MB, not the 256 MB of queries."""
    from pipeline.registry import ingest as registry_ingest

    monkeypatch.delenv("PIPELINE_DB_MEMORY_LIMIT", raising=False)
    seen = []
    load = registry_ingest.ingest_registry_snapshot

    def probe(con, *args, **kwargs):
        seen.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        return load(con, *args, **kwargs)

    monkeypatch.setattr(registry_ingest, "ingest_registry_snapshot", probe)
    assert main(["registry", "ingest", "--db", str(tmp_path / "w.duckdb")]) == 0
    assert seen == ["122.0 MiB"]  # 128 MB


def test_live_and_snapshot_exclude_each_other(offline, tmp_path, capsys):
    code = main(["registry", "ingest", "--live", "--snapshot", str(tmp_path), "--db",
                 str(tmp_path / "w.duckdb")])  # fmt: skip
    assert code == 2 and "exclude each other" in capsys.readouterr().err


def test_a_recorded_live_run_replays_the_same(offline, fake, tmp_path, monkeypatch, capsys):
    fast = functools.partial(CtgovPolicy, request_interval=0.0)
    monkeypatch.setattr("pipeline.commands.registry.CtgovPolicy", fast)
    with serve(fake) as url:
        monkeypatch.setenv("CTGOV_BASE_URL", url)
        live_db, replay_db = tmp_path / "live.duckdb", tmp_path / "replay.duckdb"
        record = tmp_path / "recorded"
        assert main(["registry", "ingest", "--live", "--record", str(record), "--db",
                     str(live_db)]) == 0  # fmt: skip
    assert main(["registry", "ingest", "--snapshot", str(record), "--db", str(replay_db)]) == 0
    query = "SELECT * EXCLUDE (run_id, loaded_at, source) FROM core.registry_studies ORDER BY 1"
    outcomes = "SELECT * FROM core.registry_outcomes ORDER BY ALL"
    results = []
    for db in (live_db, replay_db):
        c = duckdb.connect(str(db), read_only=True)
        results.append((c.execute(query).fetchall(), c.execute(outcomes).fetchall()))
        c.close()
    assert results[0] == results[1] and len(results[0][1]) == 255


@pytest.mark.slow  # a second process
def test_a_killed_run_resumes_without_fetching_again(offline, fake, tmp_path, monkeypatch):
    fake.fault("study", "hang", seconds=120, after=3)  # the fourth study never answers
    db = tmp_path / "w.duckdb"
    with serve(fake) as url:
        env = {**os.environ, "CTGOV_BASE_URL": url}
        child = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "registry", "ingest", "--live", "--db", str(db)],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            assert wait_for(lambda: len(fake.fetched_ids()) == 4), "the fourth study was not asked"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(30)
        first = fake.fetched_ids()
        fake.faults.clear()
        monkeypatch.setenv("CTGOV_BASE_URL", url)
        assert main(["registry", "ingest", "--live", "--db", str(db)]) == 0
    again = fake.fetched_ids()[len(first) :]
    assert sorted(again) == sorted(set(SIX) - set(first[:3]))
    c = duckdb.connect(str(db), read_only=True)
    try:
        statuses = c.execute("SELECT status FROM core.registry_runs ORDER BY started_at")
        assert statuses.fetchall() == [
            ("interrupted",), ("completed",),
        ]  # fmt: skip
        assert c.execute("SELECT count(*) FROM raw.registry_records").fetchall() == [(6,)]
    finally:
        c.close()


def test_the_post_ingest_step_loads_the_bundled_snapshot_offline(offline, con, caplog):
    caplog.set_level("INFO")
    message = ingest.ingest_after_pubmed(con)
    assert "6 loaded" in message
    assert "offline (no NCBI_EMAIL): loading the bundled registry snapshot" in caplog.text
