"""Agreement with R's metafor on three published datasets that ship with it (to 1e-4).

The reference values below were produced with R 4.2 and metafor 3.8-1 (Debian package
r-cran-metafor 3.8-1) by this code, printing with 12 significant digits:

    library(metafor)
    fit_all <- function(dat) for (m in c("REML", "DL")) for (t in c("z", "knha")) {
      res <- rma(yi, vi, data = dat, method = m, test = t,
                 control = list(threshold = 1e-10)); p <- predict(res)
      print(c(res$b[1], res$se, res$ci.lb, res$ci.ub, res$tau2, res$I2, res$H2, res$QE,
              res$pval, p$pi.lb, p$pi.ub))
    }
    bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
    fit_all(bcg)
    nd <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i,
                 m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
    fit_all(nd)
    ns <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i,
                 m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
    print(ns[, c("yi", "vi")])  # NORMAND_SMD_ESCALC
    fit_all(dat.hackshaw1998)   # yi, vi as shipped (log OR, variance from the CI)

`threshold = 1e-10` asks Fisher scoring to converge fully. With metafor's default (stop once
tau² changes by less than 1e-5) REML tau² on dat.hackshaw1998 is 0.0223951749 rather than the
REML solution 0.0223945310, which moves I² by 6e-4; every other number of the default fit agrees
with these to 1e-4 as well (DL needs no iteration and is unaffected).

The datasets and where they were published:
- dat.bcg: BCG vaccine against tuberculosis, 13 trials. Colditz GA et al. Efficacy of BCG
  vaccine in the prevention of tuberculosis. JAMA 1994;271(9):698-702.
- dat.normand1999: length of hospital stay (days), specialist vs routine stroke care, 9 trials.
  Normand SLT. Meta-analysis: formulating, evaluating, combining, and reporting. Statistics in
  Medicine 1999;18(3):321-359.
- dat.hackshaw1998: lung cancer and exposure to environmental tobacco smoke, 37 studies
  (odds ratios with 95% CIs). Hackshaw AK, Law MR, Wald NJ. The accumulated evidence on lung
  cancer and environmental tobacco smoke. BMJ 1997;315(7114):980-988.
"""

from __future__ import annotations

import math

import pytest

from pipeline.synthesis import (
    hedges_g,
    log_ratio_from_ci,
    log_risk_ratio,
    mean_difference_from_ci,
    random_effects,
)

TOLERANCE = 1e-4

# dat.bcg: tpos, tneg, cpos, cneg (vaccinated TB+, TB-, control TB+, TB-)
BCG = [
    ("Aronson 1948", 4, 119, 11, 128),
    ("Ferguson & Simes 1949", 6, 300, 29, 274),
    ("Rosenthal et al 1960", 3, 228, 11, 209),
    ("Hart & Sutherland 1977", 62, 13536, 248, 12619),
    ("Frimodt-Moller et al 1973", 33, 5036, 47, 5761),
    ("Stein & Aronson 1953", 180, 1361, 372, 1079),
    ("Vandiviere et al 1973", 8, 2537, 10, 619),
    ("TPT Madras 1980", 505, 87886, 499, 87892),
    ("Coetzee & Berjak 1968", 29, 7470, 45, 7232),
    ("Rosenthal et al 1961", 17, 1699, 65, 1600),
    ("Comstock et al 1974", 186, 50448, 141, 27197),
    ("Comstock & Webster 1969", 5, 2493, 3, 2338),
    ("Comstock et al 1976", 27, 16886, 29, 17825),
]
# escalc(measure = "RR", ...) on dat.bcg: yi, vi
BCG_ESCALC = [
    (-0.8893113339202, 0.32558476500396),
    (-1.5853886572014, 0.19458112139814),
    (-1.3480731482997, 0.41536796536797),
    (-1.4415511900213, 0.02001003190225),
    (-0.2175473222113, 0.05121017216963),
    (-0.7861155858189, 0.00690561845591),
    (-1.6208982235984, 0.22301724757232),
    (0.0119523335238, 0.00396157929782),
    (-0.4694176487381, 0.05643421046325),
    (-1.3713448034728, 0.07302479361303),
    (-0.3393588283384, 0.01241221397156),
    (0.4459134005714, 0.53250584520015),
    (-0.0173139482169, 0.07140465968399),
]

