"""Citations of warehouse records: AMA and Vancouver strings, BibTeX and RIS exports.

Everything is built from `core.articles` and `core.authors` as stored; a field the record lacks
(DOI, pages, issue, a day of publication) is left out rather than guessed.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

import rispy

from pipeline.errors import PipelineError, UsageError

PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
DOI_URL = "https://doi.org/{doi}"
FORMATS = ("ama", "vancouver", "bibtex", "ris")

AMA_MAX_AUTHORS = 6  # AMA 11th ed.: list all up to 6; more than 6 -> first 3, et al.
AMA_SHOWN_WHEN_TRUNCATED = 3
VANCOUVER_MAX_AUTHORS = 6  # Citing Medicine: list the first 6, then et al.


@dataclass(frozen=True)
class CitedAuthor:
    """One author as a citation needs it; `collective_name` for group authors."""

    last_name: str | None = None
    fore_name: str | None = None
    initials: str | None = None
    collective_name: str | None = None

    def short(self) -> str:
        """'Daly EJ' (NLM/AMA form), or the group name."""
        if self.collective_name and not self.last_name:
            return self.collective_name
        initials = self.initials or _initials(self.fore_name)
        return " ".join(part for part in (self.last_name, initials) if part)

    def full(self) -> str:
        """'Daly, Ella J' (BibTeX/RIS form), or the group name."""
        if self.collective_name and not self.last_name:
            return self.collective_name
        given = self.fore_name or self.initials
        return f"{self.last_name}, {given}" if given else (self.last_name or "")


@dataclass(frozen=True)
class CitationRecord:
    """The fields of one warehouse article a citation uses."""

    pmid: str
    title: str
    authors: tuple[CitedAuthor, ...] = ()
    journal_title: str | None = None
    journal_iso: str | None = None
    year: int | None = None
    pub_date: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None

    @property
    def pubmed_url(self) -> str:
        """The record's PubMed page."""
        return PUBMED_URL.format(pmid=self.pmid)

    @property
    def doi_url(self) -> str | None:
        """https://doi.org/<doi>, when the record has a DOI."""
        return DOI_URL.format(doi=self.doi) if self.doi else None

    @property
    def journal_abbreviation(self) -> str | None:
        """The ISO (NLM) abbreviation without periods, else the journal title as stored."""
        name = self.journal_iso or self.journal_title
        return name.replace(".", "").strip() if name else None


def _initials(fore_name: str | None) -> str:
    """'Ella J' -> 'EJ', 'Jean-Pierre' -> 'JP'."""
    if not fore_name:
        return ""
    return "".join(part[0] for part in re.split(r"[\s\-.]+", fore_name) if part)


def _year_of(pub_year: int | None, pub_date: str | None) -> int | None:
    """The year of publication: the parsed year, else the first year a MedlineDate names."""
    if pub_year:
        return int(pub_year)
    match = re.search(r"\b(1[89]\d\d|2\d\d\d)\b", pub_date or "")
    return int(match[1]) if match else None


def load_citation_records(con, pmids: Sequence[str]) -> list[CitationRecord]:
    """The citation fields of the given PMIDs, in the order asked; unknown PMIDs raise."""
    wanted = list(dict.fromkeys(str(p).strip() for p in pmids))
    if not wanted:
        return []
    rows = con.execute(
        "SELECT pmid, title, journal_title, journal_iso, pub_year, pub_date, volume, issue, pages, "
        "doi FROM core.articles WHERE list_contains(?, pmid)",
        [wanted],
    ).fetchall()
    found = {row[0]: row for row in rows}
    missing = [p for p in wanted if p not in found]
    if missing:
        raise PipelineError(f"no article in the warehouse for PMID {', '.join(missing)}")
    authors: dict[str, list[CitedAuthor]] = {p: [] for p in wanted}
    for pmid, last, fore, initials, collective in con.execute(
        "SELECT pmid, last_name, fore_name, initials, collective_name FROM core.authors "
        "WHERE list_contains(?, pmid) ORDER BY pmid, position",
        [wanted],
    ).fetchall():
        authors[pmid].append(CitedAuthor(last, fore, initials, collective))
    records = []
    for pmid in wanted:
        _, title, journal, iso, year, date, volume, issue, pages, doi = found[pmid]
        records.append(
            CitationRecord(
                pmid=pmid,
                title=title,
                authors=tuple(authors[pmid]),
                journal_title=journal,
                journal_iso=iso,
                year=_year_of(year, date),
                pub_date=date,
                volume=volume,
                issue=issue,
                pages=pages,
                doi=doi,
            )
        )
    return records


