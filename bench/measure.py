"""In-process measurements: load + validate + tables, every page under AppTest, the checker."""

from __future__ import annotations

import contextlib
import gc
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from evidence.curation import load, tables
from evidence.curation.load import REPO_ROOT

APP = REPO_ROOT / "app.py"
PAGES = ("claims", "claim", "explorer", "study", "check", "methods")
BARE_SCRIPT = 'import streamlit as st\n\nst.title("Bare page")\nst.write("One line of text.")\n'
BARE_TITLE, BARE_LINE = "Bare page", "One line of text."
CHANGE = {  # what the rerun changes, per page
    "claims": "topic multiselect set to one topic",
    "claim": "another claim selected (the ?claim= selectbox)",
    "explorer": "'Blinded studies only' toggled on",
    "study": "another study selected (the ?study= selectbox)",
    "check": "a 99-word clinic paragraph pasted into the text area",
    "methods": "plain rerun (the page has no filters)",
}
PASTED = (
    "Ketamine therapy works within hours, unlike antidepressants that take weeks. More than 80% of our "
    "patients respond after a series of six infusions, and the relief can last for months. Ketamine is "
    "safe and non-addictive when given in a clinic. Each infusion takes about 40 minutes. Studies show "
    "ketamine helps people whose depression has not responded to other medications, and it can quickly "
    "reduce suicidal thoughts. Book a free consultation today to find out whether ketamine is right for "
    "you. Side effects such as dissociation pass within two hours. Up to 70% of patients with treatment-"
    "resistant depression see improvement."
)


def median_of(runs: list[float]) -> float:
    return statistics.median(runs)


def timed(fn: Callable[[], object]) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def clear_caches() -> None:
    load._CACHE.clear()
    tables._CACHE.clear()


# --------------------------------------------------------------------------- load


PARSE_CACHE = hasattr(load, "cache_dir")  # evidence.curation.load's on-disk parse cache ($EVIDENCE_CACHE_DIR, "off")


@contextlib.contextmanager
def parse_cache(enabled: bool):
    """Run with evidence.curation.load's on-disk parse cache switched off, or on (the bench's own cache directory)."""
    before = os.environ.get("EVIDENCE_CACHE_DIR")
    if not enabled:
        os.environ["EVIDENCE_CACHE_DIR"] = "off"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("EVIDENCE_CACHE_DIR", None)
        else:
            os.environ["EVIDENCE_CACHE_DIR"] = before


def measure_load(directory: Path, repeats: int, budget_s: float = 45.0, *, cached: bool = False) -> dict:
    """validate() + build_tables() from cold in-process caches (fewer repeats once ``budget_s`` is used).

    ``cached``: with evidence.curation.load's on-disk parse cache warm (a server restart), else with it off (the
    first load of new data).
    """
    with parse_cache(cached):
        if cached:
            clear_caches()
            load.validate(directory)  # fills the on-disk parse cache (not timed)
        return _measure_load(directory, repeats, budget_s)


def _measure_load(directory: Path, repeats: int, budget_s: float) -> dict:
    totals, parts = [], []
    started = time.perf_counter()
    while len(totals) < repeats and (len(totals) < 2 or time.perf_counter() - started < budget_s):
        clear_caches()
        gc.collect()
        t0 = time.perf_counter()
        dataset, errors = load.validate(directory)
        t1 = time.perf_counter()
        if errors or dataset is None:
            raise RuntimeError(f"{directory} does not validate: {errors[:3]}")
        tables.build_tables(dataset)
        t2 = time.perf_counter()
        totals.append(t2 - t0)
        parts.append((t1 - t0, t2 - t1))
    clear_caches()
    return {"runs": totals, "median": median_of(totals), "n": len(totals),
            "validate_median": median_of([p[0] for p in parts]), "tables_median": median_of([p[1] for p in parts])}


# --------------------------------------------------------------------------- AppTest


def _apptest(script: Path):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(script), default_timeout=900)


def _errors(at) -> list[str]:
    return [e.value[:300] for e in at.exception]


def _change(page: str, at, dataset) -> None:
    if page == "claims":
        at.multiselect(key="topic").set_value([sorted({c.topic for c in dataset.claims})[0]])
    elif page == "claim":
        at.selectbox(key="claim").set_value(dataset.claims[1].id)
    elif page == "explorer":
        at.toggle(key="blinded").set_value(True)
    elif page == "study":
        at.selectbox(key="study").set_value(dataset.studies[1].id)
    elif page == "check":
        at.text_area(key="check_text").input(PASTED)


def page_once(page: str, dataset) -> tuple[float, float, list[str], list[str]]:
    """A fresh AppTest session opening the page through app.py, then one filter change.

    Returns (cold s, rerun s, errors raised on the cold run, errors raised on the rerun).
    """
    at = _apptest(APP)
    at.switch_page(f"evidence/ui/{page}.py")  # before the first run: the session opens on this page
    cold = timed(at.run)
    cold_errors = _errors(at)
    if cold_errors:
        return cold, float("nan"), cold_errors, cold_errors
    _change(page, at, dataset)
    rerun = timed(at.run)
    return cold, rerun, [], _errors(at)


