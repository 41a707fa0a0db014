"""Properties every pooling method must have, whatever the data (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.synthesis.stats import (
    METHODS,
    SMALL_K,
    back_transform,
    combine_groups,
    log_odds_ratio,
    log_risk_ratio,
    logit_proportion,
    pool,
    pool_proportions,
    ratio_from_ci,
    smd_from_report,
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


# --------------------------------------------------------------------------- exact derivations (schema rules)

totals = st.integers(min_value=1, max_value=3000)
decimals = st.integers(min_value=0, max_value=2)


def _printed(count: int, total: int, places: int) -> float:
    """The percent as a paper prints it: 100 k / n rounded half-up at ``places`` decimals (exact decimal maths)."""
    from decimal import ROUND_HALF_UP, Decimal

    exact = Decimal(100 * count) / Decimal(total)
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


@settings(max_examples=400, deadline=None)
@given(totals.flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))), decimals)
def test_derived_counts_reproduce_the_quoted_percent(counts, places):
    from evidence.curation.schema import counts_matching_percent, percent_decimals

    k, n = counts
    percent = _printed(k, n, places)
    fits = counts_matching_percent(percent, n)
    assert k in fits  # the true count is always among the candidates
    shown = percent_decimals(percent)  # "64.0" is printed as 64: fewer decimals, a wider band, never narrower
    for c in fits:  # every candidate reproduces the printed percent at the precision it was printed with
        assert abs(100 * c / n - percent) <= 0.5 * 10 ** -shown + 1e-9


@settings(max_examples=300, deadline=None)
@given(totals.flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))), decimals)
def test_a_count_is_derived_only_when_exactly_one_integer_fits(counts, places):
    from pydantic import ValidationError

    from evidence.curation.schema import ArmResult, counts_matching_percent

    k, n = counts
    percent = _printed(k, n, places)
    fits = counts_matching_percent(percent, n)
    record = {"arm": "ket", "percent": percent, "total": n, "events": k, "derived": {"rule": "count_from_percent"}}
    if len(fits) == 1:
        assert ArmResult.model_validate(record).events == k
    else:  # ambiguous: refused whatever count is claimed
        with pytest.raises(ValidationError, match="not derivable"):
            ArmResult.model_validate(record)


def test_the_issues_example_and_an_ambiguous_case():
    from pydantic import ValidationError

    from evidence.curation.schema import ArmResult, counts_matching_percent

    assert counts_matching_percent(64, 47) == [30]  # 63.5-64.5% of 47 spans 29.8-30.3
    assert len(counts_matching_percent(64, 250)) > 1  # 158.75-161.25: 159, 160 and 161 all print as 64%
    with pytest.raises(ValidationError, match="not derivable"):
        ArmResult.model_validate({"arm": "k", "percent": 64, "total": 250, "events": 160,
                                  "derived": {"rule": "count_from_percent"}})
    with pytest.raises(ValidationError, match="gives 30 events"):
        ArmResult.model_validate({"arm": "k", "percent": 64, "total": 47, "events": 31,
                                  "derived": {"rule": "count_from_percent"}})


@settings(deadline=None)
@given(st.floats(0.01, 50, allow_nan=False), st.integers(2, 2000), st.integers(-3, 3))
def test_sd_from_se_is_exact_at_two_decimals(se, n, offset):
    from pydantic import ValidationError

    from evidence.curation.schema import ArmResult

    sd = round(se * math.sqrt(n), 2) + offset / 100
    record = {"arm": "k", "mean": 10.0, "sd": max(sd, 0.0), "n": n, "derived": {"rule": "sd_from_se", "se": se}}
    if offset == 0:
        assert ArmResult.model_validate(record).sd == pytest.approx(round(se * math.sqrt(n), 2))
    elif sd >= 0:
        with pytest.raises(ValidationError, match="gives sd"):
            ArmResult.model_validate(record)


# --------------------------------------------------------------------------- generic inverse-variance inputs

@given(effect, variance)
def test_a_ratio_ci_round_trips_to_its_log_effect_and_variance(y, v):
    z = 1.959964
    lo, hi = math.exp(y - z * math.sqrt(v)), math.exp(y + z * math.sqrt(v))
    yi, vi = ratio_from_ci(math.exp(y), lo, hi)
    assert yi == pytest.approx(y, abs=1e-9) and vi == pytest.approx(v, rel=1e-6)


@given(st.floats(-4, 4, allow_nan=False), st.integers(2, 500), st.integers(2, 500))
def test_hedges_g_shrinks_d_and_is_antisymmetric(d, n1, n2):
    g, v = smd_from_report(d, n1, n2, corrected=False)
    assert abs(g) <= abs(d) and (g == 0) == (d == 0)
    assert smd_from_report(-d, n1, n2, corrected=False) == pytest.approx((-g, v))
    assert v >= (n1 + n2) / (n1 * n2)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-50, 50, allow_nan=False), min_size=2, max_size=30),
       st.lists(st.floats(-50, 50, allow_nan=False), min_size=2, max_size=30))
def test_combined_groups_equal_the_pooled_sample(a, b):
    """Cochrane's formula for merging two arms gives the mean and SD of the merged sample."""
    arrays = [np.array(a), np.array(b)]
    n, m, s = combine_groups([len(x) for x in arrays], [x.mean() for x in arrays], [x.std(ddof=1) for x in arrays])
    both = np.concatenate(arrays)
    assert n == len(both)
    assert m == pytest.approx(both.mean(), abs=1e-9)
    assert s == pytest.approx(both.std(ddof=1), rel=1e-9, abs=1e-9)


@settings(deadline=None)
@given(studies, method)
def test_few_studies_use_knapp_hartung_under_random_effects(data, m):
    from evidence.synthesis.summaries import pool_few

    yi, vi = split(data)
    r = pool_few(yi, vi, m, measure="GEN")
    assert r.knapp_hartung == (m != "FE" and len(yi) < SMALL_K)
