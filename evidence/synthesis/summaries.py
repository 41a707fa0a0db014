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
* No false pools: with fewer than two studies there is no pooled estimate (``estimate``
  is NaN, ``pooled_ok`` False, ``reason`` says why); with 2-4 studies random-effects
  intervals use Knapp-Hartung (``stats.SMALL_K``).
* Overlap: a study that re-analyses others (``reanalysis_of``) is dropped when any of
  them is in the same pool (the primary trials are kept); a pooled analysis that does
  not name its trials is never pooled; syntheses never enter a pool.
* Fixed-time windows leave out "by this time" results (``timepoint.within``), and the
  single-dose windows (up to 9 days) leave out results after the last dose of a course.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from evidence.curation.tables import (
    OUTCOME_COLUMNS,
    SYNTHESIS_DESIGNS,
    Tables,
    is_depression_scale,
)
from evidence.synthesis.stats import (
    PooledResult,
    empty_result,
    logit_proportion,
    needs_knapp_hartung,
    pool,
    wilson_interval,
)

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
SINGLE_DOSE_MAX_HOURS = 216.0  # windows ending by 9 days are single-dose windows: no end-of-course results
TOO_FEW = "single study, too few studies to pool"
SYNTHESES_CAPTION = ("Published meta-analyses share trials, so their estimates are not pooled with each other or "
                     "with the trials. Each estimate is on the measure it was reported on.")


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
    measure: str = ""
    reason: str = ""  # why there is no pooled estimate (empty when pooled)

    @property
    def pooled_ok(self) -> bool:
        """A pooled estimate exists only for two or more studies (and no reason against it)."""
        return self.k >= 2 and not self.reason

    def _natural(self, name: str) -> float:
        return self.pooled.natural[name] if self.pooled_ok else math.nan

    @property
    def estimate(self) -> float:
        return self._natural("estimate")

    @property
    def ci_low(self) -> float:
        return self._natural("ci_low")

    @property
    def ci_high(self) -> float:
        return self._natural("ci_high")

    @property
    def pi_low(self) -> float:
        return self._natural("pi_low")

    @property
    def pi_high(self) -> float:
        return self._natural("pi_high")

    @property
    def why_not_pooled(self) -> str:
        if self.pooled_ok:
            return ""
        if self.reason:
            return self.reason
        return "no study in this view" if self.k == 0 else TOO_FEW


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

    def table(self, estimate: Callable[[Any], tuple[float, float, float]] | None = None) -> pd.DataFrame:
        """One row per analysis.  ``estimate``: how the caller's panel states a summary, so that a single study
        shows the figure the panel's headline gives for it, marked as not pooled (the row had been blank beside a
        headline of "42% (95% CI 23% to 64%)")."""
        out = []
        for label, s in (("as filtered", self.main), ("blinded RCTs only", self.blinded_rcts),
                         ("excluding high risk of bias", self.excluding_high_rob)):
            values = (estimate(s) if estimate is not None and s.k
                      else tuple(getattr(s, name, math.nan) for name in ("estimate", "ci_low", "ci_high")))
            basis = "pooled" if s.k > 1 else "single study, not pooled" if s.k == 1 else "no study"
            out.append({"analysis": label, "k": s.k, "n": s.n, "basis": basis,
                        **dict(zip(("estimate", "ci_low", "ci_high"), values, strict=True))})
        return pd.DataFrame(out)


# --------------------------------------------------------------------------- selection

def select_studies(tables: Tables, f: Filter) -> pd.DataFrame:
    """Study rows passing the study-level filters.

    When secondary kinds are excluded (the default), synthesis designs are too, and so is a pooled analysis that
    does not name the trials it re-analyses (its participants could be counted twice)."""
    st = tables.studies
    keep = ~st["kind"].isin(f.exclude_kinds)
    if "meta_analysis" in f.exclude_kinds:
        keep &= ~st["design"].isin(SYNTHESIS_DESIGNS)
        unnamed = st["reanalysis_of"].fillna("").eq("") if "reanalysis_of" in st else True
        keep &= ~(st["design"].eq("pooled analysis") & unnamed)
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
    return out[keep & window_mask(out, f)]


def window_mask(out: pd.DataFrame, f: Filter) -> pd.Series:
    """Rows in the filter's time window: fixed-time windows drop "by this time" results, single-dose windows drop
    end-of-course results."""
    hours = pd.to_numeric(out["timepoint_hours"], errors="coerce")
    keep = pd.Series(True, index=out.index)
    if f.hours_min is not None:
        keep &= hours >= f.hours_min
    if f.hours_max is not None:
        keep &= hours <= f.hours_max
    if (f.hours_min is not None or f.hours_max is not None) and "within" in out:
        keep &= ~out["within"].fillna(False).astype(bool)
    if f.hours_max is not None and f.hours_max <= SINGLE_DOSE_MAX_HOURS and "after_course" in out:
        keep &= ~out["after_course"].fillna(False).astype(bool)
    return keep


