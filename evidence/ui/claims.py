"""Claims (landing page): every marketing claim as a card with its verdict and certainty."""

import html
from urllib.parse import quote

import streamlit as st

from evidence.curation.verdicts import VERDICTS, certainty_badge, verdict_badge
from evidence.ui import common

dataset = common.dataset()  # the landing page needs no tables (pandas) until a download is clicked
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

# One HTML block per page of cards (a few hundred separate elements made the first render slow); each card
# links to its claim page by a plain permalink.  Pages of PER_PAGE cards keep large datasets quick to show.
PER_PAGE = 40
pages = max(1, -(-len(shown) // PER_PAGE))
page = 1
if pages > 1:
    page = int(common.bound_select("Page", "page", [str(i) for i in range(1, pages + 1)],
                                   help=f"{PER_PAGE} claims per page"))
cards = []
for claim in shown[(page - 1) * PER_PAGE: page * PER_PAGE]:
    first = claim.appearances[0]
    pages_n = len({a.source for a in claim.appearances})
    cards.append(
        f'<div class="claim-card" id="{claim.id}" style="border:1px solid #ddd;border-radius:8px;padding:12px 16px;'
        f'margin:10px 0"><h4 style="margin:0 0 6px 0;padding:0">{html.escape(claim.short)}</h4>'
        f"<div>{verdict_badge(claim.verdict)} &nbsp; {certainty_badge(claim.certainty)} &nbsp; "
        f"<i>{html.escape(claim.topic)}</i> · made by {pages_n} page(s)</div>"
        f'<blockquote style="margin:8px 0;color:#555">“{html.escape(first.quote)}” — '
        f"<i>{html.escape(sources[first.source])}</i></blockquote>"
        f'<a href="claim?claim={quote(claim.id)}" target="_self">Open the evidence →</a></div>')
if cards:
    st.markdown("\n".join(cards), unsafe_allow_html=True)
if not shown:
    st.info("No claim matches these filters.")
shown_ids = [c.id for c in shown]


def shown_claims():
    claims = common.tables_for(dataset).claims
    return claims[claims["claim_id"].isin(shown_ids)]


common.download_table(shown_claims, label="These claims", name="claims", dataset=dataset)
common.footer(dataset)
