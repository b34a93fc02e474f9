"""PubMed records -> `Article`: a streaming efetch XML parser and the JSON-lines converter.

PubMed XML escapes `<` in text, so a `<PubmedArticle>` start or end tag can only be markup.
`iter_record_bytes` therefore cuts a response into the exact bytes of each record without
parsing the whole document (memory stays bounded by one record plus one read chunk), and
`parse_article_xml` parses each slice alone, so a malformed record fails alone and is
quarantined with its bytes. PubMed writes only the XML predefined entities and numeric
character references, which decode the same in a slice as in the whole document.

The abstract is laid out as PubMed displays it and as the JSON snapshots store it: each
`AbstractText` written `LABEL: text` when it has a label, else `text`, joined with single
spaces; section spans index into that string (`abstract[start:end] == section.text`).
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO

from lxml import etree

from pipeline.article_rows import ArticleRows, article_rows
from pipeline.errors import PipelineError
from pipeline.models import (
    AbstractSection,
    Article,
    Author,
    Chemical,
    CommentCorrection,
    MeshHeading,
    Quarantined,
    RawRecord,
    TrialId,
)
from pipeline.parallel import ordered_map

log = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20
CLINICALTRIALS_GOV = "ClinicalTrials.gov"


class TruncatedXMLError(PipelineError):
    """The XML stream ended inside a record or without its closing `</PubmedArticleSet>`."""


class NotArticleSetError(PipelineError):
    """The stream is not a PubmedArticleSet (an error page, an eFetchResult, another format)."""


class RecordParseError(PipelineError):
    """One record could not be turned into an Article; `pmid` is set when it could be seen."""

    def __init__(self, message: str, pmid: str | None = None) -> None:
        super().__init__(message)
        self.pmid = pmid


@dataclass(frozen=True)
class ParsedRecord:
    """A record as received and the Article parsed from it (as its warehouse rows when a worker
    process parsed it); `extraction` holds what a follow-up (see `parse_pubmed_xml`) computed
    from the article in the same worker, if one ran."""

    raw: RawRecord
    article: Article | ArticleRows
    extraction: object | None = None


# A follow-up run on a parsed record in the worker that parsed it: a picklable module-level
# function (record -> the record with its `extraction`), and a test of the record's bytes, made
# in the reading process, saying whether the follow-up is worth running on it.
FollowUp = tuple[Callable[[ParsedRecord], ParsedRecord], Callable[[bytes], bool]]


# --- splitting a stream into records --------------------------------------------------------

_RECORD_START = re.compile(rb"<(PubmedArticle|PubmedBookArticle)[\s>]")
_RECORD_END = {
    b"PubmedArticle": re.compile(rb"</PubmedArticle\s*>"),
    b"PubmedBookArticle": re.compile(rb"</PubmedBookArticle\s*>"),
}
_SET_START = re.compile(rb"<PubmedArticleSet[\s>]")
_SET_END = re.compile(rb"</PubmedArticleSet\s*>")
_SET_EMPTY = re.compile(rb"<PubmedArticleSet\s*/>")
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_TAG_TAIL = 32  # longer than any tag searched for, so a tag split across two reads is found
_PMID_BYTES = re.compile(rb"<PMID[^>]*>\s*(\d+)\s*</PMID>")


def _pmid_in(record: bytes) -> str | None:
    """The first PMID in a record's bytes (its own: MedlineCitation comes first), if any."""
    match = _PMID_BYTES.search(record)
    return match[1].decode("ascii") if match else None


def record_pmid(record: bytes) -> str | None:
    """The PMID a record's bytes name first (its own), without parsing it; None if none."""
    return _pmid_in(record)


