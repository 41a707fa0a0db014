"""Check a text: paste, upload or fetch a clinic page; see which sentences make known claims and what the evidence
says.  Pasted text is shown as text (escaped, never Markdown); only the first ``MAX_SHOWN`` sentences are
highlighted and tabled on screen, the downloads hold every finding."""

import html
import json
from pathlib import Path

import streamlit as st

from evidence.checking.accuracy import match_labels_text
from evidence.checking.checker import check_text, findings_to_records, warm_index
from evidence.checking.decoding import MAX_PAGE_BYTES, NotTextError, decode_page
from evidence.checking.fetch import FetchError, fetch_page
from evidence.checking.sentences import extract_text, looks_like_html, main_text, split_sentences
from evidence.checking.table import findings_csv, findings_table
from evidence.curation.verdicts import VERDICTS, verdict_badge
from evidence.ui import common

MAX_SHOWN = 300
EXAMPLE = Path(__file__).resolve().parent.parent / "checking" / "example_page.txt"


# the measured precision of each match label, read from the results file once, not on every rerun
_match_labels = st.cache_data(show_spinner=False, ttl=3600)(match_labels_text)


@st.cache_data(show_spinner=False, max_entries=16, ttl=3600)
def _fetch(url: str) -> tuple[str | None, str | None, str]:
    """(main text, error, final URL) for a URL, cached for an hour."""
    try:
        page = fetch_page(url)
    except FetchError as exc:
        return None, str(exc), url
    return (main_text(page.text) if page.is_html else page.text), None, page.url


dataset, tables = common.data()
warm_index(dataset)  # the matcher's classifier is fitted while the reader pastes
st.title("Check a text")
st.markdown("Paste a clinic page, upload its saved .html or .txt, or give its address. Each sentence is matched "
            "against the curated claims; numbers are normalised and set against the evidence computed from the "
            "data, like for like.")
url = common.bound_text("…or check a page by its address (http or https)", "url", what="page address",
                        placeholder="https://clinic.example/ketamine-for-depression")
upload = st.file_uploader("Upload a saved page", type=["txt", "html", "htm"])
if st.button("Try an example page"):
    st.session_state["check_text"] = EXAMPLE.read_text(encoding="utf-8")
text = st.text_area("…or paste the text here", height=200, key="check_text")
is_html = None
source = "pasted text"
if upload is not None:
    raw = upload.getvalue()
    try:
        if not raw.strip():
            raise NotTextError("the file is empty")
        if len(raw) > MAX_PAGE_BYTES:
            raise NotTextError(f"the file is {len(raw) / 2**20:.1f} MiB; the limit is {MAX_PAGE_BYTES // 2**20} MiB")
        text = decode_page(raw)
    except NotTextError as exc:
        st.error(f"{common.quoted(upload.name, 200)}: {common.plain(str(exc))}")
        common.footer(dataset)
        st.stop()
    is_html = upload.name.lower().endswith((".html", ".htm"))
    source = upload.name
elif url.strip():
    with st.spinner("Fetching the page…"):
        fetched, error, final = _fetch(url.strip())
    if error:
        st.error(common.plain(error))
        common.footer(dataset)
        st.stop()
    text, is_html, source = fetched or "", False, final
    st.caption(f"Checked the main text of {common.plain(final)}. " + "Permalink: this page's address holds the URL.")
    if not text.strip():  # an empty page, or one of scripts only: not "nothing to check yet"
        st.info(f"No readable text in {common.plain(final)}: the page has no main text to check.")
        common.footer(dataset)
        st.stop()
if len(text.encode("utf-8", errors="replace")) > MAX_PAGE_BYTES:
    st.error(f"The pasted text is larger than {MAX_PAGE_BYTES // 2**20} MiB, the limit; check a shorter part of it.")
    common.footer(dataset)
    st.stop()
if not text.strip():
    st.info("Nothing to check yet.")
    common.footer(dataset)
    st.stop()

