"""Pooling what trials report (evidence.synthesis.effects), the syntheses layer and the forest view model.

Synthetic tables built to the column contract; the last tests run every explorer view on the curated data.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evidence.curation.tables import OUTCOME_COLUMNS, SYNTHESIS_COLUMNS, Tables
from evidence.publishing import charts
from evidence.synthesis import explore
from evidence.synthesis.effects import favours, pooled_effect
from evidence.synthesis.stats import pool, ratio_from_ci, standardized_mean_difference
from evidence.synthesis.summaries import SYNTHESES_CAPTION, TOO_FEW, Filter, syntheses
from tests.test_summaries import KET, SAL, make_tables, result, study

DAY = Filter(hours_min=12, hours_max=36)
Z = 1.959964


def reported(sid: str, oid: str, type_: str, est: float, lo=None, hi=None, *, hours=24.0, kind="response",
             comparison="ketamine vs placebo", measure="MADRS", definition=None, se=None, n_t=None, n_c=None,
             within=False, after_course=False, favours=None) -> dict:
    row = dict.fromkeys(OUTCOME_COLUMNS)
    row.update(study_id=sid, outcome_id=oid, kind=kind, measure=measure, definition=definition, timepoint_hours=hours,
               timepoint_value=hours, timepoint_unit="hours", time_from="last dose", effect_type=type_, estimate=est,
               ci_low=lo, ci_high=hi, comparison=comparison, effect_se=se, effect_n_t=n_t, effect_n_c=n_c,
               within=within, after_course=after_course, effect_favours=favours)
    return row


def continuous(sid: str, arm: str, role: str, drug: str, mean: float, sd: float, n: int, *, hours=24.0,
               measure="MADRS", derived_rule=None, outcome="madrs_24h") -> dict:
    row = result(sid, arm, role, drug, hours, kind="mean_change", n=n, outcome=outcome)
    row.update(measure=measure, mean=mean, sd=sd, derived_rule=derived_rule)
    return row


def syn(**row) -> dict:
    return row


def with_syntheses(tables: Tables, rows: list[dict]) -> Tables:
    frame = pd.DataFrame.from_records([{**dict.fromkeys(SYNTHESIS_COLUMNS), **r} for r in rows],
                                      columns=SYNTHESIS_COLUMNS)
    return Tables(**{**{name: getattr(tables, name) for name in tables.__dataclass_fields__}, "syntheses": frame})


# --------------------------------------------------------------------------- binary

def test_a_reported_odds_ratio_joins_counts_in_one_pool():
    t = make_tables([study("a"), study("b")], [
        result("a", "k", "intervention", KET, 24, 12, 20), result("a", "p", "control", SAL, 24, 4, 20),
        reported("b", "resp", "OR", 2.5, 1.2, 5.2),
    ])
    s = pooled_effect(t, DAY, "binary", "REML")
    per = s.per_study.set_index("study_id")
    assert s.k == 2 and s.measure == "OR" and list(per["effect_source"]) == ["counts", "reported"]
    assert (per.loc["b", "yi"], per.loc["b", "vi"]) == pytest.approx(ratio_from_ci(2.5, 1.2, 5.2))
    assert per.loc["b", "vi"] == pytest.approx(((math.log(5.2) - math.log(1.2)) / (2 * Z)) ** 2, rel=1e-6)
    expected = pool(per["yi"], per["vi"], "REML", measure="OR", knapp_hartung=True)  # 2 studies: Knapp-Hartung
    assert s.pooled_ok and s.estimate == pytest.approx(math.exp(expected.estimate))
    assert s.ci_low == pytest.approx(math.exp(expected.ci_low)) and "Knapp-Hartung" in s.method
    assert per.loc["b", "estimate"] == pytest.approx(2.5)  # back on the ratio scale for the forest
    # the row shows the CI as printed (1.2-5.2), not the symmetric-on-log rebuild (about 1.21-5.15)
    assert (per.loc["b", "ci_low"], per.loc["b", "ci_high"]) == (1.2, 5.2)
    assert per.loc["a", "ci_low"] == pytest.approx(math.exp(per.loc["a", "yi"] - Z * math.sqrt(per.loc["a", "vi"])))


def test_a_reported_risk_ratio_never_enters_an_odds_ratio_pool():
    t = make_tables([study("a"), study("b")], [
        result("a", "k", "intervention", KET, 24, 12, 20), result("a", "p", "control", SAL, 24, 4, 20),
        reported("b", "resp", "RR", 2.0, 1.1, 3.6),
    ])
    odds = pooled_effect(t, DAY, "binary", "REML", measure="OR")
    assert odds.studies == ["a"] and any("reports a RR, not an OR" in n for n in odds.notes)
    risk = pooled_effect(t, DAY, "binary", "REML", measure="RR")
    assert risk.studies == ["a", "b"]
    with pytest.raises(ValueError, match="OR or RR"):
        pooled_effect(t, DAY, "binary", "REML", measure="RD")


def test_per_arm_data_are_preferred_to_the_reported_effect_at_the_same_time():
    t = make_tables([study("a")], [
        result("a", "k", "intervention", KET, 24, 12, 20, outcome="resp"),
        result("a", "p", "control", SAL, 24, 4, 20, outcome="resp"),
        reported("a", "resp_or", "OR", 9.0, 2.0, 40.0),
    ])
    per = pooled_effect(t, DAY, "binary", "REML").per_study
    assert list(per["effect_source"]) == ["counts"] and per["events_t"].iloc[0] == 12


def test_one_study_is_never_pooled():
    t = make_tables([study("a")], [result("a", "k", "intervention", KET, 24, 12, 20),
                                   result("a", "p", "control", SAL, 24, 4, 20)])
    s = pooled_effect(t, DAY, "binary", "REML")
    assert s.k == 1 and not s.pooled_ok and s.why_not_pooled == TOO_FEW
    assert math.isnan(s.estimate) and math.isnan(s.ci_low) and math.isnan(s.pi_high)
    assert s.per_study["estimate"].iloc[0] == pytest.approx((12 / 8) / (4 / 16))  # the study itself is shown
    view = explore.effect_view(t, "response", (12, 36))
    assert view.pooled is None and "too few studies to pool" in view.caption and "Pooled" not in view.caption
    # even if a caller passes a pooled estimate for one study, the chart draws no diamond
    fig = charts.forest(view.rows, {"estimate": 2.0, "ci_low": 1.0, "ci_high": 4.0, "label": "Pooled (REML)"},
                        measure="OR", title="t")
    assert all("Pooled" not in (tr.name or "") for tr in fig.data)
    assert all("Pooled" not in str(y) for tr in fig.data for y in (tr.y if tr.y is not None else []))


def test_derived_counts_are_marked():
    rows = [result("a", "k", "intervention", KET, 24, 12, 20), result("a", "p", "control", SAL, 24, 4, 20),
            result("b", "k", "intervention", KET, 24, rate=0.70, n=20),
            result("b", "p", "control", SAL, 24, 5, 20)]
    rows[0]["derived_rule"] = "count_from_percent"
    per = pooled_effect(make_tables([study("a"), study("b")], rows), DAY, "binary", "REML").per_study
    per = per.set_index("study_id")
    assert per.loc["a", "effect_source"] == "derived" and per.loc["a", "derived_rule"] == "count_from_percent"
    assert per.loc["b", "effect_source"] == "derived" and per.loc["b", "derived_rule"] == "rate x n"
    fig = charts.forest(explore.forest_frame(make_tables([study("a"), study("b")], rows),
                                             pooled_effect(make_tables([study("a"), study("b")], rows), DAY)),
                        None, measure="OR", title="t")
    assert any("derived †" in str(y) for y in fig.data[0].y)


def test_knapp_hartung_below_five_studies_only():
    def trial(i):
        return [result(f"s{i}", "k", "intervention", KET, 24, 8 + i, 20), result(f"s{i}", "p", "control", SAL, 24,
                                                                                   4, 20)]
    few = make_tables([study(f"s{i}") for i in range(3)], [r for i in range(3) for r in trial(i)])
    many = make_tables([study(f"s{i}") for i in range(5)], [r for i in range(5) for r in trial(i)])
    assert pooled_effect(few, DAY).pooled.knapp_hartung
    assert not pooled_effect(many, DAY).pooled.knapp_hartung
    assert not pooled_effect(few, DAY, method="FE").pooled.knapp_hartung  # fixed effect: as asked


# --------------------------------------------------------------------------- overlap and windows

def test_a_reanalysis_is_dropped_when_its_trials_are_pooled():
    studies = [study("p1"), study("p2"), study("r", design="pooled analysis", reanalysis_of="p1; p2")]
    rows = [reported("p1", "md", "MD", -3.8, -6.5, -1.1, kind="mean_change"),
            reported("p2", "md", "MD", -3.9, -6.6, -1.1, kind="mean_change"),
            reported("r", "md", "MD", -3.8, -5.7, -1.9, kind="mean_change")]
    s = pooled_effect(make_tables(studies, rows), DAY, "md")
    assert s.studies == ["p1", "p2"] and any("r re-analyses p1, p2" in n for n in s.notes)
    alone = pooled_effect(make_tables(studies, rows[2:]), DAY, "md")
    assert alone.studies == ["r"]  # none of its trials is in this view: the re-analysis stands for them


def test_a_pooled_analysis_that_does_not_name_its_trials_is_never_pooled():
    studies = [study("p1"), study("r", design="pooled analysis")]
    rows = [reported("p1", "md", "MD", -3.8, -6.5, -1.1, kind="mean_change"),
            reported("r", "md", "MD", -3.8, -5.7, -1.9, kind="mean_change")]
    s = pooled_effect(make_tables(studies, rows), DAY, "md")
    assert s.studies == ["p1"] and any("not pooled: r" in n for n in s.notes)


def test_fixed_windows_leave_out_by_this_time_and_end_of_course_results():
    studies = [study("w"), study("c"), study("ok")]
    rows = [reported("w", "resp", "OR", 3.0, 1.5, 6.0, within=True),
            reported("c", "resp", "OR", 3.0, 1.5, 6.0, after_course=True),
            reported("ok", "resp", "OR", 3.0, 1.5, 6.0)]
    t = make_tables(studies, rows)
    assert pooled_effect(t, DAY).studies == ["ok"]
    assert pooled_effect(t, Filter()).studies == ["c", "ok", "w"]  # no window: nothing to leave out
    assert "c" in pooled_effect(t, Filter(hours_min=12, hours_max=1008)).studies  # not a single-dose window


# --------------------------------------------------------------------------- continuous

def test_smd_from_arm_means_and_from_a_reported_d_with_its_direction():
    studies = [study("arms"), study("neg"), study("pos"), study("unknown")]
    rows = [continuous("arms", "k", "intervention", KET, -15, 8, 20), continuous("arms", "p", "control", SAL, -8, 9,
                                                                                   20),
            reported("neg", "d", "d", -0.8, kind="effect_size", favours="lower", n_t=20, n_c=20),
            reported("pos", "d", "d", 0.8, kind="effect_size", favours="higher", n_t=20, n_c=20),
            reported("unknown", "d", "d", 0.8, kind="effect_size", n_t=20, n_c=20)]
    s = pooled_effect(make_tables(studies, rows), DAY, "smd")
    per = s.per_study.set_index("study_id")
    assert s.studies == ["arms", "neg", "pos"] and s.measure == "SMD"
    expected = standardized_mean_difference([-15], [8], [20], [-8], [9], [20])
    assert per.loc["arms", "yi"] == pytest.approx(expected.yi[0])
    assert per.loc["neg", "yi"] == pytest.approx(per.loc["pos", "yi"])  # both on "negative favours ketamine"
    assert per.loc["neg", "yi"] < 0
    assert "sign flipped" in per.loc["pos", "note"]
    assert any("unknown: d 0.8 does not say which direction" in n for n in s.notes)


def test_mean_differences_are_pooled_on_one_instrument():
    studies = [study("m1"), study("m2"), study("h1")]
    rows = [reported("m1", "md", "MD", -4, -7, -1, kind="mean_change"),
            reported("m2", "md", "MD", -3, -6, 0, kind="mean_change", se=1.5),
            reported("h1", "md", "MD", -2, -4, 0, kind="mean_change", measure="HAM-D-17")]
    s = pooled_effect(make_tables(studies, rows), DAY, "md")
    assert s.studies == ["m1", "m2"] and any("pooled on MADRS only" in n and "h1" in n for n in s.notes)
    assert s.per_study.set_index("study_id").loc["m2", "vi"] == pytest.approx(1.5**2)  # the SE before the CI


def test_favours_reads_the_structured_direction_only():
    assert favours("lower") == -1 and favours("higher") == 1
    assert favours(None) is None and favours(float("nan")) is None
    assert favours("negative favours ketamine") is None  # prose is not read: the record's field says it


# --------------------------------------------------------------------------- the syntheses layer

def test_syntheses_select_by_outcome_window_and_control_and_keep_their_measures():
    t = with_syntheses(make_tables([study("rev", kind="meta_analysis")], []), [
        syn(study_id="rev", outcome_id="r24p", outcome_kind="response", measure="OR", control="saline",
             timepoint_hours=24, estimate=3.9, ci_low=1.5, ci_high=10.1, scale="MADRS", within=False),
        syn(study_id="rev", outcome_id="r24m", outcome_kind="response", measure="OR", control="midazolam",
             timepoint_hours=24, estimate=2.5, ci_low=1.0, ci_high=6.2, scale="MADRS", within=False),
        syn(study_id="rev", outcome_id="s24", outcome_kind="mean_change", measure="SMD", control="saline",
             timepoint_hours=24, estimate=-0.87, ci_low=-1.26, ci_high=-0.48, scale="HDRS", within=False),
        syn(study_id="rev", outcome_id="r7d", outcome_kind="response", measure="RR", control="saline",
             timepoint_hours=168, estimate=2.0, ci_low=1.1, ci_high=3.6, scale="MADRS", within=False),
        syn(study_id="rev", outcome_id="si", outcome_kind="mean_change", measure="SMD", control="saline",
             timepoint_hours=24, estimate=-0.6, ci_low=-0.9, ci_high=-0.3, scale="suicidal ideation", within=False),
        syn(study_id="rev", outcome_id="pre", outcome_kind="response", measure="OR", control="mixed",
             timepoint_hours=24, estimate=5.0, ci_low=2.0, ci_high=9.0, scale="MADRS", within=False,
             comparison="endpoint vs baseline (pre-post, no control)"),
    ])
    day = syntheses(t, outcome_kind="response", hours=(12, 36))
    assert list(day.rows["outcome_id"]) == ["r24m", "r24p"] and day.caption == SYNTHESES_CAPTION
    assert set(day.rows["family"]) == {"ratio"} and day.k == 2 and day.reviews == ["rev"]
    assert list(syntheses(t, outcome_kind="response", hours=(12, 36), control="saline").rows["outcome_id"]) == [
        "r24p"]
    assert list(syntheses(t, outcome_kind="response", hours=(12, 36), control="active").rows["outcome_id"]) == [
        "r24m"]
    assert list(syntheses(t, outcome_kind="smd", hours=(12, 36)).rows["outcome_id"]) == ["s24"]  # not suicidality
    with pytest.raises(ValueError, match="control"):
        syntheses(t, control="ECT")
    fig = charts.syntheses_forest(day)
    assert SYNTHESES_CAPTION in fig.layout.title.text and fig.layout.xaxis.type == "log"
    assert not any("Pooled" in str(tr.name) for tr in fig.data)


def test_syntheses_are_never_pooled_with_trials():
    studies = [study("rev", kind="meta_analysis", design="meta-analysis"),
               study("ipd", kind="trial", design="individual participant data meta-analysis"), study("t")]
    rows = [reported(s, "resp", "OR", 4.0, 1.5, 10.0) for s in ("rev", "ipd", "t")]
    assert pooled_effect(make_tables(studies, rows), DAY).studies == ["t"]


# --------------------------------------------------------------------------- every view on the curated data

@pytest.fixture(scope="module")
def curated() -> Tables:
    from evidence.curation.load import load_dataset
    from evidence.curation.tables import build_tables
    from tests.conftest import REPO

    return build_tables(load_dataset(REPO / "data"))


def test_every_caption_counts_the_studies_it_shows(curated):
    """k and n in each forest caption are the rows' count and participants; no view pools one study."""
    for outcome in explore.OUTCOMES:
        for window, hours in explore.FOREST_WINDOWS.items():
            for control in ("any", "saline", "midazolam", "active"):
                v = explore.effect_view(curated, outcome, hours, control)
                rows, s = v.rows, v.summary
                where = f"{outcome} {window} {control}"
                assert len(rows) == s.k == len(set(rows["study_id"])), where
                n = int(pd.to_numeric(rows["participants"], errors="coerce").fillna(0).sum())
                assert s.n == n, where
                assert f"k = {s.k} stud" in v.caption and f"n = {s.n} participants" in v.caption, where
                assert (v.pooled is None) == (s.k < 2), where
                assert s.k >= 2 or math.isnan(s.estimate), where
                if s.k:
                    assert rows["effect_source"].isin(["counts", "reported", "derived"]).all(), where
                    assert np.all(rows["ci_low"] <= rows["estimate"]) and np.all(rows["estimate"] <= rows["ci_high"])


