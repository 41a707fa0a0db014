"""The journalist bundle, the quote-ready paragraph, chart images and the static HTML report.

Nothing here invents a number: figures come from the shared claim summaries in
:mod:`evidence.synthesis.claim_evidence`, text from the curated records.  The only optional external piece is a
Chromium-family browser, which Kaleido 1.x needs to render PNG/SVG images (the bundle says so, and skips
them, when none is available).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import html
import io
import json
import math
import os
import shutil
import warnings
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from evidence.curation.load import Dataset
from evidence.curation.schema import Claim
from evidence.curation.tables import Tables
from evidence.curation.verdicts import CERTAINTY, CERTAINTY_MEANING, VERDICTS, verdict_badge
from evidence.publishing import charts
from evidence.publishing.exports import (
    _is_web_url,
    bibtex,
    claim_evidence_rows,
    claim_review,
    claim_studies,
    csl_json,
    doi_url,
    pubmed_url,
    ris,
    table_export,
)
from evidence.publishing.stamp import LICENCE, PROJECT, TITLE, claim_url, resolve_base_url, stamp
from evidence.synthesis.claim_evidence import claimed_value, panel

BUNDLE_FILES = (
    "paragraph.txt", "chart.png", "chart.svg", "evidence.csv", "citations.bib", "citations.ris",
    "citations.csl.json", "claimreview.jsonld", "README.txt",
)
IMAGE_FILES = ("chart.png", "chart.svg")
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
IMAGE_TIMEOUT = 90.0

# --------------------------------------------------------------------------- key numbers and charts

_UNSET: Any = object()  # "compute the panel here" (callers that have it pass it, to compute it once)


def _panel(claim: Claim, tables: Tables):
    """The shared computed panel for the claim's first summary, or None (no summary, or no module)."""
    if not claim.summaries:
        return None
    try:
        return panel(claim.summaries[0], claim, tables)
    except Exception as exc:  # an export never fails, and never shows a number, on a summary error
        warnings.warn(f"claim {claim.id}: summary {claim.summaries[0].kind!r} failed ({type(exc).__name__}: "
                      f"{exc}); exported without its computed number", RuntimeWarning, stacklevel=2)
        return None


def key_number(claim: Claim, tables: Tables, *, panel: Any = _UNSET) -> tuple[str | None, Any]:
    """The headline number computed from the data for the claim's first summary, or None.

    Returns (sentence, panel).  None when the claim has no summary, the summary module is
    absent, or no study in the data answers it (k = 0): a number is never made up.
    """
    p = _panel(claim, tables) if panel is _UNSET else panel
    if p is None or not p.k:
        return None, p
    if p.spec.kind in ("response_rate", "risk_ratio") and math.isnan(p.estimate):
        return None, p
    studies = "study" if p.k == 1 else "studies"
    if p.spec.kind in ("response_rate", "risk_ratio"):  # pooled: the estimate rests on exactly these
        basis = f"{p.k} {studies}, {p.n} participants" if p.n else f"{p.k} {studies}"
    else:  # descriptive: the headline picks from the data shown
        basis = f"from {p.k} {studies} in the data"
    return f"{p.headline.rstrip('.')} ({basis}).", p


def _quantity(claim: Claim) -> str | None:
    if claim.summaries:
        return {"response_rate": "response_rate", "risk_ratio": "relative_risk", "response_over_time": "onset",
                "durations": "duration", "adverse_events": "side_effect_rate"}[claim.summaries[0].kind]
    return claim.assertion.quantity if claim.assertion else None


def _wilson(events: Any, total: Any, rate: float) -> tuple[float, float]:
    from evidence.synthesis.stats import wilson_interval

    if pd.notna(events) and pd.notna(total) and int(total) > 0:
        return wilson_interval(int(events), int(total))
    return rate, rate


def _evidence_rows(claim: Claim, frame: pd.DataFrame, *, linked_outcomes: bool = False) -> pd.DataFrame:
    ids = [e.study for e in claim.evidence]
    rows = frame[frame["study_id"].isin(ids)]
    if linked_outcomes:
        wanted = {(e.study, o) for e in claim.evidence for o in e.outcomes}
        listed = {e.study for e in claim.evidence if e.outcomes}
        keep = [(s not in listed) or ((s, o) in wanted) for s, o in zip(rows["study_id"], rows["outcome_id"],
                                                                         strict=True)]
        rows = rows[np.asarray(keep, dtype=bool)]
    return rows


