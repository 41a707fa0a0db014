"""Pin evidence.synthesis.stats to results published for R's metafor.

Sources (all found in public copies of metafor's own repository and docs):

* README.md of wviechtb/metafor: dat.bcg per-study log RRs (yi, vi), the REML
  random-effects model with ``test="knha"``, and ``predict(res, transf=exp, digits=2)``.
* metafor's test suite, tests/testthat/test_misc_metan_vs_rma.uni_with_dat.bcg.r
  (FE and DL for RR, OR and RD, cross-checked there against Stata's metan).
* The REML (z test) print-out -0.7145 (SE 0.1798) [-1.0669, -0.3622], tau² 0.3132,
  I² 92.22%, Q 152.2330, and its ``predict(res, transf=exp)`` 0.4894 [0.3441, 0.6962],
  PI [0.1546, 1.5490], as printed by metafor in public tutorials built on ``rma(yi, vi)``.
* tests/testthat/test_analysis_example_normand1999.r (mean differences, Normand 1999
  Table IX) and tests/testthat/test_misc_rma_uni.r (SMD, REML tau² 1.0090).

The dat.bcg counts are typed from metafor's documentation (man/dat.colditz1994.Rd,
data in the metadat package) and checked against the README listing.

Tolerances: metafor prints 4 decimals, so a printed value is within 5e-5 of the
true one; we allow 1e-4 (rounding plus metafor's REML convergence threshold of
1e-5 on tau²).  Values published with 2 decimals get 5e-3; I² (printed with 2 or
4 decimals, in percent) gets 5e-3 / 1e-4 percentage points accordingly.
"""

from __future__ import annotations

import numpy as np
import pytest

from evidence.synthesis.stats import (
    difference_from_report,
    log_odds_ratio,
    log_risk_ratio,
    mean_difference,
    pool,
    pool_binary,
    ratio_from_ci,
    risk_difference,
    se_from_ci,
    smd_from_report,
    standardized_mean_difference,
)

TOL4 = 1e-4  # 4 printed decimals (+ REML convergence)
TOL2 = 5e-3  # 2 printed decimals

# dat.bcg (Colditz et al. 1994): trial, tpos, tneg, cpos, cneg
BCG = np.array([
    (1, 4, 119, 11, 128), (2, 6, 300, 29, 274), (3, 3, 228, 11, 209), (4, 62, 13536, 248, 12619),
    (5, 33, 5036, 47, 5761), (6, 180, 1361, 372, 1079), (7, 8, 2537, 10, 619), (8, 505, 87886, 499, 87892),
    (9, 29, 7470, 45, 7232), (10, 17, 1699, 65, 1600), (11, 186, 50448, 141, 27197), (12, 5, 2493, 3, 2338),
    (13, 27, 16886, 29, 17825),
])
TPOS, TNEG, CPOS, CNEG = BCG[:, 1], BCG[:, 2], BCG[:, 3], BCG[:, 4]
NT, NC = TPOS + TNEG, CPOS + CNEG


def bcg(measure: str, method: str, knha: bool = False):
    return pool_binary(TPOS, NT, CPOS, NC, measure=measure, method=method, knapp_hartung=knha)


def test_bcg_log_risk_ratios_match_escalc():
    # README: escalc(measure="RR", ...) yi and vi, 4 decimals
    yi = [-0.8893, -1.5854, -1.3481, -1.4416, -0.2175, -0.7861, -1.6209, 0.0120, -0.4694, -1.3713, -0.3394,
          0.4459, -0.0173]
    vi = [0.3256, 0.1946, 0.4154, 0.0200, 0.0512, 0.0069, 0.2230, 0.0040, 0.0564, 0.0730, 0.0124, 0.5325,
          0.0714]
    eff = log_risk_ratio(TPOS, NT, CPOS, NC)
    np.testing.assert_allclose(eff.yi, yi, atol=TOL4)
    np.testing.assert_allclose(eff.vi, vi, atol=TOL4)


