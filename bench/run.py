"""Orchestration: generate each scale, measure, compare with the targets, print, write JSON."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import measure
from bench.generate import generate

RESULTS = Path(__file__).resolve().parent / "results"
APP_TITLE, FOOTER = "Ketamine for depression", "Data version"
CACHE_STATES = (False, True) if measure.PARSE_CACHE else (False,)
CACHE_LABEL = {False: "no parse cache", True: "warm parse cache"} if measure.PARSE_CACHE else {False: "cold"}
SITE_CLAIM = "onset_24_hours"  # the static page and the app page compared
GROWTH_LIMIT = 11.0  # "no faster than linear": 10x the data may cost up to ~10x (10% slack for noise)
FULL = {"scales": [1, 10, 100], "load": {1: 5, 10: 5, 100: 3}, "pages": {1: 5, 10: 3, 100: 2}, "cold_start": 3,
        "checker": (5, 3)}
QUICK = {"scales": [1, 10], "load": {1: 3, 10: 3, 100: 2}, "pages": {1: 3, 10: 2, 100: 1}, "cold_start": 2,
         "checker": (3, 1)}


def log(msg: str) -> None:
    print(msg, flush=True)


def fmt_value(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "MB":
        return f"{value:.0f} MB"
    if unit == "KB":
        return f"{value:.0f} KB"
    if unit == "x":
        return f"{value:.1f}×"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0][:160] if (text or "").strip() else ""


class Report:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, name: str, scale: int | None, value: float | None, unit: str = "s", *, n: int | None = None,
            floor: float | None = None, target: str = "", limit: float | None = None, note: str = "",
            error: str = "") -> dict:
        """One table row; ``error``: the page raised, so its time is not a valid measurement."""
        ratio = value / floor if value is not None and floor and not error else None
        met = None if limit is None or value is None else bool(value <= limit)
        if error and limit is not None:
            met = "error"
        row = {"measurement": name, "scale": scale, "n": n, "value": None if error else value, "unit": unit,
               "x_floor": ratio, "target": target, "met": met, "note": note, "error": error}
        self.rows.append(row)
        return row

    def print(self) -> None:
        head = f"{'measurement':62s} {'scale':>5s} {'n':>2s} {'median':>10s} {'×floor':>7s}  {'target':22s} met?"
        log("\n" + head + "\n" + "-" * len(head))
        errors: dict[str, list[str]] = {}
        notes: dict[str, list[str]] = {}
        for r in self.rows:
            scale = f"{r['scale']}x" if r["scale"] else ""
            met = {True: "yes", False: "NO", None: "", "error": "ERROR"}[r["met"]]
            ratio = f"{r['x_floor']:.1f}×" if r["x_floor"] else ""
            value = "raised" if r["error"] else ("timeout" if r["note"].startswith("not rendered")
                                                 else fmt_value(r["value"], r["unit"]))
            log(f"{r['measurement'][:62]:62s} {scale:>5s} {r['n'] or '':>2} {value:>10s} "
                f"{ratio:>7s}  {r['target'][:22]:22s} {met}")
            if r["error"]:
                errors.setdefault(r["error"], []).append(f"{r['measurement'].split(',')[0]} {scale}")
            elif r["note"] and r["note"] != "floor":
                notes.setdefault(r["note"], []).append(f"{r['measurement'].split(',')[0]} {scale}")
        for error, where in errors.items():
            log(f"  ! raised — {', '.join(sorted(set(where)))}: {error}")
        for note, where in notes.items():
            log(f"  note — {', '.join(sorted(set(where)))}: {note}")


def measure_site(report: Report, raw: dict, browser, reps: int) -> None:
    """The static site: build time, page weights without plotly.js, and a claim page static vs in the app
    (each opened cold in Chromium until its chart is drawn), side by side in the report."""
    from bench import browser as b

    log("static site: build, then a claim page static vs in the app, cold in Chromium …")
    from evidence.curation.load import load_dataset
    from evidence.curation.tables import build_tables
    from evidence.publishing.site import build_site

    site_dir = Path(tempfile.mkdtemp(prefix="evidence-bench-site-")) / "site"
    try:
        dataset = load_dataset(measure.REPO_ROOT / "data")
        built = build_site(dataset, build_tables(dataset), site_dir)
        raw["site"] = {"build_s": built.seconds, "pages": built.pages, "files": built.files}
        report.add("static site build (make site; whole site, both trees)", 1, built.seconds, n=1,
                   target="< 60 s", limit=60.0)
        weights = b.page_weights(site_dir)
        raw["site"]["weights"] = weights
        heaviest = max(weights, key=weights.get)
        report.add(f"static page weight without plotly.js, heaviest ({heaviest})", None,
                   weights[heaviest] / 1000, "KB", n=len(weights), target="< 300 KB", limit=300.0)
        report.add("static page weight without plotly.js, median", None,
                   measure.median_of(list(weights.values())) / 1000, "KB", n=len(weights))
        if browser is not None:
            claim_id = SITE_CLAIM
            versus = b.static_vs_app(browser, site_dir, claim_id, reps=reps)
            raw["site"]["static_vs_app"] = versus
            drawn = {k: [t for t in versus[k] if t is not None] for k in ("static", "app")}
            static, app = (measure.median_of(drawn[k]) if drawn[k] else None for k in ("static", "app"))
            report.add(f"claim page cold → chart drawn, static site ({claim_id})", 1, static,
                       n=len(versus["static"]), note="floor")
            report.add("claim page cold → chart drawn, app (new session, warm server)", 1, app,
                       n=len(versus["app"]), floor=static)
            if app is not None and static:
                row = report.add("claim page: app time / static time", None, app / static, "x",
                                 target="≥ 3× (static faster)")
                row["met"] = bool(app / static >= 3)
            report.add("claim page → chart drawn, app (first view on the server)", 1, versus["app_first"], n=1,
                       floor=static)
    finally:
        shutil.rmtree(site_dir.parent, ignore_errors=True)


def run(args: argparse.Namespace) -> dict:
    for name in ("streamlit.runtime.scriptrunner_utils.script_run_context",  # "missing ScriptRunContext"
                 "streamlit.error_util"):  # "Uncaught app execution": AppTest collects page exceptions
        logging.getLogger(name).addFilter(lambda record: False)
    plan = QUICK if args.quick else FULL
    scales = args.scales or plan["scales"]
    started, t_start = datetime.now(UTC), time.perf_counter()
    report, raw = Report(), {"scales": {}}
    bare = measure.write_bare()
    cache_dir = Path(tempfile.mkdtemp(prefix="evidence-bench-parse-cache-"))
    os.environ["EVIDENCE_CACHE_DIR"] = str(cache_dir)  # never the user's ~/.cache; servers inherit it
    browser_ok = not args.no_browser and Path("/usr/bin/chromium").exists()
    pw = browser = None
    if browser_ok:
        from playwright.sync_api import sync_playwright

        from bench import browser as b

        pw = sync_playwright().start()
        browser = b.launch(pw)
    try:
        # ---------------------------------------------------------------- checker (real data)
        log("checker (real data) …")
        small, big = plan["checker"]
        checker = measure.measure_checker(small, big)
        raw["checker"] = checker
        if checker is None:
            log("checker: not available")
            report.add("checker: not available", None, None)
        else:
            report.add("checker, 2,000-word page", None, checker["2000 words"]["median"],
                       n=len(checker["2000 words"]["runs"]), target="< 100 ms", limit=0.1)
            report.add("checker, 1 MB of text", None, checker["1 MB"]["median"], n=len(checker["1 MB"]["runs"]),
                       target="< 3 s", limit=3.0)

        # ---------------------------------------------------------------- cold start vs bare (real data)
        if browser is not None:
            log("cold start in Chromium: app.py (real data, no parse cache) vs bare page …")
            starts: dict[str, list[dict]] = {"app": [], "bare": []}
            for _ in range(plan["cold_start"]):  # alternate, so drift hits both equally
                starts["bare"].append(b.cold_start(browser, bare, measure.BARE_TITLE, measure.BARE_LINE))
                starts["app"].append(b.cold_start(browser, measure.APP, APP_TITLE, FOOTER, measure.REPO_ROOT / "data",
                                                  env={"EVIDENCE_CACHE_DIR": "off"}))
            raw["cold_start"] = starts
            med = {k: measure.median_of([r["total"] for r in v]) for k, v in starts.items()}
            report.add("cold start → bare page rendered (Chromium)", None, med["bare"], n=len(starts["bare"]),
                       note="floor")
            report.add("cold start → landing rendered (Chromium)", 1, med["app"], n=len(starts["app"]),
                       floor=med["bare"], target="≤ 1.5× bare", limit=1.5 * med["bare"],
                       error=first_line(next((r["error"] for r in starts["app"] if r["error"]), None)))
            for part in ("server_ready", "render"):
                report.add(f"  of which {part.replace('_', ' ')}: landing / bare", None,
                           measure.median_of([r[part] for r in starts["app"]]), n=len(starts["app"]),
                           floor=measure.median_of([r[part] for r in starts["bare"]]))

        # ---------------------------------------------------------------- static site vs app (real data)
        measure_site(report, raw, browser, plan["cold_start"])

        # ---------------------------------------------------------------- per scale
        for scale in scales:
            log(f"\n== {scale}x: generating …")
            t0 = time.perf_counter()
            gen = generate(scale, seed=args.seed)
            size = sum(p.stat().st_size for p in gen.path.iterdir())
            log(f"   {gen.studies} studies, {gen.claims} claims, {gen.sources} sources, {size / 1e6:.1f} MB, "
                f"valid ({time.perf_counter() - t0:.1f} s) in {gen.path}")
            info: dict = {"studies": gen.studies, "claims": gen.claims, "sources": gen.sources, "bytes": size}
            raw["scales"][scale] = info
            try:
                reps = plan["load"].get(scale, 3)
                info["load"] = {}
                for cached in CACHE_STATES:
                    label = CACHE_LABEL[cached]
                    log(f"   load + validate + tables, {label}, up to ×{reps} …")
                    info["load"][label] = lo = measure.measure_load(gen.path, reps, cached=cached)
                    log(f"    median {lo['median']:.2f} s (validate {lo['validate_median']:.2f} s), n={lo['n']}")
                    report.add(f"load + validate + tidy tables, {label}", scale, lo["median"], n=lo["n"],
                               **({"target": "< 2 s", "limit": 2.0} if scale == 100 else {}))
                    report.add(f"  of which validate, {label}", scale, lo["validate_median"], n=lo["n"])
                reps = plan["pages"].get(scale, 2)
                log(f"   pages under AppTest, up to ×{reps} (fewer when slow) …")
                pages = measure.measure_pages(gen.path, reps, bare, log=log)
                info["pages"] = pages
                floor = pages["bare"]
                report.add("bare page, cold (AppTest)", scale, floor["cold"]["median"], n=floor["n"], note="floor")
                report.add("bare page, rerun (AppTest)", scale, floor["rerun"]["median"], n=floor["n"], note="floor")
                for page in measure.PAGES:
                    first = pages["first_view"][page]
                    report.add(f"page {page}, first view after load (AppTest)", scale, first["cold"], n=1,
                               floor=floor["cold"]["median"], error=first_line(next(iter(first["errors"]), None)),
                               note="includes importing the page's modules" if scale == scales[0] else "")
                    p = pages[page]
                    error = first_line(p["cold"]["errors"][0] if p["cold"]["errors"] else None)
                    report.add(f"page {page}, cold (AppTest)", scale, p["cold"]["median"], n=p["n"],
                               floor=floor["cold"]["median"], error=error)
                    error = first_line(p["rerun"]["errors"][0] if p["rerun"]["errors"] else None)
                    target = {1: ("< 150 ms", 0.15), 100: ("< 1 s", 1.0)}.get(scale)
                    report.add(f"page {page}, rerun: {p['change']}", scale, p["rerun"]["median"], n=p["n"],
                               floor=floor["rerun"]["median"], error=error,
                               **({"target": target[0], "limit": target[1]} if target else {}))
                if browser is not None:
                    info["server"] = {}
                    for cached in CACHE_STATES:
                        label = CACHE_LABEL[cached]
                        log(f"   streamlit run ({label}) + Chromium: landing then explorer, peak RSS …")
                        with measure.parse_cache(cached):
                            mem = b.memory_run(browser, measure.APP, gen.path,
                                               [("", APP_TITLE, FOOTER), ("explorer", "Evidence explorer", FOOTER)])
                        info["server"][label] = mem
                        log(f"    {mem}")
                        late = f"not rendered within {mem['timeout_s']:.0f} s"
                        report.add(f"server start → landing rendered, {label}", scale, mem["first_render_total"],
                                   n=1, error=first_line(mem["errors"].get("landing")),
                                   note="" if mem["first_render_total"] is not None else late)
                        report.add(f"explorer rendered next, {label}", scale, mem["render"]["explorer"], n=1,
                                   error=first_line(mem["errors"].get("explorer")),
                                   note="" if mem["render"]["explorer"] is not None else late)
                        report.add(f"server peak RSS (landing + explorer), {label}", scale, mem["peak_rss_mb"],
                                   "MB", n=1, **({"target": "< 600 MB", "limit": 600.0} if scale == 100 else {}))
            finally:
                shutil.rmtree(gen.path, ignore_errors=True)
                measure.clear_caches()

        # ---------------------------------------------------------------- growth 10x → 100x
        if 10 in raw["scales"] and 100 in raw["scales"]:
            by = {(r["measurement"], r["scale"]): r["value"] for r in report.rows}
            names = [r["measurement"] for r in report.rows if r["scale"] == 100]
            for name in names:
                lo, hi = by.get((name, 10)), by.get((name, 100))
                if lo and hi and not math.isnan(lo) and not math.isnan(hi):
                    report.add(f"growth 10x→100x: {name.strip()}", None, hi / lo, "x", target="≤ ~10× (linear)",
                               limit=GROWTH_LIMIT)
    finally:
        if browser is not None:
            browser.close()
        if pw is not None:
            pw.stop()
        shutil.rmtree(bare.parent, ignore_errors=True)
        shutil.rmtree(cache_dir, ignore_errors=True)
        os.environ.pop("EVIDENCE_CACHE_DIR", None)

    duration = time.perf_counter() - t_start
    report.print()
    judged = [r for r in report.rows if r["met"] is not None]
    log(f"\ntargets met: {sum(r['met'] is True for r in judged)} of {len(judged)} "
        f"({sum(r['met'] == 'error' for r in judged)} not measurable: the page raised); "
        f"total bench time {duration / 60:.1f} min")
    return {
        "date": started.date().isoformat(), "started": started.isoformat(timespec="seconds"),
        "duration_s": round(duration, 1), "mode": "quick" if args.quick else ("custom" if args.scales else "full"),
        "argv": sys.argv[1:], "seed": args.seed, "scales": scales,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "notes": {"parse cache": "evidence.curation.load caches parsed YAML on disk by content hash; "
                                 "'no parse cache' = "
                                 "EVIDENCE_CACHE_DIR=off (first load of new data), 'warm parse cache' = a restart",
                  "first view (AppTest)": "the first session to open the page after the data were loaded: "
                                          "per-claim panels, the checker's index etc. computed (and, on the "
                                          "first scale, the page's modules imported)",
                  "cold (AppTest)": "fresh AppTest session opening the page through app.py, on a warm server "
                                    "(dataset in st.cache_resource, first views done; load is measured separately)",
                  "rerun (AppTest)": "same session, after the filter change named in the row",
                  "timing": "time.perf_counter around at.run() (AppTest) or from navigation to rendered (Chromium); "
                            "gc.collect() before each timed run so earlier runs' garbage is not billed to it",
                  "×floor": "ratio to the bare page (title + one line) measured the same way in the same run",
                  "growth limit": f"met when time(100x) / time(10x) ≤ {GROWTH_LIMIT}"},
        "rows": report.rows, "raw": raw,
    }


def write(result: dict) -> list[Path]:
    RESULTS.mkdir(exist_ok=True)
    suffix = "" if result["mode"] == "full" else f"-{result['mode']}"
    text = json.dumps(_clean(result), indent=2, default=str, allow_nan=False)
    paths = [RESULTS / f"{result['date']}{suffix}.json", RESULTS / f"latest{suffix}.json"]
    for path in paths:
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(path)
    return paths


def _clean(obj):
    """NaN → None so that the JSON is strict."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Speed and memory benchmarks.")
    parser.add_argument("--quick", action="store_true", help="1x and 10x only, fewer repeats")
    parser.add_argument("--scales", type=lambda s: [int(x) for x in s.split(",") if x.strip()],
                        help="comma-separated scales, e.g. 1,10,100")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-browser", action="store_true", help="skip the streamlit run + Chromium measurements")
    args = parser.parse_args(argv)
    result = run(args)
    log("results: " + ", ".join(str(p.relative_to(Path.cwd()) if p.is_relative_to(Path.cwd()) else p)
                                for p in write(result)))
    return 0
