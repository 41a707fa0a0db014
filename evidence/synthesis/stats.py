"""Effect sizes and meta-analytic pooling that reproduce R's metafor.

Why our own code: statsmodels' ``combine_effects`` has no REML and does not clamp
the DerSimonian-Laird tau² at 0; PyMARE defaults to ML with Knapp-Hartung.  Every
choice here follows metafor (``escalc`` and ``rma.uni`` defaults) and is pinned
against metafor's published BCG-vaccine results in ``tests/test_stats_metafor.py``.

Conventions (metafor's):

* 2x2 tables (RR, OR, RD): 0.5 is added to all four cells of a study only when
  one of its cells is zero (``add=1/2, to="only0"``).  Studies with no events (or
  only events) in both arms are kept, not dropped (``drop00=FALSE``); after the
  correction they carry almost no weight.
* Single proportions (logit scale): 0.5 is added to events and non-events when
  events are 0 or n, so the variance ``1/(n p (1-p))`` stays finite.
* Pooling: inverse-variance weights; the method is always passed explicitly.  REML
  finds the global maximum of the restricted likelihood (tau² >= 0).
  Prediction intervals use z (or t with k-1 df under Knapp-Hartung) times
  ``sqrt(se² + tau²)``, so they equal the CI when tau² = 0, as in ``predict.rma``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
from scipy import optimize, special, stats
from statsmodels.stats.proportion import proportion_confint

Method = Literal["FE", "DL", "REML"]
METHODS: tuple[str, ...] = ("FE", "DL", "REML")
METHOD_NAMES = {"FE": "fixed effect (inverse variance)", "DL": "DerSimonian-Laird random effects",
                "REML": "REML random effects"}
RATIO_MEASURES = {"RR", "OR"}
SCALE_NAMES = {"RR": "log risk ratio", "OR": "log odds ratio", "PLO": "logit", "RD": "risk difference",
               "MD": "mean difference", "SMD": "Hedges' g"}

ArrayLike = Sequence[float] | np.ndarray


class Effects(NamedTuple):
    """Per-study effect sizes ``yi`` and sampling variances ``vi`` (arrays)."""

    yi: np.ndarray
    vi: np.ndarray


# --------------------------------------------------------------------------- per-study effects

def _counts(name: str, values: ArrayLike) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative whole numbers")
    return arr


def _two_by_two(events_t, total_t, events_c, total_c) -> tuple[np.ndarray, ...]:
    a, n1 = _counts("events_t", events_t), _counts("total_t", total_t)
    c, n2 = _counts("events_c", events_c), _counts("total_c", total_c)
    if not (len(a) == len(n1) == len(c) == len(n2)):
        raise ValueError("events and totals must have the same length")
    if np.any(n1 < 1) or np.any(n2 < 1):
        raise ValueError("every arm needs a total of at least 1")
    if np.any(a > n1) or np.any(c > n2):
        raise ValueError("events exceed the arm total")
    b, d = n1 - a, n2 - c
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)  # metafor: to="only0"
    add = np.where(zero, 0.5, 0.0)
    return a + add, b + add, c + add, d + add


def log_risk_ratio(events_t: ArrayLike, total_t: ArrayLike, events_c: ArrayLike, total_c: ArrayLike) -> Effects:
    """log(p_t / p_c) with variance 1/a - 1/n1 + 1/c - 1/n2 (metafor ``measure="RR"``)."""
    a, b, c, d = _two_by_two(events_t, total_t, events_c, total_c)
    n1, n2 = a + b, c + d
    return Effects(np.log(a / n1) - np.log(c / n2), 1 / a - 1 / n1 + 1 / c - 1 / n2)


def log_odds_ratio(events_t: ArrayLike, total_t: ArrayLike, events_c: ArrayLike, total_c: ArrayLike) -> Effects:
    """log((a d) / (b c)) with variance 1/a + 1/b + 1/c + 1/d (metafor ``measure="OR"``)."""
    a, b, c, d = _two_by_two(events_t, total_t, events_c, total_c)
    return Effects(np.log(a / b) - np.log(c / d), 1 / a + 1 / b + 1 / c + 1 / d)


def risk_difference(events_t: ArrayLike, total_t: ArrayLike, events_c: ArrayLike, total_c: ArrayLike) -> Effects:
    """p_t - p_c with the large-sample variance (metafor ``measure="RD"``, ``vtype="LS"``)."""
    a, b, c, d = _two_by_two(events_t, total_t, events_c, total_c)
    n1, n2 = a + b, c + d
    p1, p2 = a / n1, c / n2
    return Effects(p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)


def binary_effects(measure: str, events_t, total_t, events_c, total_c) -> Effects:
    """Dispatch on ``measure`` ("RR", "OR" or "RD")."""
    fns = {"RR": log_risk_ratio, "OR": log_odds_ratio, "RD": risk_difference}
    if measure not in fns:
        raise ValueError(f"unknown measure {measure!r}; choose from RR, OR, RD")
    return fns[measure](events_t, total_t, events_c, total_c)


def _means(mean_t, sd_t, n_t, mean_c, sd_c, n_c) -> tuple[np.ndarray, ...]:
    arrays = [np.asarray(x, dtype=float).ravel() for x in (mean_t, sd_t, n_t, mean_c, sd_c, n_c)]
    if len({len(x) for x in arrays}) != 1:
        raise ValueError("means, SDs and ns must have the same length")
    if any(not np.all(np.isfinite(x)) for x in arrays):
        raise ValueError("means, SDs and ns must be finite")
    if np.any(arrays[1] < 0) or np.any(arrays[4] < 0):
        raise ValueError("SDs must be non-negative")
    if np.any(arrays[2] < 2) or np.any(arrays[5] < 2):
        raise ValueError("each arm needs n >= 2")
    return tuple(arrays)


def mean_difference(mean_t, sd_t, n_t, mean_c, sd_c, n_c) -> Effects:
    """m_t - m_c with variance sd_t²/n_t + sd_c²/n_c (metafor ``measure="MD"``, no equal-variance assumption)."""
    m1, s1, n1, m2, s2, n2 = _means(mean_t, sd_t, n_t, mean_c, sd_c, n_c)
    return Effects(m1 - m2, s1**2 / n1 + s2**2 / n2)


def hedges_correction(df: ArrayLike) -> np.ndarray:
    """Exact small-sample factor J(m) = Γ(m/2) / (sqrt(m/2) Γ((m-1)/2)), as metafor's ``.cmicalc``."""
    m = np.asarray(df, dtype=float)
    return np.exp(special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2))