def test_bcg_log_odds_ratios_match_escalc():
    # metafor-project.org analyses:vanhouwelingen2002, escalc(measure="OR"), trials 1-7
    yi = [-0.9387, -1.6662, -1.3863, -1.4564, -0.2191, -0.9581, -1.6338]
    vi = [0.3571, 0.2081, 0.4334, 0.0203, 0.0520, 0.0099, 0.2270]
    eff = log_odds_ratio(TPOS, NT, CPOS, NC)
    np.testing.assert_allclose(eff.yi[:7], yi, atol=TOL4)
    np.testing.assert_allclose(eff.vi[:7], vi, atol=TOL4)


def test_bcg_rr_reml():
    r = bcg("RR", "REML")
    assert r.k == 13 and r.df == 12
    assert r.estimate == pytest.approx(-0.7145, abs=TOL4)
    assert r.se == pytest.approx(0.1798, abs=TOL4)
    assert r.ci_low == pytest.approx(-1.0669, abs=TOL4)
    assert r.ci_high == pytest.approx(-0.3622, abs=TOL4)
    assert r.tau2 == pytest.approx(0.3132, abs=TOL4)
    assert r.i2 == pytest.approx(92.22, abs=TOL2)
    assert r.q == pytest.approx(152.2330, abs=TOL4)
    assert r.q_p < 1e-4  # printed "p-val < .0001"
    nat = r.natural  # predict(res, transf=exp)
    assert nat["estimate"] == pytest.approx(0.4894, abs=TOL4)
    assert nat["ci_low"] == pytest.approx(0.3441, abs=TOL4)
    assert nat["ci_high"] == pytest.approx(0.6962, abs=TOL4)
    assert nat["pi_low"] == pytest.approx(0.1546, abs=TOL4)
    assert nat["pi_high"] == pytest.approx(1.5490, abs=TOL4)


def test_bcg_rr_reml_knapp_hartung():
    # README: rma(yi, vi, data=dat, test="knha")
    r = bcg("RR", "REML", knha=True)
    assert r.knapp_hartung
    assert r.estimate == pytest.approx(-0.7145, abs=TOL4)
    assert r.se == pytest.approx(0.1808, abs=TOL4)
    assert r.estimate / r.se == pytest.approx(-3.9522, abs=TOL4)  # tval
    assert r.ci_low == pytest.approx(-1.1084, abs=TOL4)
    assert r.ci_high == pytest.approx(-0.3206, abs=TOL4)
    assert r.tau2 == pytest.approx(0.3132, abs=TOL4)
    # predict(res, transf=exp, digits=2): 0.49 [0.33, 0.73], PI [0.14, 1.76] (t with k-1 = 12 df)
    nat = r.natural
    for name, value in (("estimate", 0.49), ("ci_low", 0.33), ("ci_high", 0.73), ("pi_low", 0.14),
                        ("pi_high", 1.76)):
        assert nat[name] == pytest.approx(value, abs=TOL2), name


def test_bcg_rr_dl():
    r = bcg("RR", "DL")
    assert r.estimate == pytest.approx(-0.7141, abs=TOL4)
    assert r.ci_low == pytest.approx(-1.0644, abs=TOL4)
    assert r.ci_high == pytest.approx(-0.3638, abs=TOL4)
    assert r.estimate / r.se == pytest.approx(-3.9952, abs=TOL4)
    assert r.tau2 == pytest.approx(0.3088, abs=TOL4)
    assert r.i2 == pytest.approx(92.1173, abs=TOL4)
    nat = r.natural
    assert (nat["estimate"], nat["ci_low"], nat["ci_high"]) == pytest.approx((0.4896, 0.3449, 0.6950), abs=TOL4)


def test_bcg_rr_fe():
    r = bcg("RR", "FE")
    assert r.estimate == pytest.approx(-0.4303, abs=TOL4)
    assert r.ci_low == pytest.approx(-0.5097, abs=TOL4)
    assert r.ci_high == pytest.approx(-0.3509, abs=TOL4)
    assert r.estimate / r.se == pytest.approx(-10.6247, abs=TOL4)
    assert r.q == pytest.approx(152.2330, abs=TOL4)
    assert r.tau2 == 0
    nat = r.natural
    assert (nat["estimate"], nat["ci_low"], nat["ci_high"]) == pytest.approx((0.6503, 0.6007, 0.7040), abs=TOL4)
    assert np.isnan(r.pi_low) and np.isnan(r.pi_high)  # no prediction interval for a fixed-effect model


