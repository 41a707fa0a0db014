"""Plotly figure builders: a DataFrame in, a figure out; no Streamlit, no I/O.

Every builder that sets a claim against the evidence takes the claim's own number
(``claimed``) and draws it on the same axis as the study estimates, so the gap
between the marketing figure and the data is visible at a glance.  Colours are
Okabe–Ito (colour-blind safe); marker shapes repeat the colour information.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

ARM_COLOURS = {
    "ketamine": "#0072B2", "esketamine": "#009E73", "saline/inert placebo": "#999999",
    "midazolam": "#E69F00", "other active control": "#CC79A7", "other": "#000000",
}
ARM_SYMBOLS = {
    "ketamine": "circle", "esketamine": "diamond", "saline/inert placebo": "square",
    "midazolam": "triangle-up", "other active control": "x", "other": "cross",
}
KETAMINES = {"racemic ketamine", "arketamine", "ketamine (mixed forms)"}
PLACEBOS = {"placebo (saline)", "placebo (intranasal)", "placebo (oral)"}
CLAIM_COLOUR = "#D55E00"
FONT = {"family": "Source Sans Pro, Arial, sans-serif", "size": 13}


def arm_group(drug: str | None) -> str:
    """Collapse an arm's drug into the groups the charts colour by."""
    if drug in KETAMINES:
        return "ketamine"
    if drug == "esketamine":
        return "esketamine"
    if drug in PLACEBOS:
        return "saline/inert placebo"
    if drug == "midazolam":
        return "midazolam"
    if drug in {"electroconvulsive therapy", "quetiapine", "oral antidepressant", "standard care"}:
        return "other active control"
    return "other"


AXIS = {"gridcolor": "#EBEBEB", "zeroline": False, "linecolor": "#BBBBBB", "automargin": True}


def _layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    # Styles set directly: assigning a named template ("plotly_white") costs ~25 ms per figure.
    fig.update_layout(
        title={"text": title, "x": 0, "font": {"size": 16}}, font=FONT, height=height,
        margin={"l": 10, "r": 10, "t": 90, "b": 40}, plot_bgcolor="white", paper_bgcolor="white",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
    )
    fig.update_xaxes(**AXIS)
    fig.update_yaxes(**AXIS)
    return fig


def empty(title: str, message: str = "No data match the current filters.") -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title, height=220)


SOURCE_MARKS = {"counts": "", "reported": " (reported effect)", "derived": " (derived †)"}


def _forest_labels(rows: pd.DataFrame) -> list[str]:
    """Study labels, marked with where the effect came from (a dagger for a value derived by an exact rule)."""
    labels = [str(x) for x in rows["label"]]
    if "effect_source" in rows:
        labels = [lab + SOURCE_MARKS.get(src, "") for lab, src in zip(labels, rows["effect_source"], strict=True)]
    return labels


