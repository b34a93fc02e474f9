"""Effect-size formulas against hand-worked examples, and pooling in the awkward cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pipeline import synthesis
from pipeline.errors import PipelineError
from pipeline.synthesis import (
    EffectSize,
    EffectSizeError,
    exponentiate,
    hedges_correction,
    hedges_g,
    hedges_g_from_mean_difference,
    inverse_logit,
    leave_one_out,
    log_odds_ratio,
    log_odds_ratio_from_smd,
    log_ratio_from_ci,
    log_risk_ratio,
    logit_proportion,
    mean_difference_from_ci,
    random_effects,
    rate_to_events,
    risk_difference,
    smd_from_log_odds_ratio,
    subgroups,
    tau2_reml,
    variance_from_ci,
)
from pipeline.synthesis import _restricted_loglik as restricted_loglik

# --- counts: 12/20 responders on drug vs 5/20 on placebo ------------------------------------


def test_log_risk_ratio_by_hand():
    # RR = (12/20) / (5/20) = 2.4; var = 1/12 - 1/20 + 1/5 - 1/20 = 0.18333...
    effect = log_risk_ratio(12, 20, 5, 20)
    assert effect.yi == pytest.approx(math.log(2.4), abs=1e-12)
    assert effect.vi == pytest.approx(0.1833333333333, abs=1e-12)
    assert effect.measure == "log_rr"
    assert effect.notes == ()


def test_log_odds_ratio_by_hand():
    # OR = (12 * 15) / (8 * 5) = 4.5; var = 1/12 + 1/8 + 1/5 + 1/15 = 0.475
    effect = log_odds_ratio(12, 20, 5, 20)
    assert effect.yi == pytest.approx(math.log(4.5), abs=1e-12)
    assert effect.vi == pytest.approx(0.475, abs=1e-12)


def test_risk_difference_by_hand():
    # RD = 0.60 - 0.25 = 0.35; var = 0.6*0.4/20 + 0.25*0.75/20 = 0.012 + 0.009375
    effect = risk_difference(12, 20, 5, 20)
    assert effect.yi == pytest.approx(0.35, abs=1e-12)
    assert effect.vi == pytest.approx(0.021375, abs=1e-12)


def test_zero_cell_gets_a_continuity_correction_and_says_so():
    # 0/10 vs 4/10 -> cells 0.5, 10.5, 4.5, 6.5: RR = (0.5/11)/(4.5/11) = 1/9 (as metafor escalc)
    effect = log_risk_ratio(0, 10, 4, 10)
    assert effect.yi == pytest.approx(math.log(1 / 9), abs=1e-12)
    assert effect.vi == pytest.approx(1 / 0.5 - 1 / 11 + 1 / 4.5 - 1 / 11, abs=1e-12)
    assert any("0.5 added" in note for note in effect.notes)
    assert risk_difference(0, 10, 4, 10).yi == pytest.approx(0.5 / 11 - 4.5 / 11)
    assert log_odds_ratio(0, 10, 4, 10).notes == effect.notes


def test_double_zero_study_is_flagged():
    effect = log_risk_ratio(0, 10, 0, 12)
    assert any("both groups" in note for note in effect.notes)
    assert math.isfinite(effect.yi) and effect.vi > 0


def test_no_correction_when_asked_not_to_correct_a_zero_cell():
    with pytest.raises(EffectSizeError, match="continuity correction"):
        log_odds_ratio(0, 10, 4, 10, add=0)


def test_fractional_events_from_a_percentage_are_not_rounded():
    assert rate_to_events(64, 25) == 16.0
    assert rate_to_events(26.7, 90) == pytest.approx(24.03)
    effect = log_risk_ratio(rate_to_events(64, 25), 25, rate_to_events(26.7, 90), 90)
    assert effect.yi == pytest.approx(math.log(0.64 / 0.267))
    with pytest.raises(EffectSizeError, match="between 0 and 100"):
        rate_to_events(120, 10)


@pytest.mark.parametrize(
    ("events_1", "n_1", "message"),
    [(21, 20, "between 0 and n"), (-1, 20, "between 0 and n"), (3, 0, "positive"),
     (math.nan, 20, "finite")],
)  # fmt: skip
def test_impossible_counts_are_refused(events_1, n_1, message):
    with pytest.raises(EffectSizeError, match=message):
        log_risk_ratio(events_1, n_1, 5, 20)


# --- standardised mean differences ----------------------------------------------------------


def test_hedges_correction_exact_and_close_to_the_usual_approximation():
    # J(18) = Γ(9) / (3 Γ(8.5)) = 40320 / (3 * 14034.40729348...) = 0.9576464...
    assert hedges_correction(18) == pytest.approx(40320 / (3 * 14034.407293483413), abs=1e-12)
    for df in (10, 18, 60, 300):
        assert hedges_correction(df) == pytest.approx(1 - 3 / (4 * df - 1), abs=1e-3)
    with pytest.raises(EffectSizeError):
        hedges_correction(1)


def test_hedges_g_from_means_by_hand():
    # d = (10 - 6) / 4 = 1; g = J(18) * 1; var = 1/10 + 1/10 + g²/40
    g = hedges_g(10, 4, 10, 6, 4, 10)
    assert g.yi == pytest.approx(0.95764642702372, abs=1e-12)
    assert g.vi == pytest.approx(0.2 + 0.95764642702372**2 / 40, abs=1e-12)
    assert g.measure == "smd"


def test_hedges_g_pools_unequal_sds():
    # pooled SD = sqrt((9*9 + 19*16) / 28) = sqrt(13.75)
    g = hedges_g(12, 3, 10, 10, 4, 20)
    assert g.yi == pytest.approx(hedges_correction(28) * 2 / math.sqrt(13.75), abs=1e-12)


def test_hedges_g_from_a_mean_difference_and_its_ci_by_hand():
    # MD -5 (95% CI -9 to -1), 20 per arm: SE = 8 / (2 t(38)) = 1.975900; SD = SE / sqrt(0.1)
    # d = -5 / 6.248346 = -0.800212; g = J(38) d = -0.784296
    g = hedges_g_from_mean_difference(-5, -9, -1, 20, 20)
    assert g.yi == pytest.approx(-0.7842961590, abs=1e-9)
    assert g.vi == pytest.approx(0.1 + g.yi**2 / 80, abs=1e-12)
    assert "t(38)" in g.notes[0]


def test_normal_quantile_gives_a_smaller_g_than_t():
    t_based = hedges_g_from_mean_difference(-5, -9, -1, 20, 20)
    normal = hedges_g_from_mean_difference(-5, -9, -1, 20, 20, distribution="normal")
    # z < t, so SE = width / (2 z) is larger, the SD larger and |g| smaller
    assert abs(normal.yi) < abs(t_based.yi)
    assert "normal" in normal.notes[0]


def test_standardised_differences_refuse_bad_input():
    with pytest.raises(EffectSizeError, match="positive"):
        hedges_g(1, 0, 10, 2, 1, 10)
    with pytest.raises(EffectSizeError, match="n >= 2"):
        hedges_g(1, 1, 1, 2, 1, 10)
    with pytest.raises(EffectSizeError, match="outside its CI"):
        hedges_g_from_mean_difference(-5, -4, -1, 20, 20)


# --- variances from CIs, ratios, conversions ------------------------------------------------


def test_variance_from_a_ratio_ci_is_on_the_log_scale():
    # OR 2.0 (1.0 to 4.0): SE = ln 4 / (2 * 1.959964) = 0.353653
    assert variance_from_ci(1.0, 4.0, ratio=True) == pytest.approx(0.12507045795, abs=1e-10)
    assert variance_from_ci(-9, -1) == pytest.approx((8 / (2 * 1.959963984540054)) ** 2)
    assert variance_from_ci(-9, -1, ci_level=90) == pytest.approx(
        (8 / (2 * 1.6448536269514722)) ** 2
    )
    with pytest.raises(EffectSizeError, match="positive"):
        variance_from_ci(0, 4.0, ratio=True)
    with pytest.raises(EffectSizeError, match="below"):
        variance_from_ci(4, 1)


def test_log_ratio_from_ci():
    effect = log_ratio_from_ci(0.49, 0.29, 0.84, kind="hazard_ratio")
    assert effect.measure == "log_hr"
    assert effect.yi == pytest.approx(math.log(0.49))
    assert effect.se == pytest.approx((math.log(0.84) - math.log(0.29)) / (2 * 1.959963984540054))
    lopsided = log_ratio_from_ci(1.5, 1.4, 4.0, kind="odds_ratio")
    assert any("not symmetric" in note for note in lopsided.notes)
    with pytest.raises(EffectSizeError, match="unknown ratio"):
        log_ratio_from_ci(1.2, 1.0, 1.5, kind="rate_ratio")
    with pytest.raises(EffectSizeError, match="outside"):
        log_ratio_from_ci(2.0, 1.0, 1.5)


def test_mean_difference_from_ci_uses_t_when_n_is_known():
    effect = mean_difference_from_ci(-5, -9, -1, n_1=20, n_2=20)
    assert effect.vi == pytest.approx((8 / (2 * 2.0243941639119694)) ** 2, abs=1e-12)
    assert effect.measure == "md"


def test_chinn_conversion_and_its_inverse():
    # d = 1.5 * sqrt(3) / pi = 0.826993; v = 0.5 * 3 / pi² = 0.151982
    smd = smd_from_log_odds_ratio(EffectSize(1.5, 0.5, "log_or"))
    assert smd.yi == pytest.approx(0.8269933431, abs=1e-9)
    assert smd.vi == pytest.approx(0.1519817755, abs=1e-9)
    back = log_odds_ratio_from_smd(smd)
    assert (back.yi, back.vi) == pytest.approx((1.5, 0.5))
    assert len(back.notes) == 2
    with pytest.raises(EffectSizeError):
        smd_from_log_odds_ratio(EffectSize(0.1, 0.1, "log_rr"))


# --- pooling --------------------------------------------------------------------------------


def test_dersimonian_laird_by_hand():
    # y = (0, 2), v = (1, 1): Q = 2, C = 2 - 2/2 = 1, tau² = (2 - 1)/1 = 1; w = 1/2 each
    fit = random_effects([0, 2], [1, 1], method="DL")
    assert fit.tau2 == pytest.approx(1.0)
    assert fit.estimate == pytest.approx(1.0)
    assert fit.se == pytest.approx(1.0)
    assert fit.q == pytest.approx(2.0)
    assert fit.i2 == pytest.approx(50.0)


def test_hksj_by_hand_with_two_studies():
    # weighted residual variance s² = (0.5 * 1 + 0.5 * 1) / 1 = 1, so the SE stays 1; t(1)
    fit = random_effects([0, 2], [1, 1], method="DL", hksj=True)
    assert fit.df == 1
    assert fit.ci_high - fit.estimate == pytest.approx(12.706204736174698)
    assert any("1 df" in note for note in fit.notes)


def test_single_study_is_returned_as_it_is_and_says_so():
    fit = random_effects([0.4], [0.09])
    assert (fit.estimate, fit.se, fit.tau2, fit.k) == pytest.approx((0.4, 0.3, 0.0, 1))
    assert fit.ci_low == pytest.approx(0.4 - 1.959963984540054 * 0.3)
    assert math.isnan(fit.pi_low) and math.isnan(fit.i2) and math.isnan(fit.q_p)
    assert any("k = 1" in note for note in fit.notes)
    hksj = random_effects([0.4], [0.09], hksj=True)
    assert hksj.df is None and any("HKSJ needs k >= 2" in note for note in hksj.notes)


def test_two_studies_match_metafor_and_skip_the_prediction_interval():
    # metafor 3.8-1: rma(c(0.2, 0.8), c(0.04, 0.05)) -> tau² 0.135, b 0.491666666667,
    # se 0.299884236924, I² 75; with test = "knha": CI -3.31872384484 to 4.30205717818
    fit = random_effects([0.2, 0.8], [0.04, 0.05])
    assert fit.tau2 == pytest.approx(0.135, abs=1e-8)
    assert fit.estimate == pytest.approx(0.491666666667, abs=1e-9)
    assert fit.se == pytest.approx(0.299884236924, abs=1e-9)
    assert fit.i2 == pytest.approx(75.0, abs=1e-6)
    assert math.isnan(fit.pi_low)
    assert any("k = 2" in note for note in fit.notes)
    knha = random_effects([0.2, 0.8], [0.04, 0.05], hksj=True)
    assert (knha.ci_low, knha.ci_high) == pytest.approx((-3.31872384484, 4.30205717818), abs=1e-8)


def test_homogeneous_studies_give_tau2_zero_and_say_so():
    # metafor 3.8-1: tau² 0, b 0.102666666667, se 0.0632455532034, I² 0; PI equals the CI
    y, v = [0.10, 0.12, 0.09, 0.11], [0.01, 0.02, 0.015, 0.03]
    for method in ("REML", "DL"):
        fit = random_effects(y, v, method=method)
        assert fit.tau2 == 0.0
        assert fit.estimate == pytest.approx(0.102666666667, abs=1e-10)
        assert fit.se == pytest.approx(0.0632455532034, abs=1e-10)
        assert fit.i2 == 0.0
        assert (fit.pi_low, fit.pi_high) == pytest.approx((fit.ci_low, fit.ci_high))
        assert any("fixed-effect" in note for note in fit.notes)


@pytest.mark.parametrize("seed", range(5))
def test_reml_tau2_maximises_the_restricted_likelihood(seed):
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.01, 0.2, size=8)
    y = rng.normal(0.3, np.sqrt(v + 0.05))
    tau2, problem = tau2_reml(y, v)
    assert problem is None
    best = restricted_loglik(y, v, tau2)
    for other in (tau2 * 0.9, tau2 * 1.1 + 1e-6, tau2 + 0.01):
        assert restricted_loglik(y, v, other) <= best + 1e-12


def test_reml_falls_back_to_maximising_the_likelihood_when_scoring_does_not_converge(
    monkeypatch,
):
    rng = np.random.default_rng(3)
    v = rng.uniform(0.01, 0.2, size=8)
    y = rng.normal(0.3, np.sqrt(v + 0.05))
    scored, _ = tau2_reml(y, v)
    monkeypatch.setattr(synthesis, "REML_MAX_ITERATIONS", 0)
    tau2, problem = tau2_reml(y, v)
    assert problem == "REML Fisher scoring did not converge; tau^2 maximised directly"
    assert tau2 == pytest.approx(scored, abs=1e-8)


@pytest.mark.parametrize(
    ("yi", "vi", "message"),
    [([], [], "nothing to pool"), ([0.1, 0.2], [0.1], "same length"),
     ([0.1, 0.2], [0.1, 0.0], "effect 1 cannot be pooled"),
     ([0.1, math.nan], [0.1, 0.1], "effect 1 cannot be pooled")],
)  # fmt: skip
def test_bad_input_to_pooling_is_refused(yi, vi, message):
    with pytest.raises(PipelineError, match=message):
        random_effects(yi, vi)


def test_unknown_estimator_is_refused():
    with pytest.raises(PipelineError, match="unknown tau"):
        random_effects([0.1, 0.2], [0.1, 0.1], method="PM")


def test_summary_prints_what_a_reader_needs():
    text = str(random_effects([0.2, 0.8, 0.5], [0.04, 0.05, 0.03], hksj=True))
    for part in ("k = 3", "REML", "tau^2", "I^2", "Q(2)", "t(2)", "95% CI", "prediction interval"):
        assert part in text


def test_exponentiate_back_transforms_the_log_scale():
    fit = random_effects([0.2, 0.8, 0.5], [0.04, 0.05, 0.03])
    ratio = exponentiate(fit)
    assert ratio.estimate == pytest.approx(math.exp(fit.estimate))
    assert ratio.pi_high == pytest.approx(math.exp(fit.pi_high))
    assert ratio.se == fit.se
    assert "exponentiated" in ratio.notes[-1]


def test_leave_one_out_refits_without_each_study():
    y, v = [0.2, 0.8, 0.5, -0.1], [0.04, 0.05, 0.03, 0.06]
    table = leave_one_out(y, v, labels=["A", "B", "C", "D"])
    assert list(table["omitted"]) == ["A", "B", "C", "D"]
    without_b = random_effects([0.2, 0.5, -0.1], [0.04, 0.03, 0.06])
    assert table.loc[1, "estimate"] == pytest.approx(without_b.estimate)
    assert table.loc[1, "tau2"] == pytest.approx(without_b.tau2)
    assert set(table["k"]) == {3}
    with pytest.raises(PipelineError, match="at least two"):
        leave_one_out([0.1], [0.1])
    with pytest.raises(PipelineError, match="labels"):
        leave_one_out(y, v, labels=["A"])


def test_subgroups_pool_each_group_and_test_the_difference():
    frame = pd.DataFrame(
        {
            "route": ["iv", "iv", "iv", "intranasal", "intranasal"],
            "yi": [0.9, 1.2, 0.7, 0.3, 0.4],
            "vi": [0.05, 0.08, 0.06, 0.02, 0.03],
        }
    )
    table = subgroups(frame, by="route")
    assert list(table["route"]) == ["intranasal", "iv"]
    iv = random_effects([0.9, 1.2, 0.7], [0.05, 0.08, 0.06])
    assert table.set_index("route").loc["iv", "estimate"] == pytest.approx(iv.estimate)
    assert list(table["k"]) == [2, 3]
    assert table.attrs["q_between_df"] == 1
    assert 0 <= table.attrs["q_between_p"] < 0.05
    with pytest.raises(PipelineError, match="no column"):
        subgroups(frame, by="drug")


def test_logit_proportion_matches_metafor_plo():
    # metafor 3.8-1: escalc("PLO", xi = c(16, 0, 20), ni = c(25, 10, 20))
    expected = [(16, 25, 0.5753641449, 0.1736111111), (0, 10, -3.0445224377, 2.0952380952),
                (20, 20, 3.7135720667, 2.0487804878)]  # fmt: skip
    for events, n, yi, vi in expected:
        effect = logit_proportion(events, n)
        assert (effect.yi, effect.vi) == pytest.approx((yi, vi), abs=1e-9)
        assert bool(effect.notes) == (events in (0, n))
    assert inverse_logit(logit_proportion(16, 25).yi) == pytest.approx(0.64)


def test_critical_values_are_remembered_and_exact():
    from scipy import stats

    synthesis._quantile.cache_clear()
    for _ in range(3):
        assert synthesis._critical_value(95.0, None) == float(stats.norm.ppf(0.975))
        assert synthesis._critical_value(90.0, 12.0) == float(stats.t.ppf(0.95, 12.0))
    assert synthesis._quantile.cache_info().hits == 4


def test_the_reml_step_is_the_matrix_formula_in_linear_memory():
    """The Fisher-scoring step written with sums equals metafor's matrix form on a small pool,
    and a pool of 50,000 rows (a 20 GB matrix in that form) is fitted."""
    rng = np.random.default_rng(7)
    y, v = rng.normal(0.3, 0.2, 7), rng.uniform(0.01, 0.09, 7)
    w = 1 / (v + 0.02)
    p_matrix = np.diag(w) - np.outer(w, w) / np.sum(w)
    p_y = p_matrix @ y
    matrix_step = (p_y @ p_y - np.trace(p_matrix)) / np.sum(p_matrix * p_matrix)
    assert synthesis._reml_step(y, v, 0.02) == pytest.approx(matrix_step, rel=1e-12)
    big_y, big_v = rng.normal(0.3, 0.2, 50_000), rng.uniform(0.01, 0.09, 50_000)
    fit = synthesis.random_effects(big_y, big_v, method="REML")
    assert fit.k == 50_000 and np.isfinite(fit.estimate)


# --- the distribution functions, without importing scipy.stats ------------------------------


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_normal_t_and_chi2_functions_equal_scipy_stats_exactly():
    from scipy import stats

    quantiles = [0.0, 1e-12, 0.001, 0.025, 0.05, 0.5, 0.8, 0.9, 0.95, 0.975, 0.995, 1.0, 1.5, -0.1]
    values = [0.0, 1e-9, 0.3, 1.0, 1.959963984540054, 3.5, 12.0, 40.0, math.inf, math.nan]
    for df in (1, 2, 3, 4, 9, 29, 200, 1.5):
        for q in quantiles:
            assert _same(float(synthesis._t_ppf(q, df)), float(stats.t.ppf(q, df)))
        for x in values:
            assert _same(float(synthesis._t_sf(x, df)), float(stats.t.sf(x, df)))
            assert _same(float(synthesis._chi2_sf(x, df)), float(stats.chi2.sf(x, df)))
    for q in quantiles:
        assert _same(float(synthesis._norm_ppf(q)), float(stats.norm.ppf(q)))
    for x in values:
        assert _same(float(synthesis._norm_sf(x)), float(stats.norm.sf(x)))


def test_the_marts_refresh_does_not_import_scipy_stats():
    import subprocess
    import sys

    code = "import sys, pipeline.post_ingest; print('scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
