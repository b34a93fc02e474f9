"""The warehouse: migrations, schema version, batch loads (upsert, raw versions, rollback)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import warehouse
from pipeline.article_rows import article_rows
from pipeline.errors import PipelineError, WarehouseLockedError
from pipeline.models import AbstractSection, Article, Quarantined, RawRecord
from pipeline.parse import ParsedRecord, parse_pubmed_xml

# These tests are about the migrations themselves: every new database here is migrated for real.
pytestmark = pytest.mark.fresh_migrations

REPO = Path(__file__).resolve().parent.parent
LOADED_TABLES = ("raw.records", "raw.quarantine", "core.articles", *warehouse.ARTICLE_CHILD_TABLES)


@pytest.fixture(scope="module")
def parsed(pubmed_records: Path) -> list[ParsedRecord]:
    items = list(parse_pubmed_xml((pubmed_records / "efetch_sample.xml").read_bytes(), "live"))
    assert all(isinstance(item, ParsedRecord) for item in items)
    return items


@pytest.fixture
def con(tmp_path: Path):
    connection = warehouse.connect(tmp_path / "evidence.duckdb")
    yield connection
    connection.close()


def load(con, items: list[ParsedRecord], run_id: str = "run-1", quarantined=()) -> None:
    warehouse.load_batch(
        con, [i.article for i in items], [i.raw for i in items], run_id, quarantined
    )


def counts(con) -> dict[str, int]:
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in LOADED_TABLES}


def contents(con) -> dict[str, list[tuple]]:
    """Every loaded row, sorted, to compare a database before and after."""
    return {
        t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in LOADED_TABLES
    }


def revised(item: ParsedRecord, title: str) -> ParsedRecord:
    """A later version of the same record: new bytes, a new title, one author fewer."""
    payload = item.raw.payload.replace(b"<ArticleTitle>", b"<ArticleTitle>[Revised] ", 1)
    article = dataclasses.replace(item.article, title=title, authors=item.article.authors[:-1])
    return ParsedRecord(dataclasses.replace(item.raw, payload=payload), article)


# --- migrations -----------------------------------------------------------------------------


def test_migrations_are_numbered_uniquely_and_applied_in_order(con) -> None:
    migrations = warehouse.available_migrations()
    versions = [m.version for m in migrations]
    assert versions == sorted(set(versions)) and versions[0] == 1
    applied = con.execute("SELECT version FROM meta.schema_migrations ORDER BY version").fetchall()
    assert [v for (v,) in applied] == versions
    assert warehouse.schema_version(con) == versions[-1]


def test_reconnecting_applies_nothing_new(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    warehouse.connect(path).close()
    con = warehouse.connect(path, migrate=False)
    try:
        assert warehouse.apply_migrations(con) == []
        assert warehouse.schema_version(con) == warehouse.available_migrations()[-1].version
    finally:
        con.close()


def test_an_empty_database_has_version_zero() -> None:
    con = warehouse.connect(":memory:", migrate=False)
    assert warehouse.schema_version(con) == 0


def test_schema_sql_is_in_sync_with_the_migrations() -> None:
    committed = (REPO / "warehouse" / "schema.sql").read_text(encoding="utf-8")
    assert committed == warehouse.dump_schema(warehouse.connect(":memory:")), (
        "warehouse/schema.sql is stale: run `make schema` and commit it"
    )


def test_read_only_on_a_missing_database_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="make ingest"):
        warehouse.connect(tmp_path / "missing.duckdb", read_only=True)


def test_a_path_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(PipelineError, match="a-file"):
        warehouse.connect(blocker / "evidence.duckdb")


@pytest.mark.slow  # a second process
def test_a_database_held_by_another_process_raises_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    warehouse.connect(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('open', flush=True); "
         "sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(WarehouseLockedError, match="in use by another process"):
            warehouse.connect(path)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


# --- loads ----------------------------------------------------------------------------------


def test_a_batch_lands_in_every_table(con, parsed: list[ParsedRecord]) -> None:
    load(con, parsed)
    n = counts(con)
    assert n["core.articles"] == 3 and n["raw.records"] == 3 and n["raw.quarantine"] == 0
    expected_authors = sum(len(i.article.authors) for i in parsed)
    assert n["core.authors"] == expected_authors
    expected_mesh = sum(1 + len(m.qualifiers) for i in parsed for m in i.article.mesh)
    assert n["core.mesh_headings"] == expected_mesh
    assert n["core.abstract_sections"] == sum(len(i.article.sections) for i in parsed)
    assert n["core.trial_ids"] == 3


def test_loaded_values_round_trip(con, parsed: list[ParsedRecord]) -> None:
    load(con, parsed)
    sustain = parsed[0]
    row = con.execute(
        "SELECT title, abstract, pub_year, doi, pmcid, languages, date_revised, is_retracted, "
        "has_erratum, source, checksum, run_id FROM core.articles WHERE pmid = '31166571'"
    ).fetchall()[0]
    assert row[0] == sustain.article.title
    assert row[1] == sustain.article.abstract
    assert row[2:7] == (2019, "10.1001/jamapsychiatry.2019.1189", "PMC6551577", ["eng"],
                        sustain.article.date_revised)  # fmt: skip
    assert row[7:] == (
        False,
        False,
        "live",
        hashlib.sha256(sustain.raw.payload).hexdigest(),
        "run-1",
    )
    ((stored, codec, size, fmt),) = con.execute(
        "SELECT payload, payload_codec, payload_size, format FROM raw.records "
        "WHERE pmid = '31166571'"
    ).fetchall()
    assert (codec, size, fmt) == ("zstd", len(sustain.raw.payload), "xml")
    assert len(stored) < len(sustain.raw.payload) / 2  # stored compressed
    assert warehouse.read_raw_payload(con, "31166571") == sustain.raw.payload
    author = con.execute(
        "SELECT last_name, fore_name, initials, affiliations FROM core.authors "
        "WHERE pmid = '31166571' AND position = 1"
    ).fetchall()[0]
    assert author == ("Daly", "Ella J", "EJ", list(sustain.article.authors[0].affiliations))
    qualifiers = con.execute(
        "SELECT qualifier, qualifier_ui, qualifier_major FROM core.mesh_headings "
        "WHERE pmid = '31166571' AND descriptor = 'Antidepressive Agents' "
        "AND qualifier IS NOT NULL "
        "ORDER BY qualifier"
    ).fetchall()
    assert qualifiers == [
        ("administration & dosage", "Q000008", False),
        ("adverse effects", "Q000009", False),
        ("pharmacology", "Q000494", True),
    ]
    for start, end, text in con.execute(
        "SELECT start_offset, end_offset, text FROM core.abstract_sections WHERE pmid = '31166571'"
    ).fetchall():
        assert sustain.article.abstract[start:end] == text


def test_a_raw_record_stored_before_compression_reads_back_as_received(
    tmp_path: Path, monkeypatch
) -> None:
    """Migration 002 keeps rows stored uncompressed, with their codec and size."""
    con = warehouse.connect(tmp_path / "old.duckdb", migrate=False)
    every = warehouse.available_migrations()
    monkeypatch.setattr(warehouse, "available_migrations", lambda: every[:1])
    assert warehouse.apply_migrations(con) == [1]
    monkeypatch.undo()
    payload = b"<PubmedArticle>as received</PubmedArticle>"
    con.execute(
        "INSERT INTO raw.records VALUES ('1', ?, 'xml', 'live', 'run-0', now(), ?)",
        [hashlib.sha256(payload).hexdigest(), payload],
    )
    warehouse.apply_migrations(con)
    assert con.execute("SELECT payload_codec, payload_size FROM raw.records").fetchall() == [
        ("identity", len(payload))
    ]
    assert warehouse.read_raw_payload(con, "1") == payload
    con.close()


def test_a_raw_payload_that_cannot_be_read_back_exactly_is_an_error(con, parsed) -> None:
    load(con, parsed)
    raw = parsed[0].raw
    stored = warehouse.raw_row(raw, "run-1", warehouse.now())[6]
    assert warehouse.unpack_payload(stored, "zstd", len(raw.payload)) == raw.payload
    with pytest.raises(PipelineError, match="unknown payload codec 'gzip'"):
        warehouse.unpack_payload(stored, "gzip", len(raw.payload))
    with pytest.raises(PipelineError, match="zstd payload cannot be read"):
        warehouse.unpack_payload(stored[: len(stored) // 2], "zstd", len(raw.payload))
    with pytest.raises(PipelineError, match="4 bytes, but 5 stored as its size"):
        warehouse.unpack_payload(b"abcd", "identity", 5)
    con.execute(
        "UPDATE raw.records SET payload = ?, payload_codec = 'identity', payload_size = 8 "
        "WHERE pmid = ?",
        [b"tampered", raw.pmid],
    )
    with pytest.raises(PipelineError, match=f"PMID {raw.pmid} .* do not match their checksum"):
        warehouse.read_raw_payload(con, raw.pmid)
    with pytest.raises(PipelineError, match="PMID 1: no raw record with checksum 00"):
        warehouse.read_raw_payload(con, "1", "00")


def test_loading_the_same_batch_twice_changes_nothing(con, parsed: list[ParsedRecord]) -> None:
    load(con, parsed, "run-1")
    before = counts(con)
    load(con, parsed, "run-2")
    assert counts(con) == before
    runs = con.execute("SELECT DISTINCT run_id FROM core.articles").fetchall()
    assert runs == [("run-2",)]  # the article rows are the latest load's
    assert con.execute("SELECT DISTINCT run_id FROM raw.records").fetchall() == [("run-1",)]


def test_articles_given_as_their_rows_load_the_same_rows(
    tmp_path: Path, parsed: list[ParsedRecord]
) -> None:
    tables = {}
    for name, as_rows in (("articles", False), ("rows", True)):
        connection = warehouse.connect(tmp_path / f"{name}.duckdb")
        articles = [article_rows(i.article) if as_rows else i.article for i in parsed]
        warehouse.load_batch(connection, articles, [i.raw for i in parsed], "run-1")
        tables[name] = {
            t: sorted(
                map(repr, connection.execute(f"SELECT * EXCLUDE (loaded_at) FROM {t}").fetchall())
            )
            if t == "core.articles"
            else rows
            for t, rows in contents(connection).items()
            if t != "raw.records"
        }
        connection.close()
    assert tables["rows"] == tables["articles"]
    assert len(tables["rows"]["core.authors"]) > 10


def test_a_revised_record_replaces_the_article_and_keeps_both_raw_versions(
    con, parsed: list[ParsedRecord]
) -> None:
    load(con, parsed, "run-1")
    before = counts(con)
    newer = revised(parsed[0], "Revised title")
    load(con, [newer], "run-2")
    after = counts(con)
    assert after["core.articles"] == 3
    assert after["core.authors"] == before["core.authors"] - 1
    assert after["raw.records"] == 4
    assert con.execute(
        "SELECT title, checksum FROM core.articles WHERE pmid = '31166571'"
    ).fetchall() == [("Revised title", newer.raw.checksum)]
    versions = con.execute(
        "SELECT checksum FROM raw.records WHERE pmid = '31166571' ORDER BY retrieved_at"
    ).fetchall()
    assert [c for (c,) in versions] == [parsed[0].raw.checksum, newer.raw.checksum]
    assert con.execute(
        "SELECT count(*) FROM core.articles WHERE pmid <> '31166571' AND run_id = 'run-1'"
    ).fetchall() == [(2,)]


def test_the_last_version_of_a_pmid_in_one_batch_wins(
    con, parsed: list[ParsedRecord], caplog
) -> None:
    newer = revised(parsed[0], "Second version")
    load(con, [parsed[0], parsed[1], newer])
    assert "appear more than once in one batch (31166571)" in caplog.text
    assert con.execute(
        "SELECT title, checksum FROM core.articles WHERE pmid = '31166571'"
    ).fetchall() == [("Second version", newer.raw.checksum)]
    assert counts(con)["raw.records"] == 3  # both versions of 31166571, and 31290965


def test_a_failed_load_leaves_the_database_as_it_was(con, parsed: list[ParsedRecord]) -> None:
    load(con, parsed[:2], "run-1")
    before = contents(con)
    # Two sections with the same number break core.abstract_sections' key, a statement that
    # runs after the raw records, the deletes and the article rows of the same batch.
    bad_article = dataclasses.replace(
        revised(parsed[0], "Never stored").article,
        sections=[
            AbstractSection(1, None, None, "a", 0, 1),
            AbstractSection(1, None, None, "b", 2, 3),
        ],
    )
    bad = ParsedRecord(revised(parsed[0], "Never stored").raw, bad_article)
    quarantined = [Quarantined("parse", "broken", b"<PubmedArticle>", "1")]
    with pytest.raises(Exception, match="(?i)constraint|duplicate"):
        load(con, [parsed[2], bad], "run-2", quarantined)
    assert contents(con) == before


def test_articles_without_their_raw_record_are_refused(con, parsed: list[ParsedRecord]) -> None:
    with pytest.raises(PipelineError, match="31166571"):
        warehouse.load_batch(con, [parsed[0].article], [parsed[1].raw], "run-1")
    assert all(n == 0 for n in counts(con).values())


def test_quarantined_records_are_kept_with_their_bytes(con, parsed: list[ParsedRecord]) -> None:
    bad = Quarantined(
        "parse", "malformed XML in PMID 2", b"<PubmedArticle><PMID>2", "2", "record 2"
    )
    load(con, parsed[:1], "run-1", [bad])
    assert warehouse.quarantine(con, "run-1", [Quarantined("fetch", "timeout", b"", None)]) == 1
    rows = con.execute(
        "SELECT run_id, stage, pmid, location, error, payload FROM raw.quarantine "
        "ORDER BY quarantine_id"
    ).fetchall()
    assert rows == [
        ("run-1", "parse", "2", "record 2", "malformed XML in PMID 2", b"<PubmedArticle><PMID>2"),
        ("run-1", "fetch", None, None, "timeout", b""),
    ]


def test_an_empty_batch_is_a_no_op(con) -> None:
    warehouse.load_batch(con, [], [], "run-1")
    assert all(n == 0 for n in counts(con).values())


def test_json_snapshot_articles_load_with_empty_parts(con) -> None:
    article = Article(pmid="40601310", title="Esketamine Monotherapy", abstract="Text.")
    raw = RawRecord("40601310", b'{"pmid": "40601310"}', "json", "snapshot")
    warehouse.load_batch(con, [article], [raw], "run-1")
    row = con.execute(
        "SELECT languages, keywords, abstract_complete, source FROM core.articles"
    ).fetchall()
    assert row == [([], [], None, "snapshot")]


def test_a_batch_marker_commits_with_its_batch_or_not_at_all(tmp_path, pubmed_records):
    from pipeline.parse import ParsedRecord, parse_pubmed_xml

    parsed = [
        p
        for p in parse_pubmed_xml((pubmed_records / "efetch_sample.xml").read_bytes(), "snapshot")
        if isinstance(p, ParsedRecord)
    ]
    con = warehouse.connect(tmp_path / "w.duckdb")
    pmids = [p.article.pmid for p in parsed]
    warehouse.load_batch(
        con, [p.article for p in parsed], [p.raw for p in parsed], "run-1",
        batch_no=1, batch_pmids=pmids,
    )  # fmt: skip
    assert con.execute("SELECT batch_no, pmids FROM core.run_batches").fetchall() == [(1, pmids)]

    broken = parsed[0].article
    with pytest.raises(PipelineError):  # an article without its raw record fails the batch
        warehouse.load_batch(con, [broken], [], "run-1", batch_no=2, batch_pmids=[broken.pmid])
    assert con.execute("SELECT count(*) FROM core.run_batches").fetchone()[0] == 1


def test_the_memory_limit_setting_caps_duckdb(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_DB_MEMORY_LIMIT", "200MB")
    con = warehouse.connect(tmp_path / "w.duckdb")
    limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit == "190.7 MiB"  # DuckDB reports 200 MB in MiB


def test_duckdb_is_capped_by_default(tmp_path, monkeypatch):
    """Without the setting DuckDB would cache up to 80% of RAM as the warehouse grows."""
    monkeypatch.delenv("PIPELINE_DB_MEMORY_LIMIT", raising=False)
    con = warehouse.connect(tmp_path / "w.duckdb")
    limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    con.close()
    assert limit == "244.1 MiB"  # 256 MB


@pytest.mark.parametrize(("chosen", "expected"), [(None, "system"), ("jemalloc", "jemalloc")])
def test_connecting_has_pyarrow_allocate_with_malloc_unless_arrow_is_told_otherwise(
    chosen, expected
):
    """Checked in a new process: pyarrow picks its pool once, on first use."""
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    code = (
        "import pyarrow as pa; from pipeline import warehouse; "
        "warehouse.connect(':memory:').close(); print(pa.default_memory_pool().backend_name)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == expected


def test_an_interrupted_query_rolls_back_and_is_raised_as_an_interrupt(tmp_path):
    """Ctrl-C, or SIGTERM made an interrupt, that lands inside a query comes out of DuckDB as
    RuntimeError('Query interrupted'): the transaction rolls back and raises the interrupt."""
    con = warehouse.connect(tmp_path / "w.duckdb", migrate=False)
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    with pytest.raises(KeyboardInterrupt) as raised, warehouse.transaction(con):
        con.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("Query interrupted")  # what DuckDB 2.0 raises for it
    assert isinstance(raised.value.__cause__, RuntimeError)
    assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
    with pytest.raises(RuntimeError, match="another error"), warehouse.transaction(con):
        raise RuntimeError("another error")  # any other error stays what it is
    con.close()
