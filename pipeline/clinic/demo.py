"""SYNTHETIC demo clinic data, and the step `make ingest` runs to make sure clinic data exists.

The demo export is generated from a seed; it looks like a clinic's export (its headers fit
the default mapping, its patient ids look like a records system's) but every row is
invented: about 800 IV ketamine infusions and 250 intranasal esketamine sessions, with
baselines, faster improvement on IV than intranasal, non-responders, drop-outs, repeat
courses, side effects and blood pressure. Every row carries `Synthetic = yes`, which the
import stores on the batch and every clinic mart carries through.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import config
from pipeline.clinic.load import import_export, import_frame, stored_data
from pipeline.clinic.mapping import load_mapping
from pipeline.errors import PipelineError

log = logging.getLogger(__name__)

DEFAULT_SEED = 20240601
TARGET_SESSIONS = {"iv": 800, "intranasal": 250}
FIRST_DAY = date(2024, 1, 8)
LAST_START = date(2025, 6, 30)
SYNTHETIC_HEADER = "Synthetic"

HEADERS = {
    "patient_id": "Patient ID", "session_date": "Session Date", "route": "Route",
    "drug": "Medication", "dose": "Dose", "dose_unit": "Dose Unit", "session_number": "Session #",
    "phq9_pre": "PHQ-9 Pre", "phq9_post": "PHQ-9 Post", "gad7_pre": "GAD-7 Pre",
    "madrs_pre": "MADRS Pre", "cssrs_pre": "C-SSRS Pre", "dissociation": "Dissociation",
    "nausea": "Nausea", "dizziness": "Dizziness", "drowsiness": "Drowsiness",
    "sbp_pre": "BP Systolic Pre", "dbp_pre": "BP Diastolic Pre",
    "sbp_post": "BP Systolic Post", "dbp_post": "BP Diastolic Post",
}  # fmt: skip

# Per route: how patients start, improve and feel (rates are per session).
PROFILES = {
    "iv": dict(
        route="IV infusion", drug="Ketamine", unit="mg/kg", baseline=(19.0, 4.0),
        responder_share=0.6, tau=1.4, interval=(2, 4), induction=6, maintenance=(0, 3),
        dropout=0.06, side_effects={"dissociation": 0.55, "nausea": 0.15, "dizziness": 0.2,
                                    "drowsiness": 0.35}, bp_rise=(9.0, 8.0),
    ),
    "intranasal": dict(
        route="Intranasal", drug="Spravato", unit="mg", baseline=(18.0, 4.0),
        responder_share=0.5, tau=3.5, interval=(3, 4), induction=8, maintenance=(0, 4),
        dropout=0.05, side_effects={"dissociation": 0.4, "nausea": 0.25, "dizziness": 0.3,
                                    "drowsiness": 0.3}, bp_rise=(12.0, 9.0),
    ),
}  # fmt: skip


def _course(
    rng: np.random.Generator, profile: dict, patient: str, start: date, restart: bool
) -> list[dict]:
    """The sessions of one course for one patient."""
    baseline = float(np.clip(rng.normal(*profile["baseline"]), 10, 27))
    responder = rng.random() < profile["responder_share"] * (0.8 if restart else 1.0)
    depth = rng.uniform(0.55, 0.9) if responder else rng.uniform(0.0, 0.35)
    n_planned = profile["induction"] + int(rng.integers(*profile["maintenance"], endpoint=True))
    sbp_base, dbp_base = rng.normal(124, 12), rng.normal(78, 8)
    cssrs_base = int(rng.choice([0, 0, 1, 1, 2, 3]))
    rows, day = [], start
    for k in range(1, n_planned + 1):
        if k > 1:
            if rng.random() < profile["dropout"] * (2.0 if not responder else 1.0):
                break  # dropped out
            step = rng.integers(*profile["interval"], endpoint=True)
            day += timedelta(days=int(step if k <= profile["induction"] else rng.integers(7, 22)))
        fraction = depth * (1 - np.exp(-(k - 1) / profile["tau"]))
        phq9 = int(np.clip(round(baseline * (1 - fraction) + rng.normal(0, 1.6)), 0, 27))
        if profile["unit"] == "mg/kg":
            dose = 0.5 if k <= 3 or responder else float(rng.choice([0.75, 1.0]))
        else:
            dose = 56.0 if k == 1 else float(rng.choice([56.0, 84.0]))
        sbp = round(sbp_base + rng.normal(0, 6))
        bp_pre = (sbp, min(round(dbp_base + rng.normal(0, 4)), sbp - 25))
        rise = rng.normal(*profile["bp_rise"])
        sbp = round(bp_pre[0] + rise)
        bp_post = (sbp, min(round(bp_pre[1] + rise * 0.5 + rng.normal(0, 3)), sbp - 25))
        effects = {
            name: ("Yes" if rng.random() < rate * (1.2 if k == 1 else 0.9) else "No")
            for name, rate in profile["side_effects"].items()
        }
        if rng.random() < 0.02:
            effects["nausea"] = ""  # not recorded
        rows.append({
            "patient_id": patient, "session_date": day.isoformat(), "route": profile["route"],
            "drug": profile["drug"], "dose": f"{dose:g}", "dose_unit": profile["unit"],
            "session_number": str(k), "phq9_pre": str(phq9), "phq9_post": "",
            "gad7_pre": str(int(np.clip(round(phq9 * 0.7 + rng.normal(0, 2)), 0, 21)))
            if rng.random() < 0.85 else "",
            "madrs_pre": str(int(np.clip(round(phq9 * 2.1 + rng.normal(0, 3)), 0, 60)))
            if profile["unit"] == "mg/kg" and k in (1, 3, 6) else "",
            "cssrs_pre": str(max(0, cssrs_base - int(fraction * 4))),
            **effects,
            "sbp_pre": str(bp_pre[0]), "dbp_pre": str(bp_pre[1]),
            "sbp_post": str(bp_post[0]), "dbp_post": str(bp_post[1]),
        })  # fmt: skip
    if rng.random() < 0.6:  # a follow-up PHQ-9 a day or two after the last session
        fraction = depth * (1 - np.exp(-len(rows) / profile["tau"]))
        rows[-1]["phq9_post"] = str(
            int(np.clip(round(baseline * (1 - fraction) + rng.normal(0, 1.6)), 0, 27))
        )
    return rows


def generate_demo_export(seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """A SYNTHETIC clinic export as text cells under the demo headers, one row per session."""
    rng = np.random.default_rng(seed)
    used_ids: set[str] = set()
    rows: list[dict] = []
    span = (LAST_START - FIRST_DAY).days
    for key, profile in PROFILES.items():
        count = 0
        while count < TARGET_SESSIONS[key]:
            patient = f"KC{int(rng.integers(100_000, 9_999_999)):07d}"
            if patient in used_ids:
                continue
            used_ids.add(patient)
            start = FIRST_DAY + timedelta(days=int(rng.integers(0, span)))
            course = _course(rng, profile, patient, start, restart=False)
            if rng.random() < 0.15:  # a second course after months away
                gap = timedelta(days=int(rng.integers(60, 180)))
                again = date.fromisoformat(course[-1]["session_date"]) + gap
                course += _course(rng, profile, patient, again, restart=True)
            rows += course
            count += len(course)
    frame = pd.DataFrame(rows).sort_values(["session_date", "patient_id"], kind="stable")
    frame = frame.rename(columns=HEADERS)[list(HEADERS.values())]
    frame[SYNTHETIC_HEADER] = "yes"
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    return frame


def demo_csv_text(seed: int = DEFAULT_SEED) -> str:
    """The demo export as CSV text."""
    return generate_demo_export(seed).to_csv(index=False, lineterminator="\n")


def write_demo_export(path: str | Path, seed: int = DEFAULT_SEED) -> int:
    """Write the SYNTHETIC demo export (.csv or .xlsx); returns the number of sessions."""
    path = Path(path)
    frame = generate_demo_export(seed)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".xlsx":
            frame.to_excel(path, index=False, sheet_name="sessions (SYNTHETIC)")
        elif path.suffix.lower() == ".csv":
            path.write_text(demo_csv_text(seed), encoding="utf-8")
        else:
            raise PipelineError(f"{path}: the demo export is written as .csv or .xlsx")
    except OSError as error:
        raise PipelineError(f"cannot write the demo export {path}: {error}") from None
    return len(frame)


def ensure_clinic_data(con) -> str:
    """Make sure the warehouse holds clinic data; one sentence says what was done.

    CLINIC_EXPORT names an export to import on top of the stored sessions (with CLINIC_MAPPING,
    or the default mapping); without it, a warehouse with no clinic sessions gets the seeded
    SYNTHETIC demo data. A file already imported is not loaded again, so a re-run is a no-op.
    """
    export = config.clinic_export()
    if export:
        return import_export(con, export, config.clinic_mapping()).sentence()
    held = stored_data(con)
    if held.n_sessions:
        kind = "synthetic demo:" if held.all_synthetic else "clinic exports:"
        return (
            f"clinic data already loaded ({kind} {held.n_sessions:,} sessions, "
            f"{held.n_patients:,} patients): nothing to do"
        )
    frame = generate_demo_export(DEFAULT_SEED)
    text = frame.to_csv(index=False, lineterminator="\n")
    summary = import_frame(
        con, frame, load_mapping(None),
        source_name=f"synthetic demo export (seed {DEFAULT_SEED})",
        source_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), synthetic=True,
    )  # fmt: skip
    return summary.sentence()