def test_the_default_view_has_evidence(curated):
    outcome, window, why = explore.default_view(curated)
    v = explore.effect_view(curated, outcome, explore.FOREST_WINDOWS[window])
    assert v.summary.k >= 1 and str(v.summary.k) in why
    best = max(explore.effect_view(curated, o, h).summary.k for o in explore.OUTCOMES
               for h in explore.FOREST_WINDOWS.values())
    assert v.summary.k >= 2 or v.summary.k == best


def test_pooled_rates_say_where_each_study_came_from():
    from evidence.synthesis.summaries import pooled_response_rate

    t = make_tables([study("a"), study("b")], [result("a", "k", "intervention", KET, 24, 12, 20),
                                               result("b", "k", "intervention", KET, 24, rate=0.70, n=20)])
    per = pooled_response_rate(t, DAY).per_study.set_index("study_id")
    assert per.loc["a", "effect_source"] == "counts" and pd.isna(per.loc["a", "derived_rule"])
    assert (per.loc["b", "effect_source"], per.loc["b", "derived_rule"]) == ("derived", "rate x n")


def test_several_ketamine_arms_are_merged_as_one_group():
    from evidence.synthesis.stats import combine_groups, mean_difference

    rows = [continuous("d", "k1", "intervention", KET, -12, 7, 15), continuous("d", "k2", "intervention", KET, -16, 9,
                                                                                 18),
            continuous("d", "k3", "intervention", KET, -9, 6, 12), continuous("d", "p", "control", SAL, -7, 8, 20)]
    s = pooled_effect(make_tables([study("d")], rows), DAY, "md")
    n, m, sd = combine_groups([15, 18, 12], [-12, -16, -9], [7, 9, 6])
    expected = mean_difference([m], [sd], [n], [-7], [8], [20])
    per = s.per_study.iloc[0]
    assert per["total_t"] == 45 and per["participants"] == 65
    assert (per["yi"], per["vi"]) == pytest.approx((expected.yi[0], expected.vi[0]))