def bare_once(script: Path) -> tuple[float, float]:
    at = _apptest(script)
    cold = timed(at.run)
    rerun = timed(at.run)
    return cold, rerun


def write_bare(directory: Path | None = None) -> Path:
    directory = directory or Path(tempfile.mkdtemp(prefix="evidence-bench-bare-"))
    path = directory / "bare.py"
    path.write_text(BARE_SCRIPT, encoding="utf-8")
    return path


def measure_pages(data_dir: Path, repeats: int, bare: Path, *, budget_s: float = 15.0,
                  log: Callable[[str], None] = print) -> dict:
    """Every page, cold and rerun, plus the bare floor, on ``data_dir``.

    First every page once (the "first view": the dataset into st.cache_resource, per-claim panels and the
    checker's index computed, and on the first scale the page modules imported); those times are kept under
    ``first_view``.  Then each page runs ``repeats`` times, fewer once it has used ``budget_s``: "cold" is a
    new session on a warm server, "rerun" the same session after a filter change.
    """
    os.environ["EVIDENCE_DATA_DIR"] = str(data_dir)
    dataset = load.load_dataset(data_dir)
    t0 = time.perf_counter()
    first_view = {}
    for page in PAGES:
        cold, rerun, errs_cold, errs_rerun = page_once(page, dataset)
        first_view[page] = {"cold": cold, "rerun": rerun, "errors": sorted(set(errs_cold + errs_rerun))}
    bare_once(bare)
    log(f"    first view of every page (server caches cold): {time.perf_counter() - t0:.1f} s")
    out: dict = {}
    for page in [*PAGES, "bare"]:
        colds, reruns, cold_errors, rerun_errors = [], [], [], []
        started = time.perf_counter()
        while len(colds) < repeats and (not colds or time.perf_counter() - started < budget_s):
            if page == "bare":
                cold, rerun = bare_once(bare)
            else:
                cold, rerun, errs_cold, errs_rerun = page_once(page, dataset)
                cold_errors.extend(errs_cold)
                rerun_errors.extend(errs_rerun)
            colds.append(cold)
            reruns.append(rerun)
        out[page] = {"cold": {"runs": colds, "median": median_of(colds), "errors": sorted(set(cold_errors))},
                     "rerun": {"runs": reruns, "median": median_of(reruns), "errors": sorted(set(rerun_errors))},
                     "n": len(colds), "change": CHANGE.get(page, "plain rerun")}
        errors = cold_errors + rerun_errors
        log(f"    {page:9s} cold {out[page]['cold']['median'] * 1000:8.0f} ms   "
            f"rerun {out[page]['rerun']['median'] * 1000:8.0f} ms   n={len(colds)}"
            + (f"   ERROR: {errors[0].splitlines()[0][:120]}" if errors else ""))
    out["first_view"] = first_view
    return out


# --------------------------------------------------------------------------- checker


def checker_texts() -> tuple[str, str]:
    """A 2,000-word page and 1 MB of text, from the synthetic held-out clinic pages (or the claim quotes)."""
    fixtures = sorted((REPO_ROOT / "tests" / "fixtures" / "checker").glob("heldout_*.txt"))
    lines = [ln for f in fixtures for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not lines:
        lines = [a.quote for c in load.load_dataset(REPO_ROOT / "data").claims for a in c.appearances]
    page, words, i = [], 0, 0
    while words < 2000:
        line = lines[i % len(lines)].split()[: 2000 - words]
        page.append(" ".join(line))
        words += len(line)
        i += 1
    two_k = "\n".join(page)
    big = []
    size = 0
    while size < 1_000_000:
        big.append(two_k)
        size += len(two_k.encode()) + 1
    return two_k, "\n".join(big)[:1_000_000].rsplit(" ", 1)[0]


def measure_checker(repeats_small: int, repeats_big: int) -> dict | None:
    try:
        from evidence.checking.checker import check_text
    except ImportError:
        return None
    dataset = load.load_dataset(REPO_ROOT / "data")
    tabs = tables.build_tables(dataset)
    small, big = checker_texts()
    first = timed(lambda: check_text(small, dataset, tabs))  # builds the claim index once
    out = {"first_call_2000_words": first}
    for name, text, repeats in (("2000 words", small, repeats_small), ("1 MB", big, repeats_big)):
        runs: list[float] = []
        started = time.perf_counter()
        while len(runs) < repeats and (not runs or time.perf_counter() - started < 20):
            runs.append(timed(lambda text=text: check_text(text, dataset, tabs)))
        out[name] = {"runs": runs, "median": median_of(runs), "words": len(text.split()),
                     "bytes": len(text.encode())}
    return out