def drop_reanalyses(per_study: pd.DataFrame, tables: Tables) -> tuple[pd.DataFrame, list[str]]:
    """Drop each study that re-analyses another study in the same pool (the primary trials are kept)."""
    if per_study.empty or "reanalysis_of" not in tables.studies:
        return per_study, []
    of = tables.studies.set_index("id")["reanalysis_of"].fillna("")
    present = set(per_study["study_id"])
    notes, drop = [], set()
    for sid in per_study["study_id"]:
        primaries = [p for p in str(of.get(sid, "")).split("; ") if p]
        overlap = sorted(present & set(primaries))
        if overlap:
            drop.add(sid)
            notes.append(f"{sid} re-analyses {', '.join(overlap)}: the primary trials are pooled, not the "
                         "re-analysis")
    return per_study[~per_study["study_id"].isin(drop)].reset_index(drop=True), notes


def pool_few(yi, vi, method: str, *, measure: str, knapp_hartung: bool = False) -> PooledResult:
    """:func:`stats.pool` with Knapp-Hartung forced for 2-4 studies under random effects (``stats.SMALL_K``)."""
    k = len(np.asarray(yi).ravel())
    return pool(yi, vi, method, measure=measure, knapp_hartung=knapp_hartung or needs_knapp_hartung(k, method))


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
    rule = ket["derived_rule"].where(ket["derived_rule"].notna(), np.where(ket["events"].isna(), "rate x n", None))
    ket = ket.assign(_rule=rule.fillna(""))
    sums = (ket.groupby(["study_id", "outcome_id"], as_index=False)
            .agg(events=("_events", "sum"), total=("_total", "sum"), hours=("timepoint_hours", "first"),
                 derived_rule=("_rule", lambda r: "; ".join(sorted({x for x in r if x})) or None)))
    sums["effect_source"] = np.where(sums["derived_rule"].notna(), "derived", "counts")
    per_study = _one_per_study(sums.assign(participants=sums["total"]), f.target_hours)
    notes = ["ketamine arms within a study are combined by summing events and totals",
             f"one time point per study, the closest to {f.target_hours:g} h"]
    per_study, overlap = drop_reanalyses(per_study.reset_index(drop=True), tables)
    notes += overlap
    if per_study.empty:
        pooled = empty_result(method, "PLO", knapp_hartung)
        return PooledSummary(0, 0, [], _empty_rows(), per_study, pooled.describe(), pooled, notes, "PLO")
    eff = logit_proportion(per_study["events"].to_numpy(), per_study["total"].to_numpy())
    pooled = pool_few(eff.yi, eff.vi, method, measure="PLO", knapp_hartung=knapp_hartung)
    used = ket.merge(per_study[["study_id", "outcome_id"]], on=["study_id", "outcome_id"])
    per_study = per_study.assign(rate=per_study["events"] / per_study["total"]).reset_index(drop=True)
    return PooledSummary(pooled.k, _participants(per_study, tables, False), list(per_study["study_id"]),
                         _strip(used), per_study, pooled.describe(), pooled, notes, "PLO")


def pooled_risk_ratio(tables: Tables, f: Filter, method: str = "REML", *,
                      knapp_hartung: bool = False, measure: str = "RR") -> PooledSummary:
    """Ketamine vs control (of the filter's type) per study, pooled as a risk ratio (or an odds ratio).

    Counts, derived counts and reported ratios of the same measure (:func:`evidence.synthesis.effects.pooled_effect`);
    ``n`` counts both arms, but a crossover trial's participants once."""
    from evidence.synthesis.effects import pooled_effect

    return pooled_effect(tables, f, "binary", method, knapp_hartung=knapp_hartung, measure=measure)


# --------------------------------------------------------------------------- the syntheses layer

CONTINUOUS_ALIASES = ("smd", "md", "continuous", "mean_change", "mean_score", "effect_size")
CONTINUOUS_KINDS = ("mean_change", "mean_score", "effect_size")
MEASURE_FAMILY = {"OR": "ratio", "RR": "ratio", "HR": "ratio", "SMD": "standardized", "g": "standardized",
                  "d": "standardized", "MD": "difference", "RD": "difference", "NNT": "other"}
