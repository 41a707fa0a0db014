"""Ketamine for depression: marketing claims against the evidence. A thin router; pages live in evidence/ui/."""

import streamlit as st

st.set_page_config(page_title="Ketamine claims vs evidence", page_icon="⚖️", layout="wide")
st.navigation([
    st.Page("evidence/ui/claims.py", title="Claims", icon="📣", url_path="claims", default=True),
    st.Page("evidence/ui/claim.py", title="Claim detail", icon="🔎", url_path="claim"),
    st.Page("evidence/ui/explorer.py", title="Evidence explorer", icon="📊", url_path="explorer"),
    st.Page("evidence/ui/study.py", title="Study detail", icon="📄", url_path="study"),
    st.Page("evidence/ui/check.py", title="Check a text", icon="📝", url_path="check"),
    st.Page("evidence/ui/methods.py", title="Methods and data", icon="📚", url_path="methods"),
]).run()
