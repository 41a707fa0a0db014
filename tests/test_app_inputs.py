"""The app under junk links and broken data: clamped or refused values with a notice, "not found" pages,
the validator's error panel instead of a traceback, and curated text that never renders an image."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import markdown_it
import pytest
from streamlit.testing.v1 import AppTest

from evidence.curation.load import load_dataset
from evidence.ui.common import parse_range, plain
from tests.conftest import FIXTURES, REPO, edit, run_page

DATASET = load_dataset(REPO / "data")
YEARS = sorted(s.citation.year for s in DATASET.studies)


run = run_page


def shown(at: AppTest) -> str:
    return "\n".join(e.value for kind in ("markdown", "caption", "title", "info", "warning", "error", "code")
                     for e in getattr(at, kind))


# --------------------------------------------------------------------------- query parameters

@pytest.mark.parametrize(("raw", "expected", "why"), [
    ("3000-1000", (2000, 2020), "narrowed"),
    ("2030-2040", (2000, 2020), "outside"),
    ("1900-1950", (2000, 2020), "outside"),
    ("2015-2005", (2005, 2015), None),
    ("2010-1990", (2000, 2010), "narrowed"),
    ("0-0", (2000, 2020), "outside"),
    ("abc", (2000, 2020), "not a range"),
    ("2001-2002-2003", (2000, 2020), "not a range"),
    ("", (2000, 2020), None),
    ("2003-2007", (2003, 2007), None),
])
def test_year_range_from_a_link_is_clamped_or_refused(raw, expected, why):
    value, message = parse_range(raw, 2000, 2020)
    assert value == expected
    assert (message is None) if why is None else (why in message)


@pytest.mark.parametrize("year", ["3000-1000", "2030-2040", "1900-1950", "2000-1990", "0-0"])
def test_explorer_survives_any_year_range(year):
    at = run("explorer", {"year": year})
    assert not at.exception, [e.value for e in at.exception]
    low, high = at.slider(key="year").value
    assert YEARS[0] <= low <= high <= YEARS[-1]
    assert any("publication year" in w.value for w in at.warning), "the page says it changed the link's value"


def test_unknown_select_value_is_refused_with_a_notice():
    at = run("explorer", {"chart": "Pie chart", "kind": "astrology", "blinded": "yes", "method": "magic"})
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    for given in ("'Pie chart'", "'astrology'", "'yes'", "'magic'"):
        assert given in _text(warnings), warnings
    assert at.toggle(key="blinded").value is False


@pytest.mark.parametrize(("page", "key", "list_label"), [("claim", "claim", "All claims"),
                                                         ("study", "study", "All studies")])
def test_unknown_permalink_is_not_found_with_a_link_to_the_list(page, key, list_label):
    at = run(page, {key: "no_such_record_x"})
    assert not at.exception, [e.value for e in at.exception]
    assert "not found" in at.title[0].value
    assert "no_such_record_x" in _text(at.error[0].value)
    links = [e.proto.label for e in at.get("page_link")]
    assert any(link.startswith(list_label) for link in links), links
    first = DATASET.claims[0].short if page == "claim" else DATASET.studies[0].citation.title
    assert first not in shown(at), "never silently the first record"


def _text(markdown: str) -> str:
    """What a reader sees of a Markdown message: its rendered text, no tags."""
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", MD.render(markdown))).strip()


INJECTED = "![x](http://127.0.0.1:1/p.png) [Official](http://127.0.0.1:1/) <img src=x>"


@pytest.mark.parametrize(("page", "params"), [
    ("claim", {"claim": INJECTED}), ("study", {"study": INJECTED}),
    ("explorer", {"kind": INJECTED, "chart": INJECTED, "year": INJECTED, "blinded": INJECTED}),
    ("claims", {"topic": INJECTED, "verdict": INJECTED}),
    ("check", {"url": "not a url " + INJECTED}),
])
def test_a_link_s_values_are_shown_as_text_in_the_app_s_messages(page, params):
    """st.error and st.warning render Markdown: a value from the link must not become an image or a link there."""
    if page == "claims":  # the default page: opened once (run_page's second run finds the filters already set)
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
        for key, value in params.items():
            at.query_params[key] = value
        at.run()
    else:
        at = run(page, params)
    assert not at.exception, [e.value for e in at.exception]
    messages = [e.value for kind in ("error", "warning", "caption") for e in getattr(at, kind)]
    said = [m for m in messages if "127.0.0.1" in _text(m)]
    assert said, messages  # the value is reported ...
    for m in said:  # ... as text: no image, link or HTML
        assert not {"image", "link_open", "html_inline", "html_block"} & set(_tokens(m)), m
        assert "![x](http://127.0.0.1:1/p.png)" in _text(m), _text(m)


def test_known_permalink_still_opens_its_record():
    claim = DATASET.claims[-1]
    at = run("claim", {"claim": claim.id})
    assert not at.exception
    assert claim.id in at.query_params["claim"]
    assert "not found" not in at.title[0].value


# --------------------------------------------------------------------------- broken data in the app

def _broken(tmp_path: Path, how: str) -> Path:
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "minimal", data)
    if how == "unhashable key":
        edit(data / "studies.yaml", "  kind: trial\n", "  kind: trial\n  ? [a]\n  : 1\n")
    elif how == "impossible date":
        text = (data / "claims.yaml").read_text()
        assert "2026-" in text
        import re

        (data / "claims.yaml").write_text(re.sub(r"2026-\d\d-\d\d", "2026-02-30", text, count=1))
    elif how == "directory":
        (data / "sources.yaml").unlink()
        (data / "sources.yaml").mkdir()
    elif how == "deep nesting":
        edit(data / "sources.yaml", 'title: "A page"', "title: " + "[" * 100_000)
    return data


@pytest.mark.parametrize("how", ["unhashable key", "impossible date", "directory", "deep nesting"])
def test_broken_data_shows_the_error_panel_not_a_traceback(tmp_path, monkeypatch, how):
    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(_broken(tmp_path, how)))
    at = run("claims")
    assert not at.exception, [e.value for e in at.exception]
    assert "did not validate" in at.error[0].value
    assert at.code and ".yaml" in at.code[0].value


# --------------------------------------------------------------------------- curated text

MD = markdown_it.MarkdownIt("commonmark")


def _tokens(text: str) -> list[str]:
    kinds = []
    for token in MD.parse(text):
        kinds.append(token.type)
        kinds.extend(child.type for child in token.children or [])
    return kinds


@pytest.mark.parametrize("text", [
    "See ![beacon](https://tracker.example/p.png?id=1) here",
    "![a][r]\n\n[r]: https://tracker.example/p.png",
    '<img src="https://tracker.example/p.png">',
    "[click](javascript:alert(1)) and <https://x.example>",
    "# Heading\n- list\n1. one\n> quote",
    "*emphasis* `code` $x^2$ &amp; ~~gone~~",
])
def test_plain_renders_curated_text_as_written(text):
    rendered = _tokens(plain(text))
    assert not {"image", "link_open", "html_inline", "html_block", "heading_open", "bullet_list_open",
                "ordered_list_open", "blockquote_open", "em_open", "code_inline"} & set(rendered), rendered
    assert "$" not in plain(text).replace("\\$", ""), "no LaTeX for Streamlit's markdown"
    words = [w for w in text.replace("\n", " ").split() if w.isalpha()]
    assert all(w in MD.render(plain(text)) for w in words), "the words themselves are kept"


def test_claim_page_escapes_curated_markdown(tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(REPO / "data", data, ignore=shutil.ignore_patterns("*.json", "*.md"))
    claim = DATASET.claims[0]
    text = (data / "claims.yaml").read_text(encoding="utf-8")
    marker = "rationale: >-\n"
    i = text.index(marker, text.index(f"id: {claim.id}")) + len(marker)
    (data / "claims.yaml").write_text(text[:i] + "    ![beacon](https://tracker.example/b.png)\n" + text[i:],
                                      encoding="utf-8")
    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(data))
    at = run("claim", {"claim": claim.id})
    assert not at.exception
    bodies = [m.value for m in at.markdown if "tracker.example" in m.value]
    assert bodies, "the rationale is shown"
    assert all("image" not in _tokens(b) for b in bodies)


@pytest.mark.parametrize("gaps", ["image", "fifo"])
def test_methods_page_renders_curated_markdown_without_images(tmp_path, monkeypatch, gaps):
    data = tmp_path / "data"
    shutil.copytree(REPO / "data", data)
    if gaps == "fifo":
        (data / "GAPS.md").unlink()
        import os

        os.mkfifo(data / "GAPS.md")  # would hang a plain read
    else:
        (data / "GAPS.md").write_text("# Gaps\n\n- see ![beacon](https://tracker.example/g.png) and "
                                      '<img src="https://tracker.example/h.png">\n', encoding="utf-8")
    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(data))
    at = run("methods")
    assert not at.exception, [e.value for e in at.exception]
    html = " ".join(e.proto.body for e in at.get("html"))
    if gaps == "fifo":
        assert any("GAPS.md: is a named pipe" in c.value for c in at.caption)
    else:
        assert "tracker.example/g.png" in html, "the document is shown"
        assert "<img" not in html


def test_landing_cards_keep_curated_text_inside_their_html(tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(REPO / "data", data)
    claim = DATASET.claims[0]
    text = (data / "claims.yaml").read_text(encoding="utf-8")
    quote = claim.appearances[0].quote
    assert text.count(quote) >= 1
    (data / "claims.yaml").write_text(text.replace(quote, quote + "\\n\\n![beacon](https://tracker.example/c.png)",
                                                   1), encoding="utf-8")
    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(data))
    assert "\n\n![beacon]" in load_dataset(data).claims[0].appearances[0].quote, "a blank line is planted"
    at = run("claims")
    assert not at.exception
    cards = next(m.value for m in at.markdown if 'class="claim-card"' in m.value)
    assert "tracker.example/c.png" in cards
    tokens = markdown_it.MarkdownIt("commonmark", {"html": True}).parse(cards)
    assert all(t.type == "html_block" for t in tokens), [t.type for t in tokens]


def test_error_panel_shows_at_most_200_errors(tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "minimal", data)
    record = (data / "sources.yaml").read_text().split("sources:\n", 1)[1]
    (data / "sources.yaml").write_text("sources:\n" + record.replace("kind: clinic marketing", "kind: advert") * 500)
    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(data))
    at = run("claims")
    assert not at.exception
    panel = at.code[0].value
    assert panel.count("\n") == 200 and "more (run `python -m evidence validate` for all)" in panel


# --------------------------------------------------------------------------- the Check page's upload box

@pytest.mark.parametrize(("name", "content", "said"), [
    ("![x](http://127.0.0.1:1/p.png).txt", b"%PDF-1.7 binary", "looks like a pdf"),
    ("empty.txt", b"", "the file is empty"),
    ("blank.html", b"  \n\t ", "the file is empty"),
    ("scripts.html", b"<html><script>var a = '80%';</script><style>p{}</style></html>", "no readable text"),
    ("big.txt", b"Ketamine works in 24 hours. " * 300_000, "the limit is 8 mib"),
])
def test_upload_box_says_what_is_wrong_with_a_file(name, content, said):
    at = run("check")
    at.file_uploader[0].set_value((name, content, "text/plain")).run()
    assert not at.exception, [e.value for e in at.exception]
    messages = [e.value for kind in ("error", "info") for e in getattr(at, kind)]
    assert any(said in _text(m).lower() for m in messages), messages
    assert not any(not {"image", "link_open"}.isdisjoint(_tokens(m)) for m in messages), messages
    assert not at.get("html"), "nothing is highlighted or tabled"


def test_pasted_text_over_the_limit_is_refused_not_checked_for_minutes():
    at = run("check")
    at.text_area(key="check_text").set_value("Ketamine works in 24 hours. " * 300_000).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("larger than 8 MiB" in e.value for e in at.error), [e.value for e in at.error]
    assert not at.get("html"), "nothing is highlighted or tabled"


def test_a_filtered_explorer_blames_its_filters_not_the_data():
    """Under filters the default-view note (which counts the unfiltered studies) is not shown, an empty forest
    says the selection has no effect, and a study without a sample size is not counted as 0 participants."""
    at = run("explorer", {"kind": "label"})
    assert not at.exception, [e.value for e in at.exception]
    text = shown(at)
    assert "The explorer's default view" not in text
    assert "None of the" in text or "The one selected study has no effect" in text or "No study is selected" in text
    assert "No study in the data has" not in text
    from evidence.curation.tables import build_tables

    studies = build_tables(DATASET).studies
    labels = studies[studies["kind"] == "label"]
    assert len(labels) >= 1
    if labels["n_randomized"].isna().all():
        assert "studies**; no sample size reported" in text and "0 participants in" not in text
    elif labels["n_randomized"].isna().any():
        assert "participants not reported for" in text
    default = run("explorer")
    assert "The explorer's default view" in shown(default)
    # syntheses pool the trials' participants: named apart, never added to the primary studies' total
    primary = studies[~studies["kind"].isin(["meta_analysis", "systematic_review"])
                      & ~studies["design"].str.contains("meta-analysis")]
    assert f"{int(primary['n_randomized'].sum()):,} participants in" in shown(default)
    assert "so not added" in shown(default) and "participants in total" not in shown(default)


def test_a_claim_citing_no_study_says_so_instead_of_an_empty_chart_and_table():
    uncited = [c for c in DATASET.claims if not c.evidence and not c.summaries]
    assert uncited, "the curated data have mechanism claims that cite no study"
    at = run("claim", {"claim": uncited[0].id})
    assert not at.exception, [e.value for e in at.exception]
    text = shown(at)
    assert "This claim cites no study" in text and "No study is cited for this claim." in text
    assert "listed below" not in text and "the chart shows what its cited studies report" not in text
    assert not at.dataframe or all(len(d.value) for d in at.dataframe), "no header-only table"
    assert not at.get("plotly_chart"), "no empty chart"


@pytest.mark.parametrize(("page", "key", "value"), [("check", "url", "http://127.0.0.1:1/?" + "a" * 2500),
                                                     ("claims", "q", "hours " * 500)])
def test_an_overlong_text_value_is_refused_not_cut(page, key, value):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params[key] = value
    at.run()
    if page != "claims":
        at.switch_page(f"evidence/ui/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("characters long" in w.value and "not used" in w.value for w in at.warning), \
        [w.value for w in at.warning]
    assert at.text_input(key=key).value == "", "never a cut value (a cut address is another page)"


def test_a_repeated_one_value_setting_says_which_it_shows():
    at = run("claim", {"claim": ["onset_24_hours", "onset_minutes"]})
    assert not at.exception, [e.value for e in at.exception]
    assert any("2 times" in w.value and "onset_minutes" in _text(w.value) for w in at.warning), \
        [w.value for w in at.warning]
    assert at.query_params["claim"] in ("onset_minutes", ["onset_minutes"]), "one value left in the link"
