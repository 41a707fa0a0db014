"""The explorer's standard views as page models: the forest per outcome, time window and control (with the
syntheses beside it), response over time, durations, open-label vs blinded, harms, risk of bias and the evidence
map, on all the studies.

The static site publishes each view as a page; the app shows the same view at the permalink in
``app_params`` (the explorer with no filters).  Chart frames come from :mod:`evidence.synthesis.explore`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from evidence.curation.tables import SYNTHESIS_DESIGNS, SYNTHESIS_KINDS, Tables
from evidence.pages import syntheses
from evidence.pages.figure import Chart
from evidence.pages.paths import slug
from evidence.publishing import charts
from evidence.synthesis.claim_evidence import arm_participants
from evidence.synthesis.explore import (
    AXIS_TITLES,
    FOREST_WINDOWS,
    OUTCOMES,
    design_rates,
    duration_items,
    effect_view,
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


def selection_summary(studies: pd.DataFrame, total: int) -> str:
    """The explorer's line over its table: how many studies are selected and how many people they hold.  Primary
    studies' participants are added up; a synthesis pools trials that are mostly in the table already, so its
    participants are named apart, not added (a total of 21,722 had counted the same trials' people twice)."""
    synthesis = studies["kind"].isin(SYNTHESIS_KINDS) | studies["design"].isin(SYNTHESIS_DESIGNS)
    known = studies["n_randomized"].notna()
    primary, pooled = studies[~synthesis & known], studies[synthesis & known]
    unknown = int((~known).sum())
    parts = [f"**{len(studies)} of {total} studies**"]
    if len(primary):
        parts.append(f"{int(primary['n_randomized'].sum()):,} participants in {len(primary)} primary "
                     f"{_studies(len(primary))}")
    if len(pooled):
        parts.append(f"{len(pooled)} {'synthesis pools' if len(pooled) == 1 else 'syntheses pool'} "
                     f"{int(pooled['n_randomized'].sum()):,} (largely the same trials' participants, so not added)")
    if unknown:
        parts.append(f"{'no' if unknown == len(studies) else 'participants not reported for'} "
                     + ("sample size reported" if unknown == len(studies) else f"{unknown} {_studies(unknown)}"))
    return "; ".join(parts) + "."


def forest_view(tables: Tables, outcome: str, window: str, control: str, v=None) -> ExplorerView:
    """The explorer's forest (``explore.effect_view``: pool or the reason there is none, rows, caption) and the
    syntheses beside it, as the app draws them.  ``v``: the effect view, if the caller has it."""
    v = v if v is not None else effect_view(tables, outcome, FOREST_WINDOWS[window], control, METHOD)
    s = v.summary
    fig = charts.forest(v.rows, v.pooled, measure=AXIS_TITLES[v.measure], title=v.title, log=v.log, rob=v.rob,
                        empty_note=v.empty_note)
    what = OUTCOMES[outcome][2]
    spoken = (f"{what} at {window} against {control} control: {s.k} {_studies(s.k)}, {s.n} participants; "
              f"{v.headline}" + "".join(f" {r.label}: {r.estimate:.2f} ({r.ci_low:.2f} to {r.ci_high:.2f});"
                                        for r in v.rows.itertuples()))
    name = f"forest-{outcome}-{slug(window)}-{control}"
    out = [Chart(name, v.title, fig, v.rows.reset_index(drop=True),
                 v.caption + " † a value derived by an exact rule from quoted figures. Risk of bias beside each "
                 "study: L low, S some concerns, U unclear, H high, – not assessed (domains by their initials; hover "
                 "for names).", spoken.rstrip(";.") + ".")]
    if len(v.syntheses.rows):
        rows = v.syntheses.rows
        out.append(Chart(f"{name}-syntheses", "What the meta-analyses found", charts.syntheses_forest(v.syntheses),
                         rows.reset_index(drop=True), f"{v.syntheses.caption}",
                         syntheses.describe(f"What the meta-analyses found ({what.lower()}, {window})", rows)))
    return ExplorerView(name, v.title, f"Forest plots: {what.lower()}", out,
                        {"chart": "Forest plot", "outcome": outcome, "window": window, "control": control,
                         "method": METHOD})


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
    k = rates["study_id"].nunique()
    title = "Response: open-label vs blinded, ketamine vs control"
    medians = rates.groupby("setting")["rate"].median() if not rates.empty else {}
    counts = rates["setting"].value_counts() if not rates.empty else {}
    spoken = "; ".join(f"{setting}: median {100 * m:.0f}% of {counts[setting]} arm "
                       f"{'rate' if counts[setting] == 1 else 'rates'}" for setting, m in dict(medians).items())
    chart = Chart("open-label-vs-blinded", title, charts.design_comparison(rates, title=title),
                  rates.reset_index(drop=True),
                  f"One point per study arm (all time points), {k} {_studies(k)}. Expectation "
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
              f"{title}: {len(s)} {_studies(len(s))}; most: "
              + "; ".join(f"{p} × {d}: {c}" for (p, d), c in cells.items()) + "."),
        Chart("studies-by-year", "Studies by year", charts.studies_over_time(s, title="Studies by year"),
              s[["id", "year", "kind"]].reset_index(drop=True), "Curated studies by publication year and kind.",
              f"Studies by year: {len(s)} {_studies(len(s))} published "
              + (f"in {s['year'].min()}." if s['year'].min() == s['year'].max()
                 else f"from {s['year'].min()} to {s['year'].max()}.")
              if len(s) else "Studies by year: none."),
    ]
    return ExplorerView("evidence-map", title, "Other views", charts_, {"chart": "Evidence map"})


def standard_views(tables: Tables) -> list[ExplorerView]:
    """Every forest (outcome × window × control) that has a study or a synthesis (response always), then the
    other views, in the order the explorer lists them."""
    forests = []
    for o in OUTCOMES:
        for w, hours in FOREST_WINDOWS.items():
            for c in CONTROLS:
                v = effect_view(tables, o, hours, c, METHOD)
                if o == "response" or v.summary.k or len(v.syntheses.rows):  # figures only for published views
                    forests.append(forest_view(tables, o, w, c, v))
    return [*forests, over_time_view(tables), durations_view(tables), design_view(tables), harms_view(tables),
            rob_view(tables), map_view(tables)]