def test_bcg_or_fe_and_dl():
    fe = bcg("OR", "FE")
    assert (fe.estimate, fe.ci_low, fe.ci_high) == pytest.approx((-0.4361, -0.5190, -0.3533), abs=TOL4)
    assert fe.estimate / fe.se == pytest.approx(-10.3190, abs=TOL4)
    assert fe.q == pytest.approx(163.1649, abs=TOL4)
    assert (fe.natural["estimate"], fe.natural["ci_low"], fe.natural["ci_high"]) == pytest.approx(
        (0.6465, 0.5951, 0.7024), abs=TOL4)
    dl = bcg("OR", "DL")
    assert (dl.estimate, dl.ci_low, dl.ci_high) == pytest.approx((-0.7474, -1.1242, -0.3706), abs=TOL4)
    assert dl.estimate / dl.se == pytest.approx(-3.8873, abs=TOL4)
    assert dl.tau2 == pytest.approx(0.3663, abs=TOL4)
    assert dl.i2 == pytest.approx(92.6455, abs=TOL4)
    assert (dl.natural["estimate"], dl.natural["ci_low"], dl.natural["ci_high"]) == pytest.approx(
        (0.4736, 0.3249, 0.6903), abs=TOL4)


def test_bcg_rd_fe_and_dl():
    fe = bcg("RD", "FE")
    assert (fe.estimate, fe.ci_low, fe.ci_high) == pytest.approx((-0.0009, -0.0014, -0.0005), abs=TOL4)
    assert fe.estimate / fe.se == pytest.approx(-4.0448, abs=TOL4)
    assert fe.q == pytest.approx(276.4737, abs=TOL4)
    assert fe.natural["estimate"] == fe.estimate  # RD is not transformed
    dl = bcg("RD", "DL")
    assert (dl.estimate, dl.ci_low, dl.ci_high) == pytest.approx((-0.0071, -0.0101, -0.0040), abs=TOL4)
    assert dl.estimate / dl.se == pytest.approx(-4.5128, abs=TOL4)
    assert dl.tau2 == pytest.approx(0.0000, abs=TOL4)
    assert dl.i2 == pytest.approx(95.6596, abs=TOL4)


# dat.normand1999: n1i, m1i, sd1i, n2i, m2i, sd2i
NORMAND = np.array([
    (155, 55, 47, 156, 75, 64), (31, 27, 7, 32, 29, 4), (75, 64, 17, 71, 119, 29), (18, 66, 20, 18, 137, 48),
    (8, 14, 8, 13, 18, 11), (57, 19, 7, 52, 18, 4), (34, 52, 45, 33, 41, 34), (110, 21, 16, 183, 31, 27),
    (60, 30, 27, 52, 23, 20),
], dtype=float)


def test_normand_mean_differences_with_pooled_sd():
    n1, m1, s1, n2, m2, s2 = NORMAND.T
    sdp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))
    eff = mean_difference(m1, sdp, n1, m2, sdp, n2)
    np.testing.assert_array_equal(eff.yi, [-20, -2, -55, -71, -4, 1, 11, -10, 7])
    np.testing.assert_allclose(eff.vi, [40.59, 2.05, 15.28, 150.22, 20.19, 1.22, 95.38, 8.03, 20.69], atol=TOL2)
    fe = pool(eff.yi, eff.vi, "FE")
    assert (fe.estimate, fe.ci_low, fe.ci_high) == pytest.approx((-3.49, -5.03, -1.96), abs=TOL2)
    dl = pool(eff.yi, eff.vi, "DL")
    assert (dl.estimate, dl.ci_low, dl.ci_high) == pytest.approx((-14.10, -24.45, -3.75), abs=TOL2)
    assert dl.tau2 == pytest.approx(218.72, abs=TOL2)
    reml = pool(eff.yi, eff.vi, "REML")
    assert (reml.estimate, reml.ci_low, reml.ci_high) == pytest.approx((-15.12, -32.67, 2.43), abs=TOL2)
    assert reml.tau2 == pytest.approx(685.20, abs=TOL2)