# dat.normand1999: source, n1i, m1i, sd1i, n2i, m2i, sd2i (length of stay in days)
NORMAND = [
    ("Edinburgh", 155, 55, 47, 156, 75, 64),
    ("Orpington-Mild", 31, 27, 7, 32, 29, 4),
    ("Orpington-Moderate", 75, 64, 17, 71, 119, 29),
    ("Orpington-Severe", 18, 66, 20, 18, 137, 48),
    ("Montreal-Home", 8, 14, 8, 13, 18, 11),
    ("Montreal-Transfer", 57, 19, 7, 52, 18, 4),
    ("Newcastle", 34, 52, 45, 33, 41, 34),
    ("Umea", 110, 21, 16, 183, 31, 27),
    ("Uppsala", 60, 30, 27, 52, 23, 20),
]
# escalc(measure = "SMD", ...) on dat.normand1999: yi, vi
NORMAND_SMD_ESCALC = [
    (-0.355169640940, 0.0130646755415),
    (-0.347940022739, 0.0644688760989),
    (-2.317569160164, 0.0458121102802),
    (-1.887982252937, 0.1606177359362),
    (-0.383964141170, 0.2054332783922),
    (0.172148669070, 0.0369105700004),
    (0.272052073853, 0.0602671258364),
    (-0.424596271894, 0.0148630384193),
    (0.289556230081, 0.0362717341581),
]

# dat.hackshaw1998: author year, or, or.lb, or.ub, and the shipped yi, vi
HACKSHAW = [
    ("Garfinkel 1981", 1.18, 0.90, 1.54, 0.165514438478, 0.018776885485),
    ("Hirayama 1984", 1.45, 1.02, 2.08, 0.371563556432, 0.033044038906),
    ("Butler 1988", 2.02, 0.48, 8.56, 0.703097511413, 0.540195865342),
    ("Cardenas 1997", 1.20, 0.80, 1.60, 0.182321556794, 0.031267614489),
    ("Chan 1982", 0.75, 0.43, 1.30, -0.287682072452, 0.079655654102),
    ("Correa 1983", 2.07, 0.81, 5.25, 0.727548607277, 0.227320591670),
    ("Trichopolous 1983", 2.13, 1.19, 3.83, 0.756121979721, 0.088921562707),
    ("Buffler 1984", 0.80, 0.34, 1.90, -0.223143551314, 0.192679603117),
    ("Kabat 1984", 0.79, 0.25, 2.45, -0.235722333521, 0.339016347539),
    ("Lam 1985", 2.01, 1.09, 3.72, 0.698134722071, 0.098066202439),
    ("Garfinkel 1985", 1.23, 0.81, 1.87, 0.207014169384, 0.045555548578),
    ("Wu 1985", 1.20, 0.50, 3.30, 0.182321556794, 0.231749969641),
    ("Akiba 1986", 1.52, 0.87, 2.63, 0.418710334858, 0.079642922019),
    ("Lee 1986", 1.03, 0.41, 2.55, 0.029558802242, 0.217395024673),
    ("Koo 1987", 1.55, 0.90, 2.67, 0.438254930931, 0.076957974039),
    ("Pershagen 1987", 1.03, 0.61, 1.74, 0.029558802242, 0.071501763526),
    ("Humble 1987", 2.34, 0.81, 6.75, 0.850150929370, 0.292565772066),
    ("Lam 1987", 1.65, 1.16, 2.35, 0.500775287912, 0.032437507430),
    ("Gao 1987", 1.19, 0.82, 1.73, 0.173953307123, 0.036273346642),
    ("Brownson 1987", 1.52, 0.39, 5.96, 0.418710334858, 0.483851241822),
    ("Geng 1988", 2.16, 1.08, 4.29, 0.770108221696, 0.123816201922),
    ("Shimizu 1988", 1.08, 0.64, 1.82, 0.076961041136, 0.071085191722),
    ("Inoue 1988", 2.55, 0.74, 8.78, 0.936093359170, 0.398195433354),
    ("Kalandidi 1990", 1.62, 0.90, 2.91, 0.482426149244, 0.089623124069),
    ("Sobue 1990", 1.06, 0.74, 1.52, 0.058268908124, 0.033719888333),
    ("Wu-Williams 1990", 0.79, 0.62, 1.02, -0.235722333521, 0.016129490917),
    ("Liu 1991", 0.74, 0.32, 1.69, -0.301105092784, 0.180233473436),
    ("Jockel 1991", 2.27, 0.75, 6.82, 0.819779831493, 0.317147722864),
    ("Brownson 1992", 0.97, 0.78, 1.21, -0.030459207485, 0.012546845149),
    ("Stockwell 1992", 1.60, 0.80, 3.00, 0.470003629246, 0.113696292351),
    ("Du 1993", 1.19, 0.66, 2.13, 0.173953307123, 0.089336780417),
    ("Liu 1993", 1.66, 0.73, 3.78, 0.506817602368, 0.175985594792),
    ("Fontham 1994", 1.26, 1.04, 1.54, 0.231111720963, 0.010029047432),
    ("Kabat 1995", 1.10, 0.62, 1.96, 0.095310179804, 0.086214355887),
    ("Zaridze 1995", 1.66, 1.12, 2.45, 0.506817602368, 0.039874967544),
    ("Sun 1996", 1.16, 0.80, 1.69, 0.148420005118, 0.036399755570),
    ("Wang 1996", 1.11, 0.67, 1.84, 0.104360015324, 0.066419506622),
]

