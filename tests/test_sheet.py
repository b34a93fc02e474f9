"""The evidence sheet: only verified effects, every number traced to its span, plain language."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import lxml.html
import pandas as pd
import pytest

from pipeline import warehouse
from pipeline.cli import main
from pipeline.evidence import citations, review, sheet
from pipeline.evidence.readability import count_syllables, flesch_kincaid_grade, text_statistics


@pytest.fixture()
def db(ingested_warehouse: Path, tmp_path: Path) -> Path:
    """A writable copy of the ingested warehouse (nothing reviewed yet)."""
    path = tmp_path / "sheet.duckdb"
    shutil.copy(ingested_warehouse, path)
    return path


def verify(path: Path, pmids: list[str] | None = None, decision: str = review.VERIFIED) -> set:
    """Record `decision` for every current effect (of `pmids`); returns their ids."""
    con = warehouse.connect(path)
    try:
        ids = list(review.current_effects(con, pmids).effect_id)
        review.record_decisions(con, [review.Decision(i, decision) for i in ids], "Test Reviewer")
    finally:
        con.close()
    return set(ids)


def build(path: Path) -> sheet.EvidenceSheet:
    con = warehouse.connect(path)
    try:
        return sheet.build_sheet(con)
    finally:
        con.close()


def figures_in(html_text: str) -> list:
    return lxml.html.fromstring(html_text).xpath("//span[@data-effect-id]")


@pytest.fixture()
def all_verified(db: Path) -> tuple[Path, set]:
    return db, verify(db)


def test_nothing_verified_gives_a_clear_page(db, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["evidence", "sheet", "--out", str(out), "--db", str(db)]) == 0
    html_text = (out / sheet.HTML_NAME).read_text(encoding="utf-8")
    markdown = (out / sheet.MARKDOWN_NAME).read_text(encoding="utf-8")
    assert 'id="nothing-verified"' in html_text and "No checked results yet" in html_text
    assert "## No checked results yet" in markdown
    assert figures_in(html_text) == []
    assert "0 statement(s)" in capsys.readouterr().out


def test_every_number_is_a_verified_effects_span_as_written(all_verified):
    path, verified_ids = all_verified
    built = build(path)
    figures = figures_in(sheet.render_html(built))
    assert len(figures) >= 20
    con = warehouse.connect(path, read_only=True)
    abstracts = dict(con.execute("SELECT pmid, abstract FROM core.articles").fetchall())
    con.close()
    for element in figures:
        assert element.get("data-effect-id") in verified_ids
        start, end = int(element.get("data-start")), int(element.get("data-end"))
        quote = abstracts[element.get("data-pmid")][start:end]
        assert element.get("title") == f"From the abstract: {quote}"
        written = [m[0] for m in sheet.NUMBER_TOKEN.finditer(quote)]
        written += [m[0] for m in sheet._SPACED_NEGATIVE.finditer(quote)]
        assert element.text in written, (element.text, quote)


def test_each_statement_carries_evidence_label_and_citation(all_verified):
    path, _ = all_verified
    built = build(path)
    assert {s.treatment.key for s in built.sections} == {"iv_ketamine", "intranasal_esketamine"}
    studies = [study for s in built.sections for t in s.topics for study in t.studies]
    assert studies
    for study in studies:
        assert re.match(
            r"(Randomized|Open-label|Later analysis|Observational|Review of studies)",
            study.evidence_label,
        )
        assert re.search(r"(\d+ people|number of people not stated)$", study.evidence_label)
        assert study.pubmed_url == f"https://pubmed.ncbi.nlm.nih.gov/{study.pmid}/"
        assert "<i>" in study.citation_html
    markdown = sheet.render_markdown(built)
    for study in studies:
        for statement in study.statements:
            assert f"- {citations.markdown_escape(statement.plain_text)}" in markdown


def test_only_verified_effects_reach_the_sheet(db):
    con = warehouse.connect(db, read_only=True)
    pmids = sorted(set(review.current_effects(con).pmid))
    con.close()
    kept = verify(db, pmids[: len(pmids) // 2])
    rejected = verify(db, pmids[len(pmids) // 2 :], review.REJECTED)
    shown = set(sheet.effect_ids_on(build(db)))
    assert shown and shown <= kept
    assert not shown & rejected


def test_a_changed_reextraction_takes_the_number_off_the_sheet(all_verified):
    path, _ = all_verified
    before = build(path)
    target = sheet.effect_ids_on(before)[0]
    con = warehouse.connect(path)
    con.execute("UPDATE core.effects SET value = value + 1 WHERE effect_id = ?", [target])
    con.close()
    assert target not in set(sheet.effect_ids_on(build(path)))


def test_reading_level_is_about_grade_eight(all_verified):
    path, _ = all_verified
    built = build(path)
    _, words, _ = text_statistics(built.plain_language_text())
    assert words >= 300
    assert built.reading_grade <= 9, built.reading_grade


def test_page_states_when_and_from_which_warehouse(all_verified):
    path, _ = all_verified
    con = warehouse.connect(path, read_only=True)
    version = warehouse.schema_version(con)
    run_id = con.execute(
        "SELECT run_id FROM core.runs WHERE status = 'completed' ORDER BY finished_at DESC LIMIT 1"
    ).fetchone()[0]
    con.close()
    html_text = sheet.render_html(build(path))
    document = lxml.html.fromstring(html_text)
    assert document.xpath("//meta[@name='warehouse-schema-version']/@content") == [str(version)]
    assert document.xpath("//meta[@name='warehouse-run-id']/@content") == [run_id]
    assert f"schema version {version}, last ingest run {run_id}" in html_text
    assert document.xpath("//time/@datetime")


def test_clinic_section_is_labelled_synthetic_with_small_counts_suppressed(all_verified):
    path, _ = all_verified
    built = build(path)
    assert built.clinic.available and built.clinic.synthetic
    html_text = sheet.render_html(built)
    assert "SYNTHETIC" in html_text and "not from a clinical trial" in html_text
    for _title, header, rows in built.clinic.tables:
        for row in rows:
            for name, cell in zip(header, row, strict=True):
                if name in ("People", "Courses", "Sessions", "People with scores", "Responded",
                            "In remission") and cell.isdigit():  # fmt: skip
                    assert int(cell) >= sheet.SMALL_COUNT_THRESHOLD, (name, cell)


def test_page_is_self_contained(all_verified):
    path, _ = all_verified
    html_text = sheet.render_html(build(path))
    document = lxml.html.fromstring(html_text)
    assert not document.xpath("//script | //link | //img | //iframe")
    assert "url(" not in html_text and "@import" not in html_text
    assert "@media print" in html_text


def test_approval_statement_is_dated_and_sourced(db):
    html_text = sheet.render_html(build(db))
    assert "approved esketamine nasal spray" in html_text
    assert "dated 2019-03-05" in html_text and "US Food and Drug Administration" in html_text


@pytest.mark.parametrize(
    ("word", "syllables"),
    [("the", 1), ("people", 2), ("depression", 3), ("randomized", 3), ("table", 2),
     ("esketamine", 4), ("scores", 1), ("treatment", 2)],
)  # fmt: skip
def test_count_syllables(word, syllables):
    assert count_syllables(word) == syllables


def test_flesch_kincaid_grade():
    assert flesch_kincaid_grade("The cat sat on the mat.") == pytest.approx(-1.45)
    technical = (
        "Esketamine nasal spray demonstrated statistically significant antidepressant efficacy "
        "relative to placebo in adults with treatment-resistant major depressive disorder."
    )
    assert flesch_kincaid_grade(technical) > 14
    assert flesch_kincaid_grade("") == 0.0


def test_retracted_records_leave_the_sheet_and_corrected_ones_say_so(all_verified):
    path, _ = all_verified
    shown = sheet.effect_ids_on(build(path))
    con = warehouse.connect(path)
    effects = review.current_effects(con).set_index("effect_id")
    retracted, corrected = sorted({effects.loc[i, "pmid"] for i in shown})[:2]
    con.execute("UPDATE core.articles SET is_retracted = TRUE WHERE pmid = ?", [retracted])
    con.execute("UPDATE core.articles SET has_erratum = TRUE WHERE pmid = ?", [corrected])
    con.close()
    built = build(path)
    pmids_shown = {f.pmid for s in built.sections for t in s.topics for st in t.studies
                   for stmt in st.statements for f in stmt.figures}  # fmt: skip
    assert retracted not in pmids_shown and corrected in pmids_shown
    document = lxml.html.fromstring(sheet.render_html(built))
    studies = document.xpath(f"//div[@data-pmid='{corrected}']")
    assert studies
    for study in studies:
        assert "A correction (erratum) to this article was published" in study.text_content()


def test_sheet_command_without_a_warehouse_is_a_clear_error(tmp_path, capsys):
    missing = tmp_path / "missing.duckdb"
    assert main(["evidence", "sheet", "--out", str(tmp_path / "out"), "--db", str(missing)]) == 1
    assert f"no warehouse at {missing}" in capsys.readouterr().err
    assert not missing.exists() and not (tmp_path / "out").exists()


def _effect(quote: str, **fields) -> pd.Series:
    abstract = f"RESULTS: {quote}."
    start = abstract.index(quote)
    base = {"effect_id": "e1", "pmid": "1", "kind": "other", "value": None, "ci_low": None,
            "ci_high": None, "label": None, "arm": None, "timepoint": None, "scale": None,
            "n_events": None, "n_total": None, "quote": quote, "abstract": abstract,
            "start": start, "end": start + len(quote)}  # fmt: skip
    return pd.Series({**base, **fields})


@pytest.mark.parametrize(
    ("quote", "value", "written"),
    [
        ("HR, 0.49; 95% CI, 0.29-0.84", 0.84, "0.84"),  # a range dash is not a minus
        ("HR, 0.49; 95% CI, 0.29-0.84", -0.84, None),
        ("(- 15.2, - 14.5)", -14.5, "- 14.5"),
        ("difference \u22123.8 points", -3.8, "\u22123.8"),
        ("80 % vs. 70 %", 70, "70 %"),
        ("P = .49", 0.49, ".49"),
        ("Fifty-nine percent", 59, None),
    ],
)
def test_figure_for_finds_the_number_as_written(quote, value, written):
    figure = sheet.figure_for(_effect(quote), value)
    assert (figure.text if figure else None) == written


def test_statements_say_who_and_leave_out_what_they_cannot_trace():
    rate = _effect("64% and 28%", kind="response_rate", value=28, arm="midazolam",
                   timepoint="24 hours")  # fmt: skip
    assert sheet.statement_for(rate, "response").plain_text == (
        "28% of people with midazolam had a response after 24 hours."
    )
    bare = _effect("response rates of 64 and 28%", kind="response_rate", value=64, arm="ketamine")
    statement = sheet.statement_for(bare, "response")
    assert statement.plain_text == "64% of people with ketamine had a response."
    assert [f.text for f in statement.figures] == ["64"]
    not_a_rate = _effect("NNH of 17", kind="other", value=17, label="number needed to harm")
    assert sheet.statement_for(not_a_rate, "side_effects") is None
    words = _effect("Fifty-nine percent", kind="response_rate", value=59, arm="ketamine")
    assert sheet.statement_for(words, "response") is None


def test_a_rate_written_as_counts_is_said_in_counts():
    rate = _effect("4 of 15 patients responded", kind="response_rate", value=100 * 4 / 15,
                   n_events=4, n_total=15, arm="ketamine")  # fmt: skip
    statement = sheet.statement_for(rate, "response")
    assert statement.plain_text == "4 of 15 people with ketamine had a response."
    assert [f.text for f in statement.figures] == ["4", "15"]


def test_topics():
    assert sheet.topic_of(_effect("26.7%", kind="relapse_rate", value=26.7)) == "relapse"
    assert sheet.topic_of(_effect("24.8%", kind="other", label="nausea", value=24.8)) == (
        "side_effects"
    )
    assert sheet.topic_of(_effect("25.3%", kind="other", label="time in remission")) is None
    early = _effect("-3.8", kind="mean_difference", value=-3.8, timepoint="24 hours")
    assert sheet.topic_of(early) == "speed"
    assert sheet.topic_of(_effect("64%", kind="response_rate", timepoint="day 28")) == "response"


def test_a_difference_worded_lower_by_is_said_in_the_abstracts_words(all_verified):
    path, _ = all_verified
    html_text = sheet.render_html(build(path))
    # Murrough 2013 (PMID 23982301): "the MADRS score was lower in the ketamine group than in the
    # midazolam group by 7.95 points"; a bare "differed by 7.95" would read as a rise.
    assert "Scores were lower in the ketamine group than in the midazolam group by" in html_text


def test_pubmed_and_doi_links_are_set_apart(all_verified):
    path, _ = all_verified
    html_text = sheet.render_html(build(path))
    assert "</a><a" not in html_text


HOSTILE = (
    '<script>alert("title")</script> <img src=x onerror=alert(1)> '
    "[click here](javascript:alert(2)) ![p](https://evil.example/p.png) **loud** _it_ `code` "
    "a | b & c\n\n# heading\n- item"
)


def test_markdown_escape_shows_hostile_text_as_written():
    import mistune

    escaped = citations.markdown_escape(HOSTILE)
    document = lxml.html.fromstring(f"<div>{mistune.html(escaped)}</div>")
    assert document.xpath("//script|//img|//a|//strong|//em|//code|//h1|//li") == []
    assert document.text_content().strip() == " ".join(HOSTILE.split("\n\n")).replace("\n", " ")
    assert citations.markdown_escape("1. first") != "1. first"  # no list at a line's start


def test_markdown_sheet_shows_a_hostile_title_as_text(all_verified):
    import mistune

    path, _ = all_verified
    pmid = build(path).sections[0].topics[0].studies[0].pmid
    con = warehouse.connect(path)
    con.execute(
        "UPDATE core.articles SET title = ?, journal_iso = ? WHERE pmid = ?",
        [HOSTILE, "J *Evil* [x](javascript:alert(3))", pmid],
    )
    con.close()
    markdown = sheet.render_markdown(build(path))
    rendered = lxml.html.fromstring(f"<div>{mistune.html(markdown)}</div>")
    assert rendered.xpath("//script|//img|//*[@onerror]") == []
    links = [a.get("href") for a in rendered.xpath("//a")]
    assert links and all(h.startswith("https://pubmed.ncbi.nlm.nih.gov/") for h in links), links
    text = rendered.text_content()
    assert '<script>alert("title")</script>' in text and "[click here](javascript:alert(2))" in text
    assert "J *Evil* [x](javascript:alert(3))" in text
    # the rest of the sheet still renders as Markdown: headings, lists, the clinic table
    assert rendered.xpath("//h2") and rendered.xpath("//li") and rendered.xpath("//table")


@pytest.mark.parametrize("where", ["under_a_file", "a_file", "sheet_name_taken_by_a_folder"])
def test_sheet_into_a_folder_that_cannot_be_written_is_one_clear_line(db, tmp_path, capsys, where):
    """Tests run as root, which writes anywhere: a file in the way stands in for permissions."""
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    out = {"under_a_file": blocker / "out", "a_file": blocker}.get(where, tmp_path / "out")
    (tmp_path / "out" / sheet.MARKDOWN_NAME).mkdir(parents=True)
    assert main(["evidence", "sheet", "--out", str(out), "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1
    assert err.startswith("error: ") and str(out) in err
    assert blocker.read_text() == "a file, not a folder"


def test_cite_into_a_missing_folder_is_one_clear_line(db, tmp_path, capsys):
    out = tmp_path / "missing" / "dir" / "file.txt"
    assert main(["evidence", "cite", "--pmid", "23982301", "--out", str(out), "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1
    assert err.startswith("error: ") and str(out) in err


def test_cite_writes_to_a_file(db, tmp_path, capsys):
    out = tmp_path / "cites.txt"
    assert main(["evidence", "cite", "--pmid", "23982301", "--out", str(out), "--db", str(db)]) == 0
    assert "Murrough JW" in out.read_text(encoding="utf-8")


def test_the_arm_drug_from_the_study_structure_places_an_effect():
    """In a trial of oral ketamine against esketamine nasal spray, an effect whose arm words
    name no drug ("active arm") is placed by its arm's drug in core.arms."""
    facts = {"drug": ["ketamine", "esketamine"], "route": ["oral", "intranasal"]}
    assert sheet.treatment_of(facts, "active arm") is None
    assert sheet.treatment_of(facts, "active arm", "esketamine").key == "intranasal_esketamine"
    assert sheet.treatment_of(facts, "esketamine", "ketamine") is None  # no oral-ketamine section
