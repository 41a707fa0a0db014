"""Properties every pooling method must have, whatever the data (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.synthesis.stats import (
    METHODS,
    back_transform,
    log_odds_ratio,
    log_risk_ratio,
    logit_proportion,
    pool,
    pool_proportions,
    wilson_interval,
)

effect = st.floats(min_value=-5, max_value=5, allow_nan=False, allow_infinity=False)
variance = st.floats(min_value=1e-3, max_value=5, allow_nan=False, allow_infinity=False)
studies = st.lists(st.tuples(effect, variance), min_size=2, max_size=25)
method = st.sampled_from(METHODS)
knha = st.booleans()


def split(data):
    yi, vi = zip(*data, strict=True)
    return np.array(yi), np.array(vi)


@given(effect, variance, method, knha)
def test_one_study_is_returned_unchanged(y, v, m, kh):
    r = pool([y], [v], m, knapp_hartung=kh)
    assert r.k == 1 and r.estimate == y and r.se == pytest.approx(math.sqrt(v))
    assert r.tau2 == 0 and r.i2 == 0 and r.q == 0 and r.df == 0
    assert r.describe().startswith("single study")


@given(studies, method, knha, st.randoms(use_true_random=False))
def test_permuting_studies_changes_nothing(data, m, kh, rnd):
    yi, vi = split(data)
    order = list(range(len(yi)))
    rnd.shuffle(order)
    a, b = pool(yi, vi, m, knapp_hartung=kh), pool(yi[order], vi[order], m, knapp_hartung=kh)
    for name in ("estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q"):
        assert getattr(b, name) == pytest.approx(getattr(a, name), rel=1e-7, abs=1e-9), name


@given(effect, st.lists(variance, min_size=2, max_size=25), method)
def test_identical_effects_have_no_heterogeneity(y, vs, m):
    r = pool([y] * len(vs), vs, m)
    assert r.tau2 == pytest.approx(0, abs=1e-12) and r.i2 == pytest.approx(0, abs=1e-9)
    assert r.q == pytest.approx(0, abs=1e-9) and r.estimate == pytest.approx(y)


@given(studies, method, knha)
def test_interval_contains_estimate(data, m, kh):
    yi, vi = split(data)
    r = pool(yi, vi, m, knapp_hartung=kh)
    assert r.ci_low <= r.estimate <= r.ci_high
    assert r.tau2 >= 0 and 0 <= r.i2 < 100 and 0 <= r.q_p <= 1
    if m != "FE":  # the prediction interval is at least as wide as the CI
        assert r.pi_low <= r.ci_low + 1e-12 and r.pi_high >= r.ci_high - 1e-12


@given(studies)
def test_random_effects_reduce_to_fixed_effect_when_tau2_is_zero(data):
    yi, vi = split(data)
    fe, reml = pool(yi, vi, "FE"), pool(yi, vi, "REML")
    if reml.tau2 == 0:
        assert reml.estimate == pytest.approx(fe.estimate)
        assert (reml.pi_low, reml.pi_high) == pytest.approx((reml.ci_low, reml.ci_high))


@settings(max_examples=300)
@given(st.integers(min_value=1, max_value=5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_within_unit_interval(counts):
    x, n = counts
    low, high = wilson_interval(x, n)
    assert 0 <= low <= x / n <= high <= 1


@given(st.lists(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
                min_size=1, max_size=15), method)
def test_pooled_proportion_back_transforms_into_unit_interval(arms, m):
    events, totals = zip(*arms, strict=True)
    r = pool_proportions(events, totals, method=m)
    nat = r.natural
    assert 0 < nat["ci_low"] <= nat["estimate"] <= nat["ci_high"] < 1
    assert back_transform(r.estimate, "PLO") == nat["estimate"]


@given(st.integers(1, 200).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.integers(1, 200).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_binary_effects_always_finite(t, c):
    for fn in (log_risk_ratio, log_odds_ratio):
        eff = fn([t[0]], [t[1]], [c[0]], [c[1]])
        assert np.isfinite(eff.yi).all() and (eff.vi > 0).all()
    assert np.isfinite(logit_proportion([t[0]], [t[1]]).yi).all()


def test_empty_input_gives_nan_not_an_error():
    r = pool([], [], "REML")
    assert r.k == 0 and math.isnan(r.estimate) and math.isnan(r.ci_low)
    assert pool_proportions([], [], method="DL").k == 0


@pytest.mark.parametrize(("yi", "vi", "message"), [
    ([0.1, 0.2], [0.1], "same length"), ([0.1], [0.0], "positive"), ([math.nan], [0.1], "finite"),
])
def test_bad_input_raises(yi, vi, message):
    with pytest.raises(ValueError, match=message):
        pool(yi, vi, "FE")


def test_method_must_be_named():
    with pytest.raises(ValueError, match="unknown method"):
        pool([0.1, 0.2], [0.1, 0.1], "PM")
    with pytest.raises(TypeError):
        pool([0.1, 0.2], [0.1, 0.1])  # no default method, on purpose