# --- page ranges ----------------------------------------------------------------------------


def expand_pages(pages: str | None) -> str | None:
    """Inclusive page numbers in full, as AMA wants them: '1592-603' -> '1592-1603'."""
    if not pages:
        return pages
    match = re.fullmatch(r"\s*([A-Za-z]*)(\d+)\s*[-\u2013]\s*([A-Za-z]*)(\d+)\s*", pages)
    if not match:
        return pages.strip()
    prefix, first, prefix_end, last = match.groups()
    if len(last) < len(first) and (not prefix_end or prefix_end == prefix):
        last = first[: len(first) - len(last)] + last
    return f"{prefix}{first}-{prefix or prefix_end}{last}"


# --- AMA and Vancouver ------------------------------------------------------------------------


def _sentence(text: str) -> str:
    """Text ending with one period (kept as is when it already ends in . ? or !)."""
    text = text.strip()
    return text if text.endswith((".", "?", "!")) else text + "."


def _author_list(record: CitationRecord, limit: int, shown_when_truncated: int) -> str:
    names = [a.short() for a in record.authors if a.short()]
    if not names:
        return ""
    if len(names) > limit:
        names = names[:shown_when_truncated] + ["et al"]
    return ", ".join(names) + "."


def _vancouver_date(record: CitationRecord) -> str:
    """'2019 Sep 1' from the date as written ('2019 Sep 01'), MedlineDates as written."""
    if record.pub_date:
        return re.sub(r"\b0(\d)\b", r"\1", record.pub_date.strip())
    return str(record.year) if record.year else ""


def _issue_part(record: CitationRecord, pages: str | None) -> str:
    text = f";{record.volume}" if record.volume else ""
    if record.issue:
        text += f"({record.issue})"
    if pages:
        text += f":{pages}"
    return text


# Markdown syntax a title or abstract could carry: code, emphasis, links and images, tables,
# headings (any "#" is escaped, so none can start a heading), and the backslash itself.
_MARKDOWN_SYNTAX = re.compile(r"([\\`*_\[\]|~#])")
# What makes a line a list item, a rule or a heading underline when it starts the line.
_MARKDOWN_LINE_START = re.compile(r"^(?:[-+](?=[\s-]|$)|=|\d+[.)](?=\s|$))")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x85\u2028\u2029]+")


def markdown_escape(text: str, *, line_start: bool = True) -> str:
    """Text a Markdown renderer shows as written, never as markup: HTML special characters as
    entities, Markdown syntax backslash-escaped, line breaks as spaces, and (with `line_start`)
    a leading list, rule or heading marker escaped in case the text starts a line."""
    text = _LINE_BREAKS.sub(" ", str(text))
    text = _MARKDOWN_SYNTAX.sub(r"\\\1", text)
    text = html.escape(text, quote=False)
    return _escape_line_start(text) if line_start else text


def _escape_line_start(text: str) -> str:
    """A leading list, rule or heading marker backslash-escaped (before its last character)."""
    return _MARKDOWN_LINE_START.sub(lambda m: m[0][:-1] + "\\" + m[0][-1], text, count=1)


def format_ama(record: CitationRecord, *, markup: str = "text") -> str:
    """An AMA (11th ed.) reference; markup "html" or "markdown" (both escaped) italicises the
    journal."""
    escape = {
        "html": html.escape,
        "markdown": partial(markdown_escape, line_start=False),  # the whole, below
    }.get(markup, str)
    journal = record.journal_abbreviation
    parts = []
    authors = _author_list(record, AMA_MAX_AUTHORS, AMA_SHOWN_WHEN_TRUNCATED)
    if authors:
        parts.append(escape(authors))
    parts.append(escape(_sentence(record.title)))
    year_and_issue = (str(record.year) if record.year else "") + _issue_part(
        record, expand_pages(record.pages)
    )
    if journal and year_and_issue:
        parts.append(_italic(_sentence(journal), markup) + " " + escape(_sentence(year_and_issue)))
    elif journal:
        parts.append(_italic(_sentence(journal), markup))
    elif year_and_issue:
        parts.append(escape(_sentence(year_and_issue)))
    if record.doi:
        parts.append(escape(f"doi:{record.doi}"))
    reference = " ".join(parts)
    if markup == "markdown":  # a reference may start a line: no list or heading marker there
        reference = _escape_line_start(reference)
    return reference


