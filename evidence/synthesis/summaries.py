"""Evidence summaries computed from the tidy tables, for one :class:`Filter`.

Each function returns a dataclass carrying the numbers *and* what they rest on:
the study ids, the table rows used, k, n (participants) and a ``method`` string,
so a page can show its working and a verdict can be re-checked.  An empty
selection gives k = 0 and NaN estimates; nothing here raises on a filter.

Rules, chosen to avoid invented or double-counted data:

* Only primary studies are pooled: syntheses, reviews, regulatory documents and
  labels are excluded by default (they re-report the trials).
* Counts are never invented.  A row is used when it has events and total; a row
  with only a rate is used when rate x n is within 0.01 of a whole number.
* One estimate per study: the outcome whose time point is closest to the window
  centre (the midpoint, the single bound given, else 24 h, the conventional
  single-infusion endpoint); ties go to the earlier time point, then the outcome
  with more participants.
* Several ketamine arms (e.g. doses) in one study are combined by summing events
  and totals; likewise several eligible control arms.
* Risk ratios follow metafor's escalc rules (0.5 added to all cells only when a
  study has a zero cell); crossover trials are analysed as if parallel.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from evidence.curation.tables import OUTCOME_COLUMNS, Tables, is_depression_scale  # noqa: F401 (re-exported)
from evidence.synthesis.stats import PooledResult, empty_result, pool_binary, pool_proportions, wilson_interval

KETAMINE_DRUGS = ("racemic ketamine", "esketamine", "arketamine", "ketamine (mixed forms)")
SALINE = ("placebo (saline)", "placebo (intranasal)", "placebo (oral)")
ACTIVE = ("midazolam", "electroconvulsive therapy", "quetiapine", "oral antidepressant")
CONTROLS: dict[str, tuple[str, ...] | None] = {
    "any": None, "saline": SALINE, "midazolam": ("midazolam",), "active": ACTIVE,
}
RCT_DESIGNS = ("RCT parallel", "RCT crossover", "randomized withdrawal")
SECONDARY_KINDS = ("meta_analysis", "systematic_review", "review", "regulatory", "label")
DEFAULT_TARGET_HOURS = 24.0
RATE_TOLERANCE = 0.01


@dataclass(frozen=True)
class Filter:
    """Which evidence a summary uses.  List fields accept lists; they are stored as tuples (hashable)."""

    outcome_kind: str = "response"
    hours_min: float | None = None
    hours_max: float | None = None
    blinded_only: bool = False
    control: str = "any"
    drugs: tuple[str, ...] = ()
    populations: tuple[str, ...] = ()
    designs: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()
    exclude_high_rob: bool = False
    exclude_kinds: tuple[str, ...] = SECONDARY_KINDS

    def __post_init__(self) -> None:
        for name in ("drugs", "populations", "designs", "routes", "exclude_kinds"):
            object.__setattr__(self, name, tuple(getattr(self, name) or ()))
        if self.control not in CONTROLS:
            raise ValueError(f"control must be one of {', '.join(CONTROLS)}, not {self.control!r}")

    @classmethod
    def from_spec(cls, spec: Any) -> Filter:
        """From a claim's ``SummarySpec`` (``control: null`` means any)."""
        return cls(outcome_kind=spec.outcome_kind, hours_min=spec.hours_min, hours_max=spec.hours_max,
                   blinded_only=spec.blinded_only, control=spec.control or "any", drugs=spec.drugs,
                   populations=spec.populations)

    @property
    def target_hours(self) -> float:
        lo, hi = self.hours_min, self.hours_max
        if lo is not None and hi is not None:
            return (lo + hi) / 2
        return next((b for b in (lo, hi) if b is not None), DEFAULT_TARGET_HOURS)