def iter_record_bytes(stream: BinaryIO) -> Iterator[bytes]:
    """Yield the exact bytes of each `<PubmedArticle>` / `<PubmedBookArticle>` in a stream.

    Reads in chunks; raises TruncatedXMLError when the stream ends inside a record or before
    `</PubmedArticleSet>`, and NotArticleSetError when it is not a PubmedArticleSet at all.
    """
    buf = bytearray()
    pos = 0  # everything before pos has been consumed

    def read_more() -> bool:
        """Drop the consumed bytes and append the next chunk; False at the end of the stream."""
        nonlocal pos
        chunk = stream.read(CHUNK_SIZE)
        if not chunk:
            return False
        if pos:
            del buf[:pos]
            pos = 0
        buf.extend(chunk)
        return True

    # The prolog: find <PubmedArticleSet> (or learn that this is something else).
    while True:
        match = _SET_EMPTY.search(buf) or _SET_START.search(buf)
        if match:
            _check_encoding(bytes(buf[: match.start()]))
            if match.re is _SET_EMPTY:
                return
            pos = match.end()
            break
        if len(buf) > 64 * 1024 or not read_more():
            head = bytes(buf[:200]).decode("utf-8", "replace").strip()
            if not head:
                raise TruncatedXMLError("the XML stream is empty: expected a PubmedArticleSet")
            if _FIRST_ELEMENT.search(buf) is None:  # only the XML declaration or DOCTYPE came
                raise TruncatedXMLError(
                    f"the XML stream ended before <PubmedArticleSet>; it holds only: {head!r}"
                )
            raise NotArticleSetError(f"not a PubmedArticleSet; the response begins: {head!r}")

    n_records = 0
    while True:
        start = _RECORD_START.search(buf, pos)
        if start is None:
            end_of_set = _SET_END.search(buf, pos)
            if end_of_set is not None:
                _warn_unexpected(bytes(buf[pos : end_of_set.start()]), n_records)
                return
            # Keep a tail long enough to hold the start of a tag cut by the read.
            keep_from = max(pos, len(buf) - _TAG_TAIL)
            _warn_unexpected(bytes(buf[pos:keep_from]), n_records)
            pos = keep_from
            if not read_more():
                raise TruncatedXMLError(
                    f"the XML stream ended without </PubmedArticleSet> after {n_records} "
                    "complete records"
                )
            continue
        _warn_unexpected(bytes(buf[pos : start.start()]), n_records)
        pos = start.start()  # the record begins at pos from now on
        end_pattern = _RECORD_END[start[1]]
        scan_from = start.end()
        while (end := end_pattern.search(buf, scan_from)) is None:
            scan_from = max(0, len(buf) - _TAG_TAIL - pos)  # relative to the record start
            if not read_more():
                pmid = _pmid_in(bytes(buf[pos:]))
                raise TruncatedXMLError(
                    f"the XML stream ended inside record {n_records + 1}"
                    + (f" (PMID {pmid})" if pmid else "")
                    + f", after {n_records} complete records"
                )
            scan_from += pos
        yield bytes(buf[pos : end.end()])
        n_records += 1
        pos = end.end()


def _check_encoding(prolog: bytes) -> None:
    """Record slices are parsed as UTF-8: refuse a stream that declares another encoding."""
    match = _XML_ENCODING.search(prolog)
    if match and match[1].decode("ascii").lower().replace("_", "-") not in (
        "utf-8",
        "utf8",
        "us-ascii",
        "ascii",
    ):
        raise NotArticleSetError(
            f"the XML declares encoding {match[1].decode('ascii')!r}; PubMed XML is UTF-8"
        )


def _warn_unexpected(between: bytes, n_records: int) -> None:
    """Content between records that is not whitespace (e.g. DeleteCitation) is logged, not lost."""
    if between.strip():
        log.warning(
            "content outside any article after record %d was skipped: %r",
            n_records,
            between.strip()[:200],
        )


# --- one record -> Article ------------------------------------------------------------------

_parsers = threading.local()


def _parser() -> etree.XMLParser:
    """One parser per thread: no DTD, no network, no entity expansion beyond XML's own."""
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
        )
        _parsers.parser = parser
    return parser


