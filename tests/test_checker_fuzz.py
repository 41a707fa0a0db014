"""The checker never fails and stays linear: fuzzed text, bytes, HTML, huge and pathological inputs."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence.checking.checker import Finding, check_text, extract_text, split_sentences
from evidence.checking.quantities import CURRENCY_CODES, DOSE_UNIT_NAMES, MAX_CHARS, _extract, extract_quantities
from evidence.curation.load import load_dataset
from evidence.curation.tables import build_tables

FIX = Path(__file__).parent / "fixtures" / "checker"
DATASET = load_dataset(FIX / "data")
TABLES = build_tables(DATASET)
# "other": ages, spans of the past, doses (mg) and prices (a currency), read and shown, never compared
KINDS = {"share", "onset", "duration", "count", "infusion_length", "other"}
UNITS = {"percent", "hours", "days", "minutes", "infusions", "none"} | DOSE_UNIT_NAMES | CURRENCY_CODES
FRAMINGS = {"up to", "as little as", "more than", "at least", "about", "range", "none"}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# text that exercises the parsers: figures, ranges, bullets, tags, terminators
PIECES = st.sampled_from([
    "Ketamine works in as little as 24 hours", " up to 80% ", "4 out of 5", " 1-3 days", "~2 weeks – 3 months",
    "• ", "\n- ", "\n1. ", ". ", "! ", "? ", "…", "e.g. ", "Dr. ", " within minutes", " a few ", " several ",
    " weeks or even months", "<p>", "</p>", "<script>", "</script>", "<br>", "&amp;", "&#x2014;", "%", "+", "-",
    "–", "(555) 010-2340", "1960s. ", " half of ", " two-thirds ", "\r\n", "\u2028", "\x00", "\ufffd", "🙂",
    "İ", "ǅ", "ﬁ", "\u0301", "٣", "۴", "½",
])
MIXED = st.lists(st.one_of(PIECES, st.text(max_size=20)), max_size=40).map("".join)


def check_invariants(text: str, findings: list[Finding], *, html: bool) -> None:
    base = extract_text(text) if html else text
    starts = [f.start for f in findings]
    assert starts == sorted(starts)
    for f in findings:
        assert 0 <= f.start < f.end <= len(base)
        assert base[f.start:f.end] == f.sentence
        assert 0 <= f.similarity <= 100
        for q in f.quantities:
            assert q["kind"] in KINDS and q["unit"] in UNITS and q["framing"] in FRAMINGS
            assert q["low"] <= q["high"]


@FUZZ
@given(st.one_of(st.text(), MIXED))
def test_any_text_plain(text):
    check_invariants(text, check_text(text, DATASET, TABLES, html=False), html=False)


@FUZZ
@given(st.one_of(st.text(), MIXED))
def test_any_text_as_html(text):
    check_invariants(text, check_text(text, DATASET, TABLES, html=True), html=True)


@FUZZ
@given(st.binary(max_size=4000))
def test_binary_junk_decoded(data):
    text = data.decode("utf-8", errors="replace")
    check_invariants(text, check_text(text, DATASET, TABLES, html=False), html=False)
    check_text(text, DATASET, TABLES)  # HTML detection on junk


@FUZZ
@given(st.one_of(st.text(max_size=300), MIXED))
def test_quantities_never_fail(text):
    # the parser itself, without extract_quantities' safety net, so that a bug shows up here
    assert extract_quantities(text) == _extract(text[:MAX_CHARS])
    for q in _extract(text):
        assert q.kind in KINDS and q.unit in UNITS and q.framing in FRAMINGS
        assert q.low <= q.high
        assert text[q.start:q.end] == q.text


@FUZZ
@given(st.one_of(st.text(), MIXED))
def test_sentences_cover_only_text(text):
    sentences = split_sentences(text)
    assert [s.start for s in sentences] == sorted(s.start for s in sentences)
    for a, b in itertools.pairwise(sentences):
        assert a.end <= b.start
    for s in sentences:
        assert text[s.start:s.end] == s.text and s.text.strip() == s.text


def test_empty_and_degenerate_inputs():
    for text in ("", " ", "\n\n\n", ".", "•", "<>", "<p></p>", "\x00" * 10, "\ufeff", "?!?!", "-" * 1000):
        assert check_text(text, DATASET, TABLES) == [] or all(f.sentence for f in check_text(text, DATASET, TABLES))
    assert check_text("", None, None) == []
    assert check_text(b"More than 80% respond \xff".decode("utf-8", "replace"), None, None)


def test_one_sentence_of_100000_characters():
    text = "ketamine works fast and lasts up to six months " * 2200  # ~103 KB, no sentence end
    start = time.process_time()
    findings = check_text(text, DATASET, TABLES)
    assert time.process_time() - start < 5
    assert len(findings) == 1 and findings[0].start == 0 and findings[0].end == len(text.rstrip())


@pytest.mark.parametrize("text", [
    "." * 200_000, "a." * 100_000, "1-" * 100_000, "%" * 200_000, "<" * 200_000, "<p " * 60_000,
    "• " * 100_000, "A. " * 60_000, "up to " * 30_000, "a few " * 30_000, "4 out of " * 20_000,
    "<p>" + "<b>x</b>" * 25_000, ("x" * 9 + "\n") * 20_000, "<!--" * 50_000, "</a " * 50_000 + ">",
    "<script>" + "<a>" * 50_000, "<a b='" + "<c>" * 50_000, "&#" * 100_000, "<!DOCTYPE " * 40_000,
], ids=["dots", "a-dot", "dash-numbers", "percent", "lt", "open-tags", "bullets", "initials", "up-to",
        "a-few", "out-of", "tags", "lines", "comments", "end-tag", "script", "quote", "charrefs", "doctype"])
def test_pathological_inputs_are_fast(text):
    """Each is ~200 KB built to trip a quadratic path (the stdlib HTML parser has one for "<p <p <p")."""
    start = time.process_time()
    check_text(text, DATASET, TABLES)
    check_text(text, DATASET, TABLES, html=True)
    assert time.process_time() - start < 20


@pytest.mark.parametrize("text", [
    "-" * 300 + " Antidepressants have failed for many people.",
    "'" * 300 + " Antidepressants have failed for many people.",
    "- " * 900 + "medications have not worked for them.",
    ("1% " * 600 + "of patients improved.\n") * 40,
], ids=["dashes-failed", "apostrophes-failed", "spaced-dashes-failed", "many-shares"])
def test_sentences_built_to_backtrack_are_fast(text):
    """A run of "-" or "'" before "... have failed" had backtracked ~n^5 ways (300 dashes: over a minute)."""
    start = time.process_time()
    check_text(text, DATASET, TABLES, html=False)
    assert time.process_time() - start < 20


def _page_text(size: int) -> str:
    pages = "\n\n".join(p.read_text(encoding="utf-8") for p in sorted(FIX.glob("heldout_*.txt")))
    return (pages * (size // len(pages) + 1))[:size]


def test_one_megabyte_and_linear_time():
    """1 MB of realistic text: never fails, and costs about ten times 100 KB (loosely: under 30x).

    CPU time (not wall time) and the best of two runs keep this stable on a loaded machine.
    """
    small, large = _page_text(100_000), _page_text(1_000_000)

    def cpu(text: str) -> tuple[float, int]:
        best, n = float("inf"), 0
        for _ in range(2 if len(text) < 500_000 else 1):
            start = time.process_time()
            n = len(check_text(text, DATASET, TABLES))
            best = min(best, time.process_time() - start)
        return best, n

    t_small, n_small = cpu(small)
    t_large, n_large = cpu(large)
    assert n_large >= 9 * n_small
    assert t_large < 30 * max(t_small, 0.05), (t_small, t_large)
    assert t_large < 120