def format_vancouver(record: CitationRecord) -> str:
    """A Vancouver (NLM Citing Medicine) reference with PMID; pages as NLM wrote them."""
    parts = []
    authors = _author_list(record, VANCOUVER_MAX_AUTHORS, VANCOUVER_MAX_AUTHORS)
    if authors:
        parts.append(authors)
    parts.append(_sentence(record.title))
    if record.journal_abbreviation:
        parts.append(_sentence(record.journal_abbreviation))
    date = _vancouver_date(record)
    source = date + _issue_part(record, record.pages.strip() if record.pages else None)
    if source:
        parts.append(_sentence(source))
    if record.doi:
        parts.append(f"doi: {record.doi}.")
    parts.append(f"PMID: {record.pmid}.")
    return " ".join(parts)


def _italic(text: str, markup: str) -> str:
    if markup == "html":
        return f"<i>{html.escape(text)}</i>"
    if markup == "markdown":
        return f"*{markdown_escape(text, line_start=False)}*"
    return text


# --- BibTeX and RIS -------------------------------------------------------------------------

_BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _bibtex_escape(text: str) -> str:
    return "".join(_BIBTEX_SPECIAL.get(ch, ch) for ch in text)


def bibtex_key(record: CitationRecord) -> str:
    """A stable, unique key: first author's ASCII surname, year, PMID ('Daly2019-31166571')."""
    first = record.authors[0] if record.authors else None
    name = (first.last_name or first.collective_name or "") if first else ""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z]", "", ascii_name) or "pmid"
    return f"{ascii_name}{record.year or ''}-{record.pmid}"


def to_bibtex(records: Iterable[CitationRecord]) -> str:
    """@article entries (UTF-8, special characters escaped, title capitals protected)."""
    entries = []
    for record in records:
        names = []
        for author in record.authors:
            if author.collective_name and not author.last_name:
                names.append("{" + _bibtex_escape(author.collective_name) + "}")
            elif author.full():
                names.append(_bibtex_escape(author.full()))
        fields: list[tuple[str, str]] = []
        if names:
            fields.append(("author", " and ".join(names)))
        fields.append(("title", "{" + _bibtex_escape(record.title.strip().rstrip(".")) + "}"))
        if record.journal_title or record.journal_iso:
            fields.append(("journal", _bibtex_escape(record.journal_title or record.journal_iso)))
        if record.journal_abbreviation:
            fields.append(("shortjournal", _bibtex_escape(record.journal_abbreviation)))
        if record.year:
            fields.append(("year", str(record.year)))
        if record.volume:
            fields.append(("volume", _bibtex_escape(record.volume)))
        if record.issue:
            fields.append(("number", _bibtex_escape(record.issue)))
        pages = expand_pages(record.pages)
        if pages:
            fields.append(("pages", _bibtex_escape(pages.replace("-", "--"))))
        if record.doi:
            fields.append(("doi", _bibtex_escape(record.doi)))
        fields.append(("pmid", record.pmid))
        fields.append(("url", record.pubmed_url))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        entries.append(f"@article{{{bibtex_key(record)},\n{body}\n}}\n")
    return "\n".join(entries)


def to_ris(records: Iterable[CitationRecord]) -> str:
    """RIS (JOUR) references for reference managers, PMID in AN and the PubMed link in UR."""
    references = []
    for record in records:
        entry: dict = {"type_of_reference": "JOUR", "title": record.title.strip()}
        authors = [a.full() for a in record.authors if a.full()]
        if authors:
            entry["authors"] = authors
        if record.journal_title or record.journal_iso:
            entry["secondary_title"] = record.journal_title or record.journal_iso
        if record.journal_abbreviation:
            entry["alternate_title2"] = record.journal_abbreviation
        if record.year:
            entry["year"] = str(record.year)
        for key, value in (("volume", record.volume), ("number", record.issue)):
            if value:
                entry[key] = value
        pages = expand_pages(record.pages)
        if pages:
            first, _, last = pages.partition("-")
            entry["start_page"] = first
            if last:
                entry["end_page"] = last
        if record.doi:
            entry["doi"] = record.doi
        entry["accession_number"] = record.pmid
        entry["urls"] = [record.pubmed_url]
        references.append(entry)
    return rispy.dumps(references)


def render(records: Sequence[CitationRecord], fmt: str) -> str:
    """The records in one of FORMATS: one reference per line for AMA/Vancouver."""
    if fmt == "ama":
        return "".join(format_ama(r) + "\n" for r in records)
    if fmt == "vancouver":
        return "".join(format_vancouver(r) + "\n" for r in records)
    if fmt == "bibtex":
        return to_bibtex(records)
    if fmt == "ris":
        return to_ris(records)
    raise UsageError(f"unknown citation format {fmt!r}: choose one of {', '.join(FORMATS)}")