def forest(effects: pd.DataFrame, pooled: dict | None, *, measure: str, title: str, log: bool = True,
           null: float | None = None, rob: pd.DataFrame | None = None,
           empty_note: str = "No study has an effect for this view.") -> go.Figure:
    """Forest plot. ``effects``: label, estimate, ci_low, ci_high (ratio scale if log), optionally effect_source
    (marked on the label), derived_rule and rob_overall; ``pooled``: estimate, ci_low, ci_high, label (and optional
    pi_low, pi_high, k).  No diamond is drawn for fewer than two studies, whatever the caller passes.

    With a ``rob_overall`` column, a risk-of-bias column is drawn beside each study row: the overall judgement,
    and the domains where ``rob`` (label, domain, judgement) records them.  ``empty_note``: what an empty figure
    says (the view knows whether filters or the data left it empty)."""
    if effects.empty:
        return empty(title, empty_note)
    rows = effects.iloc[::-1].reset_index(drop=True)
    labels = _forest_labels(rows)
    if pooled and (pooled.get("k", len(effects)) < 2 or len(effects) < 2):
        pooled = None
    with_rob = "rob_overall" in rows
    if with_rob:
        from plotly.subplots import make_subplots

        domains = rob["domain"].nunique() if rob is not None and not rob.empty else 1
        share = min(0.42, 0.1 + 0.035 * domains)
        fig = make_subplots(rows=1, cols=2, shared_yaxes=True, column_widths=[1 - share, share],
                            horizontal_spacing=0.02)
    else:
        fig = go.Figure()
    place = {"row": 1, "col": 1} if with_rob else {}
    hover = "%{y}: %{x:.2f} (%{customdata[0]:.2f} to %{customdata[1]:.2f})"
    if "derived_rule" in rows:
        hover += "<br>%{customdata[2]}"
    rules = rows["derived_rule"].fillna("").map(lambda r: f"derived by rule: {r}" if r else "") if (
        "derived_rule" in rows) else pd.Series([""] * len(rows))
    fig.add_trace(go.Scatter(
        x=rows["estimate"], y=labels, mode="markers", name="study estimate",
        marker={"symbol": "square", "size": 10, "color": "#0072B2"},
        error_x={"type": "data", "symmetric": False, "array": rows["ci_high"] - rows["estimate"],
                 "arrayminus": rows["estimate"] - rows["ci_low"], "color": "#0072B2"},
        customdata=list(zip(rows["ci_low"], rows["ci_high"], rules, strict=True)),
        hovertemplate=hover + "<extra></extra>",
    ), **place)
    order = labels
    if pooled and not math.isnan(pooled.get("estimate", math.nan)):
        label = pooled.get("label", "Pooled")
        order = [label, *labels]
        fig.add_trace(go.Scatter(
            x=[pooled["estimate"]], y=[label], mode="markers", name=label,
            marker={"symbol": "diamond-wide", "size": 18, "color": "#000000"},
            error_x={"type": "data", "symmetric": False, "array": [pooled["ci_high"] - pooled["estimate"]],
                     "arrayminus": [pooled["estimate"] - pooled["ci_low"]], "color": "#000000"},
        ), **place)
        if pooled.get("pi_low") is not None and not math.isnan(pooled["pi_low"]):
            fig.add_trace(go.Scatter(
                x=[pooled["pi_low"], pooled["pi_high"]], y=[label, label], mode="lines",
                name="95% prediction interval", line={"color": "#000000", "dash": "dot"},
            ), **place)
    if null is None:
        null = 1.0 if log else 0.0
    fig.add_vline(x=null, line={"color": "#666666", "dash": "dash"}, **place)
    fig.update_xaxes(type="log" if log else "linear", title=measure, **place)
    if log:
        fig.update_xaxes(tickvals=[0.01, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500], **place)
    fig.update_yaxes(categoryorder="array", categoryarray=order)
    if with_rob:
        _rob_column(fig, rows, labels, rob)
    return _layout(fig, title, height=max(300, 170 + 34 * (len(rows) + (2 if pooled else 0))))


def _rob_column(fig: go.Figure, rows: pd.DataFrame, labels: list[str], rob: pd.DataFrame | None) -> None:
    """Risk of bias beside the forest: one cell per study and domain (overall last), lettered and coloured.
    Domains are abbreviated on the axis (their initials) and named in full on hover."""
    cells = []
    by_label = dict(zip(rows["label"], labels, strict=True))
    if rob is not None and not rob.empty:
        for r in rob.itertuples():
            if r.label in by_label and r.domain != "overall":
                cells.append((by_label[r.label], str(r.domain), r.judgement))
    for label, judgement in zip(labels, rows["rob_overall"], strict=True):
        cells.append((label, "overall", judgement if isinstance(judgement, str) else "not assessed"))
    frame = pd.DataFrame(cells, columns=["y", "domain", "judgement"])
    domains = [*dict.fromkeys(d for d in frame["domain"] if d != "overall"), "overall"]
    short = _domain_abbreviations(domains)
    frame["x"] = frame["domain"].map(short)
    for judgement, colour in {**ROB_COLOURS, "not assessed": "#FFFFFF"}.items():
        part = frame[frame["judgement"] == judgement]
        if part.empty:
            continue
        fig.add_trace(go.Scatter(
            x=part["x"], y=part["y"], mode="markers+text", name=f"risk of bias: {judgement}",
            marker={"symbol": "square", "size": 20, "color": colour, "line": {"color": "#333333", "width": 1}},
            text=["–" if judgement == "not assessed" else judgement[0].upper() for _ in range(len(part))],
            textfont={"color": "#000000", "size": 11}, showlegend=False, customdata=part[["domain"]],
            hovertemplate="%{y}<br>%{customdata[0]}: " + judgement + "<extra></extra>",
        ), row=1, col=2)
    fig.update_xaxes(categoryorder="array", categoryarray=[short[d] for d in domains], tickangle=0, row=1, col=2,
                     title="risk of bias", title_font={"size": 11}, showgrid=False)