def standardized_mean_difference(mean_t, sd_t, n_t, mean_c, sd_c, n_c) -> Effects:
    """Hedges' g (pooled SD, exact bias correction) with metafor's large-sample variance.

    g = J(n_t + n_c - 2) * (m_t - m_c) / sd_pooled;  v = 1/n_t + 1/n_c + g² / (2 (n_t + n_c))
    (metafor ``measure="SMD"``, ``vtype="LS"``).
    """
    m1, s1, n1, m2, s2, n2 = _means(mean_t, sd_t, n_t, mean_c, sd_c, n_c)
    df = n1 + n2 - 2
    sd_pooled = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / df)
    if np.any(sd_pooled <= 0):
        raise ValueError("pooled SD is zero; the SMD is undefined")
    g = hedges_correction(df) * (m1 - m2) / sd_pooled
    return Effects(g, 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2)))


# --------------------------------------------------------------------------- effects as reported

# Generic inverse-variance inputs from what a paper prints (what R's metafor takes as rma(yi, sei=...)).
#   ratio (OR, RR, HR) with a 95% CI:  yi = ln(est),  SE = (ln hi - ln lo) / (2 z),  z = 1.959964 (95%)
#   mean difference:                    yi = MD,       SE as reported, else (hi - lo) / (2 z)
#   Cohen's d with arm sizes:           g = J d,  J = Γ(m/2) / (√(m/2) Γ((m-1)/2)),  m = n1 + n2 - 2
#                                       (≈ 1 - 3 / (4 (n1 + n2) - 9); metafor's escalc uses the exact J)
#   Hedges' g / SMD with arm sizes:     used as printed (already corrected)
#   variance of g (escalc "SMD", vtype "LS"):  v = (n1 + n2) / (n1 n2) + g² / (2 (n1 + n2))

def z_value(level: float = 0.95) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


def se_from_ci(low: float, high: float, *, log: bool, level: float = 0.95) -> float:
    """The SE implied by a symmetric (on the analysis scale) CI: (hi - lo) / (2 z), on the log scale for ratios."""
    if log:
        if low <= 0 or high <= 0:
            raise ValueError("ratio confidence bounds must be positive")
        low, high = math.log(low), math.log(high)
    if not high > low:
        raise ValueError(f"the CI upper bound ({high}) must exceed the lower ({low})")
    return (high - low) / (2 * z_value(level))


