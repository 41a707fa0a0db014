"""What the evidence says about one claim: numbers computed from data/, a chart, the data behind it.

A claim's ``summaries`` (``SummarySpec``) say which computed summary answers it;
this module runs the summary, phrases the key number, and draws the claim's own
figure on the chart.  A claim without a summary gets one panel charting the studies
it cites, chosen by its assertion's quantity.  The claim page model
(:mod:`evidence.pages.claim`) is built from these panels, and every renderer (the
app, the static site, the report, the bundle) draws that model, so all show the
same numbers.  Every caption's k and n count the same studies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from evidence.curation.load import Dataset
from evidence.curation.schema import HOURS_PER_UNIT, Claim, SummarySpec
from evidence.curation.tables import Tables
from evidence.publishing import charts
from evidence.synthesis.explore import duration_labels, estimate_text, forest_frame, interval_text
from evidence.synthesis.stats import study_ratio_intervals
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
    """One computed answer: the headline, its basis (k, n, method), a figure, its data and a text summary.

    ``spec`` is None for the chart of a claim's cited studies (no computed summary: no key number).
    ``summary`` says in one sentence what the chart shows, for readers who cannot see it."""

    spec: SummarySpec | None
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
    summary: str = ""

    @property
    def caption(self) -> str:
        return f"{self.title}. {self.basis}"

    @property
    def kind(self) -> str:
        return self.spec.kind if self.spec is not None else "cited_studies"


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
        "response_rate": _response_rate, "odds_ratio": _odds_ratio, "response_over_time": _over_time,
        "durations": _durations, "adverse_events": _adverse_events,
    }[spec.kind]
    return builder(spec, claim, tables, f)


def panels(claim: Claim, tables: Tables) -> list[Panel]:
    return [panel(spec, claim, tables) for spec in claim.summaries]


def claim_panels(claim: Claim, dataset: Dataset, tables: Tables) -> tuple[list[Panel], list[str]]:
    """Every panel a claim page shows, and the summaries that failed (an export never fails on one).

    A claim without summaries gets one panel of its cited studies (no key number)."""
    out, failed = [], []
    for spec in claim.summaries:
        try:
            out.append(panel(spec, claim, tables))
        except Exception as exc:  # shown without its number, never with a made-up one
            failed.append(f"claim {claim.id}: summary {spec.kind!r} failed ({type(exc).__name__}: {exc})")
    if not claim.summaries:
        out.append(cited_panel(claim, dataset, tables))
    return out, failed


def _one_or_pooled(s: PooledSummary, what: str) -> str:
    return f"Pooled {what}" if s.k > 1 else f"{what[0].upper()}{what[1:]} in the only study with counts"


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
    what = _one_or_pooled(s, "response in ketamine arms")
    est, low, high = _estimate(s, "rate")
    pooled = {"estimate": est, "ci_low": low, "ci_high": high,
              "label": f"{what.lower()} {_pct(est)} (95% CI {_pct(low)}–{_pct(high)})"}
    fig = charts.rates_against_claim(rates, claimed=claimed, claim_label=f"claimed: {claimed:g}%" if claimed else "",
                                     title=title, pooled=pooled if s.k else None)
    headline = (f"{what}: {_pct(est)} (95% CI {_pct(low)} to {_pct(high)})" if s.k
                else "No study in the data reports response counts for this scope.")
    sens = sensitivity(tables, f, pooled_response_rate, main=s).table(lambda x: _estimate(x, "rate"))
    summary = (f"{title}: {s.k} {_studies(s.k)} with counts, {s.n} participants in ketamine arms; {headline}; "
               f"{len(rates)} arm rates drawn" + (f"; the claim says {claimed:g}%." if claimed else "."))
    return Panel(spec, title, headline, _basis(s.k, s.n, s.k, s.method), fig, rates, s.studies, s.k, s.n,
                 est, low, high, sens, summary)


def _estimate(s: PooledSummary, kind: str) -> tuple[float, float, float]:
    """The pooled estimate, or the one study's own (a single study is never pooled)."""
    if s.k != 1 or not math.isnan(s.estimate):
        return s.estimate, s.ci_low, s.ci_high
    row = s.per_study.iloc[0]
    if kind == "rate":
        from evidence.synthesis.stats import wilson_interval

        low, high = wilson_interval(int(row["events"]), int(row["total"]))
        return float(row["events"]) / float(row["total"]), low, high
    if "estimate" in s.per_study:  # a reported effect has no counts: the per-study row carries its estimate
        return float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"])
    est, low, high = study_ratio_intervals(s.measure or "OR", s.per_study["events_t"], s.per_study["total_t"],
                                           s.per_study["events_c"], s.per_study["total_c"])
    return float(est[0]), float(low[0]), float(high[0])