def _domain_abbreviations(domains: list[str]) -> dict[str, str]:
    """"random sequence generation" -> "RSG"; "overall" stays; clashes get a number."""
    out: dict[str, str] = {}
    for d in domains:
        if d == "overall":
            out[d] = "overall"
            continue
        words = [w for w in d.replace("-", " ").replace("(", " ").split() if w[0].isalnum()]
        base = "".join(w[0] for w in words if w.lower() not in ("of", "and", "the", "in", "to"))[:4].upper() or d[:3]
        name, i = base, 2
        while name in out.values():
            name, i = f"{base}{i}", i + 1
        out[d] = name
    return out


def _wrap_short(domain: str) -> str:
    return "<br>".join(_wrap(str(domain), 14))


def rates_against_claim(rates: pd.DataFrame, *, claimed: float | None, claim_label: str, title: str,
                        pooled: dict | None = None) -> go.Figure:
    """Arm response rates (0..1) with Wilson CIs, the claimed share drawn as a line over them.
    ``rates``: label, rate, ci_low, ci_high, group."""
    if rates.empty:
        return empty(title)
    fig = go.Figure()
    for group, part in rates.groupby("group", sort=False):
        fig.add_trace(go.Scatter(
            x=part["label"], y=part["rate"] * 100, mode="markers", name=group,
            marker={"size": 10, "color": ARM_COLOURS.get(group, "#000000"),
                    "symbol": ARM_SYMBOLS.get(group, "circle")},
            error_y={"type": "data", "symmetric": False, "array": (part["ci_high"] - part["rate"]) * 100,
                     "arrayminus": (part["rate"] - part["ci_low"]) * 100},
            hovertemplate="%{x}: %{y:.0f}%<extra>" + str(group) + "</extra>",
        ))
    if pooled and not math.isnan(pooled.get("estimate", math.nan)):
        fig.add_hrect(y0=pooled["ci_low"] * 100, y1=pooled["ci_high"] * 100, fillcolor="#0072B2", opacity=0.12,
                      line_width=0, annotation_text=pooled.get("label", "pooled 95% CI"),
                      annotation_position="bottom left")
    if claimed is not None:
        fig.add_hline(y=claimed, line={"color": CLAIM_COLOUR, "width": 3, "dash": "dash"},
                      annotation_text=claim_label, annotation_position="top left",
                      annotation_font_color=CLAIM_COLOUR)
    fig.update_yaxes(title="responders (%)", range=[0, 105])
    fig.update_xaxes(title=None, tickangle=-35)
    return _layout(fig, title, height=460)


