"""Reviewers' corrections of an extracted effect's arm, comparator, subgroup, timepoint or n.

Corrections are rows of `core.effect_corrections` (append-only: the log of who corrected what,
when, and why), kept by field name with the text or whole number the reviewer gave, and tied to
the quote they were made on. `marts.effects_current` gives each effect's current values
(extracted unless a correction applies); a correction applies while the effect is extracted with
the same quote, and one whose quote changed flags the effect for re-review.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from pipeline import warehouse
from pipeline.errors import PipelineError, UsageError
from pipeline.extract.store import EFFECTS_READ_SQL, read_effects

log = logging.getLogger(__name__)

# Field a reviewer may correct -> the core.effects column it replaces (None: not extracted).
FIELDS: dict[str, str | None] = {
    "arm": "arm",
    "comparator": None,
    "subgroup": None,
    "timepoint": "timepoint",
    "n": "n_total",
}
MAX_N = 2**31 - 1  # core.effects.n_total is an INTEGER
EXTRA_COLUMNS = ["comparator", "corrected_fields"]  # beside read_effects' own columns


@dataclass(frozen=True)
class Correction:
    """One field's corrected value: the text as given, and n or days when the field has them."""

    field: str
    value: str
    n: int | None = None
    days: float | None = None


def parse_field(field: str, value: str) -> Correction:
    """Check one field=value pair: a known field, a value, n a positive whole number."""
    name, text = field.strip().lower(), value.strip()
    if name not in FIELDS:
        raise UsageError(
            f"unknown field {field.strip()!r} in a correction: use {', '.join(FIELDS)} (or note)"
        )
    if not text:
        raise UsageError(f"the correction of {name} has no value: write {name}=VALUE")
    if name == "n":
        if not re.fullmatch(r"\d+", text) or int(text) <= 0:
            raise UsageError(f"n must be a positive whole number, not {text!r}")
        if int(text) > MAX_N:
            raise UsageError(f"n {text} is larger than a warehouse count can hold ({MAX_N})")
        return Correction(name, str(int(text)), n=int(text))
    if name == "timepoint":
        from pipeline.marts import timepoint_days  # the marts' reading, so that both agree

        return Correction(name, text, days=timepoint_days(text))
    return Correction(name, text)


def parse_assignments(lines: Sequence[str]) -> tuple[list[Correction], str | None]:
    """`field=value` items (and at most one `note=...`) -> corrections and the note."""
    corrections: list[Correction] = []
    note = None
    for item in lines:
        if not item.strip():
            continue
        field, equals, value = item.partition("=")
        if not equals:
            raise UsageError(f"{item.strip()!r} is not field=value (e.g. arm=placebo)")
        if field.strip().lower() == "note":
            if note is not None:
                raise UsageError("a correction has one note")
            note = value.strip() or None
            continue
        correction = parse_field(field, value)
        if any(c.field == correction.field for c in corrections):
            raise UsageError(f"{correction.field} is corrected twice in one correction")
        corrections.append(correction)
    if not corrections:
        raise UsageError(f"a correction names at least one field: {', '.join(FIELDS)}")
    return corrections, note


def parse_line(text: str) -> tuple[list[Correction], str | None]:
    """The one-line form 'arm=placebo; timepoint=day 28; note=...' (';' separates items)."""
    return parse_assignments(text.split(";"))


def quote_checksum(quote: str) -> str:
    """SHA-256 of the quote a correction was made on."""
    return hashlib.sha256(quote.encode("utf-8")).hexdigest()


def _as_text(value) -> str | None:
    """An extracted value as the text a correction stores beside it (None: not extracted)."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def record_corrections(
    con,
    effect_id: str,
    corrections: Sequence[Correction],
    reviewer: str,
    note: str | None = None,
) -> int:
    """Record corrections of one effect in one transaction (all or none); returns how many.

    Each row keeps the value as extracted now, the quote and its checksum, the extractor version,
    the reviewer, the time and the note.
    """
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise UsageError("a correction needs the reviewer's name (--reviewer)")
    corrections = list(corrections)
    if not corrections:
        return 0
    for item in corrections:
        parse_field(item.field, item.value)  # the same checks as typed input
    effects = read_effects(con)
    found = effects[effects.effect_id == effect_id]
    if found.empty:
        raise PipelineError(f"no extracted effect with id {effect_id}")
    effect = found.iloc[0]
    at = warehouse.now()
    with warehouse.transaction(con):
        for item in corrections:
            column = FIELDS[item.field]
            extracted = _as_text(effect[column]) if column else None
            con.execute(
                "INSERT INTO core.effect_corrections (effect_id, pmid, field, extracted_value, "
                "corrected_value, corrected_n, timepoint_days, quote, quote_sha256, "
                "extractor_version, reviewer, corrected_at, note) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [effect_id, effect.pmid, item.field, extracted, item.value, item.n, item.days,
                 effect.quote, quote_checksum(effect.quote), _as_text(effect.extractor_version),
                 reviewer, at, note],
            )  # fmt: skip
    log.debug("recorded %d correction(s) of effect %s by %s", len(corrections), effect_id, reviewer)
    return len(corrections)


def has_corrections(con) -> bool:
    """Whether the warehouse has the corrections tables (migration 041)."""
    return bool(warehouse.table_columns(con, "core.effect_corrections"))


def correction_log(con, effect_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Every correction ever recorded, oldest first (of `effect_ids` when given)."""
    where = "WHERE list_contains(?, effect_id)" if effect_ids is not None else ""
    return con.execute(
        f"SELECT * FROM core.effect_corrections {where} ORDER BY corrected_at, correction_id",
        [list(effect_ids)] if effect_ids is not None else [],
    ).df()


