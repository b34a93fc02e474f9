"""Importing a clinic export into the warehouse: privacy check, mapping, validation, load.

An import is the clinic's full export: loaded in one transaction, it becomes the current
clinic data and replaces the sessions of earlier imports (their import rows stay as history).
Nothing is written when the export is refused; with `skip_invalid` the invalid rows go to a
CSV report (row, column, field, problem) before the valid rows are loaded.
"""

from __future__ import annotations

import csv
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from pipeline import warehouse
from pipeline.checksums import file_sha256
from pipeline.clinic.mapping import FIELDS, Mapping, load_mapping, map_columns, normalise_header
from pipeline.clinic.privacy import (
    check_identifying_columns,
    key_fingerprint,
    load_or_create_key,
    pseudonymise,
)
from pipeline.clinic.validate import (
    PROBLEMS_SHOWN,
    ClinicValidationError,
    Problem,
    ValidationResult,
    read_export,
    validate_export,
)
from pipeline.errors import PipelineError

log = logging.getLogger(__name__)

SESSION_COLUMNS = [name for name in FIELDS if name != "patient_id"]
# A column of this name marks generated data (yes on every row); it is not a mapped field.
SYNTHETIC_KEY = "synthetic"


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: rows read, loaded and reported, patients, and where the report went."""

    source_name: str
    synthetic: bool
    n_rows: int
    n_loaded: int
    n_invalid: int
    n_patients: int
    report_path: Path | None = None
    unchanged: bool = False

    def sentence(self) -> str:
        """One sentence for the person running the import."""
        what = (
            "synthetic demo clinic data" if self.synthetic else f"clinic export {self.source_name}"
        )
        counts = f"{self.n_loaded:,} sessions, {self.n_patients:,} patients"
        if self.unchanged:
            return f"{what} already loaded and unchanged ({counts}): nothing to do"
        text = f"loaded {what}: {counts}"
        if self.n_invalid:
            text += f"; {self.n_invalid:,} invalid rows not loaded, listed in {self.report_path}"
        return text


def default_report_path(export: Path) -> Path:
    """Where --skip-invalid writes the invalid rows unless told: beside the export."""
    return export.with_name(f"{export.stem}.invalid_rows.csv")


def synthetic_marker(raw: pd.DataFrame, mapping: Mapping, export: str) -> bool | None:
    """The export's own `Synthetic` column (yes on every row for generated data), if it has one."""
    header = next((h for h in raw.columns if normalise_header(h) == SYNTHETIC_KEY), None)
    if header is None:
        return None
    codes = raw[header].map(lambda cell: mapping.code_for("boolean", cell))
    if codes.isna().any() or codes.nunique() != 1:
        rows = [int(r) for r in codes.index[codes != "yes"][:5]]
        raise PipelineError(
            f"{export}: the column '{header}' must say yes on every row (synthetic data) or no "
            f"on every row; rows {rows} do not say yes"
        )
    return bool(codes.iloc[0] == "yes")


def check_export(
    raw: pd.DataFrame, mapping: Mapping, export: str
) -> tuple[ValidationResult, bool | None]:
    """Privacy check, column mapping and validation of an export read as text; no database.

    Returns the validation result and the export's own synthetic marker (None without one).
    """
    patient_headers = {normalise_header(h) for h in mapping.headers["patient_id"]}
    id_header = next((h for h in raw.columns if normalise_header(h) in patient_headers), None)
    check_identifying_columns(raw, export, allowed=id_header)
    synthetic = synthetic_marker(raw, mapping, export)
    data = raw.drop(columns=[h for h in raw.columns if normalise_header(h) == SYNTHETIC_KEY])
    columns = map_columns(list(data.columns), mapping, export)
    return validate_export(data, mapping, columns), synthetic


