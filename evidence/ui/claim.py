"""Claim detail: renders the claim page model (quotes, verdict, computed numbers, charts, studies, downloads)."""

import json

import streamlit as st

from evidence.curation.verdicts import certainty_badge, verdict_badge
from evidence.pages import claim as claim_pages
from evidence.pages.cells import shown_frame
from evidence.pages.paths import static_twin
from evidence.publishing import bundle, exports
from evidence.ui import common

dataset, tables = common.data()
ids = [c.id for c in dataset.claims]
shorts = {c.id: c.short for c in dataset.claims}
claim_id = common.bound_record("Claim", "claim", ids, list_page=common.PAGES["claims"], list_label="All claims",
                               format_func=shorts.get)


@st.cache_resource(show_spinner=False, max_entries=64)
def page_model(version: str, claim_id: str) -> claim_pages.ClaimPage:
    """Once per data version and claim (figures are read-only afterwards)."""
    return claim_pages.build(dataset.claim(claim_id), dataset, tables)


page = page_model(dataset.version, claim_id)
claim = page.claim

st.title(common.plain(page.title))
st.markdown(f"{verdict_badge(claim.verdict)} &nbsp; {certainty_badge(claim.certainty)} &nbsp; *topic: {claim.topic}*",
            unsafe_allow_html=True)
common.permalink_note()
st.caption(static_twin("claim", claim=claim.id))

st.header("What the pages say")
for q in page.quotes:
    who = f" ({common.plain(q.publisher)})" if q.publisher else ""
    st.markdown(f"> “{common.plain(q.text)}”\n>\n> — *{common.plain(q.title)}*{who}, {q.kind}")

st.header("Verdict")
st.markdown(f"**{claim.verdict}** — {page.verdict_rule}")
if claim.certainty:
    st.markdown(f"**Certainty of the evidence: {claim.certainty}** — {page.certainty_meaning} "
                f"(GRADE wording: “ketamine *{page.certainty_wording}* …”)")
if page.reasons:
    st.markdown("**Why:** " + " · ".join(f"`{tag}`" for tag, _ in page.reasons))
    with st.expander("What the reason tags mean"):
        for tag, text in page.reasons:
            st.markdown(f"- **{tag}**: {text}")
st.markdown(common.plain(claim.rationale))
if claim.checkable_if:
    st.info(f"**What would make it checkable:** {common.plain(claim.checkable_if)}")
st.success(f"**What the evidence supports:** {common.plain(claim.supported_wording)}")

st.header("What the evidence says (computed from the data)" if page.computed
          else "What the evidence says: the cited studies")
if page.cited_note:
    st.caption(page.cited_note)
for panel, chart in page.shown:
    st.markdown(f"**{panel.headline}**  \n{panel.basis}")
    common.chart_block(chart.figure, chart.data, caption=f"{chart.caption} Chart summary: {chart.summary}",
                       name=chart.name, dataset=dataset)
    if panel.sensitivity is not None:
        with st.expander("Does it hold in blinded RCTs only, or without high risk of bias?"):
            st.dataframe(shown_frame(panel.sensitivity), hide_index=True)
if page.syntheses is not None:
    st.header("What the meta-analyses found")
    common.chart_block(page.syntheses.figure, page.syntheses.data,
                       caption=f"{page.syntheses.caption} Chart summary: {page.syntheses.summary}",
                       name=page.syntheses.name, dataset=dataset)

st.header("Studies behind the verdict")
if page.studies.empty:
    st.info("No study is cited for this claim.")
else:
    st.dataframe(shown_frame(common.link_columns(page.studies)).drop(columns=["pmid", "doi", "nct"]),
                 hide_index=True, column_config=common.LINK_CONFIG)
for sid in page.studies["study_id"]:
    st.page_link(common.PAGES["study"], label=f"Study record: {sid}", query_params={"study": sid})

st.header("Take it away")
cited = page.cited(dataset)
st.text_area("Quote-ready paragraph", claim_pages.quote_paragraph(page, dataset, tables), height=160)
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
        st.session_state[f"bundle_{claim.id}"] = bundle.bundle(claim.id, dataset, tables, page=page)
if f"bundle_{claim.id}" in st.session_state:
    st.download_button("Download the bundle (zip)", st.session_state[f"bundle_{claim.id}"],
                       common.stamped_name(f"{claim.id}_bundle", dataset, "zip"), "application/zip",
                       on_click="ignore")

st.header("Changelog")
st.dataframe(page.changelog, hide_index=True)
common.footer(dataset)
