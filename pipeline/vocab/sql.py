"""Warehouse CHECK constraints written from the vocabulary, so the two cannot disagree.

`python -m pipeline.vocab.sql` prints them; the migrations that define the checked columns were
written with it, and tests/test_vocab.py holds warehouse/schema.sql to the vocabulary.
"""

from __future__ import annotations

from pipeline import vocab

# The columns checked, and the vocabulary each holds (NULL is always allowed: unknown).
CHECKED_COLUMNS: dict[tuple[str, str], tuple[str, ...]] = {
    ("core.effects", "kind"): vocab.KIND_CODES,
    ("core.effects", "direction"): vocab.DIRECTIONS,
    ("core.effects", "population"): vocab.POPULATION_CODES,
    ("core.arms", "role"): vocab.ROLE_CODES,
    ("core.arms", "drug"): vocab.ARM_DRUG_CODES,
    ("core.arms", "route"): vocab.ROUTE_CODES,
    ("core.trial_facts", "design"): vocab.DESIGN_CODES,
}


def check_in(column: str, codes: tuple[str, ...]) -> str:
    """`CHECK (column IN ('a', 'b', ...))`, the codes in vocabulary order."""
    listed = ", ".join("'" + code.replace("'", "''") + "'" for code in codes)
    return f"CHECK ({column} IN ({listed}))"


def main() -> None:
    for (table, column), codes in CHECKED_COLUMNS.items():
        print(f"-- {table}.{column}\n{check_in(column, codes)}")


if __name__ == "__main__":
    main()
