"""Evidence explorer: filter the studies; every table and chart follows the filters."""

from collections.abc import Callable

import streamlit as st

from evidence.pages import explorer as explorer_pages
from evidence.pages.paths import static_twin
from evidence.publishing import exports
from evidence.synthesis.explore import FOREST_WINDOWS, OUTCOMES, default_view, effect_view
from evidence.ui import common

dataset, tables = common.data()
st.title("Evidence explorer")
st.markdown("Every curated study, filterable. The table, the charts and the downloads all follow the filters.")
common.permalink_note()
st.caption(static_twin("explorer") + " (the standard views, on all studies)")
s = tables.studies
years = (int(s["year"].min()), int(s["year"].max()))
with st.sidebar:
    st.header("Filters")
    kinds = common.bound_multiselect("Kind of study", "kind", sorted(s["kind"].unique()))
    designs = common.bound_multiselect("Design", "design", sorted(s["design"].unique()))
    blinded = common.bound_toggle("Blinded studies only", "blinded")
    drugs = common.bound_multiselect("Drug", "drug", sorted(s["drug"].unique()))
    routes = common.bound_multiselect("Route", "route", sorted(s["route"].unique()))
    comparators = common.bound_multiselect(
        "Comparator", "comparator", sorted({c for v in s["comparator"] for c in v.split("; ") if c}))
    populations = common.bound_multiselect("Population", "population", sorted(s["population"].unique()))
    year = common.bound_range("Publication year", "year", *years) if years[0] < years[1] else years
    rob = common.bound_multiselect("Risk of bias (overall)", "rob", ["low", "some concerns", "high", "unclear",
                                                                     "not assessed"])

mask = s["year"].between(*year)
for column, chosen in (("kind", kinds), ("design", designs), ("drug", drugs), ("route", routes),
                       ("population", populations)):
    if chosen:
        mask &= s[column].isin(chosen)
if blinded:
    mask &= s["blinded"]
if comparators:
    mask &= s["comparator"].map(lambda v: any(c in v.split("; ") for c in comparators))
if rob:
    mask &= s["rob_overall"].fillna("not assessed").isin(rob)
view = tables.subset(s.loc[mask, "id"])
filtered = len(view.studies) < len(s)
st.markdown(explorer_pages.selection_summary(view.studies, len(s)))
st.dataframe(
    common.link_columns(view.studies)[["id", "first_author", "year", "kind", "design", "blinding", "drug", "route",
                                       "population", "comparator", "n_randomized", "rob_overall", "pubmed",
                                       "doi_link", "registry"]],
    hide_index=True, column_config=common.LINK_CONFIG,
)
shown = [dataset.study(i) for i in view.studies["id"]]
common.download_table(view.studies, label="These studies", name="studies", dataset=dataset)
common.download_table(view.outcomes, label="Their outcomes", name="outcomes", dataset=dataset)
d3, d4 = st.columns(2)
d3.download_button("Citations (BibTeX)", lambda: exports.bibtex(shown), common.stamped_name("studies", dataset, "bib"),
                   "application/x-bibtex", on_click="ignore")
d4.download_button("Citations (RIS)", lambda: exports.ris(shown), common.stamped_name("studies", dataset, "ris"),
                   "application/x-research-info-systems", on_click="ignore")
pick = st.selectbox("Open a study record", ["", *view.studies["id"]], key="open_study")
if pick:
    st.page_link(common.PAGES["study"], label=f"Study record: {pick} →", query_params={"study": pick})

@st.cache_resource(show_spinner=False, max_entries=4)
def _default_view(version: str, _tables) -> tuple[str, str, str]:
    return default_view(_tables)


@st.cache_resource(show_spinner=False, max_entries=64)
def _effect_view(version: str, ids: tuple[str, ...], outcome: str, window: str, control: str, method: str, _view,
                 _tables, selected: int | None):
    """One forest per data version, study selection and view (the pool is read-only once built)."""
    return effect_view(_view, outcome, FOREST_WINDOWS[window], control, method, synthesis_tables=_tables,
                       selected=selected)


def forest_view() -> None:
    default_outcome, default_window, why = _default_view(dataset.version, tables)
    if "outcome" not in st.session_state and common.param("outcome") is None and common.param("window") is None:
        st.session_state["outcome"], st.session_state["window"] = default_outcome, default_window
    c1, c2, c3, c4 = st.columns(4)
    with c1:
        outcome = common.bound_select("Outcome", "outcome", list(OUTCOMES), format_func=lambda o: OUTCOMES[o][2])
    with c2:
        window = common.bound_select("Time point", "window", list(FOREST_WINDOWS))
    with c3:
        control = common.bound_select("Control", "control", ["any", "saline", "midazolam", "active"])
    with c4:
        method = common.bound_select("Pooling method", "method", ["REML", "DL", "FE"])
    v = _effect_view(dataset.version, tuple(view.studies["id"]), outcome, window, control, method, view, tables,
                     len(view.studies) if filtered else None)
    if (outcome, window, control) == (default_outcome, default_window, "any") and not filtered:
        st.caption(f"The explorer's default view. {why}")
    if not v.summary.pooled_ok:
        st.info(f"{v.headline} No pooled estimate is drawn from fewer than two studies.")
    model = explorer_pages.forest_view(view, outcome, window, control, v)
    forest, *published = model.charts
    _show(forest)
    st.subheader("What the meta-analyses found")
    if published:
        _show(published[0], note=" Shown whatever the study filters." if filtered else "")
    else:
        against = "" if control == "any" else f" against {control} control"  # another control's may exist
        st.info(f"No published meta-analysis in the data reports {OUTCOMES[outcome][2].lower()} at {window}{against}.")


def _show(chart, note: str = "") -> None:
    """A page model's chart, as the static site shows it: the same figure, rows, caption and text summary."""
    common.chart_block(chart.figure, chart.data, name=chart.name, dataset=dataset,
                       caption=f"{chart.caption}{note} Chart summary: {chart.summary}")


def _show_view(build) -> Callable[[], None]:
    """A view of the selected studies, built by the page model the site publishes for all of them."""
    return lambda: [_show(chart) for chart in build(view).charts]


VIEWS = {
    "Forest plot": forest_view, "Response over time": _show_view(explorer_pages.over_time_view),
    "How long it lasts": _show_view(explorer_pages.durations_view),
    "Open-label vs blinded": _show_view(explorer_pages.design_view), "Harms": _show_view(explorer_pages.harms_view),
    "Risk of bias": _show_view(explorer_pages.rob_view), "Evidence map": _show_view(explorer_pages.map_view),
}
VIEWS[common.bound_choice("Chart", "chart", list(VIEWS))]()
common.footer(dataset)