def write_invalid_report(problems: list[Problem], path: Path) -> None:
    """The invalid rows as CSV: one line per problem with its file row, column, field, kind and
    reason (never a cell's value unless it cannot identify a patient)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["row", "column", "field", "kind", "problem"])
            for p in problems:
                writer.writerow([p.row, p.column or "", p.field or "", p.kind, p.message])
    except OSError as error:
        raise PipelineError(f"cannot write the invalid-rows report {path}: {error}") from None


class CurrentImport(NamedTuple):
    """The import whose sessions are the current clinic data."""

    file_sha256: str
    mapping_sha256: str
    key_fingerprint: str
    synthetic: bool
    source_name: str
    n_rows: int
    n_loaded: int
    n_invalid: int
    invalid_report: str | None


def current_import(con) -> CurrentImport | None:
    """The current import, or None before any clinic data was loaded."""
    row = con.execute(
        f"SELECT {', '.join(CurrentImport._fields)} FROM core.clinic_imports WHERE is_current"
    ).fetchone()
    return CurrentImport(*row) if row else None


def current_patient_count(con) -> int:
    """Distinct patients in the current clinic data."""
    return con.execute(
        "SELECT count(DISTINCT patient_key) FROM core.clinic_sessions "
        "JOIN core.clinic_imports USING (import_id) WHERE is_current"
    ).fetchone()[0]


def unchanged_import(
    con, source_sha256: str, mapping: Mapping, skip_invalid: bool
) -> ImportSummary | None:
    """The current import's summary when it came from the same bytes, mapping and key (and
    loading again would change nothing), else None."""
    current = current_import(con)
    if current is None:
        return None
    same = (current.file_sha256, current.mapping_sha256, current.key_fingerprint) == (
        source_sha256, mapping.checksum, key_fingerprint(load_or_create_key()),
    )  # fmt: skip
    if not same or (current.n_invalid and not skip_invalid):
        return None  # a strict import of an export once loaded with --skip-invalid must fail
    report = Path(current.invalid_report) if current.invalid_report else None
    return ImportSummary(
        current.source_name, current.synthetic, current.n_rows, current.n_loaded,
        current.n_invalid, current_patient_count(con), report, unchanged=True,
    )  # fmt: skip


def import_frame(
    con,
    raw: pd.DataFrame,
    mapping: Mapping,
    *,
    source_name: str,
    source_sha256: str,
    synthetic: bool = False,
    skip_invalid: bool = False,
    report_path: Path | None = None,
    checked: tuple[ValidationResult, bool | None] | None = None,
) -> ImportSummary:
    """Check an export read as text (`read_export`) and load it as the current clinic data.

    Unchanged input (same bytes, mapping and key as the current import) is not loaded again.
    Invalid rows raise ClinicValidationError listing every problem, unless `skip_invalid`,
    which writes them to `report_path` first and loads the rest. `checked` passes the result
    of `check_export` when the caller has already run it.
    """
    key = load_or_create_key()
    fingerprint = key_fingerprint(key)
    unchanged = unchanged_import(con, source_sha256, mapping, skip_invalid)
    if unchanged is not None:
        return unchanged
    result, marked_synthetic = checked or check_export(raw, mapping, source_name)
    synthetic = synthetic or bool(marked_synthetic)
    if result.problems and not skip_invalid:
        raise refusal(source_name, result, report_path)
    n_invalid = len(result.invalid_rows)
    if result.problems:
        if report_path is None:
            raise PipelineError("--skip-invalid needs a report file for the invalid rows")
        write_invalid_report(result.problems, report_path)
        log.warning("%s: %d invalid rows written to %s", source_name, n_invalid, report_path)
        if result.sessions.empty:
            raise PipelineError(
                f"{source_name}: every row is invalid, so nothing was loaded (see {report_path})"
            )
    sessions = result.sessions.copy()
    sessions.insert(0, "patient_key", pseudonymise(sessions.pop("patient_id"), key))
    for name in SESSION_COLUMNS:
        if name not in sessions:
            sessions[name] = pd.Series(pd.NA, index=sessions.index, dtype="object")
    import_id = str(uuid.uuid4())
    frame = sessions[["source_row", "patient_key", *SESSION_COLUMNS]]  # noqa: F841 - read by DuckDB
    with warehouse.transaction(con):
        con.execute(
            "DELETE FROM core.clinic_sessions WHERE import_id IN "
            "(SELECT import_id FROM core.clinic_imports WHERE is_current)"
        )
        con.execute("UPDATE core.clinic_imports SET is_current = FALSE WHERE is_current")
        con.execute(
            "INSERT INTO core.clinic_imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE)",
            [import_id, source_name, source_sha256, mapping.checksum, synthetic, fingerprint,
             result.n_rows, len(sessions), n_invalid,
             str(report_path) if result.problems else None, warehouse.now()],
        )  # fmt: skip
        con.execute(
            f"INSERT INTO core.clinic_sessions (import_id, source_row, patient_key, "
            f"{', '.join(SESSION_COLUMNS)}) SELECT ?, * FROM frame",
            [import_id],
        )
    summary = ImportSummary(
        source_name, synthetic, result.n_rows, len(sessions), n_invalid,
        int(sessions["patient_key"].nunique()), report_path if result.problems else None,
    )  # fmt: skip
    log.debug("%s", summary.sentence())
    return summary


def refusal(
    source_name: str, result: ValidationResult, report_path: Path | None
) -> ClinicValidationError:
    """The error refusing an export; when its problems are too many to print, every one is
    first written to `report_path` (which the message names)."""
    written = None
    if len(result.problems) > PROBLEMS_SHOWN and report_path is not None:
        write_invalid_report(result.problems, report_path)
        written = report_path
    return ClinicValidationError(source_name, result.problems, result.n_rows, written)


def check_file(
    path: str | Path,
    mapping_path: str | Path | None = None,
    *,
    skip_invalid: bool = False,
    report_path: str | Path | None = None,
) -> tuple[pd.DataFrame, Mapping, tuple[ValidationResult, bool | None]]:
    """Read and check an export without a database; refuses it (raising) unless it is valid
    or `skip_invalid` is set. Returns the text frame, the mapping and the check result.

    A refusal with more problems than the message shows writes them all to `report_path`
    (default: beside the export, as for --skip-invalid)."""
    path = Path(path)
    mapping = load_mapping(mapping_path)
    raw = read_export(path, mapping)
    checked = check_export(raw, mapping, path.name)
    if checked[0].problems and not skip_invalid:
        report = Path(report_path) if report_path else default_report_path(path)
        raise refusal(path.name, checked[0], report)
    return raw, mapping, checked


def import_export(
    con,
    path: str | Path,
    mapping_path: str | Path | None = None,
    *,
    skip_invalid: bool = False,
    report_path: str | Path | None = None,
) -> ImportSummary:
    """Import a clinic export (.csv or .xlsx) with a mapping (default: the shipped one)."""
    path = Path(path)
    mapping = load_mapping(mapping_path)
    if not path.is_file():
        raise PipelineError(f"no clinic export at {path}")
    checksum = file_sha256(path)
    unchanged = unchanged_import(con, checksum, mapping, skip_invalid)
    if unchanged is not None:
        return unchanged  # not even read again
    report = Path(report_path) if report_path else default_report_path(path)
    return import_frame(
        con, read_export(path, mapping), mapping, source_name=path.name,
        source_sha256=checksum, skip_invalid=skip_invalid, report_path=report,
    )  # fmt: skip