@dataclass(frozen=True, eq=False)
class PooledSummary:
    """A pooled estimate on the reporting scale (a rate, or a risk ratio) plus its working."""

    k: int
    n: int
    studies: list[str]
    rows: pd.DataFrame
    per_study: pd.DataFrame
    method: str
    pooled: PooledResult
    notes: list[str] = field(default_factory=list)

    @property
    def estimate(self) -> float:
        return self.pooled.natural["estimate"]

    @property
    def ci_low(self) -> float:
        return self.pooled.natural["ci_low"]

    @property
    def ci_high(self) -> float:
        return self.pooled.natural["ci_high"]

    @property
    def pi_low(self) -> float:
        return self.pooled.natural["pi_low"]

    @property
    def pi_high(self) -> float:
        return self.pooled.natural["pi_high"]


@dataclass(frozen=True, eq=False)
class TableSummary:
    """A descriptive table (no pooling) plus its working."""

    k: int
    n: int
    studies: list[str]
    rows: pd.DataFrame
    table: pd.DataFrame
    method: str
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class Sensitivity:
    """The same summary for the filter, for blinded RCTs only, and without high risk of bias."""

    main: Any
    blinded_rcts: Any
    excluding_high_rob: Any

    def table(self) -> pd.DataFrame:
        out = []
        for label, s in (("as filtered", self.main), ("blinded RCTs only", self.blinded_rcts),
                         ("excluding high risk of bias", self.excluding_high_rob)):
            out.append({"analysis": label, "k": s.k, "n": s.n, **{
                name: getattr(s, name, math.nan) for name in ("estimate", "ci_low", "ci_high")}})
        return pd.DataFrame(out)


# --------------------------------------------------------------------------- selection

def select_studies(tables: Tables, f: Filter) -> pd.DataFrame:
    """Study rows passing the study-level filters."""
    st = tables.studies
    keep = ~st["kind"].isin(f.exclude_kinds)
    if f.blinded_only:
        keep &= st["blinded"].eq(True)
    for column, allowed in (("drug", f.drugs), ("population", f.populations), ("design", f.designs),
                            ("route", f.routes)):
        if allowed:
            keep &= st[column].isin(allowed)
    if f.exclude_high_rob:
        keep &= st["rob_overall"].ne("high")  # unknown RoB is kept
    return st[keep]


def _control_mask(rows: pd.DataFrame, control: str) -> pd.Series:
    mask = rows["arm_role"].eq("control") & ~rows["arm_drug"].isin(KETAMINE_DRUGS)  # no dose-comparison "controls"
    drugs = CONTROLS[control]
    return mask if drugs is None else mask & rows["arm_drug"].isin(drugs)


def _ketamine_mask(rows: pd.DataFrame) -> pd.Series:
    return rows["arm_role"].eq("intervention") & rows["arm_drug"].isin(KETAMINE_DRUGS)


def _outcome_rows(tables: Tables, f: Filter) -> pd.DataFrame:
    """Arm-level outcome rows of the chosen kind, in the window, for the selected studies."""
    out = tables.outcomes
    ids = select_studies(tables, f)["id"]
    keep = out["study_id"].isin(ids) & out["kind"].eq(f.outcome_kind) & out["arm"].notna()
    if f.outcome_kind in ("response", "remission"):
        keep &= out["depression_scale"]
    hours = pd.to_numeric(out["timepoint_hours"], errors="coerce")
    if f.hours_min is not None:
        keep &= hours >= f.hours_min
    if f.hours_max is not None:
        keep &= hours <= f.hours_max
    return out[keep]


def _with_counts(rows: pd.DataFrame) -> pd.DataFrame:
    """Add float columns ``_events``/``_total``: reported counts, or rate x n when that is a whole number."""
    rows = rows.copy()
    events = pd.to_numeric(rows["events"], errors="coerce").astype(float)
    total = pd.to_numeric(rows["total"], errors="coerce").astype(float)
    rate = pd.to_numeric(rows["rate"], errors="coerce").astype(float)
    n = pd.to_numeric(rows["n"], errors="coerce").astype(float)
    implied = rate * n
    exact = events.isna() & (implied - implied.round()).abs().le(RATE_TOLERANCE) & n.ge(1)
    rows["_events"] = events.where(~exact, implied.round())
    rows["_total"] = total.where(~exact, n)
    rows.loc[rows["_events"].isna() | rows["_total"].isna(), ["_events", "_total"]] = np.nan
    return rows


