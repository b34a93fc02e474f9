"""Abstract effects x registry results: per-arm counts, and a cross-check of every number.

`registry_arm_counts(con)`: for each registry study, response and remission (MADRS) at about
day 28, each drug group against each comparator group, with the number analysed and the
events derived as percentage x n analysed, rounded to a whole person (the registry posts
percentages, not counts; the rounding is said in `notes`), and the log risk ratio.

`crosscheck(con)`: each abstract effect of an article linked to a stored registry study is set
beside the registry's counterpart (same trial, outcome family, timepoint window and arms):
`agrees` when value and CI agree at the precision both print, `differs` otherwise, and
`no_counterpart` when the registry posts nothing comparable. A difference is flagged for the
reviewer, never corrected. `refresh_crosscheck(con)` stores it in marts.registry_crosscheck.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import pandas as pd
from tqdm import tqdm

from pipeline import marts, synthesis, vocab, warehouse
from pipeline.marts import timepoint_days, timepoint_window

log = logging.getLogger(__name__)

RATE_OUTCOMES = {kind: vocab.RATE_OUTCOME[kind] for kind in ("response_rate", "remission_rate")}
RATIO_PARAM_WORDS = {
    "risk_ratio": "risk ratio",
    "odds_ratio": "odds ratio",
    "hazard_ratio": "hazard",
}
# Measures that are not the depression response/remission or scale change an abstract reports.
OTHER_MEASURE_WORDS = ("onset", "sustained", "sheehan", "sds", "phq", "gad", "eq-5d", "eq 5d",
                       "euroqol", "cgi", "relapse", "severity of psychopathology")  # fmt: skip
SCALES = (("MADRS", ("madrs", "montgomery")), ("PHQ-9", ("phq",)), ("SDS", ("sheehan", "sds")))
NUMBER_TOKEN = re.compile(r"[-+]?\s?\d+(?:\.\d+)?")
DOSE_MG = re.compile(r"(\d+(?:\.\d+)?)\s*-?\s*(?:mg|milligrams?)\b", re.IGNORECASE)
STATUSES = ("agrees", "differs", "no_counterpart")

CROSSCHECK_COLUMNS = [
    "effect_id", "pmid", "kind", "nct_id", "weak_link", "status", "abstract_value",
    "registry_value_text", "registry_ci_text", "registry_source", "n_candidates", "detail",
]  # fmt: skip


# --- reading the registry tables ----------------------------------------------------------------


def measure_family(title: str, description: str | None, param_type: str | None,
                   unit: str | None) -> tuple[str | None, str | None]:  # fmt: skip
    """(outcome family, scale) of a posted measure: ('response', 'MADRS'), ('scale_change',
    'MADRS'), ... or (None, None) for what an abstract effect is never compared with."""
    low = title.lower()
    words = f"{low} {(description or '').lower()}"
    scale = next((name for name, needles in SCALES if any(n in low for n in needles)), None)
    if scale is None and "madrs" in words:
        scale = "MADRS"
    if param_type == "NUMBER" and "percent" in (unit or "").lower():
        if any(w in low for w in OTHER_MEASURE_WORDS):
            return None, None
        if "remission" in low:
            return "remission", scale
        if "respon" in low or "50%" in low:
            return "response", scale
        return None, None
    if param_type == "MEAN" and "change" in low and scale is not None:
        return "scale_change", scale
    return None, None


def registry_days(title: str, class_title: str | None, time_frame: str | None) -> float | None:
    """Days after the start of treatment a posted value refers to: the class title ("Day 8"),
    else "24 hours" or the last "Day N" of the title, else the time frame."""
    if class_title:
        days = timepoint_days(class_title)
        if days is not None:
            return days
    if re.search(r"\b24 hours\b", title, re.IGNORECASE):
        return 1.0
    days = [float(d) for d in re.findall(r"\bday (\d+)", title, re.IGNORECASE)]
    if days:
        return max(days)
    return timepoint_days(time_frame)


def _dose(text: str | None) -> float | None:
    match = DOSE_MG.search(text or "")
    return float(match[1]) if match else None


def registry_values(con) -> pd.DataFrame:
    """core.registry_outcomes with each row's family, scale, window and group role and dose."""
    frame = con.execute(
        """
        SELECT o.*, g.role, g.dose, g.drugs, g.routes, g.comparator
        FROM core.registry_outcomes o
        LEFT JOIN core.registry_groups g USING (nct_id, outcome_no, group_id)
        ORDER BY nct_id, outcome_no, class_no, category_no, group_id
        """
    ).df()
    return _annotate(frame)