def claim_chart(claim: Claim, dataset: Dataset, tables: Tables, *, panel: Any = _UNSET) -> go.Figure:
    """The claim's chart: the shared panel figure when the claim names a summary, else a chart of its
    evidence studies chosen by the assertion's quantity (an empty figure when nothing applies)."""
    p = _panel(claim, tables) if panel is _UNSET else panel
    if p is not None:
        return p.figure
    quantity = _quantity(claim)
    title = claim.short
    if quantity in ("response_rate", "onset"):
        rows = _evidence_rows(claim, tables.outcomes, linked_outcomes=True)
        rows = rows[pd.to_numeric(rows["rate"]).notna() & rows["arm"].notna()]
        kind = "response" if rows["kind"].eq("response").any() else "remission"
        rows = rows[rows["kind"].eq(kind)]
        if quantity == "onset":
            points = rows.assign(group=[charts.arm_group(d) for d in rows["arm_drug"]],
                                 schedule=rows["arm_schedule"], rate=pd.to_numeric(rows["rate"]))
            return charts.response_over_time(points, claimed_hours=claimed_value(claim, "hours"),
                                             claim_label="claimed", title=title)
        bounds = [_wilson(e, t, r) for e, t, r in zip(rows["events"], rows["total"], pd.to_numeric(rows["rate"]),
                                                     strict=True)]
        rates = pd.DataFrame({
            "label": [f"{tables.label(s)} · {a} · {h:g} h" for s, a, h in
                      zip(rows["study_id"], rows["arm"], rows["timepoint_hours"], strict=True)],
            "rate": pd.to_numeric(rows["rate"]).to_numpy(), "ci_low": [b[0] for b in bounds],
            "ci_high": [b[1] for b in bounds], "group": [charts.arm_group(d) for d in rows["arm_drug"]]})
        claimed = claimed_value(claim, "percent")
        return charts.rates_against_claim(rates, claimed=claimed, title=title,
                                          claim_label=f"claimed: {claimed:g}%" if claimed is not None else "")
    if quantity in ("relative_effect", "relative_risk"):
        rows = _evidence_rows(claim, tables.outcomes, linked_outcomes=True)
        rows = rows.dropna(subset=["estimate", "ci_low", "ci_high"]).drop_duplicates(["study_id", "outcome_id"])
        if not rows.empty:
            kind = rows["effect_type"].mode().iloc[0]
            rows = rows[rows["effect_type"] == kind]
            ratio = kind in ("OR", "RR", "HR")
            effects = pd.DataFrame({
                "label": [f"{tables.label(s)} · {o}" for s, o in
                          zip(rows["study_id"], rows["outcome_id"], strict=True)],
                "estimate": rows["estimate"].astype(float).to_numpy(),
                "ci_low": rows["ci_low"].astype(float).to_numpy(), "ci_high": rows["ci_high"].astype(float).to_numpy()})
            return charts.forest(effects, None, measure=f"{kind} as reported", title=title, log=ratio)
        return charts.empty(title, "No reported effect with a confidence interval in the cited studies.")
    if quantity == "duration":
        rows = _evidence_rows(claim, tables.durability)
        rows = rows[pd.to_numeric(rows["days"]).notna()]
        items = rows.assign(label=[tables.label(s) for s in rows["study_id"]],
                            days=pd.to_numeric(rows["days"]))
        claimed = claimed_value(claim, "days")
        return charts.durations(items, claimed_days=claimed, title=title,
                                claim_label=f"claimed: {claimed:g} days" if claimed else "")
    if quantity == "side_effect_rate":
        rows = _evidence_rows(claim, tables.adverse_events)
        rows = rows[pd.to_numeric(rows["rate"]).notna()]
        rates = rows.assign(group=[charts.arm_group(d) for d in rows["arm_drug"]], rate=pd.to_numeric(rows["rate"]),
                            label=[f"{tables.label(s)} · {a}" for s, a in
                                   zip(rows["study_id"], rows["arm"], strict=True)])
        return charts.harms(rates, title=title)
    return charts.empty(title, "This claim has no numeric assertion to chart; see the cited studies.")


def has_data(fig: go.Figure) -> bool:
    return len(fig.data) > 0


# --------------------------------------------------------------------------- paragraph

def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s" if not word.endswith("y") else f"{n} {word[:-1]}ies"


