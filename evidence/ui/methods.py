"""Methods and data: verdict and certainty rules, curation, gaps, limitations, changelog, licence, citation."""

import streamlit as st

from evidence.checking.accuracy import accuracy_markdown
from evidence.curation import last_search
from evidence.curation.provenance import count_figures
from evidence.curation.verdicts import CERTAINTY, CERTAINTY_MEANING, REASON_TAGS_HELP, VERDICTS, verdict_badge
from evidence.pages.paths import static_twin
from evidence.ui import common

dataset = common.dataset()
st.title("Methods and data")
st.caption(static_twin("methods"))


@st.cache_data(show_spinner=False, max_entries=4)
def figure_counts(version: str) -> tuple[int, int]:
    return count_figures(dataset.studies)


primary, secondary = figure_counts(dataset.version)
st.markdown(
    f"**Data version `{dataset.version}`** (content hash of the three data files; files last changed "
    f"{dataset.modified}). {len(dataset.studies)} studies, {primary + secondary} recorded figures "
    f"({secondary} resting on a secondary page), {len(dataset.claims)} claims quoted from "
    f"{len(dataset.sources)} marketing pages."
)
st.header("Verdicts")
st.markdown("Each claim gets a verdict on the claim and, separately, the certainty of the evidence. The rules:")
for rule in VERDICTS.values():
    value = f"ClaimReview rating {rule.value}" if rule.value else "text-only rating"
    st.markdown(f"{verdict_badge(rule.label)} {rule.rule} *({value})*", unsafe_allow_html=True)
st.header("Certainty of the evidence (GRADE)")
for level, wording in CERTAINTY.items():
    st.markdown(f"- **{level}** — {CERTAINTY_MEANING[level]} Quote as: “ketamine *{wording}* …”")
with st.expander("Reason tags"):
    for tag, text in REASON_TAGS_HELP.items():
        st.markdown(f"- **{tag}**: {text}")
st.header("How the figures were curated")
st.markdown(
    "- Every study is identified by PMID and/or DOI (regulatory documents by URL).\n"
    "- Every figure (sample sizes, response rates, effect sizes, times to relapse, adverse-event rates) carries "
    "`source.location` and a verbatim `source.quote` under 40 words; an automated test checks that each number "
    "occurs in its quote. Figures from secondary pages are flagged with their URL.\n"
    "- Nothing is filled from memory: a figure that could not be found in a primary source is left out and "
    "listed in the gaps below.\n"
    "- Claims are quoted verbatim (a test checks each quote against its saved page). Numbers shown on claim "
    "pages are computed from the data files, never typed into prose.\n"
    "- Pooling: REML random effects by default (DerSimonian–Laird and fixed effect on request), log scale for "
    "ratios and logit for proportions, Wilson intervals for single proportions; validated against R's metafor.\n"
    "- Pooling from what trials report: each trial gives one effect, from per-arm data (counts, or means and SDs), "
    "from data derived by an exact rule (marked †: a count from a rounded percent when exactly one integer fits, "
    "an SD from a quoted SE and n), or from its reported effect (a ratio's SE from its 95% CI on the log scale, "
    "a mean difference's SE or CI, an SMD or Cohen's d with the arm sizes and Hedges' correction). Binary "
    "outcomes are pooled as odds ratios (the measure trials and syntheses report), continuous ones as SMDs, or "
    "as mean differences on one instrument; scales are never mixed. A re-analysis is never pooled with its own "
    "trials, and published meta-analyses are shown beside the pools, never pooled.\n"
    "- Few studies: with fewer than two studies nothing is pooled (the single study is shown as such). With two "
    "to four, random-effects intervals use the Knapp–Hartung (HKSJ) method, t with k − 1 degrees of freedom, "
    "whatever the method chosen: the usual z interval treats τ² as known, and in simulations of 2–20 trials its "
    "error rate could exceed 30% where HKSJ's at most doubled the nominal 5% (IntHout, Ioannidis & Borm 2014, "
    "*BMC Med Res Methodol* 14:25). HKSJ can still be too narrow when the trials' precisions differ a lot (Röver, "
    "Knapp & Friede 2015, *BMC Med Res Methodol* 15:99), so read intervals from so few studies as approximate; "
    "they are wide because the evidence is thin."
)
st.header("Literature search")
st.markdown(last_search.methods_markdown(*last_search.read(dataset.data_dir)))
st.header("Checking a clinic page")
st.markdown(accuracy_markdown())
st.header("Limitations")
st.markdown(
    "- The stored copies of many papers showed only the abstract, so arm-level counts are missing for several "
    "trials and pooled estimates rest on few studies (k is always shown).\n"
    "- Risk of bias has not yet been judged study by study; the certainty ratings are the curators' GRADE-style "
    "judgements, citing the Cochrane review's where it gives one.\n"
    "- Crossover trials are analysed as if parallel when pooled."
)
st.header("Verdict changelog")
st.markdown("Every verdict with the date it was set and why; a changed verdict keeps its earlier entries.")
log = [{"date": str(e.date), "claim": c.short, "verdict": e.verdict, "note": e.note}
       for c in dataset.claims for e in c.changelog]
st.dataframe(sorted(log, key=lambda r: r["date"], reverse=True), hide_index=True)
root = dataset.data_dir
for title, name in (("Gaps: figures we looked for and could not verify", "GAPS.md"),
                    ("Data changelog", "CHANGELOG.md")):
    path = root / name
    if path.exists():
        with st.expander(title):
            common.markdown_file(path)
st.header("Licence and how to cite")
st.markdown(
    f"Data: CC BY 4.0. Code: MIT.  \nCite as: *Ketamine for depression: claims vs evidence tracker*, data "
    f"version {dataset.version} ({dataset.modified}). Each claim page has its own permalink to cite."
)
common.footer(dataset)
