"""Tidy pandas tables built from a validated :class:`~evidence.curation.load.Dataset`.

The column lists below are a contract: exports, statistics, charts and other
tools rely on them, and ``tests/test_tables.py`` pins them.  Tables are built
once per data version (content hash) and shared read-only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from evidence.curation.load import Dataset, paused_gc
from evidence.curation.schema import Study

STUDY_COLUMNS = [
    "id", "kind", "pmid", "doi", "nct", "first_author", "year", "title", "journal", "design",
    "blinded", "drug", "route", "population", "comparator", "n_randomized",
    "blinding", "k_studies", "rob_overall", "funding", "url", "reanalysis_of",
]
ARM_COLUMNS = [
    "study_id", "arm", "label", "role", "drug", "dose", "route", "schedule", "n_randomized",
    "source_location", "source_quote",
]
OUTCOME_COLUMNS = [
    "study_id", "outcome_id", "arm", "arm_role", "n", "measure", "kind", "definition",
    "timepoint_value", "timepoint_unit", "timepoint_hours", "time_from", "events", "total", "rate",
    "mean", "sd", "effect_type", "estimate", "ci_low", "ci_high", "p", "source_location", "source_quote",
    "arm_drug", "arm_schedule", "timepoint_label", "comparison", "depression_scale",
    "within", "after_course", "derived_rule", "derived_se", "effect_se", "effect_n_t", "effect_n_c", "effect_favours",
    "source_url",
]
DURABILITY_COLUMNS = [
    "study_id", "measure", "statistic", "value", "unit", "days", "population",
    "source_location", "source_quote", "arm",
]
ADVERSE_EVENT_COLUMNS = [
    "study_id", "event", "timing", "arm", "arm_role", "arm_drug", "events", "total", "rate",
    "source_location", "source_quote",
]
FINDING_COLUMNS = ["study_id", "text", "source_location", "source_quote"]
RISK_OF_BIAS_COLUMNS = ["study_id", "domain", "judgement", "tool", "judged_by", "source_location", "source_quote"]
CLAIM_COLUMNS = [
    "claim_id", "topic", "verdict", "certainty", "short", "source_id", "quote", "n_evidence",
    "n_sources", "reason_tags", "supported_wording",
]
CLAIM_EVIDENCE_COLUMNS = ["claim_id", "study_id", "outcomes", "stance", "note"]
# One row per meta-analytic estimate (a synthesis study's outcome with an effect): the layer shown beside every
# pool, never pooled itself.  ``measure`` is the effect as reported (OR, RR, SMD, g, d, MD, HR); ``scale`` the
# rating scale; ``control`` the comparator class read from the comparison (saline, midazolam, active, mixed).
SYNTHESIS_COLUMNS = [
    "study_id", "outcome_id", "outcome_kind", "measure", "comparison", "control", "timepoint_hours",
    "timepoint_label", "estimate", "ci_low", "ci_high", "p", "k_trials", "n_participants", "certainty", "includes",
    "scale", "definition", "within", "design", "source_location", "source_quote", "url", "favours",
]
SYNTHESIS_KINDS = ("meta_analysis", "systematic_review")
SYNTHESIS_DESIGNS = ("meta-analysis", "individual participant data meta-analysis")
# Schedules of more than one dose: a result "24 h after the last dose" of such an arm is an end-of-course result,
# not a single-dose one (kept out of the single-dose windows by evidence.synthesis.summaries).
COURSE_SCHEDULES = ("induction series", "maintenance", "induction and maintenance")
KETAMINE_DRUGS = ("racemic ketamine", "esketamine", "arketamine", "ketamine (mixed forms)")

BLINDED = {"double-blind", "single-blind", "triple-blind"}
# Response and remission are pooled (evidence.synthesis.summaries) only on depression rating scales: a "response" on
# an anxiety, PTSD or suicidal-ideation scale is a different outcome and would distort a depression rate.
DEPRESSION_SCALE_MARKERS = ("madrs", "ham-d", "hamd", "hdrs", "phq-9", "qids", "bdi", "depression")


def is_depression_scale(measure: object) -> bool:
    text = str(measure).lower()
    return any(marker in text for marker in DEPRESSION_SCALE_MARKERS)


_OTHER_ACTIVE = re.compile(r"\b(ect|electroconvulsive|active|psychoactive|antidepressant|quetiapine|comparator)",
                           re.IGNORECASE)


def comparison_control(comparison: object) -> str:
    """The comparator class a comparison names: saline, midazolam, active, or mixed (both kinds, or unknown).

    "placebo" and "saline" are saline-type; "pseudo-placebo" and "saline or midazolam" are mixed."""
    text = str(comparison or "").lower()
    saline = ("placebo" in text or "saline" in text) and "pseudo" not in text
    midazolam = "midazolam" in text
    other = bool(_OTHER_ACTIVE.search(text))
    if saline and not (midazolam or other):
        return "saline"
    if midazolam and not (saline or other):
        return "midazolam"
    if (midazolam or other) and not saline:
        return "active"
    return "mixed"


def is_synthesis(study: Study) -> bool:
    return study.kind in SYNTHESIS_KINDS or study.design in SYNTHESIS_DESIGNS



@dataclass(frozen=True)
class Tables:
    studies: pd.DataFrame
    arms: pd.DataFrame
    outcomes: pd.DataFrame
    durability: pd.DataFrame
    adverse_events: pd.DataFrame
    findings: pd.DataFrame
    risk_of_bias: pd.DataFrame
    claims: pd.DataFrame
    claim_evidence: pd.DataFrame
    version: str = ""  # the data version these tables were built from ("" for a subset)
    syntheses: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SYNTHESIS_COLUMNS))

    @cached_property
    def _labels(self) -> dict[str, str]:
        s = self.studies
        return dict(zip(s["id"], s["first_author"] + " " + s["year"].astype(str), strict=True))

    def label(self, study_id: str) -> str:
        return self._labels.get(study_id, study_id)

    def labels(self, study_ids) -> list[str]:
        """'First-author year' for each study id (the id itself when unknown); built once per table set."""
        return [self._labels.get(i, i) for i in study_ids]

    def subset(self, study_ids) -> Tables:
        """The same tables restricted to these studies (claims are kept whole)."""
        keep = set(study_ids)
        return Tables(
            studies=self.studies[self.studies["id"].isin(keep)],
            **{name: getattr(self, name)[getattr(self, name)["study_id"].isin(keep)]
               for name in ("arms", "outcomes", "durability", "adverse_events", "findings",
                            "risk_of_bias", "syntheses")},
            claims=self.claims, claim_evidence=self.claim_evidence[self.claim_evidence["study_id"].isin(keep)],
        )

    def get(self, name: str) -> pd.DataFrame:
        if name not in TABLE_NAMES:
            raise KeyError(f"unknown table {name!r}; choose from {', '.join(TABLE_NAMES)}")
        return getattr(self, name)


TABLE_NAMES = (
    "studies", "arms", "outcomes", "durability", "adverse_events", "findings", "risk_of_bias", "claims",
    "claim_evidence", "syntheses",
)

_CACHE: dict[str, Tables] = {}


def build_tables(dataset: Dataset) -> Tables:
    """Tables for this data version (cached by content hash)."""
    if dataset.version not in _CACHE:
        if len(_CACHE) > 8:
            _CACHE.clear()
        with paused_gc():
            _CACHE[dataset.version] = _build(dataset)
    return _CACHE[dataset.version]


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=columns)


def study_n(study: Study) -> int | None:
    if study.sample and study.sample.n_randomized:
        return study.sample.n_randomized
    ns = [a.n_randomized for a in study.arms if a.n_randomized]
    if not ns:
        return None
    return max(ns) if study.design == "RCT crossover" else sum(ns)


def _after_course(study: Study, since: str) -> bool:
    """A result counted from the last dose of a multi-dose ketamine schedule (end of a course)."""
    return since == "last dose" and any(
        a.role == "intervention" and a.drug in KETAMINE_DRUGS and a.schedule in COURSE_SCHEDULES for a in study.arms)


def _synthesis_rows(s: Study) -> list[dict]:
    rows = []
    for o in s.outcomes:
        e = o.effect
        if e is None:
            continue
        rows.append({
            "study_id": s.id, "outcome_id": o.id, "outcome_kind": o.kind, "measure": e.type,
            "comparison": e.comparison, "control": comparison_control(e.comparison),
            "timepoint_hours": o.timepoint.hours, "timepoint_label": o.timepoint.label, "estimate": e.estimate,
            "ci_low": e.ci_low, "ci_high": e.ci_high, "p": e.p, "k_trials": e.k_studies,
            "n_participants": e.n_participants, "certainty": e.certainty, "includes": "; ".join(e.includes),
            "favours": e.favours,
            "scale": o.measure, "definition": o.definition, "within": o.timepoint.within, "design": s.design,
            "source_location": o.source.location, "source_quote": o.source.quote, "url": o.source.url or s.url,
        })
    return rows


def _build(dataset: Dataset) -> Tables:
    studies, arms, outcomes, durability, aes, findings, rob, syntheses = [], [], [], [], [], [], [], []
    for s in dataset.studies:
        if is_synthesis(s):
            syntheses.extend(_synthesis_rows(s))
        studies.append({
            "id": s.id, "kind": s.kind, "pmid": s.pmid, "doi": s.doi, "nct": s.nct,
            "first_author": s.citation.authors[0].split()[0], "year": s.citation.year,
            "title": s.citation.title, "journal": s.citation.journal, "design": s.design,
            "blinded": s.blinding in BLINDED, "drug": s.drug, "route": s.route, "population": s.population,
            "comparator": "; ".join(s.comparators), "n_randomized": study_n(s), "blinding": s.blinding,
            "k_studies": s.sample.k_studies if s.sample else None,
            "rob_overall": s.risk_of_bias.overall if s.risk_of_bias else None,
            "funding": s.funding, "url": s.url, "reanalysis_of": "; ".join(s.reanalysis_of),
        })
        arm_by_id = {a.id: a for a in s.arms}
        for a in s.arms:
            arms.append({
                "study_id": s.id, "arm": a.id, "label": a.label, "role": a.role, "drug": a.drug,
                "dose": a.dose, "route": a.route or s.route, "schedule": a.schedule,
                "n_randomized": a.n_randomized,
                "source_location": a.source.location if a.source else None,
                "source_quote": a.source.quote if a.source else None,
            })
        for o in s.outcomes:
            base = {
                "study_id": s.id, "outcome_id": o.id, "measure": o.measure, "kind": o.kind,
                "definition": o.definition, "timepoint_value": o.timepoint.value,
                "timepoint_unit": o.timepoint.unit, "timepoint_hours": o.timepoint.hours,
                "time_from": o.timepoint.since, "timepoint_label": o.timepoint.label,
                "source_location": o.source.location, "source_quote": o.source.quote,
                "source_url": o.source.url, "effect_type": None, "estimate": None, "ci_low": None,
                "ci_high": None, "p": None, "comparison": None, "within": o.timepoint.within,
                "after_course": _after_course(s, o.timepoint.since), "derived_rule": None, "derived_se": None,
                "effect_se": None, "effect_n_t": None, "effect_n_c": None, "effect_favours": None,
            }
            if o.effect:
                e = o.effect
                base.update(effect_type=e.type, estimate=e.estimate, ci_low=e.ci_low, ci_high=e.ci_high,
                            p=e.p, comparison=e.comparison, effect_se=e.se, effect_n_t=e.n_intervention,
                            effect_n_c=e.n_control, effect_favours=e.favours)
            if not o.results:
                outcomes.append(base)
            for r in o.results:
                arm = arm_by_id[r.arm]
                total = r.total if r.total is not None else r.n
                rate = r.events / r.total if r.events is not None and r.total else (
                    r.percent / 100 if r.percent is not None else None)
                outcomes.append({
                    **base, "arm": r.arm, "arm_role": arm.role, "arm_drug": arm.drug,
                    "arm_schedule": arm.schedule, "n": total if total is not None else arm.n_randomized,
                    "events": r.events, "total": r.total, "rate": rate, "mean": r.mean, "sd": r.sd,
                    "derived_rule": r.derived.rule if r.derived else None,
                    "derived_se": r.derived.se if r.derived else None,
                    **({"source_location": r.source.location, "source_quote": r.source.quote,
                        "source_url": r.source.url} if r.source else {}),
                })
        for d in s.durability:
            durability.append({
                "study_id": s.id, "measure": d.measure, "statistic": d.statistic, "value": d.value,
                "unit": d.unit, "days": d.days, "population": d.population, "arm": d.arm,
                "source_location": d.source.location, "source_quote": d.source.quote,
            })
        for ae in s.adverse_events:
            for r in ae.results:
                arm = arm_by_id[r.arm]
                rate = r.events / r.total if r.events is not None and r.total else (
                    r.percent / 100 if r.percent is not None else None)
                aes.append({
                    "study_id": s.id, "event": ae.event, "timing": ae.timing, "arm": r.arm,
                    "arm_role": arm.role, "arm_drug": arm.drug, "events": r.events, "total": r.total,
                    "rate": rate, "source_location": ae.source.location, "source_quote": ae.source.quote,
                })
        if s.risk_of_bias:
            r = s.risk_of_bias
            src = (r.source.location, r.source.quote) if r.source else (None, None)
            for domain, judgement in [*r.domains.items(), ("overall", r.overall)]:
                rob.append({"study_id": s.id, "domain": domain, "judgement": judgement, "tool": r.tool,
                            "judged_by": r.judged_by, "source_location": src[0], "source_quote": src[1]})
        for f in s.findings:
            findings.append({"study_id": s.id, "text": f.text, "source_location": f.source.location,
                             "source_quote": f.source.quote})
    claims, links = [], []
    for c in dataset.claims:
        sources = {a.source for a in c.appearances}
        for a in c.appearances:
            claims.append({
                "claim_id": c.id, "topic": c.topic, "verdict": c.verdict, "certainty": c.certainty,
                "short": c.short, "source_id": a.source, "quote": a.quote, "n_evidence": len(c.evidence),
                "n_sources": len(sources), "reason_tags": "; ".join(c.reason_tags),
                "supported_wording": c.supported_wording,
            })
        for e in c.evidence:
            links.append({"claim_id": c.id, "study_id": e.study, "outcomes": "; ".join(e.outcomes),
                          "stance": e.stance, "note": e.note})
    out = with_derived_columns(_frame(outcomes, OUTCOME_COLUMNS))
    for col in ("events", "total", "n", "effect_n_t", "effect_n_c"):
        out[col] = out[col].astype("Int64")
    st = _frame(studies, STUDY_COLUMNS)
    for col in ("n_randomized", "k_studies", "year"):
        st[col] = st[col].astype("Int64")
    return Tables(
        studies=st, arms=_frame(arms, ARM_COLUMNS), outcomes=out,
        durability=_frame(durability, DURABILITY_COLUMNS), adverse_events=_frame(aes, ADVERSE_EVENT_COLUMNS),
        findings=_frame(findings, FINDING_COLUMNS), risk_of_bias=_frame(rob, RISK_OF_BIAS_COLUMNS),
        claims=_frame(claims, CLAIM_COLUMNS),
        claim_evidence=_frame(links, CLAIM_EVIDENCE_COLUMNS), version=dataset.version,
        syntheses=_syntheses_frame(syntheses),
    )


def _syntheses_frame(rows: list[dict]) -> pd.DataFrame:
    frame = _frame(rows, SYNTHESIS_COLUMNS)
    for col in ("k_trials", "n_participants"):
        frame[col] = frame[col].astype("Int64")
    return frame


def with_derived_columns(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Columns computed once per data version: ``depression_scale`` (evaluated once per distinct measure)."""
    scales = {m: is_depression_scale(m) for m in outcomes["measure"].unique()}
    outcomes["depression_scale"] = outcomes["measure"].map(scales).fillna(False).astype(bool)
    for col in ("within", "after_course"):
        outcomes[col] = outcomes[col].fillna(False).astype(bool)
    return outcomes