def _pooled_or(tables, f, method: str = "REML") -> PooledSummary:
    return pooled_risk_ratio(tables, f, method, measure="OR")


def _odds_ratio(spec, claim, tables, f) -> Panel:
    """Response, ketamine vs control, pooled as the explorer pools it: odds ratios from counts and reported ORs."""
    s: PooledSummary = _pooled_or(tables, f)
    title = spec.label or f"Response, ketamine vs control: odds ratio ({_scope(spec)})"
    data = forest_frame(tables, s)
    pooled = {"estimate": s.estimate, "ci_low": s.ci_low, "ci_high": s.ci_high, "pi_low": s.pi_low,
              "pi_high": s.pi_high, "label": f"Pooled OR ({s.pooled.method})"}
    fig = charts.forest(data, pooled if s.k > 1 else None, measure="odds ratio of response (log scale)",
                        title=title)
    what = _one_or_pooled(s, "odds ratio of response")
    est, low, high = _estimate(s, "ratio") if s.k else (math.nan, math.nan, math.nan)
    headline = (f"{what}: {estimate_text(est)} (95% CI {interval_text(low, high)})"
                + (f"; τ² {s.pooled.tau2:.3f}, I² {s.pooled.i2:.0f}%" if s.k > 1 else "") if s.k
                else "No study in the data has counts for both arms here.")
    sens = sensitivity(tables, f, _pooled_or, main=s).table(lambda x: _estimate(x, "ratio"))
    summary = f"{title}: {s.k} {_studies(s.k)}, {s.n} participants; {headline}."
    return Panel(spec, title, headline, _basis(s.k, s.n, s.k, s.method), fig, data, s.studies, s.k, s.n,
                 est, low, high, sens, summary)


def _over_time(spec, claim, tables, f) -> Panel:
    s: TableSummary = response_over_time(tables, f)
    title = spec.label or f"Response over time since the dose ({_scope(spec)})"
    data = s.table.assign(group=[charts.arm_group(d) for d in s.table["arm_drug"]]) if s.k else s.table
    claimed = claimed_value(claim, "hours")
    fig = charts.response_over_time(data, claimed_hours=claimed, claim_label="claimed" if claimed else "",
                                    title=title)
    earliest = _earliest_difference(data)
    headline = earliest or "No arm-level response rates over time in this scope."
    n, k_n = arm_participants(data, tables)
    summary = (f"{title}: {s.k} {_studies(s.k)}, {n} participants; {len(data)} arm rates at "
               f"{data['timepoint_hours'].nunique() if s.k else 0} time points. {headline}"
               + (f" The claim says {_hours_text(claimed)}." if claimed else ""))
    return Panel(spec, title, headline, _basis(s.k, n, k_n, s.method), fig, data, s.studies, s.k, n,
                 summary=summary)