def _none_for_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns with None (not NaN) where nothing was posted."""
    for column in frame.columns:
        if pd.api.types.is_string_dtype(frame[column]) or frame[column].dtype == object:
            values = frame[column].astype(object)
            frame[column] = values.where(values.notna(), None)
    return frame


def _annotate(frame: pd.DataFrame) -> pd.DataFrame:
    frame = _none_for_missing(frame)
    families = [
        measure_family(r.title, r.description, r.param_type, r.unit)
        for r in frame.itertuples()
    ]  # fmt: skip
    frame["family"] = [f for f, _ in families]
    frame["scale"] = [s for _, s in families]
    frame["days"] = [
        registry_days(r.title, r.class_title, r.time_frame) for r in frame.itertuples()
    ]
    frame["window"] = [timepoint_window(d) for d in frame["days"]]
    frame["dose_mg"] = [
        _dose(d) if isinstance(d, str) else (_dose(t) if role == "drug" else None)
        for d, t, role in zip(frame["dose"], frame["group_title"], frame["role"], strict=True)
    ]
    return frame


def registry_analyses(con) -> pd.DataFrame:
    """core.registry_analyses beside their measure's family, scale and window."""
    frame = con.execute(
        """
        SELECT a.*, m.title, m.description, m.param_type AS measure_param_type, m.unit,
               m.time_frame
        FROM core.registry_analyses a
        JOIN (SELECT DISTINCT nct_id, outcome_no, title, description, param_type, unit,
                     time_frame FROM core.registry_outcomes) m USING (nct_id, outcome_no)
        ORDER BY nct_id, outcome_no, analysis_no
        """
    ).df()
    frame = _none_for_missing(frame)
    families = [
        measure_family(r.title, r.description, r.measure_param_type, r.unit)
        for r in frame.itertuples()
    ]
    frame["family"] = [f for f, _ in families]
    frame["scale"] = [s for _, s in families]
    frame["window"] = [
        timepoint_window(registry_days(r.title, None, r.time_frame)) for r in frame.itertuples()
    ]
    return frame


def _groups(con) -> dict[tuple[str, int], dict[str, dict]]:
    rows = con.execute(
        "SELECT nct_id, outcome_no, group_id, title, role, dose FROM core.registry_groups"
    ).fetchall()
    groups: dict[tuple[str, int], dict[str, dict]] = {}
    for nct_id, outcome_no, group_id, title, role, dose in rows:
        dose_mg = _dose(dose) if dose else (_dose(title) if role == "drug" else None)
        groups.setdefault((nct_id, outcome_no), {})[group_id] = {
            "title": title, "role": role, "dose_mg": dose_mg,
        }  # fmt: skip
    return groups


# --- per-arm counts -----------------------------------------------------------------------------


