"""Importing a clinic export into the warehouse: privacy check, mapping, validation, load.

Clinics export month by month, so an import adds to the sessions already stored. A session is
matched by pseudonymised patient and date (and so route: one session per patient per day):
unchanged ones are skipped, new ones added, changed ones replaced only with `replace` (else
the import is refused, naming them by file row). Each import is one transaction and one row
of core.clinic_imports (rows read, added, skipped, replaced, rejected); a file already
imported (same bytes, mapping and key) is not read again. Nothing is written when the export
is refused; with `skip_invalid` the invalid rows go to a CSV report before the rest load.
Real data replaces the SYNTHETIC demo data; demo data is never added to real data.
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
    """What an import did: rows read, sessions added, skipped, replaced and rejected, the
    export's patients, the clinic data held afterwards, and where the report went."""

    source_name: str
    synthetic: bool
    n_rows: int
    n_added: int
    n_skipped: int
    n_replaced: int
    n_invalid: int
    n_patients: int
    report_path: Path | None = None
    unchanged: bool = False
    n_sessions_held: int = 0
    n_patients_held: int = 0
    replaced_demo: int = 0

    @property
    def n_loaded(self) -> int:
        """Valid sessions of the export now stored as it has them (added, skipped, replaced)."""
        return self.n_added + self.n_skipped + self.n_replaced

    def sentence(self) -> str:
        """One sentence for the person running the import."""
        what = (
            "synthetic demo clinic data" if self.synthetic else f"clinic export {self.source_name}"
        )
        held = f"{self.n_sessions_held:,} sessions, {self.n_patients_held:,} patients"
        if self.unchanged:
            return f"{what} already loaded and unchanged ({held} in the warehouse): nothing to do"
        first = not self.n_skipped and not self.n_replaced and self.n_sessions_held == self.n_added
        if first:
            text = f"loaded {what}: {self.n_added:,} sessions, {self.n_patients:,} patients"
        else:
            text = (
                f"loaded {what}: {self.n_added:,} sessions added, {self.n_skipped:,} unchanged "
                f"and skipped, {self.n_replaced:,} replaced; the warehouse now holds {held}"
            )
        if self.replaced_demo:
            text += f" (the {self.replaced_demo:,} SYNTHETIC demo sessions were removed)"
        if self.n_invalid:
            text += f"; {self.n_invalid:,} invalid rows not loaded, listed in {self.report_path}"
        return text


class ChangedSessionsError(PipelineError):
    """Sessions already stored differ in the new export; nothing was loaded."""

    def __init__(self, export: str, changed: list[tuple[int, list[str]]]) -> None:
        self.rows = [row for row, _ in changed]
        shown = changed[:PROBLEMS_SHOWN]
        lines = "\n".join(
            f"  row {row}: {', '.join(columns)} differ{'s' if len(columns) == 1 else ''}"
            for row, columns in shown
        )
        if len(changed) > len(shown):
            lines += f"\n  ... and {len(changed) - len(shown):,} more"
        super().__init__(
            f"{export}: {len(changed):,} session{'s' if len(changed) != 1 else ''} already "
            f"stored (same patient and date) differ{'s' if len(changed) == 1 else ''} in this "
            f"export (rows counted as in the file, the header is row 1); nothing was loaded. "
            f"Check them, then import again with --replace to replace the stored sessions:\n"
            f"{lines}"
        )


def default_report_path(export: Path) -> Path:
    """Where the invalid rows go unless told (--skip-invalid, or a refusal with more problems
    than the message shows): beside the export."""
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


class StoredData(NamedTuple):
    """What the warehouse holds: sessions, patients, whether they are all SYNTHETIC, whether
    any are real, and the fingerprints of the keys that made their pseudonyms."""

    n_sessions: int
    n_patients: int
    all_synthetic: bool
    any_real: bool
    key_fingerprints: frozenset[str]


