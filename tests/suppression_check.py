"""Checks shared by the suppression tests: can a hidden count be worked out from a table?

Independent of pipeline.clinic.metrics: the equations are solved through the null space of
the system (SVD), not through ranks as the pipeline does.
"""

from __future__ import annotations

import csv
from collections.abc import Hashable, Sequence
from pathlib import Path

import numpy as np

Cell = tuple[Hashable, str]


def recovered(
    shown: dict[Cell, int | None], sums: Sequence[tuple[Cell, Sequence[Cell]]]
) -> dict[Cell, float]:
    """Every hidden cell (None in `shown`) whose value the sums fix, with that value.

    `sums` lists (total cell, part cells); each holds as total = sum of parts.
    """
    hidden = sorted((c for c, v in shown.items() if v is None), key=repr)
    if not hidden:
        return {}
    where = {c: i for i, c in enumerate(hidden)}
    rows, rhs = [], []
    for total, parts in sums:
        row, constant = np.zeros(len(hidden)), 0.0
        for cell, sign in [(total, -1.0), *((p, 1.0) for p in parts)]:
            if cell in where:
                row[where[cell]] += sign
            else:
                constant -= sign * shown[cell]
        if row.any():
            rows.append(row)
            rhs.append(constant)
    if not rows:
        return {}
    a, b = np.vstack(rows), np.array(rhs)
    solution = np.linalg.lstsq(a, b, rcond=None)[0]
    _, singular, vt = np.linalg.svd(a)
    rank = int((singular > 1e-9).sum())
    null = vt[rank:]  # directions the sums leave free
    return {
        cell: float(solution[i])
        for cell, i in where.items()
        if null.size == 0 or np.allclose(null[:, i], 0.0, atol=1e-9)
    }


def count_or_none(text: str) -> int | None:
    """A shown count as an int, None for a hidden one ("<11", "suppressed", "")."""
    text = str(text).strip().replace(",", "")
    return int(text) if text.isdigit() else None


def write_small_clinic(path: Path, n_iv: int = 13, n_intranasal: int = 6) -> Path:
    """An export of `n_iv` IV and `n_intranasal` intranasal patients, two sessions each."""
    header = ["Patient ID", "Session Date", "Route", "Medication", "Dose", "Dose Unit",
              "Session #", "PHQ-9 Pre", "PHQ-9 Post"]  # fmt: skip
    rows = []
    routes = [("IV", n_iv, "Ketamine", "0.5", "mg/kg"),
              ("Intranasal", n_intranasal, "Esketamine", "56", "mg")]  # fmt: skip
    for route, n, drug, dose, unit in routes:
        for i in range(n):
            patient = f"{route[:2].upper()}{i:04d}"
            rows.append([patient, "2025-01-06", route, drug, dose, unit, "1", "20", ""])
            rows.append([patient, "2025-01-09", route, drug, dose, unit, "2", "14",
                         str(6 + i % 8)])  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path
