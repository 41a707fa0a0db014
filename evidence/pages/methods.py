"""The Methods page model: verdict and certainty rules, curation, limitations, changelog, gaps, citation.

Text is Markdown (the app renders it as is; the static site converts it with markdown-it).
"""

from __future__ import annotations

from dataclasses import dataclass

from evidence.curation.load import Dataset
from evidence.curation.provenance import count_figures
from evidence.curation.verdicts import CERTAINTY, CERTAINTY_MEANING, REASON_TAGS_HELP, VERDICTS

CURATION = (
    "- Every study is identified by PMID and/or DOI (regulatory documents by URL).\n"
    "- Every figure (sample sizes, response rates, effect sizes, times to relapse, adverse-event rates) carries "
    "`source.location` and a verbatim `source.quote` under 40 words; an automated test checks that each number "
    "occurs in its quote. Figures from secondary pages are flagged with their URL.\n"
    "- Nothing is filled from memory: a figure that could not be found in a primary source is left out and "
    "listed in the gaps below.\n"
    "- Claims are quoted verbatim (a test checks each quote against its saved page). Numbers shown on claim "
    "pages are computed from the data files, never typed into prose.\n"
    "- Pooling: REML random effects by default (DerSimonian–Laird and fixed effect on request), log scale for "
    "ratios and logit for proportions, Wilson intervals for single proportions; validated against R's metafor. "
    "A single study is never shown as a pooled estimate."
)
LIMITATIONS = (
    "- The stored copies of many papers showed only the abstract, so arm-level counts are missing for several "
    "trials and pooled estimates rest on few studies (k is always shown).\n"
    "- Risk of bias has not yet been judged study by study; the certainty ratings are the curators' GRADE-style "
    "judgements, citing the Cochrane review's where it gives one.\n"
    "- Crossover trials are analysed as if parallel when pooled."
)


@dataclass(frozen=True)
class MethodsPage:
    summary: str
    verdicts: list[tuple[str, str, str]]  # (verdict, rule, ClaimReview rating)
    certainty: list[tuple[str, str, str]]  # (level, meaning, GRADE wording)
    reason_tags: list[tuple[str, str]]
    curation: str
    limitations: str
    changelog: list[dict[str, str]]  # newest first
    documents: list[tuple[str, str]]  # (title, Markdown): the gaps and the data changelog
    citation: str


def build(dataset: Dataset) -> MethodsPage:
    primary, secondary = count_figures(dataset.studies)
    summary = (f"**Data version `{dataset.version}`** (content hash of the three data files; data last changed "
               f"{dataset.modified}). {len(dataset.studies)} studies, {primary + secondary} recorded figures "
               f"({secondary} resting on a secondary page), {len(dataset.claims)} claims quoted from "
               f"{len(dataset.sources)} marketing pages.")
    verdicts = [(r.label, r.rule, f"ClaimReview rating {r.value}" if r.value else "text-only rating")
                for r in VERDICTS.values()]
    certainty = [(level, CERTAINTY_MEANING[level], wording) for level, wording in CERTAINTY.items()]
    log = [{"date": e.date.isoformat(), "claim": c.short, "claim_id": c.id, "verdict": e.verdict, "note": e.note}
           for c in dataset.claims for e in c.changelog]
    log.sort(key=lambda r: (r["date"], r["claim_id"]), reverse=True)
    documents = []
    for title, name in (("Gaps: figures we looked for and could not verify", "GAPS.md"),
                        ("Data changelog", "CHANGELOG.md")):
        path = dataset.data_dir / name
        if path.exists():
            documents.append((title, path.read_text(encoding="utf-8")))
    citation = (f"Data: CC BY 4.0. Code: MIT. Cite as: *Ketamine for depression: claims vs evidence tracker*, "
                f"data version {dataset.version} ({dataset.modified}). Each claim page has its own permalink to "
                "cite.")
    return MethodsPage(summary, verdicts, certainty, list(REASON_TAGS_HELP.items()), CURATION, LIMITATIONS, log,
                       documents, citation)