FAMILY_ORDER = ("ratio", "standardized", "difference", "other")
UNCONTROLLED = r"(?i)within-patient|vs\.? baseline|uncontrolled|pre-post|no control"
_SYNTHESIS_CONTROLS = {"any": None, "saline": ("saline",), "midazolam": ("midazolam",),
                       "active": ("midazolam", "active")}


@dataclass(frozen=True, eq=False)
class SynthesesSummary:
    """Published meta-analytic estimates for one view: shown beside the pools, never pooled themselves.

    ``rows``: the ``syntheses`` table's rows for the view plus ``label`` (first author year) and ``family``
    (ratio, standardized, difference, other: each family is drawn on its own axis)."""

    outcome_kind: str
    hours: tuple[float | None, float | None]
    control: str
    rows: pd.DataFrame
    caption: str = SYNTHESES_CAPTION

    @property
    def k(self) -> int:
        """Number of estimates (not of trials: the syntheses share trials)."""
        return len(self.rows)

    @property
    def reviews(self) -> list[str]:
        return sorted(self.rows["study_id"].unique()) if not self.rows.empty else []

    @property
    def title(self) -> str:
        return "What the meta-analyses found"


def syntheses(tables: Tables, *, outcome_kind: str = "response",
              hours: tuple[float | None, float | None] = (None, None), control: str = "any") -> SynthesesSummary:
    """The published meta-analytic estimates for an outcome, a time window (hours, inclusive) and a control type.

    ``outcome_kind``: "response", "remission" (or any schema outcome kind); "smd", "md" or "continuous" take every
    continuous kind.  ``control``: any, saline (placebo), midazolam, or active (midazolam or another active control);
    a synthesis mixing both kinds of control is shown under "any" only.  Fixed windows leave out "by this time"
    estimates; uncontrolled (pre-post) syntheses and other scales (e.g. suicidal ideation in a depression view) are
    left out."""
    if control not in _SYNTHESIS_CONTROLS:
        raise ValueError(f"control must be one of {', '.join(_SYNTHESIS_CONTROLS)}, not {control!r}")
    table = tables.syntheses
    kinds = CONTINUOUS_KINDS if outcome_kind in CONTINUOUS_ALIASES else (outcome_kind,)
    keep = table["outcome_kind"].isin(kinds)
    lo, hi = hours
    h = pd.to_numeric(table["timepoint_hours"], errors="coerce")
    if lo is not None:
        keep &= h >= lo
    if hi is not None:
        keep &= h <= hi
    if lo is not None or hi is not None:
        keep &= ~table["within"].fillna(False).astype(bool)
    allowed = _SYNTHESIS_CONTROLS[control]
    if allowed is not None:
        keep &= table["control"].isin(allowed)
    if outcome_kind != "suicidal_ideation_resolution":  # depression outcomes on depression scales only
        keep &= table["scale"].map(lambda x: is_depression_scale(x) or "depressi" in str(x).lower())
    keep &= ~table["comparison"].fillna("").str.contains(UNCONTROLLED, regex=True)
    rows = table[keep]
    rows = rows.assign(label=tables.labels(rows["study_id"]),
                       family=rows["measure"].map(MEASURE_FAMILY).fillna("other"))
    rows = _oriented(rows)
    order = {f: i for i, f in enumerate(FAMILY_ORDER)}
    rows = (rows.assign(_o=rows["family"].map(order)).sort_values(["_o", "measure", "label", "outcome_id"])
            .drop(columns="_o").reset_index(drop=True))
    return SynthesesSummary(outcome_kind, (lo, hi), control, rows)


def _oriented(rows: pd.DataFrame) -> pd.DataFrame:
    """Differences shown on one direction, so that estimates that all favour ketamine fall on one side of zero.

    A standardized or raw difference whose record says higher values favour ketamine (``favours: higher``) is shown
    with its sign flipped (``shown_*``), and ``orientation`` says so with the value as reported; one whose direction
    is not recorded is shown as reported and says that.  Ratios are always shown as reported."""
    differences = rows["family"].isin(("standardized", "difference"))
    flip = differences & rows["favours"].eq("higher")
    sign = np.where(flip, -1.0, 1.0)
    est, lo, hi = (pd.to_numeric(rows[c], errors="coerce") for c in ("estimate", "ci_low", "ci_high"))
    orientation = np.select(
        [flip, differences & rows["favours"].isna()],
        [[f"sign flipped: reported {v:+g}" for v in est], "direction not recorded: as reported"],
        default="as reported")
    return rows.assign(shown_estimate=est * sign, shown_ci_low=np.where(flip, -hi, lo),
                       shown_ci_high=np.where(flip, -lo, hi), orientation=orientation)


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