def stored_data(con) -> StoredData:
    """The clinic data the warehouse holds now (every stored session is current)."""
    n_sessions, n_patients, all_synthetic, any_real, keys = con.execute(
        "SELECT count(*), count(DISTINCT patient_key), coalesce(bool_and(i.synthetic), FALSE), "
        "coalesce(bool_or(NOT i.synthetic), FALSE), list(DISTINCT i.key_fingerprint) "
        "FROM core.clinic_sessions AS s JOIN core.clinic_imports AS i USING (import_id)"
    ).fetchone()
    return StoredData(n_sessions, n_patients, bool(all_synthetic), bool(any_real),
                      frozenset(keys or []))  # fmt: skip


def unchanged_import(
    con, source_sha256: str, mapping: Mapping, skip_invalid: bool
) -> ImportSummary | None:
    """The summary of an earlier import of the same bytes with the same mapping and key (so
    importing again would change nothing), else None."""
    row = con.execute(
        "SELECT source_name, synthetic, n_rows, n_rejected, invalid_report "
        "FROM core.clinic_imports WHERE file_sha256 = ? AND mapping_sha256 = ? "
        "AND key_fingerprint = ? ORDER BY imported_at DESC LIMIT 1",
        [source_sha256, mapping.checksum, key_fingerprint(load_or_create_key())],
    ).fetchone()
    if row is None:
        return None
    source_name, synthetic, n_rows, n_rejected, report = row
    if n_rejected and not skip_invalid:
        return None  # a strict import of an export once loaded with --skip-invalid must fail
    held = stored_data(con)
    return ImportSummary(
        source_name, synthetic, n_rows, 0, 0, 0, n_rejected, 0,
        Path(report) if report else None, unchanged=True,
        n_sessions_held=held.n_sessions, n_patients_held=held.n_patients,
    )  # fmt: skip


class MergeCounts(NamedTuple):
    """What merging an export's sessions into the stored ones did."""

    added: int
    skipped: int
    replaced: int
    demo_removed: int


def _check_mixing(held: StoredData, synthetic: bool, fingerprint: str, source_name: str) -> None:
    """Refuse demo data on top of real data, and pseudonyms made with another key."""
    if not held.n_sessions or held.all_synthetic and not synthetic:
        return  # nothing stored, or real data about to replace the demo
    if synthetic and held.any_real:
        raise PipelineError(
            f"{source_name} is SYNTHETIC demo data and the warehouse holds real clinic data; "
            "the two are never mixed, so nothing was loaded"
        )
    others = sorted(held.key_fingerprints - {fingerprint})
    if others:
        raise PipelineError(
            f"the clinic data in the warehouse was pseudonymised with another key (fingerprint "
            f"{', '.join(others)}; this one is {fingerprint}), so the same patients would get "
            f"other pseudonyms and be counted twice; nothing was loaded from {source_name}. "
            "Import with the key file the earlier imports used (PIPELINE_CLINIC_KEY_FILE)"
        )