def response_over_time(points: pd.DataFrame, *, claimed_hours: float | None = None, claim_label: str = "",
                       title: str) -> go.Figure:
    """Response rate against hours since the dose, one line per study arm.
    ``points``: study_id, arm, group, schedule, timepoint_hours, rate (0..1)."""
    if points.empty:
        return empty(title)
    fig = go.Figure()
    # One trace per arm group, each study arm a line segment separated by a gap (None): a trace per arm
    # made thousands of traces on a large dataset, slow to build and to send to the browser.
    ordered = points.sort_values(["group", "study_id", "arm", "timepoint_hours"])
    for group, part in ordered.groupby("group", sort=False):
        xs: list = []
        ys: list = []
        labels: list = []
        for (study, arm), arm_rows in part.groupby(["study_id", "arm"], sort=False):
            xs += [*arm_rows["timepoint_hours"], None]
            ys += [*(arm_rows["rate"] * 100), None]
            labels += [f"{study} ({arm})"] * len(arm_rows) + [None]
        fig.add_trace(go.Scatter(
            x=xs, y=ys, text=labels, mode="lines+markers", name=group, connectgaps=False,
            line={"color": ARM_COLOURS.get(group, "#000000"), "width": 1.5},
            marker={"symbol": ARM_SYMBOLS.get(group, "circle"), "size": 8},
            hovertemplate="%{text}<br>%{x:.0f} h: %{y:.0f}%<extra></extra>",
        ))
    if claimed_hours:
        # On a log axis plotly places a vline's own annotation at 10**x, so the label is added separately
        # in log units (annotations on log axes take log10 positions).
        fig.add_vline(x=claimed_hours, line={"color": CLAIM_COLOUR, "width": 3, "dash": "dash"})
        fig.add_annotation(x=math.log10(claimed_hours), y=1.02, yref="paper", text=claim_label, showarrow=False,
                           font={"color": CLAIM_COLOUR}, xanchor="left")
    ticks = [1, 4, 24, 72, 168, 336, 672, 1344, 4380]
    fig.update_xaxes(type="log", title="time since the dose", tickvals=ticks,
                     ticktext=["1 h", "4 h", "24 h", "3 d", "1 wk", "2 wk", "4 wk", "8 wk", "6 mo"])
    fig.update_yaxes(title="responders (%)", range=[0, 105])
    return _layout(fig, title, height=460)


def durations(items: pd.DataFrame, *, claimed_days: float | None = None, claim_label: str = "",
              title: str) -> go.Figure:
    """How long the effect lasted, per study and measure, with the claimed duration as a line.
    ``items``: label, days, measure, population."""
    if items.empty:
        return empty(title)
    colours = {"time_to_relapse": "#0072B2", "last_difference_from_control": "#E69F00",
               "duration_of_response": "#009E73", "still_responding": "#CC79A7", "relapse_rate": "#999999"}
    fig = go.Figure()
    for measure, part in items.groupby("measure", sort=False):
        fig.add_trace(go.Scatter(
            x=part["days"], y=part["label"], mode="markers", name=measure.replace("_", " "),
            marker={"size": 11, "color": colours.get(measure, "#000000")},
            customdata=part[["population"]], hovertemplate="%{y}: %{x:.0f} days<br>%{customdata[0]}<extra></extra>",
        ))
    if claimed_days:
        fig.add_vline(x=claimed_days, line={"color": CLAIM_COLOUR, "width": 3, "dash": "dash"},
                      annotation_text=claim_label, annotation_font_color=CLAIM_COLOUR)
    fig.update_xaxes(title="days", rangemode="tozero")
    return _layout(fig, title, height=max(300, 60 + 30 * items["label"].nunique()))


def design_comparison(rates: pd.DataFrame, *, claimed: float | None = None, title: str) -> go.Figure:
    """Response in open-label ketamine arms vs blinded ketamine arms vs blinded control arms.
    ``rates``: setting, rate (0..1), label."""
    if rates.empty:
        return empty(title)
    fig = go.Figure()
    for setting, part in rates.groupby("setting", sort=False):
        fig.add_trace(go.Box(
            y=part["rate"] * 100, name=setting, boxpoints="all", jitter=0.4, pointpos=0,
            text=part["label"], hovertemplate="%{text}: %{y:.0f}%<extra></extra>",
            marker={"color": "#0072B2" if "ketamine" in setting else "#999999"},
        ))
    if claimed is not None:
        fig.add_hline(y=claimed, line={"color": CLAIM_COLOUR, "width": 3, "dash": "dash"},
                      annotation_text=f"claimed {claimed:g}%", annotation_font_color=CLAIM_COLOUR)
    fig.update_yaxes(title="responders (%)", range=[0, 105])
    fig.update_layout(showlegend=False)
    return _layout(fig, title)


