"""Study detail: the whole record, every figure with its provenance quote and location."""

import pandas as pd
import streamlit as st

from evidence.publishing import charts
from evidence.ui import common

dataset, tables = common.data()
ids = [s.id for s in dataset.studies]
labels = {s.id: f"{s.citation.authors[0]} {s.citation.year} — {s.citation.title[:80]}" for s in dataset.studies}
study_id = common.bound_record("Study", "study", ids, list_page=common.PAGES["explorer"],
                               list_label="All studies (evidence explorer)", format_func=labels.get)
s = dataset.study(study_id)
row = tables.studies.set_index("id").loc[study_id]

st.title(s.citation.title)
authors = ", ".join(s.citation.authors)
st.markdown(f"{authors}. *{s.citation.journal}* {s.citation.year}.  \n{common.study_links(row.to_dict())}")
common.permalink_note()
c1, c2, c3, c4 = st.columns(4)
c1.metric("Design", s.design)
c2.metric("Blinding", s.blinding)
c3.metric("Participants", "—" if pd.isna(row["n_randomized"]) else f"{int(row['n_randomized']):,}")
c4.metric("Population", s.population)
st.markdown(f"**Drug:** {s.drug} · **route:** {s.route} · **comparators:** {', '.join(s.comparators) or '—'} · "
            f"**kind:** {s.kind}" + (f" · **funding:** {s.funding}" if s.funding else ""))
if s.sample:
    st.caption(f"Sample — {s.sample.source.location}: “{s.sample.source.quote}”")
if s.notes:
    st.info(s.notes)
if s.risk_of_bias:
    st.markdown(f"**Risk of bias ({s.risk_of_bias.tool}):** {s.risk_of_bias.overall}, judged by "
                f"{s.risk_of_bias.judged_by}")
    rob = tables.risk_of_bias[tables.risk_of_bias["study_id"] == study_id].assign(label=study_id)
    st.plotly_chart(charts.risk_of_bias_grid(rob, title="Risk of bias by domain"), key="rob")


def section(title: str, frame: pd.DataFrame, columns: list[str]) -> None:
    if frame.empty:
        return
    st.subheader(title)
    st.dataframe(frame[columns], hide_index=True)


section("Arms", tables.arms[tables.arms["study_id"] == study_id],
        ["arm", "label", "role", "drug", "dose", "schedule", "n_randomized", "source_location", "source_quote"])
section("Outcomes (every figure with its source quote)", tables.outcomes[tables.outcomes["study_id"] == study_id],
        ["outcome_id", "arm", "measure", "kind", "definition", "timepoint_value", "timepoint_unit", "time_from",
         "events", "total", "rate", "mean", "sd", "effect_type", "estimate", "ci_low", "ci_high", "p",
         "source_location", "source_quote"])
section("How long it lasted", tables.durability[tables.durability["study_id"] == study_id],
        ["measure", "statistic", "value", "unit", "population", "source_location", "source_quote"])
section("Adverse events", tables.adverse_events[tables.adverse_events["study_id"] == study_id],
        ["event", "timing", "arm", "events", "total", "rate", "source_location", "source_quote"])
section("Key findings", tables.findings[tables.findings["study_id"] == study_id],
        ["text", "source_location", "source_quote"])
secondary = [f for f in s.outcomes if f.source.secondary] + [d for d in s.durability if d.source.secondary]
if secondary:
    st.warning(f"{len(secondary)} figure(s) in this record rest on a secondary page (marked in the data with "
               "its URL); they are less certain than figures from the paper or its abstract.")
claims = tables.claim_evidence[tables.claim_evidence["study_id"] == study_id]
if not claims.empty:
    st.subheader("Claims that cite this study")
    for cid, stance in zip(claims["claim_id"], claims["stance"], strict=True):
        st.page_link(common.PAGES["claim"], label=f"{dataset.claim(cid).short} ({stance})",
                     query_params={"claim": cid})
record = s.model_dump_json(indent=2, exclude_none=True)
st.download_button("Download this record (JSON)", record, common.stamped_name(study_id, dataset, "json"),
                   "application/json", on_click="ignore")
common.footer(dataset)
