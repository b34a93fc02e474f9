"""Synthesis marts: trial outcomes with effect sizes, trial arms' rates, pooled estimates.

`trial_outcomes(con)` turns the extracted effects (core.effects, with reviewers' corrections
applied: marts.effects_current) and trial facts (core.trial_facts) into one row per trial,
outcome, timepoint, comparison and effect measure, with yi and vi computed by
`pipeline.synthesis` and the effect ids they came from. Effects that cannot give a comparison
(no CI, no n per arm, a rate without its comparator) are listed with
the reason, never dropped: every effect id of core.effects appears in some row.

The functions compute from the core tables on every call (read-only, always current; the
notebooks use them). `refresh_trial_outcomes(con)` stores the same frames in the tables
`marts.trial_outcomes` and `marts.pooled_estimates` for SQL readers; `python -m pipeline
notebooks run` calls it before executing the notebooks.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.extensions import ExtensionDtype
from pandas.arrays import ArrowExtensionArray
from pandas.core.dtypes.cast import maybe_box_native

from pipeline import synthesis, vocab, warehouse
from pipeline.errors import PipelineError
from pipeline.evidence.corrections import arm_of_effect, read_current_effects
from pipeline.extract import direction_in_words

# read_effects is also read as marts.read_effects (notebook 01)
from pipeline.extract.store import ARMS_READ_SQL, read_arms, read_effects  # noqa: F401

log = logging.getLogger(__name__)

RATE_KINDS = vocab.RATE_OUTCOME
RATIO_KINDS = {"odds_ratio": "log_or", "risk_ratio": "log_rr", "hazard_ratio": "log_hr"}
SMD_KINDS = vocab.SMD_KINDS
RANDOMISED_DESIGNS = vocab.RANDOMISED_DESIGNS
RATIO_MEASURES = ("log_rr", "log_or", "log_hr")
# An arm naming the drug (also ESK, KET01 ...): read only by the registry's group titles, which
# have no study structure of their own (pipeline.registry.crosscheck).
DRUG_PATTERN = re.compile(vocab.ANY_KETAMINE_PATTERN, re.IGNORECASE)
# How an arm is shown when no arm id (and no reviewer) says which arm an effect is about.
ARM_NOT_STATED = "arm not stated"

TRIAL_OUTCOME_COLUMNS = [
    "outcome_id", "pmid", "study_label", "pub_year", "design", "drug", "route", "outcome",
    "outcome_label", "scale", "timepoint", "timepoint_days", "timepoint_window", "comparison",
    "comparator_class", "measure", "yi", "vi", "n_1", "n_2", "events_1", "events_2", "effect_ids",
    "notes", "reason", "source", "registry_source",
]  # fmt: skip


# --- reading the core tables ----------------------------------------------------------------


def _as_list(value) -> list:
    """A trial-facts field that may be a list, a JSON string, a scalar or null -> a list."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return list(json.loads(text))
            except json.JSONDecodeError:
                return [value]
        return [value] if text else []
    if isinstance(value, np.ndarray):
        return list(value)
    return list(value) if isinstance(value, list | tuple) else [value]


@dataclass
class TrialFacts:
    """What core.trial_facts says about one PMID, normalised to lists."""

    pmid: str
    design: str | None = None
    drug: list[str] = field(default_factory=list)
    route: list[str] = field(default_factory=list)
    comparator: list[str] = field(default_factory=list)
    arms: list[dict] = field(default_factory=list)
    n_randomized: float | None = None


_NATIVE_TYPES = frozenset({str, int, float, bool, type(None), list, dict, tuple})


def _records(frame: pd.DataFrame) -> list[dict]:
    """`frame.to_dict("records")`, the same values, built a column at a time (several times
    faster on the tens of thousands of effects a large ingest reads)."""
    columns = frame.columns.tolist()
    values = []
    for _, series in frame.items():
        column = _arrow_column_values(series.array)
        if column is None:
            column = list(series)  # what to_dict iterates: Python scalars
            dtype = series.dtype
            if dtype == np.dtype(object) or isinstance(dtype, ExtensionDtype):
                column = [v if type(v) in _NATIVE_TYPES else maybe_box_native(v) for v in column]
        values.append(column)
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def _arrow_column_values(array) -> list | None:
    """The Python values iterating an Arrow-backed column gives (text, numbers, booleans; a
    missing value as the dtype's own NA), converted in one call; None for any other column.

    Iterating such a column converts one element at a time, which took a third of a refresh."""
    if not isinstance(array, ArrowExtensionArray):
        return None
    chunked = array.__arrow_array__()
    kind = chunked.type
    if not (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
    ):
        return None
    values = chunked.to_pylist()  # text, numbers and booleans: Python's own types
    if chunked.null_count:
        na_value = array.dtype.na_value
        if type(na_value) not in _NATIVE_TYPES:
            na_value = maybe_box_native(na_value)  # as `_records` boxes any other value
        values = [na_value if v is None else v for v in values]
    return values


def _first_present(row: dict, *names: str):
    return next((row[name] for name in names if name in row), None)


def _only(pmids: Iterable[str] | None) -> tuple[str, pd.DataFrame]:
    """A WHERE clause limiting a query on alias `x` to `pmids` (all when None), and its frame."""
    frame = pd.DataFrame({"pmid": pd.Series(sorted(pmids or ()), dtype=object)})
    return ("WHERE x.pmid IN (SELECT pmid FROM only_pmids)" if pmids is not None else ""), frame


def read_trial_facts(con, pmids: Iterable[str] | None = None) -> dict[str, TrialFacts]:
    """core.trial_facts by PMID, only `pmids` when given (empty when the table does not exist)."""
    if not warehouse.table_columns(con, "core.trial_facts"):
        log.warning("the warehouse has no core.trial_facts table: drug, route and arms unknown")
        return {}
    where, only_pmids = _only(pmids)  # noqa: F841 - read by DuckDB
    frame = con.execute(f"SELECT * FROM core.trial_facts AS x {where}").df()
    facts = {}
    for row in _records(frame):
        arms = []
        for arm in _as_list(row.get("arms")):
            if isinstance(arm, str):
                try:
                    arm = json.loads(arm)
                except json.JSONDecodeError:
                    continue
            if isinstance(arm, dict):
                arms.append({"label": arm.get("label"), "n": arm.get("n")})
        n_randomized = row.get("n_randomized")
        facts[str(row["pmid"])] = TrialFacts(
            pmid=str(row["pmid"]),
            design=row.get("design") if isinstance(row.get("design"), str) else None,
            drug=[str(x) for x in _as_list(_first_present(row, "drugs", "drug"))],
            route=[str(x) for x in _as_list(_first_present(row, "routes", "route"))],
            comparator=[str(x) for x in _as_list(row.get("comparator"))],
            arms=arms,
            n_randomized=None if n_randomized is None or pd.isna(n_randomized) else n_randomized,
        )
    return facts


def study_labels(con, pmids: Iterable[str] | None = None) -> pd.DataFrame:
    """PMID, label ("Zarate 2006 (Arch Gen Psychiatry)", or "JAMA Psychiatry 2018" when the
    record names no author), year, journal, DOI, title, retraction flag; only `pmids` if given."""
    where, only_pmids = _only(pmids)  # noqa: F841 - read by DuckDB
    where = where.replace("x.pmid", "a.pmid")
    return con.execute(
        f"""
        SELECT a.pmid,
            CASE WHEN coalesce(au.last_name, au.collective_name) IS NOT NULL
                THEN coalesce(au.last_name, au.collective_name)
                    || coalesce(' ' || CAST(a.pub_year AS VARCHAR), '')
                    || coalesce(' (' || coalesce(a.journal_iso, a.journal_title) || ')', '')
                ELSE coalesce(a.journal_iso, a.journal_title, 'PMID ' || a.pmid)
                    || coalesce(' ' || CAST(a.pub_year AS VARCHAR), '')
            END AS study_label,
            a.pub_year, coalesce(a.journal_iso, a.journal_title) AS journal, a.doi, a.title,
            a.is_retracted
        FROM core.articles AS a
        LEFT JOIN core.authors AS au ON au.pmid = a.pmid AND au.position = 1
        {where}
        """
    ).df()


