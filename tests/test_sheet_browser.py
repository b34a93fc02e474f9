"""The evidence sheet in a real headless browser (Debian's chromium): it renders, and its links
point at records in the warehouse. Under CI (CI=true) a missing chromium fails; locally it skips."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import lxml.html
import pytest
from PIL import Image

from pipeline import warehouse
from pipeline.cli import main
from pipeline.evidence import pdf, review, sheet

# Starts headless Chromium.
pytestmark = pytest.mark.slow


def require(found: str | None, reason: str) -> str:
    """`found`; when it is None, fail under CI and skip elsewhere with `reason`."""
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}, and CI must run the browser tests")
    pytest.skip(reason)


def chromium() -> str:
    """The chromium executable the sheet's PDF is printed with."""
    return require(pdf.find_chromium(), "chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def rendered(ingested_warehouse: Path, tmp_path_factory: pytest.TempPathFactory):
    """The sheet of a warehouse with every extracted effect verified, written to disk."""
    folder = tmp_path_factory.mktemp("browser")
    db = folder / "sheet.duckdb"
    shutil.copy(ingested_warehouse, db)
    con = warehouse.connect(db)
    ids = list(review.current_effects(con).effect_id)
    review.record_decisions(con, [review.Decision(i, review.VERIFIED) for i in ids], "Browser")
    pmids = {row[0] for row in con.execute("SELECT pmid FROM core.articles").fetchall()}
    con.close()
    out = folder / "out"
    assert main(["evidence", "sheet", "--out", str(out), "--db", str(db)]) == 0
    return out / sheet.HTML_NAME, pmids, folder


def screenshot(html_path: Path, folder: Path) -> Image.Image:
    """A headless chromium screenshot of the page, from a new, empty profile."""
    executable = chromium()
    profile = folder / "profile"
    profile.mkdir(exist_ok=True)
    png = folder / "sheet.png"
    command = pdf.chromium_command(
        executable, profile, "--hide-scrollbars", "--window-size=1000,1400",
        f"--screenshot={png}", html_path.as_uri(),
    )  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert png.is_file(), (
        f"chromium wrote no screenshot (exit {result.returncode}): {result.stderr}"
    )
    return Image.open(png).convert("L")


def test_chromium_renders_a_page_that_is_not_blank(rendered):
    html_path, _, folder = rendered
    image = screenshot(html_path, folder)
    assert image.size == (1000, 1400)
    histogram = image.histogram()
    dark = sum(histogram[:128])  # text pixels
    assert dark > 2000, f"only {dark} dark pixels: the page looks blank"
    assert histogram[255] > image.size[0] * image.size[1] // 2, "expected a mostly white page"


def test_every_pubmed_link_is_a_record_in_the_warehouse(rendered):
    html_path, pmids, _ = rendered
    document = lxml.html.fromstring(html_path.read_text(encoding="utf-8"))
    links = [h for h in document.xpath("//a/@href") if "pubmed.ncbi.nlm.nih.gov" in h]
    assert links
    for href in links:
        match = re.fullmatch(r"https://pubmed\.ncbi\.nlm\.nih\.gov/(\d+)/", href)
        assert match, href
        assert match[1] in pmids, f"{href} is not a record in the warehouse"
    for element in document.xpath("//*[@data-pmid]"):
        assert element.get("data-pmid") in pmids