def registry_arm_counts(con) -> pd.DataFrame:
    """Response and remission at about day 28 per registry study: each drug group against each
    comparator group, events = percentage x n analysed rounded to a whole person, log RR."""
    values = registry_values(con)
    wanted = values[
        values["family"].isin(["response", "remission"])
        & (values["window"] == "~day 28")
        & (values["scale"] == "MADRS")
        & values["value"].notna()
        & values["n_analyzed"].notna()
    ]
    rows = []
    for (nct_id, family), measures in wanted.groupby(["nct_id", "family"], sort=True):
        # Several measures (observed and LOCF, or by day): the one nearest day 28, then the one
        # analysing the most people (the full analysis set), then the first posted.
        sizes = measures.groupby(["outcome_no", "class_no"]).agg(
            n=("n_analyzed", "sum"), days=("days", "first")
        )
        ranked = sorted(sizes.itertuples(), key=lambda r: (abs(r.days - 28), -r.n, r.Index))
        outcome_no, class_no = ranked[0].Index
        chosen = measures[
            (measures["outcome_no"] == outcome_no) & (measures["class_no"] == class_no)
        ]
        drugs = chosen[chosen["role"] == "drug"]
        controls = chosen[chosen["role"] == "comparator"]
        for d in drugs.itertuples():
            for c in controls.itertuples():
                events_1 = _whole_people(d.value, d.n_analyzed)
                events_2 = _whole_people(c.value, c.n_analyzed)
                note = (
                    f"events = percentage x n analysed, rounded to a whole person "
                    f"({d.value_text}% of {d.n_analyzed} -> {events_1}; "
                    f"{c.value_text}% of {c.n_analyzed} -> {events_2})"
                )
                try:
                    effect = synthesis.log_risk_ratio(
                        events_1, d.n_analyzed, events_2, c.n_analyzed
                    )
                    yi, vi, notes = effect.yi, effect.vi, "; ".join((note, *effect.notes))
                except synthesis.EffectSizeError as error:
                    yi, vi, notes = None, None, f"{note}; {error}"
                rows.append(
                    {
                        "nct_id": nct_id, "outcome": family, "outcome_no": int(outcome_no),
                        "class_no": int(class_no), "measure_title": d.title,
                        "class_title": d.class_title, "timepoint_days": d.days,
                        "group_1": d.group_id, "group_1_title": d.group_title,
                        "group_2": c.group_id, "group_2_title": c.group_title,
                        "drug": _joined(d.drugs), "route": _joined(d.routes),
                        "comparator": _joined(c.comparator),
                        "percent_1": d.value_text, "n_1": int(d.n_analyzed), "events_1": events_1,
                        "percent_2": c.value_text, "n_2": int(c.n_analyzed), "events_2": events_2,
                        "yi": yi, "vi": vi, "notes": notes,
                    }
                )  # fmt: skip
    return pd.DataFrame(rows)


def _whole_people(percent: float, n: int) -> int:
    """percent x n / 100 rounded half up to a whole person."""
    exact = Decimal(str(percent)) * Decimal(int(n)) / Decimal(100)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _joined(values) -> str | None:
    if values is None or (isinstance(values, float) and math.isnan(values)):
        return None
    values = [str(v) for v in values]
    return "+".join(values) if values else None


# --- agreement at the printed precision ---------------------------------------------------------


def _decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def printed(value: float, quote: str | None) -> str:
    """The value as the abstract prints it: the first number in the quote equal to it (sign
    aside, "- 15.2" read as -15.2), else its shortest form."""
    for token in NUMBER_TOKEN.findall((quote or "").replace("\u2212", "-")):
        text = token.replace(" ", "").lstrip("+")
        try:
            if abs(float(text)) == abs(value):
                return f"-{text.lstrip('-')}" if value < 0 else text.lstrip("-")
        except ValueError:
            continue
    return repr(float(value)).removesuffix(".0") if float(value).is_integer() else repr(value)


def agree(abstract_text: str, registry_text: str) -> bool:
    """Whether two printed numbers agree at the coarser of their two precisions (half up)."""
    try:
        a, r = Decimal(abstract_text), Decimal(registry_text.strip())
    except InvalidOperation:
        return False
    step = Decimal(1).scaleb(-min(_decimals(abstract_text), _decimals(registry_text.strip())))
    return a.quantize(step, ROUND_HALF_UP) == r.quantize(step, ROUND_HALF_UP)


# --- matching -----------------------------------------------------------------------------------


@dataclass
class Arms:
    """What an abstract effect says about its arms: one arm, or a drug arm vs a comparator."""

    drug_dose: float | None
    single_role: str | None  # for one-arm effects: 'drug' | 'comparator'
    comparison: bool


def effect_arms(effect: dict, structure: marts.Arms) -> Arms | None:
    """What an effect's arms are, from the study structure (core.arms through its `arm_id` and
    `comparator_arm_id`, or a reviewer's correction naming an arm); None when no arm id says.
    A ketamine-form arm is the drug side; its dose counts only in mg, as the registry posts."""
    arm, comparator = structure.of_effect(effect), structure.of_effect(effect, "comparator")
    if arm is None:
        return None
    if comparator is not None:
        drug_side = next((a for a in (arm, comparator) if _is_drug(a)), None)
        return Arms(_dose_mg(drug_side) if drug_side else None, None, True)
    if _is_drug(arm):
        return Arms(_dose_mg(arm), "drug", False)
    return Arms(None, "comparator", False)


def _is_drug(arm: dict) -> bool:
    return arm.get("drug") in vocab.DRUG_CODES


