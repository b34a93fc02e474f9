"""An Article as the warehouse rows it loads as: core.articles and its child tables.

The loader (`warehouse.load_batch`) writes these rows. A worker process that parses articles
sends them back in this form: plain tuples of strings and numbers unpickle several times faster
than the Article dataclasses they come from, and the writing process has no conversion left to
do. This module imports neither DuckDB nor pandas, so the workers stay small.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.models import Article

ARTICLE_CHILD_TABLES = (
    "core.abstract_sections",
    "core.authors",
    "core.mesh_headings",
    "core.chemicals",
    "core.publication_types",
    "core.trial_ids",
    "core.comments_corrections",
)
ARTICLE_TABLES = ("core.articles", *ARTICLE_CHILD_TABLES)

# The columns each load writes, in the order `article_rows` builds its rows.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "core.articles": (
        "pmid", "title", "abstract", "journal_title", "journal_iso", "volume", "issue", "pages",
        "pub_date", "pub_year", "doi", "pmcid", "languages", "keywords", "date_revised",
        "abstract_complete", "is_retracted", "has_erratum", "source", "checksum", "run_id",
        "loaded_at",
    ),
    "core.abstract_sections": (
        "pmid", "section_no", "label", "nlm_category", "text", "start_offset", "end_offset",
    ),
    "core.authors": (
        "pmid", "position", "last_name", "fore_name", "initials", "collective_name",
        "affiliations", "orcid",
    ),
    "core.mesh_headings": (
        "pmid", "position", "descriptor_ui", "descriptor", "major_topic", "qualifier_ui",
        "qualifier", "qualifier_major",
    ),
    "core.chemicals": ("pmid", "ui", "name", "registry_number"),
    "core.publication_types": ("pmid", "name"),
    "core.trial_ids": ("pmid", "registry", "accession", "source"),
    "core.comments_corrections": ("pmid", "ref_type", "ref_pmid", "ref_source"),
}  # fmt: skip
# The last columns of a core.articles row, known only to the load: the rest come from the record.
LOAD_COLUMNS = ("source", "checksum", "run_id", "loaded_at")


@dataclass(frozen=True)
class ArticleRows:
    """One article's rows: `article` is its core.articles row without the LOAD_COLUMNS, and
    `children` holds its rows of each of ARTICLE_CHILD_TABLES, in that order."""

    pmid: str
    article: tuple
    children: tuple[list[tuple], ...]


def article_rows(a: Article) -> ArticleRows:
    """The rows of one article (columns as in TABLE_COLUMNS, core.articles' last four left out)."""
    pmid = a.pmid
    article = (
        pmid, a.title, a.abstract, a.journal_title, a.journal_iso, a.volume, a.issue, a.pages,
        a.pub_date, a.pub_year, a.doi, a.pmcid, list(a.languages), list(a.keywords),
        a.date_revised, a.abstract_complete, a.is_retracted, a.has_erratum,
    )  # fmt: skip
    sections = [
        (pmid, s.order, s.label, s.nlm_category, s.text, s.start, s.end) for s in a.sections
    ]
    authors = [
        (pmid, au.position, au.last_name, au.fore_name, au.initials, au.collective_name,
         list(au.affiliations), au.orcid)
        for au in a.authors
    ]  # fmt: skip
    mesh = []
    for m in a.mesh:
        mesh.append((pmid, m.position, m.descriptor_ui, m.descriptor, m.major_topic, None, None,
                     None))  # fmt: skip
        for q_name, q_ui, q_major in m.qualifiers:
            mesh.append((pmid, m.position, m.descriptor_ui, m.descriptor, m.major_topic, q_ui,
                         q_name, q_major))  # fmt: skip
    chemicals = [(pmid, c.ui, c.name, c.registry_number) for c in a.chemicals]
    types = [(pmid, name) for name in dict.fromkeys(a.publication_types)]
    trials = []
    seen_ids = set()
    for t in a.trial_ids:
        if (t.registry, t.accession) not in seen_ids:
            seen_ids.add((t.registry, t.accession))
            trials.append((pmid, t.registry, t.accession, t.source))
    comments = [(pmid, c.ref_type, c.ref_pmid, c.ref_source) for c in a.comments_corrections]
    return ArticleRows(pmid, article, (sections, authors, mesh, chemicals, types, trials, comments))