def _text(element: etree._Element | None) -> str | None:
    """All the text inside an element (inline markup such as <i>, <sup>, MathML kept as text)."""
    if element is None:
        return None
    if len(element) == 0:
        return element.text or ""
    return "".join(element.itertext())


def _clean(value: str | None) -> str | None:
    """Strip surrounding whitespace; an empty value becomes None."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def _yes(element: etree._Element, attribute: str) -> bool:
    return element.get(attribute, "N") == "Y"


_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_YEAR_IN_TEXT = re.compile(r"\b(1[5-9]\d\d|2\d\d\d)\b")


def _month_number(value: str) -> int | None:
    value = value.strip()
    if value.isdigit():
        return int(value)
    return _MONTHS.get(value[:3].lower())


def _date(element: etree._Element | None) -> date | None:
    """A Year/Month/Day element (DateRevised and the like) as a date."""
    if element is None:
        return None
    year, month, day = (element.findtext(p) for p in ("Year", "Month", "Day"))
    try:
        return date(int(year), _month_number(month or "1") or 1, int(day or 1))
    except (TypeError, ValueError):
        return None


def _pub_date(element: etree._Element | None) -> tuple[str | None, int | None]:
    """PubDate as written ("2019 Sep 01", "2018 Winter", "2019 Jul-Aug") and its year."""
    if element is None:
        return None, None
    medline_date = _clean(element.findtext("MedlineDate"))
    if medline_date:
        match = _YEAR_IN_TEXT.search(medline_date)
        return medline_date, int(match[1]) if match else None
    parts = [_clean(element.findtext(name)) for name in ("Year", "Season", "Month", "Day")]
    written = " ".join(p for p in parts if p) or None
    year = parts[0]
    return written, int(year) if year and year.isdigit() else None


# Registry ids written in titles and abstracts; the registry names follow PubMed's DataBankName.
_TEXT_TRIAL_IDS = (
    (CLINICALTRIALS_GOV, "nct", re.compile(r"\b(NCT\d{8})\b", re.IGNORECASE)),
    ("ISRCTN", "isrctn", re.compile(r"\b(ISRCTN\d{8})\b", re.IGNORECASE)),
    ("ANZCTR", "actrn", re.compile(r"\b(ACTRN\d{14})\b", re.IGNORECASE)),
    ("ChiCTR", "chictr", re.compile(r"\b(ChiCTR[-A-Z]*\d{6,})\b")),
    ("DRKS", "drks", re.compile(r"\b(DRKS\d{8})\b")),
    ("EudraCT", "eudract", re.compile(r"\bEudraCT\b[^0-9]{0,20}(\d{4}-\d{6}-\d{2})\b")),
)


def trial_ids_in_text(*texts: str | None) -> list[TrialId]:
    """Registry ids (NCT01234567, ISRCTN..., ACTRN..., ChiCTR..., DRKS..., EudraCT) in free text."""
    found: dict[tuple[str, str], TrialId] = {}
    for text in texts:
        if not text:
            continue
        lowered = text.lower()
        for registry, marker, pattern in _TEXT_TRIAL_IDS:
            if marker not in lowered:  # a plain substring test spares most regex scans
                continue
            for match in pattern.finditer(text):
                accession = match[1]
                if registry in (CLINICALTRIALS_GOV, "ISRCTN", "ANZCTR"):
                    accession = accession.upper()
                found.setdefault((registry, accession), TrialId(registry, accession, "text"))
    return list(found.values())


def _merge_trial_ids(*groups: list[TrialId]) -> list[TrialId]:
    """Trial ids in order, the first source of each (registry, accession) kept."""
    merged: dict[tuple[str, str], TrialId] = {}
    for group in groups:
        for trial_id in group:
            merged.setdefault((trial_id.registry, trial_id.accession), trial_id)
    return list(merged.values())


def _abstract(abstract: etree._Element | None) -> tuple[str, list[AbstractSection]]:
    """The joined abstract and its sections (spans index the section text in the abstract)."""
    if abstract is None:
        return "", []
    pieces: list[str] = []
    sections: list[AbstractSection] = []
    offset = 0
    for order, element in enumerate(abstract.iterfind("AbstractText"), 1):
        if order > 1:
            pieces.append(" ")
            offset += 1
        label = element.get("Label") or None
        text = _text(element) or ""
        if label:
            prefix = f"{label}: "
            pieces.append(prefix)
            offset += len(prefix)
        pieces.append(text)
        sections.append(
            AbstractSection(
                order=order,
                label=label,
                nlm_category=element.get("NlmCategory") or None,
                text=text,
                start=offset,
                end=offset + len(text),
            )
        )
        offset += len(text)
    return "".join(pieces), sections


def _authors(author_list: etree._Element | None) -> list[Author]:
    if author_list is None:
        return []
    authors = []
    for position, element in enumerate(author_list.iterfind("Author"), 1):
        fields: dict[str, str | None] = {}
        affiliations: list[str] = []
        orcid = None
        for child in element:  # one pass over the children is much faster than a find per field
            tag = child.tag
            if tag == "AffiliationInfo":
                affiliation = _clean(_text(child.find("Affiliation")))
                if affiliation:
                    affiliations.append(affiliation)
            elif tag == "Identifier":
                if orcid is None and child.get("Source", "").upper() == "ORCID":
                    orcid = _clean(child.text)
            elif tag in _AUTHOR_FIELDS:
                fields[_AUTHOR_FIELDS[tag]] = _clean(_text(child))
        authors.append(
            Author(position=position, affiliations=tuple(affiliations), orcid=orcid, **fields)
        )
    return authors


_AUTHOR_FIELDS = {
    "LastName": "last_name",
    "ForeName": "fore_name",
    "Initials": "initials",
    "CollectiveName": "collective_name",
}


def _mesh(mesh_list: etree._Element | None) -> list[MeshHeading]:
    if mesh_list is None:
        return []
    headings = []
    for position, element in enumerate(mesh_list.iterfind("MeshHeading"), 1):
        descriptor = element.find("DescriptorName")
        if descriptor is None:
            continue
        headings.append(
            MeshHeading(
                position=position,
                descriptor=_text(descriptor) or "",
                descriptor_ui=descriptor.get("UI"),
                major_topic=_yes(descriptor, "MajorTopicYN"),
                qualifiers=tuple(
                    (_text(q) or "", q.get("UI"), _yes(q, "MajorTopicYN"))
                    for q in element.iterfind("QualifierName")
                ),
            )
        )
    return headings


def _chemicals(chemical_list: etree._Element | None) -> list[Chemical]:
    if chemical_list is None:
        return []
    chemicals = []
    for element in chemical_list.iterfind("Chemical"):
        substance = element.find("NameOfSubstance")
        if substance is None:
            continue
        chemicals.append(
            Chemical(
                name=_text(substance) or "",
                ui=substance.get("UI"),
                registry_number=_clean(element.findtext("RegistryNumber")),
            )
        )
    return chemicals


def _databank_ids(container: etree._Element | None) -> list[TrialId]:
    if container is None:
        return []
    ids = []
    for bank in container.iterfind("DataBankList/DataBank"):
        name = _clean(bank.findtext("DataBankName"))
        if not name:
            continue
        for accession in bank.iterfind("AccessionNumberList/AccessionNumber"):
            value = _clean(accession.text)
            if value:
                ids.append(TrialId(name, value, "databank"))
    return ids


def _comments_corrections(container: etree._Element | None) -> list[CommentCorrection]:
    if container is None:
        return []
    return [
        CommentCorrection(
            ref_type=element.get("RefType", ""),
            ref_pmid=_clean(element.findtext("PMID")),
            ref_source=_clean(_text(element.find("RefSource"))),
        )
        for element in container.iterfind("CommentsCorrectionsList/CommentsCorrections")
    ]


def _article_ids(id_list: etree._Element | None) -> dict[str, str]:
    """The record's own ArticleIdList (never the ones inside its ReferenceList)."""
    ids: dict[str, str] = {}
    if id_list is not None:
        for element in id_list.iterfind("ArticleId"):
            value = _clean(element.text)
            if value:
                ids.setdefault(element.get("IdType", ""), value)
    return ids