def _dose_mg(arm: dict) -> float | None:
    dose = arm.get("dose")
    if arm.get("dose_unit") != "mg" or dose is None or pd.isna(dose):
        return None
    return float(dose)


def _group_fits(group: dict, role: str, dose: float | None) -> bool:
    if group.get("role") != role:
        return False
    return dose is None or group.get("dose_mg") == dose


def _window_fits(effect_window: str, registry_window: str) -> bool:
    return effect_window == "unspecified" or effect_window == registry_window


def _scale_fits(effect_scale: str | None, registry_scale: str | None) -> bool:
    return effect_scale is None or (registry_scale or "").lower() == effect_scale.lower()


def _candidates(effect: dict, arms: Arms | None, values: list, analyses: list,
                groups: dict) -> list[dict]:  # fmt: skip
    """Registry numbers comparable with one abstract effect, each as {value, ci, source};
    `values` and `analyses` are one study's rows (named tuples of the two frames)."""
    kind = effect["kind"]
    window = timepoint_window(timepoint_days(effect.get("timepoint")))
    found = []
    if kind in ("mean_difference", *RATIO_PARAM_WORDS):
        if arms is not None and not arms.comparison:
            return []
        for a in analyses:
            param = (a.param_type or "").lower()
            if kind == "mean_difference":
                if a.family != "scale_change" or "mean" not in param:
                    continue
                if not _scale_fits(effect.get("scale"), a.scale):
                    continue
            elif RATIO_PARAM_WORDS[kind] not in param:
                continue
            if not _window_fits(window, a.window):
                continue
            by_id = groups.get((a.nct_id, a.outcome_no), {})
            group_ids, implied = list(a.group_ids), ""
            if len(group_ids) == 1 and len(by_id) == 2:
                # Posted with one group id: the measure's other group is its comparator.
                group_ids += [g for g in by_id if g != group_ids[0]]
                implied = f"; the analysis lists only {a.group_ids[0]}, the other group implied"
            if len(group_ids) != 2:
                continue
            pair = [by_id.get(g, {}) for g in group_ids]
            dose = arms.drug_dose if arms else None
            drug = [g for g in pair if _group_fits(g, "drug", dose)]
            control = [g for g in pair if _group_fits(g, "comparator", None)]
            if len(drug) != 1 or len(control) != 1 or a.param_value_text is None:
                continue
            found.append(
                {
                    "value": a.param_value_text,
                    "ci": (a.ci_lower_text, a.ci_upper_text, a.ci_level),
                    "source": (
                        f"{a.nct_id} outcome {a.outcome_no} analysis {a.analysis_no} "
                        f"({' vs '.join(group_ids)}): {a.title}{implied}"
                    ),
                }
            )
    elif kind in ("mean_change", *RATE_OUTCOMES):
        if arms is None or arms.comparison:
            return []
        family = RATE_OUTCOMES.get(kind, "scale_change")
        for v in values:
            if v.family != family or not _window_fits(window, v.window) or v.value_text is None:
                continue
            if family == "scale_change" and not _scale_fits(effect.get("scale"), v.scale):
                continue
            group = {"role": v.role, "dose_mg": v.dose_mg}
            if not _group_fits(group, arms.single_role, arms.drug_dose):
                continue
            found.append(
                {
                    "value": v.value_text,
                    "ci": (None, None, None),
                    "source": (
                        f"{v.nct_id} outcome {v.outcome_no}"
                        + (f" ({v.class_title})" if v.class_title else "")
                        + f" {v.group_id} {v.group_title}: {v.title}"
                    ),
                }
            )
    return found


def _compare(effect: dict, candidate: dict) -> tuple[bool, str]:
    value_text = printed(float(effect["value"]), effect.get("quote"))
    ok = agree(value_text, candidate["value"])
    parts = [f"value {value_text} vs {candidate['value']}"]
    low, high, _ = candidate["ci"]
    e_low, e_high = effect.get("ci_low"), effect.get("ci_high")
    if _present(e_low) and _present(e_high) and low is not None and high is not None:
        low_text = printed(float(e_low), effect.get("quote"))
        high_text = printed(float(e_high), effect.get("quote"))
        ok = ok and agree(low_text, low) and agree(high_text, high)
        parts.append(f"CI {low_text} to {high_text} vs {low} to {high}")
    return ok, "; ".join(parts)


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