# The text with flagged sentences highlighted is built from the same text the checker reads.
base = extract_text(text) if is_html or (is_html is None and looks_like_html(text)) else text
if not base.strip():
    st.info(f"No readable text in {common.plain(source)}: only markup, scripts or styles.")
    common.footer(dataset)
    st.stop()
with st.spinner("Checking…"):
    findings = check_text(text, dataset, tables, html=is_html)
claims = {c.id: c for c in dataset.claims}
flagged = [f for f in findings if f.claim_id or f.verdict]
st.markdown(f"**{len(flagged)} flagged sentence(s)** (a known claim or a number with a verdict) out of "
            f"{len(findings)} sentence(s) with something checkable.")

# The text with flagged sentences highlighted: escaped text in an HTML block (no Markdown, no remote images).
if base.strip():
    sentences = split_sentences(base)
    marks = {(f.start, f.end): f for f in findings}
    parts = []
    for s in sentences[:MAX_SHOWN]:
        f = marks.get((s.start, s.end))
        piece = html.escape(s.text)
        if f is not None and (f.claim_id or f.verdict):
            colour = "#FFE8A3" if f.claim_id else "#D6ECFF"
            piece = f'<mark style="background:{colour}">{piece}</mark>'
        parts.append(piece)
    with st.expander("The text, flagged sentences highlighted (yellow: a known claim; blue: a number with a verdict)",
                     expanded=len(sentences) <= 60):
        if len(sentences) > MAX_SHOWN:
            st.caption(f"Showing the first {MAX_SHOWN} of {len(sentences)} sentences; the downloads hold every "
                       "finding.")
        st.html("<div style='line-height:1.7'>" + " ".join(parts) + "</div>")

st.subheader("Findings")
rows = findings_table(findings, claims)
if labels := _match_labels():
    st.caption(labels)
if len(rows) > MAX_SHOWN:
    st.caption(f"Showing the first {MAX_SHOWN} of {len(rows)} findings; the downloads hold them all.")


def _cell(value: str) -> str:
    return html.escape(value or "")


head = "".join(f"<th style='text-align:left;padding:4px'>{c}</th>" for c in
               ("sentence", "topics", "matched claim", "match", "verdict", "evidence", "why it matched"))
body = []
for r in rows[:MAX_SHOWN]:
    badge = verdict_badge(r["verdict"]) if r["verdict"] in VERDICTS else _cell(r["verdict"])
    cells = (_cell(r["sentence"]), _cell(r["topics"]), _cell(r["claim"]), _cell(r["match"]), badge,
             _cell(r["evidence"]), _cell(r["why"]))
    body.append("<tr>" + "".join(f"<td style='vertical-align:top;padding:4px;border-top:1px solid #ddd'>{v}</td>"
                                 for v in cells) + "</tr>")
st.html(f"<table style='border-collapse:collapse;font-size:0.9em'><tr>{head}</tr>{''.join(body)}</table>")

# every curated claim a sentence matches, the further ones too (a sentence can make two claims)
matched = list(dict.fromkeys(cid for f in findings for cid in (f.claim_id, *(o["claim_id"] for o in f.other_claims
                                                                               or [])) if cid))
if matched:
    st.markdown("**Curated claims found** (open one for its quotes, studies and verdict):")
    for cid in matched[:50]:
        st.page_link(common.PAGES["claim"], label=f"Curated claim: {claims[cid].short} ({claims[cid].verdict})",
                     query_params={"claim": cid})

records = findings_to_records(findings)
c1, c2 = st.columns(2)
c1.download_button("Download the findings table (CSV)", findings_csv(rows, dataset),
                   common.stamped_name("findings", dataset), "text/csv", on_click="ignore")
c2.download_button("Download every finding with its evidence (JSON)",
                   json.dumps({"source": source, "findings": records}, indent=2, default=str),
                   common.stamped_name("findings", dataset, "json"), "application/json", on_click="ignore")
common.footer(dataset)