# --- normalising labels and timepoints --------------------------------------------------------

_TIME_UNITS = {
    "minute": 1 / 1440, "min": 1 / 1440, "hour": 1 / 24, "hr": 1 / 24, "h": 1 / 24, "day": 1.0,
    "week": 7.0, "wk": 7.0, "month": 30.4375,
}  # fmt: skip
_UNIT = r"(minutes?|mins?|hours?|hrs?|h|days?|weeks?|wks?|months?)"
_NUMBER_UNIT = re.compile(rf"(\d+(?:\.\d+)?)\s*(?:-\s*)?{_UNIT}\b", re.IGNORECASE)
_UNIT_NUMBER = re.compile(rf"\b{_UNIT}\s*(\d+(?:\.\d+)?)\b", re.IGNORECASE)


def timepoint_days(text: str | None) -> float | None:
    """Days from the timepoint as written: '24 hours' -> 1, 'day 28' -> 28, 'week 4' -> 28.

    The last number-with-unit wins ('day 1 to week 4' -> 28); None when nothing parses.
    """
    if not text:
        return None
    found = []
    for match in _NUMBER_UNIT.finditer(text):
        found.append((match.start(), float(match[1]), match[2]))
    for match in _UNIT_NUMBER.finditer(text):
        found.append((match.start(), float(match[2]), match[1]))
    if not found:
        return None
    _, number, unit = max(found)
    unit = unit.lower().rstrip("s") if unit.lower() not in ("h", "hrs") else "hour"
    return number * _TIME_UNITS.get(unit, _TIME_UNITS.get(unit[:3], 1.0))


TIMEPOINT_WINDOWS = (
    ("< 12 hours", 0.0, 0.5),
    ("~24 hours", 0.5, 2.0),
    ("days 3-7", 2.0, 7.5),
    ("weeks 2-3", 7.5, 20.5),
    ("~day 28", 20.5, 35.5),
    ("> 5 weeks", 35.5, math.inf),
)


def timepoint_window(days: float | None) -> str:
    """The pooling window for a timepoint in days ('~24 hours', '~day 28', ...)."""
    if days is None or not math.isfinite(days):
        return "unspecified"
    for label, low, high in TIMEPOINT_WINDOWS:
        if low <= days < high:
            return label
    return "unspecified"


def _norm(text: str | None) -> str:
    return re.sub(r"[^a-z0-9.]+", " ", (text or "").lower()).strip()


def comparator_class(facts: TrialFacts | None) -> str:
    """The comparator class a trial's typed facts give when no arm says: 'placebo' (placebo,
    midazolam as active placebo), 'active' (ECT, another drug), 'dose' (another dose of the
    drug), or 'unspecified'; pools never mix them."""
    listed = set(facts.comparator) if facts else set()
    if listed & {"placebo", "midazolam"}:
        return "placebo"  # an antidepressant beside placebo is background treatment in both arms
    if listed:
        return "dose" if listed == {"ketamine_dose"} else "active"
    return "unspecified"


@dataclass
class Arms:
    """core.arms rows by arm id and by PMID: every arm a reader of the marts names."""

    by_id: dict[str, dict] = field(default_factory=dict)
    by_pmid: dict[str, list[dict]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: dict[str, dict] | None) -> Arms:
        by_pmid: dict[str, list[dict]] = {}
        for row in (rows or {}).values():
            by_pmid.setdefault(str(row.get("pmid") or str(row["arm_id"]).split(":")[0]), []).append(
                row
            )
        return cls(dict(rows or {}), by_pmid)

    def of_effect(self, effect: dict, which: str = "arm") -> dict | None:
        """The core.arms row of an effect's arm or comparator (a reviewer's correction naming an
        arm of the study counts); None when no arm id says."""
        record, _ = arm_of_effect(effect, which, self.by_id, self.by_pmid)
        return record


def _arm_n(record: dict | None) -> float | None:
    """n of an arm of core.arms: analysed when stated, else randomised."""
    if record is None:
        return None
    n = _clean(record.get("n_analysed"))
    n = n if n is not None and not pd.isna(n) else _clean(record.get("n_randomized"))
    return None if n is None or pd.isna(n) else float(n)


def _two_arm_ns(effect: dict, arms: Arms) -> tuple[float | None, float | None]:
    """(n of the effect's arm, n of its comparator arm) from core.arms, when both are stated."""
    n_1, n_2 = _arm_n(arms.of_effect(effect)), _arm_n(arms.of_effect(effect, "comparator"))
    return (n_1, n_2) if n_1 is not None and n_2 is not None else (None, None)


def _comparison(effect: dict, arms: Arms) -> str | None:
    """'esketamine 56 mg vs placebo' from the labels of the effect's arms in core.arms; one
    arm's label for a one-arm result; None when no arm id says."""
    arm, comparator = arms.of_effect(effect), arms.of_effect(effect, "comparator")
    if arm is None:
        return None
    return f"{arm['label']} vs {comparator['label']}" if comparator else arm["label"]


def _joined(values: list[str]) -> str | None:
    return "+".join(sorted(dict.fromkeys(values))) if values else None


# --- building the rows ----------------------------------------------------------------------


def _outcome_of(kind: str, label: str | None) -> tuple[str, str | None]:
    if kind in RATE_KINDS:
        return RATE_KINDS[kind], None
    text = _norm(label)
    for word, outcome in (
        ("relapse", "relapse"),
        ("remission", "remission"),
        ("respon", "response"),
    ):
        if word in text:
            return outcome, None
    if kind in ("mean_difference", "mean_change", "percent_change", *SMD_KINDS) and not label:
        return "scale_change", None
    return "other", label


def _row(
    effect_rows: list[dict], facts: TrialFacts | None, arms: Arms | None = None, **values
) -> dict:
    first = effect_rows[0]
    outcome, outcome_label = _outcome_of(first["kind"], _clean(first.get("label")))
    timepoint = _clean(first.get("timepoint"))
    days = timepoint_days(timepoint)
    row = {
        "pmid": str(first["pmid"]),
        "design": facts.design if facts else None,
        "drug": _joined(facts.drug) if facts else None,
        "route": _joined(facts.route) if facts else None,
        "outcome": outcome,
        "outcome_label": outcome_label,
        "scale": _clean(first.get("scale")),
        "timepoint": timepoint,
        "timepoint_days": days,
        "timepoint_window": timepoint_window(days),
        "comparison": _comparison(first, arms or Arms()),
        "yi": None,
        "vi": None,
        "n_1": None,
        "n_2": None,
        "events_1": None,
        "events_2": None,
        "effect_ids": [str(e["effect_id"]) for e in effect_rows],
        "notes": None,
        "reason": None,
    }
    row.update(values)
    return row


