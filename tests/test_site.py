"""The static site: built from the bundled data into a temporary directory, checked as files and, in headless
Chromium (browser marker), served from a loopback static server.

File checks: two builds are byte-identical; every internal link and asset resolves; every claim page carries
a parseable ClaimReview whose fields match the page; nothing is loaded from outside; one plotly.js; page weight.
Browser checks: charts draw, no console errors, no request leaves the site, the index filters work, and
axe-core (shipped by axe-playwright-python) finds no serious or critical violation on site and app pages.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from evidence.curation.load import load_dataset
from evidence.curation.tables import build_tables
from evidence.pages import claim as claim_pages
from evidence.pages import index as index_pages
from evidence.publishing.site import MARKER, SiteError, build_site
from evidence.synthesis.claim_evidence import arm_participants
from tests.conftest import REPO

BASE = "https://evidence.example.org/site"
CHROMIUM = Path(os.environ.get("EVIDENCE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SERIOUS = ("serious", "critical")


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(REPO / "data")


@pytest.fixture(scope="module")
def tables(dataset):
    return build_tables(dataset)


@pytest.fixture(scope="module")
def site(dataset, tables, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build_site(dataset, tables, out, base_url=BASE)
    return out


def html_pages(root: Path) -> list[Path]:
    return sorted(root.rglob("*.html"))


class _Page(HTMLParser):
    """Links, resources, ids, JSON-LD and the verdict of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.resources: list[str] = []
        self.ids: set[str] = set()
        self.jsonld: list[str] = []
        self.verdict: str | None = None
        self._script: str | None = None
        self._in_verdict = 0
        self._buffer: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag in ("script", "img", "iframe") and "src" in a:
            self.resources.append(a["src"])
        if tag == "link" and "href" in a and a.get("rel") != "canonical":  # a canonical link is not loaded
            self.resources.append(a["href"])
        if tag == "script":
            self._script = a.get("type", "")
            self._buffer = []
        if tag == "p" and a.get("class") == "verdict":
            self._in_verdict = 1
        elif self._in_verdict == 1 and tag == "strong":
            self._in_verdict = 2
            self._buffer = []

    def handle_data(self, data):
        if self._script is not None or self._in_verdict == 2:
            self._buffer.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            if self._script == "application/ld+json":
                self.jsonld.append("".join(self._buffer))
            self._script = None
        if tag == "strong" and self._in_verdict == 2:
            self.verdict = "".join(self._buffer).strip()
            self._in_verdict = 0