def _keywords(container: etree._Element) -> list[str]:
    return [k for k in (_clean(_text(e)) for e in container.iterfind("KeywordList/Keyword")) if k]


def _abstract_complete(abstract: str) -> bool:
    """PubMed marks abstracts it cut at 250 words (older records); otherwise it is whole."""
    return "ABSTRACT TRUNCATED" not in abstract[-60:].upper()


def parse_article_xml(record: bytes) -> Article:
    """One `<PubmedArticle>` (or `<PubmedBookArticle>`) element's bytes -> Article.

    Raises RecordParseError (with the PMID when it can be seen) for malformed XML, an
    unexpected root element, or a record without PMID or title.
    """
    try:
        root = etree.fromstring(record, _parser())
    except etree.XMLSyntaxError as error:
        pmid = _pmid_in(record)
        where = f"PMID {pmid}" if pmid else "a record without a readable PMID"
        raise RecordParseError(f"malformed XML in {where}: {error}", pmid) from None
    if root.tag == "PubmedArticle":
        return _journal_article(root)
    if root.tag == "PubmedBookArticle":
        return _book_article(root)
    raise RecordParseError(
        f"expected a PubmedArticle or PubmedBookArticle element, got <{root.tag}>", _pmid_in(record)
    )


def _require(pmid: str | None, title: str | None, kind: str) -> tuple[str, str]:
    if not pmid or not pmid.isdigit():
        raise RecordParseError(f"a {kind} without a PMID (found {pmid!r})", None)
    if not title:
        raise RecordParseError(f"PMID {pmid}: the {kind} has no title", pmid)
    return pmid, title


