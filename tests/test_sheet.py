"""The evidence sheet: only verified effects, every number traced to its span, plain language."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import lxml.html
import pandas as pd
import pytest
from suppression_check import count_or_none, recovered, write_small_clinic

from pipeline import warehouse
from pipeline.cli import main
from pipeline.evidence import citations, readability, review, sheet
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


def without_clinic_data(path: Path) -> None:
    con = warehouse.connect(path)
    try:
        con.execute("DELETE FROM core.clinic_sessions")
        con.execute("DELETE FROM core.clinic_imports")
    finally:
        con.close()


@pytest.mark.parametrize("clinic", [True, False], ids=["clinic", "no_clinic"])
@pytest.mark.parametrize("verified", ["none", "few", "half", "all"])
def test_reading_level_is_grade_eight_or_below(db, clinic, verified):
    """Every passage written for patients, template wording included, read together."""
    if not clinic:
        without_clinic_data(db)
    con = warehouse.connect(db, read_only=True)
    pmids = sorted(set(review.current_effects(con).pmid))
    con.close()
    chosen = {"none": [], "few": pmids[:3], "half": pmids[: len(pmids) // 2], "all": pmids}
    if chosen[verified]:
        verify(db, chosen[verified])
    built = build(db)
    assert built.clinic.available is clinic
    assert (built.n_statements > 0) is (verified != "none")
    _, words, _ = text_statistics(built.plain_language_text())
    assert words >= (300 if verified in ("half", "all") else 100)
    assert built.reading_grade <= readability.GRADE_LIMIT == 8, built.reading.above_limit


def test_reading_level_covers_template_wording_and_is_printed(all_verified, tmp_path, capsys):
    path, _ = all_verified
    out = tmp_path / "out"
    assert main(["evidence", "sheet", "--out", str(out), "--db", str(path)]) == 0
    printed = capsys.readouterr().out
    built = build(path)
    passages = built.plain_language_passages()
    assert any(p.startswith("Every number here comes from") for p in passages)  # the header
    assert any(p.startswith("These numbers come from this clinic") for p in passages)
    assert any(p.startswith("A response means depression scores") for p in passages)
    statements = [s for sec in built.sections for t in sec.topics for st in t.studies
                  for s in st.statements]  # fmt: skip
    assert {s.plain_text for s in statements} <= set(passages)
    grade = f"Flesch-Kincaid grade {built.reading_grade:.1f} (goal: 8 or below)"
    assert f"reading level: {grade}" in printed
    html_text = (out / sheet.HTML_NAME).read_text(encoding="utf-8")
    footer = lxml.html.fromstring(html_text).xpath("//footer")[0].text_content()
    assert grade in footer
    assert grade in (out / sheet.MARKDOWN_NAME).read_text(encoding="utf-8")
    items = lxml.html.fromstring(html_text).xpath("//li[@data-reading-grade]")
    assert len(items) == len(statements)
    for item in items:
        text = " ".join(item.text_content().split())
        assert item.get("data-reading-grade") == f"{flesch_kincaid_grade(text):.1f}"


def test_a_harder_template_sentence_raises_the_grade(all_verified, monkeypatch):
    path, _ = all_verified
    before = build(path).reading_grade
    hard = sheet.Topic(
        "speed",
        "How fast does it work?",
        "Investigators systematically characterized antidepressant responsiveness "
        "longitudinally, administering standardized psychometric instrumentation repeatedly.",
    )
    monkeypatch.setattr(sheet, "TOPICS", (hard, *sheet.TOPICS[1:]))
    after = build(path).reading_grade
    assert after > before


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


def test_no_suppressed_clinic_count_can_be_worked_out_from_the_sheet(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_CLINIC_KEY_FILE", str(tmp_path / "keys" / "clinic.key"))
    from pipeline.clinic import load

    con = warehouse.connect(tmp_path / "small.duckdb")
    try:
        load.import_export(con, write_small_clinic(tmp_path / "small.csv", 13, 6))
        section = sheet.clinic_section(con)
    finally:
        con.close()
    tables = {title: (header, rows) for title, header, rows in section.tables}
    header, rows = tables["People treated at the clinic"]
    by_name = {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in rows}
    assert by_name["All"]["People"] == "19" and by_name["Esketamine nasal spray"]["People"] == "<11"
    assert by_name["IV ketamine"]["People"] != "13"
    shown = {(name, column): count_or_none(value)
             for name, cells in by_name.items() for column, value in cells.items()}  # fmt: skip
    parts = ["IV ketamine", "Esketamine nasal spray"]
    sums = [(("All", c), [(p, c) for p in parts]) for c in header[1:]]
    assert recovered(shown, sums) == {}
    for _title, (names, table) in tables.items():  # every count shown is 11 or more
        for row in table:
            for name, cell in zip(names, row, strict=True):
                if name not in ("Treatment", "After session") and "%" not in name and cell:
                    assert count_or_none(cell) is None or count_or_none(cell) >= 11, (name, cell)


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
    assert "last checked 2026-12-07" in html_text and "US Food and Drug Administration" in html_text
    assert "not approved by the FDA for depression" in html_text
    assert "monotherapy" not in html_text or "January 2025" in html_text


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
    rate = _effect("64% and 28%", kind="response_rate", value=28, timepoint="24 hours")
    assert sheet.statement_for(rate, "response", "midazolam").plain_text == (
        "28% of people with midazolam had a response after 24 hours."
    )
    bare = _effect("response rates of 64 and 28%", kind="response_rate", value=64)
    statement = sheet.statement_for(bare, "response", "ketamine")
    assert statement.plain_text == "64% of people with ketamine had a response."
    assert [f.text for f in statement.figures] == ["64"]
    not_a_rate = _effect("NNH of 17", kind="other", value=17, label="number needed to harm")
    assert sheet.statement_for(not_a_rate, "side_effects") is None
    words = _effect("Fifty-nine percent", kind="response_rate", value=59)
    assert sheet.statement_for(words, "response", "ketamine") is None


def test_a_rate_written_as_counts_is_said_in_counts():
    rate = _effect("4 of 15 patients responded", kind="response_rate", value=100 * 4 / 15,
                   n_events=4, n_total=15)  # fmt: skip
    statement = sheet.statement_for(rate, "response", "ketamine")
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


def test_a_corrected_arm_is_said_and_shown_as_corrected_in_the_provenance(all_verified, tmp_path):
    from pipeline.evidence import corrections

    path, _ = all_verified
    con = warehouse.connect(path, read_only=True)
    effects = review.current_effects(con).set_index("effect_id")
    con.close()
    target = next(i for i in sheet.effect_ids_on(build(path)) if effects.loc[i, "arm"])
    extracted = effects.loc[target, "arm"]
    new_arm = f"{extracted} at 84 mg"  # names the same drug: the statement stays where it was
    con = warehouse.connect(path)
    corrections.record_corrections(
        con, target, [corrections.Correction("arm", new_arm)], "Dr A", "per Table 2"
    )
    review.record_decision(con, target, review.VERIFIED, "Dr A")
    corrected_on = corrections.correction_log(con).corrected_at.iloc[0].strftime("%Y-%m-%d")
    con.close()
    line = f"corrected by Dr A on {corrected_on}: arm was '{extracted}', now '{new_arm}'"

    built = build(path)
    statement = next(
        s
        for section in built.sections
        for topic in section.topics
        for study in topic.studies
        for s in study.statements
        if s.effect_id == target
    )
    assert statement.corrections == [line]
    assert new_arm in statement.plain_text
    others = [
        s
        for section in built.sections
        for topic in section.topics
        for study in topic.studies
        for s in study.statements
        if s.effect_id != target
    ]
    assert not any(s.corrections for s in others)

    out = tmp_path / "out"
    sheet.write_sheet(built, out)
    page = lxml.html.fromstring((out / sheet.HTML_NAME).read_text(encoding="utf-8"))
    item = page.xpath(f"//li[@data-effect-id='{target}']")[0]
    assert [s.text_content() for s in item.xpath(".//small[@class='correction']")] == [line]
    assert len(page.xpath("//small[@class='correction']")) == 1
    markdown = (out / sheet.MARKDOWN_NAME).read_text(encoding="utf-8")
    assert f"\n  - {citations.markdown_escape(line)}\n" in markdown
