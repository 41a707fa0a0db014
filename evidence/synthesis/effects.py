"""Per-study effects for one view, from whatever each trial reports, and one pool per scale.

Trials rarely print per-arm counts in their abstracts, but most print an effect with its
confidence interval.  Each study contributes one effect, taken from (in this order of
preference at the same time point):

* ``counts``: per-arm data (events and totals, or means, SDs and ns) as quoted;
* ``derived``: per-arm data where a value was derived by an exact rule (a count from a
  rounded percent and its denominator, an SD from a quoted SE; or a rate x n that is a
  whole number);
* ``reported``: the paper's own between-arm effect, converted to the pool's scale by the
  generic inverse-variance formulas in :mod:`evidence.synthesis.stats`.

Scales are never mixed.  ``binary``: log odds ratios (default) or log risk ratios; counts
and reported ratios of the same measure only (a reported RR never enters an OR pool).
``smd``: Hedges' g from arm means and SDs or a reported SMD/g/d with arm sizes (or its CI).
``md``: mean differences on one instrument only (the most common one in the view).
Sign convention for continuous scales: ketamine minus control, so that on a symptom
scale a negative value favours ketamine.  A reported SMD/g/d is pooled only when the data
say which direction favours ketamine (see :func:`favours`); a reported MD without a
statement is taken as ketamine minus control, as the trials print it.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from evidence.curation.tables import KETAMINE_DRUGS, Tables, comparison_control
from evidence.synthesis import stats
from evidence.synthesis.summaries import (
    CONTROLS,
    UNCONTROLLED,
    Filter,
    PooledSummary,
    _control_mask,
    _empty_rows,
    _ketamine_mask,
    _strip,
    _with_counts,
    drop_reanalyses,
    pool_few,
    select_studies,
    window_mask,
)

SCALES = ("binary", "smd", "md")
BINARY_MEASURES = ("OR", "RR")
CONTINUOUS_KINDS = ("mean_change", "mean_score", "effect_size")
SMD_TYPES = {"SMD": True, "g": True, "d": False}  # type -> already bias-corrected?
MEASURE_LABELS = {"OR": "odds ratio", "RR": "risk ratio", "SMD": "standardized mean difference (Hedges' g)",
                  "MD": "mean difference"}
PER_STUDY_COLUMNS = [
    "study_id", "outcome_id", "hours", "effect_source", "derived_rule", "instrument", "yi", "vi", "estimate",
    "ci_low", "ci_high", "participants", "events_t", "total_t", "events_c", "total_c", "reported_type",
    "reported_estimate", "reported_ci_low", "reported_ci_high", "note",
]
_UNCONTROLLED = re.compile(UNCONTROLLED)
FAVOURS_SIGN = {"lower": -1, "higher": 1}  # schema Effect.favours: which values favour ketamine


def favours(value: object) -> int | None:
    """-1 when lower values favour ketamine, +1 when higher ones do, None when the record does not say."""
    return FAVOURS_SIGN.get(value) if isinstance(value, str) else None


def _view_rows(tables: Tables, f: Filter, kinds: tuple[str, ...]) -> pd.DataFrame:
    out = tables.outcomes
    ids = select_studies(tables, f)["id"]
    keep = out["study_id"].isin(ids) & out["kind"].isin(kinds) & out["depression_scale"]
    return out[keep & window_mask(out, f)]


def _crossover(tables: Tables) -> set[str]:
    st = tables.studies
    return set(st.loc[st["design"].eq("RCT crossover"), "id"])


def _participants(n_t: float, n_c: float, crossover: bool) -> float:
    return max(n_t, n_c) if crossover else n_t + n_c


class _StudySizes:
    """Participants behind a reported effect: its arm sizes, else the study's randomized total (built once)."""

    def __init__(self, tables: Tables) -> None:
        st = tables.studies
        self.crossover = _crossover(tables)
        self.n = {sid: float(n) for sid, n in zip(st["id"], st["n_randomized"], strict=True) if pd.notna(n)}

    def __call__(self, study_id: str, n_t: float, n_c: float) -> float:
        if not (math.isnan(n_t) or math.isnan(n_c)):
            return _participants(n_t, n_c, study_id in self.crossover)
        return self.n.get(study_id, math.nan)


