"""The study page model: the whole record, every figure with its provenance quote and location."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from evidence.curation.load import Dataset
from evidence.curation.schema import Study
from evidence.curation.tables import Tables
from evidence.pages.figure import Chart
from evidence.publishing import charts
from evidence.publishing.exports import doi_url, is_web_url, pubmed_url

SECTIONS = (
    ("Arms", "arms", ["arm", "label", "role", "drug", "dose", "schedule", "n_randomized", "source_location",
                      "source_quote"]),
    ("Outcomes (every figure with its source quote)", "outcomes",
     ["outcome_id", "arm", "measure", "kind", "definition", "timepoint_value", "timepoint_unit", "time_from",
      "events", "total", "rate", "mean", "sd", "derived_rule", "effect_type", "estimate", "ci_low", "ci_high", "p",
      "source_location", "source_quote"]),
    ("How long it lasted", "durability", ["measure", "statistic", "value", "unit", "population", "source_location",
                                          "source_quote"]),
    ("Adverse events", "adverse_events", ["event", "timing", "arm", "events", "total", "rate", "source_location",
                                          "source_quote"]),
    ("Key findings", "findings", ["text", "source_location", "source_quote"]),
)


@dataclass(frozen=True)
class Section:
    title: str
    table: str
    rows: pd.DataFrame


@dataclass(frozen=True, eq=False)
class StudyPage:
    study: Study
    authors: str
    links: list[tuple[str, str]]  # (label, url)
    facts: list[tuple[str, str]]  # (label, value): design, blinding, participants, population
    details: list[tuple[str, str]]  # drug, route, comparators, kind, funding
    sample: str | None
    notes: str | None
    risk_of_bias: str | None
    rob_chart: Chart | None
    sections: list[Section]
    secondary: int
    claims: list[tuple[str, str, str]]  # (claim id, claim short, stance)

    @property
    def id(self) -> str:
        return self.study.id

    @property
    def title(self) -> str:
        return self.study.citation.title

    @property
    def record_json(self) -> str:
        return self.study.model_dump_json(indent=2, exclude_none=True)


def links(s: Study) -> list[tuple[str, str]]:
    out = []
    if s.pmid:
        out.append(("PubMed", pubmed_url(s.pmid)))
    if s.doi:
        out.append(("DOI", doi_url(s.doi)))
    if s.nct:
        out.append(("ClinicalTrials.gov", f"https://clinicaltrials.gov/study/{s.nct}"))
    if not out and is_web_url(s.url):  # the link goes into href: never javascript: or the like
        out.append(("document", s.url))
    return out


def build(study_id: str, dataset: Dataset, tables: Tables) -> StudyPage:
    s = dataset.study(study_id)
    row = tables.studies.set_index("id").loc[study_id]
    n = row["n_randomized"]
    facts = [("Design", s.design), ("Blinding", s.blinding),
             ("Participants", "—" if pd.isna(n) else f"{int(n):,}"), ("Population", s.population)]
    details = [("Drug", s.drug), ("Route", s.route), ("Comparators", ", ".join(s.comparators) or "—"),
               ("Kind", s.kind)] + ([("Funding", s.funding)] if s.funding else [])
    rob_text, rob_chart = None, None
    if s.risk_of_bias:
        rob_text = f"{s.risk_of_bias.overall}, judged by {s.risk_of_bias.judged_by} ({s.risk_of_bias.tool})"
        rob = tables.risk_of_bias[tables.risk_of_bias["study_id"] == study_id].assign(label=study_id)
        domains = "; ".join(f"{d}: {j}" for d, j in zip(rob["domain"], rob["judgement"], strict=True))
        rob_chart = Chart(f"{study_id}-risk-of-bias", "Risk of bias by domain",
                          charts.risk_of_bias_grid(rob, title="Risk of bias by domain"), rob.reset_index(drop=True),
                          f"Risk of bias by domain ({s.risk_of_bias.tool}), as judged by {s.risk_of_bias.judged_by}.",
                          f"Risk of bias by domain: {domains}." if domains else "No domain judgements recorded.")
    sections = []
    for title, name, columns in SECTIONS:
        frame = getattr(tables, name)
        rows = frame[frame["study_id"] == study_id]
        if not rows.empty:
            sections.append(Section(title, name, rows[columns].reset_index(drop=True)))
    secondary = sum(1 for f in s.outcomes if f.source.secondary) + sum(1 for d in s.durability if d.source.secondary)
    cites = tables.claim_evidence[tables.claim_evidence["study_id"] == study_id]
    claims = [(cid, dataset.claim(cid).short, stance) for cid, stance in zip(cites["claim_id"], cites["stance"],
                                                                             strict=True)]
    sample = f"Sample — {s.sample.source.location}: “{s.sample.source.quote}”" if s.sample else None
    return StudyPage(s, ", ".join(s.citation.authors), links(s), facts, details, sample, s.notes, rob_text,
                     rob_chart, sections, secondary, claims)
