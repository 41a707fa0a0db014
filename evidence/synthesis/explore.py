"""Chart-ready frames for the evidence explorer, computed from (filtered) tables.

Each function takes a :class:`~evidence.curation.tables.Tables` (already restricted to the
studies a user selected) and returns the exact frame a chart draws, which is also
what the page offers as CSV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evidence.curation.tables import Tables
from evidence.publishing.charts import arm_group
from evidence.synthesis import stats
from evidence.synthesis.effects import pooled_effect
from evidence.synthesis.summaries import (
    Filter,
    PooledSummary,
    SynthesesSummary,
    response_over_time,
    syntheses,
)

# Time windows (hours since the dose) for the forest plot, as the Cochrane review's fixed time points.
FOREST_WINDOWS: dict[str, tuple[float, float]] = {
    "24 hours (12–36 h)": (12, 36),
    "2–4 hours": (2, 6),
    "3 days (2–4 d)": (48, 96),
    "1 week (5–9 d)": (120, 216),
    "2 weeks (10–18 d)": (240, 432),
    "4 weeks or end of course (3–6 wk)": (504, 1008),
}


def estimate_text(x: float) -> str:
    """An effect estimate or bound for a reader: two decimals, but a bound of 0.001 is not "0.00" and one of
    160440.19 is "160,440" (two studies with few events give such intervals)."""
    if not math.isfinite(x):
        return "not estimable"
    if x != 0 and abs(x) < 0.01:
        return f"{x:.1g}" if abs(x) >= 1e-4 else f"{x:.1e}"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.2f}"


def interval_text(low: float, high: float) -> str:
    """"low to high": a dash between two numbers reads as a minus sign beside a negative one ("-10.29–1.39")."""
    return f"{estimate_text(low)} to {estimate_text(high)}"


# The outcomes a forest can show: (outcome kind for the filter, pooling scale, label).  Binary outcomes are pooled
# as odds ratios: the trials that report a ratio report an OR (from logistic models), and so do the syntheses the
# forest is shown beside (Cochrane, Newport), so trials and syntheses are read on the same measure.
OUTCOMES: dict[str, tuple[str, str, str]] = {
    "response": ("response", "binary", "Response"),
    "remission": ("remission", "binary", "Remission"),
    "smd": ("response", "smd", "Depression score (SMD)"),
    "md": ("response", "md", "Depression score (MD)"),
}
BINARY_MEASURE = "OR"
AXIS_TITLES = {"OR": "odds ratio (log scale; > 1 favours ketamine)", "RR": "risk ratio (log scale; > 1 favours "
               "ketamine)", "SMD": "Hedges' g, ketamine minus control (< 0 favours ketamine)",
               "MD": "mean difference in points, ketamine minus control (< 0 favours ketamine)"}
MEASURE_NAMES = {"OR": "odds ratio", "RR": "risk ratio", "SMD": "SMD (Hedges' g)", "MD": "mean difference"}
ROB_DOMAIN_COLUMNS = ["study_id", "label", "domain", "judgement"]


def window_name(hours: tuple[float, float]) -> str:
    """The forest window's name for these bounds, or "LO–HI h"."""
    for name, bounds in FOREST_WINDOWS.items():
        if tuple(bounds) == tuple(hours):
            return name
    return f"{hours[0]:g}–{hours[1]:g} h"


