"""Claim detail: the quotes, the verdict, the numbers computed from data/, the chart, the studies."""

import json

import streamlit as st

from evidence.curation.verdicts import (
    CERTAINTY,
    CERTAINTY_MEANING,
    REASON_TAGS_HELP,
    VERDICTS,
    certainty_badge,
    verdict_badge,
)
from evidence.publishing import bundle, exports
from evidence.ui import common

dataset, tables = common.data()
ids = [c.id for c in dataset.claims]
shorts = {c.id: c.short for c in dataset.claims}
claim_id = common.bound_select("Claim", "claim", ids, format_func=shorts.get)
claim = dataset.claim(claim_id)
sources = {s.id: s for s in dataset.sources}

st.title(claim.short)
st.markdown(f"{verdict_badge(claim.verdict)} &nbsp; {certainty_badge(claim.certainty)} &nbsp; *topic: {claim.topic}*",
            unsafe_allow_html=True)
common.permalink_note()

st.subheader("What the pages say")
for app in claim.appearances:
    src = sources[app.source]
    who = f" ({src.publisher})" if src.publisher else ""
    st.markdown(f"> “{app.quote}”\n>\n> — *{src.title}*{who}, {src.kind}")

st.subheader("Verdict")
rule = VERDICTS[claim.verdict]
st.markdown(f"**{claim.verdict}** — {rule.rule}")
if claim.certainty:
    st.markdown(f"**Certainty of the evidence: {claim.certainty}** — {CERTAINTY_MEANING[claim.certainty]} "
                f"(GRADE wording: “ketamine *{CERTAINTY[claim.certainty]}* …”)")
if claim.reason_tags:
    st.markdown("**Why:** " + " · ".join(f"`{t}`" for t in claim.reason_tags))
    with st.expander("What the reason tags mean"):
        for tag in claim.reason_tags:
            st.markdown(f"- **{tag}**: {REASON_TAGS_HELP[tag]}")
st.markdown(claim.rationale)
if claim.checkable_if:
    st.info(f"**What would make it checkable:** {claim.checkable_if}")
st.success(f"**What the evidence supports:** {claim.supported_wording}")

st.subheader("What the evidence says (computed from the data)")
if not claim.summaries:
    st.caption("This claim has no numeric summary; the studies below are the evidence cited.")
claim_panels = common.claim_panels(dataset, tables, claim)
for i, panel in enumerate(claim_panels):
    st.markdown(f"**{panel.headline}**  \n{panel.basis}")
    common.chart_block(panel.figure, panel.data, caption=f"{panel.title}. {panel.basis}",
                       name=f"{claim.id}_{i}_{panel.spec.kind}", dataset=dataset)
    if panel.sensitivity is not None:
        with st.expander("Does it hold in blinded RCTs only, or without high risk of bias?"):
            st.dataframe(panel.sensitivity, hide_index=True)

st.subheader("Studies behind the verdict")
links = tables.claim_evidence[tables.claim_evidence["claim_id"] == claim.id]
studies = links.merge(tables.studies, left_on="study_id", right_on="id")
st.dataframe(
    common.link_columns(studies)[["study_id", "stance", "outcomes", "first_author", "year", "design", "drug",
                                  "population", "n_randomized", "note", "pubmed", "doi_link", "registry"]],
    hide_index=True, column_config=common.LINK_CONFIG,
)
for sid in links["study_id"]:
    st.page_link(common.PAGES["study"], label=f"Study record: {sid}", query_params={"study": sid})

st.subheader("Take it away")
cited = exports.claim_studies(claim, dataset)
first = claim_panels[0] if claim_panels else None
st.text_area("Quote-ready paragraph", bundle.quote_paragraph(claim, dataset, tables, panel=first), height=160)
c1, c2, c3, c4 = st.columns(4)
c1.download_button("ClaimReview (JSON-LD)", lambda: json.dumps(exports.claim_review(claim, dataset), indent=2),
                   common.stamped_name(f"{claim.id}_claimreview", dataset, "jsonld"), "application/ld+json",
                   on_click="ignore")
c2.download_button("Citations (BibTeX)", lambda: exports.bibtex(cited),
                   common.stamped_name(f"{claim.id}", dataset, "bib"), "application/x-bibtex", on_click="ignore")
c3.download_button("Citations (RIS)", lambda: exports.ris(cited), common.stamped_name(f"{claim.id}", dataset, "ris"),
                   "application/x-research-info-systems", on_click="ignore")
c4.download_button("Evidence rows (CSV)",
                   lambda: exports.table_export(exports.claim_evidence_rows(claim, tables), "csv", dataset=dataset,
                                                table_name="outcomes"),
                   common.stamped_name(f"{claim.id}_evidence", dataset), "text/csv", on_click="ignore")
if st.button("Prepare the journalist bundle (zip: paragraph, chart PNG/SVG, CSV, citations, ClaimReview)"):
    with st.spinner("Building the bundle (the chart images need a headless browser)…"):
        st.session_state[f"bundle_{claim.id}"] = bundle.bundle(claim.id, dataset, tables)
if f"bundle_{claim.id}" in st.session_state:
    st.download_button("Download the bundle (zip)", st.session_state[f"bundle_{claim.id}"],
                       common.stamped_name(f"{claim.id}_bundle", dataset, "zip"), "application/zip",
                       on_click="ignore")

st.subheader("Changelog")
st.dataframe([{"date": str(e.date), "verdict": e.verdict, "note": e.note} for e in claim.changelog],
             hide_index=True)
common.footer(dataset)
