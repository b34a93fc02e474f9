"""A small run of the ingest benchmark's code: the scaled input, each measurement, the report."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from Bio import Entrez

from benchmarks import bench_ingest
from pipeline import warehouse
from pipeline.parse import ParsedRecord, iter_record_bytes, parse_pubmed_xml

# Runs the ingest benchmark, in processes of its own.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scaled(pubmed_records: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "scaled.xml"
    return bench_ingest.write_scaled(pubmed_records / "efetch_sample.xml", 10, path)


def test_the_scaled_file_repeats_real_records_with_fresh_pmids(
    pubmed_records: Path, scaled: Path
) -> None:
    parsed = list(parse_pubmed_xml(scaled.read_bytes(), "snapshot"))
    assert all(isinstance(p, ParsedRecord) for p in parsed)
    pmids = [p.article.pmid for p in parsed]
    assert pmids == [str(bench_ingest.FIRST_PMID + i) for i in range(10)]
    originals = list(parse_pubmed_xml((pubmed_records / "efetch_sample.xml").read_bytes(), "x"))
    fourth, original = parsed[3].article, originals[0].article
    assert fourth.title == original.title and fourth.authors == original.authors
    # Only the record's own PMID changed: its references still cite the same articles.
    own_ids = re.findall(rb'<ArticleId IdType="pubmed">(\d+)</ArticleId>', parsed[3].raw.payload)
    old_ids = re.findall(rb'<ArticleId IdType="pubmed">(\d+)</ArticleId>', originals[0].raw.payload)
    assert own_ids[0] == str(bench_ingest.FIRST_PMID + 3).encode()
    assert own_ids[1:] == old_ids[1:]
    # Entrez.read accepts the scaled file too (it is what the benchmark compares with).
    assert len(Entrez.read(io.BytesIO(scaled.read_bytes()))["PubmedArticle"]) == 10
    assert len(list(iter_record_bytes(scaled.open("rb")))) == 10


@pytest.mark.parametrize("measurement", bench_ingest.MEASUREMENTS)
def test_each_measurement_counts_every_article(
    scaled: Path, tmp_path: Path, measurement: str
) -> None:
    db = tmp_path / "bench.duckdb"
    result = bench_ingest.measure(measurement, scaled, db, batch_size=4)
    assert result.measurement == measurement and result.articles == 10
    assert result.peak_rss_mib >= result.start_rss_mib > 0
    assert (result.python_heap_peak_mib is not None) == (measurement == "heap")
    if measurement in ("parse+load", "heap"):
        con = warehouse.connect(db, read_only=True)
        assert con.execute("SELECT count(*) FROM core.articles").fetchall() == [(10,)]
        assert con.execute("SELECT count(*) FROM raw.records").fetchall() == [(10,)]
        con.close()


def test_the_default_source_is_the_bundled_copy_of_the_real_response(pubmed_records: Path) -> None:
    bundled = bench_ingest.DEFAULT_SOURCE.read_bytes()
    assert bundled == (pubmed_records / "efetch_sample.xml").read_bytes()


def test_a_measurement_runs_in_its_own_process(scaled: Path) -> None:
    result = bench_ingest.run_child("parse", scaled, None, batch_size=4)
    assert result.articles == 10 and result.seconds > 0


def test_the_report_shows_rates_ratio_and_memory(pubmed_records: Path) -> None:
    results = [
        bench_ingest.Result("parse+load", 20_000, 25.0, 20.0, 150.0, 400.0),
        bench_ingest.Result("parse", 20_000, 12.5, 12.5, 150.0, 160.0),
        bench_ingest.Result("entrez", 20_000, 50.0, 50.0, 150.0, 3000.0),
        bench_ingest.Result("parse+load", 40_000, 50.0, 40.0, 150.0, 420.0),
        bench_ingest.Result("heap", 2_000, 9.0, 9.0, 150.0, 300.0, 80.4),
        bench_ingest.Result("heap", 8_000, 36.0, 36.0, 150.0, 330.0, 81.0),
    ]
    text = bench_ingest.report(results, 500, pubmed_records / "efetch_sample.xml", (1.0, 2.0))
    lines = text.splitlines()
    row = next(line for line in lines if line.startswith("parse + load (streaming)   "))
    assert row.split()[-6:] == ["25.0", "800", "20.0", "1,000", "150", "400"]
    assert "load average 1.0 before, 2.0 after" in lines[1]
    assert (
        "parse + load (streaming) / Entrez.read: 2.00x the records per second, 2.50x per CPU"
        in text
    )
    assert "parse only (streaming) / Entrez.read: 4.00x" in text
    assert "tracemalloc): 80 MiB at 2,000, 81 MiB at 8,000 articles" in text
    assert "400 MiB at 20,000 articles, 420 MiB at 40,000 (2.0x the input, +20 MiB;" in text
    assert "parse only peak memory: 160 MiB for 20,000 articles (+10 MiB" in text