@dataclass(frozen=True, eq=False)
class ForestView:
    """One forest: the pool (or the reason there is none), its per-study rows, the syntheses beside it, and the
    caption.  The explorer, the claim pages and ``summarize`` all show exactly this."""

    outcome: str
    hours: tuple[float, float]
    control: str
    method: str
    blinded_only: bool
    summary: PooledSummary
    rows: pd.DataFrame
    syntheses: SynthesesSummary
    rob: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ROB_DOMAIN_COLUMNS))
    # how many studies the reader's filters selected (None: all of them), so that an empty forest blames the
    # filters, not the data
    selected: int | None = None

    @property
    def measure(self) -> str:
        return self.summary.measure

    @property
    def log(self) -> bool:
        return self.measure in ("OR", "RR")

    @property
    def title(self) -> str:
        who = f"{self.control} control" if self.control != "any" else "any control"
        blinded = ", blinded studies" if self.blinded_only else ""
        return f"{OUTCOMES[self.outcome][2]}, ketamine vs {who}, {window_name(self.hours)}{blinded}"

    @property
    def pooled(self) -> dict | None:
        s = self.summary
        if not s.pooled_ok:
            return None
        return {"estimate": s.estimate, "ci_low": s.ci_low, "ci_high": s.ci_high, "pi_low": s.pi_low,
                "pi_high": s.pi_high, "label": f"Pooled ({self.method})", "k": s.k}

    @property
    def headline(self) -> str:
        s, name = self.summary, MEASURE_NAMES.get(self.measure, self.measure)
        if s.pooled_ok:
            p = s.pooled
            spread = (f"I² = {p.i2:.0f}% (a fixed effect assumes no τ²)." if self.method == "FE"
                      else f"τ² = {p.tau2:.3f}, I² = {p.i2:.0f}%.")
            return f"Pooled {name} {estimate_text(s.estimate)} (95% CI {interval_text(s.ci_low, s.ci_high)}); {spread}"
        # what the meta-analyses say is pointed to only when one reports this view (58 views had pointed at none)
        elsewhere = (" — see what the published meta-analyses found." if len(self.syntheses.rows)
                     else "; no published meta-analysis in the data reports it either.")
        if s.k == 1:
            label = self.rows["label"].iloc[0] if len(self.rows) else s.studies[0]  # "Murrough 2013", as drawn
            return f"{label}: single study, too few studies to pool{elsewhere}"
        said = {None: "No study in the data has", 0: "No study is selected, so none has",
                1: "The one selected study has no"}.get(self.selected, f"None of the {self.selected} selected "
                                                                        "studies has")
        return f"{said}{'' if self.selected == 1 else ' an'} effect for this view{elsewhere}"

    @property
    def empty_note(self) -> str:
        """What the empty figure says: the reader's filters, or the data, whichever left it empty."""
        if self.selected is None:
            return "No study in the data has an effect for this view."
        return "No selected study has an effect for this view."

    @property
    def caption(self) -> str:
        s = self.summary
        k = s.k
        if not k:
            return (f"{self.headline} k = 0 studies, n = 0 participants."
                    + "".join(f" {n[0].upper()}{n[1:]}." for n in s.notes))
        arm_data = "per-arm counts" if self.log else "per-arm means and SDs"
        sources = {"counts": arm_data, "reported": "reported", "derived": "derived"}
        return (f"{self.headline} k = {k} {'study' if k == 1 else 'studies'}, n = {s.n} participants. "
                f"Method: {s.method}. Effects: " + ", ".join(f"{n} {sources.get(src, src)}" for src, n in self.rows[
                    "effect_source"].value_counts().sort_index().items())
                + ". " + " ".join(f"{note[0].upper()}{note[1:]}." for note in s.notes))

    def as_json(self) -> dict:
        """What ``summarize --json`` prints (the keys the issue names, plus the working)."""
        s = self.summary

        def num(x):
            return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)

        p = s.pooled
        pooled = s.pooled_ok
        rows = [{
            "study_id": r.study_id, "label": r.label, "outcome_id": r.outcome_id, "hours": num(r.hours),
            "effect_source": r.effect_source, "derived_rule": r.derived_rule if isinstance(r.derived_rule, str)
            else None, "estimate": num(r.estimate), "ci_low": num(r.ci_low), "ci_high": num(r.ci_high),
            "participants": None if pd.isna(r.participants) else int(r.participants),
            "rob_overall": r.rob_overall if isinstance(r.rob_overall, str) else None,
        } for r in self.rows.itertuples()]
        return {
            "outcome": self.outcome, "hours": list(self.hours), "control": self.control,
            "blinded_only": self.blinded_only, "k": s.k, "n": s.n, "studies": list(s.studies), "rows": rows,
            "measure": self.measure, "method": self.method, "description": s.method, "pooled": pooled,
            "reason": s.why_not_pooled or None, "estimate": num(s.estimate), "ci_low": num(s.ci_low),
            "ci_high": num(s.ci_high), "pi_low": num(s.pi_low), "pi_high": num(s.pi_high),
            "tau2": num(p.tau2) if pooled else None, "i2": num(p.i2) if pooled else None,
            "knapp_hartung": bool(p.knapp_hartung) if pooled else False, "notes": list(s.notes),
            "caption": self.caption,
            "syntheses": [{key: (None if pd.isna(v) else v) for key, v in r.items()} for r in self.syntheses.rows[
                ["study_id", "outcome_id", "measure", "comparison", "timepoint_hours", "estimate", "ci_low",
                 "ci_high", "k_trials", "n_participants", "certainty"]].astype(object).to_dict("records")],
        }