def _journal_article(root: etree._Element) -> Article:
    citation = root.find("MedlineCitation")
    if citation is None:
        raise RecordParseError(
            "a PubmedArticle without MedlineCitation", _pmid_in(etree.tostring(root))
        )
    pmid = _clean(citation.findtext("PMID"))
    article = citation.find("Article")
    if article is None:
        raise RecordParseError(f"PMID {pmid}: the PubmedArticle has no Article element", pmid)
    title = _clean(_text(article.find("ArticleTitle"))) or _clean(
        _text(article.find("VernacularTitle"))
    )
    pmid, title = _require(pmid, title, "PubmedArticle")
    journal = article.find("Journal")
    issue = journal.find("JournalIssue") if journal is not None else None
    pub_date, pub_year = _pub_date(issue.find("PubDate") if issue is not None else None)
    abstract, sections = _abstract(article.find("Abstract"))
    pubmed_data = root.find("PubmedData")
    ids = _article_ids(pubmed_data.find("ArticleIdList") if pubmed_data is not None else None)
    doi = ids.get("doi")
    if doi is None:
        for location in article.iterfind("ELocationID"):
            if location.get("EIdType") == "doi" and location.get("ValidYN", "Y") == "Y":
                doi = _clean(location.text)
                if doi:
                    break
    pages = _clean(article.findtext("Pagination/MedlinePgn"))
    if pages is None:
        first = _clean(article.findtext("Pagination/StartPage"))
        last = _clean(article.findtext("Pagination/EndPage"))
        pages = f"{first}-{last}" if first and last else first
    return Article(
        pmid=pmid,
        title=title,
        abstract=abstract,
        sections=sections,
        journal_title=_clean(_text(journal.find("Title"))) if journal is not None else None,
        journal_iso=_clean(journal.findtext("ISOAbbreviation")) if journal is not None else None,
        volume=_clean(issue.findtext("Volume")) if issue is not None else None,
        issue=_clean(issue.findtext("Issue")) if issue is not None else None,
        pages=pages,
        pub_date=pub_date,
        pub_year=pub_year,
        doi=doi,
        pmcid=ids.get("pmc"),
        languages=[v for v in (_clean(e.text) for e in article.iterfind("Language")) if v],
        authors=_authors(article.find("AuthorList")),
        mesh=_mesh(citation.find("MeshHeadingList")),
        chemicals=_chemicals(citation.find("ChemicalList")),
        keywords=_keywords(citation),
        publication_types=[
            v
            for v in (
                _clean(e.text) for e in article.iterfind("PublicationTypeList/PublicationType")
            )
            if v
        ],
        trial_ids=_merge_trial_ids(_databank_ids(article), trial_ids_in_text(title, abstract)),
        comments_corrections=_comments_corrections(citation),
        date_revised=_date(citation.find("DateRevised")),
        abstract_complete=_abstract_complete(abstract),
    )