def _one_per_study(candidates: pd.DataFrame, target: float) -> pd.DataFrame:
    """``candidates``: one row per usable (study_id, outcome_id) with hours and participants; keep one per study."""
    if candidates.empty:
        return candidates
    c = candidates.assign(_distance=(candidates["hours"] - target).abs())
    c = c.sort_values(["study_id", "_distance", "hours", "participants", "outcome_id"],
                      ascending=[True, True, True, False, True])
    return c.drop_duplicates("study_id", keep="first").drop(columns="_distance")


def _empty_rows() -> pd.DataFrame:
    return pd.DataFrame(columns=OUTCOME_COLUMNS)


def _participants(per_study: pd.DataFrame, tables: Tables, two_arm: bool) -> int:
    if per_study.empty:
        return 0
    if not two_arm:
        return int(per_study["total"].sum())
    design = per_study["study_id"].map(tables.studies.set_index("id")["design"])
    crossover = design.eq("RCT crossover")  # the same people in both arms
    both = per_study["total_t"] + per_study["total_c"]
    return int(np.where(crossover, per_study[["total_t", "total_c"]].max(axis=1), both).sum())


# --------------------------------------------------------------------------- summaries

def pooled_response_rate(tables: Tables, f: Filter, method: str = "REML", *,
                         knapp_hartung: bool = False) -> PooledSummary:
    """Pooled proportion (logit scale, back-transformed) in ketamine arms, one estimate per study.

    With ``control`` other than "any", only studies with such a control arm are used.
    ``n`` counts the participants in the ketamine arms used.
    """
    rows = _with_counts(_outcome_rows(tables, f))
    ket = rows[_ketamine_mask(rows) & rows["_events"].notna()]
    if f.control != "any":
        with_control = rows.loc[_control_mask(rows, f.control), "study_id"].unique()
        ket = ket[ket["study_id"].isin(with_control)]
    sums = (ket.groupby(["study_id", "outcome_id"], as_index=False)
            .agg(events=("_events", "sum"), total=("_total", "sum"), hours=("timepoint_hours", "first")))
    per_study = _one_per_study(sums.assign(participants=sums["total"]), f.target_hours)
    notes = ["ketamine arms within a study are combined by summing events and totals",
             f"one time point per study, the closest to {f.target_hours:g} h"]
    if per_study.empty:
        pooled = empty_result(method, "PLO", knapp_hartung)
        return PooledSummary(0, 0, [], _empty_rows(), per_study, pooled.describe(), pooled, notes)
    pooled = pool_proportions(per_study["events"].to_numpy(), per_study["total"].to_numpy(), method=method,
                              knapp_hartung=knapp_hartung)
    used = ket.merge(per_study[["study_id", "outcome_id"]], on=["study_id", "outcome_id"])
    per_study = per_study.assign(rate=per_study["events"] / per_study["total"]).reset_index(drop=True)
    return PooledSummary(pooled.k, _participants(per_study, tables, False), list(per_study["study_id"]),
                         _strip(used), per_study, pooled.describe(), pooled, notes)


