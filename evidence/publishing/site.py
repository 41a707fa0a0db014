"""The static site: every page model rendered to plain files that any static host or CDN can serve.

Layout (see README "Publishing"): ``index.html`` (claims), ``claim/ID.html``, ``study/ID.html``,
``explorer/VIEW.html``, ``methods.html``, ``data/`` (every table as CSV and JSON, the citations, the
ClaimReviews and a zip), ``assets/`` (one local plotly.js for the whole site, the stylesheet and two small
scripts), ``sitemap.xml``.  Each build also goes under ``v/DATA_VERSION/``; the top level is a copy of the
latest, and every page links to its fixed twin, so a cited address never changes meaning.

Deterministic: the same data give the same bytes.  The only date is the data's own (the latest date in
the claims' changelogs and data/CHANGELOG.md); JSON keys are sorted; zip entries carry that date.
Nothing is fetched from outside: no web fonts, no CDN scripts.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import pandas as pd
import plotly.offline

from evidence.curation.load import REPO_ROOT, Dataset
from evidence.curation.tables import TABLE_NAMES, Tables
from evidence.curation.verdicts import VERDICTS
from evidence.pages import claim as claim_pages
from evidence.pages import explorer as explorer_pages
from evidence.pages import index as index_pages
from evidence.pages import methods as methods_pages
from evidence.pages import study as study_pages
from evidence.pages.figure import Chart
from evidence.pages.paths import DEFAULT_SITE_URL, app_path, site_path, site_url
from evidence.publishing import bundle, exports
from evidence.publishing.stamp import LICENCE, PROJECT, SOURCE, how_to_cite
from evidence.publishing.templating import Renderer, json_script
from evidence.user_files import os_reason

# plotly.js's cartesian bundle (scatter, bar, box, …): a third of the full bundle's size and parse time.
CARTESIAN_JS = REPO_ROOT / "node_modules" / "plotly.js-cartesian-dist-min" / "plotly-cartesian.min.js"
CARTESIAN_TRACES = {"scatter", "bar", "box", "heatmap", "histogram", "histogram2d", "histogram2dcontour", "contour",
                    "image", "pie", "violin"}
MARKER = ".evidence-site"  # a directory holding this file was built here and may be rebuilt
STATIC = Path(__file__).parent / "templates" / "static"


class SiteError(ValueError):
    """An output directory the site will not overwrite (one line for the command line)."""


@dataclass(frozen=True)
class SiteReport:
    out: Path
    version: str
    pages: int
    files: int
    seconds: float


# --------------------------------------------------------------------------- the site

class _Site:
    def __init__(self, dataset: Dataset, tables: Tables, base: str, app_base: str | None) -> None:
        self.ds = dataset  # its date is the data's own (changelogs), the same in the app and every export
        self.tables = tables
        self.today = date.fromisoformat(self.ds.modified)
        self.base = base
        self.app_base = app_base
        self.version = self.ds.version
        self.renderer = Renderer({s.id for s in self.ds.studies})
        self.site = {
            "project": PROJECT, "version": self.version, "modified": self.ds.modified, "licence": LICENCE,
            "source": SOURCE,
            "how_to_cite": how_to_cite(self.ds, today=self.today, base=base),
            "counts": f"{len(self.ds.studies)} studies, {len(self.ds.claims)} claims, {len(self.ds.sources)} pages",
            "plotly_file": "",  # chosen by choose_plotly() once every figure is known
        }

    # -- pages
    def pages(self) -> list[tuple[str, str, str, dict[str, Any], dict[str, str] | None, list[Chart]]]:
        """(path, template, section, context, app permalink params or None, charts) for every page."""
        ds, tables = self.ds, self.tables
        out: list = []
        index = index_pages.build(ds)
        out.append(("index.html", "index.html", "claims", {
            "page_title": "The claims and the evidence", "model": index, "intro": index_pages.INTRO,
            "counts": index_pages.counts(index.cards), "verdict_order": json_script(list(VERDICTS))},
            ("claims", {}), []))
        for claim in ds.claims:
            page = claim_pages.build(claim, ds, tables)
            path = site_path("claim", claim=claim.id)
            charts = [*(c for _, c in page.shown), *([page.syntheses] if page.syntheses else [])]
            out.append((path, "claim.html", "claims", {
                "page_title": page.title, "page": page, "study_columns": claim_pages.STUDY_COLUMNS,
                "paragraph": claim_pages.quote_paragraph(page, ds, tables, today=self.today,
                                                         url=self.url(path, versioned=True))},
                ("claim", {"claim": claim.id}), charts))
        for s in ds.studies:
            page = study_pages.build(s.id, ds, tables)
            out.append((site_path("study", study=s.id), "study.html", "explorer",
                        {"page_title": page.title, "page": page}, ("study", {"study": s.id}),
                        [page.rob_chart] if page.rob_chart else []))
        views = explorer_pages.standard_views(tables)
        groups: dict[str, list] = {}
        for v in views:
            groups.setdefault(v.group, []).append(v)
        studies = sorted(((s.id, f"{tables.label(s.id)} — {s.citation.title}") for s in ds.studies),
                         key=lambda item: item[1])
        out.append((site_path("explorer"), "explorer_index.html", "explorer", {
            "page_title": "Evidence explorer", "groups": list(groups.items()), "studies": studies,
            "n_studies": len(ds.studies)}, ("explorer", {}), []))
        for v in views:
            out.append((site_path("explorer", view=v.slug), "explorer.html", "explorer",
                        {"page_title": v.title, "view": v}, ("explorer", v.app_params), v.charts))
        methods = methods_pages.build(ds)
        out.append((site_path("methods"), "methods.html", "methods", {
            "page_title": "Methods and data", "page": methods,
            "changelog": pd.DataFrame(methods.changelog).drop(columns="claim_id", errors="ignore")},
            ("methods", {}), []))
        out.append(("data/index.html", "data.html", "data", {
            "page_title": "Downloads", "zip_name": self.zip_name,
            "tables": [(name, len(tables.get(name))) for name in TABLE_NAMES]}, None, []))
        return out

    @property
    def zip_name(self) -> str:
        return f"ketamine-evidence-{self.version}.zip"

    def url(self, path: str, *, versioned: bool) -> str:
        return f"{self.base}/{f'v/{self.version}/' if versioned else ''}{path}"

    def review(self, claim, url: str) -> dict[str, Any]:
        """A claim's ClaimReview as the site publishes it, in the page and in the files beside it alike (the two
        had named the author's site with and without its final "/")."""
        review = exports.claim_review(claim, self.ds, self.base)
        review["url"] = url
        review["author"]["url"] = f"{self.base}/"
        return review

    def render(self, path: str, template: str, section: str, context: dict[str, Any],
               app: tuple[str, dict[str, str]] | None, charts: list[Chart], *, versioned: bool) -> bytes:
        rel = "../" * path.count("/")
        assets = rel + ("../../" if versioned else "")
        canonical = self.url(path, versioned=versioned)
        extra: dict[str, Any] = {}
        if template == "claim.html":
            # the review on a page names that page (Google reads ClaimReview from the page it describes)
            extra["jsonld"] = json_script(self.review(context["page"].claim, canonical))
            extra["page"] = _ClaimView(context["page"])
        html = self.renderer.render(template,
            **{**context, **extra}, site=self.site, rel=rel, assets=assets, canonical=canonical, section=section,
            versioned=versioned, twin_href=f"{rel}v/{self.version}/{path}", latest_href=f"{assets}{path}",
            app_href=f"{self.app_base}/{app_path(app[0], **app[1])}" if app and self.app_base else None,
            charts_on_page=any(c.has_data for c in charts))
        return html.encode("utf-8")

    # -- files beside the pages (the same in both trees)
    def files(self, pages) -> dict[str, bytes]:
        ds, tables, today = self.ds, self.tables, self.today
        out: dict[str, bytes] = {}

        def table(name: str, frame: pd.DataFrame, fmt: str) -> bytes:
            return exports.table_export(frame, fmt, dataset=ds, table_name=name, today=today)

        for path, _template, _section, context, _app, charts in pages:
            folder = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
            for chart in charts:
                out[f"{folder}{chart.name}.csv"] = table(chart.name, chart.data, "csv")
                out[f"{folder}{chart.name}.json"] = table(chart.name, chart.data, "json")
            if "page" in context and isinstance(context["page"], claim_pages.ClaimPage):
                page = context["page"]
                cid, studies = page.id, page.cited(ds)
                # beside both trees' pages: the fixed copy's address, the one to cite
                out[f"claim/{cid}.claimreview.jsonld"] = _dumps(self.review(page.claim, self.url(path, versioned=True)))
                out[f"claim/{cid}.bib"] = exports.bibtex(studies).encode("utf-8")
                out[f"claim/{cid}.ris"] = exports.ris(studies).encode("utf-8")
                out[f"claim/{cid}-evidence.csv"] = table("outcomes", exports.claim_evidence_rows(page.claim, tables),
                                                         "csv")
                out[f"claim/{cid}-bundle.zip"] = bundle.bundle(
                    cid, ds, tables, base_url=self.base, images=False, today=today, page=page,
                    url=self.url(path, versioned=True))
            if isinstance(context.get("page"), methods_pages.MethodsPage):
                out["methods.json"] = _dumps(context["page"].as_json())
            if "page" in context and isinstance(context["page"], study_pages.StudyPage):
                out[f"study/{context['page'].id}.json"] = (context["page"].record_json + "\n").encode("utf-8")
        data: dict[str, bytes] = {}
        for name in TABLE_NAMES:
            data[f"{name}.csv"] = table(name, tables.get(name), "csv")
            data[f"{name}.json"] = table(name, tables.get(name), "json")
        data["citations.bib"] = exports.bibtex(ds.studies).encode("utf-8")
        data["citations.ris"] = exports.ris(ds.studies).encode("utf-8")
        data["citations.csl.json"] = _dumps(exports.csl_json(ds.studies))
        reviews = []
        for claim in ds.claims:
            reviews.append(self.review(claim, self.url(site_path("claim", claim=claim.id), versioned=True)))
        data["claimreviews.jsonld"] = _dumps(reviews)
        data[self.zip_name] = _zip(data, today)
        out.update({f"data/{name}": payload for name, payload in data.items()})
        return out

    def choose_plotly(self, pages) -> str:
        """The site's one plotly.js: the cartesian bundle when installed (``make site`` runs npm), of the same
        version as plotly.py's and covering every trace type drawn; else plotly.py's full bundle."""
        types = {t.get("type", "scatter") for *_, charts in pages for c in charts if c.has_data
                 for t in json.loads(str(self.renderer.figure_json(c))).get("data", [])}
        version = plotly.offline.get_plotlyjs_version()
        self.plotly_js = None
        if CARTESIAN_JS.is_file() and types <= CARTESIAN_TRACES:
            head = CARTESIAN_JS.read_bytes()[:200].decode("utf-8", "replace")
            if f"v{version}" in head:
                self.plotly_js = CARTESIAN_JS.read_bytes()
                self.site["plotly_file"] = f"plotly-cartesian-{version}.min.js"
        if self.plotly_js is None:
            self.plotly_js = plotly.offline.get_plotlyjs().encode("utf-8")
            self.site["plotly_file"] = f"plotly-{version}.min.js"
        return self.site["plotly_file"]

    def assets(self) -> dict[str, bytes]:
        out = {f"assets/{p.name}": p.read_bytes() for p in sorted(STATIC.iterdir()) if p.is_file()}
        out[f"assets/{self.site['plotly_file']}"] = self.plotly_js
        return out

    def sitemap(self, paths: list[str]) -> bytes:
        urls = [self.url(p, versioned=v) for v in (False, True) for p in paths]
        lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        lines += [f"  <url><loc>{xml_escape(u)}</loc><lastmod>{self.ds.modified}</lastmod></url>" for u in urls]
        lines.append("</urlset>")
        return ("\n".join(lines) + "\n").encode("utf-8")