def parse(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def local(href: str) -> bool:
    parts = urlsplit(href)
    return not parts.scheme and not parts.netloc and not href.startswith("#")


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- files

def test_layout_versioned_and_latest(site, dataset):
    version = dataset.version
    for rel in ("index.html", "methods.html", "explorer/index.html", "data/index.html", "sitemap.xml",
                f"data/ketamine-evidence-{version}.zip", "data/outcomes.csv", "data/outcomes.json",
                "data/citations.bib", "data/claimreviews.jsonld"):
        assert (site / rel).is_file(), rel
    for claim in dataset.claims:
        assert (site / "claim" / f"{claim.id}.html").is_file()
        assert (site / "v" / version / "claim" / f"{claim.id}.html").is_file()
    for study in dataset.studies:
        assert (site / "study" / f"{study.id}.html").is_file()
    assert len(list((site / "assets").glob("plotly-*.min.js"))) == 1
    # the latest page links to its fixed twin; the fixed twin links back to the latest
    top = (site / "claim" / f"{dataset.claims[0].id}.html").read_text(encoding="utf-8")
    fixed = (site / "v" / version / "claim" / f"{dataset.claims[0].id}.html").read_text(encoding="utf-8")
    assert f'href="../v/{version}/claim/{dataset.claims[0].id}.html"' in top
    assert f'href="../../../claim/{dataset.claims[0].id}.html"' in fixed


def test_every_page_names_its_source_and_licence(site):
    """As Datasette does: wherever a reader lands, the page says where its figures come from and their licence."""
    from evidence.publishing.stamp import LICENCE, SOURCE

    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 100
    missing = [str(p.relative_to(site)) for p in pages
               if SOURCE not in (text := p.read_text(encoding="utf-8")) or LICENCE not in text]
    assert not missing, missing[:10]


def test_two_builds_are_byte_identical(site, dataset, tables, tmp_path):
    again = tmp_path / "again"
    build_site(dataset, tables, again, base_url=BASE)
    assert tree_digest(again) == tree_digest(site)


def test_rebuild_keeps_other_versions_and_refuses_foreign_directories(minimal, tmp_path):
    dataset = load_dataset(minimal)  # the small synthetic data: two builds in seconds
    tables = build_tables(dataset)
    out = tmp_path / "site"
    build_site(dataset, tables, out, base_url=BASE)
    old = out / "v" / "0000old" / "index.html"
    old.parent.mkdir(parents=True)
    old.write_text("an earlier version", encoding="utf-8")
    (out / "stale.html").write_text("left from an earlier build", encoding="utf-8")
    marker = out / MARKER
    marker.write_text(marker.read_text(encoding="utf-8") + "stale.html\n", encoding="utf-8")  # it made that one
    (out / "CNAME").write_text("evidence.example.org\n", encoding="utf-8")  # the publisher's, not the build's
    (out / ".git").mkdir()
    build_site(dataset, tables, out, base_url=BASE)
    assert old.read_text(encoding="utf-8") == "an earlier version"
    assert not (out / "stale.html").exists() and (out / MARKER).is_file()
    assert (out / "CNAME").read_text(encoding="utf-8") == "evidence.example.org\n" and (out / ".git").is_dir()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site.")], "no staging or backup left"
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(SiteError, match="holds no earlier site build"):
        build_site(dataset, tables, foreign)
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_cli_builds_and_reports_bad_output_in_one_line(minimal, tmp_path):
    out = tmp_path / "cli-site"
    ok = subprocess.run([sys.executable, "-m", "evidence", "--data", str(minimal), "site", "--out", str(out),
                         "--quiet"], cwd=REPO, capture_output=True, text=True, timeout=240)
    assert ok.returncode == 0, ok.stderr
    assert (out / "index.html").is_file()
    blocker = tmp_path / "file.txt"
    blocker.write_text("x", encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "evidence", "site", "--out", str(blocker)], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "not a directory" in bad.stderr and "Traceback" not in bad.stderr


def test_every_internal_link_and_resource_resolves(site):
    missing = []
    for page in html_pages(site):
        parsed = parse(page)
        for href in parsed.links + parsed.resources:
            if not local(href):
                continue
            target = (page.parent / unquote(urlsplit(href).path)).resolve()
            if not target.is_file():
                missing.append(f"{page.relative_to(site)} -> {href}")
            fragment = urlsplit(href).fragment
            if fragment and target.suffix == ".html" and fragment not in parse(target).ids:
                missing.append(f"{page.relative_to(site)} -> {href} (no such anchor)")
    assert not missing, missing[:20]


def test_nothing_is_loaded_from_outside_and_plotly_is_shared(site):
    plotly_files = list((site / "assets").glob("plotly-*.min.js"))
    for page in html_pages(site):
        text = page.read_text(encoding="utf-8")
        parsed = parse(page)
        outside = [r for r in parsed.resources if not local(r)]
        assert not outside, f"{page.relative_to(site)} loads {outside}"
        assert "@import" not in text and "fonts.googleapis" not in text
        assert not re.search(r"\* plotly\.js v\d", text), f"{page} inlines plotly.js"
        scripts = [r for r in parsed.resources if "plotly" in r]
        if 'data-figure="' in text:
            assert len(scripts) == 1 and (page.parent / scripts[0]).resolve() == plotly_files[0].resolve()
    css = (site / "assets" / "site.css").read_text(encoding="utf-8")
    assert "url(" not in css and "@import" not in css


def test_page_weight_without_plotly(site):
    heavy = {str(p.relative_to(site)): p.stat().st_size for p in html_pages(site) if p.stat().st_size >= 300_000}
    assert not heavy


def test_claim_pages_carry_claim_review(site, dataset):
    sources = {s.id: s for s in dataset.sources}
    version = dataset.version
    for claim in dataset.claims:
        for rel in (f"claim/{claim.id}.html", f"v/{version}/claim/{claim.id}.html"):
            parsed = parse(site / rel)
            assert len(parsed.jsonld) == 1, rel
            review = json.loads(parsed.jsonld[0])
            assert review["@type"] == "ClaimReview" and review["@context"] == "https://schema.org"
            assert review["url"] == f"{BASE}/{rel}"
            assert 0 < len(review["claimReviewed"]) < 75
            assert parsed.verdict == claim.verdict
            assert review["reviewRating"]["alternateName"] == parsed.verdict
            item = review["itemReviewed"]
            assert [a["text"] for a in item["appearance"]] == [a.quote for a in claim.appearances]
            assert [a.get("url") for a in item["appearance"]] == [sources[a.source].url for a in claim.appearances]
            assert all(a["headline"] for a in item["appearance"])
            assert review["author"]["name"] and review["author"]["url"] == f"{BASE}/"
            assert review["datePublished"] == min(e.date for e in claim.changelog).isoformat()


def test_claim_review_carries_the_appearance_url(minimal, tmp_path):
    """The curated pages' addresses are not recorded yet (data/sources.yaml has no url): a source with one."""
    from tests.conftest import edit

    edit(minimal / "sources.yaml", '  title: "A page"\n', '  title: "A page"\n  url: https://clinic.example/ketamine\n')
    ds = load_dataset(minimal)
    out = tmp_path / "small-site"
    build_site(ds, build_tables(ds), out, base_url=BASE)
    claim = ds.claims[0]
    parsed = parse(out / "claim" / f"{claim.id}.html")
    review = json.loads(parsed.jsonld[0])
    assert review["itemReviewed"]["appearance"][0]["url"] == "https://clinic.example/ketamine"
    assert review["itemReviewed"]["firstAppearance"]["url"] == "https://clinic.example/ketamine"
    assert review["url"] == f"{BASE}/claim/{claim.id}.html" and parsed.verdict == claim.verdict
    assert 'href="https://clinic.example/ketamine"' in (out / "claim" / f"{claim.id}.html").read_text(encoding="utf-8")


def test_sitemap_lists_every_page(site, dataset):
    text = (site / "sitemap.xml").read_text(encoding="utf-8")
    locs = set(re.findall(r"<loc>([^<]+)</loc>", text))
    pages = html_pages(site)
    assert {f"{BASE}/{p.relative_to(site).as_posix()}" for p in pages} == locs
    assert f"<lastmod>{dataset.modified}</lastmod>" in text


def test_each_chart_has_its_data_and_a_text_summary(site, dataset, tables):
    page = claim_pages.build(dataset.claim("onset_24_hours"), dataset, tables)
    text = (site / "claim" / "onset_24_hours.html").read_text(encoding="utf-8")
    for chart in page.charts:
        assert f'data-figure="fig-{chart.name}"' in text
        assert f'aria-describedby="summary-{chart.name}"' in text and chart.summary.split(":")[0] in text
        rows = (site / "claim" / f"{chart.name}.csv").read_text(encoding="utf-8-sig").strip().splitlines()
        assert len(rows) - 1 == len(chart.data)
        doc = json.loads((site / "claim" / f"{chart.name}.json").read_text(encoding="utf-8"))
        assert doc["data_version"] == dataset.version and len(doc["rows"]) == len(chart.data)


def test_caption_n_counts_the_same_studies_as_k(dataset, tables):
    """The "as little as 24 hours" caption once said k = 13 studies, n = 40: n counted one study of 13."""
    page = claim_pages.build(dataset.claim("onset_24_hours"), dataset, tables)
    panel = page.panels[0]
    assert panel.k == panel.data["study_id"].nunique()
    n, k_with_n = arm_participants(panel.data, tables)
    assert panel.n == n
    per_study = [arm_participants(panel.data[panel.data["study_id"] == sid], tables) for sid in panel.studies]
    assert n == sum(n_s for n_s, _ in per_study) and k_with_n == sum(known for _, known in per_study)
    assert k_with_n > 1  # n rests on every study that gives a size, not on the one with event counts
    expected = (f"k = {panel.k} studies, n = {n} participants." if k_with_n == panel.k
                else f"n = {n} participants in the {k_with_n} of them")
    assert expected in panel.basis


def test_arm_participants_count_each_study_once(tables):
    import pandas as pd

    crossover = tables.studies.loc[tables.studies["design"].eq("RCT crossover"), "id"]
    parallel = tables.studies.loc[tables.studies["design"].eq("RCT parallel"), "id"]
    if crossover.empty or parallel.empty:
        pytest.skip("needs a crossover and a parallel trial in the data")
    c, p = crossover.iloc[0], parallel.iloc[0]
    rows = pd.DataFrame({"study_id": [c, c, p, p], "outcome_id": ["x", "x", "y", "y"], "arm": ["a", "b", "a", "b"],
                         "total": [20.0, 20.0, 30.0, 25.0]})
    n, known = arm_participants(rows, tables)
    assert known == 2
    whole = tables.studies.set_index("id").loc[c, "n_randomized"]
    assert n == (int(whole) if pd.notna(whole) else 20) + 55  # crossover: the same people once; parallel: summed


# --------------------------------------------------------------------------- in the browser

def _serve(root: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def served(site):
    server = _serve(site)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing under CI=true", pytrace=False)
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (make test does, as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def tab(chromium):
    context = chromium.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.problems = []
    page.outside = []

    def guard(route):
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            page.outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("requestfailed", lambda r: page.problems.append(f"FAILED {r.url}"))
    page.on("response", lambda r: page.problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    yield page
    context.close()


def _sample(dataset) -> list[str]:
    return ["index.html", "claim/onset_24_hours.html", "claim/more_than_80_percent_respond.html",
            f"claim/{dataset.claims[-1].id}.html", f"v/{dataset.version}/claim/onset_24_hours.html",
            "study/lii2023_natmentalhealth.html", "explorer/index.html",
            "explorer/forest-response-24-hours-12-36-h-any.html", "explorer/response-over-time.html",
            "explorer/risk-of-bias.html", "explorer/open-label-vs-blinded.html", "explorer/evidence-map.html",
            "methods.html", "data/index.html"]


@pytest.mark.browser
def test_sample_pages_draw_cleanly_and_stay_on_the_site(tab, served, dataset):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    for rel in _sample(dataset):
        tab.goto(f"{served}/{rel}")
        tab.wait_for_load_state("networkidle")
        plots = tab.locator(".plot").count()
        if plots:
            tab.wait_for_function(f"document.querySelectorAll('[data-drawn]').length === {plots}", timeout=30_000)
            assert tab.locator(".plot .main-svg").count() >= plots, rel
        assert tab.locator("h1").count() == 1, rel
        violations = [v for v in axe.run(tab).response["violations"] if v["impact"] in SERIOUS]
        assert not violations, (rel, [(v["id"], v["nodes"][0]["html"][:120]) for v in violations])
        # a sample of the page's own links opens in the browser too
        for href in tab.eval_on_selector_all("main a[href$='.html']", "els => els.slice(0, 2).map(e => e.href)"):
            assert tab.request.get(href).ok, href
    assert not tab.problems, tab.problems
    assert not tab.outside, tab.outside


@pytest.mark.browser
def test_index_filters_follow_the_address_bar(tab, served, dataset):
    tab.goto(f"{served}/index.html?topic=onset")
    tab.wait_for_load_state("networkidle")
    onset = sum(c.topic == "onset" for c in dataset.claims)
    assert tab.locator(".claim-card:visible").count() == onset
    assert tab.locator("#count").inner_text().startswith(f"{onset} of {len(dataset.claims)} claims")
    tab.get_by_label("Search the claims and quotes").fill("24 hours")
    expected = sum(c.topic == "onset" and "24 hours" in (c.short + " " + " ".join(a.quote for a in c.appearances))
                   .lower() for c in dataset.claims)
    assert tab.locator(".claim-card:visible").count() == expected
    assert "q=24+hours" in tab.url and "topic=onset" in tab.url
    tab.get_by_label("Search the claims and quotes").fill("24-Hour ")  # the app's rule: case, hyphens, spaces
    assert tab.locator(".claim-card:visible").count() == expected
    # from the start of a word, as the app: "ECT" had found 22 claims by "effect" and "injection"
    tab.locator("input[name=topic][value=onset]").uncheck()
    tab.get_by_label("Search the claims and quotes").fill("ECT")
    cards = {c.id: c for c in dataset.claims}
    shown = tab.eval_on_selector_all(".claim-card:not([hidden])", "els => els.map(e => e.id)")
    assert shown == [cid for cid in cards if index_pages.matches(_card(dataset, cid), query="ECT")]
    assert all(re.search(r"\bect", (cards[cid].short + " " + " ".join(a.quote for a in cards[cid].appearances))
                         .lower()) for cid in shown), shown
    tab.keyboard.press("Tab")  # the controls are reachable by keyboard
    assert not tab.problems and not tab.outside


@pytest.mark.browser
def test_app_pages_have_no_serious_accessibility_violations(chromium):
    from axe_playwright_python.sync_playwright import Axe

    from tests.test_browser import free_port, start_streamlit

    port = free_port()
    proc = start_streamlit(REPO / "app.py", port)
    try:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        axe = Axe()
        for path in ("", "claim?claim=onset_24_hours", "claim?claim=more_than_80_percent_respond",
                     "study?study=lii2023_natmentalhealth"):
            page.goto(f"http://127.0.0.1:{port}/{path}")
            page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=90_000)
            page.wait_for_selector("h1", timeout=60_000)
            page.wait_for_load_state("networkidle")
            assert page.locator("text=Static copy of this page").count() >= 1, path
            assert page.locator('[data-testid="stAppDeployButton"]').count() == 0  # viewer toolbar
            violations = [v for v in axe.run(page).response["violations"] if v["impact"] in SERIOUS]
            assert not violations, (path, [(v["id"], v["nodes"][0]["html"][:120]) for v in violations])
        context.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_one_model_every_renderer_shows_the_same_numbers(site, dataset, tables):
    """The site, the HTML report and the bundle render the same claim page model: the same headline numbers."""
    import html as html_lib
    import io
    import zipfile

    from evidence.publishing import bundle

    claim = dataset.claim("more_than_80_percent_respond")
    page = claim_pages.build(claim, dataset, tables)
    assert page.key_number
    site_text = html_lib.unescape((site / "claim" / f"{claim.id}.html").read_text(encoding="utf-8"))
    report = html_lib.unescape(bundle.report_html(dataset, tables, include_charts=False))
    with zipfile.ZipFile(io.BytesIO(bundle.bundle(claim.id, dataset, tables, images=False))) as zf:
        paragraph = zf.read("paragraph.txt").decode("utf-8")
    for panel in page.panels:
        assert panel.headline in site_text and panel.basis in site_text
    assert page.key_number in site_text and page.key_number in report and page.key_number in paragraph


def test_bundle_is_deterministic_for_a_date(dataset, tables):
    from datetime import date

    from evidence.publishing import bundle

    day = date.fromisoformat(dataset.modified)
    first = bundle.bundle("onset_24_hours", dataset, tables, images=False, today=day)
    assert first == bundle.bundle("onset_24_hours", dataset, tables, images=False, today=day)


def test_the_shared_plotly_bundle_draws_every_trace_type(site):
    """The cartesian bundle (installed by make) is used only when it covers every trace the site draws."""
    from evidence.publishing.site import CARTESIAN_JS, CARTESIAN_TRACES

    figure = re.compile(r'<script type="application/json" id="fig-[^"]+">(.*?)</script>', re.DOTALL)
    types = {t.get("type", "scatter") for page in html_pages(site)
             for doc in figure.findall(page.read_text(encoding="utf-8")) for t in json.loads(doc)["data"]}
    assert "scatter" in types
    bundle = [p.name for p in (site / "assets").glob("plotly-*.min.js")]
    if CARTESIAN_JS.is_file():
        assert bundle[0].startswith("plotly-cartesian-") and types <= CARTESIAN_TRACES
    else:
        assert bundle[0].startswith("plotly-") and "cartesian" not in bundle[0]


def test_curated_markdown_never_makes_the_browser_fetch_an_image():
    from evidence.publishing.templating import Markdown

    html = str(Markdown()("![beacon](http://tracker.example/p.png)\n\n<img src='http://tracker.example/q.png'>"))
    assert "<img" not in html and "&lt;img" in html  # the raw tag is shown as text, the image syntax is not an image


def test_a_rebuild_that_meets_a_symlink_refuses_and_keeps_the_earlier_build(minimal, tmp_path):
    dataset = load_dataset(minimal)
    tables = build_tables(dataset)
    out = tmp_path / "site"
    build_site(dataset, tables, out, base_url=BASE)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine", encoding="utf-8")
    (out / "link").symlink_to(victim)
    with pytest.raises(SiteError, match=r"is a symbolic link.*nothing was deleted"):
        build_site(dataset, tables, out, base_url=BASE)
    assert sorted(p.relative_to(out) for p in out.rglob("*") if p.name != "link") == before
    assert (victim / "keep.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("args", [["--out", "{data}/site"], ["--out", "{tmp}/s", "--base-url", "javascript:alert(1)"],
                                  ["--out", "{tmp}/s", "--app-url", "not a url"], ["--out", ""]])
def test_cli_refuses_the_data_directory_bad_addresses_and_empty_values(minimal, tmp_path, capsys, args):
    from evidence.cli import main

    args = [a.format(data=minimal, tmp=tmp_path) for a in args]
    assert main(["--data", str(minimal), "site", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert not (minimal / "site").exists() and not (tmp_path / "s").exists(), "nothing was written"


def _hostile_minimal(minimal):
    """The minimal dataset with javascript: URLs put in by model_copy (the schema refuses them on load), and a
    rationale with an entity and Markdown in it."""
    import dataclasses

    ds = load_dataset(minimal)
    sources = [ds.sources[0].model_copy(update={"url": "JaVaScRiPt:alert(1)"})]
    studies = [ds.studies[0].model_copy(update={"pmid": None, "doi": None, "kind": "regulatory",
                                                "url": "javascript:alert(4)"})]
    claims = [ds.claims[0].model_copy(update={"rationale": "A &amp; B, *not emphasis*, [a link](https://x.example)."})]
    return dataclasses.replace(ds, sources=sources, studies=studies, claims=claims, version=f"{ds.version}-h",
                               _index={})


def test_pages_link_only_web_urls_even_from_unvalidated_records(minimal, tmp_path):
    from evidence.pages import study as study_pages

    ds = _hostile_minimal(minimal)
    tables = build_tables(ds)
    assert claim_pages.build(ds.claims[0], ds, tables).quotes[0].url is None
    assert study_pages.links(ds.studies[0]) == []
    out = tmp_path / "hostile-site"
    build_site(ds, build_tables(ds), out, base_url=BASE)
    for path in [out / "claim" / f"{ds.claims[0].id}.html", *sorted((out / "study").glob("*.html"))]:
        hrefs = parse(path).links
        assert hrefs and not [h for h in hrefs if "javascript" in h.lower()], (path, hrefs)
    citations = [p for p in out.rglob("*") if p.suffix in (".bib", ".ris", ".jsonld") or p.name.endswith(".csl.json")]
    assert citations
    for path in citations:  # the tables keep the curated value as data; citations and links never carry it
        assert "javascript:" not in path.read_text(encoding="utf-8").lower(), path


def test_the_rationale_is_shown_as_written_like_in_the_app(minimal, tmp_path):
    """The app shows the rationale through common.plain() (no entity, emphasis or link); the site agrees."""
    ds = _hostile_minimal(minimal)
    out = tmp_path / "rationale-site"
    build_site(ds, build_tables(ds), out, base_url=BASE)
    page = (out / "claim" / f"{ds.claims[0].id}.html").read_text(encoding="utf-8")
    assert "A &amp;amp; B, *not emphasis*, [a link](https://x.example)." in page
    assert "<em>not emphasis" not in page and 'href="https://x.example"' not in page


@pytest.mark.parametrize("page", ["index.html", "explorer/index.html", "methods.html"])
def test_every_page_has_a_machine_readable_twin_that_exists(site, dataset, page):
    """Claim, study and chart pages linked their data; the claims list, the explorer and the methods had not."""
    import json as json_module

    for tree in (site, site / "v" / dataset.version):
        html = (tree / page).read_text(encoding="utf-8")
        targets = re.findall(r'href="([^"#]+\.json(?:ld)?)"', html)
        assert targets, f"{page} links no JSON"
        for target in targets:
            path = (tree / page).parent / target
            assert path.is_file(), f"{page} links {target}, not in the build"
            json_module.loads(path.read_text(encoding="utf-8"))
    doc = json_module.loads((site / "methods.json").read_text(encoding="utf-8"))
    assert dataset.version in doc["summary"] and len(doc["verdicts"]) >= 5 and doc["changelog"]


def test_a_bundle_cites_every_study_its_numbers_rest_on(site, dataset, tables):
    """The onset bundles quoted Daly 2018's 55% vs 18% as their key number and left Daly 2018 out of the
    citations: the citations now hold every study a panel's number rests on."""
    import io
    import zipfile

    from evidence.pages import claim as claim_pages
    from evidence.publishing import bundle

    checked = 0
    for claim in dataset.claims:
        page = claim_pages.build(claim, dataset, tables)
        behind = {sid for p in page.panels for sid in (p.studies or [])}
        if not behind - {e.study for e in claim.evidence}:
            continue
        checked += 1
        files = zipfile.ZipFile(io.BytesIO(bundle.bundle(claim.id, dataset, tables, images=False, page=page)))
        bib = next(files.read(n).decode() for n in files.namelist() if n.endswith(".bib"))
        keys = set(re.findall(r"@\w+\{([^,]+),", bib))
        assert behind <= keys, (claim.id, behind - keys)
        assert behind <= set(re.findall(r"@\w+\{([^,]+),", (site / "claim" / f"{claim.id}.bib").read_text()))
    assert checked, "some claim's numbers rest on studies it does not link"


def test_the_claim_review_beside_a_page_names_the_same_author_as_the_page(site, dataset):
    claim = dataset.claims[0]
    embedded = json.loads(parse(site / "claim" / f"{claim.id}.html").jsonld[0])
    beside = json.loads((site / "claim" / f"{claim.id}.claimreview.jsonld").read_text(encoding="utf-8"))
    everyone = json.loads((site / "data" / "claimreviews.jsonld").read_text(encoding="utf-8"))
    assert embedded["author"] == beside["author"] == everyone[0]["author"]
    assert beside["url"] == f"{BASE}/v/{dataset.version}/claim/{claim.id}.html" == everyone[0]["url"]


def test_a_rebuild_that_fails_half_way_leaves_the_earlier_build_whole(minimal, tmp_path, monkeypatch):
    """A full disk during a rebuild had emptied the earlier build (379 of 1,512 files left, no index.html), and a
    failed first build left a truncated plotly.js under its final name."""
    dataset = load_dataset(minimal)
    tables = build_tables(dataset)
    out = tmp_path / "site"
    build_site(dataset, tables, out, base_url=BASE)
    before = tree_digest(out)
    real = Path.write_bytes
    calls = {"n": 0}

    def full_disk(self, data):
        calls["n"] += 1
        if calls["n"] > 40:
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(SiteError, match="the earlier build, if any, is unchanged"):
        build_site(dataset, tables, out, base_url=BASE)
    assert tree_digest(out) == before
    calls["n"] = 0
    fresh = tmp_path / "fresh"
    with pytest.raises(SiteError):
        build_site(dataset, tables, fresh, base_url=BASE)
    assert not fresh.exists(), "nothing under the final name"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith((".site.", ".fresh."))], "no staging left"


def _card(dataset, claim_id):
    return next(c for c in index_pages.build(dataset).cards if c.id == claim_id)


def test_a_certainty_badge_says_it_is_the_certainty(site, dataset):
    """Cards had read "Partly supported  Low": "Low" (or "High") could be taken for part of the verdict."""
    claim = dataset.claims[0]
    for page in ("index.html", f"claim/{claim.id}.html"):
        html = (site / page).read_text(encoding="utf-8")
        assert f">Certainty: {claim.certainty or 'not graded'}</span>" in html, page


def test_the_site_builds_into_the_current_directory(minimal, tmp_path, monkeypatch):
    """Built beside its folder and moved into place: "--out ." has no name of its own to build beside."""
    dataset = load_dataset(minimal)
    tables = build_tables(dataset)
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    build_site(dataset, tables, Path("."), base_url=BASE)
    build_site(dataset, tables, Path("."), base_url=BASE)  # and rebuilds there
    assert (here / "index.html").is_file() and (here / MARKER).is_file()
