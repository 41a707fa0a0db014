"""The claim page model: quotes, verdict, certainty, the computed panels and charts, studies, text to quote.

Built once per claim from :mod:`evidence.synthesis.claim_evidence`; the app's claim page, the static
site's claim page, the HTML report and the journalist bundle render it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from evidence.curation.load import Dataset
from evidence.curation.schema import Claim, Study
from evidence.curation.tables import Tables
from evidence.curation.verdicts import CERTAINTY, CERTAINTY_MEANING, REASON_TAGS_HELP, VERDICTS
from evidence.pages import syntheses
from evidence.pages.figure import Chart
from evidence.publishing import charts, exports
from evidence.publishing.stamp import LICENCE, PROJECT, claim_url
from evidence.synthesis import claim_evidence
from evidence.synthesis.claim_evidence import Panel

STUDY_COLUMNS = ["study_id", "stance", "outcomes", "first_author", "year", "design", "drug", "population",
                 "n_randomized", "note", "pmid", "doi", "nct"]


@dataclass(frozen=True)
class Quote:
    text: str
    source: str
    title: str
    publisher: str | None
    kind: str
    url: str | None


@dataclass(frozen=True, eq=False)
class ClaimPage:
    claim: Claim
    quotes: list[Quote]
    verdict_rule: str
    certainty_meaning: str | None
    certainty_wording: str | None
    reasons: list[tuple[str, str]]
    panels: list[Panel]
    charts: list[Chart]
    syntheses: Chart | None
    key_number: str | None
    studies: pd.DataFrame
    changelog: list[dict[str, str]]
    failed: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.claim.id

    @property
    def title(self) -> str:
        return self.claim.short

    def cited(self, dataset: Dataset) -> list[Study]:
        """The studies to cite for this page: the claim's evidence links, then every study a panel's number rests on.
        A key number computed from the topic's data can name a study the claim does not link (the bundle had
        quoted Daly 2018's 55% vs 18% and left Daly 2018 out of its citations)."""
        known = {s.id: s for s in dataset.studies}
        ids = [s.id for s in exports.claim_studies(self.claim, dataset)]
        ids += [sid for p in self.panels for sid in (p.studies or []) if sid in known]
        return [known[sid] for sid in dict.fromkeys(ids)]

    @property
    def chart(self) -> Chart:
        """The claim's own chart (its first panel): what the bundle and the report draw."""
        return self.charts[0]

    @property
    def computed(self) -> bool:
        """Whether the panels come from the claim's summaries (else they chart the cited studies)."""
        return bool(self.claim.summaries)

    @property
    def cited_note(self) -> str | None:
        """What the page says above the cited studies' chart, when the claim has no computed summary: a claim that
        cites no study must not promise a chart and a list of them."""
        if self.computed:
            return None
        if self.studies.empty:
            return "This claim cites no study: its verdict rests on the rationale above, not on figures in the data."
        if not any(p.k for p in self.panels):
            return "None of the cited studies reports a figure these charts can show; they are listed below."
        return "This claim has no computed summary; the chart shows what its cited studies report."

    @property
    def shown(self) -> list[tuple[Panel, Chart]]:
        """The panels the page draws: every computed one (an empty one says why), but a chart of the cited
        studies only when it has a study in it."""
        return [(p, c) for p, c in zip(self.panels, self.charts, strict=False) if self.computed or p.k]


def build(claim: Claim, dataset: Dataset, tables: Tables) -> ClaimPage:
    sources = {s.id: s for s in dataset.sources}
    quotes = []
    for app in claim.appearances:
        src = sources.get(app.source)
        url = src.url if src and exports.is_web_url(src.url) else None  # goes into href: never javascript: etc.
        quotes.append(Quote(app.quote, app.source, src.title if src else app.source, src.publisher if src else None,
                            src.kind if src else "", url))
    panels, failed = claim_evidence.claim_panels(claim, dataset, tables)
    for message in failed:
        warnings.warn(message + "; shown without its computed number", RuntimeWarning, stacklevel=2)
    chart_list = [Chart.of(p, f"{claim.id}-{i + 1}") for i, p in enumerate(panels)]
    if not chart_list:  # every summary failed: an empty chart, never a made-up one
        chart_list = [Chart(f"{claim.id}-1", claim.short, charts.empty(claim.short, "The summary could not be "
                            "computed."), pd.DataFrame(), claim.short, "No chart: the summary could not be computed.")]
    links = tables.claim_evidence[tables.claim_evidence["claim_id"] == claim.id]
    studies = links.merge(tables.studies, left_on="study_id", right_on="id")[STUDY_COLUMNS].reset_index(drop=True)
    first = panels[0] if panels and panels[0].spec is not None else None
    return ClaimPage(
        claim=claim, quotes=quotes, verdict_rule=VERDICTS[claim.verdict].rule,
        certainty_meaning=CERTAINTY_MEANING.get(claim.certainty) if claim.certainty else None,
        certainty_wording=CERTAINTY.get(claim.certainty) if claim.certainty else None,
        reasons=[(t, REASON_TAGS_HELP[t]) for t in claim.reason_tags], panels=panels, charts=chart_list,
        syntheses=syntheses_chart(claim, tables), key_number=key_number(first), studies=studies,
        changelog=[{"date": e.date.isoformat(), "verdict": e.verdict, "note": e.note} for e in claim.changelog],
        failed=failed)