def ratio_from_ci(estimate: float, low: float, high: float, level: float = 0.95) -> tuple[float, float]:
    """(yi, vi) on the log scale from a reported OR/RR/HR and its CI."""
    if estimate <= 0:
        raise ValueError("a ratio must be positive")
    return math.log(estimate), se_from_ci(low, high, log=True, level=level) ** 2


def difference_from_report(estimate: float, *, se: float | None = None, low: float | None = None,
                           high: float | None = None, level: float = 0.95) -> tuple[float, float]:
    """(yi, vi) from a reported mean difference with its SE (preferred) or its CI."""
    if se is not None:
        if not se > 0:
            raise ValueError("the SE must be positive")
        return float(estimate), float(se) ** 2
    if low is None or high is None:
        raise ValueError("a mean difference needs its SE or its CI")
    return float(estimate), se_from_ci(low, high, log=False, level=level) ** 2


def smd_from_report(value: float, n1: float, n2: float, *, corrected: bool) -> tuple[float, float]:
    """(g, v) from a reported standardized difference and the arm sizes.

    ``corrected=False`` (Cohen's d) applies Hedges' J first; ``corrected=True`` (Hedges' g, SMD) uses the value
    as printed.  v = (n1 + n2) / (n1 n2) + g² / (2 (n1 + n2)), as metafor's escalc("SMD")."""
    if n1 < 2 or n2 < 2:
        raise ValueError("each arm needs n >= 2")
    g = float(value) if corrected else float(hedges_correction(n1 + n2 - 2) * value)
    return g, (n1 + n2) / (n1 * n2) + g**2 / (2 * (n1 + n2))


def combine_groups(ns: ArrayLike, means: ArrayLike, sds: ArrayLike) -> tuple[float, float, float]:
    """Several arms (e.g. doses) as one group: n, mean and SD (Cochrane Handbook, Table 6.5.a), applied pairwise.

    SD = √(((n1-1)s1² + (n2-1)s2² + n1 n2 / (n1 + n2) (m1 - m2)²) / (n1 + n2 - 1))."""
    n, m, s = float(ns[0]), float(means[0]), float(sds[0])
    for n2, m2, s2 in zip(ns[1:], means[1:], sds[1:], strict=True):
        n2, m2, s2 = float(n2), float(m2), float(s2)
        total = n + n2
        s = math.sqrt(((n - 1) * s**2 + (n2 - 1) * s2**2 + n * n2 / total * (m - m2) ** 2) / (total - 1))
        m = (n * m + n2 * m2) / total
        n = total
    return n, m, s


# Below this many studies a random-effects interval uses Knapp-Hartung (t with k-1 df, metafor's test="knha"):
# the z interval treats tau² as known; in simulations of 2-20 trials DerSimonian-Laird's error rate could exceed
# 30% where HKSJ's at most doubled the nominal 5% (IntHout, Ioannidis & Borm 2014, BMC Med Res Methodol 14:25).
SMALL_K = 5


def needs_knapp_hartung(k: int, method: str) -> bool:
    return method != "FE" and 2 <= k < SMALL_K