@dataclass
class RegistryRows:
    """The registry side of the comparison, read once: each study's values and analyses (named
    tuples of `registry_values` and `registry_analyses`) and the groups of each measure."""

    values_of: dict[str, list]
    analyses_of: dict[str, list]
    groups: dict[tuple[str, int], dict[str, dict]]

    @classmethod
    def of(cls, con) -> RegistryRows:
        # Each study's values and analyses, split once (not filtered again for every effect).
        values_of: dict[str, list] = {}
        for row in registry_values(con).itertuples():
            values_of.setdefault(row.nct_id, []).append(row)
        analyses_of: dict[str, list] = {}
        for row in registry_analyses(con).itertuples():
            analyses_of.setdefault(row.nct_id, []).append(row)
        return cls(values_of, analyses_of, _groups(con))


def _studies_of(con, pmids: list[str]) -> dict[str, list[tuple[str, bool]]]:
    """PMID -> the stored registry studies it links to, each with whether the link is weak
    (for `pmids` only)."""
    only_pmids = pd.DataFrame({"pmid": pd.Series(pmids, dtype=object)})  # noqa: F841
    links = con.execute(
        """
        SELECT l.pmid, l.nct_id, bool_and(l.weak) AS weak
        FROM core.registry_links l JOIN core.registry_studies s USING (nct_id)
        WHERE l.pmid IN (SELECT pmid FROM only_pmids)
        GROUP BY l.pmid, l.nct_id ORDER BY l.pmid, l.nct_id
        """
    ).fetchall()
    studies_of: dict[str, list[tuple[str, bool]]] = {}
    for pmid, nct_id, weak in links:
        studies_of.setdefault(pmid, []).append((nct_id, bool(weak)))
    return studies_of


def crosscheck(
    con, effects: pd.DataFrame | None = None, registry: RegistryRows | None = None
) -> pd.DataFrame:
    """One row per abstract effect: status, the registry numbers it was compared with, where.

    `registry` is the registry side when already read (a refresh reads it once for all its
    chunks of articles)."""
    from pipeline.extract.store import read_effects

    if effects is None:
        effects = read_effects(con)
    effects = _none_for_missing(effects.copy())
    studies_of = _studies_of(con, sorted({str(p) for p in effects["pmid"]}))
    registry = registry or RegistryRows.of(con)
    values_of, analyses_of, groups = registry.values_of, registry.analyses_of, registry.groups
    structure = marts.Arms.of(marts.arms_of_effects(con, effects))
    rows = []
    for effect in effects.to_dict("records"):
        pmid = str(effect["pmid"])
        base = {
            "effect_id": effect["effect_id"], "pmid": pmid, "kind": effect["kind"],
            "nct_id": None, "weak_link": None, "status": "no_counterpart",
            "abstract_value": effect["value"], "registry_value_text": None,
            "registry_ci_text": None, "registry_source": None, "n_candidates": 0,
        }  # fmt: skip
        linked = studies_of.get(pmid, [])
        if not linked:
            rows.append({**base, "detail": "no registry study linked to this article"})
            continue
        arms = effect_arms(effect, structure)
        candidates = []
        for nct_id, weak in linked:
            for c in _candidates(
                effect, arms, values_of.get(nct_id, []), analyses_of.get(nct_id, []), groups,
            ):  # fmt: skip
                candidates.append((nct_id, weak, c))
        nct_ids = ", ".join(n for n, _ in linked)
        weak_link = all(w for _, w in linked)
        if not candidates:
            rows.append(
                {**base, "nct_id": nct_ids, "weak_link": weak_link,
                 "detail": "the registry posts no value for this outcome, timepoint and arms"}
            )  # fmt: skip
            continue
        compared = [(nct_id, weak, c, *_compare(effect, c)) for nct_id, weak, c in candidates]
        agreeing = [x for x in compared if x[3]]
        nct_id, weak, chosen, ok, how = (agreeing or compared)[0]
        low, high, level = chosen["ci"]
        others = "" if len(compared) == 1 else f" ({len(compared)} registry values compared)"
        rows.append(
            {
                **base,
                "nct_id": nct_id,
                "weak_link": weak,
                "status": "agrees" if agreeing else "differs",
                "registry_value_text": chosen["value"],
                "registry_ci_text": (
                    f"{low} to {high}" + (f" ({level:g}% CI)" if _present(level) else "")
                    if low is not None else None
                ),
                "registry_source": chosen["source"],
                "n_candidates": len(compared),
                "detail": (
                    ("agrees: " if agreeing else "differs: ") + how + others
                    + ("; the link to the registry is only the abstract text" if weak else "")
                ),
            }
        )  # fmt: skip
    return pd.DataFrame(rows, columns=CROSSCHECK_COLUMNS)