def test_normand_smd_reml_tau2():
    # test_misc_rma_uni.r: escalc(measure="SMD", ..., subset=1:4); rma() -> tau² 1.0090
    n1, m1, s1, n2, m2, s2 = NORMAND[:4].T
    eff = standardized_mean_difference(m1, s1, n1, m2, s2, n2)
    assert pool(eff.yi, eff.vi, "REML", measure="SMD").tau2 == pytest.approx(1.0090, abs=TOL4)


def test_zero_cell_correction_follows_escalc_only0():
    # Hand-computed from metafor's documented rule (add=1/2 to all four cells, only for studies with a zero)
    eff = log_risk_ratio([0, 4], [10, 20], [3, 8], [10, 20])
    a, n1, c, n2 = 0.5, 11, 3.5, 11
    assert eff.yi[0] == pytest.approx(np.log((a / n1) / (c / n2)))
    assert eff.vi[0] == pytest.approx(1 / a - 1 / n1 + 1 / c - 1 / n2)
    assert eff.yi[1] == pytest.approx(np.log((4 / 20) / (8 / 20)))  # no zero cell: untouched
    both_zero = log_odds_ratio([0], [10], [0], [12])  # drop00=FALSE: kept, not dropped
    assert both_zero.yi[0] == pytest.approx(np.log((0.5 / 10.5) / (0.5 / 12.5)))
    rd = risk_difference([10], [10], [5], [10])  # an "all events" arm is a zero cell too
    assert rd.yi[0] == pytest.approx(10.5 / 11 - 5.5 / 11)


# ----------------------------------------------------------------- generic inverse variance (reported effects)
# metafor's rma(yi, sei=...) is rma(yi, vi=sei²): pooling effects given with their SEs is the same model.  The
# tests below feed effects the way papers print them (a ratio with its 95% CI, a mean difference with its SE,
# a Cohen's d with arm sizes) through the generic path and compare with metafor's published numbers.

def test_se_from_a_log_scale_ci_matches_metafor_summary():
    # tests/testthat/test_misc_escalc.r: summary(escalc("RR", dat.bcg)) trial 1: sei 0.5706, CI [-2.0077, 0.2290].
    # The bounds are printed to 4 decimals, so the SE they imply is within 1e-4 / (2 z) of metafor's.
    se = se_from_ci(np.exp(-2.0077), np.exp(0.2290), log=True)
    assert se == pytest.approx(0.5706, abs=TOL4)


def test_reported_ratios_with_cis_pool_to_metafors_bcg_reml():
    # Each BCG trial "reported" as an RR with its 95% CI (from the escalc values pinned above), converted back by
    # SE = (ln hi - ln lo) / (2 z): the pool must be metafor's REML fit of the same trials.  The conversion is exact
    # up to float error, so the tolerance is metafor's printing (TOL4).
    eff = log_risk_ratio(TPOS, NT, CPOS, NC)
    z = 1.959964
    rr, lo, hi = np.exp(eff.yi), np.exp(eff.yi - z * np.sqrt(eff.vi)), np.exp(eff.yi + z * np.sqrt(eff.vi))
    yi, vi = zip(*(ratio_from_ci(e, a, b) for e, a, b in zip(rr, lo, hi, strict=True)), strict=True)
    np.testing.assert_allclose(vi, eff.vi, rtol=1e-6)  # z = 1.959964 is printed to 7 figures
    r = pool(yi, vi, "REML", measure="RR")
    assert (r.estimate, r.se, r.ci_low, r.ci_high) == pytest.approx((-0.7145, 0.1798, -1.0669, -0.3622), abs=TOL4)
    assert r.tau2 == pytest.approx(0.3132, abs=TOL4)
    kh = pool(yi, vi, "REML", measure="RR", knapp_hartung=True)
    assert (kh.se, kh.ci_low, kh.ci_high) == pytest.approx((0.1808, -1.1084, -0.3206), abs=TOL4)