FIELDS = ("estimate", "se", "ci_low", "ci_high", "tau2", "i2", "h2", "q", "p", "pi_low", "pi_high")

# rma(yi, vi, method = ..., test = ...) and predict(): the FIELDS above, in order.
REFERENCE = {
    ("bcg", "REML", False): (
        -0.714532342158,
        0.179781516105,
        -1.066897638811,
        -0.362167045506,
        0.313243258137,
        92.221384521276,
        12.855758235321,
        152.233008082373,
        7.05425810168e-05,
        -1.866692217903,
        0.437627533587,
    ),
    ("bcg", "REML", True): (
        -0.714532342158,
        0.180791744093,
        -1.108443713686,
        -0.320620970631,
        0.313243258137,
        92.221384521276,
        12.855758235321,
        152.233008082373,
        0.00192001509606,
        -1.996016834197,
        0.566952149880,
    ),
    ("bcg", "DL", False): (
        -0.714117222073,
        0.178742089535,
        -1.064445280084,
        -0.363789164062,
        0.308760262862,
        92.117346854562,
        12.686084006864,
        152.233008082373,
        6.4629243047e-05,
        -1.858153752732,
        0.429919308586,
    ),
    ("bcg", "DL", True): (
        -0.714117222073,
        0.180696628336,
        -1.107821354168,
        -0.320413089978,
        0.308760262862,
        92.117346854562,
        12.686084006864,
        152.233008082373,
        0.00192076676705,
        -1.987206963431,
        0.558972519284,
    ),
    ("normand_md", "REML", False): (
        -15.106027473478,
        8.946552839755,
        -32.640948825183,
        2.428893878226,
        684.646151929677,
        98.971274347391,
        97.207646904056,
        238.915810862010,
        0.0913201554907,
        -69.304860174884,
        39.092805227928,
    ),
    ("normand_md", "REML", True): (
        -15.106027473478,
        9.198908746625,
        -36.318749082562,
        6.106694135605,
        684.646151929677,
        98.971274347391,
        97.207646904056,
        238.915810862010,
        0.13918403726,
        -79.064542466481,
        48.852487519525,
    ),
    ("normand_md", "DL", False): (
        -13.981721817044,
        5.126698339231,
        -24.029865921539,
        -3.933577712549,
        205.409375467911,
        96.651540150844,
        29.864476357751,
        238.915810862010,
        0.00638671324117,
        -43.815207318895,
        15.851763684807,
    ),
    ("normand_md", "DL", True): (
        -13.981721817044,
        8.736806664969,
        -34.128834114941,
        6.165390480853,
        205.409375467911,
        96.651540150844,
        29.864476357751,
        238.915810862010,
        0.148194269341,
        -52.688340645751,
        24.724897011663,
    ),
    ("hackshaw", "REML", False): (
        0.218889231613,
        0.049395534015,
        0.122075763947,
        0.315702699280,
        0.022394530977,
        29.569382925659,
        1.419837056013,
        47.497945763796,
        9.36420263908e-06,
        -0.089980508050,
        0.527758971277,
    ),
    ("hackshaw", "REML", True): (
        0.218889231613,
        0.046168676412,
        0.125254815949,
        0.312523647278,
        0.022394530977,
        29.569382925659,
        1.419837056013,
        47.497945763796,
        3.30548711421e-05,
        -0.098726591361,
        0.536505054588,
    ),
    ("hackshaw", "DL", False): (
        0.213888935684,
        0.047122639437,
        0.121530259530,
        0.306247611838,
        0.017036444318,
        24.207248500756,
        1.319387382328,
        47.497945763796,
        5.65257581618e-06,
        -0.058094380641,
        0.485872252009,
    ),
    ("hackshaw", "DL", True): (
        0.213888935684,
        0.045651193067,
        0.121304024887,
        0.306473846481,
        0.017036444318,
        24.207248500756,
        1.319387382328,
        47.497945763796,
        3.91439676689e-05,
        -0.066549429944,
        0.494327301312,
    ),
}


