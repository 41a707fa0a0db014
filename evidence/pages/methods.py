"""The Methods page model: verdict and certainty rules, curation, limitations, changelog, gaps, citation.

Text is Markdown (the app renders it as is; the static site converts it with markdown-it).
"""

from __future__ import annotations

from dataclasses import dataclass

from evidence.checking.accuracy import accuracy_markdown
from evidence.curation import last_search
from evidence.curation.load import Dataset
from evidence.curation.provenance import count_figures
from evidence.curation.verdicts import CERTAINTY, CERTAINTY_MEANING, REASON_TAGS_HELP, VERDICTS
from evidence.user_files import InputFileError, read_text

DOCUMENT_LIMIT = 2 * 1024 * 1024  # bytes of GAPS.md or CHANGELOG.md shown
CURATION = (
    "- Every study is identified by PMID and/or DOI (regulatory documents by URL).\n"
    "- Every figure (sample sizes, response rates, effect sizes, times to relapse, adverse-event rates) carries "
    "`source.location` and a verbatim `source.quote` under 40 words; an automated test checks that each number "
    "occurs in its quote. Figures from secondary pages are flagged with their URL.\n"
    "- Nothing is filled from memory: a figure that could not be found in a primary source is left out and "
    "listed in the gaps below.\n"
    "- Claims are quoted verbatim (a test checks each quote against its saved page). Numbers shown on claim "
    "pages are computed from the data files, never typed into prose."
)
POOLING = (
    "- Methods: REML random effects by default (DerSimonian–Laird and fixed effect on request), log scale for "
    "ratios and logit for proportions, Wilson intervals for single proportions; validated against R's metafor.\n"
    "- Pooling from what trials report: each trial gives one effect, from per-arm data (counts, or means and SDs), "
    "from data derived by an exact rule (marked †: a count from a rounded percent when exactly one integer fits, "
    "an SD from a quoted SE and n), or from its reported effect (a ratio's SE from its 95% CI on the log scale, "
    "a mean difference's SE or CI, an SMD or Cohen's d with the arm sizes and Hedges' correction). Binary "
    "outcomes are pooled as odds ratios (the measure trials and syntheses report), continuous ones as SMDs, or "
    "as mean differences on one instrument; scales are never mixed. A re-analysis is never pooled with its own "
    "trials, and published meta-analyses are shown beside the pools, never pooled; their standardized and raw "
    "differences are drawn so that negative favours ketamine, each flipped value named as reported.\n"
    "- Few studies: with fewer than two studies nothing is pooled (the single study is shown as such). With two "
    "to four, random-effects intervals use the Knapp–Hartung (HKSJ) method, t with k − 1 degrees of freedom, "
    "whatever the method chosen: the usual z interval treats τ² as known, and in simulations of 2–20 trials its "
    "error rate could exceed 30% where HKSJ's at most doubled the nominal 5% (IntHout, Ioannidis & Borm 2014, "
    "*BMC Med Res Methodol* 14:25). HKSJ can still be too narrow when the trials' precisions differ a lot (Röver, "
    "Knapp & Friede 2015, *BMC Med Res Methodol* 15:99), so read intervals from so few studies as approximate; "
    "they are wide because the evidence is thin."
)


def limitations(dataset: Dataset) -> str:
    judged = sum(1 for s in dataset.studies if s.risk_of_bias is not None)
    return (
        "- The stored copies of many papers showed only the abstract, so arm-level counts are missing for several "
        "trials and pooled estimates rest on few studies (k is always shown).\n"
        f"- Risk of bias is recorded for {judged} of the {len(dataset.studies)} studies, where Cochrane's "
        "characteristics tables give it as text; the certainty ratings are the curators' GRADE-style "
        "judgements, citing the Cochrane review's where it gives one.\n"
        "- Crossover trials are analysed as if parallel when pooled."
    )


@dataclass(frozen=True)
class MethodsPage:
    summary: str
    verdicts: list[tuple[str, str, str]]  # (verdict, rule, ClaimReview rating)
    certainty: list[tuple[str, str, str]]  # (level, meaning, GRADE wording)
    reason_tags: list[tuple[str, str]]
    sections: list[tuple[str, str]]  # (heading, Markdown): curation, pooling, search, checker, limitations
    changelog: list[dict[str, str]]  # newest first
    documents: list[tuple[str, str, str | None]]  # (title, Markdown, why not shown): the gaps, the data changelog
    citation: str

    def as_json(self) -> dict:
        """The page as data (the static site's ``methods.json``, its machine-readable twin): the same texts."""
        return {
            "summary": self.summary,
            "verdicts": [{"verdict": v, "rule": rule, "rating": rating} for v, rule, rating in self.verdicts],
            "certainty": [{"level": level, "meaning": meaning, "wording": wording}
                          for level, meaning, wording in self.certainty],
            "reason_tags": [{"tag": tag, "meaning": text} for tag, text in self.reason_tags],
            "sections": [{"heading": heading, "markdown": text} for heading, text in self.sections],
            "changelog": self.changelog,
            "citation": self.citation,
        }


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
            try:
                documents.append((title, read_text(path, DOCUMENT_LIMIT), None))
            except InputFileError as exc:  # a FIFO, a directory, a huge file: say so, never hang
                documents.append((title, "", f"Not shown: {exc}"))
    citation = (f"Data: CC BY 4.0. Code: MIT. Cite as: *Ketamine for depression: claims vs evidence tracker*, "
                f"data version {dataset.version} ({dataset.modified}). Each claim page has its own permalink to "
                "cite.")
    sections = [
        ("How the figures were curated", CURATION),
        ("How the numbers are pooled", POOLING),
        ("Literature search", last_search.methods_markdown(*last_search.read(dataset.data_dir))),
        ("Checking a clinic page", accuracy_markdown()),
        ("Limitations", limitations(dataset)),
    ]
    return MethodsPage(summary, verdicts, certainty, list(REASON_TAGS_HELP.items()), sections, log, documents,
                       citation)
