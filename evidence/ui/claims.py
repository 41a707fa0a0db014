"""Claims (landing page): renders the claims index model, every marketing claim as a card."""

from urllib.parse import quote

import streamlit as st

from evidence.curation.verdicts import certainty_badge, verdict_badge
from evidence.pages import index
from evidence.pages.paths import static_twin
from evidence.ui import common

dataset = common.dataset()  # the landing page needs no tables (pandas) until a download is clicked
model = index.build(dataset)
st.title("Ketamine for depression: the claims and the evidence")
st.markdown(index.INTRO)
sources = model.sources
with st.container(border=True):
    c1, c2, c3 = st.columns(3)
    with c1:
        topics = common.bound_multiselect("Topic", "topic", model.topics)
    with c2:
        verdicts = common.bound_multiselect("Verdict", "verdict", model.verdicts)
    with c3:
        pages = common.bound_multiselect("Source page", "source", list(sources), format_func=sources.get)
    query = common.bound_text("Search the claims and quotes", "q", placeholder="e.g. 24 hours, addiction, 80%")

shown = [c for c in model.cards if index.matches(c, topics, verdicts, pages, query)]
st.markdown(f"**{len(shown)} of {len(model.cards)} claims** — {index.counts(shown)}")
common.permalink_note()
st.caption(static_twin("claims"))

# One HTML block per page of cards (a few hundred separate elements made the first render slow); each card
# links to its claim page by a plain permalink.  Pages of PER_PAGE cards keep large datasets quick to show.
PER_PAGE = 40
pages = max(1, -(-len(shown) // PER_PAGE))
page = 1
if pages > 1:
    page = int(common.bound_select("Page", "page", [str(i) for i in range(1, pages + 1)],
                                   help=f"{PER_PAGE} claims per page"))
cards = []
for card in shown[(page - 1) * PER_PAGE: page * PER_PAGE]:
    cards.append(
        f'<div class="claim-card" id="{card.id}" style="border:1px solid #ddd;border-radius:8px;padding:12px 16px;'
        f'margin:10px 0"><h2 style="margin:0 0 6px 0;padding:0;font-size:1.15rem">{common.html_text(card.short)}</h2>'
        f"<div>{verdict_badge(card.verdict)} &nbsp; {certainty_badge(card.certainty)} &nbsp; "
        f"<i>{common.html_text(card.topic)}</i> · made by {card.pages} page(s)</div>"
        f'<blockquote style="margin:8px 0">“{common.html_text(card.quote)}” — '
        f"<i>{common.html_text(card.source_title)}</i></blockquote>"
        f'<a href="claim?claim={quote(card.id)}" target="_self">Open the evidence →</a></div>')
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