def effect_view(tables: Tables, outcome: str, hours: tuple[float, float], control: str = "any",
                method: str = "REML", *, knapp_hartung: bool = False, blinded_only: bool = False,
                synthesis_tables: Tables | None = None, selected: int | None = None) -> ForestView:
    """The forest for an outcome (response, remission, smd, md), a window in hours and a control type.

    ``synthesis_tables``: where to read the syntheses (default ``tables``; the explorer passes the unfiltered
    tables, since the syntheses are a layer of their own); ``selected``: how many studies the reader's filters
    kept, when they are filtered."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; choose from {', '.join(OUTCOMES)}")
    kind, scale, _ = OUTCOMES[outcome]
    f = Filter(outcome_kind=kind, hours_min=hours[0], hours_max=hours[1], control=control, blinded_only=blinded_only)
    summary = pooled_effect(tables, f, scale, method, knapp_hartung=knapp_hartung, measure=BINARY_MEASURE)
    found = syntheses(synthesis_tables or tables, outcome_kind=kind if scale == "binary" else scale, hours=hours,
                      control=control)
    rows = forest_frame(tables, summary)
    rob = tables.risk_of_bias
    rob = rob[rob["study_id"].isin(rows["study_id"])]
    rob = rob.assign(label=tables.labels(rob["study_id"]))[ROB_DOMAIN_COLUMNS]
    return ForestView(outcome, (float(hours[0]), float(hours[1])), control, method, blinded_only, summary, rows,
                      found, rob.reset_index(drop=True), selected)


def default_view(tables: Tables) -> tuple[str, str, str]:
    """(outcome, window, why): the 24-h response window against any control when it has two or more studies,
    else the (outcome, window) against any control with the most studies (ties: the order of the lists)."""
    best: tuple[int, str, str] | None = None
    for outcome in OUTCOMES:
        for window, bounds in FOREST_WINDOWS.items():
            k = effect_view(tables, outcome, bounds).summary.k
            if outcome == "response" and window == DEFAULT_WINDOW and k >= 2:
                return outcome, window, (f"Opened on response at {window} against any control: it holds {k} "
                                         "studies (the default whenever it has two or more).")
            if best is None or k > best[0]:
                best = (k, outcome, window)
    k, outcome, window = best
    return outcome, window, (f"Opened on {OUTCOMES[outcome][2].lower()} at {window} against any control, the view "
                             f"with the most studies ({k}): the 24-hour response view has fewer than two.")


def forest_data(tables: Tables, window: str, control: str = "any", method: str = "REML",
                measure: str = BINARY_MEASURE) -> tuple[pd.DataFrame, PooledSummary]:
    """Per-study response effects (with 95% CIs) and the pooled summary for one named time window."""
    lo, hi = FOREST_WINDOWS[window]
    summary = pooled_effect(tables, Filter(hours_min=lo, hours_max=hi, control=control), "binary", method,
                            measure=measure)
    return forest_frame(tables, summary), summary


def forest_frame(tables: Tables, summary: PooledSummary) -> pd.DataFrame:
    """The per-study rows of a pooled summary, labelled, with each study's effect and 95% CI on the reporting
    scale, where it came from (``effect_source``, ``derived_rule``) and its overall risk of bias."""
    per = summary.per_study
    columns = ["study_id", "label", "estimate", "ci_low", "ci_high", "effect_source", "derived_rule",
               "participants", "rob_overall"]
    if not summary.k:
        return pd.DataFrame(columns=columns)
    if "estimate" not in per:  # a pooled rate's per-study rows: counts only
        est, low, high = stats.study_ratio_intervals("RR", per["events_t"], per["total_t"], per["events_c"],
                                                     per["total_c"])
        per = per.assign(estimate=est, ci_low=low, ci_high=high, effect_source="counts", derived_rule=None)
    rob = tables.studies.set_index("id")["rob_overall"]
    return per.assign(label=tables.labels(per["study_id"]), rob_overall=per["study_id"].map(rob).values)


DEFAULT_WINDOW = "24 hours (12–36 h)"


def time_points(tables: Tables) -> pd.DataFrame:
    """Response rate per study arm and time point (ketamine and control arms)."""
    table = response_over_time(tables, Filter(exclude_kinds=("meta_analysis", "systematic_review", "review"))).table
    if table.empty:
        return table.assign(group=pd.Series(dtype=str))
    return table.assign(group=[arm_group(d) for d in table["arm_drug"]])


def duration_labels(tables: Tables, durations: pd.DataFrame) -> list[str]:
    """"Author year", with the arm named when a duration belongs to one (a control arm is marked)."""
    arms = tables.arms.set_index(["study_id", "arm"])
    out = []
    for label, study, arm in zip(tables.labels(durations["study_id"]), durations["study_id"], durations["arm"],
                                 strict=True):
        if isinstance(arm, str) and (study, arm) in arms.index:
            row = arms.loc[(study, arm)]
            label += f" · {row['drug']}" + (" (control arm)" if row["role"] == "control" else "")
        out.append(label)
    return out


def duration_items(tables: Tables) -> pd.DataFrame:
    d = tables.durability
    d = d[pd.to_numeric(d["days"], errors="coerce").notna()]
    return d.assign(label=duration_labels(tables, d)).sort_values("days").reset_index(drop=True)


def design_rates(tables: Tables) -> pd.DataFrame:
    """Response rates per arm, grouped as open-label ketamine / blinded ketamine / blinded control."""
    out = tables.outcomes
    out = out[out["kind"].eq("response") & out["rate"].notna() & out["arm"].notna()
              & out["depression_scale"]]
    blinded = out["study_id"].map(tables.studies.set_index("id")["blinded"]).fillna(False).astype(bool)
    role = out["arm_role"].eq("intervention")
    setting = np.select([role & ~blinded, role & blinded, ~role & blinded],
                        ["open-label ketamine", "blinded ketamine", "blinded control"], "open-label control")
    return pd.DataFrame({
        "setting": setting, "rate": out["rate"].astype(float), "study_id": out["study_id"],
        "label": [f"{lab} · {arm} · {h:g} h" for lab, arm, h in zip(tables.labels(out["study_id"]), out["arm"],
                                                                   out["timepoint_hours"], strict=True)],
        "arm_drug": out["arm_drug"], "timepoint_hours": out["timepoint_hours"],
    }).reset_index(drop=True)


def harm_items(tables: Tables) -> pd.DataFrame:
    """Adverse-event proportion per study arm (peak where an event has several timings)."""
    ae = tables.adverse_events[tables.adverse_events["rate"].notna()]
    ae = ae.sort_values("rate", ascending=False).drop_duplicates(["study_id", "event", "arm"])
    return pd.DataFrame({
        "event": ae["event"].str.lower(), "group": [arm_group(d) for d in ae["arm_drug"]],
        "rate": ae["rate"].astype(float), "study_id": ae["study_id"], "arm": ae["arm"],
        "label": [f"{lab} · {arm}" for lab, arm in zip(tables.labels(ae["study_id"]), ae["arm"], strict=True)],
        "events": ae["events"], "total": ae["total"],
    }).reset_index(drop=True)


def risk_of_bias_items(tables: Tables) -> pd.DataFrame:
    rob = tables.risk_of_bias
    return rob.assign(label=tables.labels(rob["study_id"])).reset_index(drop=True)