def test_reported_mean_differences_with_ses_pool_to_normand_table_ix():
    # Normand 1999 Table VIII as metafor prints it: yi exact, vi to 2 decimals; each MD "reported" with SE = √vi.
    # Rounding vi to 2 decimals moves each SE by at most 0.005 / (2 √vi) (≤ 0.23% for the smallest vi, 1.22), so the
    # pooled estimate and bounds move by less than 0.01; we allow 0.01 (Table IX prints 2 decimals).
    yi = [-20, -2, -55, -71, -4, 1, 11, -10, 7]
    vi = [40.59, 2.05, 15.28, 150.22, 20.19, 1.22, 95.38, 8.03, 20.69]
    yv = [difference_from_report(y, se=np.sqrt(v)) for y, v in zip(yi, vi, strict=True)]
    ys, vs = zip(*yv, strict=True)
    fe = pool(ys, vs, "FE")
    assert (fe.estimate, fe.ci_low, fe.ci_high) == pytest.approx((-3.49, -5.03, -1.96), abs=0.01)
    dl = pool(ys, vs, "DL")
    assert (dl.estimate, dl.ci_low, dl.ci_high) == pytest.approx((-14.10, -24.45, -3.75), abs=0.01)
    # the CI route gives the same SE: an MD printed with a 95% CI of ±z·SE
    y, v = difference_from_report(-20, low=-20 - 1.959964 * np.sqrt(40.59), high=-20 + 1.959964 * np.sqrt(40.59))
    assert (y, v) == pytest.approx((-20, 40.59), rel=1e-6)


# escalc(measure="SMD", ..., data=dat.normand1999, subset=1:4): tests/testthat/test_misc_escalc.r (4 decimals)
NORMAND_SMD_YI = [-0.3552, -0.3479, -2.3176, -1.8880]
NORMAND_SMD_VI = [0.0131, 0.0645, 0.0458, 0.1606]


def test_smd_from_arm_means_matches_escalc_smd():
    n1, m1, s1, n2, m2, s2 = NORMAND[:4].T
    eff = standardized_mean_difference(m1, s1, n1, m2, s2, n2)
    np.testing.assert_allclose(eff.yi, NORMAND_SMD_YI, atol=TOL4)
    np.testing.assert_allclose(eff.vi, NORMAND_SMD_VI, atol=TOL4)


def test_reported_cohens_d_and_hedges_g_with_arm_sizes_match_escalc_smd():
    # A trial that prints Cohen's d (pooled-SD standardized difference, uncorrected) and its arm sizes: Hedges' J
    # and v = (n1 + n2) / (n1 n2) + g² / (2 (n1 + n2)) must give escalc's yi and vi.  A trial printing Hedges' g
    # (already corrected) must give the same variance from the same g.
    n1, m1, s1, n2, m2, s2 = NORMAND[:4].T
    sdp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))
    d = (m1 - m2) / sdp
    from_d = [smd_from_report(x, a, b, corrected=False) for x, a, b in zip(d, n1, n2, strict=True)]
    np.testing.assert_allclose([g for g, _ in from_d], NORMAND_SMD_YI, atol=TOL4)
    np.testing.assert_allclose([v for _, v in from_d], NORMAND_SMD_VI, atol=TOL4)
    from_g = [smd_from_report(g, a, b, corrected=True) for (g, _), a, b in zip(from_d, n1, n2, strict=True)]
    np.testing.assert_allclose(from_g, from_d, rtol=1e-12)
    # J = 1 - 3 / (4 (n1 + n2) - 9) is the usual approximation of metafor's exact J: within 2e-4 here
    approx = 1 - 3 / (4 * (n1 + n2) - 9)
    np.testing.assert_allclose(np.array([g for g, _ in from_d]) / d, approx, atol=2e-4)
