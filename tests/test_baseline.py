"""The PubMed baseline path: files in order, latest versions, DeleteCitation, the filter, Parquet
per file skipped when done, and the bulk load, on a local Dask cluster of 2 workers."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path

import pytest

from benchmarks.bench_ingest import renumbered, source_records
from pipeline import warehouse
from pipeline.cli import main
from pipeline.sources import baseline


def _write(path: Path, prolog: bytes, records: list[bytes], deleted: list[int] = ()) -> Path:
    body = prolog + b"\n" + b"\n".join(records)
    if deleted:
        body += (
            b"\n<DeleteCitation>"
            + b"".join(f'<PMID Version="1">{p}</PMID>'.encode() for p in deleted)
            + b"</DeleteCitation>"
        )
    path.write_bytes(gzip.compress(body + b"\n</PubmedArticleSet>\n"))
    return path


@pytest.fixture
def small_baseline(pubmed_records: Path, tmp_path: Path) -> tuple[Path, list[bytes]]:
    """Two baseline files (PMIDs 1-6, 7-9) and an update file revising PMID 2 (with another real
    record's content) and deleting PMID 5, written out of order on purpose."""
    prolog, records = source_records(pubmed_records / "efetch_sample.xml")
    directory = tmp_path / "baseline"
    directory.mkdir()
    copies = [renumbered(records[(p - 1) % 3], p) for p in range(1, 10)]
    _write(directory / "pubmed26n0003.xml.gz", prolog, [renumbered(records[2], 2)], [5])
    _write(directory / "pubmed26n0001.xml.gz", prolog, copies[:6])
    _write(directory / "pubmed26n0002.xml.gz", prolog, copies[6:])
    (directory / "README.txt").write_text("not a baseline file")
    return directory, records


def test_files_come_in_number_order(small_baseline):
    directory, _ = small_baseline
    names = [p.name for p in baseline.baseline_files(directory)]
    assert names == ["pubmed26n0001.xml.gz", "pubmed26n0002.xml.gz", "pubmed26n0003.xml.gz"]


def test_a_directory_without_baseline_files_is_refused(tmp_path):
    with pytest.raises(baseline.BaselineError, match="no PubMed baseline or update file"):
        baseline.baseline_files(tmp_path)


def test_the_filter_reads_mesh_words_and_publication_types():
    f = baseline.RecordFilter.parse('mesh:Ketamine OR tiab:esketamine AND pt:"Clinical Trial"')
    assert f.any_of == (
        (("mesh", "ketamine"),),
        (("tiab", "esketamine"), ("pt", "clinical trial")),
    )
    with pytest.raises(baseline.BaselineError, match="'ketamine' is not a term"):
        baseline.RecordFilter.parse("ketamine")


def test_one_file_becomes_parquet_and_is_skipped_when_done(small_baseline, tmp_path):
    directory, _ = small_baseline
    path = directory / "pubmed26n0003.xml.gz"
    out = tmp_path / "parquet"
    first = baseline.process_file(path, 3, out, None)
    assert (first.skipped, first.n_records, first.n_matched, first.n_deleted) == (False, 1, 1, 1)
    assert {p.name for p in (out / "pubmed26n0003").iterdir()} >= {
        "core.articles", "core.trial_facts", "versions", "deleted", "raw.records", "_done.json",
    }  # fmt: skip
    assert [p.name for p in (out / "pubmed26n0003" / "versions").iterdir()] == [
        "part-00001.parquet"
    ]
    assert baseline.process_file(path, 3, out, None).skipped
    # Parts written in an earlier layout (before raw payloads were compressed) are written again.
    done = out / "pubmed26n0003" / "_done.json"
    marker = json.loads(done.read_text("utf-8"))
    assert marker.pop("format") == baseline.PARTS_FORMAT
    done.write_text(json.dumps(marker), encoding="utf-8")
    assert not baseline.process_file(path, 3, out, None).skipped
    assert baseline.process_file(path, 3, out, None).skipped
    # Other bytes under the same name are parsed again.
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()) + b"\n"))
    assert not baseline.process_file(path, 3, out, None).skipped