# --------------------------------------------------------------------------- what the meta-analyses found

def syntheses_chart(claim: Claim, tables: Tables) -> Chart | None:
    """The published syntheses' estimates for the claim's first response or remission summary, or None."""
    spec = next((s for s in claim.summaries if s.outcome_kind in ("response", "remission")
                 and s.kind in ("response_rate", "odds_ratio", "response_over_time")), None)
    if spec is None:
        return None
    return syntheses.chart(tables, name=f"{claim.id}-syntheses", outcome_kind=spec.outcome_kind,
                           hours=(spec.hours_min, spec.hours_max), control=spec.control or "any")


# --------------------------------------------------------------------------- text to quote

def key_number(p: Panel | None) -> str | None:
    """The headline number computed from the data for the claim's first summary, or None.

    None when the claim has no summary or no study in the data answers it (k = 0): a number is never
    made up."""
    if p is None or p.spec is None or not p.k:
        return None
    if p.spec.kind in ("response_rate", "odds_ratio") and math.isnan(p.estimate):
        return None
    studies = "study" if p.k == 1 else "studies"
    if p.spec.kind in ("response_rate", "odds_ratio"):  # pooled: the estimate rests on exactly these
        basis = f"{p.k} {studies}, {p.n} participants" if p.n else f"{p.k} {studies}"
    else:  # descriptive: the headline picks from the data shown
        basis = f"from {p.k} {studies} in the data"
    return f"{p.headline.rstrip('.')} ({basis})."


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s" if not word.endswith("y") else f"{n} {word[:-1]}ies"


def certainty_sentence(certainty: str | None) -> str:
    if certainty is None:
        return "Certainty of the evidence: not graded."
    wording = CERTAINTY[certainty]
    if wording.startswith("the evidence"):
        phrase = f"in GRADE wording, “{wording}” the effect"
    else:
        phrase = f"in GRADE wording, ketamine “{wording}” the effect"
    return f"Certainty of the evidence: {certainty.lower()} — {phrase}. {CERTAINTY_MEANING[certainty]}"


def quote_paragraph(page: ClaimPage, dataset: Dataset, tables: Tables, *, base: str | None = None,
                    today: date | None = None, url: str | None = None) -> str:
    """A quote-ready paragraph: the claim and its page, the verdict, the key number computed from the
    data (with its 95% CI) or the studies it rests on, the certainty, the caveat and the data version.
    ``url``: the page to cite (default: the app's permalink under ``base``)."""
    claim = page.claim
    app = page.quotes[0]
    where = app.title
    if app.publisher and app.publisher != app.title:
        where = f"{app.title} ({app.publisher})"
    others = len({q.source for q in page.quotes}) - 1
    also = f", and {_plural(others, 'other page')}" if others > 0 else ""
    parts = [f"The claim “{app.text}” appears on the page “{where}”{also}.",
             f"The {PROJECT} rates it “{claim.verdict}”: {page.verdict_rule}"]
    if page.key_number:
        parts.append(f"Key number computed from the curated data: {page.key_number}")
    else:
        labels = [tables.label(s.id) for s in exports.claim_studies(claim, dataset)]
        if labels:
            parts.append(f"The verdict rests on {_plural(len(labels), 'study')} ({'; '.join(labels)}); "
                         "the curated data give no summary number for this claim.")
        else:
            parts.append("No study in the curated data addresses the claim.")
    parts.append(certainty_sentence(claim.certainty))
    parts.append(f"What the evidence supports: “{claim.supported_wording}”")
    if claim.checkable_if:
        parts.append(f"What would make it checkable: {claim.checkable_if}")
    parts.append(f"(Source: {PROJECT}, {url or claim_url(claim.id, base)}, data version {dataset.version}, "
                 f"data last changed {dataset.modified}, retrieved {(today or date.today()).isoformat()}; "
                 f"{LICENCE}.)")
    return " ".join(p if p.rstrip().endswith((".", ")", "”", "?", "!")) else p + "." for p in parts)
