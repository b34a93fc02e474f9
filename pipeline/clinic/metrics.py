"""Clinic metrics for the notebooks and the evidence sheet: thin readers of the clinic marts.

Every frame carries `synthetic` (True when the current clinic data is the generated demo)
and is split by route ('iv', 'intranasal'). Definitions (courses, score after N sessions,
response, remission) are in pipeline/migrations/021_clinic_marts.sql. Anything meant for
patients goes through `suppress_small_counts` first (small counts, and complementary
suppression where a total would give a hidden count away).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.duration.survfunc import SurvfuncRight

SUPPRESSION_THRESHOLD = 11
SUPPRESSED_DERIVED = "suppressed"
DEFAULT_AFTER_SESSIONS = (1, 2, 4, 6)
TIME_TO_RESPONSE_COLUMNS = [
    "synthetic", "route", "n_courses", "n_responders", "median_sessions_among_responders",
    "median_days_among_responders", "km_median_sessions",
]  # fmt: skip


def wilson_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for k successes in n trials (NaN, NaN when n is 0)."""
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    if n == 0:
        return math.nan, math.nan
    z = stats.norm.ppf(1 - (1 - level) / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def hedges_g_prepost(
    pre: Sequence[float], post: Sequence[float], level: float = 0.95
) -> dict[str, float]:
    """Pre/post standardised mean change (metafor's SMCR), positive when scores fell.

    g = J (mean_pre - mean_post) / sd_pre with J = 1 - 3 / (4 (n - 1) - 1); its variance is
    2 (1 - r) / n + g^2 / (2 n), r being the pre/post correlation. Needs n >= 3 pairs.
    """
    pre_a, post_a = np.asarray(pre, dtype=float), np.asarray(post, dtype=float)
    if pre_a.shape != post_a.shape:
        raise ValueError("pre and post need one value per course each")
    n = len(pre_a)
    out = {"n": n, "mean_pre": math.nan, "sd_pre": math.nan, "mean_post": math.nan,
           "sd_post": math.nan, "r": math.nan, "hedges_g": math.nan, "se": math.nan,
           "ci_low": math.nan, "ci_high": math.nan}  # fmt: skip
    if n == 0:
        return out
    out.update(mean_pre=pre_a.mean(), mean_post=post_a.mean())
    if n < 3:
        return out
    sd_pre, sd_post = pre_a.std(ddof=1), post_a.std(ddof=1)
    out.update(sd_pre=sd_pre, sd_post=sd_post)
    if sd_pre == 0 or sd_post == 0:
        return out
    r = float(np.corrcoef(pre_a, post_a)[0, 1])
    j = 1 - 3 / (4 * (n - 1) - 1)
    g = j * (out["mean_pre"] - out["mean_post"]) / sd_pre
    se = math.sqrt(2 * (1 - r) / n + g * g / (2 * n))
    z = stats.norm.ppf(1 - (1 - level) / 2)
    out.update(r=r, hedges_g=g, se=se, ci_low=g - z * se, ci_high=g + z * se)
    return out


def _frame(con, sql: str, params: Sequence | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def clinic_counts(con) -> pd.DataFrame:
    """Patients, courses and sessions by route and over all routes (route 'all')."""
    return _frame(con, "SELECT * FROM marts.clinic_counts ORDER BY route = 'all', route")


def response_remission(
    con, scale: str = "phq9", after_sessions: Iterable[int] = DEFAULT_AFTER_SESSIONS
) -> pd.DataFrame:
    """Response and remission after N sessions by route, with counts and Wilson 95% CIs.

    `scale` is 'phq9' (remission PHQ-9 < 5) or 'madrs' (remission MADRS <= 10).
    """
    after = list(after_sessions)
    return _frame(
        con,
        "SELECT * FROM marts.clinic_response_remission WHERE scale = ? "
        "AND list_contains(?, after_sessions) ORDER BY route, after_sessions",
        [scale, after],
    )


def course_scores(
    con, scale: str = "phq9", after_sessions: Iterable[int] | None = None
) -> pd.DataFrame:
    """Per course: baseline, score after N sessions, percent change, response and remission."""
    sql = "SELECT * FROM marts.clinic_course_scores WHERE scale = ? AND score_after IS NOT NULL"
    params: list = [scale]
    if after_sessions is not None:
        sql += " AND list_contains(?, after_sessions)"
        params.append(list(after_sessions))
    return _frame(con, sql + " ORDER BY route, course_id, after_sessions", params)


def course_outcomes(con) -> pd.DataFrame:
    """One row per course: dates, sessions, PHQ-9 baseline and last score, time to response."""
    return _frame(con, "SELECT * FROM marts.clinic_course_outcomes ORDER BY route, start_date")


def time_to_response(con) -> pd.DataFrame:
    """PHQ-9 response by route: responders, median sessions and days to response among them,
    and the Kaplan-Meier median in sessions (courses without response censored at their last
    score)."""
    courses = _frame(
        con,
        "SELECT synthetic, route, responded, sessions_to_response, days_to_response, "
        "phq9_last_after_sessions FROM marts.clinic_course_outcomes "
        "WHERE phq9_last_after_sessions IS NOT NULL AND phq9_baseline > 0",
    )
    rows = []
    for (synthetic, route), group in courses.groupby(["synthetic", "route"], sort=True):
        responders = group[group["responded"]]
        time = np.where(group["responded"], group["sessions_to_response"],
                        group["phq9_last_after_sessions"]).astype(float)  # fmt: skip
        km = SurvfuncRight(time, group["responded"].astype(int).to_numpy())
        km_median = km.quantile(0.5) if group["responded"].any() else math.nan
        rows.append({
            "synthetic": synthetic, "route": route, "n_courses": len(group),
            "n_responders": len(responders),
            "median_sessions_among_responders": responders["sessions_to_response"].median(),
            "median_days_among_responders": responders["days_to_response"].median(),
            "km_median_sessions": float(km_median),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=TIME_TO_RESPONSE_COLUMNS)


def pre_post_effect(
    con, scale: str = "phq9", after_sessions: int | None = None, level: float = 0.95
) -> pd.DataFrame:
    """Pre/post Hedges g (SMCR, positive = improvement) with its CI, by route.

    Pre is the course baseline; post is the score after `after_sessions` sessions, or, when
    None, each course's last recorded score (end of course). Courses need a baseline and a
    later score.
    """
    scores = course_scores(con, scale, None if after_sessions is None else [after_sessions])
    scores = scores.dropna(subset=["baseline"])
    if after_sessions is None:
        last = scores.groupby("course_id")["after_sessions"].transform("max")
        scores = scores[scores["after_sessions"] == last]
    rows = []
    for (synthetic, route), group in scores.groupby(["synthetic", "route"], sort=True):
        effect = hedges_g_prepost(group["baseline"], group["score_after"], level)
        rows.append({"synthetic": synthetic, "route": route, "scale": scale,
                     "after_sessions": after_sessions, **effect})  # fmt: skip
    columns = ["synthetic", "route", "scale", "after_sessions", "n", "mean_pre", "sd_pre",
               "mean_post", "sd_post", "r", "hedges_g", "se", "ci_low", "ci_high"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def side_effect_rates(con) -> pd.DataFrame:
    """Per-session side-effect rates by route, with Wilson 95% CIs (sessions where recorded)."""
    return _frame(con, "SELECT * FROM marts.clinic_side_effects ORDER BY route, side_effect")


def blood_pressure(con) -> pd.DataFrame:
    """Mean blood pressure change over a session, and readings at or above 180/110, by route."""
    return _frame(con, "SELECT * FROM marts.clinic_blood_pressure ORDER BY route")


def phq9_trajectories(con, level: float = 0.95) -> pd.DataFrame:
    """Mean PHQ-9 before each session of a course, by route, with a t-based CI of the mean."""
    frame = _frame(
        con, "SELECT * FROM marts.clinic_phq9_trajectories ORDER BY route, course_session_no"
    )
    n = frame["n_courses"].astype(float)
    t = stats.t.ppf(1 - (1 - level) / 2, np.maximum(n - 1, 1))
    half = np.where(n > 1, t * frame["sd_phq9"].astype(float) / np.sqrt(n), np.nan)
    frame["ci_low"] = frame["mean_phq9"] - half
    frame["ci_high"] = frame["mean_phq9"] + half
    return frame


@dataclass(frozen=True)
class Total:
    """A cell of a table that is the sum of other cells; cells are (index label, column)."""

    total: tuple[Hashable, str]
    parts: tuple[tuple[Hashable, str], ...]

    @property
    def cells(self) -> tuple[tuple[Hashable, str], ...]:
        """The total and its parts."""
        return (self.total, *self.parts)


def route_totals(
    frame: pd.DataFrame, count_columns: Sequence[str], total_route: str = "all"
) -> list[Total]:
    """The totals of a table with a row per route and a `total_route` row (as clinic_counts):
    in each count column, and within each value of `synthetic`, the total row sums the others.

    Patients treated by both routes make the patient total smaller than the sum; counting it
    as a sum anyway is the cautious side, since subtraction still narrows the hidden count.
    """
    if "route" not in frame.columns or not (frame["route"] == total_route).any():
        return []
    groups = frame.groupby("synthetic", sort=False) if "synthetic" in frame else [(None, frame)]
    totals = []
    for _, group in groups:
        total_rows = group.index[group["route"] == total_route]
        parts = group.index[group["route"] != total_route]
        for label in total_rows:
            for column in count_columns:
                totals.append(Total((label, column), tuple((p, column) for p in parts)))
    return totals


def recoverable_cells(
    hidden: set[tuple[Hashable, str]], totals: Sequence[Total]
) -> set[tuple[Hashable, str]]:
    """The hidden cells whose value follows from the shown cells and the totals.

    Each total is a linear equation (total - sum of parts = 0); with the shown cells known,
    a hidden cell is determined exactly when its unit vector lies in the row space of the
    equations over the hidden cells.
    """
    unknown = sorted(hidden, key=repr)
    position = {cell: i for i, cell in enumerate(unknown)}
    rows = []
    for total in totals:
        row = np.zeros(len(unknown))
        for cell, sign in ((total.total, -1.0), *((p, 1.0) for p in total.parts)):
            if cell in position:
                row[position[cell]] += sign
        if row.any():
            rows.append(row)
    if not rows:
        return set()
    system = np.vstack(rows)
    rank = np.linalg.matrix_rank(system)
    found = set()
    for cell, i in position.items():
        unit = np.zeros(len(unknown))
        unit[i] = 1.0
        if np.linalg.matrix_rank(np.vstack([system, unit])) == rank:
            found.add(cell)
    return found


def complementary_suppression(
    frame: pd.DataFrame, primary: set[tuple[Hashable, str]], totals: Sequence[Total]
) -> set[tuple[Hashable, str]]:
    """The cells to hide besides `primary` so that no hidden cell can be worked out from the
    totals: while one can, hide the smallest shown cell of a total it takes part in (a part
    before the total itself)."""
    hidden = set(primary)
    extra: set[tuple[Hashable, str]] = set()
    while found := recoverable_cells(hidden, totals):
        candidates = [
            (cell == total.total, frame.at[cell], repr(cell), cell)
            for total in totals
            if found & set(total.cells)
            for cell in total.cells
            if cell not in hidden and pd.notna(frame.at[cell])
        ]
        if not candidates:  # every cell of those totals is hidden or empty: nothing left to hide
            break
        chosen = min(candidates)[-1]
        hidden.add(chosen)
        extra.add(chosen)
    return extra


def suppress_small_counts(
    frame: pd.DataFrame,
    count_columns: Sequence[str],
    threshold: int = SUPPRESSION_THRESHOLD,
    derived: Mapping[str, Sequence[str]] | None = None,
    totals: Sequence[Total] | None = None,
) -> pd.DataFrame:
    """A copy for patients: counts below `threshold` replaced by "<threshold", other counts
    hidden ("suppressed") where a total would give a hidden one away, and what they give away.

    `totals` lists the cells that sum others (default: `route_totals`, for tables with a row
    per route and an 'all' row; pass [] for none). Complementary suppression hides, while a
    hidden count can be worked out by subtraction, the next smallest count of that total.
    `derived` maps a count column to the columns computed from it (rates, CIs, means), which
    become "suppressed" where that count is hidden. Without it, every float column of a row
    with any hidden count is suppressed (rates and CIs are floats; labels and counts are not).
    Every table meant for patients goes through this function.
    """
    missing = [c for c in count_columns if c not in frame.columns]
    if missing:
        raise KeyError(f"no such count columns: {missing}")
    if totals is None:
        totals = route_totals(frame, count_columns)
    out = frame.copy().astype({c: "object" for c in frame.columns if c in count_columns})
    small = {c: frame[c].notna() & (frame[c] < threshold) for c in count_columns}
    primary = {(label, c) for c, mask in small.items() for label in frame.index[mask]}
    extra = complementary_suppression(frame, primary, totals)
    complementary = {c: pd.Series(False, index=frame.index) for c in count_columns}
    for label, column in extra:
        complementary[column].loc[label] = True
    hidden = {c: small[c] | complementary[c] for c in count_columns}
    if derived is None:
        floats = [c for c in frame.columns if c not in count_columns
                  and pd.api.types.is_float_dtype(frame[c])]  # fmt: skip
        any_hidden = pd.concat(hidden.values(), axis=1).any(axis=1) if hidden else None
        targets = {c: any_hidden for c in floats} if any_hidden is not None else {}
    else:
        targets = {}
        for count, columns in derived.items():
            for column in columns:
                mask = hidden[count] if count in hidden else frame[count] < threshold
                targets[column] = targets.get(column, False) | mask
    for column, mask in targets.items():
        out[column] = out[column].astype("object")
        out.loc[mask, column] = SUPPRESSED_DERIVED
    for column, mask in small.items():
        out.loc[mask, column] = f"<{threshold}"
    for column, mask in complementary.items():
        out.loc[mask, column] = SUPPRESSED_DERIVED
    return out