# --------------------------------------------------------------------------- controls for reported effects

def _reported_control_ok(tables: Tables, study_id: str, comparison: object, control: str) -> bool:
    """Whether a reported between-arm effect is ketamine against a control of the filter's type."""
    if isinstance(comparison, str) and _UNCONTROLLED.search(comparison):
        return False
    named = comparison_control(comparison)
    allowed = CONTROLS[control]
    if named != "mixed":
        if allowed is None:
            return True
        wanted = {"saline": {"saline"}, "midazolam": {"midazolam"}, "active": {"midazolam", "active"}}[control]
        return named in wanted
    arms = tables.arms[(tables.arms["study_id"] == study_id) & tables.arms["role"].eq("control")
                       & ~tables.arms["drug"].isin(KETAMINE_DRUGS)]
    if arms.empty:
        return False
    return allowed is None or bool(arms["drug"].isin(allowed).all())


class _ArmSizes:
    """(n ketamine, n control, basis) for a reported effect: the effect's own, else its outcome's arm rows (in the
    view), else the study's randomized arms.  Sums are computed once per pool."""

    def __init__(self, tables: Tables, rows: pd.DataFrame, control: str) -> None:
        arm_rows = rows[rows["arm"].notna()]
        self.outcome = self._sums(arm_rows, "n", ["study_id", "outcome_id"], control)
        arms = tables.arms.rename(columns={"drug": "arm_drug", "role": "arm_role"})
        self.randomized = self._sums(arms, "n_randomized", ["study_id"], control)

    @staticmethod
    def _sums(frame: pd.DataFrame, column: str, keys: list[str], control: str) -> dict:
        if frame.empty:
            return {}
        n = pd.to_numeric(frame[column], errors="coerce")
        parts = frame[keys].assign(t=n.where(_ketamine_mask(frame)), c=n.where(_control_mask(frame, control)))
        sums = parts.groupby(keys)[["t", "c"]].sum(min_count=1).dropna()
        return {k: (float(v.t), float(v.c)) for k, v in zip(sums.index, sums.itertuples(), strict=True)}

    def __call__(self, row: pd.Series) -> tuple[float, float, str]:
        if pd.notna(row.get("effect_n_t")) and pd.notna(row.get("effect_n_c")):
            return float(row["effect_n_t"]), float(row["effect_n_c"]), "reported"
        for found, basis in ((self.outcome.get((row["study_id"], row["outcome_id"])), "outcome arms"),
                             (self.randomized.get(row["study_id"]), "randomized")):
            if found is not None:
                return found[0], found[1], basis
        return math.nan, math.nan, ""


# --------------------------------------------------------------------------- binary

KEYS = ["study_id", "outcome_id", "timepoint_hours"]


def _sided(rows: pd.DataFrame, control: str) -> pd.DataFrame:
    """Ketamine arms ("t") and eligible control arms ("c") only, with their side in ``_side``."""
    side = np.select([_ketamine_mask(rows), _control_mask(rows, control)], ["t", "c"], "")
    keep = side != ""
    return rows[keep].assign(_side=side[keep])


def _rules(rows: pd.DataFrame) -> pd.Series:
    """Per (study, outcome, time): the derivation rules behind its arm values, "; "-joined."""
    marked = rows[rows["_rule"].notna()]
    if marked.empty:
        return pd.Series(dtype=object)
    return marked.groupby(KEYS)["_rule"].agg(lambda r: "; ".join(sorted(set(r))))


