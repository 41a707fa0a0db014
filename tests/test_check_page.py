"""The Check-a-text page: text shown as text (no Markdown images), a capped highlight for huge pastes, the
findings as a plain table with verdict badges, an example page, and a URL box bound to the permalink."""

from __future__ import annotations

import time

import pytest
import responses
from streamlit.testing.v1 import AppTest

from evidence.checking import fetch
from tests.conftest import REPO


def run_check(**state) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    for key, value in state.pop("params", {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page("evidence/ui/check.py")
    at.run()
    return at


def html_blocks(at: AppTest) -> list[str]:
    return [e.proto.body for e in at.get("html")]


def test_pasted_markdown_is_not_rendered_and_no_json_is_shown():
    at = run_check()
    at.text_area(key="check_text").set_value(
        "![beacon](https://tracker.example/pixel.png) Ketamine produces results in as little as 24 hours. "
        "**More than 80% of patients** received positive results.").run()
    assert not at.exception, [e.value for e in at.exception]
    blocks = "\n".join(html_blocks(at))
    assert "<img" not in blocks and "![beacon](https://tracker.example/pixel.png)" in blocks  # shown as text
    shown = blocks + "\n".join(m.value for m in [*at.markdown, *at.caption])
    assert "rule_id" not in shown and '{"' not in shown
    assert "More than 80% of patients get positive results" in " ".join(p.proto.label for p in at.get("page_link"))


@pytest.mark.timeout(900)
def test_a_huge_paste_is_capped_on_screen():
    sentence = "Ketamine produces results in as little as 24 hours for many of our patients. "
    big = (sentence * (1_000_000 // len(sentence)))[:1_000_000]
    at = run_check()
    started = time.perf_counter()
    at.text_area(key="check_text").set_value(big).run()
    elapsed = time.perf_counter() - started
    assert not at.exception, [e.value for e in at.exception]
    blocks = html_blocks(at)
    assert all(b.count("<mark") <= 300 and b.count("<tr>") <= 301 for b in blocks)
    assert any("Showing the first 300" in c.value for c in at.caption)
    assert elapsed < 240, elapsed  # 2 shared cores; measured ~15-30 s on this machine


def test_example_page_button_fills_the_text():
    at = run_check()
    at.button[0].click().run()
    assert not at.exception
    assert "Riverbend" in at.text_area(key="check_text").value
    assert any("flagged sentence(s)" in m.value for m in at.markdown)


@responses.activate
def test_url_box_fetches_through_the_guard_and_is_a_permalink(monkeypatch):
    monkeypatch.setattr(fetch, "resolve", lambda host, port: ["93.184.215.14"])
    body = "".join(f"<p>Paragraph {i} about our ketamine clinic and its caring team of doctors.</p>" for i in range(6))
    responses.get("https://clinic.example/k", content_type="text/html",
                  body=f"<html><body><article>{body}<p>Ketamine produces results in as little as 24 hours.</p>"
                       "</article></body></html>")
    at = run_check(params={"url": "https://clinic.example/k"})
    assert not at.exception, [e.value for e in at.exception]
    assert any("clinic.example/k" in c.value for c in at.caption)
    assert "flagged sentence(s)" in "\n".join(m.value for m in at.markdown)


@responses.activate
def test_a_checked_url_without_readable_text_says_so(monkeypatch):
    """An empty or scripts-only page had been answered with "Nothing to check yet." under its own address."""
    monkeypatch.setattr(fetch, "resolve", lambda host, port: ["93.184.215.14"])
    responses.get("https://clinic.example/scripts", content_type="text/html",
                  body="<html><head><script>var share = '80%';</script></head><body></body></html>")
    at = run_check(params={"url": "https://clinic.example/scripts"})
    assert not at.exception, [e.value for e in at.exception]
    assert any("No readable text in" in i.value and "clinic.example/scripts" in i.value for i in at.info)
    assert not any("Nothing to check yet" in i.value for i in at.info)


def test_url_box_refuses_loopback():
    at = run_check(params={"url": "http://127.0.0.1:8501/"})
    assert not at.exception
    assert any("non-public address" in e.value for e in at.error)