def arm_participants(rows: pd.DataFrame, tables: Tables) -> tuple[int, int]:
    """Participants in the study arms of ``rows`` and how many of its studies give their size.

    An arm's size is its largest count total (or outcome n) in the rows, else its randomised number; a
    study with an arm of unknown size counts its randomised total instead; a crossover trial's
    participants are counted once (the same people in every arm)."""
    if rows.empty:
        return 0, 0
    keys = ["study_id", "outcome_id", "arm"]
    reported = tables.outcomes.drop_duplicates(keys).set_index(keys)["n"]
    outcome_n = pd.to_numeric(reported.reindex(pd.MultiIndex.from_frame(rows[keys])), errors="coerce").to_numpy()
    sized = rows.assign(_size=pd.to_numeric(rows["total"], errors="coerce").fillna(
        pd.Series(outcome_n, index=rows.index)))
    size = sized.groupby(["study_id", "arm"])["_size"].max()
    randomised = tables.arms.drop_duplicates(["study_id", "arm"]).set_index(["study_id", "arm"])["n_randomized"]
    size = size.fillna(pd.Series(pd.to_numeric(randomised.reindex(size.index), errors="coerce").to_numpy(),
                                 index=size.index))
    info = tables.studies.set_index("id")
    n, known = 0, 0
    for study, arms in size.groupby(level="study_id"):
        whole = pd.to_numeric(info["n_randomized"].get(study), errors="coerce")
        if arms.isna().any() or info["design"].get(study) == "RCT crossover":
            value = whole if pd.notna(whole) else (arms.max() if arms.notna().any() else math.nan)
        else:
            value = arms.sum()
        if pd.notna(value):
            known += 1
            n += int(value)
    return n, known


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
    sizes = tables.studies.set_index("id")["n_randomized"].reindex(s.studies)
    k_n, n = int(sizes.notna().sum()), int(sizes.fillna(0).sum())
    summary = (f"{title}: {len(data)} reported durations from {s.k} {_studies(s.k)}"
               + (f", from {data['days'].min():g} to {data['days'].max():g} days" if not data.empty else "")
               + (f"; the claim says {claimed:g} days." if claimed else "."))
    return Panel(spec, title, headline, _basis(s.k, n, k_n, s.method), fig, data, s.studies, s.k, n,
                 summary=summary)


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
    summary = (f"{title}: {table['event'].nunique() if not table.empty else 0} events from {s.k} "
               f"{_studies(s.k)}, {s.n} participants. {headline}")
    return Panel(spec, title, headline, _basis(s.k, s.n, s.k, s.method), fig, data, s.studies, s.k, s.n,
                 summary=summary)


def _studies(k: int) -> str:
    return "study" if k == 1 else "studies"


def _basis(k: int, n: int, k_with_n: int, method: str) -> str:
    """"Based on k studies, n participants", where n counts the same k studies (or says which of them)."""
    people = f"n = {n} participants" if k_with_n == k else (
        f"n = {n} participants in the {k_with_n} of them that report arm sizes" if k_with_n
        else "none of them reports its arm sizes")
    return f"Based on k = {k} {_studies(k)}, {people}. Method: {method}."


# --------------------------------------------------------------------------- a claim without a summary

def _quantity(claim: Claim) -> str | None:
    return claim.assertion.quantity if claim.assertion else None


def _wilson(events, total, rate: float) -> tuple[float, float]:
    from evidence.synthesis.stats import wilson_interval

    if pd.notna(events) and pd.notna(total) and int(total) > 0:
        return wilson_interval(int(events), int(total))
    return rate, rate


def _evidence_rows(claim: Claim, frame: pd.DataFrame, *, linked_outcomes: bool = False) -> pd.DataFrame:
    ids = [e.study for e in claim.evidence]
    rows = frame[frame["study_id"].isin(ids)]
    if linked_outcomes:
        wanted = {(e.study, o) for e in claim.evidence for o in e.outcomes}
        listed = {e.study for e in claim.evidence if e.outcomes}
        keep = [(s not in listed) or ((s, o) in wanted) for s, o in zip(rows["study_id"], rows["outcome_id"],
                                                                         strict=True)]
        rows = rows[np.asarray(keep, dtype=bool)]
    return rows


def cited_panel(claim: Claim, dataset: Dataset, tables: Tables) -> Panel:
    """The chart of a claim's cited studies, chosen by its assertion's quantity (no pooling, no key number)."""
    title = f"The cited studies: {claim.short}"
    fig, data = _cited_chart(claim, tables, title)
    studies = sorted(set(data["study_id"])) if "study_id" in data.columns and not data.empty else []
    k = len(studies)
    sizes = tables.studies.set_index("id")["n_randomized"].reindex(studies)
    n, k_n = int(sizes.fillna(0).sum()), int(sizes.notna().sum())
    cited = len({e.study for e in claim.evidence})
    headline = (f"{len(data)} reported figures from {k} of the {cited} cited {_studies(cited)}." if k
                else "This claim cites no study." if not cited
                else f"None of the {cited} cited {_studies(cited)} reports a figure this chart can show.")
    summary = f"{title}: {headline}" if k else headline
    return Panel(None, title, headline, _basis(k, n, k_n, "figures as reported by each cited study (not pooled)"),
                 fig, data, studies, k, n, summary=summary)


