"""Citations built from real PubMed records in a warehouse (edited copies for edge cases)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import rispy

from pipeline import warehouse
from pipeline.cli import main
from pipeline.errors import PipelineError
from pipeline.evidence import citations
from pipeline.models import Article, Author, RawRecord
from pipeline.parse import ParsedRecord, parse_pubmed_xml

SUSTAIN_1 = "31166571"
TRANSFORM_1 = "31290965"
SUSTAIN_2 = "32316080"


def _efetch_articles(path: Path) -> tuple[list[Article], list[RawRecord]]:
    """The records of a real efetch response, parsed as the ingest parses them."""
    parsed = list(parse_pubmed_xml(path.read_bytes(), "snapshot", origin=path.name))
    assert all(isinstance(p, ParsedRecord) for p in parsed)
    return [p.article for p in parsed], [p.raw for p in parsed]


@pytest.fixture(scope="module")
def real_articles(pubmed_records: Path) -> dict[str, Article]:
    articles, _ = _efetch_articles(pubmed_records / "efetch_sample.xml")
    return {a.pmid: a for a in articles}


def _load(tmp_path: Path, articles: list[Article]):
    con = warehouse.connect(tmp_path / "cite.duckdb")
    raws = [RawRecord(a.pmid, a.pmid.encode(), "xml", "snapshot") for a in articles]
    warehouse.load_batch(con, articles, raws, run_id="test-run")
    return con


@pytest.fixture()
def real_con(tmp_path: Path, pubmed_records: Path):
    articles, raws = _efetch_articles(pubmed_records / "efetch_sample.xml")
    con = warehouse.connect(tmp_path / "real.duckdb")
    warehouse.load_batch(con, articles, raws, run_id="test-run")
    yield con
    con.close()


def test_ama_many_authors_lists_first_three_then_et_al(real_con):
    (record,) = citations.load_citation_records(real_con, [SUSTAIN_1])
    assert len(record.authors) == 23
    assert citations.format_ama(record) == (
        "Daly EJ, Trivedi MH, Janik A, et al. Efficacy of Esketamine Nasal Spray Plus Oral "
        "Antidepressant Treatment for Relapse Prevention in Patients With Treatment-Resistant "
        "Depression: A Randomized Clinical Trial. JAMA Psychiatry. 2019;76(9):893-903. "
        "doi:10.1001/jamapsychiatry.2019.1189"
    )


def test_vancouver_lists_six_then_et_al_with_full_date_and_pmid(real_con):
    (record,) = citations.load_citation_records(real_con, [TRANSFORM_1])
    assert citations.format_vancouver(record) == (
        "Fedgchin M, Trivedi M, Daly EJ, Melkote R, Lane R, Lim P, et al. Efficacy and Safety of "
        "Fixed-Dose Esketamine Nasal Spray Combined With a New Oral Antidepressant in "
        "Treatment-Resistant Depression: Results of a Randomized, Double-Blind, Active-Controlled "
        "Study (TRANSFORM-1). Int J Neuropsychopharmacol. 2019 Oct 1;22(10):616-630. "
        "doi: 10.1093/ijnp/pyz039. PMID: 31290965."
    )


def test_record_without_pages_leaves_them_out(real_con):
    (record,) = citations.load_citation_records(real_con, [SUSTAIN_2])
    assert record.pages is None
    ama = citations.format_ama(record)
    assert ama.endswith("J Clin Psychiatry. 2020;81(3). doi:10.4088/JCP.19m12891")
    assert ama.startswith("Wajs E, Aluisio L, Holder R, et al. Esketamine Nasal Spray")


def test_et_al_thresholds_on_edited_copies(tmp_path, real_articles):
    base = real_articles[SUSTAIN_1]
    six = dataclasses.replace(base, pmid="90000006", authors=base.authors[:6])
    seven = dataclasses.replace(base, pmid="90000007", authors=base.authors[:7])
    con = _load(tmp_path, [six, seven])
    rec_six, rec_seven = citations.load_citation_records(con, ["90000006", "90000007"])
    assert citations.format_ama(rec_six).startswith(
        "Daly EJ, Trivedi MH, Janik A, Li H, Zhang Y, Li X. Efficacy"
    )
    assert citations.format_ama(rec_seven).startswith("Daly EJ, Trivedi MH, Janik A, et al. Effic")
    assert citations.format_vancouver(rec_six).startswith(
        "Daly EJ, Trivedi MH, Janik A, Li H, Zhang Y, Li X. Efficacy"
    )
    assert citations.format_vancouver(rec_seven).startswith(
        "Daly EJ, Trivedi MH, Janik A, Li H, Zhang Y, Li X, et al. Efficacy"
    )


def test_no_doi_no_issue_and_medline_date(tmp_path, real_articles):
    base = real_articles[TRANSFORM_1]
    edited = dataclasses.replace(
        base,
        pmid="90000001",
        doi=None,
        issue=None,
        pub_date="1998 Dec-1999 Jan",
        pub_year=None,
        pages="1592-603",
    )
    con = _load(tmp_path, [edited])
    (record,) = citations.load_citation_records(con, ["90000001"])
    assert record.year == 1998
    ama = citations.format_ama(record)
    assert ama.endswith("Int J Neuropsychopharmacol. 1998;22:1592-1603.")
    assert "doi" not in ama
    vancouver = citations.format_vancouver(record)
    assert vancouver.endswith(
        "Int J Neuropsychopharmacol. 1998 Dec-1999 Jan;22:1592-603. PMID: 90000001."
    )
    assert "doi" not in vancouver


def test_collective_author_and_no_authors(tmp_path, real_articles):
    base = real_articles[SUSTAIN_2]
    group = dataclasses.replace(
        base,
        pmid="90000002",
        authors=[
            Author(position=1, last_name="Wajs", fore_name="Ewa", initials="E"),
            Author(position=2, collective_name="SUSTAIN-2 Study Group"),
        ],
    )
    nobody = dataclasses.replace(base, pmid="90000003", authors=[])
    con = _load(tmp_path, [group, nobody])
    rec_group, rec_nobody = citations.load_citation_records(con, ["90000002", "90000003"])
    assert citations.format_ama(rec_group).startswith("Wajs E, SUSTAIN-2 Study Group. Esketamine")
    assert citations.format_ama(rec_nobody).startswith("Esketamine Nasal Spray Plus")
    bibtex = citations.to_bibtex([rec_group])
    assert "author = {Wajs, Ewa and {SUSTAIN-2 Study Group}}" in bibtex


def test_html_markup_escapes_and_italicises_the_journal(tmp_path, real_articles):
    edited = dataclasses.replace(
        real_articles[SUSTAIN_1], pmid="90000004", title="Ketamine <b>& esketamine</b>."
    )
    con = _load(tmp_path, [edited])
    (record,) = citations.load_citation_records(con, ["90000004"])
    text = citations.format_ama(record, markup="html")
    assert "Ketamine &lt;b&gt;&amp; esketamine&lt;/b&gt;." in text
    assert "<i>JAMA Psychiatry.</i> 2019;76(9):893-903." in text
    assert citations.format_ama(record, markup="markdown").count("*JAMA Psychiatry.*") == 1


def test_bibtex_export_of_real_records(real_con):
    records = citations.load_citation_records(real_con, [SUSTAIN_1, SUSTAIN_2])
    bibtex = citations.to_bibtex(records)
    assert bibtex.count("@article{") == 2
    assert "@article{Daly2019-31166571," in bibtex
    assert "@article{Wajs2020-32316080," in bibtex
    assert "  author = {Daly, Ella J and Trivedi, Madhukar H and Janik, Adam and " in bibtex
    assert "  pages = {893--903}," in bibtex
    assert "  doi = {10.4088/JCP.19m12891}," in bibtex
    assert "  pmid = {31166571}," in bibtex
    assert bibtex.count("{") == bibtex.count("}")


def test_bibtex_escapes_special_characters(tmp_path, real_articles):
    edited = dataclasses.replace(real_articles[SUSTAIN_2], pmid="90000005", title="50% & more_x.")
    con = _load(tmp_path, [edited])
    bibtex = citations.to_bibtex(citations.load_citation_records(con, ["90000005"]))
    assert r"title = {{50\% \& more\_x}}" in bibtex


def test_ris_export_round_trips(real_con):
    records = citations.load_citation_records(real_con, [SUSTAIN_1, TRANSFORM_1, SUSTAIN_2])
    parsed = rispy.loads(citations.to_ris(records))
    assert [entry["accession_number"] for entry in parsed] == [SUSTAIN_1, TRANSFORM_1, SUSTAIN_2]
    first = parsed[0]
    assert first["type_of_reference"] == "JOUR"
    assert len(first["authors"]) == 23 and first["authors"][0] == "Daly, Ella J"
    assert (first["start_page"], first["end_page"]) == ("893", "903")
    assert first["doi"] == "10.1001/jamapsychiatry.2019.1189"
    assert first["urls"] == ["https://pubmed.ncbi.nlm.nih.gov/31166571/"]
    assert "start_page" not in parsed[2]


def test_unknown_pmid_is_a_clear_error(real_con):
    with pytest.raises(PipelineError, match="no article in the warehouse for PMID 123"):
        citations.load_citation_records(real_con, [SUSTAIN_1, "123"])


def test_render_rejects_unknown_format():
    with pytest.raises(PipelineError, match="unknown citation format"):
        citations.render([], "apa")


@pytest.mark.parametrize(
    ("pages", "full"),
    [
        ("1592-603", "1592-1603"),
        ("893-903", "893-903"),
        ("e123-9", "e123-e129"),
        ("616-30", "616-630"),
        ("12", "12"),
        ("19m12891", "19m12891"),
    ],
)
def test_expand_pages_writes_ranges_in_full(pages, full):
    assert citations.expand_pages(pages) == full


@pytest.fixture()
def real_db(tmp_path: Path, pubmed_records: Path) -> Path:
    articles, raws = _efetch_articles(pubmed_records / "efetch_sample.xml")
    path = tmp_path / "cite.duckdb"
    con = warehouse.connect(path)
    warehouse.load_batch(con, articles, raws, run_id="test-run")
    con.close()
    return path


def test_cite_command_formats(real_db, capsys):
    base = ["evidence", "cite", "--db", str(real_db), "--pmid", SUSTAIN_1, SUSTAIN_2]
    assert main([*base, "--format", "ama"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("Daly EJ, Trivedi MH, Janik A, et al.")
    assert main([*base, "--format", "vancouver"]) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith("PMID: 32316080.")
    assert main([*base, "--format", "bibtex"]) == 0
    assert capsys.readouterr().out.count("@article{") == 2
    assert main([*base, "--format", "ris"]) == 0
    assert len(rispy.loads(capsys.readouterr().out)) == 2


def test_cite_command_unknown_pmid(real_db, capsys):
    assert main(["evidence", "cite", "--db", str(real_db), "--pmid", "1"]) == 1
    assert "no article in the warehouse for PMID 1" in capsys.readouterr().err