def wilson_interval(events: int, total: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for one proportion (statsmodels' default is the weaker Wald interval).

    The bounds are exactly 0 for 0 events and 1 for all events; statsmodels' floating-point
    result can miss them by ~1e-18 and then not contain the observed proportion.
    """
    if total < 1 or not 0 <= events <= total:
        raise ValueError(f"need 0 <= events <= total and total >= 1 (got {events}/{total})")
    low, high = proportion_confint(events, total, alpha=1 - level, method="wilson")
    low = 0.0 if events == 0 else min(max(0.0, float(low)), events / total)
    high = 1.0 if events == total else max(min(1.0, float(high)), events / total)
    return low, high


def logit_proportion(events: ArrayLike, total: ArrayLike) -> Effects:
    """logit(p) with variance 1/(n p (1-p)); 0.5 added to events and non-events when events are 0 or n.

    This is metafor's ``measure="PLO"`` with its default ``add=1/2, to="only0"``.
    """
    x, n = _counts("events", events), _counts("total", total)
    if len(x) != len(n):
        raise ValueError("events and totals must have the same length")
    if np.any(n < 1) or np.any(x > n):
        raise ValueError("need 0 <= events <= total and total >= 1")
    add = np.where((x == 0) | (x == n), 0.5, 0.0)
    x, m = x + add, n - x + add
    p = x / (x + m)
    return Effects(np.log(p / (1 - p)), 1 / ((x + m) * p * (1 - p)))


# --------------------------------------------------------------------------- pooling

@dataclass(frozen=True)
class PooledResult:
    """A pooled estimate on the analysis scale (log RR, log OR, logit, ...).

    ``df`` is k - 1 (for Q, and for the t distribution under Knapp-Hartung).  The
    prediction interval is NaN for a fixed-effect model, which assumes there is no
    between-study spread to predict.
    """

    method: str
    measure: str
    k: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    i2: float
    q: float
    q_p: float
    df: int
    knapp_hartung: bool
    level: float = 0.95

    @property
    def natural(self) -> dict[str, float]:
        """Estimate and interval bounds back-transformed to the reporting scale."""
        return {name: back_transform(getattr(self, name), self.measure)
                for name in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")}

    def describe(self) -> str:
        """How it was computed, in words, e.g. "REML random effects, 95% CI, log risk ratio scale"."""
        test = ", Knapp-Hartung t" if self.knapp_hartung else ""
        scale = SCALE_NAMES.get(self.measure, self.measure)
        how = "single study (not pooled)" if self.k == 1 else METHOD_NAMES.get(self.method, self.method)
        return f"{how}{test}, {self.level:.0%} CI, {scale} scale"


def back_transform(value: float, measure: str) -> float:
    """exp for RR/OR, inverse logit for proportions (PLO), identity otherwise; NaN stays NaN."""
    if measure in RATIO_MEASURES:
        return float(np.exp(value))
    if measure == "PLO":
        return float(special.expit(value))
    return float(value)


def empty_result(method: str, measure: str = "GEN", knapp_hartung: bool = False) -> PooledResult:
    """k = 0: every number NaN, so callers can show "no studies" without special-casing errors."""
    nan = math.nan
    return PooledResult(method, measure, 0, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, 0, knapp_hartung)


def _restricted_loglik(tau2: np.ndarray | float, y: np.ndarray, v: np.ndarray) -> np.ndarray:
    """REML log-likelihood (up to a constant) of the intercept-only model, vectorised over tau²."""
    t = np.atleast_1d(np.asarray(tau2, dtype=float))[:, None]
    w = 1 / (v + t)
    sw = w.sum(axis=1)
    mu = (w * y).sum(axis=1) / sw
    return -0.5 * (np.log(v + t).sum(axis=1) + np.log(sw) + (w * (y - mu[:, None]) ** 2).sum(axis=1))


def _reml_tau2(y: np.ndarray, v: np.ndarray) -> float:
    """Global maximum of the restricted likelihood over tau² >= 0.

    A log-spaced grid brackets the maximum and the root of the REML score within the
    bracket pins it down.  metafor uses Fisher scoring from a starting value, which
    reaches the same point when the likelihood has one peak (as for dat.bcg); with
    variances spanning orders of magnitude it can have two, and plain scoring can
    oscillate or stop at the lower one (found by property testing).
    """
    upper = 10 * (float(np.var(y)) + float(v.max()))
    for _ in range(20):
        grid = np.concatenate(([0.0], np.geomspace(float(v.min()) * 1e-6, upper, 400)))
        ll = _restricted_loglik(grid, y, v)
        i = int(np.argmax(ll))
        if i < len(grid) - 1:
            break
        upper *= 10  # the maximum lies beyond the grid
    else:
        raise RuntimeError("REML: the restricted likelihood keeps increasing with tau²")
    if i == 0:
        return 0.0
    lo, hi = float(grid[i - 1]), float(grid[i + 1])
    if _reml_score(lo, y, v) > 0 > _reml_score(hi, y, v):  # the score's root is precise; the peak is flat
        return float(optimize.brentq(_reml_score, lo, hi, args=(y, v), xtol=1e-15, rtol=1e-14))
    found = optimize.minimize_scalar(lambda t: -_restricted_loglik(t, y, v)[0], bounds=(lo, hi), method="bounded")
    return max((float(found.x), float(grid[i])), key=lambda t: _restricted_loglik(t, y, v)[0])


def _reml_score(tau2: float, y: np.ndarray, v: np.ndarray) -> float:
    """d(restricted log-likelihood)/d tau² = (Y'PPY - tr P) / 2 with P = W - w w' / Σw."""
    w = 1 / (v + tau2)
    sw = w.sum()
    resid = y - (w * y).sum() / sw
    return 0.5 * (((w * resid) ** 2).sum() - (sw - (w**2).sum() / sw))


def pool(yi: ArrayLike, vi: ArrayLike, method: Method, *, measure: str = "GEN", knapp_hartung: bool = False,
         level: float = 0.95) -> PooledResult:
    """Inverse-variance pooling with ``method`` in FE, DL, REML (no default, on purpose).

    tau² (DL and REML) is clamped at 0.  I² is metafor's: 100 tau² / (tau² + s²) with the
    "typical" within-study variance s² = (k-1) Σw / ((Σw)² - Σw²) for random effects,
    and max(0, (Q - df) / Q) for the fixed-effect model.  ``knapp_hartung`` rescales the
    SE by the weighted residual variance and uses t with k-1 df (metafor ``test="knha"``,
    without truncating the factor at 1).  k = 1 returns that study unchanged, with a z
    interval (Knapp-Hartung needs k >= 2); k = 0 returns NaNs.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    y, v = np.asarray(yi, dtype=float).ravel(), np.asarray(vi, dtype=float).ravel()
    if len(y) != len(v):
        raise ValueError("yi and vi must have the same length")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v))) or np.any(v <= 0):
        raise ValueError("effects must be finite and variances positive")
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    k = len(y)
    if k == 0:
        return empty_result(method, measure, knapp_hartung)
    z = stats.norm.ppf(0.5 + level / 2)
    if k == 1:
        se = math.sqrt(v[0])
        lo, hi = float(y[0] - z * se), float(y[0] + z * se)
        return PooledResult(method, measure, 1, float(y[0]), se, lo, hi, lo if method != "FE" else math.nan,
                            hi if method != "FE" else math.nan, 0.0, 0.0, 0.0, 1.0, 0, False, level)

    w_fe = 1 / v
    sw, sw2 = w_fe.sum(), (w_fe**2).sum()
    mu_fe = (w_fe * y).sum() / sw
    q = float(max(0.0, (w_fe * (y - mu_fe) ** 2).sum()))
    df = k - 1
    q_p = float(stats.chi2.sf(q, df))
    c = sw - sw2 / sw
    if method == "FE":
        tau2 = 0.0
    else:
        tau2_dl = max(0.0, (q - df) / c)
        tau2 = tau2_dl if method == "DL" else _reml_tau2(y, v)

    w = 1 / (v + tau2)
    mu = float((w * y).sum() / w.sum())
    se = math.sqrt(1 / w.sum())
    crit = z
    if knapp_hartung:
        s2w = (w * (y - mu) ** 2).sum() / df
        se = math.sqrt(s2w / w.sum())
        crit = stats.t.ppf(0.5 + level / 2, df)
    if method == "FE":
        i2 = max(0.0, 100 * (q - df) / q) if q > 0 else 0.0
        pi_low = pi_high = math.nan
    else:
        s2 = df * sw / (sw**2 - sw2)
        i2 = 100 * tau2 / (tau2 + s2)
        half = crit * math.sqrt(se**2 + tau2)
        pi_low, pi_high = mu - half, mu + half
    return PooledResult(method, measure, k, mu, se, float(mu - crit * se), float(mu + crit * se), float(pi_low),
                        float(pi_high), float(tau2), float(i2), q, q_p, df, knapp_hartung, level)