def pooled_risk_ratio(tables: Tables, f: Filter, method: str = "REML", *,
                      knapp_hartung: bool = False, measure: str = "RR") -> PooledSummary:
    """Ketamine vs control (of the filter's type) per study, pooled as a risk ratio (or OR/RD).

    ``n`` counts both arms, but a crossover trial's participants once.
    """
    rows = _with_counts(_outcome_rows(tables, f))
    rows = rows[rows["_events"].notna()]
    arm = pd.Series(np.select([_ketamine_mask(rows), _control_mask(rows, f.control)], ["t", "c"], ""),
                    index=rows.index)
    rows = rows[arm.ne("")].assign(_side=arm[arm.ne("")])
    sums = rows.pivot_table(index=["study_id", "outcome_id", "timepoint_hours"], columns="_side",
                            values=["_events", "_total"], aggfunc="sum") if not rows.empty else pd.DataFrame()
    notes = ["ketamine arms (and control arms) within a study are combined by summing events and totals",
             f"one time point per study, the closest to {f.target_hours:g} h",
             "0.5 added to every cell of a study with a zero cell (metafor escalc default)"]
    per_study = pd.DataFrame(columns=["study_id", "outcome_id", "events_t", "total_t", "events_c", "total_c"])
    if not sums.empty and {("_events", "t"), ("_events", "c")} <= set(sums.columns):
        both = sums.dropna()
        per_study = pd.DataFrame({
            "events_t": both[("_events", "t")], "total_t": both[("_total", "t")],
            "events_c": both[("_events", "c")], "total_c": both[("_total", "c")]})
        per_study = per_study.reset_index().rename(columns={"timepoint_hours": "hours"})
        per_study = _one_per_study(per_study.assign(participants=per_study["total_t"] + per_study["total_c"]),
                                   f.target_hours).reset_index(drop=True)
    if per_study.empty:
        pooled = empty_result(method, measure, knapp_hartung)
        return PooledSummary(0, 0, [], _empty_rows(), per_study, pooled.describe(), pooled, notes)
    pooled = pool_binary(per_study["events_t"], per_study["total_t"], per_study["events_c"],
                         per_study["total_c"], measure=measure, method=method, knapp_hartung=knapp_hartung)
    used = rows.merge(per_study[["study_id", "outcome_id"]], on=["study_id", "outcome_id"])
    return PooledSummary(pooled.k, _participants(per_study, tables, True), list(per_study["study_id"]),
                         _strip(used), per_study, pooled.describe(), pooled, notes)


def response_over_time(tables: Tables, f: Filter) -> TableSummary:
    """Rate per study x arm x time point with Wilson 95% CIs (ketamine arms and eligible controls).

    With ``control`` other than "any", only studies with such a control arm are shown.
    """
    rows = _with_counts(_outcome_rows(tables, f))
    control = _control_mask(rows, f.control)
    keep = _ketamine_mask(rows) | control
    if f.control != "any":  # as for pooled rates: only studies with such a control arm
        keep &= rows["study_id"].isin(rows.loc[control, "study_id"])
    rows = rows[keep]
    rows = rows[rows["_events"].notna() | pd.to_numeric(rows["rate"], errors="coerce").notna()]
    table = rows[["study_id", "outcome_id", "arm", "arm_role", "arm_drug", "arm_schedule", "timepoint_hours",
                  "timepoint_label", "time_from", "measure", "definition"]].copy()
    table["events"], table["total"] = rows["_events"], rows["_total"]
    table["rate"] = (rows["_events"] / rows["_total"]).fillna(pd.to_numeric(rows["rate"], errors="coerce"))
    bounds = [wilson_interval(int(e), int(t)) if pd.notna(e) else (math.nan, math.nan)
              for e, t in zip(rows["_events"], rows["_total"], strict=True)]
    table["ci_low"] = [b[0] for b in bounds]
    table["ci_high"] = [b[1] for b in bounds]
    info = tables.studies.set_index("id")[["first_author", "year", "design", "blinded"]]
    table = table.join(info, on="study_id").sort_values(["study_id", "timepoint_hours", "arm"])
    n = int(table.groupby(["study_id", "arm"])["total"].max().sum()) if not table.empty else 0
    return TableSummary(table["study_id"].nunique(), n, sorted(table["study_id"].unique()), _strip(rows),
                        table.reset_index(drop=True),
                        "observed proportion per arm and time point, Wilson 95% CI (not pooled)",
                        ["rates without counts are shown without a CI"])