def _bcg_effects():
    effects = [log_risk_ratio(tp, tp + tn, cp, cp + cn) for _, tp, tn, cp, cn in BCG]
    return [e.yi for e in effects], [e.vi for e in effects]


def _normand_md_effects():
    """escalc(measure = "MD"): yi = m1 - m2, vi = sd1²/n1 + sd2²/n2 (computed by hand here)."""
    rows = [(m1 - m2, sd1**2 / n1 + sd2**2 / n2) for _, n1, m1, sd1, n2, m2, sd2 in NORMAND]
    return [r[0] for r in rows], [r[1] for r in rows]


def _hackshaw_effects():
    effects = [
        log_ratio_from_ci(odds, low, high, kind="odds_ratio") for _, odds, low, high, *_ in HACKSHAW
    ]
    return [e.yi for e in effects], [e.vi for e in effects]


DATASETS = {"bcg": _bcg_effects, "normand_md": _normand_md_effects, "hackshaw": _hackshaw_effects}


def test_log_risk_ratio_matches_escalc_on_bcg():
    yi, vi = _bcg_effects()
    for (y, v), (ry, rv) in zip(zip(yi, vi, strict=True), BCG_ESCALC, strict=True):
        assert y == pytest.approx(ry, abs=1e-10)
        assert v == pytest.approx(rv, abs=1e-10)


def test_hedges_g_matches_escalc_smd_on_normand():
    for (_, n1, m1, sd1, n2, m2, sd2), (ry, rv) in zip(NORMAND, NORMAND_SMD_ESCALC, strict=True):
        g = hedges_g(m1, sd1, n1, m2, sd2, n2)
        assert g.yi == pytest.approx(ry, abs=1e-9)
        assert g.vi == pytest.approx(rv, abs=1e-9)


def test_log_odds_ratio_from_ci_matches_shipped_hackshaw_values():
    for _, odds, low, high, ry, rv in HACKSHAW:
        effect = log_ratio_from_ci(odds, low, high, kind="odds_ratio")
        assert effect.yi == pytest.approx(ry, abs=1e-9)
        assert effect.vi == pytest.approx(rv, abs=1e-9)


def test_mean_difference_variance_from_a_normal_ci_round_trips():
    """An MD CI built as md +- 1.959964 se gives back se² (what escalc's MD variance is)."""
    md, var = -20.0, 47**2 / 155 + 64**2 / 156
    half = 1.959963984540054 * math.sqrt(var)
    assert mean_difference_from_ci(md, md - half, md + half).vi == pytest.approx(var, rel=1e-12)


@pytest.mark.parametrize("key", sorted(REFERENCE), ids=lambda k: "-".join(map(str, k)))
def test_random_effects_matches_metafor(key):
    dataset, method, hksj = key
    yi, vi = DATASETS[dataset]()
    fit = random_effects(yi, vi, method=method, hksj=hksj)
    expected = dict(zip(FIELDS, REFERENCE[key], strict=True))
    for name, value in expected.items():
        assert getattr(fit, name) == pytest.approx(value, abs=TOLERANCE), name
    assert fit.k == len(yi)
    assert fit.df == (len(yi) - 1 if hksj else None)