def _refresh_chunk(con, pmids: list[str], linked: list[str], registry: RegistryRows, at) -> None:
    """Replace the marts.registry_crosscheck rows of `pmids` (`linked` among them compared in
    Python, the others 'no_counterpart'), in one transaction."""
    from pipeline.extract.store import read_effects

    frame = (  # noqa: F841
        crosscheck(con, read_effects(con, linked), registry)
        if linked
        else pd.DataFrame(columns=CROSSCHECK_COLUMNS)
    ).assign(checked_at=at)
    chunk_frame = pd.DataFrame({"pmid": pd.Series(pmids, dtype=object)})  # noqa: F841
    linked_frame = pd.DataFrame({"pmid": pd.Series(linked, dtype=object)})  # noqa: F841
    columns = ", ".join(CROSSCHECK_COLUMNS)
    with warehouse.transaction(con):
        con.execute(
            "DELETE FROM marts.registry_crosscheck WHERE pmid IN (SELECT pmid FROM chunk_frame)"
        )
        if len(frame):
            con.execute(
                f"INSERT INTO marts.registry_crosscheck ({columns}, checked_at) SELECT * FROM frame"
            )
        con.execute(
            f"INSERT INTO marts.registry_crosscheck ({columns}, checked_at) "
            "SELECT effect_id, pmid, kind, NULL, NULL, 'no_counterpart', value, NULL, NULL, NULL, "
            "0, 'no registry study linked to this article', ? FROM core.effects "
            "WHERE pmid IN (SELECT pmid FROM chunk_frame) "
            "AND pmid NOT IN (SELECT pmid FROM linked_frame)",
            [at],
        )


CROSSCHECK_CHUNK_PMIDS = 1_000  # articles whose effects are compared and written at a time


def refresh_crosscheck(con, chunk_pmids: int = CROSSCHECK_CHUNK_PMIDS) -> dict[str, int]:
    """Recompute marts.registry_crosscheck, `chunk_pmids` articles at a time, each chunk in its
    own transaction (its rows replaced whole); returns counts by status.

    Memory and each transaction's size do not grow with the warehouse. Each article's rows are
    always those of one comparison, old or new; a run stopped part-way leaves the chunks it
    committed, and running it again (it recomputes every chunk) gives the same table as one
    uninterrupted run."""
    if not warehouse.table_columns(con, "core.effects"):
        return {}
    # Only the effects of articles linked to a stored registry study are compared in Python;
    # every other effect gets its 'no_counterpart' row in SQL.
    linked = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT l.pmid FROM core.registry_links l "
            "JOIN core.registry_studies s USING (nct_id)"
        ).fetchall()
    }
    pmids = [r[0] for r in con.execute("SELECT DISTINCT pmid FROM core.effects ORDER BY pmid")
             .fetchall()]  # fmt: skip
    registry = RegistryRows.of(con)
    at = warehouse.now()
    with warehouse.transaction(con):  # rows of effects no longer extracted
        con.execute(
            "DELETE FROM marts.registry_crosscheck "
            "WHERE effect_id NOT IN (SELECT effect_id FROM core.effects)"
        )
    chunks = range(0, len(pmids), chunk_pmids)
    for start in tqdm(chunks, desc="registry cross-check", unit="chunk", disable=None):
        chunk = pmids[start : start + chunk_pmids]
        _refresh_chunk(con, chunk, [p for p in chunk if p in linked], registry, at)
    counts = dict(
        con.execute(
            "SELECT status, count(*) FROM marts.registry_crosscheck GROUP BY status"
        ).fetchall()
    )
    log.debug(  # reported by whoever asked: the marts refresh or the registry command
        "registry cross-check: %d effects agree, %d differ, %d have no registry counterpart",
        counts.get("agrees", 0), counts.get("differs", 0), counts.get("no_counterpart", 0),
    )  # fmt: skip
    return counts
