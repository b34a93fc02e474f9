"""The streaming PubMed XML parser and the JSON snapshot converter, on the real bundled records."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from pathlib import Path

import pytest
from Bio import Entrez
from lxml import etree

from pipeline import parse
from pipeline.article_rows import article_rows
from pipeline.models import Article, Author, Quarantined, TrialId
from pipeline.parallel import worker_pool
from pipeline.parse import (
    NotArticleSetError,
    ParsedRecord,
    RecordParseError,
    TruncatedXMLError,
    article_from_json,
    iter_record_bytes,
    parse_article_xml,
    parse_pubmed_xml,
)

SAMPLE_PMIDS = ["31166571", "31290965", "32316080"]
PROLOG = (
    b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, '
    b'1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
)


@pytest.fixture(scope="module")
def sample_xml(pubmed_records: Path) -> bytes:
    return (pubmed_records / "efetch_sample.xml").read_bytes()


@pytest.fixture(scope="module")
def sample_records(sample_xml: bytes) -> list[bytes]:
    return list(iter_record_bytes(io.BytesIO(sample_xml)))


@pytest.fixture(scope="module")
def articles(sample_xml: bytes) -> dict[str, Article]:
    parsed = list(parse_pubmed_xml(sample_xml, "snapshot"))
    assert all(isinstance(p, ParsedRecord) for p in parsed)
    return {p.article.pmid: p.article for p in parsed}


@pytest.fixture(scope="module")
def sustain1_record(sample_records: list[bytes]) -> bytes:
    return sample_records[0]


def article_set(*records: bytes) -> bytes:
    """A complete efetch-style response holding these records."""
    return PROLOG + b"<PubmedArticleSet>\n" + b"\n".join(records) + b"\n</PubmedArticleSet>"


def edited(record: bytes, change) -> bytes:
    """A copy of a real record with `change(root)` applied (the bundled file is never touched)."""
    root = etree.fromstring(record)
    change(root)
    return etree.tostring(root, encoding="utf-8")


def replace_abstract(root, abstract_xml: str | None) -> None:
    article = root.find("MedlineCitation/Article")
    old = article.find("Abstract")
    if abstract_xml is None:
        article.remove(old)
    else:
        old.getparent().replace(old, etree.fromstring(abstract_xml))


def replace_pub_date(root, pub_date_xml: str) -> None:
    old = root.find("MedlineCitation/Article/Journal/JournalIssue/PubDate")
    old.getparent().replace(old, etree.fromstring(pub_date_xml))


# --- splitting ------------------------------------------------------------------------------


def test_records_are_sliced_byte_for_byte(sample_xml: bytes, sample_records: list[bytes]) -> None:
    assert len(sample_records) == 3
    for record in sample_records:
        assert record.startswith(b"<PubmedArticle>") and record.endswith(b"</PubmedArticle>")
        assert sample_xml.count(record) == 1
    # Nothing but whitespace lies between the records.
    between = sample_xml.split(sample_records[0])[1].split(sample_records[1])[0]
    assert between.strip() == b""


@pytest.mark.parametrize("chunk_size", [1, 7, 16, 4096])
def test_slicing_does_not_depend_on_the_read_size(
    monkeypatch: pytest.MonkeyPatch, sample_xml: bytes, sample_records: list[bytes], chunk_size: int
) -> None:
    monkeypatch.setattr(parse, "CHUNK_SIZE", chunk_size)
    assert list(iter_record_bytes(io.BytesIO(sample_xml))) == sample_records


def test_the_set_element_is_not_taken_for_a_record() -> None:
    assert (
        list(iter_record_bytes(io.BytesIO(PROLOG + b"<PubmedArticleSet></PubmedArticleSet>"))) == []
    )
    assert list(iter_record_bytes(io.BytesIO(PROLOG + b"<PubmedArticleSet/>"))) == []


@pytest.mark.parametrize("cut_in_record", [0, 1, 2])
def test_truncated_inside_a_record_yields_the_complete_ones_then_raises(
    sample_xml: bytes, sample_records: list[bytes], cut_in_record: int
) -> None:
    record = sample_records[cut_in_record]
    cut = sample_xml.index(record) + len(record) // 2
    results = []
    with pytest.raises(TruncatedXMLError, match=f"inside record {cut_in_record + 1}") as caught:
        for item in parse_pubmed_xml(io.BytesIO(sample_xml[:cut]), "live"):
            results.append(item)
    assert [r.article.pmid for r in results] == SAMPLE_PMIDS[:cut_in_record]
    assert SAMPLE_PMIDS[cut_in_record] in str(caught.value)


def test_truncated_between_records_raises_after_all_complete_records(
    sample_xml: bytes, sample_records: list[bytes]
) -> None:
    cut = sample_xml.index(sample_records[1]) + len(sample_records[1])
    results = []
    with pytest.raises(TruncatedXMLError, match="without </PubmedArticleSet> after 2"):
        for item in parse_pubmed_xml(sample_xml[:cut], "live"):
            results.append(item)
    assert [r.article.pmid for r in results] == SAMPLE_PMIDS[:2]


def test_an_empty_stream_or_an_error_page_is_not_an_article_set() -> None:
    with pytest.raises(TruncatedXMLError, match="empty"):
        list(iter_record_bytes(io.BytesIO(b"")))
    error_page = b'<?xml version="1.0"?>\n<eFetchResult><ERROR>Empty id list</ERROR></eFetchResult>'
    with pytest.raises(TruncatedXMLError, match="ended before <PubmedArticleSet>"):
        list(iter_record_bytes(io.BytesIO(PROLOG)))
    with pytest.raises(NotArticleSetError, match="Empty id list"):
        list(iter_record_bytes(io.BytesIO(error_page)))


def test_a_declared_encoding_other_than_utf8_is_refused(sample_records: list[bytes]) -> None:
    data = b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<PubmedArticleSet>' + sample_records[0]
    with pytest.raises(NotArticleSetError, match="ISO-8859-1"):
        list(iter_record_bytes(io.BytesIO(data + b"</PubmedArticleSet>")))


def test_book_articles_are_sliced_too(sustain1_record: bytes) -> None:
    book = (
        b'<PubmedBookArticle><BookDocument><PMID Version="1">20301295</PMID>'
        b'<ArticleIdList><ArticleId IdType="bookaccession">NBK1116</ArticleId></ArticleIdList>'
        b"<Book><Publisher><PublisherName>University of Washington, Seattle</PublisherName>"
        b'</Publisher><BookTitle book="gene">GeneReviews&#xae;</BookTitle>'
        b"<PubDate><Year>1993</Year></PubDate></Book>"
        b"<ArticleTitle>Ketamine &amp; depression</ArticleTitle><Language>eng</Language>"
        b'<AuthorList Type="authors"><Author><LastName>Doe</LastName><ForeName>Jane</ForeName>'
        b"<Initials>J</Initials></Author></AuthorList>"
        b'<AuthorList Type="editors"><Author><LastName>Adam</LastName></Author></AuthorList>'
        b'<PublicationType UI="D016454">Review</PublicationType>'
        b'<Abstract><AbstractText Label="SUMMARY">Text NCT01234567.</AbstractText></Abstract>'
        b"</BookDocument><PubmedBookData><ArticleIdList>"
        b'<ArticleId IdType="pubmed">20301295</ArticleId></ArticleIdList></PubmedBookData>'
        b"</PubmedBookArticle>"
    )
    parsed = list(parse_pubmed_xml(article_set(sustain1_record, book), "live"))
    assert [p.article.pmid for p in parsed] == ["31166571", "20301295"]
    article = parsed[1].article
    assert parsed[1].raw.payload == book
    assert article.title == "Ketamine & depression"
    assert article.journal_title == "GeneReviews\u00ae"
    assert article.pub_year == 1993
    assert article.abstract == "SUMMARY: Text NCT01234567."
    assert [(a.last_name, a.fore_name) for a in article.authors] == [("Doe", "Jane")]
    assert article.publication_types == ["Review"]
    assert article.trial_ids == [TrialId("ClinicalTrials.gov", "NCT01234567", "text")]


# --- the SUSTAIN-1 record, field by field -----------------------------------------------------


def test_sustain1_fields(articles: dict[str, Article]) -> None:
    a = articles["31166571"]
    assert a.title == (
        "Efficacy of Esketamine Nasal Spray Plus Oral Antidepressant Treatment for Relapse "
        "Prevention in Patients With Treatment-Resistant Depression: A Randomized Clinical Trial."
    )
    assert a.journal_title == "JAMA psychiatry"
    assert a.journal_iso == "JAMA Psychiatry"
    assert (a.volume, a.issue, a.pages) == ("76", "9", "893-903")
    assert (a.pub_date, a.pub_year) == ("2019 Sep 01", 2019)
    assert a.doi == "10.1001/jamapsychiatry.2019.1189"
    assert a.pmcid == "PMC6551577"
    assert a.languages == ["eng"]
    assert a.date_revised == date(2026, 1, 27)
    assert a.trial_ids == [TrialId("ClinicalTrials.gov", "NCT02493868", "databank")]
    assert a.publication_types == [
        "Clinical Trial, Phase III",
        "Journal Article",
        "Multicenter Study",
        "Randomized Controlled Trial",
        "Research Support, Non-U.S. Gov't",
    ]
    assert a.keywords == []
    assert a.comments_corrections == []
    assert not a.is_retracted and not a.has_erratum
    assert a.abstract_complete is True


def test_sustain1_abstract_sections_and_entities(articles: dict[str, Article]) -> None:
    a = articles["31166571"]
    labels = [s.label for s in a.sections]
    assert labels == [
        "IMPORTANCE",
        "OBJECTIVE",
        "DESIGN, SETTING, AND PARTICIPANTS",
        "INTERVENTIONS",
        "MAIN OUTCOMES AND MEASURES",
        "RESULTS",
        "CONCLUSIONS AND RELEVANCE",
        "TRIAL REGISTRATION",
    ]
    assert [s.order for s in a.sections] == list(range(1, 9))
    assert a.abstract.startswith("IMPORTANCE: Controlled studies have shown")
    for section in a.sections:
        assert a.abstract[section.start : section.end] == section.text
        assert a.abstract[: section.start].endswith(f"{section.label}: ")
    results = a.sections[5].text
    # Numeric character references and the XML entities decode in a record parsed alone.
    assert "log-rank P\u2009=\u2009.003" in results
    assert "P\u2009<\u2009.001" in results
    assert "(<7%)" in results
    assert "&#x" not in a.abstract and "&lt;" not in a.abstract
    assert a.sections[-1].text == "ClinicalTrials.gov identifier: NCT02493868."
    assert a.abstract.endswith("TRIAL REGISTRATION: ClinicalTrials.gov identifier: NCT02493868.")


def test_sustain1_authors(articles: dict[str, Article]) -> None:
    authors = articles["31166571"].authors
    assert len(authors) == 23
    first = authors[0]
    assert (first.position, first.last_name, first.fore_name, first.initials) == (
        1,
        "Daly",
        "Ella J",
        "EJ",
    )
    assert first.affiliations == (
        "Department of Neuroscience, Janssen Research and Development LLC, Titusville, New Jersey.",
    )
    assert [a.position for a in authors] == list(range(1, 24))
    assert [a.last_name for a in authors[:3]] == ["Daly", "Trivedi", "Janik"]
    assert authors[1].affiliations == (
        "Department of Psychiatry, University of Texas Southwestern Medical Center, Dallas.",
    )
    assert all(a.collective_name is None and a.orcid is None for a in authors)


def test_sustain1_mesh_and_chemicals(articles: dict[str, Article]) -> None:
    a = articles["31166571"]
    by_name = {m.descriptor: m for m in a.mesh}
    agents = by_name["Antidepressive Agents"]
    assert agents.descriptor_ui == "D000928"
    assert agents.major_topic is False
    assert agents.qualifiers == (
        ("administration & dosage", "Q000008", False),
        ("adverse effects", "Q000009", False),
        ("pharmacology", "Q000494", True),
    )
    assert by_name["Secondary Prevention"].major_topic is True
    assert by_name["Secondary Prevention"].descriptor_ui == "D055502"
    assert a.mesh[0].descriptor == "Administration, Intranasal"
    assert [m.position for m in a.mesh] == list(range(1, len(a.mesh) + 1))
    assert len(a.mesh) == 17
    assert [c.name for c in a.chemicals][:1] == ["Antidepressive Agents"]
    assert a.chemicals[0].ui == "D000928" and a.chemicals[0].registry_number == "0"
    assert "Ketamine" in [c.name for c in a.chemicals]
    ketamine = next(c for c in a.chemicals if c.name == "Ketamine")
    assert ketamine.registry_number == "690G0D6V8H"


def test_raw_record_is_kept_exactly(sample_xml: bytes) -> None:
    parsed = list(parse_pubmed_xml(io.BytesIO(sample_xml), "live"))
    for item in parsed:
        assert item.raw.format == "xml" and item.raw.source == "live"
        assert item.raw.pmid == item.article.pmid
        assert item.raw.payload in sample_xml
        assert f'<PMID Version="1">{item.article.pmid}</PMID>'.encode() in item.raw.payload


def test_xml_abstract_matches_the_json_snapshot_layout(
    pubmed_records: Path, articles: dict[str, Article]
) -> None:
    landmark = {}
    for line in (pubmed_records / "landmark.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        landmark[record["pmid"]] = record
    for pmid in ("31166571", "31290965"):
        assert articles[pmid].abstract == landmark[pmid]["abstract"]
        assert articles[pmid].title == landmark[pmid]["title"]
        assert articles[pmid].doi == landmark[pmid]["doi"]
        json_authors = [f"{a.last_name} {a.initials}" for a in articles[pmid].authors]
        assert json_authors == landmark[pmid]["authors"]


def test_xml_abstract_matches_an_independent_search_cache_record(
    pubmed_records: Path, articles: dict[str, Article]
) -> None:
    """SUSTAIN-2 also comes, separately, from a cached PubMed search: same text, same layout."""
    lines = (pubmed_records / "search_sample_a.jsonl").read_text(encoding="utf-8").splitlines()
    (cached,) = [r for r in map(json.loads, lines) if r["pmid"] == "32316080"]
    article = articles["32316080"]
    assert article.abstract == cached["abstract"]
    assert article.title == cached["title"]
    assert article.publication_types == cached["pubtypes"]
    assert article.doi == cached["doi"]
    assert [t.accession for t in article.trial_ids] == [cached["nct"]]
    json_article = article_from_json(cached)
    assert json_article.abstract == article.abstract
    assert json_article.trial_ids[0].accession == article.trial_ids[0].accession


# --- cross-check against Biopython's Entrez.read ----------------------------------------------


def _plain(value) -> str:
    """Entrez.read keeps inline tags inside strings; the parser keeps only their text."""
    return re.sub(r"<[^>]+>", "", str(value))


def _entrez_expectations(entrez_article) -> dict:
    citation = entrez_article["MedlineCitation"]
    article = citation["Article"]
    journal = article["Journal"]
    issue = journal["JournalIssue"]
    ids = {i.attributes["IdType"]: str(i) for i in entrez_article["PubmedData"]["ArticleIdList"]}
    pub_date = issue["PubDate"]
    abstract_parts = []
    for text in article.get("Abstract", {}).get("AbstractText", []):
        label = text.attributes.get("Label")
        abstract_parts.append(f"{label}: {_plain(text)}" if label else _plain(text))
    revised = citation["DateRevised"]
    return {
        "pmid": str(citation["PMID"]),
        "title": _plain(article["ArticleTitle"]),
        "abstract": " ".join(abstract_parts),
        "section_labels": [
            t.attributes.get("Label") for t in article.get("Abstract", {}).get("AbstractText", [])
        ],
        "section_categories": [
            t.attributes.get("NlmCategory")
            for t in article.get("Abstract", {}).get("AbstractText", [])
        ],
        "journal_title": str(journal["Title"]),
        "journal_iso": str(journal["ISOAbbreviation"]),
        "volume": issue.get("Volume"),
        "issue": issue.get("Issue"),
        "pages": article.get("Pagination", {}).get("MedlinePgn"),
        "pub_date": pub_date.get("MedlineDate")
        or " ".join(pub_date[k] for k in ("Year", "Season", "Month", "Day") if k in pub_date),
        "doi": ids.get("doi"),
        "pmcid": ids.get("pmc"),
        "languages": [str(x) for x in article["Language"]],
        "authors": [
            (
                a.get("LastName"),
                a.get("ForeName"),
                a.get("Initials"),
                a.get("CollectiveName"),
                tuple(str(i["Affiliation"]) for i in a.get("AffiliationInfo", [])),
            )
            for a in article.get("AuthorList", [])
        ],
        "mesh": [
            (
                str(m["DescriptorName"]),
                m["DescriptorName"].attributes["UI"],
                m["DescriptorName"].attributes["MajorTopicYN"] == "Y",
                tuple(
                    (str(q), q.attributes["UI"], q.attributes["MajorTopicYN"] == "Y")
                    for q in m["QualifierName"]
                ),
            )
            for m in citation.get("MeshHeadingList", [])
        ],
        "chemicals": [
            (str(c["NameOfSubstance"]), c["NameOfSubstance"].attributes["UI"], c["RegistryNumber"])
            for c in citation.get("ChemicalList", [])
        ],
        "keywords": [_plain(k) for kl in citation.get("KeywordList", []) for k in kl],
        "publication_types": [str(p) for p in article["PublicationTypeList"]],
        "databank": [
            (bank["DataBankName"], str(acc))
            for bank in article.get("DataBankList", [])
            for acc in bank["AccessionNumberList"]
        ],
        "comments": [
            (c.attributes["RefType"], c.get("PMID"), c.get("RefSource"))
            for c in citation.get("CommentsCorrectionsList", [])
        ],
        "date_revised": date(int(revised["Year"]), int(revised["Month"]), int(revised["Day"])),
    }


def _our_fields(a: Article) -> dict:
    return {
        "pmid": a.pmid,
        "title": a.title,
        "abstract": a.abstract,
        "section_labels": [s.label for s in a.sections],
        "section_categories": [s.nlm_category for s in a.sections],
        "journal_title": a.journal_title,
        "journal_iso": a.journal_iso,
        "volume": a.volume,
        "issue": a.issue,
        "pages": a.pages,
        "pub_date": a.pub_date,
        "doi": a.doi,
        "pmcid": a.pmcid,
        "languages": a.languages,
        "authors": [
            (x.last_name, x.fore_name, x.initials, x.collective_name, x.affiliations)
            for x in a.authors
        ],
        "mesh": [(m.descriptor, m.descriptor_ui, m.major_topic, m.qualifiers) for m in a.mesh],
        "chemicals": [(c.name, c.ui, c.registry_number) for c in a.chemicals],
        "keywords": a.keywords,
        "publication_types": a.publication_types,
        "databank": [(t.registry, t.accession) for t in a.trial_ids if t.source == "databank"],
        "comments": [(c.ref_type, c.ref_pmid, c.ref_source) for c in a.comments_corrections],
        "date_revised": a.date_revised,
    }


def _compare_with_entrez(xml: bytes) -> int:
    entrez = Entrez.read(io.BytesIO(xml))["PubmedArticle"]
    ours = [p.article for p in parse_pubmed_xml(xml, "snapshot")]
    assert len(ours) == len(entrez)
    for mine, theirs in zip(ours, entrez, strict=True):
        expected = _entrez_expectations(theirs)
        got = _our_fields(mine)
        for key, value in expected.items():
            assert got[key] == value, f"PMID {mine.pmid}: {key} differs from Entrez.read"
    return len(ours)


def test_every_field_agrees_with_entrez_read(sample_xml: bytes) -> None:
    assert _compare_with_entrez(sample_xml) == 3


def test_edited_records_agree_with_entrez_read(sustain1_record: bytes) -> None:
    """Markup, entities, keywords, comments and a MedlineDate, checked against Entrez.read too."""

    def change(root) -> None:
        replace_abstract(
            root,
            '<Abstract><AbstractText Label="BACKGROUND" NlmCategory="BACKGROUND">Ketamine '
            "<i>in vivo</i> at 0.5 mg/kg<sup>-1</sup> &amp; CO<sub>2</sub> &#x2264; 5"
            '</AbstractText><AbstractText Label="RESULTS" NlmCategory="RESULTS">P&#x2009;&lt;'
            "&#x2009;.001</AbstractText></Abstract>",
        )
        replace_pub_date(root, "<PubDate><MedlineDate>2019 Jul-Aug</MedlineDate></PubDate>")
        citation = root.find("MedlineCitation")
        citation.append(
            etree.fromstring(
                '<KeywordList Owner="NOTNLM"><Keyword MajorTopicYN="N">esketamine</Keyword>'
                '<Keyword MajorTopicYN="N">TRD</Keyword></KeywordList>'
            )
        )
        citation.append(
            etree.fromstring(
                '<CommentsCorrectionsList><CommentsCorrections RefType="ErratumIn">'
                "<RefSource>JAMA Psychiatry. 2019 Sep 1;76(9):990</RefSource>"
                '<PMID Version="1">31314062</PMID></CommentsCorrections>'
                "</CommentsCorrectionsList>"
            )
        )

    assert _compare_with_entrez(article_set(edited(sustain1_record, change))) == 1


# --- realistic variations built from the real record -----------------------------------------


@pytest.mark.parametrize(
    ("pub_date_xml", "written", "year"),
    [
        ("<PubDate><MedlineDate>2019 Jul-Aug</MedlineDate></PubDate>", "2019 Jul-Aug", 2019),
        (
            "<PubDate><MedlineDate>1998 Dec-1999 Jan</MedlineDate></PubDate>",
            "1998 Dec-1999 Jan",
            1998,
        ),
        ("<PubDate><MedlineDate>Spring 2017</MedlineDate></PubDate>", "Spring 2017", 2017),
        ("<PubDate><Year>2018</Year><Season>Winter</Season></PubDate>", "2018 Winter", 2018),
        ("<PubDate><Year>2020</Year><Month>Jul</Month></PubDate>", "2020 Jul", 2020),
        ("<PubDate><Year>2021</Year></PubDate>", "2021", 2021),
    ],
)
def test_publication_date_forms(
    sustain1_record: bytes, pub_date_xml: str, written: str, year: int
) -> None:
    record = edited(sustain1_record, lambda root: replace_pub_date(root, pub_date_xml))
    article = parse_article_xml(record)
    assert (article.pub_date, article.pub_year) == (written, year)


def test_inline_markup_keeps_its_text(sustain1_record: bytes) -> None:
    def change(root) -> None:
        title = root.find("MedlineCitation/Article/ArticleTitle")
        title.text = "Effect of "
        italic = etree.SubElement(title, "i")
        italic.text = "S"
        italic.tail = "-ketamine on Ca"
        sup = etree.SubElement(title, "sup")
        sup.text = "2+"
        sup.tail = " signalling."
        replace_abstract(
            root,
            "<Abstract><AbstractText>Levels rose (<i>P</i>&#x2009;=&#x2009;.01) by "
            '<math xmlns="http://www.w3.org/1998/Math/MathML"><mrow><mi>x</mi><mo>+</mo>'
            "<mn>1</mn></mrow></math> and H<sub>2</sub>O<b>!</b></AbstractText></Abstract>",
        )

    article = parse_article_xml(edited(sustain1_record, change))
    assert article.title == "Effect of S-ketamine on Ca2+ signalling."
    assert article.abstract == "Levels rose (P\u2009=\u2009.01) by x+1 and H2O!"
    assert len(article.sections) == 1
    assert article.sections[0].label is None
    assert (article.sections[0].start, article.sections[0].end) == (0, len(article.abstract))


def test_missing_abstract(sustain1_record: bytes) -> None:
    article = parse_article_xml(edited(sustain1_record, lambda root: replace_abstract(root, None)))
    assert article.abstract == "" and article.sections == []
    # The NCT id still comes from the DataBank list.
    assert article.trial_ids == [TrialId("ClinicalTrials.gov", "NCT02493868", "databank")]


def test_collective_author_and_orcid(sustain1_record: bytes) -> None:
    def change(root) -> None:
        author_list = root.find("MedlineCitation/Article/AuthorList")
        first = author_list.find("Author")
        identifier = etree.SubElement(first, "Identifier", Source="ORCID")
        identifier.text = "0000-0002-1825-0097"
        author_list.append(
            etree.fromstring(
                '<Author ValidYN="Y">'
                "<CollectiveName>SUSTAIN-1 Study Group</CollectiveName></Author>"
            )
        )

    authors = parse_article_xml(edited(sustain1_record, change)).authors
    assert authors[0].orcid == "0000-0002-1825-0097"
    assert authors[-1] == Author(position=24, collective_name="SUSTAIN-1 Study Group")


@pytest.mark.parametrize(
    ("comments_xml", "pub_type", "retracted", "erratum"),
    [
        (
            '<CommentsCorrections RefType="RetractionIn"><RefSource>JAMA Psychiatry. 2020;77(1):'
            '100</RefSource><PMID Version="1">31600000</PMID></CommentsCorrections>',
            None,
            True,
            False,
        ),
        (
            '<CommentsCorrections RefType="ErratumIn"><RefSource>JAMA Psychiatry. 2019 Sep 1;76(9)'
            ':990</RefSource><PMID Version="1">31314062</PMID></CommentsCorrections>',
            None,
            False,
            True,
        ),
        ("", "Retracted Publication", True, False),
    ],
)
def test_retraction_and_erratum_flags(
    sustain1_record: bytes, comments_xml: str, pub_type: str | None, retracted: bool, erratum: bool
) -> None:
    def change(root) -> None:
        if comments_xml:
            root.find("MedlineCitation").append(
                etree.fromstring(
                    f"<CommentsCorrectionsList>{comments_xml}</CommentsCorrectionsList>"
                )
            )
        if pub_type:
            types = root.find("MedlineCitation/Article/PublicationTypeList")
            etree.SubElement(types, "PublicationType", UI="D016441").text = pub_type

    article = parse_article_xml(edited(sustain1_record, change))
    assert (article.is_retracted, article.has_erratum) == (retracted, erratum)
    if comments_xml:
        (link,) = article.comments_corrections
        assert link.ref_pmid in ("31600000", "31314062")
        assert link.ref_source.startswith("JAMA Psychiatry.")


def test_trial_ids_from_text_and_databank_are_merged(sustain1_record: bytes) -> None:
    def change(root) -> None:
        root.find("MedlineCitation/Article").remove(
            root.find("MedlineCitation/Article/DataBankList")
        )
        replace_abstract(
            root,
            "<Abstract><AbstractText>Registered as NCT02493868 and nct01234567, ISRCTN12345678 "
            "and EudraCT number 2015-001234-56; not NCT123.</AbstractText></Abstract>",
        )

    ids = parse_article_xml(edited(sustain1_record, change)).trial_ids
    assert ids == [
        TrialId("ClinicalTrials.gov", "NCT02493868", "text"),
        TrialId("ClinicalTrials.gov", "NCT01234567", "text"),
        TrialId("ISRCTN", "ISRCTN12345678", "text"),
        TrialId("EudraCT", "2015-001234-56", "text"),
    ]


def test_doi_falls_back_to_elocation_id(sustain1_record: bytes) -> None:
    def change(root) -> None:
        id_list = root.find("PubmedData/ArticleIdList")
        for element in id_list.findall("ArticleId"):
            if element.get("IdType") == "doi":
                id_list.remove(element)

    assert parse_article_xml(edited(sustain1_record, change)).doi == (
        "10.1001/jamapsychiatry.2019.1189"
    )


def test_reference_list_ids_are_not_the_records_own(articles: dict[str, Article]) -> None:
    # SUSTAIN-1 cites dozens of articles with their own DOIs and PMIDs in ReferenceList.
    assert articles["31166571"].doi == "10.1001/jamapsychiatry.2019.1189"
    assert articles["31166571"].comments_corrections == []


# --- bad records ----------------------------------------------------------------------------


def test_a_malformed_record_is_quarantined_and_the_others_parsed(
    sample_records: list[bytes],
) -> None:
    broken = sample_records[1].replace(b"</ArticleTitle>", b"</ArticleTitl>", 1)
    results = list(
        parse_pubmed_xml(
            article_set(sample_records[0], broken, sample_records[2]), "live", origin="batch 3"
        )
    )
    assert [type(r) for r in results] == [ParsedRecord, Quarantined, ParsedRecord]
    bad = results[1]
    assert bad.stage == "parse"
    assert bad.pmid == "31290965"
    assert bad.payload == broken
    assert "31290965" in bad.error
    assert bad.location == "record 2 of batch 3"
    assert [results[0].article.pmid, results[2].article.pmid] == ["31166571", "32316080"]


def test_an_undeclared_entity_fails_only_its_record(sample_records: list[bytes]) -> None:
    broken = sample_records[0].replace(b"Controlled studies", b"Controlled&nbsp;studies", 1)
    results = list(parse_pubmed_xml(article_set(broken, sample_records[1]), "live"))
    assert isinstance(results[0], Quarantined) and results[0].pmid == "31166571"
    assert isinstance(results[1], ParsedRecord)


def test_a_record_without_pmid_is_quarantined(sustain1_record: bytes) -> None:
    record = edited(
        sustain1_record,
        lambda root: root.find("MedlineCitation").remove(root.find("MedlineCitation/PMID")),
    )
    with pytest.raises(RecordParseError, match="without a PMID"):
        parse_article_xml(record)
    (result,) = parse_pubmed_xml(article_set(record), "live")
    assert isinstance(result, Quarantined) and result.payload == record


def test_a_record_without_title_names_its_pmid(sustain1_record: bytes) -> None:
    record = edited(
        sustain1_record,
        lambda root: setattr(root.find("MedlineCitation/Article/ArticleTitle"), "text", ""),
    )
    with pytest.raises(RecordParseError, match="PMID 31166571") as caught:
        parse_article_xml(record)
    assert caught.value.pmid == "31166571"


# --- JSON-lines snapshot records -------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["landmark.jsonl", "search_sample_a.jsonl", "search_sample_b.jsonl"]
)
def test_every_snapshot_record_converts(pubmed_records: Path, name: str) -> None:
    converted, failed = [], []
    for line_no, line in enumerate((pubmed_records / name).read_text("utf-8").splitlines(), 1):
        record = json.loads(line)
        try:
            article = article_from_json(record)
        except RecordParseError as error:
            failed.append((line_no, str(error)))
            continue
        converted.append(article)
        assert article.pmid == record["pmid"]
        assert article.title == record["title"]
        assert article.abstract == record["abstract"]
        assert article.publication_types == (record["pubtypes"] or [])
        assert article.pub_year == (int(record["year"]) if record["year"] else None)
        assert article.doi == (record["doi"] or None)
        if record["nct"]:
            assert TrialId("ClinicalTrials.gov", record["nct"], "snapshot") in article.trial_ids
        assert article.abstract_complete == record.get("abstract_complete")
        assert article.sections == [] and article.mesh == []
    if name == "landmark.jsonl":
        assert len(converted) == 17
        ((line_no, message),) = failed
        assert line_no == 18
        assert "without a usable PMID" in message and "10.1176/appi.ajp.2017.17060647" in message
    else:
        assert failed == [] and len(converted) == 55


def test_snapshot_fields_the_json_lacks_stay_empty(pubmed_records: Path) -> None:
    record = json.loads(
        (pubmed_records / "search_sample_a.jsonl").read_text("utf-8").splitlines()[0]
    )
    article = article_from_json(record)
    assert article.authors == [] and article.sections == [] and article.mesh == []
    assert article.journal_iso is None and article.pub_date is None and article.pmcid is None
    assert article.date_revised is None and article.abstract_complete is None
    assert article.journal_title == "Expert Rev Neurother"


def test_snapshot_author_name_forms() -> None:
    record = {
        "pmid": "1",
        "title": "T",
        "authors": ["Daly EJ", "van der Berg JA", "Ekstrand, Joakim", "James W. Murrough"],
    }
    authors = article_from_json(record).authors
    assert [(a.last_name, a.fore_name, a.initials) for a in authors] == [
        ("Daly", None, "EJ"),
        ("van der Berg", None, "JA"),
        ("Ekstrand", "Joakim", None),
        ("Murrough", "James W.", None),
    ]
    assert [a.position for a in authors] == [1, 2, 3, 4]


def test_snapshot_nct_and_text_ids() -> None:
    article = article_from_json(
        {
            "pmid": 123,
            "title": "A trial",
            "nct": "NCT02493868",
            "abstract": "Registered at NCT02493868 and NCT02417064.",
        }
    )
    assert article.pmid == "123"
    assert article.trial_ids == [
        TrialId("ClinicalTrials.gov", "NCT02493868", "snapshot"),
        TrialId("ClinicalTrials.gov", "NCT02417064", "text"),
    ]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"pmid": None, "title": "T"}, "without a usable PMID"),
        ({"pmid": "12a", "title": "T"}, "without a usable PMID"),
        ({"pmid": "12", "title": None}, "PMID 12: the snapshot record has no title"),
        ({"pmid": "12", "title": "T", "year": "n.d."}, "PMID 12: 'year'"),
        ({"pmid": "12", "title": "T", "nct": "ISRCTN1"}, "PMID 12: 'nct'"),
        ({"pmid": "12", "title": "T", "pubtypes": "Review"}, "PMID 12: 'pubtypes'"),
        ({"pmid": "12", "title": "T", "abstract_complete": "yes"}, "PMID 12: 'abstract_complete'"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_snapshot_records_raise_a_clear_error(record, message: str) -> None:
    with pytest.raises(RecordParseError, match=re.escape(message)):
        article_from_json(record)


def test_an_unexpected_error_in_one_record_quarantines_only_that_record(
    monkeypatch: pytest.MonkeyPatch, sample_records: list[bytes]
) -> None:
    real = parse._journal_article

    def flaky(root):
        if root.findtext("MedlineCitation/PMID") == "31290965":
            raise ValueError("an odd value")
        return real(root)

    monkeypatch.setattr(parse, "_journal_article", flaky)
    results = list(parse_pubmed_xml(article_set(*sample_records), "live"))
    assert [type(r) for r in results] == [ParsedRecord, Quarantined, ParsedRecord]
    assert results[1].pmid == "31290965"
    assert results[1].error == "PMID 31290965: unexpected ValueError while parsing: an odd value"


class _RepeatingStream(io.RawIOBase):
    """A long efetch response produced lazily: the prolog, `count` copies of a record, the end."""

    def __init__(self, record: bytes, count: int) -> None:
        self._parts = iter(
            [PROLOG + b"<PubmedArticleSet>\n", *([record + b"\n"] * count), b"</PubmedArticleSet>"]
        )
        self._pending = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while len(self._pending) < size:
            part = next(self._parts, None)
            if part is None:
                break
            self._pending += part
        chunk, self._pending = self._pending[:size], self._pending[size:]
        return chunk


def _peak_while_splitting(record: bytes, count: int) -> tuple[int, int]:
    import tracemalloc

    tracemalloc.start()
    try:
        seen = sum(1 for _ in iter_record_bytes(_RepeatingStream(record, count)))
        return seen, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_splitting_memory_does_not_grow_with_the_stream(sustain1_record: bytes) -> None:
    seen_small, peak_small = _peak_while_splitting(sustain1_record, 100)
    seen_large, peak_large = _peak_while_splitting(sustain1_record, 400)  # about 12 MiB
    assert (seen_small, seen_large) == (100, 400)
    # The splitter's buffer (one read plus an unfinished record), one record copy, and the
    # test stream's own buffering of up to two reads: the same for 3 MiB as for 12 MiB.
    assert peak_large < 4 * parse.CHUNK_SIZE + 4 * len(sustain1_record)
    assert peak_large < peak_small + 2 * len(sustain1_record)  # where the reads cut varies


def test_an_abstract_pubmed_cut_short_is_marked_incomplete(sustain1_record: bytes) -> None:
    record = edited(
        sustain1_record,
        lambda root: replace_abstract(
            root,
            "<Abstract><AbstractText>Ketamine was given to 20 patients and "
            "(ABSTRACT TRUNCATED AT 250 WORDS)</AbstractText></Abstract>",
        ),
    )
    assert parse_article_xml(record).abstract_complete is False
    assert parse_article_xml(sustain1_record).abstract_complete is True


@pytest.mark.slow
def test_records_parsed_in_workers_come_back_as_the_rows_of_the_same_articles(
    sample_xml: bytes, sample_records: list[bytes], monkeypatch
) -> None:
    monkeypatch.setattr(parse, "RECORDS_PER_CHUNK", 2)  # two chunks
    broken = sample_records[1].replace(b"</PMID>", b"</PMIDX>", 1)
    body = article_set(sample_records[0], broken, sample_records[2])
    in_process = list(parse_pubmed_xml(body, "snapshot"))
    with worker_pool(2) as pool:
        in_workers = list(parse_pubmed_xml(body, "snapshot", pool=pool))
    assert [type(i) for i in in_workers] == [ParsedRecord, Quarantined, ParsedRecord]
    assert in_workers[1] == in_process[1]
    for mine, theirs in zip(in_process[::2], in_workers[::2], strict=True):
        assert theirs.raw == mine.raw
        assert theirs.article == article_rows(mine.article)


@pytest.mark.slow
def test_a_truncated_response_parsed_in_workers_gives_every_whole_record_first(
    sample_records: list[bytes], monkeypatch
) -> None:
    monkeypatch.setattr(parse, "RECORDS_PER_CHUNK", 1)
    body = article_set(*sample_records)[:-60]  # cut inside the last record
    got = []
    with worker_pool(2) as pool, pytest.raises(TruncatedXMLError):
        for item in parse_pubmed_xml(body, "snapshot", pool=pool):
            got.append(item)
    assert [item.raw.payload for item in got] == sample_records[:2]
    assert [item.article.pmid for item in got] == SAMPLE_PMIDS[:2]
