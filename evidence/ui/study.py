"""Study detail: renders the study page model (the whole record, every figure with its provenance)."""

import streamlit as st

from evidence.pages import study as study_pages
from evidence.pages.cells import shown_frame
from evidence.pages.paths import static_twin
from evidence.ui import common

dataset, tables = common.data()
ids = [s.id for s in dataset.studies]
labels = {s.id: f"{s.citation.authors[0]} {s.citation.year} — {s.citation.title[:80]}" for s in dataset.studies}
study_id = common.bound_record("Study", "study", ids, list_page=common.PAGES["explorer"],
                               list_label="All studies (evidence explorer)", format_func=labels.get)
page = study_pages.build(study_id, dataset, tables)
s = page.study

st.title(common.plain(page.title))
st.markdown(f"{common.plain(page.authors)}. *{common.plain(s.citation.journal)}* {s.citation.year}.  \n"
            + " · ".join(common.md_link(label, url) for label, url in page.links))
common.permalink_note()
st.caption(static_twin("study", study=study_id))
for column, (label, value) in zip(st.columns(len(page.facts)), page.facts, strict=True):
    column.metric(label, value)
st.markdown(" · ".join(f"**{label}:** {common.plain(value)}" for label, value in page.details))  # funding: free text
if page.sample:
    st.caption(common.plain(page.sample))
if page.notes:
    st.info(common.plain(page.notes))
if page.risk_of_bias:
    st.markdown(f"**Risk of bias:** {common.plain(page.risk_of_bias)}")  # judged_by and tool: free text
    st.plotly_chart(page.rob_chart.figure, key="rob")
    st.caption(common.plain(f"{page.rob_chart.caption} Chart summary: {page.rob_chart.summary}"))
for section in page.sections:
    st.header(section.title)
    st.dataframe(shown_frame(section.rows), hide_index=True)
if page.secondary:
    st.warning(f"{page.secondary} figure(s) in this record rest on a secondary page (marked in the data with "
               "its URL); they are less certain than figures from the paper or its abstract.")
if page.claims:
    st.header("Claims that cite this study")
    for cid, short, stance in page.claims:
        st.page_link(common.PAGES["claim"], label=common.plain(f"{short} ({stance})"), query_params={"claim": cid})
st.download_button("Download this record (JSON)", page.record_json, common.stamped_name(study_id, dataset, "json"),
                   "application/json", on_click="ignore")
common.footer(dataset)
