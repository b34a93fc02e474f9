"""The evidence sheet printed to PDF by headless Chromium: every citation, page numbers and the
date in the footer, on A4 and Letter. Under CI (CI=true) a missing chromium or pdftotext fails;
locally it skips."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import lxml.html
import pytest
from test_sheet_browser import chromium, require

from pipeline import warehouse
from pipeline.cli import main
from pipeline.evidence import review, sheet

# Starts headless Chromium.
pytestmark = pytest.mark.slow


def poppler(tool: str) -> str:
    return require(shutil.which(tool), f"{tool} is not installed (apt-get install poppler-utils)")


@pytest.fixture(scope="module")
def verified_db(ingested_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the ingested warehouse with every extracted effect verified."""
    db = tmp_path_factory.mktemp("pdf") / "sheet.duckdb"
    shutil.copy(ingested_warehouse, db)
    con = warehouse.connect(db)
    ids = list(review.current_effects(con).effect_id)
    review.record_decisions(con, [review.Decision(i, review.VERIFIED) for i in ids], "PDF")
    con.close()
    return db


def pdf_text(path: Path) -> str:
    result = subprocess.run(
        [poppler("pdftotext"), "-layout", str(path), "-"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return result.stdout


def page_size(path: Path) -> tuple[float, float]:
    info = subprocess.run(
        [poppler("pdfinfo"), str(path)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    match = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert match, info
    return float(match[1]), float(match[2])


@pytest.mark.parametrize(("paper", "points"), [("a4", (595.92, 841.92)), ("letter", (612, 792))])
def test_pdf_carries_every_citation_page_numbers_and_date(verified_db, tmp_path, capsys, paper,
                                                           points):  # fmt: skip
    chromium()
    poppler("pdftotext")
    out = tmp_path / "out"
    assert main(["evidence", "sheet", "--out", str(out), "--db", str(verified_db), "--pdf",
                 "--paper", paper]) == 0  # fmt: skip
    pdf_path = out / sheet.PDF_NAME
    assert str(pdf_path) in capsys.readouterr().out
    assert page_size(pdf_path) == pytest.approx(points, abs=1)
    text = pdf_text(pdf_path)
    joined = "".join(text.split())  # a long DOI may wrap at the end of a line
    document = lxml.html.fromstring((out / sheet.HTML_NAME).read_text(encoding="utf-8"))
    pmids = set(document.xpath("//div[@class='study']/@data-pmid"))
    dois = {
        href.removeprefix("https://doi.org/")
        for href in document.xpath("//a/@href")
        if href.startswith("https://doi.org/")
    }
    assert len(pmids) >= 10 and len(dois) >= 10
    for pmid in pmids:
        assert f"PubMed{pmid}" in joined, pmid
    for doi in dois:
        assert doi in joined, doi
    pages = text.split("\f")
    pages = [page for page in pages if page.strip()]
    assert len(pages) >= 2
    generated = document.xpath("//header//time")[0].get("datetime")
    date = re.match(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})", generated)
    months = ["January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"]  # fmt: skip
    footer_date = f"Generated {date[3]} {months[int(date[2]) - 1]} {date[1]}, {date[4]}:{date[5]}"
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page, number
        assert footer_date in page, number
    reading = document.xpath("//p[@id='reading-level']")[0].text_content()
    assert " ".join(reading.split()) in " ".join(text.split())  # the grade, on the last page


def test_pdf_without_chromium_is_one_clear_line(verified_db, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "out"
    assert main(["evidence", "sheet", "--out", str(out), "--db", str(verified_db), "--pdf"]) == 1
    err = capsys.readouterr().err
    assert (
        err == "error: cannot write the PDF: chromium is not installed (apt-get install chromium)\n"
    )
    assert not out.exists()