def _book_article(root: etree._Element) -> Article:
    document = root.find("BookDocument")
    if document is None:
        raise RecordParseError("a PubmedBookArticle without BookDocument", None)
    pmid = _clean(document.findtext("PMID"))
    book = document.find("Book")
    title = _clean(_text(document.find("ArticleTitle"))) or (
        _clean(_text(book.find("BookTitle"))) if book is not None else None
    )
    pmid, title = _require(pmid, title, "PubmedBookArticle")
    pub_date, pub_year = _pub_date(book.find("PubDate") if book is not None else None)
    abstract, sections = _abstract(document.find("Abstract"))
    book_data = root.find("PubmedBookData")
    ids = _article_ids(document.find("ArticleIdList"))
    ids.update(
        {
            k: v
            for k, v in _article_ids(
                book_data.find("ArticleIdList") if book_data is not None else None
            ).items()
            if k not in ids
        }
    )
    author_list = next(
        (a for a in document.iterfind("AuthorList") if a.get("Type", "authors") == "authors"),
        None,
    )
    return Article(
        pmid=pmid,
        title=title,
        abstract=abstract,
        sections=sections,
        journal_title=_clean(_text(book.find("BookTitle"))) if book is not None else None,
        volume=_clean(book.findtext("Volume")) if book is not None else None,
        pub_date=pub_date,
        pub_year=pub_year,
        doi=ids.get("doi"),
        pmcid=ids.get("pmc"),
        languages=[v for v in (_clean(e.text) for e in document.iterfind("Language")) if v],
        authors=_authors(author_list),
        keywords=_keywords(document),
        publication_types=[
            v for v in (_clean(e.text) for e in document.iterfind("PublicationType")) if v
        ],
        trial_ids=_merge_trial_ids(_databank_ids(document), trial_ids_in_text(title, abstract)),
        comments_corrections=_comments_corrections(document),
        date_revised=_date(document.find("DateRevised")),
        abstract_complete=_abstract_complete(abstract),
    )


RECORDS_PER_CHUNK = 50  # records handed to a worker process at a time (and held as results)


def parse_record(
    record: bytes, index: int, source: str, origin: str | None = None
) -> ParsedRecord | Quarantined:
    """One record's bytes -> a ParsedRecord, or a Quarantined saying why not (never raises)."""
    try:
        article = parse_article_xml(record)
    except Exception as error:  # one odd record must not end a long unattended run
        location = f"record {index}" + (f" of {origin}" if origin else "")
        pmid = getattr(error, "pmid", None) or _pmid_in(record)
        message = (
            str(error)
            if isinstance(error, RecordParseError)
            else f"PMID {pmid}: unexpected {type(error).__name__} while parsing: {error}"
        )
        return Quarantined("parse", message, record, pmid, location)
    return ParsedRecord(RawRecord(article.pmid, record, "xml", source), article)


Chunk = tuple[list[bytes], int, str, str | None, Callable | None, list[bool]]