def test_a_file_is_processed_with_pyarrow_on_malloc(small_baseline, tmp_path, monkeypatch):
    """Each Dask task makes its worker's pyarrow allocate with malloc: with mimalloc a worker
    peaked 55 MiB higher (`make bench-baseline`, README)."""
    calls = []
    monkeypatch.setattr(warehouse, "use_system_arrow_pool", lambda: calls.append(True))
    directory, _ = small_baseline
    baseline.process_file(directory / "pubmed26n0003.xml.gz", 3, tmp_path / "parquet", None)
    assert calls


@pytest.mark.parametrize(("chosen", "expected"), [(None, "system"), ("jemalloc", "jemalloc")])
def test_local_dask_workers_start_with_pyarrow_on_malloc(chosen, expected, monkeypatch, tmp_path):
    """The local cluster's workers are started with ARROW_DEFAULT_MEMORY_POOL set (a user's
    choice wins), and this process's environment is put back afterwards."""
    import distributed

    started_with = []

    class Cluster:
        def __init__(self, **options):
            started_with.append(os.environ.get("ARROW_DEFAULT_MEMORY_POOL"))

        def close(self):
            pass

    class Client:
        def __init__(self, cluster):
            pass

        def map(self, function, *columns, pure):
            return [function(*args) for args in zip(*columns, strict=True)]

        def gather(self, results):
            return results

        def close(self):
            pass

    monkeypatch.setattr(distributed, "LocalCluster", Cluster)
    monkeypatch.setattr(distributed, "Client", Client)
    if chosen:
        monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", chosen)
    else:
        monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    assert baseline.run_on_dask([], tmp_path, None, workers=2) == []
    assert started_with == [expected]
    assert os.environ.get("ARROW_DEFAULT_MEMORY_POOL") == chosen


def _load_without_dask(directory: Path, out: Path, db: Path) -> dict[str, list[tuple]]:
    files = baseline.baseline_files(directory)
    for number, path in enumerate(files, 1):
        baseline.process_file(path, number, out, None)
    con = warehouse.connect(db)
    try:
        baseline.load_parquet_set(con, files, out, "run")
        tables = ("core.articles", *warehouse.ARTICLE_CHILD_TABLES, "core.trial_facts")
        rows = {}
        for table in (*tables, "core.effects", "raw.records", "raw.quarantine"):
            described = con.execute(f"DESCRIBE {table}").fetchall()
            columns = ", ".join(name for name, kind, *_ in described if "TIMESTAMP" not in kind)
            rows[table] = con.execute(f"SELECT {columns} FROM {table} ORDER BY ALL").fetchall()
        return rows
    finally:
        con.close()


def test_a_file_is_written_chunk_by_chunk_and_loads_as_if_whole(
    small_baseline, tmp_path, monkeypatch
):
    """Each chunk of a file is written as soon as it is done (memory bounded by the chunk, not
    the file); the warehouse loaded from many small parts equals the one loaded from one part."""
    directory, _ = small_baseline
    whole = _load_without_dask(directory, tmp_path / "whole", tmp_path / "whole.duckdb")
    monkeypatch.setattr(baseline, "CHUNK_RECORDS", 2)
    parts = _load_without_dask(directory, tmp_path / "parts", tmp_path / "parts.duckdb")
    first_file = sorted((tmp_path / "parts" / "pubmed26n0001" / "core.articles").iterdir())
    assert [p.name for p in first_file] == [f"part-0000{n}.parquet" for n in (1, 2, 3)]
    assert parts == whole
    assert len(whole["core.articles"]) == 8


def test_the_load_runs_without_the_memory_cap_and_puts_it_back(small_baseline, tmp_path):
    """The set loads in one transaction holding every raw record it adds: it runs with DuckDB's
    own limit, and the warehouse's cap is back afterwards."""
    directory, _ = small_baseline
    files = baseline.baseline_files(directory)
    for number, path in enumerate(files, 1):
        baseline.process_file(path, number, tmp_path / "out", None)
    con = warehouse.connect(tmp_path / "w.duckdb")
    try:
        cap = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        seen = []
        real_load = baseline._load_parquet_set

        def load(*args):
            seen.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
            return real_load(*args)

        baseline._load_parquet_set = load
        try:
            baseline.load_parquet_set(con, files, tmp_path / "out", "run")
        finally:
            baseline._load_parquet_set = real_load
        after = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    finally:
        con.close()
    assert seen and seen[0] != cap
    assert (
        after.split()[1] == cap.split()[1]
        and abs(float(after.split()[0]) - float(cap.split()[0])) < 1
    )


