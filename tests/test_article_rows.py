"""An Article as its warehouse rows: the shape the loader writes, and what workers send back."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from pipeline.article_rows import (
    ARTICLE_CHILD_TABLES,
    LOAD_COLUMNS,
    TABLE_COLUMNS,
    article_rows,
)
from pipeline.models import Article, MeshHeading, TrialId
from pipeline.parse import ParsedRecord, parse_pubmed_xml


@pytest.fixture(scope="module")
def articles(pubmed_records: Path) -> list[Article]:
    items = list(parse_pubmed_xml((pubmed_records / "efetch_sample.xml").read_bytes(), "live"))
    assert all(isinstance(item, ParsedRecord) for item in items)
    return [item.article for item in items]


def test_every_row_has_the_columns_of_its_table(articles: list[Article]) -> None:
    for article in articles:
        rows = article_rows(article)
        assert rows.pmid == article.pmid
        assert len(rows.article) + len(LOAD_COLUMNS) == len(TABLE_COLUMNS["core.articles"])
        assert TABLE_COLUMNS["core.articles"][-len(LOAD_COLUMNS) :] == LOAD_COLUMNS
        assert len(rows.children) == len(ARTICLE_CHILD_TABLES)
        for table, table_rows in zip(ARTICLE_CHILD_TABLES, rows.children, strict=True):
            assert all(len(row) == len(TABLE_COLUMNS[table]) for row in table_rows), table
            assert all(row[0] == article.pmid for row in table_rows), table


def test_the_rows_hold_the_articles_parts(articles: list[Article]) -> None:
    article = max(articles, key=lambda a: len(a.authors))
    rows = dict(zip(ARTICLE_CHILD_TABLES, article_rows(article).children, strict=True))
    assert article_rows(article).article[:3] == (article.pmid, article.title, article.abstract)
    assert [r[2] for r in rows["core.authors"]] == [a.last_name for a in article.authors]
    assert [r[4] for r in rows["core.abstract_sections"]] == [s.text for s in article.sections]
    assert len(rows["core.mesh_headings"]) == sum(1 + len(m.qualifiers) for m in article.mesh)


def test_qualifiers_repeat_their_descriptor_and_repeated_ids_and_types_are_kept_once() -> None:
    article = Article(
        "1",
        "A title",
        mesh=[MeshHeading(1, "Ketamine", "D007649", True, (("therapeutic use", "Q000627", True),))],
        publication_types=["Randomized Controlled Trial", "Randomized Controlled Trial"],
        trial_ids=[TrialId("ClinicalTrials.gov", "NCT01", "databank")] * 2,
    )
    rows = dict(zip(ARTICLE_CHILD_TABLES, article_rows(article).children, strict=True))
    assert rows["core.mesh_headings"] == [
        ("1", 1, "D007649", "Ketamine", True, None, None, None),
        ("1", 1, "D007649", "Ketamine", True, "Q000627", "therapeutic use", True),
    ]
    assert rows["core.publication_types"] == [("1", "Randomized Controlled Trial")]
    assert rows["core.trial_ids"] == [("1", "ClinicalTrials.gov", "NCT01", "databank")]


def test_the_rows_cross_processes_unchanged(articles: list[Article]) -> None:
    as_rows = [article_rows(a) for a in articles]
    assert pickle.loads(pickle.dumps(as_rows)) == as_rows