def merge_sessions(
    con,
    frame: pd.DataFrame,
    import_id: str,
    *,
    source_name: str,
    synthetic: bool,
    fingerprint: str,
    replace: bool,
    headers: dict[str, str],
) -> MergeCounts:
    """Add an export's sessions to the stored ones, inside the caller's transaction.

    Sessions are matched by patient key and date. Unchanged ones are skipped, new ones
    added; changed ones raise ChangedSessionsError (naming them by file row and column)
    unless `replace`, which replaces them. Real data first removes the SYNTHETIC demo data.
    """
    held = stored_data(con)
    _check_mixing(held, synthetic, fingerprint, source_name)
    demo_removed = 0
    if held.n_sessions and held.all_synthetic and not synthetic:
        demo_removed = held.n_sessions
        con.execute("DELETE FROM core.clinic_sessions")
    incoming = f"clinic_incoming_{import_id.replace('-', '')}"
    con.execute(f"CREATE TEMP TABLE {incoming} AS SELECT * FROM core.clinic_sessions LIMIT 0")
    con.execute(
        f"INSERT INTO {incoming} (import_id, source_row, patient_key, "
        f"{', '.join(SESSION_COLUMNS)}) SELECT ?, * FROM frame",
        [import_id],
    )
    same = " AND ".join(f"s.{c} IS NOT DISTINCT FROM n.{c}" for c in SESSION_COLUMNS)
    match = "s.patient_key = n.patient_key AND s.session_date = n.session_date"
    added, skipped = con.execute(
        f"SELECT count(*) FILTER (WHERE s.patient_key IS NULL), "
        f"count(*) FILTER (WHERE s.patient_key IS NOT NULL AND {same}) "
        f"FROM {incoming} AS n LEFT JOIN core.clinic_sessions AS s ON {match}"
    ).fetchone()
    differs = ", ".join(f"s.{c} IS DISTINCT FROM n.{c}" for c in SESSION_COLUMNS)
    changed = con.execute(
        f"SELECT n.source_row, {differs} FROM {incoming} AS n "
        f"JOIN core.clinic_sessions AS s ON {match} WHERE NOT ({same}) ORDER BY n.source_row"
    ).fetchall()
    if changed and not replace:
        raise ChangedSessionsError(
            source_name,
            [(row, [headers.get(c, c) for c, d in zip(SESSION_COLUMNS, flags, strict=True) if d])
             for row, *flags in changed],
        )  # fmt: skip
    if changed:
        con.execute(
            f"DELETE FROM core.clinic_sessions AS s WHERE EXISTS (SELECT 1 FROM {incoming} AS n "
            f"WHERE {match} AND NOT ({same}))"
        )
    con.execute(
        f"INSERT INTO core.clinic_sessions SELECT n.* FROM {incoming} AS n WHERE NOT EXISTS "
        f"(SELECT 1 FROM core.clinic_sessions AS s WHERE {match})"
    )
    con.execute(f"DROP TABLE {incoming}")
    return MergeCounts(added, skipped, len(changed), demo_removed)


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
    replace: bool = False,
) -> ImportSummary:
    """Check an export read as text (`read_export`) and add its sessions to the stored ones.

    An export already imported (same bytes, mapping and key) is not loaded again. Invalid rows
    raise ClinicValidationError listing every problem, unless `skip_invalid`, which writes
    them to `report_path` first and loads the rest. Stored sessions the export changes raise
    ChangedSessionsError unless `replace`. `checked` passes the result of `check_export`
    when the caller has already run it. One transaction: a failure changes nothing.
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
    frame = sessions[["source_row", "patient_key", *SESSION_COLUMNS]]
    with warehouse.transaction(con):
        counts = merge_sessions(
            con, frame, import_id, source_name=source_name, synthetic=synthetic,
            fingerprint=fingerprint, replace=replace, headers=result.columns,
        )  # fmt: skip
        con.execute(
            "INSERT INTO core.clinic_imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [import_id, warehouse.now(), source_name, source_sha256, mapping.checksum,
             synthetic, fingerprint, result.n_rows, counts.added, counts.skipped,
             counts.replaced, n_invalid, str(report_path) if result.problems else None],
        )  # fmt: skip
        held = stored_data(con)
    summary = ImportSummary(
        source_name, synthetic, result.n_rows, counts.added, counts.skipped, counts.replaced,
        n_invalid, int(sessions["patient_key"].nunique()),
        report_path if result.problems else None, n_sessions_held=held.n_sessions,
        n_patients_held=held.n_patients, replaced_demo=counts.demo_removed,
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
    replace: bool = False,
) -> ImportSummary:
    """Import a clinic export (.csv or .xlsx) with a mapping (default: the shipped one) on top
    of the sessions already stored (see `import_frame`)."""
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
        source_sha256=checksum, skip_invalid=skip_invalid, report_path=report, replace=replace,
    )  # fmt: skip
