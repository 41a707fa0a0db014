"""The explorer's standard views as page models: the forest per time window and control, response over
time, durations, open-label vs blinded, harms, risk of bias and the evidence map, on all the studies.

The static site publishes each view as a page; the app shows the same view at the permalink in
``app_params`` (the explorer with no filters).  Chart frames come from :mod:`evidence.synthesis.explore`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from evidence.curation.tables import Tables
from evidence.pages import syntheses
from evidence.pages.figure import Chart
from evidence.pages.paths import slug
from evidence.publishing import charts
from evidence.synthesis.claim_evidence import arm_participants
from evidence.synthesis.explore import (
    AXIS_TITLES,
    FOREST_WINDOWS,
    MEASURE_NAMES,
    design_rates,
    duration_items,
    forest_data,
    harm_items,
    risk_of_bias_items,
    time_points,
)

CONTROLS = ("any", "saline", "midazolam", "active")
METHOD = "REML"


@dataclass(frozen=True, eq=False)
class ExplorerView:
    slug: str
    title: str
    group: str
    charts: list[Chart]
    app_params: dict[str, str] = field(default_factory=dict)


def _studies(k: int) -> str:
    return "study" if k == 1 else "studies"


def forest_view(tables: Tables, window: str, control: str) -> ExplorerView:
    effects, summary = forest_data(tables, window, control, METHOD)
    pooled_ok = summary.k > 1 and not math.isnan(summary.estimate)
    pooled = {"estimate": summary.estimate, "ci_low": summary.ci_low, "ci_high": summary.ci_high,
              "pi_low": summary.pi_low, "pi_high": summary.pi_high, "label": f"Pooled ({METHOD})"}
    title = f"Response, ketamine vs {control} control, {window}"
    fig = charts.forest(effects, pooled if pooled_ok else None, measure=AXIS_TITLES[summary.measure], title=title)
    p = summary.pooled
    if pooled_ok:
        stats = (f"Pooled {MEASURE_NAMES[summary.measure]} {summary.estimate:.2f} "
                 f"(95% CI {summary.ci_low:.2f}–{summary.ci_high:.2f}); "
                 f"τ² = {p.tau2:.3f}, I² = {p.i2:.0f}%, Q = {p.q:.2f}. ")
    elif summary.k == 1:
        stats = "Single study: too few studies to pool; see what the meta-analyses found. "
    else:
        stats = ""
    caption = (f"{stats}k = {summary.k} {_studies(summary.k)}, n = {summary.n}. Method: {summary.method}. "
               "Counts, derived counts or reported odds ratios; one time point per study.")
    spoken = (f"Response at {window} against {control} control: {summary.k} {_studies(summary.k)}, {summary.n} "
              "participants" + (f"; pooled {MEASURE_NAMES[summary.measure]} {summary.estimate:.2f} "
                                f"(95% CI {summary.ci_low:.2f} to "
                                f"{summary.ci_high:.2f})" if pooled_ok else "")
              + "".join(f"; {r.label}: {r.estimate:.2f}" for r in effects.itertuples()) + ".")
    name = f"forest-{slug(window)}-{control}"
    out = [Chart(name, title, fig, effects.reset_index(drop=True), caption, spoken)]
    lo, hi = FOREST_WINDOWS[window]
    found = syntheses.chart(tables, name=f"{name}-syntheses", outcome_kind="response", hours=(lo, hi),
                            control=control)
    if found is not None:
        out.append(found)
    return ExplorerView(name, title, "Forest plots", out, {"chart": "Forest plot", "window": window,
                                                           "control": control, "method": METHOD})


def over_time_view(tables: Tables) -> ExplorerView:
    points = time_points(tables)
    k = points["study_id"].nunique()
    n, k_n = arm_participants(points, tables)
    people = f"{n} participants" if k_n == k else f"{n} participants in the {k_n} that report arm sizes"
    title = "Response rate by time since the dose"
    chart = Chart("response-over-time", title, charts.response_over_time(points, title=title),
                  points.reset_index(drop=True),
                  f"Observed response per arm on depression scales (not pooled): k = {k} {_studies(k)}, {people}. "
                  "Control arms in grey (saline) and orange (midazolam).",
                  f"{title}: {len(points)} arm rates from {k} {_studies(k)}, {people}, at "
                  f"{points['timepoint_hours'].nunique() if k else 0} time points from "
                  + (f"{points['timepoint_hours'].min():g} to {points['timepoint_hours'].max():g} hours." if k
                     else "none."))
    return ExplorerView(chart.name, title, "Other views", [chart], {"chart": "Response over time"})


def durations_view(tables: Tables) -> ExplorerView:
    items = duration_items(tables)
    k = items["study_id"].nunique()
    title = "Durations of effect and times to relapse"
    chart = Chart("durations", title, charts.durations(items, title=title), items.reset_index(drop=True),
                  f"As reported by {k} {_studies(k)}, in days (median time to relapse, last time point with a "
                  "difference, etc.); control arms are marked.",
                  f"{title}: {len(items)} durations from {k} {_studies(k)}"
                  + (f", from {items['days'].min():g} to {items['days'].max():g} days." if k else "."))
    return ExplorerView(chart.name, title, "Other views", [chart], {"chart": "How long it lasts"})


def design_view(tables: Tables) -> ExplorerView:
    rates = design_rates(tables)
    title = "Response: open-label vs blinded, ketamine vs control"
    medians = rates.groupby("setting")["rate"].median() if not rates.empty else {}
    spoken = "; ".join(f"{setting}: median {100 * m:.0f}% of {int((rates['setting'] == setting).sum())} arm rates"
                       for setting, m in dict(medians).items())
    chart = Chart("open-label-vs-blinded", title, charts.design_comparison(rates, title=title),
                  rates.reset_index(drop=True),
                  f"One point per study arm (all time points), {rates['study_id'].nunique()} studies. Expectation "
                  "inflates open-label rates; a dissociative drug is hard to blind.",
                  f"{title}: {spoken or 'no rates'}.")
    return ExplorerView(chart.name, title, "Other views", [chart], {"chart": "Open-label vs blinded"})


def harms_view(tables: Tables) -> ExplorerView:
    harms = harm_items(tables)
    k = harms["study_id"].nunique()
    title = "Adverse events by arm"
    top = harms.sort_values("rate", ascending=False).head(5)
    chart = Chart("harms", title, charts.harms(harms, title=title), harms.reset_index(drop=True),
                  f"Crude proportions per study arm, {k} {_studies(k)}; peak incidence where several timings are "
                  "reported.",
                  f"{title}: {len(harms)} proportions from {k} {_studies(k)}; highest: "
                  + ("; ".join(f"{r.event} {100 * r.rate:.0f}% ({r.label})" for r in top.itertuples()) or "none")
                  + ".")
    return ExplorerView(chart.name, title, "Other views", [chart], {"chart": "Harms"})


def rob_view(tables: Tables) -> ExplorerView:
    rob = risk_of_bias_items(tables)
    k = rob["study_id"].nunique()
    overall = rob[rob["domain"].eq("overall")]["judgement"].value_counts() if k else {}
    title = "Risk of bias by domain"
    chart = Chart("risk-of-bias", title, charts.risk_of_bias_grid(rob, title=title), rob.reset_index(drop=True),
                  f"{k} {_studies(k)} with a risk-of-bias judgement (L low, S some concerns, U unclear, H high), as "
                  "judged by the source named in the data.",
                  f"{title}: {k} {_studies(k)} judged; overall " + (", ".join(
                      f"{j} {c}" for j, c in dict(overall).items()) or "none") + ".")
    return ExplorerView(chart.name, title, "Other views", [chart], {"chart": "Risk of bias"})


def map_view(tables: Tables) -> ExplorerView:
    s = tables.studies
    title = "Evidence map: population × design"
    cells = s.groupby(["population", "design"]).size().sort_values(ascending=False).head(5)
    charts_ = [
        Chart("evidence-map", title, charts.evidence_map(s, title=title), s.reset_index(drop=True),
              "Bubble size: participants; label: number of studies.",
              f"{title}: {len(s)} studies; most: " + "; ".join(f"{p} × {d}: {c}" for (p, d), c in cells.items())
              + "."),
        Chart("studies-by-year", "Studies by year", charts.studies_over_time(s, title="Studies by year"),
              s[["id", "year", "kind"]].reset_index(drop=True), "Curated studies by publication year and kind.",
              f"Studies by year: {len(s)} studies published from {s['year'].min()} to {s['year'].max()}."
              if len(s) else "Studies by year: none."),
    ]
    return ExplorerView("evidence-map", title, "Other views", charts_, {"chart": "Evidence map"})


def standard_views(tables: Tables) -> list[ExplorerView]:
    """Every forest (window × control) and the other views, in the order the explorer lists them."""
    forests = [forest_view(tables, w, c) for w in FOREST_WINDOWS for c in CONTROLS]
    return [*forests, over_time_view(tables), durations_view(tables), design_view(tables), harms_view(tables),
            rob_view(tables), map_view(tables)]
