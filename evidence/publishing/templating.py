"""The jinja2 templates that the static site and the HTML report share, and what the templates call:
table cells, Markdown (markdown-it, raw HTML off), and figures as JSON safe inside a <script> element.

Autoescaping is on for every template, so curated text can never become markup.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup
from plotly.utils import PlotlyJSONEncoder

from evidence.pages.cells import shown_text
from evidence.pages.figure import Chart
from evidence.pages.paths import site_path
from evidence.publishing import exports

EXTERNAL = {"pmid": ("PubMed", exports.pubmed_url), "doi": ("DOI", exports.doi_url),
            "nct": ("NCT", lambda n: f"https://clinicaltrials.gov/study/{n}")}


def text(value: Any) -> str:
    """A cell as text: empty for missing, integers without ".0", other numbers to 4 significant digits."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        return shown_text(value)
    if isinstance(value, (list, tuple)):
        return "; ".join(text(v) for v in value)
    return str(value)


def json_script(doc: Any) -> Markup:
    """JSON safe inside <script>: no '<', '>' or '&' that could end the element; sorted keys (deterministic)."""
    out = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return Markup(out.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def figure_doc(chart: Chart) -> dict[str, Any]:
    """The figure as plotly.js reads it, without the default template (plotly.js has its own defaults)."""
    from evidence.publishing.bundle import pin_log_axis

    fig = chart.figure
    if fig.layout.xaxis.type == "log" and fig.layout.xaxis.range is None:  # a copy: the model stays as built
        fig = pin_log_axis(go.Figure(fig))
    doc = json.loads(json.dumps(fig.to_plotly_json(), cls=PlotlyJSONEncoder))
    doc.get("layout", {}).pop("template", None)
    return doc


def curated_markdown() -> MarkdownIt:
    """The one Markdown reader for curated documents (GAPS, CHANGELOG), in the app and on the site: CommonMark
    with tables, no raw HTML and no images, so nothing in a document makes the reader's browser fetch a URL
    (markdown-it also refuses javascript: and data: links)."""
    return MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")


class Markdown:
    def __init__(self) -> None:
        self.md = curated_markdown()

    def __call__(self, source: str, shift: int = 0) -> Markup:
        """``shift`` lowers every heading (a document's "#" under the page's h2 becomes h3)."""
        tokens = self.md.parse(source or "")
        for token in tokens:
            if token.type in ("heading_open", "heading_close") and shift:
                token.tag = f"h{min(6, int(token.tag[1]) + shift)}"
        return Markup(self.md.renderer.render(tokens, self.md.options, {}))


class Renderer:
    """A jinja2 environment over evidence/publishing/templates, with the helpers the templates call.

    ``known_studies``: study ids that have a page (a ``study_id`` cell links to it)."""

    def __init__(self, known_studies: set[str] | frozenset[str] = frozenset()) -> None:
        self.known_studies = set(known_studies)
        self._figures: dict[int, Markup] = {}
        self.env = Environment(loader=PackageLoader("evidence.publishing", "templates"),
                               autoescape=select_autoescape(["html", "xml"]), undefined=StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
        self.env.globals.update(md=Markdown(), figure_json=self.figure_json, cells=self.cells,
                                claim_path=lambda cid: site_path("claim", claim=cid),
                                study_path=lambda sid: site_path("study", study=sid))

    def render(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)

    def figure_json(self, chart: Chart) -> Markup:
        """Once per chart object (a page rendered twice reuses it)."""
        if id(chart) not in self._figures:
            self._figures[id(chart)] = json_script(figure_doc(chart))
        return self._figures[id(chart)]

    def cells(self, frame: Any, columns: list[str] | None = None, rel: str = "", links: bool = True) -> dict:
        """Columns and rows of {text, href}: study ids link to their page, PMIDs, DOIs and NCTs outside."""
        df = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
        cols = [c for c in (columns or list(df.columns)) if c in df.columns]
        rows = []
        for record in df[cols].itertuples(index=False, name=None):
            row = []
            for col, value in zip(cols, record, strict=True):
                label, href = text(value), None
                if col == "study_id" and label in self.known_studies:
                    href = (rel + site_path("study", study=label)) if links else f"#study-{label}"
                elif col in EXTERNAL and label:
                    name, make = EXTERNAL[col]
                    href, label = make(label), f"{name} {label}"
                row.append({"text": label, "href": href})
            rows.append(row)
        return {"columns": cols, "rows": rows}
