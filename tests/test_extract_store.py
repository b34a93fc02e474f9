"""The extraction stage in a real DuckDB warehouse: incremental, transactional, quarantining."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline import warehouse
from pipeline.extract import store
from pipeline.models import Article, RawRecord

SUSTAIN_LIKE = (
    "RESULTS: Among 297 randomized adults, 24 (26.7%) in the esketamine group and 39 (45.3%) in "
    "the placebo group experienced relapse (log-rank P\u2009=\u2009.003). Esketamine decreased "
    "the risk of relapse (hazard ratio [HR], 0.49; 95% CI, 0.29-0.84)."
)
REVIEW = "This narrative review summarises ketamine for depression. No new data are reported."


def article(pmid: str, abstract: str, title: str = "A randomized trial of esketamine") -> Article:
    return Article(pmid=pmid, title=title, abstract=abstract, publication_types=["Journal Article"])


def load(con, *articles: Article, version: bytes = b"1") -> None:
    raws = [RawRecord(a.pmid, version + a.pmid.encode(), "json", "snapshot") for a in articles]
    warehouse.load_batch(con, list(articles), raws, run_id="test-run")


@pytest.fixture
def con(tmp_path):
    con = warehouse.connect(tmp_path / "evidence.duckdb")
    yield con
    con.close()


def effects(con) -> list[tuple]:
    return con.execute(
        "SELECT pmid, kind, value, ci_low, ci_high, start_offset, end_offset, quote, effect_id "
        "FROM core.effects ORDER BY pmid, start_offset"
    ).fetchall()


def test_extracts_facts_and_effects_with_spans(con) -> None:
    load(con, article("1", SUSTAIN_LIKE), article("2", REVIEW, title="Ketamine: a review"))
    assert store.extract_articles(con) == 2
    rows = effects(con)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("1", "relapse_rate", 26.7),
        ("1", "relapse_rate", 45.3),
        ("1", "hazard_ratio", 0.49),
    ]
    for _, _, _, _, _, start, end, quote, _ in rows:
        assert SUSTAIN_LIKE[start:end] == quote
    facts = dict(con.execute("SELECT pmid, design FROM core.trial_facts").fetchall())
    assert facts == {"1": "rct", "2": "review"}
    version = con.execute("SELECT DISTINCT extractor_version FROM core.trial_facts").fetchall()
    assert version == [(store.EXTRACTOR_VERSION,)]


def test_effect_ids_are_sha1_of_pmid_kind_and_span(con) -> None:
    load(con, article("1", SUSTAIN_LIKE))
    store.extract_articles(con)
    for pmid, kind, *_, start, end, _quote, effect_id in effects(con):
        assert effect_id == store.effect_id(pmid, kind, start, end)


def test_second_run_does_nothing_when_nothing_changed(con) -> None:
    load(con, article("1", SUSTAIN_LIKE))
    assert store.extract_articles(con) == 1
    first = effects(con)
    assert store.extract_articles(con) == 0
    assert effects(con) == first


def test_new_extractor_version_re_extracts_and_keeps_ids(con, monkeypatch) -> None:
    load(con, article("1", SUSTAIN_LIKE))
    store.extract_articles(con)
    before = effects(con)
    monkeypatch.setattr(store, "EXTRACTOR_VERSION", "999.0.0")
    assert store.extract_articles(con) == 1
    assert effects(con) == before  # same spans, same ids
    assert con.execute("SELECT extractor_version FROM core.effects LIMIT 1").fetchone() == (
        "999.0.0",
    )


def test_changed_record_is_re_extracted(con) -> None:
    load(con, article("1", SUSTAIN_LIKE))
    store.extract_articles(con)
    load(con, article("1", REVIEW, title="Ketamine: a review"), version=b"2")
    assert store.extract_articles(con) == 1
    assert effects(con) == []
    assert con.execute("SELECT design FROM core.trial_facts").fetchone() == ("review",)


def test_pmids_limit_the_stage(con) -> None:
    load(con, article("1", SUSTAIN_LIKE), article("2", REVIEW))
    assert store.extract_articles(con, ["2"]) == 1
    assert con.execute("SELECT pmid FROM core.trial_facts").fetchall() == [("2",)]


def test_a_failing_article_is_quarantined_and_the_rest_load(con, monkeypatch) -> None:
    load(con, article("1", SUSTAIN_LIKE), article("2", REVIEW))
    real = store.extract_text

    def failing(pmid, *args, **kwargs):
        if pmid == "2":
            raise ValueError("boom on purpose")
        return real(pmid, *args, **kwargs)

    monkeypatch.setattr(store, "extract_text", failing)
    assert store.extract_articles(con) == 1
    assert con.execute("SELECT pmid FROM core.trial_facts").fetchall() == [("1",)]
    quarantined = con.execute("SELECT stage, pmid, error FROM raw.quarantine").fetchall()
    assert quarantined == [("extract", "2", "ValueError: boom on purpose")]


def test_a_failed_load_leaves_the_warehouse_as_it_was(con, monkeypatch) -> None:
    load(con, article("1", SUSTAIN_LIKE))
    store.extract_articles(con)
    before = effects(con)
    original_version = store.EXTRACTOR_VERSION
    monkeypatch.setattr(store, "EXTRACTOR_VERSION", original_version + ".1")
    monkeypatch.setattr(store, "EFFECTS_COLUMNS", [*store.EFFECTS_COLUMNS[:-1], "no_such_column"])
    with pytest.raises(Exception, match="no_such_column"):
        store.extract_articles(con)
    assert effects(con) == before
    assert con.execute("SELECT extractor_version FROM core.trial_facts").fetchone() == (
        original_version,
    )


def test_publication_types_from_the_warehouse_are_used(con) -> None:
    meta = Article(
        pmid="3",
        title="Esketamine for depression",
        abstract="Pooled estimates favoured esketamine.",
        publication_types=["Meta-Analysis"],
    )
    load(con, meta)
    store.extract_articles(con)
    assert con.execute("SELECT design FROM core.trial_facts").fetchone() == ("review",)


def test_quarantined_effects_are_recorded_and_the_others_load(con) -> None:
    huge = "9" * 330
    abstract = f"RESULTS: 145% of patients responded, and 30% remitted. {huge}% relapsed."
    load(con, article("4", abstract))
    assert store.extract_articles(con) == 1
    assert [(r[1], r[2]) for r in effects(con)] == [("remission_rate", 30.0)]
    rows = con.execute(
        "SELECT stage, pmid, location, error, payload FROM raw.quarantine ORDER BY location"
    ).fetchall()
    version = store.EXTRACTOR_VERSION
    assert rows == [
        (
            "extract",
            "4",
            f"core.articles PMID 4 characters 55-386 (extractor {version})",
            f"relapse_rate effect: the value {'9' * 40}... (330 characters) is too large to "
            "represent",
            f"{huge}%".encode(),
        ),
        (
            "extract",
            "4",
            f"core.articles PMID 4 characters 9-13 (extractor {version})",
            "response_rate effect: a response_rate of 145 is not a share of patients (0 to 100)",
            b"145%",
        ),
    ]


def test_a_count_too_large_for_the_warehouse_quarantines_its_article(con) -> None:
    too_many = "RESULTS: In total, 3000000000 patients were randomized (n = 3000000000)."
    load(con, article("5", too_many), article("1", SUSTAIN_LIKE))
    assert store.extract_articles(con) == 1
    assert con.execute("SELECT pmid FROM core.trial_facts").fetchall() == [("1",)]
    [(pmid, error)] = con.execute("SELECT pmid, error FROM raw.quarantine").fetchall()
    assert pmid == "5"
    assert "3000000000" in error and "too large" in error


def test_a_number_beyond_an_integer_column_quarantines_its_article(con, monkeypatch) -> None:
    load(con, article("6", SUSTAIN_LIKE), article("1", SUSTAIN_LIKE))
    real = store.extract_text

    def too_many(pmid, *args, **kwargs):
        result = real(pmid, *args, **kwargs)
        if pmid == "6":
            result.trial.n_randomized = 3_000_000_000
        return result

    monkeypatch.setattr(store, "extract_text", too_many)
    assert store.extract_articles(con) == 1
    assert con.execute("SELECT DISTINCT pmid FROM core.effects").fetchall() == [("1",)]
    error = "PMID 6: the number randomized 3000000000 is too large for the warehouse"
    assert con.execute("SELECT pmid, error FROM raw.quarantine").fetchall() == [
        ("6", f"PipelineError: {error}")
    ]


@pytest.mark.slow
def test_an_extraction_worker_imports_neither_pandas_nor_duckdb():
    code = (
        "import sys, pipeline.extract.store\n"
        "print('pandas' in sys.modules, 'duckdb' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def _stored(con) -> dict[str, list[tuple]]:
    return {
        table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        for table in ("core.trial_facts", "core.effects", "core.arms")
    }


def _replaced_through_dataframes(con, facts, effects, arms) -> None:
    """What `_replace_rows` wrote before it used Arrow: DataFrames, converted by DuckDB."""
    import pandas as pd

    for table, rows, columns in (
        ("core.trial_facts", facts, store.TRIAL_FACTS_COLUMNS),
        ("core.effects", effects, store.EFFECTS_COLUMNS),
        ("core.arms", arms, store.ARMS_COLUMNS),
    ):
        frame = pd.DataFrame.from_records(rows, columns=columns)  # noqa: F841 - read by DuckDB
        con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM frame")


def test_rows_written_through_arrow_equal_those_through_dataframes(tmp_path, pubmed_records):
    from pipeline.parse import parse_pubmed_xml

    with (pubmed_records / "efetch_sample.xml").open("rb") as stream:
        parsed = [store.extract_parsed(item) for item in parse_pubmed_xml(stream, "snapshot")]
    batches = [item.extraction for item in parsed]
    assert all(b.effects and b.arms for b in batches)
    # the awkward values too: NaN and None numbers, empty and missing lists, an arm without n,
    # a flag left unknown, and a column of mixed kinds (which Arrow cannot type)
    facts = [row for b in batches for row in b.facts]
    effects = [row for b in batches for row in b.effects]
    arms = [row for b in batches for row in b.arms]
    odd = list(facts[0])
    odd[0], odd[4], odd[8], odd[9], odd[13] = "1", [], None, [{"label": "x", "n": None}], None
    facts.append(tuple(odd))
    odd = list(effects[0])
    odd[0], odd[1], odd[6], odd[7], odd[12] = "e1", "1", float("nan"), None, None
    effects.append(tuple(odd))
    mixed = [list(a) for a in arms[:2]]
    mixed[0][0], mixed[1][0], mixed[0][11], mixed[1][11] = "a1", "a2", 5, "5 mg"  # dose text
    stores = {}
    for how in ("arrow", "dataframes"):
        con = warehouse.connect(tmp_path / f"{how}.duckdb")
        pmids = sorted({row[0] for row in facts})
        for rows_of_arms in (arms, [tuple(a) for a in mixed]):
            if how == "arrow":
                store._load(con, pmids, facts, effects, rows_of_arms)
            else:
                with warehouse.transaction(con):
                    for table in ("core.arms", "core.effects", "core.trial_facts"):
                        con.execute(f"DELETE FROM {table}")
                    _replaced_through_dataframes(con, facts, effects, rows_of_arms)
        stores[how] = _stored(con)
        con.close()
    assert stores["arrow"] == stores["dataframes"]
    assert stores["arrow"]["core.arms"]  # the mixed batch landed
