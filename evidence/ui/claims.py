"""Claims (landing page): every marketing claim as a card with its verdict and certainty."""

import streamlit as st

from evidence.ui import common
from evidence.verdicts import VERDICTS, certainty_badge, verdict_badge

dataset, tables = common.data()
st.title("Ketamine for depression: the claims and the evidence")
st.markdown(
    "Clinic and health-blog pages make specific promises about ketamine therapy. Each claim below is quoted "
    "verbatim from its page and set against the published trials: a **verdict** on the claim and, separately, "
    "the **certainty** of the evidence behind it (GRADE). Open a claim for the numbers, the chart and the studies."
)
sources = {s.id: s.title for s in dataset.sources}
with st.container(border=True):
    c1, c2, c3 = st.columns(3)
    with c1:
        topics = common.bound_multiselect("Topic", "topic", sorted({c.topic for c in dataset.claims}))
    with c2:
        verdicts = common.bound_multiselect("Verdict", "verdict", [v for v in VERDICTS
                                                                    if any(c.verdict == v for c in dataset.claims)])
    with c3:
        pages = common.bound_multiselect("Source page", "source", list(sources), format_func=sources.get)
    query = common.bound_text("Search the claims and quotes", "q", placeholder="e.g. 24 hours, addiction, 80%")

shown = [
    c for c in dataset.claims
    if (not topics or c.topic in topics) and (not verdicts or c.verdict in verdicts)
    and (not pages or any(a.source in pages for a in c.appearances))
    and (not query or query.lower() in (c.short + " " + " ".join(a.quote for a in c.appearances)).lower())
]
counts = " · ".join(f"{v}: {sum(c.verdict == v for c in shown)}" for v in VERDICTS
                    if any(c.verdict == v for c in shown))
st.markdown(f"**{len(shown)} of {len(dataset.claims)} claims** — {counts}")
common.permalink_note()

for claim in shown:
    with st.container(border=True):
        left, right = st.columns([4, 1])
        left.markdown(f"#### {claim.short}")
        left.markdown(f"{verdict_badge(claim.verdict)} &nbsp; {certainty_badge(claim.certainty)} &nbsp; "
                      f"*{claim.topic}* · made by {len({a.source for a in claim.appearances})} page(s)",
                      unsafe_allow_html=True)
        left.markdown(f"> “{claim.appearances[0].quote}” — *{sources[claim.appearances[0].source]}*")
        right.page_link(common.PAGES["claim"], label="Open the evidence →", query_params={"claim": claim.id})
if not shown:
    st.info("No claim matches these filters.")
common.download_table(tables.claims[tables.claims["claim_id"].isin([c.id for c in shown])],
                      label="These claims", name="claims", dataset=dataset)
common.footer(dataset)
