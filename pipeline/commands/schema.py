"""`python -m pipeline schema`: write the current warehouse schema as SQL."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline import warehouse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "schema", help="print or write the warehouse schema (every migration applied)"
    )
    parser.add_argument("--out", type=Path, help="write to this file instead of stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    con = warehouse.connect(":memory:")
    text = warehouse.dump_schema(con)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0
