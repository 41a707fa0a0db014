"""Ketamine for depression: marketing claims against the evidence. A thin router; pages live in evidence/ui/."""

import streamlit as st

st.set_page_config(page_title="Ketamine claims vs evidence", layout="wide")
st.navigation([
    st.Page("evidence/ui/claims.py", title="Claims", url_path="claims", default=True),
    st.Page("evidence/ui/claim.py", title="Claim detail", url_path="claim"),
    st.Page("evidence/ui/explorer.py", title="Evidence explorer", url_path="explorer"),
    st.Page("evidence/ui/study.py", title="Study detail", url_path="study"),
    st.Page("evidence/ui/check.py", title="Check a text", url_path="check"),
    st.Page("evidence/ui/methods.py", title="Methods and data", url_path="methods"),
]).run()
