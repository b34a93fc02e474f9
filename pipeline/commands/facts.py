"""`python -m pipeline facts`: the regulatory facts bundled with the package, with their sources."""

from __future__ import annotations

import argparse
import json

from pipeline import warehouse
from pipeline.evidence import regulatory


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "facts",
        help="list the regulatory facts (approvals, boxed warning, REMS) with source and date",
        description=(
            "Lists pipeline/data/regulatory/facts.toml: each fact's wording, the date it took "
            "effect, its source (URL and version) and when it was last checked; warns about "
            "facts last checked more than a year ago."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print the facts as a JSON list")
    parser.set_defaults(func=run_facts)


def run_facts(args: argparse.Namespace) -> int:
    facts = regulatory.load_facts()
    today = warehouse.now().date()
    if args.json:
        rows = [
            {**fact.__dict__, "effective": fact.effective.isoformat(),
             "last_checked": fact.last_checked.isoformat(), "risks": list(fact.risks),
             "stale": fact.is_stale(today)}
            for fact in facts
        ]  # fmt: skip
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for fact in facts:
        print(f"{fact.id} (in effect {fact.effective.isoformat()}; {fact.topic}, {fact.drug})")
        print(f'  "{fact.wording}"')
        print(f"  source ({fact.source_kind}): {fact.source}")
        print(f"  {fact.url or 'no URL recorded'} ({fact.source_version})")
        stale = "  MORE THAN A YEAR AGO" if fact.is_stale(today) else ""
        print(f"  last checked {fact.last_checked.isoformat()}{stale}")
    notice = regulatory.stale_notice(facts, today)
    print(f"{len(facts)} fact(s); {notice or 'all checked within the last year.'}")
    return 0