def _clean(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _effect_values(effect: dict) -> tuple[float, float | None, float | None, float]:
    level = _clean(effect.get("ci_level")) or 95.0
    return (
        float(effect["value"]),
        _clean(effect.get("ci_low")),
        _clean(effect.get("ci_high")),
        level,
    )


def _computed(row: dict, result: synthesis.EffectSize) -> dict:
    row.update(yi=result.yi, vi=result.vi, measure=result.measure, notes="; ".join(result.notes))
    return row


def _ratio_rows(effect: dict, facts: TrialFacts | None, arms: Arms) -> list[dict]:
    measure = RATIO_KINDS[effect["kind"]]
    value, low, high, level = _effect_values(effect)
    if low is None or high is None:
        return [
            _row([effect], facts, arms, measure=measure, reason="no confidence interval reported")
        ]
    try:
        result = synthesis.log_ratio_from_ci(value, low, high, kind=effect["kind"], ci_level=level)
    except synthesis.EffectSizeError as error:
        return [_row([effect], facts, arms, measure=measure, reason=str(error))]
    return [_computed(_row([effect], facts, arms, measure=measure), result)]


def _mean_difference_rows(effect: dict, facts: TrialFacts | None, arms: Arms) -> list[dict]:
    value, low, high, level = _effect_values(effect)
    worded = direction_in_words(effect)
    if worded is not None:
        reason = f"direction stated in words ({worded!r}): not pooled with signed differences"
        return [_row([effect], facts, arms, measure="md", reason=reason)]
    n_1, n_2 = _two_arm_ns(effect, arms)
    se = _clean(effect.get("se"))
    rows = []
    if low is not None and high is not None:
        try:
            md = synthesis.mean_difference_from_ci(
                value, low, high, ci_level=level, n_1=n_1, n_2=n_2
            )
            rows.append(_computed(_row([effect], facts, arms, measure="md", n_1=n_1, n_2=n_2), md))
        except synthesis.EffectSizeError as error:
            return [_row([effect], facts, arms, measure="md", reason=str(error))]
        if n_1 is None:
            reason = "n per arm not stated: no standardised mean difference"
            rows.append(_row([effect], facts, arms, measure="smd", reason=reason))
        else:
            g = synthesis.hedges_g_from_mean_difference(value, low, high, n_1, n_2, ci_level=level)
            rows.append(_computed(_row([effect], facts, arms, measure="smd", n_1=n_1, n_2=n_2), g))
    elif se is not None and se > 0:
        result = synthesis.EffectSize(value, se**2, "md", ("variance from the reported SE",))
        rows.append(_computed(_row([effect], facts, arms, measure="md", n_1=n_1, n_2=n_2), result))
    else:
        rows.append(
            _row([effect], facts, arms, measure="md", reason="no confidence interval or SE")
        )
    return rows


def _smd_rows(effect: dict, facts: TrialFacts | None, arms: Arms) -> list[dict]:
    value, low, high, level = _effect_values(effect)
    n_1, n_2 = _two_arm_ns(effect, arms)
    base = _row([effect], facts, arms, measure="smd_reported", n_1=n_1, n_2=n_2)
    notes = [f"reported as {effect['kind']}; direction as reported"]
    if effect["kind"] == "cohens_d" and n_1 is not None:
        value *= synthesis.hedges_correction(n_1 + n_2 - 2)
        notes.append("Hedges' correction applied to Cohen's d")
    if low is not None and high is not None:
        if not low <= float(effect["value"]) <= high:
            base["reason"] = f"the value {effect['value']} lies outside its CI ({low}, {high})"
            return [base]
        vi = synthesis.variance_from_ci(low, high, ci_level=level)
        notes.append("variance from the reported CI")
    elif n_1 is not None:
        vi = 1 / n_1 + 1 / n_2 + value**2 / (2 * (n_1 + n_2))
        notes.append("variance from n per arm")
    else:
        base["reason"] = "no confidence interval and n per arm not stated"
        return [base]
    base.update(yi=value, vi=vi, notes="; ".join(notes))
    return [base]


def _rate_rows(effects: list[dict], facts: TrialFacts | None, arms: Arms) -> list[dict]:
    """Rates of one PMID, kind, timepoint and scale: each drug arm against each control arm,
    the arms and their roles as core.arms gives them (through each rate's arm id)."""
    per_arm: dict[str, tuple[dict, dict]] = {}
    rows = []
    for effect in effects:
        record = arms.of_effect(effect)
        if record is None:
            reason = f"rate not attributed to one arm ({ARM_NOT_STATED})"
            rows.append(_row([effect], facts, arms, measure="log_rr", reason=reason))
        elif record["arm_id"] in per_arm:
            reason = f"a second rate for the arm {record['label']!r} at this timepoint"
            rows.append(_row([effect], facts, arms, measure="log_rr", reason=reason))
        else:
            per_arm[record["arm_id"]] = (record, effect)
    controls = [a for a, (r, _) in per_arm.items() if r["role"] != "intervention"]
    treated = [a for a in per_arm if a not in controls]
    if not controls or not treated:
        for arm_id, (_, effect) in per_arm.items():
            reason = (
                "no comparator arm's rate at this timepoint"
                if arm_id in treated
                else ("no drug arm's rate at this timepoint")
            )
            rows.append(_row([effect], facts, arms, measure="log_rr", reason=reason))
        return rows
    for arm_1 in treated:
        for arm_2 in controls:
            (record_1, effect_1), (record_2, effect_2) = per_arm[arm_1], per_arm[arm_2]
            pair = [effect_1, effect_2]
            comparison = f"{record_1['label']} vs {record_2['label']}"
            row = _row(pair, facts, arms, measure="log_rr", comparison=comparison)
            counts = [_events_and_n(e, r) for e, r in ((effect_1, record_1), (effect_2, record_2))]
            labels = (record_1["label"], record_2["label"])
            missing = [label for label, c in zip(labels, counts, strict=True) if c is None]
            if missing:
                row["reason"] = f"n per arm not stated for {', '.join(map(repr, missing))}"
                rows.append(row)
                continue
            (events_1, n_1), (events_2, n_2) = counts
            row.update(n_1=n_1, n_2=n_2, events_1=events_1, events_2=events_2)
            try:
                rows.append(_computed(row, synthesis.log_risk_ratio(events_1, n_1, events_2, n_2)))
            except synthesis.EffectSizeError as error:
                row["reason"] = str(error)
                rows.append(row)
    return rows


def _events_and_n(effect: dict, record: dict | None) -> tuple[float, float] | None:
    """(events, n) of a rate: its own counts, else its arm's n in core.arms."""
    n_total = _clean(effect.get("n_total"))
    n = float(n_total) if n_total else _arm_n(record)
    if n is None:
        return None
    n_events = _clean(effect.get("n_events"))
    events = (
        float(n_events) if n_events is not None else synthesis.rate_to_events(effect["value"], n)
    )
    return events, n


def _unpaired_row(effect: dict, facts: TrialFacts | None, arms: Arms) -> dict:
    kind = effect["kind"]
    reasons = {
        "mean_change": "within-arm change from baseline: not a comparison",
        "percent_change": "within-arm percent change: not a comparison",
        "nnt": "number needed to treat: no variance can be recovered from it",
        "other": "not an efficacy comparison (e.g. an adverse-event rate)",
    }
    return _row(
        [effect], facts, arms, measure=kind, reason=reasons.get(kind, f"kind {kind!r} not pooled")
    )


def _outcome_id(row: dict) -> str:
    """A stable id: a missing field is written the same whether it came as None or NaN (a
    column with no value in a chunk of trials comes out of pandas as NaN)."""
    key = (
        "|".join(
            str(_clean(row[c])) for c in ("pmid", "outcome", "timepoint", "comparison", "measure")
        )
        + "|"
        + ",".join(row["effect_ids"])
    )
    return hashlib.sha1(key.encode()).hexdigest()


# What the comparator arm's role (core.arms) makes a comparison: placebo, active or dose.
COMPARATOR_CLASS_OF_ROLE = {"placebo": "placebo", "active": "active", "intervention": "dose"}
# How an arm's role (core.arms) shows in the arm-rate tables.
ARM_ROLE_OF_ROLE = {
    "intervention": "drug", "placebo": "comparator", "active": "comparator",
    "comparator": "comparator",
}  # fmt: skip


def arms_by_id(con) -> dict[str, dict]:
    """core.arms rows by arm id (empty for a warehouse without arms)."""
    return {row["arm_id"]: row for row in read_arms(con).to_dict("records")}


def arms_of_effects(con, effects: pd.DataFrame) -> dict[str, dict]:
    """The core.arms rows (by arm id) that `effects` refer to, as `arms_by_id` gives them: a
    refresh of a few trials reads their arms, not every arm in the warehouse."""
    ids = set()
    for column in ("arm_id", "comparator_arm_id"):
        if column in effects:
            values = _arrow_column_values(effects[column].array)
            values = effects[column] if values is None else values
            ids.update(i for i in values if isinstance(i, str) and i)
    if not ids or not warehouse.table_columns(con, "core.arms"):
        return {}
    wanted = pd.DataFrame({"arm_id": pd.Series(sorted(ids), dtype=object)})  # noqa: F841
    frame = con.execute(
        f"SELECT * FROM ({ARMS_READ_SQL}) WHERE arm_id IN (SELECT arm_id FROM wanted) "
        "ORDER BY pmid, position"
    ).df()
    return {row["arm_id"]: row for row in _records(frame)}


def _structure_comparator_class(
    effect_ids: list[str], by_id: dict[str, dict], arms: Arms
) -> str | None:
    """The comparator class the study structure gives a row: the role of the arm its effect
    is compared with (or, for a pair of rates, of the second rate's arm); None when unknown."""
    effects = [by_id[i] for i in effect_ids if i in by_id]
    if len(effects) == 1:
        arm = arms.of_effect(effects[0], "comparator")
    elif len(effects) == 2:
        arm = arms.of_effect(effects[1])
    else:
        arm = None
    return COMPARATOR_CLASS_OF_ROLE.get(arm["role"]) if arm else None


def build_trial_outcomes(
    effects: pd.DataFrame,
    facts: dict[str, TrialFacts],
    labels: pd.DataFrame | None = None,
    arms: dict[str, dict] | None = None,
) -> pd.DataFrame:
    """The trial-outcome rows from effects, trial facts and study arms (see `trial_outcomes`).

    Arms, their n and the comparator class come from core.arms through each effect's arm ids
    (or a reviewer's correction naming an arm of the study); the arm words are never read. An
    effect without an arm id gets the trial's comparator class from its typed facts."""
    arms = Arms.of(arms)
    rows: list[dict] = []
    records = _records(effects)
    rates: dict[tuple, list[dict]] = {}
    for effect in records:
        facts_row = facts.get(str(effect["pmid"]))
        kind = effect["kind"]
        if effect["value"] is None or pd.isna(effect["value"]):
            rows.append(_row([effect], facts_row, arms, measure=kind, reason="no value"))
        elif kind in RATE_KINDS:
            key = (
                str(effect["pmid"]),
                kind,
                _clean(effect.get("timepoint")),
                _clean(effect.get("scale")),
            )
            rates.setdefault(key, []).append(effect)
        elif kind in RATIO_KINDS:
            rows.extend(_ratio_rows(effect, facts_row, arms))
        elif kind == "mean_difference":
            rows.extend(_mean_difference_rows(effect, facts_row, arms))
        elif kind in SMD_KINDS:
            rows.extend(_smd_rows(effect, facts_row, arms))
        else:
            rows.append(_unpaired_row(effect, facts_row, arms))
    for (pmid, *_), group in rates.items():
        rows.extend(_rate_rows(group, facts.get(pmid), arms))
    by_id = {str(e["effect_id"]): e for e in records if "effect_id" in e}
    for row in rows:
        row["comparator_class"] = _structure_comparator_class(
            row["effect_ids"], by_id, arms
        ) or comparator_class(facts.get(row["pmid"]))
    for row in rows:
        row.setdefault("source", "abstract")
        row.setdefault("registry_source", None)
    frame = pd.DataFrame(rows, columns=[c for c in TRIAL_OUTCOME_COLUMNS if c != "outcome_id"])
    if frame.empty:
        return pd.DataFrame(columns=TRIAL_OUTCOME_COLUMNS)
    frame.insert(0, "outcome_id", [_outcome_id(r) for r in rows])  # the frame's rows, in order
    if labels is not None and not labels.empty:
        lookup = labels.set_index("pmid")
        frame["study_label"] = frame["pmid"].map(lookup["study_label"]).fillna(frame["pmid"])
        frame["pub_year"] = frame["pmid"].map(lookup["pub_year"])
    else:
        frame["study_label"] = frame["pmid"]
    frame["pub_year"] = frame["pub_year"].astype("Int64")
    for column in ("yi", "vi", "n_1", "n_2", "events_1", "events_2", "timepoint_days"):
        frame[column] = frame[column].astype(float)
    order = ["pmid", "outcome", "timepoint_days", "comparison", "measure"]
    return frame.sort_values(order, kind="stable", na_position="last").reset_index(drop=True)


@dataclass(frozen=True)
class RegistryChoice:
    """The registry's per-arm counts and the article each study's rows go to, worked out once
    over every linked trial, so trial rows can be computed a chunk of trials at a time."""

    counts: pd.DataFrame
    publications: dict[str, str]  # NCT id -> PMID

    @classmethod
    def of(cls, con) -> RegistryChoice | None:
        if not warehouse.table_columns(con, "core.registry_outcomes"):
            return None
        from pipeline.registry.crosscheck import registry_arm_counts  # it reads marts too

        # Only each linked trial's design and year are read: its whole facts and label, for
        # every linked trial at once, were the largest thing a refresh held.
        where, only_pmids = _only(_registry_linked(con))  # noqa: F841 - read by DuckDB
        designs = {}
        if warehouse.table_columns(con, "core.trial_facts"):
            designs = {
                str(pmid): design if isinstance(design, str) else None
                for pmid, design in con.execute(
                    f"SELECT x.pmid, x.design FROM core.trial_facts AS x {where}"
                ).fetchall()
            }
        years = dict(
            con.execute(f"SELECT x.pmid, x.pub_year FROM core.articles AS x {where}").fetchall()
        )
        return cls(registry_arm_counts(con), _primary_publications(con, designs, years))


def trial_outcomes(
    con, pmids: Iterable[str] | None = None, registry: RegistryChoice | None = None
) -> pd.DataFrame:
    """One row per trial, outcome, timepoint, comparison and measure, with yi, vi and provenance.

    Computed from core.effects and core.trial_facts (read-only). Rows that could not be
    computed have yi = vi = NaN and a `reason`; retracted articles are excluded with a reason.
    With `pmids`, only those trials: registry rows need every PMID linked to the registry, or
    `registry` worked out over all of them (then each registry row comes with its own article).
    """
    pmids = None if pmids is None else sorted(set(pmids))
    labels = study_labels(con, pmids)
    facts = read_trial_facts(con, pmids)
    effects = read_current_effects(con, pmids)
    frame = build_trial_outcomes(effects, facts, labels, arms_of_effects(con, effects))
    frame = add_registry_outcomes(con, frame, facts, labels, registry)
    retracted = set(labels.loc[labels["is_retracted"].fillna(False).astype(bool), "pmid"])
    hit = frame["pmid"].isin(retracted)
    frame.loc[hit, ["yi", "vi"]] = np.nan
    frame.loc[hit, "reason"] = "the article is retracted"
    return frame


def primary_publications(con, facts: dict[str, TrialFacts], labels: pd.DataFrame) -> dict[str, str]:
    """NCT id -> the randomised-trial article that reports it: linked through its DataBankList
    (or the study's own references), design rct, the earliest (then lowest PMID)."""
    years = dict(zip(labels["pmid"], labels["pub_year"], strict=True)) if len(labels) else {}
    return _primary_publications(con, {p: t.design for p, t in facts.items()}, years)


def _primary_publications(
    con, designs: dict[str, str | None], years: dict[str, object]
) -> dict[str, str]:
    """`primary_publications` from each trial's design and publication year alone."""
    if not warehouse.table_columns(con, "core.registry_links"):
        return {}
    chosen: dict[str, tuple] = {}
    for nct_id, pmid in con.execute(
        "SELECT DISTINCT nct_id, pmid FROM core.registry_links WHERE NOT weak"
    ).fetchall():
        if designs.get(pmid) not in RANDOMISED_DESIGNS:
            continue
        year = years.get(pmid)
        key = (9999 if year is None or pd.isna(year) else int(year), pmid)
        if nct_id not in chosen or key < chosen[nct_id]:
            chosen[nct_id] = key
    return {nct_id: key[1] for nct_id, key in chosen.items()}


def add_registry_outcomes(
    con,
    frame: pd.DataFrame,
    facts: dict[str, TrialFacts],
    labels: pd.DataFrame,
    registry: RegistryChoice | None = None,
) -> pd.DataFrame:
    """Response and remission at about day 28 from the registry's per-arm results, for trials
    whose abstract gives no risk ratio for them (source 'registry'; events are percentage x n
    analysed rounded to a whole person, said in `notes`)."""
    if not warehouse.table_columns(con, "core.registry_outcomes"):
        return frame
    if registry is None:
        from pipeline.registry.crosscheck import registry_arm_counts  # it reads marts too

        counts = registry_arm_counts(con)
        publications = primary_publications(con, facts, labels)
    else:  # chosen over every linked trial: keep the rows of this chunk's articles
        counts = registry.counts
        in_chunk = set(labels["pmid"]) if len(labels) else set()
        publications = {n: p for n, p in registry.publications.items() if p in in_chunk}
    if counts.empty or not publications:
        return frame
    computed = set()
    if len(frame):
        done = frame[frame["yi"].notna() & frame["measure"].isin(["log_rr", "log_or"])]
        computed = set(zip(done["pmid"], done["outcome"], done["timepoint_window"], strict=True))
    lookup = labels.set_index("pmid") if len(labels) else None
    rows = []
    for r in counts.itertuples():
        pmid = publications.get(r.nct_id)
        if pmid is None or (pmid, r.outcome, "~day 28") in computed:
            continue
        trial = facts.get(pmid)
        comparison = f"{r.group_1_title} vs {r.group_2_title}"
        row = {
            "pmid": pmid,
            "study_label": lookup.at[pmid, "study_label"] if lookup is not None else pmid,
            "pub_year": lookup.at[pmid, "pub_year"] if lookup is not None else None,
            "design": trial.design if trial else None,
            "drug": r.drug, "route": r.route, "outcome": r.outcome, "outcome_label": None,
            "scale": "MADRS",
            "timepoint": f"day {r.timepoint_days:g} (registry)",
            "timepoint_days": float(r.timepoint_days),
            "timepoint_window": timepoint_window(r.timepoint_days),
            "comparison": comparison,
            "comparator_class": "placebo" if "placebo" in (r.comparator or "") else "active",
            "measure": "log_rr", "yi": r.yi, "vi": r.vi,
            "n_1": float(r.n_1), "n_2": float(r.n_2),
            "events_1": float(r.events_1), "events_2": float(r.events_2),
            "effect_ids": [], "notes": r.notes, "reason": None if r.yi is not None else r.notes,
            "source": "registry",
            "registry_source": (
                f"{r.nct_id} outcome {r.outcome_no} ({r.group_1} vs {r.group_2}): "
                f"{r.measure_title}"
            ),
        }  # fmt: skip
        row["outcome_id"] = hashlib.sha1(
            f"{pmid}|{r.outcome}|registry|{row['registry_source']}".encode()
        ).hexdigest()
        rows.append(row)
    if not rows:
        return frame
    added = pd.DataFrame(rows, columns=TRIAL_OUTCOME_COLUMNS)
    combined = pd.concat([frame, added], ignore_index=True) if len(frame) else added
    combined["pub_year"] = combined["pub_year"].astype("Int64")
    return combined


# --- pooling --------------------------------------------------------------------------------

POOL_KEYS = ["drug", "route", "comparator_class", "outcome", "timepoint_window", "measure", "scale"]


def poolable(outcomes: pd.DataFrame) -> pd.DataFrame:
    """The rows a pool may use: computed, from randomised trials, one row per PMID and pool.

    Where a multi-arm trial gives several comparisons in one pool (two doses against one
    placebo), only the first is kept, so its control arm is not counted twice.
    """
    usable = outcomes[
        outcomes["yi"].notna()
        & outcomes["vi"].notna()
        & outcomes["design"].isin(RANDOMISED_DESIGNS)
        & (outcomes["outcome"] != "other")
    ].copy()
    usable["scale"] = np.where(usable["measure"] == "md", usable["scale"], None)
    order = ["pmid", "comparison", "outcome", "timepoint_days", "measure", "outcome_id"]
    usable = usable.sort_values(order, kind="stable", na_position="last")
    keys = [*POOL_KEYS, "pmid"]
    return usable.drop_duplicates(subset=keys, keep="first").reset_index(drop=True)


def pooled_estimates(
    con_or_outcomes, method: str = "REML", hksj: bool = False, min_k: int = 1
) -> pd.DataFrame:
    """Random-effects pools by drug x route x comparator class x outcome x timepoint window x
    measure (RCTs only).

    Accepts a connection or a `trial_outcomes` frame. Ratio measures are on the log scale; the
    `*_exp` columns hold them back-transformed. MD is pooled within one scale only.
    """
    outcomes = (
        con_or_outcomes
        if isinstance(con_or_outcomes, pd.DataFrame)
        else trial_outcomes(con_or_outcomes)
    )
    usable = poolable(outcomes)
    rows = []
    for key, group in usable.groupby(POOL_KEYS, dropna=False, sort=True):
        if len(group) < min_k:
            continue
        fit = synthesis.random_effects(group["yi"], group["vi"], method=method, hksj=hksj)
        row = {
            **dict(zip(POOL_KEYS, key, strict=True)),
            "pmids": list(group["pmid"]),
            "outcome_ids": list(group["outcome_id"]),
            **fit.to_dict(),
        }
        rows.append(row)
    columns = [*POOL_KEYS, "pmids", "outcome_ids", *synthesis.PooledEstimate.__dataclass_fields__]
    table = pd.DataFrame(rows, columns=columns)
    for column in ("drug", "route", "scale"):
        table[column] = table[column].astype(object).where(table[column].notna(), None)
    ratio = table["measure"].isin(RATIO_MEASURES)
    for column in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        values = pd.to_numeric(table[column], errors="coerce").astype(float)
        table[column] = values
        table[f"{column}_exp"] = np.where(ratio, np.exp(values), np.nan)
    return table


def arm_rates(
    outcomes_effects: pd.DataFrame,
    facts: dict[str, TrialFacts],
    arms: dict[str, dict] | None = None,
) -> pd.DataFrame:
    """Each trial arm's response/remission/relapse rate with its n and Wilson 95% CI.

    `arm_role` says whether the rate belongs to a drug arm, a comparator arm, or an arm no arm
    id states ('not named'; `arm` is None, never pooled as a drug arm). The arm, its role and n
    and the timepoint in days come from the study structure (core.arms through the effect's
    arm_id, or a reviewer's correction naming an arm of the study, and timepoint_days); the
    arm words are never read. `arm_n` is the arm's n in core.arms as stated there.
    """
    # Imported here: statsmodels brings scipy.stats, which the ingest's refresh does not need.
    from statsmodels.stats.proportion import proportion_confint

    arms = Arms.of(arms)
    rows = []
    for effect in _records(outcomes_effects):
        if effect["kind"] not in RATE_KINDS or effect["value"] is None or pd.isna(effect["value"]):
            continue
        facts_row = facts.get(str(effect["pmid"]))
        record = arms.of_effect(effect)
        counts = _events_and_n(effect, record) if record is not None else None
        timepoint = _clean(effect.get("timepoint"))
        days = _clean(effect.get("timepoint_days"))
        days = float(days) if days is not None else timepoint_days(timepoint)
        role = ARM_ROLE_OF_ROLE[record["role"]] if record else "not named"
        row = {
            "effect_id": effect["effect_id"],
            "pmid": str(effect["pmid"]),
            "design": facts_row.design if facts_row else None,
            "drug": _joined(facts_row.drug) if facts_row else None,
            "route": _joined(facts_row.route) if facts_row else None,
            "outcome": RATE_KINDS[effect["kind"]],
            "arm": record["label"] if record else None,
            "arm_drug": _clean(record.get("drug")) if record else None,
            "arm_dose": _clean(record.get("dose_text")) if record else None,
            "arm_n": _arm_n(record),
            "arm_role": role,
            "arm_is_control": role == "comparator",
            "scale": _clean(effect.get("scale")),
            "timepoint": timepoint,
            "timepoint_days": days,
            "timepoint_window": timepoint_window(days),
            "rate": float(effect["value"]) / 100,
            "n": counts[1] if counts else np.nan,
            "events": counts[0] if counts else np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
        }
        if counts:
            low, high = proportion_confint(counts[0], counts[1], alpha=0.05, method="wilson")
            row.update(ci_low=float(low), ci_high=float(high))
        rows.append(row)
    return pd.DataFrame(rows)


def trial_arm_rates(con) -> pd.DataFrame:
    """Trial arms' rates (fraction 0-1) with n and Wilson CI where n is known, and study labels."""
    table = arm_rates(read_current_effects(con), read_trial_facts(con), arms_by_id(con))
    if table.empty:
        return table
    labels = study_labels(con).set_index("pmid")
    table["study_label"] = table["pmid"].map(labels["study_label"]).fillna(table["pmid"])
    return table


ARM_RATE_DESIGNS = ("rct", "crossover_rct", "open_label")


def pooled_arm_rates(arm_rates_frame: pd.DataFrame, method: str = "REML") -> pd.DataFrame:
    """Random-effects pooled rates of the drug arms (logit scale, back-transformed to 0-1).

    By drug x route x outcome x timepoint window, from trials (RCTs and open-label studies)
    whose arm n is known; control arms are not pooled. Columns: the keys, k, pmids, rate,
    ci_low, ci_high, pi_low, pi_high (fractions), tau2, i2, notes.
    """
    keys = ["drug", "route", "outcome", "timepoint_window"]
    columns = [*keys, "k", "pmids", "rate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2",
               "i2", "notes"]  # fmt: skip
    if arm_rates_frame.empty:
        return pd.DataFrame(columns=columns)
    arms = arm_rates_frame[
        (arm_rates_frame["arm_role"] == "drug")
        & arm_rates_frame["n"].notna()
        & arm_rates_frame["design"].isin(ARM_RATE_DESIGNS)
    ]
    arms = arms.drop_duplicates(subset=[*keys, "pmid"], keep="first")
    rows = []
    for key, group in arms.groupby(keys, dropna=False, sort=True):
        logits = [
            synthesis.logit_proportion(e, n)
            for e, n in zip(group["events"], group["n"], strict=True)
        ]
        fit = synthesis.random_effects(
            [x.yi for x in logits], [x.vi for x in logits], method=method
        )
        back = synthesis.inverse_logit
        notes = [*dict.fromkeys(n for x in logits for n in x.notes), *fit.notes]
        rows.append({
            **dict(zip(keys, key, strict=True)), "k": fit.k, "pmids": list(group["pmid"]),
            "rate": back(fit.estimate), "ci_low": back(fit.ci_low), "ci_high": back(fit.ci_high),
            "pi_low": back(fit.pi_low) if math.isfinite(fit.pi_low) else math.nan,
            "pi_high": back(fit.pi_high) if math.isfinite(fit.pi_high) else math.nan,
            "tau2": fit.tau2, "i2": fit.i2, "notes": "; ".join(notes),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def literature_overview(con) -> pd.DataFrame:
    """One row per article: label, year, journal, design, drug, route, population, N, links.

    Retracted articles are kept and flagged; `n_effects` counts the effects extracted from it.
    """
    articles = con.execute(
        """
        SELECT a.pmid, a.title, a.pub_year, coalesce(a.journal_iso, a.journal_title) AS journal,
            a.doi, a.is_retracted, a.has_erratum,
            coalesce(au.last_name, au.collective_name, a.journal_iso, a.journal_title,
                'PMID ' || a.pmid)
                || coalesce(' ' || CAST(a.pub_year AS VARCHAR), '') AS study_label
        FROM core.articles AS a
        LEFT JOIN core.authors AS au ON au.pmid = a.pmid AND au.position = 1
        ORDER BY a.pub_year, a.pmid
        """
    ).df()
    facts = read_trial_facts(con)
    counts = pd.Series(dtype=int)
    if warehouse.table_columns(con, "core.effects"):
        # Counted by DuckDB: reading every effect with its sentence to count them needed more
        # than the 128 MB cap at 100,000 articles ("failed to pin block").
        counts = pd.Series(
            dict(con.execute("SELECT pmid, count(*) FROM core.effects GROUP BY pmid").fetchall()),
            dtype=int,
        )

    def fact(pmid: str, name: str):
        row = facts.get(pmid)
        if row is None:
            return None
        value = getattr(row, name)
        return ", ".join(value) if isinstance(value, list) else value

    for name in ("design", "drug", "route", "comparator", "n_randomized"):
        articles[name] = [fact(p, name) for p in articles["pmid"]]
    populations = {}
    if "population" in warehouse.table_columns(con, "core.trial_facts"):
        for pmid, value in con.execute("SELECT pmid, population FROM core.trial_facts").fetchall():
            populations[str(pmid)] = ", ".join(str(x) for x in _as_list(value)) or None
    articles["population"] = articles["pmid"].map(populations)
    articles["n_effects"] = articles["pmid"].map(counts).fillna(0).astype(int)
    articles["pubmed_url"] = "https://pubmed.ncbi.nlm.nih.gov/" + articles["pmid"] + "/"
    articles["doi_url"] = np.where(
        articles["doi"].notna(), "https://doi.org/" + articles["doi"].fillna(""), None
    )
    return articles


# --- storing --------------------------------------------------------------------------------


POOLED_COLUMNS = [
    "drug", "route", "comparator_class", "outcome", "timepoint_window", "measure", "scale",
    "method", "hksj", "k",
    "pmids", "outcome_ids", "estimate", "se", "ci_low", "ci_high", "p", "tau2", "i2", "q",
    "q_p", "pi_low", "pi_high", "notes",
]  # fmt: skip
REFRESH_STATE_KEY = "trial_outcomes"


def refresh_after_ingest(con) -> str:
    """The post-ingest step: bring the marts tables up to date for the trials that changed."""
    refresh = refresh_touched(con)
    how = (
        "recomputed from scratch"
        if refresh.full
        else f"{refresh.n_touched:,} trials touched, {refresh.n_pools:,} pools re-fitted"
    )
    return (
        f"marts refreshed ({how}): {refresh.n_outcomes:,} trial-outcome rows, "
        f"{refresh.n_pooled:,} pooled estimates"
    )


@dataclass(frozen=True)
class MartsRefresh:
    """What a refresh did: whether from scratch, trials and pools recomputed, rows held after."""

    full: bool
    n_touched: int
    n_pools: int
    n_outcomes: int
    n_pooled: int


def touched_pmids(con, since) -> set[str]:
    """PMIDs whose marts rows may be out of date: articles loaded, trial facts extracted or effects
    corrected by a reviewer at or after `since`, trials whose facts are gone, and every trial
    linked to the registry (the registry rows are always recomputed, and they read those trials'
    rows)."""
    rows = con.execute(
        "SELECT pmid FROM core.articles WHERE loaded_at >= ? "
        "UNION SELECT pmid FROM core.trial_facts WHERE extracted_at >= ? "
        "UNION SELECT pmid FROM core.effect_corrections WHERE corrected_at >= ? "
        "UNION (SELECT pmid FROM marts.trial_outcomes WHERE source = 'abstract' "
        "       EXCEPT SELECT pmid FROM core.trial_facts)",
        [since, since, since],
    ).fetchall()
    touched = {r[0] for r in rows}
    if warehouse.table_columns(con, "core.registry_links"):
        linked = con.execute("SELECT DISTINCT pmid FROM core.registry_links").fetchall()
        touched |= {r[0] for r in linked}
    return touched


def refresh_touched(con, method: str = "REML", hksj: bool = False) -> MartsRefresh:
    """Recompute the marts rows of the trials touched since the last refresh, and the pools they
    fall in, in one transaction; from scratch when the marts were never refreshed."""
    state = con.execute(
        "SELECT refreshed_through FROM marts.refresh_state WHERE mart = ?", [REFRESH_STATE_KEY]
    ).fetchone()
    if state is None:
        return _refresh(con, None, method, hksj)
    return _refresh(con, touched_pmids(con, state[0]), method, hksj)


def refresh_trial_outcomes(con, method: str = "REML", hksj: bool = False) -> tuple[int, int]:
    """Recompute marts.trial_outcomes and marts.pooled_estimates from scratch, in one transaction.

    Returns (trial-outcome rows, pooled rows). On any error the tables are left as they were.
    """
    refresh = _refresh(con, None, method, hksj)
    return refresh.n_outcomes, refresh.n_pooled


def _pool_keys(outcomes: pd.DataFrame) -> set[tuple]:
    """The pool keys (drug, route, ... scale) the poolable rows of `outcomes` fall in."""
    usable = poolable(outcomes) if len(outcomes) else outcomes
    if usable.empty:
        return set()
    keys = usable[POOL_KEYS].astype(object)
    keys = keys.where(keys.notna(), None)
    return set(keys.itertuples(index=False, name=None))


def _stored_outcomes(con, pmids: set[str] | None = None) -> pd.DataFrame:
    """marts.trial_outcomes as stored (all, or the rows of `pmids` and the registry rows)."""
    where = ""
    if pmids is not None:
        where = "WHERE pmid IN (SELECT pmid FROM touched) OR source = 'registry'"
    touched = pd.DataFrame({"pmid": pd.Series(sorted(pmids or ()), dtype=object)})  # noqa: F841
    return con.execute(
        f"SELECT {', '.join(TRIAL_OUTCOME_COLUMNS)} FROM marts.trial_outcomes {where}"
    ).df()


def _stored_outcomes_in_pools(con, keys: set[tuple]) -> pd.DataFrame:
    """The stored marts.trial_outcomes rows that may fall in the pools `keys` (the rows whose
    keys other than scale match: `poolable` sets scale itself), so re-fitting a few pools reads
    their rows, not the whole table."""
    if not keys:
        return _stored_outcomes(con, set()).iloc[0:0]
    key_frame = pd.DataFrame(list(keys), columns=POOL_KEYS, dtype=object)  # noqa: F841
    same = " AND ".join(f"o.{k} IS NOT DISTINCT FROM k.{k}" for k in POOL_KEYS if k != "scale")
    return con.execute(
        f"SELECT {', '.join(f'o.{c}' for c in TRIAL_OUTCOME_COLUMNS)} FROM marts.trial_outcomes "
        f"AS o WHERE EXISTS (SELECT 1 FROM key_frame AS k WHERE {same})"
    ).df()


REFRESH_CHUNK_PMIDS = 1_000  # trials whose rows are computed and written at a time


def _registry_linked(con) -> set[str]:
    if not warehouse.table_columns(con, "core.registry_links"):
        return set()
    return {r[0] for r in con.execute("SELECT DISTINCT pmid FROM core.registry_links").fetchall()}


def _pmid_chunks(con, touched: set[str] | None) -> Iterator[list[str]]:
    """The trials to recompute (every trial linked to the registry among them, since registry
    rows are always recomputed), REFRESH_CHUNK_PMIDS at a time, so memory does not grow with
    the warehouse."""
    if touched is None:
        touched = {
            r[0]
            for r in con.execute(
                "SELECT pmid FROM core.trial_facts UNION SELECT pmid FROM core.effects"
            ).fetchall()
        }
    every = sorted(touched | _registry_linked(con))
    for start in range(0, len(every), REFRESH_CHUNK_PMIDS):
        yield every[start : start + REFRESH_CHUNK_PMIDS]


def _stored_poolable(con, table: str = "marts.trial_outcomes") -> pd.DataFrame:
    """The stored trial-outcome rows (of `table`) `poolable` can use (computed, randomised, not
    'other'), with the columns pooling reads: what a refresh from scratch pools, read back
    instead of held while computing."""
    designs = ", ".join(f"'{d}'" for d in sorted(RANDOMISED_DESIGNS))
    columns = dict.fromkeys(
        [*POOL_KEYS, "pmid", "comparison", "timepoint_days", "outcome_id", "design", "yi", "vi"]
    )
    return con.execute(
        f"SELECT {', '.join(columns)} FROM {table} "
        f"WHERE yi IS NOT NULL AND vi IS NOT NULL AND NOT isnan(yi) AND NOT isnan(vi) "
        f"AND design IN ({designs}) AND outcome <> 'other'"
    ).df()


def _refresh(con, touched: set[str] | None, method: str, hksj: bool) -> MartsRefresh:
    """From scratch (`touched` None, or every trial touched) or for the `touched` trials and
    their pools in one transaction; trial rows are computed and written a chunk of trials at a
    time."""
    if touched is None or _touches_every_trial(con, touched):
        return _refresh_from_scratch(con, method, hksj)
    started = warehouse.now()
    at = warehouse.now()
    touched_frame = pd.DataFrame({"pmid": pd.Series(sorted(touched), dtype=object)})  # noqa: F841
    with warehouse.transaction(con):
        keys = _pool_keys(_stored_outcomes(con, touched))
        con.execute(
            "DELETE FROM marts.trial_outcomes WHERE source = 'registry' "
            "OR pmid IN (SELECT pmid FROM touched_frame)"
        )
        registry = RegistryChoice.of(con)
        for chunk in _pmid_chunks(con, touched):
            outcomes = trial_outcomes(con, chunk, registry)
            if len(outcomes):
                keys |= _pool_keys(outcomes)
                _insert_outcomes(con, "marts.trial_outcomes", outcomes, at)
            del outcomes
        stored = _stored_outcomes_in_pools(con, keys)
        usable = poolable(stored) if len(stored) else stored
        if len(usable):
            in_keys = [k in keys for k in _key_tuples(usable)]
            usable = usable[in_keys]
        pooled = pooled_estimates(usable, method=method, hksj=hksj)
        if keys:
            key_frame = pd.DataFrame(list(keys), columns=POOL_KEYS, dtype=object)  # noqa: F841
            same = " AND ".join(f"p.{k} IS NOT DISTINCT FROM k.{k}" for k in POOL_KEYS)
            con.execute(
                "DELETE FROM marts.pooled_estimates AS p WHERE EXISTS "
                f"(SELECT 1 FROM key_frame AS k WHERE {same})"
            )
        n_outcomes, n_pooled = _write_pooled_and_state(
            con, pooled, at, started, full=False, n_trials=len(touched)
        )
    log.debug("marts refreshed: %d trial outcomes, %d pooled estimates", n_outcomes, n_pooled)
    return MartsRefresh(False, len(touched), len(keys), n_outcomes, n_pooled)


# A refresh from scratch writes here first, a chunk of trials per commit, and swaps it in.
STAGING_TABLE = "marts.trial_outcomes_next"


def _refresh_from_scratch(con, method: str, hksj: bool) -> MartsRefresh:
    """Every trial's rows, written a chunk per commit to a staging table that one transaction
    then swaps in with the new pools: the warehouse holds one chunk's changes at a time, not
    the whole table twice (at 100,000 articles, 700,006 rows, one transaction for all of them
    was the refresh's peak). On any error the staging table is dropped and the marts are left
    as they were."""
    started = warehouse.now()
    at = warehouse.now()
    _drop_staging_table(con)  # left by a run that was killed
    con.execute(_staging_table_ddl(con))
    try:
        n_trials = 0
        registry = RegistryChoice.of(con)
        for chunk in _pmid_chunks(con, None):
            outcomes = trial_outcomes(con, chunk, registry)
            if len(outcomes):
                n_trials += outcomes["pmid"].nunique()
                _insert_outcomes(con, STAGING_TABLE, outcomes, at)
            del outcomes
        pooled = pooled_estimates(_stored_poolable(con, STAGING_TABLE), method=method, hksj=hksj)
        with warehouse.transaction(con):
            con.execute("DROP TABLE marts.trial_outcomes")
            con.execute(f"ALTER TABLE {STAGING_TABLE} RENAME TO trial_outcomes")
            con.execute("DELETE FROM marts.pooled_estimates")
            n_outcomes, n_pooled = _write_pooled_and_state(
                con, pooled, at, started, full=True, n_trials=n_trials
            )
    except BaseException:
        # The error that stopped the refresh is the one to raise: a connection DuckDB has
        # invalidated cannot drop the table, and the next refresh drops it instead.
        with contextlib.suppress(Exception):
            _drop_staging_table(con)
        raise
    log.debug("marts refreshed: %d trial outcomes, %d pooled estimates", n_outcomes, n_pooled)
    return MartsRefresh(True, 0, len(pooled), n_outcomes, n_pooled)


def _drop_staging_table(con) -> None:
    """Drop the staging table of a refresh from scratch, if there is one."""
    con.execute(f"DROP TABLE IF EXISTS {STAGING_TABLE}")


def _touches_every_trial(con, touched: set[str]) -> bool:
    """Whether `touched` holds every trial with facts or effects (after a new extractor
    version, say): such a refresh is one from scratch."""
    every = {
        r[0]
        for r in con.execute(
            "SELECT pmid FROM core.trial_facts UNION SELECT pmid FROM core.effects"
        ).fetchall()
    }
    return bool(every) and every <= touched


def _staging_table_ddl(con) -> str:
    """CREATE TABLE for the staging table: marts.trial_outcomes's own statement, renamed, so
    the table swapped in has the same columns and constraints."""
    sql = con.execute(
        "SELECT sql FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'marts' AND table_name = 'trial_outcomes'"
    ).fetchone()[0]
    prefix = "CREATE TABLE marts.trial_outcomes("
    if not sql.startswith(prefix):
        raise PipelineError(f"marts.trial_outcomes: unexpected table statement {sql[:80]!r}")
    return f"CREATE TABLE {STAGING_TABLE}(" + sql[len(prefix) :]


def _insert_outcomes(con, table: str, outcomes: pd.DataFrame, at) -> None:
    """Write one chunk's trial-outcome rows to `table`, after checking their outcome ids."""
    _check_outcome_ids_unique(outcomes)
    outcome_frame = outcomes[TRIAL_OUTCOME_COLUMNS].assign(refreshed_at=at)  # noqa: F841
    con.execute(
        f"INSERT INTO {table} ({', '.join(TRIAL_OUTCOME_COLUMNS)}, refreshed_at) "
        "SELECT * FROM outcome_frame"
    )


def _write_pooled_and_state(
    con, pooled: pd.DataFrame, at, started, *, full: bool, n_trials: int
) -> tuple[int, int]:
    """Insert the new pools and the refresh's state (inside the caller's transaction); returns
    (trial-outcome rows, pooled rows) as stored."""
    pooled_frame = pooled.reindex(columns=POOLED_COLUMNS).assign(refreshed_at=at)  # noqa: F841
    if len(pooled):
        con.execute(
            f"INSERT INTO marts.pooled_estimates ({', '.join(POOLED_COLUMNS)}, refreshed_at) "
            "SELECT * FROM pooled_frame"
        )
    con.execute(
        "INSERT OR REPLACE INTO marts.refresh_state VALUES (?, ?, "
        "coalesce(CASE WHEN ? THEN NULL ELSE (SELECT full_refresh_at FROM marts.refresh_state "
        "WHERE mart = ?) END, ?), ?)",
        [REFRESH_STATE_KEY, started, full, REFRESH_STATE_KEY, started, n_trials],
    )
    return con.execute(
        "SELECT (SELECT count(*) FROM marts.trial_outcomes), "
        "(SELECT count(*) FROM marts.pooled_estimates)"
    ).fetchone()


def _check_outcome_ids_unique(outcomes: pd.DataFrame) -> None:
    """Raise PipelineError when a chunk's rows repeat an outcome id. The table keeps no key
    index (migration 052); checking each chunk is enough, since an outcome id hashes its PMID,
    each PMID is in one chunk only, and every row of a refreshed PMID is written anew. Checked
    here in the frame, not in DuckDB, whose cache the refresh's transaction already fills."""
    repeated = outcomes[outcomes["outcome_id"].duplicated(keep=False)]
    if len(repeated):
        first = repeated.drop_duplicates("outcome_id").head(5)
        counts = repeated["outcome_id"].value_counts()
        listed = "; ".join(
            f"{oid} (PMID {pmid}, {counts[oid]} rows)"
            for oid, pmid in zip(first["outcome_id"], first["pmid"], strict=True)
        )
        raise PipelineError(f"marts.trial_outcomes: outcome ids written twice: {listed}")


def _key_tuples(usable: pd.DataFrame) -> list[tuple]:
    keys = usable[POOL_KEYS].astype(object)
    return list(keys.where(keys.notna(), None).itertuples(index=False, name=None))


def effect_ids_covered(outcomes: pd.DataFrame) -> set[str]:
    """Every core.effects id some trial-outcome row refers to."""
    ids: Iterable[list[str]] = outcomes["effect_ids"]
    return {effect_id for group in ids for effect_id in group}
