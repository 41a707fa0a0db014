"""Summaries on small synthetic tables built to the column contract in evidence/tables.py."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from evidence.curation.tables import (
    ADVERSE_EVENT_COLUMNS,
    ARM_COLUMNS,
    CLAIM_COLUMNS,
    CLAIM_EVIDENCE_COLUMNS,
    DURABILITY_COLUMNS,
    FINDING_COLUMNS,
    OUTCOME_COLUMNS,
    RISK_OF_BIAS_COLUMNS,
    STUDY_COLUMNS,
    Tables,
    with_derived_columns,
)
from evidence.synthesis import summaries as sm
from evidence.synthesis.stats import logit_proportion, pool, pool_binary
from evidence.synthesis.summaries import Filter


def study(sid: str, **kw) -> dict:
    row = dict.fromkeys(STUDY_COLUMNS)
    row.update(id=sid, kind="trial", design="RCT parallel", blinded=True, blinding="double-blind",
               drug="racemic ketamine", route="intravenous", population="TRD", rob_overall="low",
               first_author=sid.title(), year=2020)
    row.update(kw)
    return row


def result(sid: str, arm: str, role: str, drug: str, hours: float, events=None, total=None, *, rate=None,
           n=None, outcome=None, kind="response") -> dict:
    row = dict.fromkeys(OUTCOME_COLUMNS)
    if rate is None and events is not None and total:
        rate = events / total
    row.update(study_id=sid, outcome_id=outcome or f"resp-{hours:g}h", arm=arm, arm_role=role, arm_drug=drug,
               arm_schedule="single infusion", kind=kind, measure="MADRS", timepoint_hours=hours,
               timepoint_value=hours, timepoint_unit="hours", time_from="last dose",
               events=events, total=total, rate=rate, n=n if n is not None else total)
    return row


KET, SAL, MID = "racemic ketamine", "placebo (saline)", "midazolam"


def make_tables(studies: list[dict], outcomes: list[dict], aes: list[dict] = (), durability: list[dict] = ()):
    out = with_derived_columns(pd.DataFrame.from_records(outcomes, columns=OUTCOME_COLUMNS))
    for col in ("events", "total", "n"):
        out[col] = out[col].astype("Int64")
    st = pd.DataFrame.from_records(studies, columns=STUDY_COLUMNS)
    empty = {name: pd.DataFrame(columns=cols) for name, cols in (
        ("arms", ARM_COLUMNS), ("findings", FINDING_COLUMNS), ("claims", CLAIM_COLUMNS),
        ("claim_evidence", CLAIM_EVIDENCE_COLUMNS), ("risk_of_bias", RISK_OF_BIAS_COLUMNS))}
    dur = pd.DataFrame.from_records(durability, columns=DURABILITY_COLUMNS)
    ae = pd.DataFrame.from_records(aes, columns=ADVERSE_EVENT_COLUMNS)
    return Tables(studies=st, outcomes=out, durability=dur, adverse_events=ae, **empty)


@pytest.fixture
def tables() -> Tables:
    studies = [
        study("saline-a"), study("saline-b", rob_overall="high"),
        study("midaz-c", comparator=MID), study("open-d", design="open-label", blinded=False,
                                                blinding="open-label"),
        study("review-e", kind="meta_analysis", design="meta-analysis"),
        study("esk-f", drug="esketamine", route="intranasal", design="RCT crossover"),
    ]
    outcomes = [
        # saline-a: 24 h and 1 week, two ketamine doses
        result("saline-a", "ket-low", "intervention", KET, 24, 5, 20),
        result("saline-a", "ket-high", "intervention", KET, 24, 9, 20),
        result("saline-a", "pbo", "control", SAL, 24, 2, 20),
        result("saline-a", "ket-low", "intervention", KET, 168, 3, 20),
        result("saline-a", "ket-high", "intervention", KET, 168, 4, 20),
        result("saline-a", "pbo", "control", SAL, 168, 1, 20),
        # saline-b (high RoB): 24 h; control has zero responders; plus a ketamine dose "control"
        result("saline-b", "ket", "intervention", KET, 24, 10, 25),
        result("saline-b", "pbo", "control", SAL, 24, 0, 25),
        result("saline-b", "ket-low", "control", KET, 24, 6, 25),
        # midaz-c: 24 h and 72 h
        result("midaz-c", "ket", "intervention", KET, 24, 32, 47),
        result("midaz-c", "mid", "control", MID, 24, 6, 25),
        result("midaz-c", "ket", "intervention", KET, 72, 30, 47),
        result("midaz-c", "mid", "control", MID, 72, 5, 25),
        # open-d: single arm, percent only (rate x n = 14.0 exactly) at 24 h; 4 h with a rounded percent
        result("open-d", "ket", "intervention", KET, 24, rate=0.70, n=20),
        result("open-d", "ket", "intervention", KET, 4, rate=0.333, n=20),
        # review-e: must never be pooled
        result("review-e", "ket", "intervention", KET, 24, 500, 600),
        result("review-e", "pbo", "control", SAL, 24, 100, 600),
        # esk-f: crossover, intranasal
        result("esk-f", "esk", "intervention", "esketamine", 24, 8, 15),
        result("esk-f", "pbo", "control", "placebo (intranasal)", 24, 3, 15),
    ]
    return make_tables(studies, outcomes)


DAY = Filter(hours_min=12, hours_max=36)


def test_filter_is_hashable_and_accepts_lists():
    f = Filter(drugs=["esketamine"], populations=["TRD"])
    assert f.drugs == ("esketamine",) and hash(f) == hash(Filter(drugs=("esketamine",), populations=("TRD",)))
    with pytest.raises(ValueError, match="control"):
        Filter(control="ECT")


def test_filter_from_a_claim_summary_spec():
    from evidence.curation.schema import SummarySpec

    spec = SummarySpec(kind="odds_ratio", hours_min=12, hours_max=36, blinded_only=True, control=None,
                       drugs=["esketamine"])
    f = Filter.from_spec(spec)
    assert (f.hours_min, f.hours_max, f.blinded_only, f.control, f.drugs) == (12, 36, True, "any", ("esketamine",))


def test_target_hours():
    assert DAY.target_hours == 24
    assert Filter(hours_min=100).target_hours == 100
    assert Filter().target_hours == sm.DEFAULT_TARGET_HOURS


def test_rate_excludes_reviews_and_sums_ketamine_arms(tables):
    res = sm.pooled_response_rate(tables, DAY, method="REML")
    assert res.studies == ["esk-f", "midaz-c", "open-d", "saline-a", "saline-b"]
    assert "review-e" not in set(res.rows["study_id"])
    per = res.per_study.set_index("study_id")
    assert (per.loc["saline-a", "events"], per.loc["saline-a", "total"]) == (14, 40)  # 5+9 of 20+20
    assert (per.loc["open-d", "events"], per.loc["open-d", "total"]) == (14, 20)  # 0.70 x 20, exact
    assert res.k == 5 and res.n == 40 + 25 + 47 + 20 + 15
    eff = logit_proportion(per["events"], per["total"])
    expected = pool(eff.yi, eff.vi, "REML", measure="PLO")
    assert res.estimate == pytest.approx(1 / (1 + math.exp(-expected.estimate)))
    assert res.ci_low < res.estimate < res.ci_high
    assert res.method == "REML random effects, 95% CI, logit scale"


def test_rows_are_the_rows_used(tables):
    res = sm.pooled_response_rate(tables, DAY, method="DL")
    assert set(res.rows.columns) == set(OUTCOME_COLUMNS)
    assert set(res.rows["timepoint_hours"]) == {24}
    assert set(res.rows["arm_role"]) == {"intervention"}
    assert len(res.rows) == 6  # two saline-a doses + one ketamine arm in each of four other studies


def test_rounded_percent_without_counts_is_not_used():
    tables = make_tables([study("open-d", design="open-label")],
                         [result("open-d", "ket", "intervention", KET, 4, rate=0.333, n=20)])
    res = sm.pooled_response_rate(tables, Filter(hours_max=10), method="REML")
    assert res.k == 0 and math.isnan(res.estimate)


def test_one_time_point_per_study_closest_to_window_centre(tables):
    week = sm.pooled_response_rate(tables, Filter(hours_min=48, hours_max=200), method="FE")
    per = week.per_study.set_index("study_id")
    # window centre 124 h: saline-a has 168 h (distance 44), midaz-c has 72 h (distance 52)
    assert per.loc["saline-a", "hours"] == 168 and per.loc["midaz-c", "hours"] == 72
    wide = sm.pooled_response_rate(tables, Filter(hours_min=0, hours_max=200), method="FE")
    per = wide.per_study.set_index("study_id")
    assert per.loc["saline-a", "hours"] == 168  # centre 100 h: 168 h is closer than 24 h
    assert per.loc["open-d", "hours"] == 24  # the 4 h row has no usable counts
    assert wide.per_study["study_id"].is_unique


def test_ties_go_to_the_earlier_time_point():
    tables = make_tables([study("s")], [result("s", "k", "intervention", KET, 12, 1, 10),
                                        result("s", "k", "intervention", KET, 36, 5, 10)])
    res = sm.pooled_response_rate(tables, Filter(hours_min=0, hours_max=48), method="REML")
    assert list(res.per_study["hours"]) == [12]


def test_blinded_only(tables):
    res = sm.pooled_response_rate(tables, replace_filter(DAY, blinded_only=True), method="REML")
    assert "open-d" not in res.studies and res.k == 4


def test_control_type_for_rates(tables):
    res = sm.pooled_response_rate(tables, replace_filter(DAY, control="midazolam"), method="REML")
    assert res.studies == ["midaz-c"]
    res = sm.pooled_response_rate(tables, replace_filter(DAY, control="saline"), method="REML")
    assert res.studies == ["esk-f", "saline-a", "saline-b"]


def test_risk_ratio_vs_saline(tables):
    res = sm.pooled_risk_ratio(tables, replace_filter(DAY, control="saline"), method="REML")
    assert res.studies == ["esk-f", "saline-a", "saline-b"]
    per = res.per_study.set_index("study_id")
    # saline-b: the ketamine "control" arm (a dose comparison) is not a control
    assert (per.loc["saline-b", "events_c"], per.loc["saline-b", "total_c"]) == (0, 25)
    assert (per.loc["saline-a", "events_t"], per.loc["saline-a", "total_t"]) == (14, 40)
    expected = pool_binary(per["events_t"], per["total_t"], per["events_c"], per["total_c"], measure="RR",
                           method="REML")
    assert res.pooled.estimate == pytest.approx(expected.estimate)
    assert res.estimate == pytest.approx(math.exp(expected.estimate))
    assert res.n == 40 + 20 + 25 + 25 + 15  # crossover esk-f counts its 15 people once
    assert set(res.rows["arm_role"]) == {"intervention", "control"}
    assert "log risk ratio" in res.method


def test_risk_ratio_control_types(tables):
    mid = sm.pooled_risk_ratio(tables, replace_filter(DAY, control="midazolam"), method="DL")
    assert mid.studies == ["midaz-c"] and mid.k == 1
    active = sm.pooled_risk_ratio(tables, replace_filter(DAY, control="active"), method="DL")
    assert active.studies == ["midaz-c"]
    anyc = sm.pooled_risk_ratio(tables, DAY, method="DL")
    assert anyc.studies == ["esk-f", "midaz-c", "saline-a", "saline-b"]  # open-d has no control arm


def test_exclude_high_rob_and_filters(tables):
    res = sm.pooled_risk_ratio(tables, replace_filter(DAY, exclude_high_rob=True), method="REML")
    assert "saline-b" not in res.studies
    res = sm.pooled_response_rate(tables, replace_filter(DAY, drugs=["esketamine"]), method="REML")
    assert res.studies == ["esk-f"]
    res = sm.pooled_response_rate(tables, replace_filter(DAY, routes=["intranasal"], designs=["RCT crossover"]),
                                  method="REML")
    assert res.studies == ["esk-f"]


@pytest.mark.parametrize("fn", [sm.pooled_response_rate, sm.pooled_risk_ratio])
def test_empty_selection_never_raises(tables, fn):
    res = fn(tables, Filter(hours_min=5000), method="REML")
    assert res.k == 0 and res.n == 0 and res.studies == [] and res.rows.empty
    assert math.isnan(res.estimate) and math.isnan(res.ci_low)
    assert "REML" in res.method
    res = fn(tables, Filter(outcome_kind="remission"), method="REML")
    assert res.k == 0


def test_empty_tables():
    tables = make_tables([], [])
    assert sm.pooled_response_rate(tables, Filter(), method="REML").k == 0
    assert sm.pooled_risk_ratio(tables, Filter(), method="REML").k == 0
    assert sm.response_over_time(tables, Filter()).k == 0
    assert sm.adverse_event_rates(tables, Filter()).k == 0
    assert sm.durations(tables).k == 0


def test_response_over_time(tables):
    res = sm.response_over_time(tables, Filter(control="saline"))
    t = res.table
    assert set(t["study_id"]) == {"saline-a", "saline-b", "esk-f"}  # studies with a saline-type control
    assert set(t.loc[t["study_id"] == "saline-b", "arm"]) == {"ket", "pbo"}  # not the ketamine "control"
    everything = sm.response_over_time(tables, Filter()).table
    assert {"midaz-c", "open-d"} <= set(everything["study_id"]) and "review-e" not in set(everything["study_id"])
    a = t[(t["study_id"] == "saline-a") & (t["arm"] == "ket-low")]
    assert list(a["timepoint_hours"]) == [24, 168]
    row = a.iloc[0]
    assert row["rate"] == pytest.approx(0.25) and 0 <= row["ci_low"] < 0.25 < row["ci_high"] <= 1
    pct = everything[(everything["study_id"] == "open-d") & (everything["timepoint_hours"] == 4)].iloc[0]
    assert pct["rate"] == pytest.approx(0.333) and math.isnan(pct["ci_low"])  # no counts, no CI
    assert res.k == 3 and "review-e" not in res.studies
    assert {"first_author", "design", "blinded", "arm_schedule"} <= set(t.columns)


def test_adverse_events_by_event_and_role():
    aes = [
        dict(dict.fromkeys(ADVERSE_EVENT_COLUMNS), study_id="s1", event="Dissociation", timing="40 min",
             arm="k", arm_role="intervention", arm_drug=KET, events=8, total=20),
        dict(dict.fromkeys(ADVERSE_EVENT_COLUMNS), study_id="s1", event="dissociation", timing="2 h",
             arm="k", arm_role="intervention", arm_drug=KET, events=2, total=20),
        dict(dict.fromkeys(ADVERSE_EVENT_COLUMNS), study_id="s1", event="dissociation", timing="40 min",
             arm="p", arm_role="control", arm_drug=SAL, events=1, total=20),
        dict(dict.fromkeys(ADVERSE_EVENT_COLUMNS), study_id="s2", event="Dissociation ", timing=None,
             arm="k", arm_role="intervention", arm_drug=KET, events=4, total=10),
    ]
    tables = make_tables([study("s1"), study("s2")], [], aes=aes)
    res = sm.adverse_event_rates(tables, Filter())
    t = res.table.set_index(["event", "arm_role"])
    ket = t.loc[("dissociation", "intervention")]
    assert (ket["k"], ket["events"], ket["n"]) == (2, 12, 30)  # peak 8/20 in s1, not 8+2
    assert ket["ci_low"] < 12 / 30 < ket["ci_high"]
    assert t.loc[("dissociation", "control"), "k"] == 1
    assert res.k == 2 and res.n == 50 and res.studies == ["s1", "s2"]


def test_durations_keep_rows_with_days():
    dur = [dict(dict.fromkeys(DURABILITY_COLUMNS), study_id="s1", measure="time_to_relapse", statistic="median",
                value=18, unit="days", days=18.0, population="responders"),
           dict(dict.fromkeys(DURABILITY_COLUMNS), study_id="s1", measure="relapse_rate", statistic="proportion",
                value=50, unit="percent", days=None, population="responders")]
    tables = make_tables([study("s1", n_randomized=40)], [], durability=dur)
    res = sm.durations(tables)
    assert list(res.table["days"]) == [18.0] and res.studies == ["s1"] and res.k == 1


def test_sensitivity_returns_three_analyses(tables):
    def fn(t, f):
        return sm.pooled_response_rate(t, f, method="REML")
    sens = sm.sensitivity(tables, DAY, fn)
    assert "open-d" in sens.main.studies
    assert "open-d" not in sens.blinded_rcts.studies
    assert "saline-b" not in sens.excluding_high_rob.studies
    table = sens.table()
    assert list(table["analysis"]) == ["as filtered", "blinded RCTs only", "excluding high risk of bias"]
    assert np.all(table["k"].to_numpy() == [5, 4, 4])


def test_sensitivity_with_no_rct_design_selects_nothing(tables):
    sens = sm.sensitivity(tables, replace_filter(DAY, designs=["open-label"]),
                          lambda t, f: sm.pooled_response_rate(t, f, method="REML"))
    assert sens.main.studies == ["open-d"] and sens.blinded_rcts.k == 0


def replace_filter(f: Filter, **changes) -> Filter:
    return replace(f, **changes)


def test_response_pools_only_depression_scales():
    """A response on an anxiety, PTSD or suicidal-ideation scale is not a depression response."""
    from evidence.curation.load import load_dataset
    from evidence.curation.tables import build_tables
    from evidence.synthesis.summaries import is_depression_scale
    from tests.conftest import REPO

    assert is_depression_scale("MADRS") and is_depression_scale("HAM-D-17") and is_depression_scale("PHQ-9")
    assert not any(map(is_depression_scale, ["SSI (Scale for Suicidal Ideation)", "LSAS", "GAD-7", "CAPS-5"]))
    tables = build_tables(load_dataset(REPO / "data"))
    rows = sm.response_over_time(tables, Filter()).table
    assert not rows.empty
    assert rows["measure"].map(is_depression_scale).all()


@pytest.mark.parametrize(("low", "high", "text"), [
    (-10.29, 1.39, "-10.29 to 1.39"),  # a dash here read as "-10.29 minus 1.39"
    (-4.26, -3.0, "-4.26 to -3.00"),
    (0.0012, 160440.19, "0.001 to 160,440"),  # not "0.00": a bound, not zero
    (0.5, 2.0, "0.50 to 2.00"),
    (float("nan"), 2.0, "not estimable to 2.00"),
])
def test_intervals_read_as_written(low, high, text):
    from evidence.synthesis.explore import interval_text

    assert interval_text(low, high) == text


# --------------------------------------------------------------------------- the explorer's words (2026-12-04 sweep)

@pytest.fixture(scope="module")
def real_tables() -> Tables:
    from evidence.curation.load import load_dataset
    from evidence.curation.tables import build_tables
    from tests.conftest import REPO

    return build_tables(load_dataset(REPO / "data"))


def _all_views(tables, method="REML"):
    from evidence.synthesis.explore import FOREST_WINDOWS, OUTCOMES, effect_view

    for o in OUTCOMES:
        for hours in FOREST_WINDOWS.values():
            for c in ("any", "saline", "midazolam", "active"):
                yield effect_view(tables, o, hours, c, method)


def test_the_forest_points_to_meta_analyses_only_where_one_reports_the_view(real_tables):
    views = [v for v in _all_views(real_tables) if not v.summary.pooled_ok]
    with_syntheses = [v for v in views if len(v.syntheses.rows)]
    without = [v for v in views if not len(v.syntheses.rows)]
    assert with_syntheses and without
    assert all("see what the published meta-analyses found" in v.headline for v in with_syntheses)
    assert all("no published meta-analysis in the data reports it either" in v.headline
               and "see what" not in v.headline for v in without)


def test_a_single_study_is_named_as_drawn_not_by_its_id(real_tables):
    singles = [v for v in _all_views(real_tables) if v.summary.k == 1]
    assert singles
    for v in singles:
        assert v.headline.startswith(f"{v.rows['label'].iloc[0]}: single study"), v.headline
    assert any(v.rows["label"].iloc[0] != v.summary.studies[0] for v in singles), "labels are not ids"


def test_an_empty_forest_blames_the_data_unfiltered_and_the_selection_filtered(real_tables):
    from evidence.publishing import charts

    empty = next(v for v in _all_views(real_tables) if v.summary.k == 0)
    fig = charts.forest(empty.rows, empty.pooled, measure="x", title="t", empty_note=empty.empty_note)
    assert fig.layout.annotations[0].text == "No study in the data has an effect for this view."
    assert "Method" not in empty.caption and "REML" not in empty.caption
    from dataclasses import replace

    filtered = replace(empty, selected=3)
    assert filtered.empty_note == "No selected study has an effect for this view."


def test_a_fixed_effect_headline_does_not_print_an_estimated_tau2(real_tables):
    pooled = [v for v in _all_views(real_tables, "FE") if v.summary.pooled_ok]
    assert pooled and all("τ² =" not in v.headline and "fixed effect assumes no τ²" in v.headline for v in pooled)


def test_continuous_effects_from_arm_means_are_not_called_counts(real_tables):
    continuous = [v for v in _all_views(real_tables) if v.summary.k and not v.log
                  and "counts" in set(v.rows["effect_source"])]
    assert continuous
    assert all("per-arm means and SDs" in v.caption and " counts" not in v.caption for v in continuous)


def test_a_sensitivity_row_of_one_study_gives_the_figure_its_panel_gives():
    """The 80%-responders claim's second panel read "42% (95% CI 23% to 64%)" beside a sensitivity table whose
    one-study rows were blank: the rows now carry that study's figure, marked as not pooled."""
    from evidence.curation.load import load_dataset
    from evidence.curation.tables import build_tables
    from evidence.pages import claim as claim_pages
    from tests.conftest import REPO

    dataset = load_dataset(REPO / "data")
    tables = build_tables(dataset)
    singles = 0
    for claim in dataset.claims:
        for panel in claim_pages.build(claim, dataset, tables).panels:
            sens = panel.sensitivity
            if sens is None:
                continue
            assert set(sens["basis"]) <= {"pooled", "single study, not pooled", "no study"}
            main = sens.iloc[0]
            assert main["k"] == panel.k
            if panel.k == 1:
                singles += 1
                assert main["basis"] == "single study, not pooled"
                assert main["estimate"] == pytest.approx(panel.estimate)
                assert (main["ci_low"], main["ci_high"]) == pytest.approx((panel.ci_low, panel.ci_high))
    assert singles, "the curated claims have a one-study panel"