def parse_record_chunk(chunk: Chunk) -> list[ParsedRecord | Quarantined]:
    """(records, index of the first, source, origin, follow-up, which records it runs on) ->
    their results in order (a worker task)."""
    records, first, source, origin, follow_up, wanted = chunk
    results = [parse_record(r, first + i, source, origin) for i, r in enumerate(records)]
    if follow_up is None:
        return results
    return [
        follow_up(item) if want and isinstance(item, ParsedRecord) else item
        for item, want in zip(results, wanted, strict=True)
    ]


# What a worker sends back for a good record: its article's warehouse rows and its extraction.
# The record's bytes do not travel back: the reading process still holds them.
SentBack = tuple[ArticleRows, object | None]


def parse_record_chunk_as_rows(chunk: Chunk) -> list[SentBack | Quarantined]:
    """`parse_record_chunk` in a worker process: each good record comes back as its article's
    warehouse rows (`ArticleRows`, which unpickle several times faster than the Article
    dataclasses and leave the writing process nothing to convert) and its extraction."""
    return [
        (article_rows(item.article), item.extraction) if isinstance(item, ParsedRecord) else item
        for item in parse_record_chunk(chunk)
    ]


def _chunks(
    stream: BinaryIO, source: str, origin: str | None, size: int, follow_up: FollowUp | None
) -> Iterator[Chunk]:
    function, test = follow_up if follow_up is not None else (None, None)
    records: list[bytes] = []
    wanted: list[bool] = []
    first = 1
    for index, record in enumerate(iter_record_bytes(stream), 1):
        records.append(record)
        wanted.append(test is not None and test(record))
        if len(records) >= size:
            yield records, first, source, origin, function, wanted
            records, wanted, first = [], [], index + 1
    if records:
        yield records, first, source, origin, function, wanted


def parse_pubmed_xml(
    stream: BinaryIO | bytes,
    source: str,
    *,
    origin: str | None = None,
    pool: Executor | None = None,
    follow_up: FollowUp | None = None,
) -> Iterator[ParsedRecord | Quarantined]:
    """Stream an efetch response: a ParsedRecord per good record, a Quarantined per bad one.

    `source` ('live' or 'snapshot') goes on each RawRecord; `origin` (a file name or batch
    description) goes into a quarantined record's location. With a `pool` (see
    `pipeline.parallel`) records are parsed in its worker processes, in chunks, and come out in
    the same order, each article as its warehouse rows (`ArticleRows`). With a `follow_up`
    (function, test), the function runs on each parsed record whose bytes pass the test, in the
    worker that parsed it (the snapshot ingest extracts trial facts so, while this process
    loads). Truncation raises TruncatedXMLError after every complete record before it has been
    yielded.
    """
    if isinstance(stream, bytes | bytearray | memoryview):
        stream = io.BytesIO(bytes(stream))
    size = RECORDS_PER_CHUNK if pool is not None else 1
    chunks = _chunks(stream, source, origin, size, follow_up)
    if pool is None:
        results = map(parse_record_chunk, chunks)
    else:
        results = _parsed_in_workers(pool, chunks, source)
    for items in results:
        for item in items:
            if isinstance(item, Quarantined):
                log.warning("quarantined %s: %s", item.location, item.error)
            yield item


def _parsed_in_workers(
    pool: Executor, chunks: Iterator[Chunk], source: str
) -> Iterator[list[ParsedRecord | Quarantined]]:
    """The results of each chunk, parsed in the pool, in order: a good record's ParsedRecord is
    put back together from the bytes sent and the rows and extraction received."""
    sent: deque[list[bytes]] = deque()  # the records of the chunks in flight, in order

    def sending() -> Iterator[Chunk]:
        for chunk in chunks:
            sent.append(chunk[0])
            yield chunk

    for received in ordered_map(pool, parse_record_chunk_as_rows, sending()):
        records = sent.popleft()
        yield [
            item
            if isinstance(item, Quarantined)
            else ParsedRecord(RawRecord(item[0].pmid, record, "xml", source), *item)
            for record, item in zip(records, received, strict=True)
        ]


# --- JSON-lines snapshot records --------------------------------------------------------------

