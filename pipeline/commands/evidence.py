"""`python -m pipeline evidence`: the evidence sheet for patients and citations of records."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pipeline import warehouse
from pipeline.config import resolve_db_path
from pipeline.errors import PipelineError, UsageError
from pipeline.evidence import citations

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evidence", help="write the evidence sheet, or cite warehouse records"
    )
    commands = parser.add_subparsers(title="evidence commands", metavar="WHAT")

    sheet = commands.add_parser(
        "sheet",
        help="write DIR/evidence-sheet.html and .md (and .pdf) from verified effects",
    )
    sheet.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    sheet.add_argument("--db", help="the warehouse (default: PIPELINE_DB or warehouse/)")
    sheet.add_argument(
        "--pdf",
        action="store_true",
        help="also print DIR/evidence-sheet.pdf with headless Chromium (page numbers and date "
        "in the footer)",
    )
    sheet.add_argument(
        "--paper", choices=("a4", "letter"), default="a4", help="the PDF's paper (default: a4)"
    )
    sheet.set_defaults(func=run_sheet)

    cite = commands.add_parser("cite", help="print citations of warehouse records")
    cite.add_argument("--format", choices=citations.FORMATS, default="ama")
    cite.add_argument("--pmid", nargs="+", required=True, metavar="P", help="records to cite")
    cite.add_argument("--out", type=Path, help="write to this file instead of stdout")
    cite.add_argument("--db", help="the warehouse (default: PIPELINE_DB or warehouse/)")
    cite.set_defaults(func=run_cite)

    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    raise UsageError(f"say what to do: {parser.prog} sheet --out DIR, or cite --pmid P ...")


def run_cite(args: argparse.Namespace) -> int:
    con = warehouse.connect(resolve_db_path(args.db), read_only=True)
    try:
        records = citations.load_citation_records(con, args.pmid)
    finally:
        con.close()
    text = citations.render(records, args.format)
    if args.out:
        try:
            args.out.write_text(text, encoding="utf-8")
        except OSError as error:
            raise PipelineError(
                f"cannot write the citations to {args.out}: {error.strerror or error}"
            ) from None
        log.info("wrote %d citation(s) to %s", len(records), args.out)
    else:
        print(text, end="")
    return 0


def run_sheet(args: argparse.Namespace) -> int:
    from pipeline.evidence import sheet

    path = resolve_db_path(args.db)
    if not path.exists():
        raise PipelineError(f"no warehouse at {path}: run `make ingest` first")
    if args.pdf:
        from pipeline.evidence import pdf

        if pdf.find_chromium() is None:  # before anything is written
            raise PipelineError(pdf.NO_CHROMIUM)
    con = warehouse.connect(path)  # writable: brings an older warehouse up to date
    try:
        built = sheet.build_sheet(con)
    finally:
        con.close()
    html_path, md_path = sheet.write_sheet(built, args.out)
    written = [html_path, md_path]
    if args.pdf:
        written.append(sheet.write_pdf(built, html_path, args.paper))
    names = ", ".join(str(p) for p in written[:-1]) + f" and {written[-1]}"
    print(f"wrote {names} ({built.n_statements} statement(s))")
    reading = built.reading
    print(
        f"reading level: Flesch-Kincaid grade {reading.grade:.1f} (goal: {reading.limit} or "
        f"below) over {len(reading.passages)} passage(s) written for patients; "
        f"{len(reading.above_limit)} of them score above {reading.limit} on their own"
    )
    return 0
