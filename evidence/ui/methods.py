"""Methods and data: renders the Methods page model (evidence.pages.methods), the same one the static site does."""

import streamlit as st

from evidence.curation.verdicts import verdict_badge
from evidence.pages import methods as methods_page
from evidence.pages.paths import static_twin
from evidence.ui import common

dataset = common.dataset()
st.title("Methods and data")
st.caption(static_twin("methods"))


page = methods_page.build(dataset)  # cheap; GAPS.md and CHANGELOG.md are outside the data version, so not cached
st.markdown(page.summary)
st.header("Verdicts")
st.markdown("Each claim gets a verdict on the claim and, separately, the certainty of the evidence. The rules:")
for label, rule, rating in page.verdicts:
    st.markdown(f"{verdict_badge(label)} {rule} *({rating})*", unsafe_allow_html=True)
st.header("Certainty of the evidence (GRADE)")
for level, meaning, wording in page.certainty:
    st.markdown(f"- **{level}** — {meaning} Quote as: “ketamine *{wording}* …”")
with st.expander("Reason tags"):
    for tag, text in page.reason_tags:
        st.markdown(f"- **{tag}**: {text}")
for heading, text in page.sections:
    st.header(heading)
    st.markdown(text)
st.header("Verdict changelog")
st.markdown("Every verdict with the date it was set and why; a changed verdict keeps its earlier entries.")
st.dataframe([{k: v for k, v in row.items() if k != "claim_id"} for row in page.changelog], hide_index=True)
for title, text, problem in page.documents:
    with st.expander(title):
        if problem:
            st.caption(problem)
        else:
            common.markdown_document(text)
st.header("Licence and how to cite")
st.markdown(page.citation)
common.footer(dataset)