_INITIALS = re.compile(r"^[A-Z]{1,4}$")


def author_from_name(position: int, name: str) -> Author:
    """An author written as one string: "Daly EJ", "Ekstrand, Joakim" or "James W. Murrough"."""
    name = " ".join(name.split())
    if "," in name:
        last, _, fore = name.partition(",")
        return Author(position, last_name=last.strip() or None, fore_name=fore.strip() or None)
    last, _, tail = name.rpartition(" ")
    if last and _INITIALS.match(tail):
        return Author(position, last_name=last, initials=tail)
    if last:  # given names first, as on journal pages
        return Author(position, last_name=tail, fore_name=last)
    return Author(position, last_name=name)


def _json_str(record: dict[str, Any], key: str, pmid: str | None) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordParseError(
            f"PMID {pmid}: {key!r} should be text, got {type(value).__name__} {value!r}", pmid
        )
    return value.strip() or None


def _json_str_list(record: dict[str, Any], key: str, pmid: str | None) -> list[str]:
    value = record.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RecordParseError(
            f"PMID {pmid}: {key!r} should be a list of text, got {value!r}", pmid
        )
    return [v.strip() for v in value if v.strip()]


def article_from_json(record: dict[str, Any]) -> Article:
    """A JSON-lines snapshot record (pmid, doi, title, journal, year, pubtypes, nct, authors,
    abstract, abstract_complete, ...) -> Article; fields the record lacks stay None or empty.

    Raises RecordParseError for a record without a usable PMID or title, or with a field of
    the wrong type.
    """
    if not isinstance(record, dict):
        raise RecordParseError(f"a snapshot record should be a JSON object, got {record!r:.80}")
    raw_pmid = record.get("pmid")
    pmid = str(raw_pmid).strip() if isinstance(raw_pmid, str | int) else None
    if not pmid or not pmid.isdigit():
        hint = record.get("doi") or record.get("title") or record.get("source")
        raise RecordParseError(
            f"a snapshot record without a usable PMID (pmid={raw_pmid!r}"
            + (f", {hint!s:.100}" if hint else "")
            + ")",
            None,
        )
    title = _json_str(record, "title", pmid)
    if not title:
        raise RecordParseError(f"PMID {pmid}: the snapshot record has no title", pmid)
    abstract = record.get("abstract") or ""
    if not isinstance(abstract, str):
        raise RecordParseError(f"PMID {pmid}: 'abstract' should be text", pmid)
    year = record.get("year")
    pub_year = None
    if year not in (None, ""):
        if not str(year).strip().isdigit():
            raise RecordParseError(f"PMID {pmid}: 'year' should be a year, got {year!r}", pmid)
        pub_year = int(str(year).strip())
    nct_ids = []
    nct = _json_str(record, "nct", pmid)
    if nct:
        for accession in re.split(r"[,;\s]+", nct):
            if not re.fullmatch(r"NCT\d{8}", accession, re.IGNORECASE):
                raise RecordParseError(f"PMID {pmid}: 'nct' is not an NCT number: {nct!r}", pmid)
            nct_ids.append(TrialId(CLINICALTRIALS_GOV, accession.upper(), "snapshot"))
    complete = record.get("abstract_complete")
    if complete is not None and not isinstance(complete, bool):
        raise RecordParseError(f"PMID {pmid}: 'abstract_complete' should be true or false", pmid)
    return Article(
        pmid=pmid,
        title=title,
        abstract=abstract,
        journal_title=_json_str(record, "journal", pmid),
        pub_year=pub_year,
        doi=_json_str(record, "doi", pmid),
        authors=[
            author_from_name(i, name)
            for i, name in enumerate(_json_str_list(record, "authors", pmid), 1)
        ],
        publication_types=_json_str_list(record, "pubtypes", pmid),
        trial_ids=_merge_trial_ids(nct_ids, trial_ids_in_text(title, abstract)),
        abstract_complete=complete,
    )