def pool_binary(events_t, total_t, events_c, total_c, *, measure: str, method: Method,
                knapp_hartung: bool = False) -> PooledResult:
    """Effects from 2x2 counts (metafor's escalc rules), then :func:`pool`."""
    eff = binary_effects(measure, events_t, total_t, events_c, total_c)
    return pool(eff.yi, eff.vi, method, measure=measure, knapp_hartung=knapp_hartung)


def pool_proportions(events: ArrayLike, total: ArrayLike, *, method: Method,
                     knapp_hartung: bool = False) -> PooledResult:
    """Pooled single-arm proportion on the logit scale (back-transform with ``.natural``)."""
    if len(np.asarray(events).ravel()) == 0:
        return empty_result(method, "PLO", knapp_hartung)
    eff = logit_proportion(events, total)
    return pool(eff.yi, eff.vi, method, measure="PLO", knapp_hartung=knapp_hartung)


def study_ratio_intervals(measure: str, events_t, total_t, events_c, total_c,
                          level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-study RR or OR with Wald CIs on the log scale, back-transformed (for forest plots)."""
    eff = binary_effects(measure, events_t, total_t, events_c, total_c)
    yi, se = np.asarray(eff.yi, dtype=float), np.sqrt(np.asarray(eff.vi, dtype=float))
    z = stats.norm.ppf(0.5 + level / 2)
    return np.exp(yi), np.exp(yi - z * se), np.exp(yi + z * se)
