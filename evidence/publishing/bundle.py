"""The journalist bundle, chart images and the static HTML report: renderers of the claim page model.

Nothing here invents a number: figures come from the shared claim summaries in
:mod:`evidence.synthesis.claim_evidence`, text from the curated records.  The only optional external piece is a
Chromium-family browser, which Kaleido 1.x needs to render PNG/SVG images (the bundle says so, and skips
them, when none is available).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import json
import math
import os
import shutil
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from markupsafe import Markup

from evidence.curation.load import Dataset
from evidence.curation.schema import Claim
from evidence.curation.tables import Tables
from evidence.pages import claim as claim_pages
from evidence.pages.claim import ClaimPage, certainty_sentence
from evidence.publishing.exports import (
    bibtex,
    claim_evidence_rows,
    claim_review,
    csl_json,
    is_web_url,
    ris,
    table_export,
)
from evidence.publishing.stamp import LICENCE, PROJECT, TITLE, claim_url, resolve_base_url, stamp

BUNDLE_FILES = (
    "paragraph.txt", "chart.png", "chart.svg", "evidence.csv", "citations.bib", "citations.ris",
    "citations.csl.json", "claimreview.jsonld", "README.txt",
)
IMAGE_FILES = ("chart.png", "chart.svg")
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
IMAGE_TIMEOUT = 90.0

# --------------------------------------------------------------------------- the claim page model


def _page(claim: Claim, dataset: Dataset, tables: Tables, page: ClaimPage | None) -> ClaimPage:
    return page if page is not None else claim_pages.build(claim, dataset, tables)


def claim_chart(claim: Claim, dataset: Dataset, tables: Tables, *, page: ClaimPage | None = None) -> go.Figure:
    """The claim's chart, as its page model draws it (first summary, else its cited studies)."""
    return _page(claim, dataset, tables, page).chart.figure


def has_data(fig: go.Figure) -> bool:
    return len(fig.data) > 0


def quote_paragraph(claim: Claim, dataset: Dataset, tables: Tables, *, base: str | None = None,
                    today: date | None = None, page: ClaimPage | None = None) -> str:
    """The quote-ready paragraph of the claim's page model (see :func:`evidence.pages.claim.quote_paragraph`)."""
    return claim_pages.quote_paragraph(_page(claim, dataset, tables, page), dataset, tables, base=base,
                                       today=today)


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


def _readme(claim: Claim, dataset: Dataset, files: list[str], image_note: str, base: str, today: date,
            url: str | None = None) -> str:
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
        f"Claim page:     {url or claim_url(claim.id, base)}",
        f"Data version:   {s['data_version']} (data last changed {s['data_modified']})",
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
           browser: str | None = None, today: date | None = None, page: ClaimPage | None = None,
           url: str | None = None) -> bytes:
    """A zip for one claim: paragraph.txt, chart.png, chart.svg, evidence.csv, citations.bib,
    citations.ris, citations.csl.json, claimreview.jsonld and README.txt.

    The two images need a browser; without one (or with ``images=False``) they are left out
    and README.txt says so ("Images: skipped — ...").  ``page``: the claim's page model, if the caller
    has it; ``url``: the page to cite (default: the app's permalink).  Entries are dated ``today`` at
    midnight, so the same data and date give the same bytes.
    """
    today = today or date.today()
    base = resolve_base_url(base_url)
    claim = _find_claim(dataset, claim_id)
    model = _page(claim, dataset, tables, page)
    studies = model.cited(dataset)
    paragraph = claim_pages.quote_paragraph(model, dataset, tables, base=base, today=today, url=url)
    contents: dict[str, bytes] = {"paragraph.txt": (paragraph + "\n").encode("utf-8")}
    if images:
        credit = f"Source: {PROJECT}, data version {dataset.version} ({dataset.modified}). {LICENCE}."
        rendered, reason = render_images(model.chart.figure, browser=browser,
                                         credit=credit)
    else:
        rendered, reason = {}, "turned off for this export"
    if rendered:
        contents["chart.png"], contents["chart.svg"] = rendered["png"], rendered["svg"]
        image_note = "included (chart.png and chart.svg, rendered with Kaleido and a headless browser)."
    else:
        image_note = (f"skipped: {reason}. The interactive chart is on the claim page: "
                      f"{url or claim_url(claim.id, base)}")
    contents["evidence.csv"] = table_export(claim_evidence_rows(claim, tables), "csv", dataset=dataset,
                                            table_name="outcomes", filters={"claim": claim.id}, today=today)
    contents["citations.bib"] = bibtex(studies).encode("utf-8")
    contents["citations.ris"] = ris(studies).encode("utf-8")
    contents["citations.csl.json"] = _dumps(csl_json(studies))
    review = claim_review(claim, dataset, base)
    if url:
        review["url"] = url
    contents["claimreview.jsonld"] = _dumps(review)
    names = [n for n in BUNDLE_FILES if n in contents or n == "README.txt"]
    contents["README.txt"] = _readme(claim, dataset, names, image_note, base, today, url).encode("utf-8")
    buffer = io.BytesIO()
    stamp_time = (today.year, today.month, today.day, 0, 0, 0)
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

REPORT_STUDY_COLUMNS = ["id", "first_author", "year", "title", "journal", "kind", "design", "blinding", "drug",
                        "population", "n_randomized", "rob_overall"]


def report_html(dataset: Dataset, tables: Tables, *, base_url: str | None = None, include_charts: bool = True,
                today: date | None = None) -> str:
    """One self-contained HTML file (no network needed): every claim page model with its verdict, certainty,
    key number and chart, then the studies table.  plotly.js is inlined once; all text is escaped (the
    template autoescapes)."""
    import plotly.offline

    from evidence.pages.study import links as study_links
    from evidence.publishing.site import STATIC
    from evidence.publishing.templating import Renderer, text

    today = today or date.today()
    base = resolve_base_url(base_url)
    pages = [claim_pages.build(c, dataset, tables) for c in dataset.claims]
    charts_on = include_charts and any(p.chart.has_data for p in pages)
    studies = []
    for s, (_, row) in zip(dataset.studies, tables.studies.set_index("id", drop=False).loc[
            [s.id for s in dataset.studies]].iterrows(), strict=True):
        studies.append({"id": s.id, "cells": [text(row[c]) for c in REPORT_STUDY_COLUMNS],
                        "links": [(n, u) for n, u in study_links(s) if is_web_url(u)]})
    return Renderer().render(
        "report.html", project=PROJECT, title=TITLE, licence=LICENCE, stamp=stamp(dataset, today=today, base=base),
        css=Markup((STATIC / "site.css").read_text(encoding="utf-8")), pages=pages, n_studies=len(dataset.studies),
        include_charts=include_charts, plotly_js=Markup(plotly.offline.get_plotlyjs()) if charts_on else None,
        certainty_sentence=certainty_sentence, label=tables.label, claim_url=lambda cid: claim_url(cid, base),
        studies=studies, study_columns=REPORT_STUDY_COLUMNS)