def _cited_chart(claim: Claim, tables: Tables, title: str) -> tuple[go.Figure, pd.DataFrame]:
    quantity = _quantity(claim)
    none = pd.DataFrame(columns=["study_id"])
    if quantity in ("response_rate", "onset"):
        rows = _evidence_rows(claim, tables.outcomes, linked_outcomes=True)
        rows = rows[pd.to_numeric(rows["rate"]).notna() & rows["arm"].notna()]
        kind = "response" if rows["kind"].eq("response").any() else "remission"
        rows = rows[rows["kind"].eq(kind)]
        if quantity == "onset":
            points = rows.assign(group=[charts.arm_group(d) for d in rows["arm_drug"]],
                                 schedule=rows["arm_schedule"], rate=pd.to_numeric(rows["rate"]))
            return charts.response_over_time(points, claimed_hours=claimed_value(claim, "hours"),
                                             claim_label="claimed", title=title), points
        bounds = [_wilson(e, t, r) for e, t, r in zip(rows["events"], rows["total"], pd.to_numeric(rows["rate"]),
                                                     strict=True)]
        rates = pd.DataFrame({
            "label": [f"{tables.label(s)} · {a} · {h:g} h" for s, a, h in
                      zip(rows["study_id"], rows["arm"], rows["timepoint_hours"], strict=True)],
            "rate": pd.to_numeric(rows["rate"]).to_numpy(), "ci_low": [b[0] for b in bounds],
            "ci_high": [b[1] for b in bounds], "group": [charts.arm_group(d) for d in rows["arm_drug"]],
            "study_id": rows["study_id"].to_numpy()})
        claimed = claimed_value(claim, "percent")
        return charts.rates_against_claim(rates, claimed=claimed, title=title, claim_label=(
            f"claimed: {claimed:g}%" if claimed is not None else "")), rates
    if quantity in ("relative_effect", "relative_risk"):
        rows = _evidence_rows(claim, tables.outcomes, linked_outcomes=True)
        rows = rows.dropna(subset=["estimate", "ci_low", "ci_high"]).drop_duplicates(["study_id", "outcome_id"])
        if not rows.empty:
            kind = rows["effect_type"].mode().iloc[0]
            rows = rows[rows["effect_type"] == kind]
            effects = pd.DataFrame({
                "label": [f"{tables.label(s)} · {o}" for s, o in
                          zip(rows["study_id"], rows["outcome_id"], strict=True)],
                "estimate": rows["estimate"].astype(float).to_numpy(),
                "ci_low": rows["ci_low"].astype(float).to_numpy(), "ci_high": rows["ci_high"].astype(float).to_numpy(),
                "study_id": rows["study_id"].to_numpy()})
            return charts.forest(effects, None, measure=f"{kind} as reported", title=title,
                                 log=kind in ("OR", "RR", "HR")), effects
        return charts.empty(title, "No reported effect with a confidence interval in the cited studies."), none
    if quantity == "duration":
        rows = _evidence_rows(claim, tables.durability)
        rows = rows[pd.to_numeric(rows["days"]).notna()]
        items = rows.assign(label=[tables.label(s) for s in rows["study_id"]], days=pd.to_numeric(rows["days"]))
        claimed = claimed_value(claim, "days")
        return charts.durations(items, claimed_days=claimed, title=title,
                                claim_label=f"claimed: {claimed:g} days" if claimed else ""), items
    if quantity == "side_effect_rate":
        rows = _evidence_rows(claim, tables.adverse_events)
        rows = rows[pd.to_numeric(rows["rate"]).notna()]
        rates = rows.assign(group=[charts.arm_group(d) for d in rows["arm_drug"]], rate=pd.to_numeric(rows["rate"]),
                            label=[f"{tables.label(s)} · {a}" for s, a in
                                   zip(rows["study_id"], rows["arm"], strict=True)])
        return charts.harms(rates, title=title), rates
    return charts.empty(title, "This claim has no numeric assertion to chart; see the cited studies."), none
