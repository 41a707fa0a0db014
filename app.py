"""Ketamine for depression: marketing claims against the evidence. A thin router; pages live in evidence/ui/."""

import streamlit as st

st.set_page_config(page_title="Ketamine claims vs evidence", page_icon=":material/balance:", layout="wide")
st.navigation([
    st.Page("evidence/ui/claims.py", title="Claims", icon=":material/campaign:", url_path="claims", default=True),
    st.Page("evidence/ui/claim.py", title="Claim detail", icon=":material/fact_check:", url_path="claim"),
    st.Page("evidence/ui/explorer.py", title="Evidence explorer", icon=":material/bar_chart:", url_path="explorer"),
    st.Page("evidence/ui/study.py", title="Study detail", icon=":material/article:", url_path="study"),
    st.Page("evidence/ui/check.py", title="Check a text", icon=":material/edit_note:", url_path="check"),
    st.Page("evidence/ui/methods.py", title="Methods and data", icon=":material/menu_book:", url_path="methods"),
]).run()