def harms(rates: pd.DataFrame, *, title: str) -> go.Figure:
    """Adverse-event rates by event and arm group. ``rates``: event, group, rate (0..1), label."""
    if rates.empty:
        return empty(title)
    fig = go.Figure()
    for group, part in rates.groupby("group", sort=False):
        fig.add_trace(go.Scatter(
            x=part["rate"] * 100, y=part["event"], mode="markers", name=group,
            marker={"size": 10, "color": ARM_COLOURS.get(group, "#000000"),
                    "symbol": ARM_SYMBOLS.get(group, "circle")},
            text=part["label"], hovertemplate="%{text}: %{x:.0f}%<extra></extra>",
        ))
    fig.update_xaxes(title="participants with the event (%)", range=[0, 100])
    return _layout(fig, title, height=max(300, 60 + 26 * rates["event"].nunique()))


def evidence_map(studies: pd.DataFrame, *, title: str) -> go.Figure:
    """Population × design, bubbles sized by participants. ``studies``: the studies table."""
    if studies.empty:
        return empty(title)
    grid = (studies.assign(n=studies["n_randomized"].fillna(0).astype(float))
            .groupby(["population", "design"], as_index=False)
            .agg(studies=("id", "count"), participants=("n", "sum")))
    size = grid["participants"].clip(lower=1) ** 0.5
    fig = go.Figure(go.Scatter(
        x=grid["design"], y=grid["population"], mode="markers+text", text=grid["studies"],
        marker={"size": 10 + 40 * size / max(size.max(), 1), "color": "#56B4E9", "line": {"color": "#0072B2"}},
        customdata=grid[["participants"]],
        hovertemplate="%{y} · %{x}<br>%{text} studies, %{customdata[0]:.0f} participants<extra></extra>",
    ))
    fig.update_xaxes(tickangle=-30)
    return _layout(fig, title, height=460)


def studies_over_time(studies: pd.DataFrame, *, title: str) -> go.Figure:
    """Studies per publication year, stacked by kind. ``studies``: the studies table."""
    if studies.empty:
        return empty(title)
    counts = studies.groupby(["year", "kind"], as_index=False).size()
    fig = go.Figure()
    palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]
    for i, (kind, part) in enumerate(counts.groupby("kind")):
        fig.add_trace(go.Bar(x=part["year"], y=part["size"], name=kind, marker_color=palette[i % len(palette)]))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title="studies")
    return _layout(fig, title, height=340)


ROB_COLOURS = {"low": "#009E73", "some concerns": "#F0E442", "unclear": "#BBBBBB", "high": "#D55E00"}


def risk_of_bias_grid(rob: pd.DataFrame, *, title: str) -> go.Figure:
    """Traffic-light grid: studies × domains, coloured by judgement and labelled (colour is not the only cue).
    ``rob``: study label, domain, judgement."""
    if rob.empty:
        return empty(title, "No risk-of-bias judgements for these studies yet.")
    domains = [*dict.fromkeys(d for d in rob["domain"] if d != "overall"), "overall"]
    studies = list(dict.fromkeys(rob["label"]))
    fig = go.Figure()
    for judgement, colour in ROB_COLOURS.items():
        part = rob[rob["judgement"].eq(judgement)]
        if part.empty:
            continue
        fig.add_trace(go.Scatter(
            x=part["domain"], y=part["label"], mode="markers+text", name=judgement,
            marker={"symbol": "square", "size": 26, "color": colour, "line": {"color": "#333333", "width": 1}},
            text=[j[0].upper() for j in part["judgement"]], textfont={"color": "#000000"},
            hovertemplate="%{y}<br>%{x}: " + judgement + "<extra></extra>",
        ))
    wrapped = {d: "<br>".join(_wrap(d, 16)) for d in domains}
    fig.update_xaxes(categoryorder="array", categoryarray=domains, tickvals=domains,
                     ticktext=[wrapped[d] for d in domains], tickangle=0)
    fig.update_yaxes(categoryorder="array", categoryarray=studies[::-1])
    return _layout(fig, title, height=260 + 45 * len(studies))


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


# --------------------------------------------------------------------------- the syntheses layer