def _per_arm_frame(sums: pd.DataFrame, rows: pd.DataFrame, crossover: set[str], extra: dict) -> pd.DataFrame:
    """Per-study rows from per-side sums (index KEYS), with source, rule, instrument and participants."""
    keys = sums.index.to_frame(index=False)
    rules = _rules(rows).reindex(sums.index)
    instrument = rows.groupby(KEYS)["measure"].first().reindex(sums.index)
    nt, nc = extra["total_t"], extra["total_c"]
    cross = keys["study_id"].isin(crossover).to_numpy()
    frame = pd.DataFrame({
        "study_id": keys["study_id"], "outcome_id": keys["outcome_id"], "hours": keys["timepoint_hours"],
        "effect_source": np.where(rules.notna().to_numpy(), "derived", "counts"),
        "derived_rule": rules.to_numpy(), "instrument": instrument.to_numpy(),
        "participants": np.where(cross, np.maximum(nt, nc), nt + nc), **extra})
    return frame.reindex(columns=PER_STUDY_COLUMNS)


def _binary_counts(rows: pd.DataFrame, f: Filter, measure: str, tables: Tables) -> pd.DataFrame:
    rows = _with_counts(rows[rows["arm"].notna()])
    rows = _sided(rows[rows["_events"].notna()], f.control)
    if rows.empty:
        return pd.DataFrame(columns=PER_STUDY_COLUMNS)
    implied = rows["events"].isna()  # rate x n, a whole number
    rows = rows.assign(_rule=rows["derived_rule"].where(rows["derived_rule"].notna(),
                                                        pd.Series(np.where(implied, "rate x n", None),
                                                                  index=rows.index)))
    sums = rows.groupby([*KEYS, "_side"])[["_events", "_total"]].sum().unstack("_side")
    if ("_events", "t") not in sums or ("_events", "c") not in sums:
        return pd.DataFrame(columns=PER_STUDY_COLUMNS)
    sums = sums.dropna()
    if sums.empty:
        return pd.DataFrame(columns=PER_STUDY_COLUMNS)
    et, nt = sums[("_events", "t")].to_numpy(float), sums[("_total", "t")].to_numpy(float)
    ec, nc = sums[("_events", "c")].to_numpy(float), sums[("_total", "c")].to_numpy(float)
    eff = stats.binary_effects(measure, et, nt, ec, nc)
    return _per_arm_frame(sums, rows, _crossover(tables), {
        "yi": eff.yi, "vi": eff.vi, "events_t": et, "total_t": nt, "events_c": ec, "total_c": nc, "note": ""})


def _binary_reported(rows: pd.DataFrame, f: Filter, measure: str, tables: Tables,
                     skipped: list[str]) -> pd.DataFrame:
    rep = rows[rows["effect_type"].notna()].drop_duplicates(["study_id", "outcome_id"])
    sizes = _ArmSizes(tables, rows, f.control) if not rep.empty else None
    people = _StudySizes(tables)
    out = []
    for r in rep.to_dict("records"):
        if not _reported_control_ok(tables, r["study_id"], r["comparison"], f.control):
            continue
        if r["effect_type"] != measure:
            skipped.append(f"{r['study_id']}: reports a {r['effect_type']}, not an {measure} (scales are not mixed)")
            continue
        if pd.isna(r["ci_low"]) or pd.isna(r["ci_high"]):
            skipped.append(f"{r['study_id']}: {measure} {r['estimate']:g} without a CI")
            continue
        yi, vi = stats.ratio_from_ci(float(r["estimate"]), float(r["ci_low"]), float(r["ci_high"]))
        n_t, n_c, basis = sizes(r)
        out.append({"study_id": r["study_id"], "outcome_id": r["outcome_id"], "hours": r["timepoint_hours"],
                    "effect_source": "reported", "derived_rule": None, "instrument": r["measure"], "yi": yi,
                    "vi": vi, "participants": people(r["study_id"], n_t, n_c),
                    "reported_type": r["effect_type"], "reported_estimate": r["estimate"],
                    "reported_ci_low": r["ci_low"], "reported_ci_high": r["ci_high"],
                    "note": f"arm sizes: {basis}" if basis else "arm sizes unknown"})
    return pd.DataFrame(out, columns=PER_STUDY_COLUMNS)


