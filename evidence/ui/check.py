"""Check a text: paste or upload a clinic page; see which sentences make known claims and what the evidence says."""

import html
import json

import pandas as pd
import streamlit as st

from evidence.checking.checker import check_text, findings_to_records
from evidence.ui import common

dataset, tables = common.data()
st.title("Check a text")
st.markdown("Paste a clinic page (or upload its saved .html or .txt). Each sentence is matched against the curated "
            "claims; numbers are normalised and set against the evidence computed from the data.")
upload = st.file_uploader("Upload a saved page", type=["txt", "html", "htm"])
text = st.text_area("…or paste the text here", height=200, key="check_text")
is_html = None
if upload is not None:
    text = upload.getvalue().decode("utf-8", errors="replace")
    is_html = upload.name.lower().endswith((".html", ".htm"))
if not text.strip():
    st.info("Nothing to check yet.")
    common.footer(dataset)
    st.stop()

findings = check_text(text, dataset, tables, html=is_html)
records = findings_to_records(findings)
flagged = [f for f in findings if f.claim_id or f.quantities]
st.markdown(f"**{len(flagged)} flagged sentence(s)** out of {len(findings)}.")

parts = []
for f in findings:
    sentence = html.escape(f.sentence)
    if f.claim_id or f.quantities:
        colour = "#FFE8A3" if f.claim_id else "#D6ECFF"
        sentence = f'<mark style="background:{colour}">{sentence}</mark>'
    parts.append(sentence)
with st.expander("The text, flagged sentences highlighted (yellow: known claim; blue: a number to check)",
                 expanded=True):
    st.markdown("<div style='line-height:1.7'>" + " ".join(parts) + "</div>", unsafe_allow_html=True)

st.subheader("Findings")
for f in flagged:
    with st.container(border=True):
        st.markdown(f"> {f.sentence}")
        meta = [f"topic: *{f.topic}*"] if f.topic else []
        if f.quantities:
            meta.append("numbers: " + "; ".join(
                f"{q['kind']} {q['low']:g}{'' if q['high'] in (None, q['low']) else '–' + format(q['high'], 'g')} "
                f"{q['unit']} ({q['framing']})" for q in f.quantities))
        st.markdown(" · ".join(meta))
        if f.verdict:
            st.markdown(f"**Suggested verdict: {f.verdict}**" + (f" — rule: {f.rule}" if f.rule else ""))
        if f.evidence:
            st.caption(f.evidence if isinstance(f.evidence, str) else json.dumps(f.evidence, default=str))
        if f.claim_id:
            st.page_link(common.PAGES["claim"], label=f"Curated claim: {dataset.claim(f.claim_id).short} "
                         f"(similarity {f.similarity:.0f})", query_params={"claim": f.claim_id})
frame = pd.DataFrame(records)
c1, c2 = st.columns(2)
c1.download_button("Download findings (CSV)", frame.to_csv(index=False).encode(),
                   common.stamped_name("findings", dataset), "text/csv", on_click="ignore")
c2.download_button("Download findings (JSON)", json.dumps(records, indent=2, default=str),
                   common.stamped_name("findings", dataset, "json"), "application/json", on_click="ignore")
common.footer(dataset)
