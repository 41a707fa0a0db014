"""What the evidence says about one claim: numbers computed from data/, a chart, the data behind it.

A claim's ``summaries`` (``SummarySpec``) say which computed summary answers it;
this module runs the summary, phrases the key number, and draws the claim's own
figure on the chart.  The claim page, the journalist bundle and the static report
all use it, so they always show the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from evidence.curation.schema import HOURS_PER_UNIT, Claim, SummarySpec
from evidence.curation.tables import Tables
from evidence.publishing import charts
from evidence.synthesis.explore import duration_labels, forest_frame
from evidence.synthesis.summaries import (
    Filter,
    PooledSummary,
    TableSummary,
    adverse_event_rates,
    durations,
    pooled_response_rate,
    pooled_risk_ratio,
    response_over_time,
    sensitivity,
)


@dataclass(frozen=True, eq=False)
class Panel:
    """One computed answer: the headline, its basis (k, n, method), a figure and its data."""

    spec: SummarySpec
    title: str
    headline: str
    basis: str
    figure: go.Figure
    data: pd.DataFrame
    studies: list[str]
    k: int
    n: int
    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    sensitivity: pd.DataFrame | None = None


def claimed_value(claim: Claim, unit: str) -> float | None:
    """The claim's own number in ``unit`` (percent, hours or days), or None."""
    a = claim.assertion
    if a is None:
        return None
    value = a.value if a.value is not None else (a.low if a.framing in ("as little as", "more than") else a.high)
    if value is None:
        value = a.low
    if value is None:
        return None
    if unit == "percent":
        return value if a.unit == "percent" else None
    if a.unit in HOURS_PER_UNIT:
        hours = value * HOURS_PER_UNIT[a.unit]
        return hours if unit == "hours" else hours / 24
    return None


def _window(spec: SummarySpec) -> str:
    lo, hi = spec.hours_min, spec.hours_max
    if lo is None and hi is None:
        return "any time point"
    return f"{_hours_text(lo or 0)}–{_hours_text(hi)}" if hi is not None else f"from {_hours_text(lo)}"


def _hours_text(hours: float | None) -> str:
    if hours is None:
        return "∞"
    if hours < 48:
        return f"{hours:g} h"
    if hours < 24 * 14:
        return f"{hours / 24:g} days"
    return f"{hours / 168:g} weeks"


def _scope(spec: SummarySpec) -> str:
    parts = [_window(spec)]
    if spec.blinded_only:
        parts.append("blinded studies")
    if spec.control and spec.control != "any":
        parts.append(f"{spec.control} controls")
    if spec.drugs:
        parts.append(", ".join(spec.drugs))
    if spec.populations:
        parts.append(", ".join(spec.populations))
    return "; ".join(parts)


def _pct(x: float) -> str:
    return "–" if math.isnan(x) else f"{100 * x:.0f}%"


def panel(spec: SummarySpec, claim: Claim, tables: Tables) -> Panel:
    f = Filter.from_spec(spec)
    builder = {
        "response_rate": _response_rate, "risk_ratio": _risk_ratio, "response_over_time": _over_time,
        "durations": _durations, "adverse_events": _adverse_events,
    }[spec.kind]
    return builder(spec, claim, tables, f)


def panels(claim: Claim, tables: Tables) -> list[Panel]:
    return [panel(spec, claim, tables) for spec in claim.summaries]


def _response_rate(spec, claim, tables, f) -> Panel:
    s: PooledSummary = pooled_response_rate(tables, f)
    title = spec.label or f"Response in ketamine arms ({_scope(spec)})"
    claimed = claimed_value(claim, "percent")
    arms = response_over_time(tables, f).table
    if not arms.empty:  # every reported arm rate in the window, one time point per arm; rates without counts have no CI
        best = (arms[arms["rate"].notna()].assign(_d=(arms["timepoint_hours"] - f.target_hours).abs())
                .sort_values("_d").drop_duplicates(["study_id", "arm"]).sort_values(["arm_role", "rate"]))
        rates = pd.DataFrame({
            "label": [f"{lab} · {arm}" for lab, arm in zip(tables.labels(best["study_id"]), best["arm"], strict=True)],
            "rate": best["rate"], "ci_low": best["ci_low"].fillna(best["rate"]),
            "ci_high": best["ci_high"].fillna(best["rate"]),
            "group": [charts.arm_group(d) for d in best["arm_drug"]], "study_id": best["study_id"],
            "arm": best["arm"], "timepoint_hours": best["timepoint_hours"], "events": best["events"],
            "total": best["total"], "has_counts": best["total"].notna()})
    else:
        rates = pd.DataFrame(columns=["label", "rate", "ci_low", "ci_high", "group"])
    pooled = {"estimate": s.estimate, "ci_low": s.ci_low, "ci_high": s.ci_high,
              "label": f"pooled ketamine response {_pct(s.estimate)} (95% CI {_pct(s.ci_low)}–{_pct(s.ci_high)})"}
    fig = charts.rates_against_claim(rates, claimed=claimed, claim_label=f"claimed: {claimed:g}%" if claimed else "",
                                     title=title, pooled=pooled if s.k else None)
    headline = (f"Pooled response in ketamine arms: {_pct(s.estimate)} (95% CI {_pct(s.ci_low)} to "
                f"{_pct(s.ci_high)})" if s.k else "No study in the data reports response counts for this scope.")
    sens = sensitivity(tables, f, pooled_response_rate, main=s).table()
    return Panel(spec, title, headline, _basis(s), fig, rates, s.studies, s.k, s.n, s.estimate, s.ci_low,
                 s.ci_high, sens)


