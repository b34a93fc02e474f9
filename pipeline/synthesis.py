"""Effect-size arithmetic and random-effects pooling, following metafor's conventions.

Three verbs, as in metafor: compute effect sizes from what an abstract reports
(`log_risk_ratio`, `hedges_g`, `log_ratio_from_ci`, ...), pool them (`random_effects`), and
draw them (`pipeline.plots.forest_plot`). Every effect size and every pooled estimate carries
`notes` saying what was done on the way (a continuity correction, a t-based SE, k = 1 ...), so
nothing is adjusted silently.

Conventions (checked against metafor's `escalc` and `rma` in tests/test_metafor_agreement.py):
ratios are pooled on the log scale; Hedges' g uses the exact small-sample correction and
metafor's large-sample variance; REML is fitted by Fisher scoring; I² is tau² over tau² plus
the "typical" within-study variance; the prediction interval uses the normal quantile, or
t with k - 1 df under the Hartung-Knapp-Sidik-Jonkman (HKSJ) adjustment.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import special

from pipeline.errors import PipelineError

CONTINUITY_CORRECTION = 0.5
REML_TOLERANCE = 1e-10
REML_MAX_ITERATIONS = 200


# The normal, Student's t and chi-squared functions used here, as scipy.stats computes them
# (its norm, t and chi2 distributions call these scipy.special functions): importing
# scipy.stats itself costs most of a CPU second at the start of every ingest.


def _ppf_bounds(q: float, df: float = 1.0) -> float | None:
    """What scipy.stats gives a quantile function outside (0, 1): -inf at 0, inf at 1, NaN for
    a q outside [0, 1] or df <= 0; None inside, where the special function answers."""
    if not df > 0 or not 0 <= q <= 1:
        return math.nan
    if q == 0:
        return -math.inf
    return math.inf if q == 1 else None


def _norm_ppf(q: float) -> float:
    """scipy.stats.norm.ppf(q)."""
    bound = _ppf_bounds(q)
    return special.ndtri(q) if bound is None else bound


def _norm_sf(x: float) -> float:
    """scipy.stats.norm.sf(x)."""
    return special.ndtr(-x)


def _t_ppf(q: float, df: float) -> float:
    """scipy.stats.t.ppf(q, df)."""
    bound = _ppf_bounds(q, df)
    return special.stdtrit(df, q) if bound is None else bound


def _t_sf(x: float, df: float) -> float:
    """scipy.stats.t.sf(x, df)."""
    return special.stdtr(df, -x)


def _chi2_sf(x: float, df: float) -> float:
    """scipy.stats.chi2.sf(x, df)."""
    return special.chdtrc(df, x)


class EffectSizeError(PipelineError):
    """Numbers that cannot give an effect size (events above n, a CI not around its value)."""


# --- effect sizes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EffectSize:
    """One study's effect `yi` with its sampling variance `vi` on the scale it is pooled on.

    `measure` is one of "log_rr", "log_or", "log_hr", "rd", "md", "smd", "logit"; `notes` says what
    was done to get it (continuity correction, t-based SE, conversion ...).
    """

    yi: float
    vi: float
    measure: str
    notes: tuple[str, ...] = ()

    @property
    def se(self) -> float:
        """The standard error, sqrt(vi)."""
        return math.sqrt(self.vi)

    def ci(self, level: float = 95.0) -> tuple[float, float]:
        """A Wald confidence interval on the pooling scale."""
        z = _norm_ppf(0.5 + level / 200.0)
        return self.yi - z * self.se, self.yi + z * self.se


def _check_count(name: str, events: float, total: float) -> None:
    if not (math.isfinite(events) and math.isfinite(total)):
        raise EffectSizeError(
            f"{name}: events and n must be finite numbers, got {events} of {total}"
        )
    if total <= 0:
        raise EffectSizeError(f"{name}: n must be positive, got {total}")
    if events < 0 or events > total:
        raise EffectSizeError(f"{name}: events must lie between 0 and n, got {events} of {total}")


def _two_by_two(
    events_1: float, n_1: float, events_2: float, n_2: float, add: float
) -> tuple[float, float, float, float, tuple[str, ...]]:
    """The 2x2 cells (a, b, c, d), with `add` added to all four when any of them is zero."""
    _check_count("group 1", events_1, n_1)
    _check_count("group 2", events_2, n_2)
    a, b, c, d = events_1, n_1 - events_1, events_2, n_2 - events_2
    notes: tuple[str, ...] = ()
    if min(a, b, c, d) == 0:
        if add <= 0:
            raise EffectSizeError(
                f"a zero cell ({events_1}/{n_1} vs {events_2}/{n_2}) needs a continuity correction"
            )
        notes = (f"zero cell: {add:g} added to each cell of the 2x2 table",)
        if (a == 0 and c == 0) or (b == 0 and d == 0):
            notes += (
                "no events (or all events) in both groups: the study carries little information",
            )
        a, b, c, d = a + add, b + add, c + add, d + add
    return a, b, c, d, notes


def log_risk_ratio(
    events_1: float, n_1: float, events_2: float, n_2: float, *, add: float = CONTINUITY_CORRECTION
) -> EffectSize:
    """Log risk ratio of group 1 vs group 2 from counts (fractional events allowed, not rounded)."""
    a, b, c, d, notes = _two_by_two(events_1, n_1, events_2, n_2, add)
    n1, n2 = a + b, c + d
    yi = math.log((a / n1) / (c / n2))
    vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
    return EffectSize(yi, vi, "log_rr", notes)


def log_odds_ratio(
    events_1: float, n_1: float, events_2: float, n_2: float, *, add: float = CONTINUITY_CORRECTION
) -> EffectSize:
    """Log odds ratio of group 1 vs group 2 from counts (Woolf variance)."""
    a, b, c, d, notes = _two_by_two(events_1, n_1, events_2, n_2, add)
    return EffectSize(math.log((a * d) / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d, "log_or", notes)


def risk_difference(
    events_1: float, n_1: float, events_2: float, n_2: float, *, add: float = CONTINUITY_CORRECTION
) -> EffectSize:
    """Risk difference (group 1 minus group 2); cells are corrected only where one is zero."""
    a, b, c, d, notes = _two_by_two(events_1, n_1, events_2, n_2, add)
    n1, n2 = a + b, c + d
    yi = a / n1 - c / n2
    vi = a * b / n1**3 + c * d / n2**3
    return EffectSize(yi, vi, "rd", notes)


def rate_to_events(percent: float, n: float) -> float:
    """Events implied by a reported percentage of n, unrounded (64% of 25 -> 16.0)."""
    if not 0 <= percent <= 100:
        raise EffectSizeError(f"a rate must be a percentage between 0 and 100, got {percent}")
    return percent / 100.0 * n


def logit_proportion(events: float, n: float, *, add: float = CONTINUITY_CORRECTION) -> EffectSize:
    """Logit of a proportion with variance 1/(n p) + 1/(n (1 - p)) (metafor's "PLO").

    `add` is added to events and non-events (and 2 * add to n) only when either is zero.
    """
    _check_count("proportion", events, n)
    notes: tuple[str, ...] = ()
    non_events = n - events
    if events == 0 or non_events == 0:
        events, non_events = events + add, non_events + add
        notes = (f"0% or 100%: {add:g} added to events and non-events",)
    yi = math.log(events / non_events)
    return EffectSize(yi, 1 / events + 1 / non_events, "logit", notes)


def inverse_logit(x: float) -> float:
    """The proportion whose logit is x."""
    return 1 / (1 + math.exp(-x))


def hedges_correction(df: float) -> float:
    """The exact small-sample correction J(df) = Γ(df/2) / (sqrt(df/2) Γ((df-1)/2))."""
    if df <= 1:
        raise EffectSizeError(f"Hedges' correction needs more than 1 degree of freedom, got {df}")
    return math.exp(special.gammaln(df / 2) - math.log(df / 2) / 2 - special.gammaln((df - 1) / 2))


def _smd_from_d(d: float, n_1: float, n_2: float, notes: tuple[str, ...]) -> EffectSize:
    g = hedges_correction(n_1 + n_2 - 2) * d
    vi = 1 / n_1 + 1 / n_2 + g**2 / (2 * (n_1 + n_2))
    return EffectSize(g, vi, "smd", notes)


def _check_n(n_1: float, n_2: float) -> None:
    if not (n_1 >= 2 and n_2 >= 2):
        raise EffectSizeError(
            f"a standardised difference needs n >= 2 per group, got {n_1} and {n_2}"
        )


def hedges_g(
    mean_1: float, sd_1: float, n_1: float, mean_2: float, sd_2: float, n_2: float
) -> EffectSize:
    """Hedges' g (group 1 minus group 2) from means, SDs and n, with the pooled SD."""
    _check_n(n_1, n_2)
    if not (sd_1 > 0 and sd_2 > 0):
        raise EffectSizeError(f"standard deviations must be positive, got {sd_1} and {sd_2}")
    pooled_sd = math.sqrt(((n_1 - 1) * sd_1**2 + (n_2 - 1) * sd_2**2) / (n_1 + n_2 - 2))
    return _smd_from_d((mean_1 - mean_2) / pooled_sd, n_1, n_2, ())


def _check_ci(value: float, ci_low: float, ci_high: float) -> None:
    if not all(math.isfinite(x) for x in (value, ci_low, ci_high)):
        raise EffectSizeError(
            f"value and CI must be finite numbers, got {value} ({ci_low}, {ci_high})"
        )
    if not ci_low < ci_high:
        raise EffectSizeError(
            f"the CI's lower limit must be below its upper limit: ({ci_low}, {ci_high})"
        )
    if not ci_low <= value <= ci_high:
        raise EffectSizeError(f"the value {value} lies outside its CI ({ci_low}, {ci_high})")


def _critical_value(ci_level: float, df: float | None) -> float:
    if not 0 < ci_level < 100:
        raise EffectSizeError(f"a CI level is a percentage between 0 and 100, got {ci_level}")
    return _quantile(0.5 + ci_level / 200.0, df)


@functools.lru_cache(maxsize=1024)
def _quantile(q: float, df: float | None) -> float:
    """The normal (or Student's t) quantile; remembered, as a few CI levels recur thousands of
    times in a refresh and each scipy call costs about a millisecond."""
    return float(_norm_ppf(q) if df is None else _t_ppf(q, df))


def variance_from_ci(
    ci_low: float,
    ci_high: float,
    *,
    ratio: bool = False,
    ci_level: float = 95.0,
    df: float | None = None,
) -> float:
    """Sampling variance from a CI: ((high - low) / (2 * crit))², on the log scale for ratios.

    `crit` is the normal quantile, or Student's t with `df` degrees of freedom when given.
    """
    if ratio:
        if not (ci_low > 0 and ci_high > 0):
            raise EffectSizeError(f"a ratio's CI must be positive, got ({ci_low}, {ci_high})")
        ci_low, ci_high = math.log(ci_low), math.log(ci_high)
    if not ci_low < ci_high:
        raise EffectSizeError(
            f"the CI's lower limit must be below its upper limit: ({ci_low}, {ci_high})"
        )
    return ((ci_high - ci_low) / (2 * _critical_value(ci_level, df))) ** 2


RATIO_MEASURES = {"odds_ratio": "log_or", "risk_ratio": "log_rr", "hazard_ratio": "log_hr"}


def log_ratio_from_ci(
    value: float, ci_low: float, ci_high: float, *, kind: str = "risk_ratio", ci_level: float = 95.0
) -> EffectSize:
    """A reported OR, RR or HR with its CI -> log ratio and variance from the CI's log width."""
    if kind not in RATIO_MEASURES:
        raise EffectSizeError(
            f"unknown ratio kind {kind!r}; expected one of {sorted(RATIO_MEASURES)}"
        )
    if not value > 0:
        raise EffectSizeError(f"a ratio must be positive, got {value}")
    _check_ci(value, ci_low, ci_high)
    vi = variance_from_ci(ci_low, ci_high, ratio=True, ci_level=ci_level)
    notes = ("variance from the reported CI on the log scale",)
    log_mid = (math.log(ci_low) + math.log(ci_high)) / 2
    if abs(log_mid - math.log(value)) > 0.1 * (math.log(ci_high) - math.log(ci_low)):
        notes += ("the CI is not symmetric around the estimate on the log scale",)
    return EffectSize(math.log(value), vi, RATIO_MEASURES[kind], notes)


def mean_difference_from_ci(
    value: float,
    ci_low: float,
    ci_high: float,
    *,
    ci_level: float = 95.0,
    n_1: float | None = None,
    n_2: float | None = None,
) -> EffectSize:
    """A reported mean difference with its CI -> MD and variance (t with n1+n2-2 df if n known)."""
    _check_ci(value, ci_low, ci_high)
    df = None if n_1 is None or n_2 is None else n_1 + n_2 - 2
    vi = variance_from_ci(ci_low, ci_high, ci_level=ci_level, df=df)
    note = (
        "SE from the CI with the normal quantile"
        if df is None
        else f"SE from the CI with t({df:g})"
    )
    return EffectSize(value, vi, "md", (note,))


def hedges_g_from_mean_difference(
    value: float,
    ci_low: float,
    ci_high: float,
    n_1: float,
    n_2: float,
    *,
    ci_level: float = 95.0,
    distribution: str = "t",
) -> EffectSize:
    """Hedges' g from a between-group mean difference, its CI and n per arm.

    SE = CI width / (2 crit) with crit from t(n1+n2-2) (Cochrane Handbook 6.5.2.3) or the
    normal; the pooled SD is SE / sqrt(1/n1 + 1/n2).
    """
    _check_n(n_1, n_2)
    _check_ci(value, ci_low, ci_high)
    if distribution not in ("t", "normal"):
        raise EffectSizeError(f"distribution must be 't' or 'normal', got {distribution!r}")
    df = n_1 + n_2 - 2 if distribution == "t" else None
    se = (ci_high - ci_low) / (2 * _critical_value(ci_level, df))
    pooled_sd = se / math.sqrt(1 / n_1 + 1 / n_2)
    how = f"t({n_1 + n_2 - 2:g})" if df is not None else "the normal quantile"
    notes = (f"pooled SD recovered from the CI of the mean difference with {how}",)
    return _smd_from_d(value / pooled_sd, n_1, n_2, notes)


LOGIT_SCALE = math.pi / math.sqrt(3)


def smd_from_log_odds_ratio(effect: EffectSize) -> EffectSize:
    """Chinn (2000) / Hasselblad-Hedges: d = ln(OR) * sqrt(3)/pi, v = v_lnOR * 3/pi²."""
    if effect.measure != "log_or":
        raise EffectSizeError(f"expected a log odds ratio, got {effect.measure}")
    note = "converted from a log odds ratio (Hasselblad-Hedges / Chinn 2000)"
    return EffectSize(
        effect.yi / LOGIT_SCALE, effect.vi / LOGIT_SCALE**2, "smd", effect.notes + (note,)
    )


def log_odds_ratio_from_smd(effect: EffectSize) -> EffectSize:
    """The inverse conversion: ln(OR) = d * pi/sqrt(3), v_lnOR = v_d * pi²/3."""
    if effect.measure != "smd":
        raise EffectSizeError(f"expected a standardised mean difference, got {effect.measure}")
    note = "converted from a standardised mean difference (Hasselblad-Hedges / Chinn 2000)"
    return EffectSize(
        effect.yi * LOGIT_SCALE, effect.vi * LOGIT_SCALE**2, "log_or", effect.notes + (note,)
    )


# --- random-effects pooling -----------------------------------------------------------------

METHODS = ("REML", "DL")


@dataclass(frozen=True)
class PooledEstimate:
    """A random-effects summary: the estimate with its CI and prediction interval, heterogeneity.

    The estimate is on the pooling scale (log for ratios). `df` is the t degrees of freedom
    under HKSJ (None for the normal). `pi_low`/`pi_high` are NaN when k < 3.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    statistic: float
    p: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p: float
    pi_low: float
    pi_high: float
    k: int
    method: str
    hksj: bool
    df: int | None
    level: float = 95.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def tau(self) -> float:
        """Between-study standard deviation."""
        return math.sqrt(self.tau2)

    def to_dict(self) -> dict:
        """A flat dict (notes joined by '; '), one row of a results table."""
        row = asdict(self)
        row["notes"] = "; ".join(self.notes)
        return row

    def __str__(self) -> str:
        test = f"t({self.df})" if self.df is not None else "z"
        lines = [
            f"Random-effects model (k = {self.k}; tau^2 estimator: {self.method}"
            + ("; Hartung-Knapp-Sidik-Jonkman CI)" if self.hksj else ")"),
            f"  tau^2 = {self.tau2:.4f} (tau = {self.tau:.4f}); I^2 = {_format(self.i2, 1, '%')};"
            f" H^2 = {_format(self.h2, 2)}",
            f"  Q({self.q_df}) = {self.q:.4f}, p = {_format_p(self.q_p)}",
            f"  estimate = {self.estimate:.4f} (SE {self.se:.4f}), {test} = {self.statistic:.4f},"
            f" p = {_format_p(self.p)}",
            f"  {self.level:g}% CI {self.ci_low:.4f} to {self.ci_high:.4f};"
            f" prediction interval {_format(self.pi_low, 4)} to {_format(self.pi_high, 4)}",
        ]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


def _format(x: float, digits: int, unit: str = "") -> str:
    return f"{x:.{digits}f}{unit}" if math.isfinite(x) else "n/a"


def _format_p(p: float) -> str:
    if not math.isfinite(p):
        return "n/a"
    return "< .0001" if p < 1e-4 else f"{p:.4f}"


def _as_arrays(yi: Sequence[float], vi: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if y.ndim != 1 or y.shape != v.shape:
        raise PipelineError(
            f"yi and vi must be two lists of the same length, got {y.shape}, {v.shape}"
        )
    if y.size == 0:
        raise PipelineError("nothing to pool: no effect sizes were given")
    bad = np.flatnonzero(~np.isfinite(y) | ~np.isfinite(v) | (v <= 0))
    if bad.size:
        i = int(bad[0])
        raise PipelineError(
            f"effect {i} cannot be pooled: yi = {y[i]}, vi = {v[i]} (need finite yi, vi > 0)"
        )
    return y, v


def _q_statistic(y: np.ndarray, v: np.ndarray) -> float:
    w = 1 / v
    mu = np.sum(w * y) / np.sum(w)
    return float(np.sum(w * (y - mu) ** 2))


def tau2_dersimonian_laird(y: np.ndarray, v: np.ndarray) -> float:
    """The DerSimonian-Laird moment estimator, truncated at zero."""
    w = 1 / v
    c = np.sum(w) - np.sum(w**2) / np.sum(w)
    return max(0.0, (_q_statistic(y, v) - (y.size - 1)) / c)


def _reml_step(y: np.ndarray, v: np.ndarray, tau2: float) -> float:
    """One Fisher-scoring adjustment of tau² for the REML likelihood (as in metafor's rma.uni)."""
    # P = diag(w) - w wᵀ / Σw, written out so that memory and time are linear in k (a k x k
    # matrix took gigabytes for a pool of thousands): P y = w (y - μ), tr P = Σw - Σw² / Σw,
    # and Σ P_ij² = Σw² - 2 Σw³ / Σw + (Σw²)² / (Σw)².
    w = 1 / (v + tau2)
    total = np.sum(w)
    p_y = w * (y - np.sum(w * y) / total)
    trace = total - np.sum(w**2) / total
    squares = np.sum(w**2) - 2 * np.sum(w**3) / total + np.sum(w**2) ** 2 / total**2
    return float((p_y @ p_y - trace) / squares)


def _restricted_loglik(y: np.ndarray, v: np.ndarray, tau2: float) -> float:
    w = 1 / (v + tau2)
    mu = np.sum(w * y) / np.sum(w)
    return -0.5 * float(np.sum(np.log(v + tau2)) + math.log(np.sum(w)) + np.sum(w * (y - mu) ** 2))


def tau2_reml(y: np.ndarray, v: np.ndarray) -> tuple[float, str | None]:
    """REML tau² by Fisher scoring from the DL value, halving steps that would cross zero.

    If scoring does not converge, the restricted likelihood is maximised directly on
    [0, 100 * (var(y) + max(v))]; the second value says so.
    """
    tau2 = tau2_dersimonian_laird(y, v)
    for _ in range(REML_MAX_ITERATIONS):
        adj = _reml_step(y, v, tau2)
        if tau2 + adj < 0:
            if _reml_step(y, v, 0.0) <= 0:
                return 0.0, None  # the restricted likelihood falls from the boundary: tau^2 = 0
            while tau2 + adj < 0:
                adj /= 2
        tau2 += adj
        if abs(adj) < REML_TOLERANCE:
            return max(tau2, 0.0), None
    # Imported here: scipy.optimize adds about 24 MiB to every process that imports this
    # module, and scoring almost always converges.
    from scipy import optimize

    upper = 100 * (float(np.var(y)) + float(np.max(v)))
    found = optimize.minimize_scalar(
        lambda t: -_restricted_loglik(y, v, t), bounds=(0.0, upper), method="bounded",
        options={"xatol": 1e-12},
    )  # fmt: skip
    return float(found.x), "REML Fisher scoring did not converge; tau^2 maximised directly"


def random_effects(
    yi: Sequence[float],
    vi: Sequence[float],
    method: str = "REML",
    hksj: bool = False,
    level: float = 95.0,
) -> PooledEstimate:
    """Pool effect sizes with a random-effects model, as metafor's `rma(yi, vi, method=...)`.

    `method` is "REML" (Fisher scoring) or "DL"; `hksj=True` is metafor's `test="knha"`
    (SE scaled by the weighted residual variance, t with k - 1 df). With k = 1 the study is
    returned as it is; with k = 2 or tau² = 0 the notes say what that means.
    """
    method = method.upper()
    if method not in METHODS:
        raise PipelineError(f"unknown tau^2 estimator {method!r}; expected one of {METHODS}")
    y, v = _as_arrays(yi, vi)
    k = int(y.size)
    notes: list[str] = []
    q = _q_statistic(y, v) if k > 1 else 0.0
    q_p = float(_chi2_sf(q, k - 1)) if k > 1 else math.nan
    if k == 1:
        tau2 = 0.0
        notes.append(
            "k = 1: a single study, nothing pooled; tau^2 cannot be estimated and is set to 0"
        )
    elif method == "DL":
        tau2 = tau2_dersimonian_laird(y, v)
    else:
        tau2, problem = tau2_reml(y, v)
        if problem:
            notes.append(problem)
    if k == 2:
        notes.append("k = 2: tau^2 is very imprecise with two studies")
    if k > 1 and tau2 == 0:
        notes.append(
            "tau^2 estimated as 0: the estimate equals the fixed-effect (inverse-variance) one"
        )

    w = 1 / (v + tau2)
    estimate = float(np.sum(w * y) / np.sum(w))
    se = math.sqrt(1 / np.sum(w))
    df: int | None = None
    if hksj and k == 1:
        notes.append("HKSJ needs k >= 2: normal-based CI used")
    elif hksj:
        df = k - 1
        s2w = float(np.sum(w * (y - estimate) ** 2)) / df
        se = math.sqrt(s2w / np.sum(w))
        if k == 2:
            notes.append("HKSJ with k = 2 uses t with 1 df: the CI is very wide")
        if s2w < 1:
            notes.append("HKSJ made the CI narrower than the normal-based one (not truncated)")
    crit = _critical_value(level, df)
    statistic = estimate / se
    tail = _norm_sf(abs(statistic)) if df is None else _t_sf(abs(statistic), df)
    p = float(2 * tail)

    w_fixed = 1 / v
    typical_v = (k - 1) / (np.sum(w_fixed) - np.sum(w_fixed**2) / np.sum(w_fixed)) if k > 1 else 0
    if k > 1:
        i2 = float(100 * tau2 / (tau2 + typical_v))
        h2 = float((tau2 + typical_v) / typical_v)
    else:
        i2, h2 = math.nan, math.nan

    if k >= 3:
        pi_half = crit * math.sqrt(se**2 + tau2)
        pi_low, pi_high = estimate - pi_half, estimate + pi_half
    else:
        pi_low = pi_high = math.nan
        if k == 2:
            notes.append("prediction interval not computed for k < 3")

    return PooledEstimate(
        estimate=estimate,
        se=se,
        ci_low=estimate - crit * se,
        ci_high=estimate + crit * se,
        statistic=statistic,
        p=p,
        tau2=float(tau2),
        i2=i2,
        h2=h2,
        q=q,
        q_df=k - 1,
        q_p=q_p,
        pi_low=pi_low,
        pi_high=pi_high,
        k=k,
        method=method,
        hksj=hksj,
        df=df,
        level=level,
        notes=tuple(notes),
    )


def leave_one_out(
    yi: Sequence[float],
    vi: Sequence[float],
    labels: Sequence[str] | None = None,
    method: str = "REML",
    hksj: bool = False,
) -> pd.DataFrame:
    """Refit without each study in turn; one row per omitted study (needs k >= 2)."""
    y, v = _as_arrays(yi, vi)
    if y.size < 2:
        raise PipelineError("leave-one-out needs at least two studies")
    names = list(labels) if labels is not None else [str(i) for i in range(y.size)]
    if len(names) != y.size:
        raise PipelineError(f"{len(names)} labels for {y.size} effect sizes")
    rows = []
    for i, name in enumerate(names):
        keep = np.arange(y.size) != i
        fit = random_effects(y[keep], v[keep], method=method, hksj=hksj)
        rows.append({"omitted": name, **fit.to_dict()})
    return pd.DataFrame(rows)


def subgroups(
    frame: pd.DataFrame,
    by: str | Sequence[str],
    yi: str = "yi",
    vi: str = "vi",
    method: str = "REML",
    hksj: bool = False,
) -> pd.DataFrame:
    """Pool separately within each group of `by` (e.g. drug, route, timepoint): one row each.

    A separate tau² is estimated per subgroup. `attrs["q_between"]` holds the test for
    subgroup differences (Q on the subgroup estimates, df = groups - 1; NaN with one group).
    """
    keys = [by] if isinstance(by, str) else list(by)
    missing = [c for c in (*keys, yi, vi) if c not in frame.columns]
    if missing:
        raise PipelineError(f"subgroups: the frame has no column(s) {missing}")
    rows = []
    for key, group in frame.groupby(keys, dropna=False, sort=True):
        values = key if isinstance(key, tuple) else (key,)
        fit = random_effects(group[yi], group[vi], method=method, hksj=hksj)
        rows.append({**dict(zip(keys, values, strict=True)), **fit.to_dict()})
    table = pd.DataFrame(rows)
    if len(table) > 1:
        estimates, variances = table["estimate"].to_numpy(), table["se"].to_numpy() ** 2
        q_between = _q_statistic(estimates, variances)
        table.attrs["q_between"] = q_between
        table.attrs["q_between_df"] = len(table) - 1
        table.attrs["q_between_p"] = float(_chi2_sf(q_between, len(table) - 1))
    else:
        table.attrs.update(q_between=math.nan, q_between_df=0, q_between_p=math.nan)
    return table


def exponentiate(pooled: PooledEstimate) -> PooledEstimate:
    """The estimate, CI and prediction interval back-transformed from the log scale (ratios)."""
    return replace(
        pooled,
        estimate=math.exp(pooled.estimate),
        ci_low=math.exp(pooled.ci_low),
        ci_high=math.exp(pooled.ci_high),
        pi_low=math.exp(pooled.pi_low) if math.isfinite(pooled.pi_low) else math.nan,
        pi_high=math.exp(pooled.pi_high) if math.isfinite(pooled.pi_high) else math.nan,
        notes=pooled.notes
        + ("estimate, CI and prediction interval exponentiated (SE is on the log scale)",),
    )