def certainty_sentence(certainty: str | None) -> str:
    if certainty is None:
        return "Certainty of the evidence: not graded."
    wording = CERTAINTY[certainty]
    if wording.startswith("the evidence"):
        phrase = f"in GRADE wording, “{wording}” the effect"
    else:
        phrase = f"in GRADE wording, ketamine “{wording}” the effect"
    return f"Certainty of the evidence: {certainty.lower()} — {phrase}. {CERTAINTY_MEANING[certainty]}"


def quote_paragraph(claim: Claim, dataset: Dataset, tables: Tables, *, base: str | None = None,
                    today: date | None = None, panel: Any = _UNSET) -> str:
    """A quote-ready paragraph: the claim and its page, the verdict, the key number computed from the
    data (with its 95% CI) or the studies it rests on, the certainty, the caveat and the data version."""
    sources = {s.id: s for s in dataset.sources}
    app = claim.appearances[0]
    src = sources.get(app.source)
    where = src.title if src else app.source
    if src is not None and src.publisher and src.publisher != src.title:
        where = f"{src.title} ({src.publisher})"
    others = len({a.source for a in claim.appearances}) - 1
    also = f", and {_plural(others, 'other page')}" if others > 0 else ""
    parts = [f"The claim “{app.quote}” appears on the page “{where}”{also}.",
             f"The {PROJECT} rates it “{claim.verdict}”: {VERDICTS[claim.verdict].rule}"]
    number, _ = key_number(claim, tables, panel=panel)
    if number:
        parts.append(f"Key number computed from the curated data: {number}")
    else:
        labels = [f"{tables.label(s.id)}" for s in claim_studies(claim, dataset)]
        if labels:
            parts.append(f"The verdict rests on {_plural(len(labels), 'study')} ({'; '.join(labels)}); "
                         "the curated data give no summary number for this claim.")
        else:
            parts.append("No study in the curated data addresses the claim.")
    parts.append(certainty_sentence(claim.certainty))
    parts.append(f"What the evidence supports: “{claim.supported_wording}”")
    if claim.checkable_if:
        parts.append(f"What would make it checkable: {claim.checkable_if}")
    parts.append(f"(Source: {PROJECT}, {claim_url(claim.id, base)}, data version {dataset.version}, "
                 f"data files last changed {dataset.modified}, retrieved {(today or date.today()).isoformat()}; "
                 f"{LICENCE}.)")
    return " ".join(p if p.rstrip().endswith((".", ")", "”", "?", "!")) else p + "." for p in parts)


# --------------------------------------------------------------------------- images

def find_browser() -> str | None:
    """A Chromium-family browser for Kaleido: ``$BROWSER_PATH`` if it exists, else one on PATH."""
    explicit = os.environ.get("BROWSER_PATH")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def _numbers(values: Any) -> list[float]:
    out = []
    for v in values if values is not None else ():
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


def pin_log_axis(fig: go.Figure) -> go.Figure:
    """Give an auto-ranged log x axis an explicit range from the data, shapes and error bars.

    On a log axis plotly.js reads an annotation's x as log10(x), so a label placed at a
    data value (as ``add_vline(annotation_text=...)`` does) can stretch the autorange to
    10^x.  A range from the data keeps the plot readable whichever way the label is placed.
    """
    axis = fig.layout.xaxis
    if axis.type != "log" or axis.range is not None:
        return fig
    xs: list[float] = []
    for trace in fig.data:
        x = _numbers(getattr(trace, "x", None))
        xs += x
        err = getattr(trace, "error_x", None)
        if err is not None and err.array is not None and len(x) == len(err.array):
            plus = _numbers(err.array)
            minus = _numbers(err.arrayminus) if err.arrayminus is not None else plus
            if len(plus) == len(x) == len(minus):
                xs += [a + b for a, b in zip(x, plus, strict=True)] + [a - b for a, b in zip(x, minus, strict=True)]
    for shape in fig.layout.shapes:
        if shape.xref == "x":
            xs += _numbers([shape.x0, shape.x1])
    xs = [x for x in xs if x > 0]
    if xs:
        lo, hi = math.log10(min(xs)), math.log10(max(xs))
        pad = max(0.15 * (hi - lo), 0.3)
        fig.update_xaxes(range=[lo - pad, hi + pad])
    return fig


def _image_size(fig: go.Figure) -> tuple[int, int]:
    height = fig.layout.height or 460
    width = fig.layout.width or 900
    return int(width), int(height)