def durations(tables: Tables, f: Filter | None = None) -> TableSummary:
    """Durability records that have a duration in days, with study labels, for the "how long" chart."""
    dur = tables.durability
    dur = dur[pd.to_numeric(dur["days"], errors="coerce").notna()]
    if f is not None:
        dur = dur[dur["study_id"].isin(select_studies(tables, f)["id"])]
    info = tables.studies.set_index("id")[["first_author", "year", "design", "blinded", "drug", "n_randomized"]]
    table = dur.join(info, on="study_id").sort_values(["days", "study_id"]).reset_index(drop=True)
    n = int(pd.to_numeric(info.loc[info.index.isin(table["study_id"]), "n_randomized"]).fillna(0).sum())
    return TableSummary(table["study_id"].nunique(), n, sorted(table["study_id"].unique()), dur, table,
                        "durations as reported by each study, in days (not pooled)")


def adverse_event_rates(tables: Tables, f: Filter) -> TableSummary:
    """Adverse event proportions by event x arm role: k, n, Σevents/Σtotal with a Wilson 95% CI.

    Event names are compared case-insensitively.  When a study reports an event at several
    timings for one arm, the highest proportion is used (peak incidence), so no arm counts twice.
    """
    ae = tables.adverse_events
    ae = ae[ae["study_id"].isin(select_studies(tables, f)["id"])]
    ae = ae[_ketamine_mask(ae) | _control_mask(ae, f.control)]
    ae = ae.assign(_events=pd.to_numeric(ae["events"], errors="coerce").astype(float),
                   _total=pd.to_numeric(ae["total"], errors="coerce").astype(float),
                   _event=ae["event"].str.strip().str.lower())
    ae = ae[ae["_events"].notna() & ae["_total"].ge(1)]
    ae = (ae.assign(_rate=ae["_events"] / ae["_total"]).sort_values("_rate", ascending=False)
          .drop_duplicates(["study_id", "_event", "arm"]))
    columns = ["event", "arm_role", "k", "n", "events", "rate", "ci_low", "ci_high", "studies"]
    out = []
    for (event, role), g in ae.groupby(["_event", "arm_role"], sort=True):
        events, total = int(g["_events"].sum()), int(g["_total"].sum())
        low, high = wilson_interval(events, total)
        out.append({"event": event, "arm_role": role, "k": g["study_id"].nunique(), "n": total, "events": events,
                    "rate": events / total, "ci_low": low, "ci_high": high,
                    "studies": "; ".join(sorted(g["study_id"].unique()))})
    n = int(ae.groupby(["study_id", "arm"])["_total"].max().sum()) if not ae.empty else 0
    return TableSummary(ae["study_id"].nunique(), n, sorted(ae["study_id"].unique()), _strip(ae),
                        pd.DataFrame(out, columns=columns),
                        "crude proportion Σevents/Σtotal per event and arm role, Wilson 95% CI (not pooled)",
                        ["peak proportion per study arm when an event is reported at several timings"])


def sensitivity(tables: Tables, f: Filter, summary_fn: Callable[[Tables, Filter], Any], *,
                main: Any = None) -> Sensitivity:
    """Re-run ``summary_fn`` for blinded RCTs only and without high risk of bias, to test robustness.

    ``main``: the summary already computed for ``f``, if the caller has it (saves recomputing it)."""
    designs = tuple(d for d in (f.designs or RCT_DESIGNS) if d in RCT_DESIGNS)
    return Sensitivity(
        main=main if main is not None else summary_fn(tables, f),
        blinded_rcts=summary_fn(tables, replace(f, blinded_only=True, designs=designs or ("(none)",))),
        excluding_high_rob=summary_fn(tables, replace(f, exclude_high_rob=True)),
    )


def _strip(rows: pd.DataFrame) -> pd.DataFrame:
    """Drop helper columns (leading underscore) before handing rows out."""
    return rows[[c for c in rows.columns if not str(c).startswith("_")]].reset_index(drop=True)