class _ClaimView:
    """The claim page model with its changelog as rows, for the template's tables."""

    def __init__(self, page: claim_pages.ClaimPage) -> None:
        self._page = page
        self.changelog_frame = pd.DataFrame(page.changelog, columns=["date", "verdict", "note"])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._page, name)


def _dumps(doc: Any) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _zip(files: dict[str, bytes], day: date) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(day.year, day.month, day.day, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])
    return buffer.getvalue()


def check_out(out: Path) -> None:
    """Refuse an output that is a file, or a non-empty directory that no site build made."""
    if out.exists() and not out.is_dir():
        raise SiteError(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise SiteError(f"{out} is not empty and holds no earlier site build ({MARKER}); choose an empty or new "
                        "directory")


def _prepare(out: Path, version: str) -> None:
    """Check, before anything is written, what would stop a rebuild half-way: a symbolic link at the top level or
    at ``v/VERSION`` (which no build makes)."""
    check_out(out)
    if not out.is_dir():
        return
    for child in [*sorted(out.iterdir()), out / "v" / version]:
        if child.is_symlink():
            raise SiteError(f"{child} is a symbolic link, which no site build makes: remove it or choose another "
                            "directory (nothing was deleted)")


_MANIFEST = "top-level entries this build made:"


def _made_by_last_build(out: Path) -> set[str] | None:
    """The top-level names the earlier build wrote (listed in its marker), or None for a marker without a list."""
    try:
        lines = (out / MARKER).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return set(lines[lines.index(_MANIFEST) + 1:]) if _MANIFEST in lines else None


def _install(stage: Path, out: Path, version: str, made_now: set[str]) -> None:
    """Move the staged build into ``out`` entry by entry, once it is whole.  What the earlier build made (its
    marker lists it) is set aside first and deleted only at the end; what no build made (a ``.git``, a ``CNAME``)
    and the other data versions under ``v/`` stay where they are.  ``out`` itself is never renamed, so building
    into the current directory keeps it.  If a step fails, everything is moved back."""
    out.mkdir(parents=True, exist_ok=True)
    made_then = _made_by_last_build(out) if (out / MARKER).is_file() else set()
    if made_then is None:  # an earlier build's marker without a list: everything but v/ was its
        made_then = {c.name for c in out.iterdir() if c.name != "v"}
    old = [out / n for n in sorted((made_then | made_now) - {"v", MARKER}) if (out / n).exists()]
    old += [p for p in (out / "v" / version, out / MARKER) if p.exists()]
    new = [(stage / n, out / n) for n in sorted(made_now - {"v", MARKER})]
    new += [(stage / "v" / version, out / "v" / version), (stage / MARKER, out / MARKER)]  # the marker last
    aside = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.previous-"))
    set_aside: list[tuple[Path, Path]] = []
    placed: list[Path] = []
    try:
        for i, path in enumerate(old):
            path.rename(aside / str(i))
            set_aside.append((path, aside / str(i)))
        for src, dst in new:
            dst.parent.mkdir(parents=True, exist_ok=True)
            src.rename(dst)
            placed.append(dst)
    except OSError:
        for dst in reversed(placed):
            shutil.rmtree(dst) if dst.is_dir() and not dst.is_symlink() else dst.unlink(missing_ok=True)
        for path, kept in reversed(set_aside):
            kept.rename(path)
        shutil.rmtree(aside, ignore_errors=True)
        raise
    shutil.rmtree(aside, ignore_errors=True)
    shutil.rmtree(stage, ignore_errors=True)


def build_site(dataset: Dataset, tables: Tables, out: Path, *, base_url: str | None = None,
               app_url: str | None = None, progress: Callable[[str], None] | None = None) -> SiteReport:
    """Write the whole site into ``out`` (top level = latest, plus ``v/DATA_VERSION/``).

    ``base_url``: the site's public address (else ``$EVIDENCE_SITE_URL``, else http://localhost:8000), used
    in canonical links, ClaimReview ``url`` and the sitemap.  ``app_url``: the interactive app's address, to
    link each page to its live twin (none by default)."""
    started = time.perf_counter()
    out = Path.cwd() / out  # "." has no name to build beside ("here/." is "here"); links are kept, for _prepare
    if out.name in ("", ".."):
        out = out.resolve()
    check_out(out)  # before the work, so a wrong directory fails at once
    site = _Site(dataset, tables, site_url(base_url) or DEFAULT_SITE_URL, app_url.rstrip("/") if app_url else None)
    say = progress or (lambda _msg: None)
    say("building page models")
    pages = site.pages()
    say(f"rendering {len(pages)} pages")
    say(f"plotly.js: {site.choose_plotly(pages)}")
    shared = site.files(pages)
    trees = {False: {}, True: {}}
    for versioned, tree in trees.items():
        for path, template, section, context, app, charts in pages:
            tree[path] = site.render(path, template, section, context, app, charts, versioned=versioned)
        tree.update(shared)
    try:
        _prepare(out, site.version)
    except OSError as exc:
        raise SiteError(f"cannot read the earlier build in {out}: {os_reason(exc)}") from None
    everything = {**trees[False], **{f"v/{site.version}/{p}": b for p, b in trees[True].items()},
                  **site.assets(), "sitemap.xml": site.sitemap([p[0] for p in pages]),
                  "robots.txt": f"User-agent: *\nAllow: /\nSitemap: {site.base}/sitemap.xml\n".encode()}
    made_now = {p.split("/", 1)[0] for p in everything} | {MARKER}
    everything[MARKER] = "\n".join([f"{PROJECT} static site, data version {site.version}", _MANIFEST,
                                     *sorted(made_now)]).encode() + b"\n"
    # built beside the output and moved in only once whole: a full disk had left half a site, or emptied the last
    # good one, and a rebuild had deleted a .git or CNAME it did not make
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.building-"))
    except OSError as exc:
        raise SiteError(f"cannot build beside {out}: {os_reason(exc)}") from None
    target = stage
    try:
        umask = os.umask(0)
        os.umask(umask)
        stage.chmod(0o777 & ~umask)  # mkdtemp makes 0700; a web server must read the site
        for rel_path in sorted(everything, key=lambda p: p == MARKER):  # the marker last: a whole build
            target = stage / rel_path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(everything[rel_path])
        target = out
        _install(stage, out, site.version, made_now)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        shown = out / target.relative_to(stage) if target.is_relative_to(stage) else target
        raise SiteError(f"cannot write {shown}: {os_reason(exc)} (the earlier build, if any, is unchanged)") from None
    return SiteReport(out, site.version, 2 * len(pages), len(everything), time.perf_counter() - started)