def render_images(fig: go.Figure, *, browser: str | None = None, timeout: float = IMAGE_TIMEOUT,
                  credit: str | None = None) -> tuple[dict[str, bytes], str | None]:
    """PNG and SVG of a figure through Kaleido (one browser start for both).

    Returns ({"png": ..., "svg": ...}, None), or ({}, reason) when no browser is found or the
    export fails.  MathJax is disabled so that nothing is fetched from a CDN.  The still copy
    has its legend above the plot and, given ``credit``, a source line under the title.
    """
    path = browser or find_browser()
    if not path:
        return {}, "no Chromium/Chrome browser was found (Kaleido 1.x needs one; set BROWSER_PATH)"
    try:
        import kaleido
    except ImportError:
        return {}, "the kaleido package is not installed"
    width, height = _image_size(fig)
    still = pin_log_axis(go.Figure(fig))  # a copy: for a still image the legend goes above the plot
    if still.layout.showlegend is not False:
        still.update_layout(legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
                            margin={"t": 100, "b": 40})
        height += 60
    if credit:  # a still image travels without its page: it carries its source line
        still.update_layout(title_subtitle_text=credit, title_subtitle_font={"size": 11, "color": "#555555"})
    spec = still.to_dict()

    async def _run() -> dict[str, bytes]:
        async with kaleido.Kaleido(n=1, timeout=timeout, mathjax=False, path=path) as k:
            png = await k.calc_fig(spec, opts={"format": "png", "width": width, "height": height, "scale": 2})
            svg = await k.calc_fig(spec, opts={"format": "svg", "width": width, "height": height})
        return {"png": bytes(png), "svg": bytes(svg)}

    def _in_new_loop() -> dict[str, bytes]:
        return asyncio.run(asyncio.wait_for(_run(), timeout=2 * timeout + 30))

    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            images = _in_new_loop()
        else:  # called from inside an event loop: run ours in a worker thread
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                images = pool.submit(_in_new_loop).result()
    except Exception as exc:  # any rendering failure means "skip images", never a failed bundle
        return {}, f"image export failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    if not images.get("png", b"").startswith(b"\x89PNG") or b"<svg" not in images.get("svg", b"")[:500]:
        return {}, "image export returned no image"
    return images, None


# --------------------------------------------------------------------------- bundle

def _find_claim(dataset: Dataset, claim_id: str) -> Claim:
    for c in dataset.claims:
        if c.id == claim_id:
            return c
    raise KeyError(f"unknown claim {claim_id!r}; choose from {', '.join(c.id for c in dataset.claims)}")


def _readme(claim: Claim, dataset: Dataset, files: list[str], image_note: str, base: str, today: date) -> str:
    described = {
        "paragraph.txt": "a quote-ready paragraph: the claim, the verdict, the key number, certainty and caveat",
        "chart.png": "the claim's chart (PNG, 2x resolution)",
        "chart.svg": "the claim's chart (SVG, for print)",
        "evidence.csv": "outcome rows of the studies the claim cites (UTF-8 CSV; columns as in the outcomes table)",
        "citations.bib": "the cited studies as BibTeX (keys = study ids)",
        "citations.ris": "the cited studies as RIS (EndNote, Zotero, Mendeley)",
        "citations.csl.json": "the cited studies as CSL-JSON (Zotero, Pandoc)",
        "claimreview.jsonld": "schema.org ClaimReview for fact-check aggregators",
        "README.txt": "this file",
    }
    s = stamp(dataset, today=today, base=base)
    lines = [
        f"{PROJECT}: journalist bundle for claim '{claim.id}'",
        "",
        f"Claim:          {claim.short}",
        f"Verdict:        {claim.verdict}" + (f" (certainty: {claim.certainty})" if claim.certainty else ""),
        f"Claim page:     {claim_url(claim.id, base)}",
        f"Data version:   {s['data_version']} (data files last changed {s['data_modified']})",
        f"Exported:       {s['exported']}",
        f"Licence:        {s['licence']}",
        f"How to cite:    {s['how_to_cite']}",
        "",
        "Files:",
        *[f"  {name:<20} {described[name]}" for name in files],
        "",
        f"Images: {image_note}",
        "",
        "Every number comes from the curated data (each figure carries its verbatim quote in the study",
        "records); the verdict rules and certainty wording are on the dashboard's Methods page.",
    ]
    return "\n".join(lines) + "\n"