def _risk_ratio(spec, claim, tables, f) -> Panel:
    s: PooledSummary = pooled_risk_ratio(tables, f)
    title = spec.label or f"Response, ketamine vs control: risk ratio ({_scope(spec)})"
    data = forest_frame(tables, s)
    pooled = {"estimate": s.estimate, "ci_low": s.ci_low, "ci_high": s.ci_high, "pi_low": s.pi_low,
              "pi_high": s.pi_high, "label": f"Pooled RR ({s.pooled.method})"}
    fig = charts.forest(data, pooled if s.k else None, measure="risk ratio of response (log scale)", title=title)
    headline = (f"Pooled risk ratio of response: {s.estimate:.2f} (95% CI {s.ci_low:.2f} to {s.ci_high:.2f}); "
                f"τ² {s.pooled.tau2:.3f}, I² {s.pooled.i2:.0f}%" if s.k
                else "No study in the data has counts for both arms here.")
    sens = sensitivity(tables, f, pooled_risk_ratio, main=s).table()
    return Panel(spec, title, headline, _basis(s), fig, data, s.studies, s.k, s.n, s.estimate, s.ci_low,
                 s.ci_high, sens)


def _over_time(spec, claim, tables, f) -> Panel:
    s: TableSummary = response_over_time(tables, f)
    title = spec.label or f"Response over time since the dose ({_scope(spec)})"
    data = s.table.assign(group=[charts.arm_group(d) for d in s.table["arm_drug"]]) if s.k else s.table
    claimed = claimed_value(claim, "hours")
    fig = charts.response_over_time(data, claimed_hours=claimed, claim_label="claimed" if claimed else "",
                                    title=title)
    earliest = _earliest_difference(data)
    headline = earliest or "No arm-level response rates over time in this scope."
    return Panel(spec, title, headline, _basis(s), fig, data, s.studies, s.k, s.n)


def _earliest_difference(data: pd.DataFrame) -> str | None:
    """Describe the earliest time point with both a ketamine and a control rate, from the data."""
    if data.empty:
        return None
    ket = data[data["group"].isin(["ketamine", "esketamine"])]
    ctl = data[~data["group"].isin(["ketamine", "esketamine"])]
    both = ket.merge(ctl, on=["study_id", "timepoint_hours"], suffixes=("_k", "_c"))
    if both.empty:
        first = ket.sort_values("timepoint_hours").head(1)
        if first.empty:
            return None
        row = first.iloc[0]
        return f"Earliest response rate in the data: {_pct(row['rate'])} at {_hours_text(row['timepoint_hours'])}."
    row = both.sort_values("timepoint_hours").iloc[0]
    return (f"Earliest controlled comparison: {_pct(row['rate_k'])} vs {_pct(row['rate_c'])} responders at "
            f"{_hours_text(row['timepoint_hours'])} ({row['study_id']}).")


def _durations(spec, claim, tables, f) -> Panel:
    s: TableSummary = durations(tables, f)
    title = spec.label or "How long the effect lasted"
    data = s.table
    if not data.empty:
        data = data.assign(label=duration_labels(tables, data))
    claimed = claimed_value(claim, "days")
    fig = charts.durations(data, claimed_days=claimed, claim_label=f"claimed: {claimed:g} days" if claimed else "",
                           title=title)
    if not data.empty:  # control-arm durations (e.g. relapse on placebo) are drawn but not quoted as ketamine's
        control_arms = set(tables.arms.loc[tables.arms["role"].eq("control"), "study_id"] + "/"
                           + tables.arms.loc[tables.arms["role"].eq("control"), "arm"])
        own = data[~(data["study_id"] + "/" + data["arm"].fillna("")).isin(control_arms)]
        headline = "Reported durations after ketamine: " + "; ".join(
            f"{r.label}: {r.days:g} days ({r.measure.replace('_', ' ')}, {r.statistic})"
            for r in own.sort_values("days").itertuples()) + "."
    else:
        headline = "No durations in the data for this scope."
    return Panel(spec, title, headline, _basis(s), fig, data, s.studies, s.k, s.n)


def _adverse_events(spec, claim, tables, f) -> Panel:
    s: TableSummary = adverse_event_rates(tables, f)
    title = spec.label or "Adverse events by arm"
    table = s.table
    data = table.assign(group=np.where(table["arm_role"].eq("intervention"), "ketamine", "other"),
                        label=[f"{e} ({r}, k={k})" for e, r, k in zip(table["event"], table["arm_role"], table["k"],
                                                                       strict=True)]) if not table.empty else table
    fig = charts.harms(data, title=title)
    top = table[table["arm_role"].eq("intervention")].sort_values("rate", ascending=False).head(3)
    headline = ("Most frequent in ketamine arms: " + "; ".join(
        f"{r.event} {_pct(r.rate)} (k={r.k})" for r in top.itertuples()) + ".") if not top.empty else (
        "No adverse-event counts in this scope.")
    return Panel(spec, title, headline, _basis(s), fig, data, s.studies, s.k, s.n)


def _basis(s) -> str:
    return f"Based on k = {s.k} studies, n = {s.n} participants. Method: {s.method}."