def test_a_damaged_file_is_named(tmp_path):
    path = tmp_path / "pubmed26n0001.xml.gz"
    path.write_bytes(gzip.compress(b"<PubmedArticleSet><PubmedArticle><PMID>1</PMID>"))
    with pytest.raises(baseline.BaselineError, match="pubmed26n0001.xml.gz is damaged"):
        baseline.process_file(path, 1, tmp_path / "out", None)


def _articles(con) -> dict[str, str]:
    return dict(con.execute("SELECT pmid, title FROM core.articles").fetchall())


@pytest.mark.slow  # a local Dask cluster of 2 worker processes
def test_the_baseline_on_a_two_worker_dask_cluster(small_baseline, tmp_path):
    directory, records = small_baseline
    con = warehouse.connect(tmp_path / "w.duckdb")
    try:
        out = tmp_path / "parquet"
        summary = baseline.ingest_baseline(con, directory, out, workers=2)
        titles = _articles(con)
        # PMIDs 1-9, 5 deleted by the update file, 2 revised by it.
        assert sorted(titles, key=int) == ["1", "2", "3", "4", "6", "7", "8", "9"]
        third = baseline.parse_record(records[2], 1, "x").article.title
        first = baseline.parse_record(records[0], 1, "x").article.title
        assert titles["2"] == third and titles["1"] == titles["4"] == first
        assert (summary.files, summary.files_skipped, summary.loaded) == (3, 0, 8)
        # Raw records as received: PMID 2 in both versions, stored compressed.
        original, revised = renumbered(records[1], 2), renumbered(records[2], 2)
        for payload in (original, revised):
            checksum = hashlib.sha256(payload).hexdigest()
            assert warehouse.read_raw_payload(con, "2", checksum) == payload
        assert con.execute("SELECT DISTINCT payload_codec FROM raw.records").fetchall() == [
            ("zstd",)
        ]
        facts = con.execute("SELECT count(*), count(DISTINCT pmid) FROM core.trial_facts")
        assert facts.fetchone() == (8, 8)
        effects_of_2 = con.execute(
            "SELECT count(*) FROM core.effects e JOIN core.articles a USING (pmid) "
            "WHERE pmid = '2' AND e.extractor_version IS NOT NULL"
        ).fetchone()[0]
        assert (
            effects_of_2
            == con.execute("SELECT count(*) FROM core.effects WHERE pmid = '3'").fetchone()[0]
        )
        assert con.execute("SELECT status, mode FROM core.runs").fetchall() == [
            ("completed", "baseline")
        ]
        articles_sql = "SELECT * EXCLUDE (run_id, loaded_at) FROM core.articles ORDER BY pmid"
        before = con.execute(articles_sql).fetchall()
        again = baseline.ingest_baseline(con, directory, out, workers=2)
        assert again.files_skipped == 3
        assert con.execute(articles_sql).fetchall() == before
        # A filter keeps only matching records; the revised PMID 2 is judged on its latest version.
        con2 = warehouse.connect(tmp_path / "filtered.duckdb")
        try:
            others = " ".join(
                f"{a.title} {a.abstract}".lower()
                for a in (baseline.parse_record(r, 1, "x").article for r in records[:2])
            )
            word = next(w for w in third.split() if w.isalpha() and w.lower() not in others)
            record_filter = baseline.RecordFilter.parse(f"tiab:{word}")
            baseline.ingest_baseline(
                con2, directory, tmp_path / "parquet_f", record_filter=record_filter, workers=2
            )
            kept = _articles(con2)
        finally:
            con2.close()
        assert kept and all(t == third for t in kept.values()) and "2" in kept
    finally:
        con.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--filter", "mesh:Ketamine"], "--filter and --scheduler apply to --baseline DIR"),
        (["--baseline", "x", "--live"], "--baseline excludes --live"),
        (["--baseline", "x", "--filter", "ketamine"], "'ketamine' is not a term"),
    ],
)
def test_baseline_options_that_do_not_fit_are_refused(args, message, tmp_path, capsys):
    assert main(["ingest", *args, "--db", str(tmp_path / "w.duckdb")]) != 0
    assert message in capsys.readouterr().err