def bundle(claim_id: str, dataset: Dataset, tables: Tables, *, base_url: str | None = None, images: bool = True,
           browser: str | None = None, today: date | None = None) -> bytes:
    """A zip for one claim: paragraph.txt, chart.png, chart.svg, evidence.csv, citations.bib,
    citations.ris, citations.csl.json, claimreview.jsonld and README.txt.

    The two images need a browser; without one (or with ``images=False``) they are left out
    and README.txt says so ("Images: skipped — ...").
    """
    today = today or date.today()
    base = resolve_base_url(base_url)
    claim = _find_claim(dataset, claim_id)
    studies = claim_studies(claim, dataset)
    p = _panel(claim, tables)
    paragraph = quote_paragraph(claim, dataset, tables, base=base, today=today, panel=p)
    contents: dict[str, bytes] = {"paragraph.txt": (paragraph + "\n").encode("utf-8")}
    if images:
        credit = f"Source: {PROJECT}, data version {dataset.version} ({dataset.modified}). {LICENCE}."
        rendered, reason = render_images(claim_chart(claim, dataset, tables, panel=p), browser=browser,
                                         credit=credit)
    else:
        rendered, reason = {}, "turned off for this export"
    if rendered:
        contents["chart.png"], contents["chart.svg"] = rendered["png"], rendered["svg"]
        image_note = "included (chart.png and chart.svg, rendered with Kaleido and a headless browser)."
    else:
        image_note = (f"skipped: {reason}. The interactive chart is on the claim page: "
                      f"{claim_url(claim.id, base)}")
    contents["evidence.csv"] = table_export(claim_evidence_rows(claim, tables), "csv", dataset=dataset,
                                            table_name="outcomes", filters={"claim": claim.id}, today=today)
    contents["citations.bib"] = bibtex(studies).encode("utf-8")
    contents["citations.ris"] = ris(studies).encode("utf-8")
    contents["citations.csl.json"] = _dumps(csl_json(studies))
    contents["claimreview.jsonld"] = _dumps(claim_review(claim, dataset, base))
    names = [n for n in BUNDLE_FILES if n in contents or n == "README.txt"]
    contents["README.txt"] = _readme(claim, dataset, names, image_note, base, today).encode("utf-8")
    buffer = io.BytesIO()
    stamp_time = datetime.now().timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=stamp_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # readable files when unzipped
            zf.writestr(info, contents[name])
    return buffer.getvalue()


def _dumps(doc: Any) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- static report

_CSS = """
body{font-family:"Source Sans Pro",Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#111;
line-height:1.45}
h1{font-size:1.7em}h2{border-bottom:2px solid #0072B2;padding-bottom:.2em;margin-top:2em}
section.claim{border:1px solid #ccc;border-radius:8px;padding:.6em 1.2em;margin:1.2em 0}
blockquote{border-left:4px solid #999;margin:.6em 0;padding:.2em .8em;color:#333}
table{border-collapse:collapse;width:100%;font-size:.85em}th,td{border:1px solid #ccc;padding:3px 6px;
text-align:left;vertical-align:top}th{background:#f2f2f2}.meta{color:#444;font-size:.9em}
.key{background:#f4f8fb;padding:.4em .8em;border-radius:6px}
"""


