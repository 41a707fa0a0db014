"""Chart-ready frames for the evidence explorer, computed from (filtered) tables.

Each function takes a :class:`~evidence.curation.tables.Tables` (already restricted to the
studies a user selected) and returns the exact frame a chart draws, which is also
what the page offers as CSV.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evidence.curation.tables import Tables
from evidence.publishing.charts import arm_group
from evidence.synthesis.stats import study_ratio_intervals
from evidence.synthesis.summaries import Filter, PooledSummary, pooled_risk_ratio, response_over_time

# Time windows (hours since the dose) for the forest plot, as the Cochrane review's fixed time points.
FOREST_WINDOWS: dict[str, tuple[float, float]] = {
    "24 hours (12–36 h)": (12, 36),
    "2–4 hours": (2, 6),
    "3 days (2–4 d)": (48, 96),
    "1 week (5–9 d)": (120, 216),
    "2 weeks (10–18 d)": (240, 432),
    "4 weeks or end of course (3–6 wk)": (504, 1008),
}


def forest_data(tables: Tables, window: str, control: str = "any",
                method: str = "REML") -> tuple[pd.DataFrame, PooledSummary]:
    """Per-study risk ratios (with 95% CIs) and the pooled summary for one time window."""
    lo, hi = FOREST_WINDOWS[window]
    summary = pooled_risk_ratio(tables, Filter(hours_min=lo, hours_max=hi, control=control), method=method)
    return forest_frame(tables, summary), summary


def forest_frame(tables: Tables, summary: PooledSummary) -> pd.DataFrame:
    """The per-study rows of a pooled risk-ratio summary with each study's RR and 95% CI, labelled."""
    per = summary.per_study
    if not summary.k:
        return pd.DataFrame(columns=["study_id", "label", "estimate", "ci_low", "ci_high"])
    est, low, high = study_ratio_intervals("RR", per["events_t"], per["total_t"], per["events_c"], per["total_c"])
    return per.assign(label=tables.labels(per["study_id"]), estimate=est, ci_low=low, ci_high=high)


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