def test_synthesis_differences_are_shown_on_one_direction_with_the_reported_value_named():
    t = with_syntheses(make_tables([study("rev", kind="meta_analysis")], []), [
        syn(study_id="neg", outcome_id="a", outcome_kind="mean_change", measure="SMD", control="saline",
            timepoint_hours=24, estimate=-0.87, ci_low=-1.26, ci_high=-0.48, scale="HDRS", within=False,
            favours="lower"),
        syn(study_id="pos", outcome_id="b", outcome_kind="mean_change", measure="d", control="saline",
            timepoint_hours=24, estimate=0.7, ci_low=0.3, ci_high=1.1, scale="HDRS", within=False, favours="higher"),
        syn(study_id="unk", outcome_id="c", outcome_kind="mean_change", measure="SMD", control="saline",
            timepoint_hours=24, estimate=0.4, ci_low=0.1, ci_high=0.7, scale="HDRS", within=False),
        syn(study_id="rat", outcome_id="d", outcome_kind="mean_change", measure="OR", control="saline",
            timepoint_hours=24, estimate=2.0, ci_low=1.2, ci_high=3.3, scale="HDRS", within=False, favours="higher"),
    ])
    rows = syntheses(t, outcome_kind="smd", hours=(12, 36)).rows.set_index("study_id")
    assert rows.loc["neg", "shown_estimate"] == -0.87 and rows.loc["neg", "orientation"] == "as reported"
    assert (rows.loc["pos", "shown_estimate"], rows.loc["pos", "shown_ci_low"], rows.loc["pos", "shown_ci_high"]) == (
        -0.7, -1.1, -0.3)
    assert rows.loc["pos", "orientation"] == "sign flipped: reported +0.7"
    assert rows.loc["pos", "estimate"] == 0.7  # the reported value is kept beside the shown one
    assert rows.loc["unk", "shown_estimate"] == 0.4 and "not recorded" in rows.loc["unk", "orientation"]
    assert rows.loc["rat", "shown_estimate"] == 2.0  # ratios are never turned
    fig = charts.syntheses_forest(syntheses(t, outcome_kind="smd", hours=(12, 36)))
    xs = [x for tr in fig.data for x in tr.x]
    assert -0.7 in xs and 0.7 not in xs