def _e(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return html.escape(str(value), quote=True)


def _link(url: str, text: str) -> str:
    return f'<a href="{_e(url)}">{_e(text)}</a>' if _is_web_url(url) else _e(text)


def _study_links(row: pd.Series) -> str:
    links = []
    if pd.notna(row.get("pmid")) and row.get("pmid"):
        links.append(_link(pubmed_url(str(row["pmid"])), "PubMed"))
    if pd.notna(row.get("doi")) and row.get("doi"):
        links.append(_link(doi_url(str(row["doi"])), "DOI"))
    if pd.notna(row.get("nct")) and row.get("nct"):
        links.append(_link(f"https://clinicaltrials.gov/study/{row['nct']}", str(row["nct"])))
    if pd.notna(row.get("url")) and row.get("url"):
        links.append(_link(str(row["url"]), "document"))
    return " · ".join(links)


def report_html(dataset: Dataset, tables: Tables, *, base_url: str | None = None, include_charts: bool = True,
                today: date | None = None) -> str:
    """One self-contained HTML file (no network needed): every claim with its verdict, certainty, key
    number and chart, then the studies table.  plotly.js is inlined once; all text is escaped."""
    today = today or date.today()
    base = resolve_base_url(base_url)
    s = stamp(dataset, today=today, base=base)
    sources = {src.id: src for src in dataset.sources}
    plotly_included = False
    out = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(PROJECT)}: report (data version {_e(dataset.version)})</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_e(TITLE)}</h1>",
        f'<p class="meta">{_e(PROJECT)} · data version <code>{_e(s["data_version"])}</code> (data files last '
        f'changed {_e(s["data_modified"])}) · exported {_e(s["exported"])} · {len(dataset.claims)} claims, '
        f"{len(dataset.studies)} studies · {_e(LICENCE)}</p>",
        f'<p class="meta">How to cite: {_e(s["how_to_cite"])}</p>',
        "<h2>Claims</h2>", "<table><thead><tr><th>Claim</th><th>Verdict</th><th>Certainty</th><th>Topic</th>"
        "</tr></thead><tbody>",
    ]
    for c in dataset.claims:
        out.append(f'<tr><td><a href="#claim-{_e(c.id)}">{_e(c.short)}</a></td><td>{_e(c.verdict)}</td>'
                   f"<td>{_e(c.certainty or 'not graded')}</td><td>{_e(c.topic)}</td></tr>")
    out.append("</tbody></table>")
    for c in dataset.claims:
        out.append(f'<section class="claim" id="claim-{_e(c.id)}"><h3>{_e(c.short)}</h3>')
        out.append(f"<p>{verdict_badge(c.verdict)} — "
                   f"{_e(VERDICTS[c.verdict].rule)}</p>")
        out.append(f"<p>{_e(certainty_sentence(c.certainty))}</p>")
        for app in c.appearances:
            src = sources.get(app.source)
            who = _e(src.title) if src else _e(app.source)
            if src is not None and src.publisher:
                who += f" ({_e(src.publisher)})"
            out.append(f"<blockquote>“{_e(app.quote)}”<br><small>— {who}</small></blockquote>")
        p = _panel(c, tables)
        number, _ = key_number(c, tables, panel=p)
        if number:
            out.append(f'<p class="key"><strong>Key number:</strong> {_e(number)}</p>')
        elif c.evidence:
            out.append('<p class="key">No summary number is computed from the data for this claim; '
                       "see the studies below.</p>")
        out.append(f"<p><strong>Why:</strong> {_e(c.rationale)}</p>")
        out.append(f"<p><strong>What the evidence supports:</strong> {_e(c.supported_wording)}</p>")
        if c.checkable_if:
            out.append(f"<p><strong>What would make it checkable:</strong> {_e(c.checkable_if)}</p>")
        if c.evidence:
            items = []
            for link in c.evidence:
                note = f" — {_e(link.note)}" if link.note else ""
                items.append(f'<li><a href="#study-{_e(link.study)}">{_e(tables.label(link.study))}</a> '
                             f"({_e(link.stance)}){note}</li>")
            out.append("<p><strong>Studies:</strong></p><ul>" + "".join(items) + "</ul>")
        if include_charts:
            fig = pin_log_axis(claim_chart(c, dataset, tables, panel=p))
            if has_data(fig):
                out.append(fig.to_html(full_html=False, include_plotlyjs=not plotly_included,
                                       include_mathjax=False, config={"displaylogo": False}))
                plotly_included = True
        dates = ", ".join(f"{_e(e.date.isoformat())}: {_e(e.verdict)}" for e in c.changelog)
        out.append(f'<p class="meta">Changelog: {dates} · <a href="{_e(claim_url(c.id, base))}">claim page</a>'
                   "</p></section>")
    out.append("<h2>Studies</h2><table><thead><tr>")
    columns = ["id", "first_author", "year", "title", "journal", "kind", "design", "blinding", "drug",
               "population", "n_randomized", "rob_overall"]
    out.append("".join(f"<th>{_e(col)}</th>" for col in [*columns, "links"]) + "</tr></thead><tbody>")
    for _, row in tables.studies.iterrows():
        cells = "".join(f"<td>{_e(row[col])}</td>" for col in columns)
        out.append(f'<tr id="study-{_e(row["id"])}">{cells}<td>{_study_links(row)}</td></tr>')
    out.append("</tbody></table>")
    out.append(f'<p class="meta">{_e(PROJECT)} · {_e(LICENCE)} · {_e(s["how_to_cite"])}</p></body></html>')
    return "\n".join(out) + "\n"