def current_corrections(con) -> pd.DataFrame:
    """The correction in force per effect and field, with `applies` (the quote is unchanged)."""
    return con.execute(
        "SELECT * FROM core.effect_corrections_current ORDER BY effect_id, field"
    ).df()


# read_effects' columns, the corrected fields from marts.effects_current, and the extra ones.
def correction_counts(con) -> dict[str, int]:
    """Corrections in force that apply, set aside by a changed quote, and orphaned (their
    effect is no longer extracted: its span or kind changed)."""
    if not has_corrections(con):
        return {"applied": 0, "set_aside": 0, "orphaned": 0}
    applied, set_aside, orphaned = con.execute(
        "SELECT count(*) FILTER (WHERE applies), "
        "count(*) FILTER (WHERE NOT applies AND current_quote IS NOT NULL), "
        "count(*) FILTER (WHERE current_quote IS NULL) FROM core.effect_corrections_current"
    ).fetchone()
    return {"applied": applied, "set_aside": set_aside, "orphaned": orphaned}


_CURRENT_EFFECTS_SQL = f"""
    SELECT e.* REPLACE (
               c.arm AS arm, c.timepoint AS timepoint, c.n_total AS n_total,
               c.subgroup AS subgroup, c.timepoint_days AS timepoint_days
           ),
           c.comparator, c.corrected_fields
    FROM ({EFFECTS_READ_SQL}) e
    JOIN marts.effects_current c USING (effect_id)
"""


def read_current_effects(con, pmids: Sequence[str] | None = None) -> pd.DataFrame:
    """`read_effects` with corrections applied (arm, timepoint and its days, n_total, subgroup),
    plus `comparator` and `corrected_fields`."""
    if not warehouse.table_columns(con, "core.effects") or not warehouse.table_columns(
        con, "marts.effects_current"
    ):  # no effects (read_effects says so), or opened read-only before migration 041
        effects = read_effects(con, pmids)
        for column in EXTRA_COLUMNS:
            effects[column] = None
        effects["corrected_fields"] = [[] for _ in range(len(effects))]
        return effects
    where = "WHERE list_contains(?, e.pmid)" if pmids is not None else ""
    return con.execute(
        f"{_CURRENT_EFFECTS_SQL} {where} ORDER BY e.pmid, e.start, e.end, e.kind, e.effect_id",
        [list(pmids)] if pmids is not None else [],
    ).df()


def _shown(value) -> str:
    return "not given" if value is None or pd.isna(value) else f"'{value}'"


def provenance_line(row) -> str:
    """'corrected by Dr A on 2026-12-07: arm was 'ketamine', now 'placebo''."""
    when = pd.Timestamp(row.corrected_at).strftime("%Y-%m-%d")
    return (
        f"corrected by {row.reviewer} on {when}: {row.field} was {_shown(row.extracted_value)}, "
        f"now {_shown(row.corrected_value)}"
    )


def stale_reason(row) -> str:
    """Why a correction made on another quote no longer applies."""
    when = pd.Timestamp(row.corrected_at).strftime("%Y-%m-%d")
    return (
        f"{row.field} was corrected by {row.reviewer} on {when} to {_shown(row.corrected_value)} "
        f"on the quote {row.quote!r}, which is now {row.current_quote!r}"
    )


CORRECTION_COLUMNS = ["effect_id", "correction_provenance", "stale_corrections"]


def corrections_by_effect(con) -> pd.DataFrame:
    """Per corrected effect: `correction_provenance` (the lines of corrections that apply) and
    `stale_corrections` (rows of those whose quote changed: field, corrected_at, reason)."""
    if not has_corrections(con):
        return pd.DataFrame(columns=CORRECTION_COLUMNS)
    current = current_corrections(con)
    current = current[current.current_quote.notna()]  # effects no longer extracted: orphans
    rows = []
    for effect_id, group in current.groupby("effect_id", sort=True):
        applied = group[group.applies]
        stale = group[~group.applies]
        rows.append(
            {
                "effect_id": effect_id,
                "correction_provenance": [provenance_line(r) for r in applied.itertuples()],
                "stale_corrections": [
                    (r.field, pd.Timestamp(r.corrected_at), stale_reason(r))
                    for r in stale.itertuples()
                ],
            }
        )
    return pd.DataFrame(rows, columns=CORRECTION_COLUMNS)


def arm_named(text: str, arms: Sequence[dict]) -> dict | None:
    """The one arm of a study (core.arms rows) a reviewer's corrected arm or comparator names,
    by its arm id or its label as written (case aside); None when it names none or several."""
    wanted = text.strip().casefold()
    named = [
        arm
        for arm in arms
        if wanted in (str(arm["arm_id"]).casefold(), str(arm["label"]).casefold())
    ]
    return named[0] if len(named) == 1 else None


def arm_of_effect(
    effect, which: str, arms_by_id: dict[str, dict], arms_by_pmid: dict[str, list[dict]]
) -> tuple[dict | None, str | None]:
    """An effect's arm (`which` = 'arm') or comparator ('comparator') from the study structure:
    (its core.arms row, the words a reviewer gave when corrected). A correction that names an arm
    of the study gives that arm; an effect without an arm id and uncorrected gives (None, None)."""
    column = "arm_id" if which == "arm" else "comparator_arm_id"
    fields = effect.get("corrected_fields")
    corrected = list(fields) if fields is not None and not isinstance(fields, float) else []
    if which in corrected:
        text = effect.get(which)
        if text is None or (isinstance(text, float) and text != text) or not str(text).strip():
            return None, None
        return arm_named(str(text), arms_by_pmid.get(str(effect["pmid"]), [])), str(text)
    arm_id = effect.get(column)
    if not isinstance(arm_id, str):
        return None, None
    return arms_by_id.get(arm_id), None