# --------------------------------------------------------------------------- continuous

def _continuous_arms(rows: pd.DataFrame, f: Filter, scale: str, tables: Tables) -> pd.DataFrame:
    """Effects from arm means, SDs and ns; several arms on one side are merged as one group (n = Σn,
    mean = Σ n m / N, SD² = (Σ (n-1) s² + Σ n m² - N mean²) / (N - 1): :func:`stats.combine_groups`)."""
    rows = rows[rows["arm"].notna() & rows["mean"].notna() & rows["sd"].notna() & rows["n"].notna()]
    rows = _sided(rows, f.control)
    if rows.empty:
        return pd.DataFrame(columns=PER_STUDY_COLUMNS)
    n, m, sd = (rows[c].astype(float) for c in ("n", "mean", "sd"))
    rows = rows.assign(_n=n, _nm=n * m, _nm2=n * m**2, _ss=(n - 1) * sd**2, _rule=rows["derived_rule"])
    sums = rows.groupby([*KEYS, "_side"])[["_n", "_nm", "_nm2", "_ss"]].sum().unstack("_side")
    if ("_n", "t") not in sums or ("_n", "c") not in sums:
        return pd.DataFrame(columns=PER_STUDY_COLUMNS)
    sums = sums.dropna()
    sums = sums[(sums[("_n", "t")] >= 2) & (sums[("_n", "c")] >= 2)]
    if sums.empty:
        return pd.DataFrame(columns=PER_STUDY_COLUMNS)

    def merged(side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        total = sums[("_n", side)].to_numpy(float)
        mean = sums[("_nm", side)].to_numpy(float) / total
        ss = sums[("_ss", side)].to_numpy(float) + sums[("_nm2", side)].to_numpy(float) - total * mean**2
        return total, mean, np.sqrt(np.maximum(ss, 0) / (total - 1))

    (nt, mt, st_), (nc, mc, sc) = merged("t"), merged("c")
    fn = stats.standardized_mean_difference if scale == "smd" else stats.mean_difference
    eff = fn(mt, st_, nt, mc, sc, nc)
    return _per_arm_frame(sums, rows, _crossover(tables), {
        "yi": eff.yi, "vi": eff.vi, "total_t": nt, "total_c": nc, "note": "ketamine minus control"})


def _continuous_reported(rows: pd.DataFrame, f: Filter, scale: str, tables: Tables,
                         skipped: list[str]) -> pd.DataFrame:
    rep = rows[rows["effect_type"].notna()].drop_duplicates(["study_id", "outcome_id"])
    sizes = _ArmSizes(tables, rows, f.control) if not rep.empty else None
    people = _StudySizes(tables)
    out = []
    for r in rep.to_dict("records"):
        sid, kind, value = r["study_id"], r["effect_type"], float(r["estimate"])
        if not _reported_control_ok(tables, sid, r["comparison"], f.control):
            continue
        wanted = kind in SMD_TYPES if scale == "smd" else kind == "MD"
        if not wanted:
            if kind in SMD_TYPES or kind == "MD":
                skipped.append(f"{sid}: reports a {kind}, which is not on the {scale.upper()} scale")
            continue
        direction = favours(r["effect_favours"])
        if direction is None and scale == "smd":
            skipped.append(f"{sid}: {kind} {value:g} does not say which direction favours ketamine")
            continue
        sign = 1.0 if direction in (None, -1) else -1.0  # to "negative favours ketamine"
        lo, hi = r["ci_low"], r["ci_high"]
        if sign < 0 and pd.notna(lo):
            lo, hi = -hi, -lo
        n_t, n_c, basis = sizes(r)
        try:
            if scale == "smd" and not math.isnan(n_t):
                yi, vi = stats.smd_from_report(sign * value, n_t, n_c, corrected=SMD_TYPES[kind])
            elif scale == "smd" and pd.notna(lo):  # no arm sizes: the value as printed, its CI's SE
                yi, vi = sign * value, stats.se_from_ci(float(lo), float(hi), log=False) ** 2
            else:
                se = r["effect_se"] if pd.notna(r["effect_se"]) else None
                yi, vi = stats.difference_from_report(
                    sign * value, se=se, low=None if pd.isna(lo) else float(lo), high=None if pd.isna(hi) else
                    float(hi))
        except ValueError:
            skipped.append(f"{sid}: {kind} {value:g} without an SE, a CI or arm sizes")
            continue
        out.append({"study_id": sid, "outcome_id": r["outcome_id"], "hours": r["timepoint_hours"],
                    "effect_source": "reported", "derived_rule": None, "instrument": r["measure"], "yi": yi,
                    "vi": vi, "participants": people(sid, n_t, n_c),
                    "total_t": n_t, "total_c": n_c, "reported_type": kind, "reported_estimate": value,
                    # the printed CI is shown when the pooled value is the printed one (an MD, not a d turned g)
                    "reported_ci_low": lo if kind == "MD" and pd.notna(lo) else None,
                    "reported_ci_high": hi if kind == "MD" and pd.notna(lo) else None,
                    "note": "; ".join(x for x in (
                        "sign flipped to ketamine minus control" if sign < 0 else "",
                        f"arm sizes: {basis}" if basis else "arm sizes unknown") if x)})
    return pd.DataFrame(out, columns=PER_STUDY_COLUMNS)


def _instrument(name: object) -> str:
    return re.split(r"[\s(,;]", str(name).strip().upper(), maxsplit=1)[0]


# --------------------------------------------------------------------------- the pool

def _unnamed_pooled_analyses(tables: Tables, f: Filter, kinds: tuple[str, ...]) -> list[str]:
    st = tables.studies
    ids = st.loc[st["design"].eq("pooled analysis") & st["reanalysis_of"].fillna("").eq(""), "id"]
    out = tables.outcomes
    hit = out[out["study_id"].isin(ids) & out["kind"].isin(kinds) & window_mask(out, f)]
    return sorted(hit["study_id"].unique())


def _choose(candidates: pd.DataFrame, target: float) -> pd.DataFrame:
    """One effect per study: closest to the window centre, earlier, per-arm data before a reported effect,
    more participants, then outcome id."""
    if candidates.empty:
        return candidates
    c = candidates.assign(_d=(candidates["hours"].astype(float) - target).abs(),
                          _p=candidates["effect_source"].eq("reported").astype(int),
                          _n=-pd.to_numeric(candidates["participants"], errors="coerce").fillna(0))
    c = c.sort_values(["study_id", "_d", "hours", "_p", "_n", "outcome_id"])
    return c.drop_duplicates("study_id").drop(columns=["_d", "_p", "_n"]).reset_index(drop=True)


def pooled_effect(tables: Tables, f: Filter, scale: str = "binary", method: str = "REML", *,
                  knapp_hartung: bool = False, measure: str = "OR") -> PooledSummary:
    """Ketamine vs control, one effect per study, pooled on one scale (see the module docstring).

    ``scale`` "binary" uses ``f.outcome_kind`` (response or remission) and ``measure`` OR or RR; "smd" and "md"
    use every continuous outcome kind on a depression scale.  ``n`` counts the participants of the studies
    pooled (a crossover trial's once); ``rows`` are the outcome rows used."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    if scale == "binary" and measure not in BINARY_MEASURES:
        raise ValueError(f"binary pools use {' or '.join(BINARY_MEASURES)}, not {measure!r}")
    measure = measure if scale == "binary" else scale.upper()
    kinds = (f.outcome_kind,) if scale == "binary" else CONTINUOUS_KINDS
    rows = _view_rows(tables, f, kinds)
    skipped: list[str] = []
    if scale == "binary":
        parts = [_binary_counts(rows, f, measure, tables), _binary_reported(rows, f, measure, tables, skipped)]
    else:
        parts = [_continuous_arms(rows, f, scale, tables), _continuous_reported(rows, f, scale, tables, skipped)]
    candidates = pd.concat([p for p in parts if not p.empty], ignore_index=True) if any(
        not p.empty for p in parts) else pd.DataFrame(columns=PER_STUDY_COLUMNS)
    notes = [f"one effect per study, the closest to {f.target_hours:g} h; per-arm data preferred to a reported "
             "effect at the same time point"]
    if scale != "binary":
        notes.append("sign: ketamine minus control (negative favours ketamine on a symptom scale)")
    if scale == "md" and not candidates.empty:
        inst = candidates["instrument"].map(_instrument)
        counts = inst.groupby(inst).apply(lambda s: candidates.loc[s.index, "study_id"].nunique())
        chosen = sorted(counts.index, key=lambda i: (-counts[i], i))[0]
        others = sorted(set(candidates.loc[inst != chosen, "study_id"]) - set(candidates.loc[inst == chosen,
                                                                                               "study_id"]))
        if others:
            notes.append(f"mean differences pooled on {chosen} only (one instrument); left out: {', '.join(others)}"
                         " (use the SMD view)")
        candidates = candidates[inst == chosen]
    per_study = _choose(candidates, f.target_hours)
    per_study, overlap = drop_reanalyses(per_study, tables)
    pooled_ids = set(per_study["study_id"])
    notes += overlap + [f"left out: {s}" for s in dict.fromkeys(skipped) if s.split(":")[0] not in pooled_ids]
    unnamed = _unnamed_pooled_analyses(tables, f, kinds)
    if unnamed:
        notes.append(f"not pooled: {', '.join(unnamed)} (a pooled analysis that does not name the trials it "
                     "re-analyses could count their participants twice)")
    if per_study.empty:
        pooled = stats.empty_result(method, measure, knapp_hartung)
        return PooledSummary(0, 0, [], _empty_rows(), per_study, pooled.describe(), pooled, notes, measure)
    pooled = pool_few(per_study["yi"].to_numpy(float), per_study["vi"].to_numpy(float), method, measure=measure,
                      knapp_hartung=knapp_hartung)
    if pooled.knapp_hartung and not knapp_hartung:
        notes.append(f"Knapp-Hartung t interval ({pooled.k} studies, fewer than {stats.SMALL_K})")
    z = stats.z_value()
    se = np.sqrt(per_study["vi"].astype(float))
    back = (lambda x: np.exp(x)) if scale == "binary" else (lambda x: x)
    # A reported effect keeps the CI its paper printed (its SE, from the CI's width, is what is pooled; an interval
    # rebuilt symmetric on the pooling scale can differ in the last digit from the printed one).
    printed = pd.to_numeric(per_study["reported_ci_low"], errors="coerce").notna()
    per_study = per_study.assign(
        estimate=back(per_study["yi"].astype(float)),
        ci_low=back(per_study["yi"].astype(float) - z * se).where(~printed, per_study["reported_ci_low"]),
        ci_high=back(per_study["yi"].astype(float) + z * se).where(~printed, per_study["reported_ci_high"]))
    keys = per_study[["study_id", "outcome_id"]]
    used = tables.outcomes.merge(keys, on=["study_id", "outcome_id"])
    if scale == "binary":
        used = used[used["arm"].isna() | _ketamine_mask(used) | _control_mask(used, f.control)]
    n = int(pd.to_numeric(per_study["participants"], errors="coerce").fillna(0).sum())
    unknown = int(pd.to_numeric(per_study["participants"], errors="coerce").isna().sum())
    if unknown:
        notes.append(f"participants unknown for {unknown} of the {len(per_study)} studies (not in n)")
    return PooledSummary(pooled.k, n, list(per_study["study_id"]), _strip(used), per_study, pooled.describe(),
                         pooled, notes, measure)