SYNTHESIS_NULL = {"ratio": 1.0, "standardized": 0.0, "difference": 0.0, "other": 0.0}
FAMILY_TITLES = {
    "ratio": "Ratios (OR, RR, HR) as reported — log scale, 1 = no difference",
    "standardized": "Standardized differences (SMD, g, d) — 0 = no difference, negative favours ketamine",
    "difference": "Differences (MD, RD) — units of the scale, 0 = no difference, negative favours ketamine",
    "other": "Other measures as reported",
}


def _synthesis_label(r) -> str:
    when = r.timepoint_label or f"{r.timepoint_hours:g} h"
    head = f"<b>{r.label}</b> · {r.measure} · {when}"
    basis = ", ".join(p for p in (
        f"k = {int(r.k_trials)}" if pd.notna(r.k_trials) else "",
        f"n = {int(r.n_participants):,}" if pd.notna(r.n_participants) else "",
        f"GRADE {str(r.certainty).lower()}" if isinstance(r.certainty, str) else "") if p)
    comparison = "<br>".join(_wrap(str(r.comparison or ""), 48))
    turned = f"<i>{r.orientation}</i>" if r.orientation != "as reported" else ""
    return "<br>".join(x for x in (head, comparison, basis, turned) if x)


def syntheses_forest(model) -> go.Figure:
    """"What the meta-analyses found": each estimate on its own reported measure, never pooled.

    ``model``: :class:`evidence.synthesis.summaries.SynthesesSummary`.  One panel per measure family (ratios on a
    log axis with the null at 1; standardized and raw differences on linear axes with the null at 0), each row
    labelled with the review, the measure, the time point, the comparison, and k, n and GRADE certainty where the
    review gives them.  The model's caption is the figure's subtitle, so it travels with every copy."""
    from plotly.subplots import make_subplots

    rows = model.rows
    title = f"{model.title}<br><sup>{model.caption}</sup>"
    if rows.empty:
        return empty(title, "No published meta-analytic estimate in the data for this outcome, time and control.")
    families = list(dict.fromkeys(rows["family"]))
    sizes = [int((rows["family"] == f).sum()) for f in families]
    heights = [40 + 62 * n for n in sizes]
    fig = make_subplots(rows=len(families), cols=1, row_heights=heights,
                        vertical_spacing=min(0.3, 90 / sum(heights)) if len(families) > 1 else 0.0,
                        subplot_titles=[FAMILY_TITLES.get(f, f) for f in families])
    for i, family in enumerate(families, start=1):
        part = rows[rows["family"] == family].iloc[::-1]
        labels = [_synthesis_label(r) for r in part.itertuples()]
        has_ci = part["shown_ci_low"].notna()
        est = part["shown_estimate"].astype(float)
        fig.add_trace(go.Scatter(
            x=est, y=labels, mode="markers", name=family, showlegend=False,
            marker={"symbol": "diamond", "size": 12, "color": "#CC79A7", "line": {"color": "#000000", "width": 1}},
            error_x={"type": "data", "symmetric": False,
                     "array": (part["shown_ci_high"].astype(float) - est).where(has_ci, 0),
                     "arrayminus": (est - part["shown_ci_low"].astype(float)).where(has_ci, 0), "color": "#CC79A7"},
            customdata=part[["source_location", "source_quote"]].fillna("").assign(
                more=[" · ".join(x for x in (f"definition: {d}" if isinstance(d, str) else "",
                                             f"includes: {i}" if isinstance(i, str) and i else "") if x)
                      for d, i in zip(part["definition"], part["includes"], strict=True)]),
            hovertemplate="%{x:.2f}<br>%{customdata[0]}: “%{customdata[1]}”<br>%{customdata[2]}<extra></extra>",
        ), row=i, col=1)
        fig.add_vline(x=SYNTHESIS_NULL[family], line={"color": "#666666", "dash": "dash"}, row=i, col=1)
        if family == "ratio":
            fig.update_xaxes(type="log", tickvals=[0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100], row=i, col=1)
        fig.update_yaxes(categoryorder="array", categoryarray=labels, row=i, col=1)
    fig.update_annotations(font={"size": 12}, x=0, xanchor="left")  # subplot titles, left-aligned
    _layout(fig, title, height=120 + sum(heights) + 60 * len(families))
    return fig
