"""AppTest runs of every page through the real router (page links need st.navigation)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from evidence.curation.load import load_dataset
from tests.conftest import REPO, edit, run_page

DATASET = load_dataset(REPO / "data")
PAGES = ["claims", "claim", "explorer", "study", "check", "methods"]


run = run_page


def params(at: AppTest, key: str) -> list[str]:
    value = at.query_params.get(key, [])
    return value if isinstance(value, list) else [value]


def text(at: AppTest) -> str:
    return "\n".join(m.value for m in [*at.markdown, *at.caption, *at.title, *at.info])


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_without_exception(page):
    at = run(page)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, "every page has a title"
    assert "Data version" in text(at), "every page has the footer with the data version and licence"
    assert "CC BY 4.0" in text(at)


def test_claims_filters_change_the_list():
    at = run("claims")
    before = next(m.value for m in at.markdown if m.value.startswith("**") and "claims**" in m.value)
    assert before.startswith(f"**{len(DATASET.claims)} of {len(DATASET.claims)} claims**")
    at.multiselect(key="verdict").set_value(["Unsupported"]).run()
    after = next(m.value for m in at.markdown if "claims**" in m.value)
    expected = sum(c.verdict == "Unsupported" for c in DATASET.claims)
    assert after.startswith(f"**{expected} of {len(DATASET.claims)} claims**")
    assert params(at, "verdict") == ["Unsupported"], "the filter is written into the permalink"


def test_claims_permalink_restores_filters():
    at = run("claims", {"topic": ["onset"], "q": "24 hours"})
    cards = next(m.value for m in at.markdown if 'class="claim-card"' in m.value)
    assert cards.count('class="claim-card"') == 1
    assert "Ketamine produces results in as little as 24 hours" in cards
    assert 'href="claim?claim=onset_24_hours"' in cards
    assert at.multiselect(key="topic").value == ["onset"]


@pytest.mark.parametrize("query", ["24-hour", "24  hours", " 24 Hours\n", "24\u2013hours"])
def test_claims_search_ignores_case_spacing_and_hyphens(query):
    at = run("claims", {"topic": ["onset"], "q": query})
    cards = next(m.value for m in at.markdown if 'class="claim-card"' in m.value)
    assert 'href="claim?claim=onset_24_hours"' in cards, "the same claim '24 hours' finds"


def test_the_claims_search_matches_from_the_start_of_a_word():
    """"ECT" had found 22 claims by "effect", "effective" and "injection", none of them about ECT."""
    import re as re_module

    at = run("claims", {"q": "ECT"})
    cards = "\n".join(m.value for m in at.markdown if 'class="claim-card"' in m.value)
    found = re_module.findall(r'href="claim\?claim=([a-z0-9_]+)"', cards)
    text = {c.id: (c.short + " " + " ".join(a.quote for a in c.appearances)).lower() for c in DATASET.claims}
    assert all(re_module.search(r"\bect", text[cid]) for cid in found), found
    assert not any(cid for cid in found if "effect" in text[cid] and not re_module.search(r"\bect", text[cid]))
    addict = run("claims", {"q": "addict"})  # a word's start still finds the word
    assert 'claim?claim=lower_addiction_than_antidepressants' in "\n".join(m.value for m in addict.markdown)


def test_a_blank_search_is_no_search():
    at = run("claims", {"topic": ["onset"], "q": "   "})
    onset = sum(c.topic == "onset" for c in DATASET.claims)
    assert any(m.value.startswith(f"**{onset} of {len(DATASET.claims)} claims**") for m in at.markdown)


def test_claim_permalink_and_computed_numbers():
    claim = DATASET.claim("more_than_80_percent_respond")
    at = run("claim", {"claim": claim.id})
    assert at.title[0].value == claim.short
    body = text(at)
    assert claim.appearances[0].quote in body
    assert "Overstated" in body and "Certainty of the evidence: Low" in body
    # The headline number is computed from data/, not typed: recompute it here and compare.
    from evidence.curation.tables import build_tables
    from evidence.synthesis.claim_evidence import panels

    panel = panels(claim, build_tables(DATASET))[0]
    assert f"Pooled response in ketamine arms: {100 * panel.estimate:.0f}%" in body
    assert f"k = {panel.k} studies" in body
    assert len(at.get("plotly_chart")) >= 1


def test_study_page_shows_provenance():
    at = run("study", {"study": "lii2023_natmentalhealth"})
    frames = [df.value for df in at.dataframe]
    outcomes = next(f for f in frames if "source_quote" in f.columns and "outcome_id" in f.columns)
    assert outcomes["source_quote"].notna().all()


def test_explorer_filters_change_table_and_charts():
    at = run("explorer")
    all_rows = len(at.dataframe[0].value)
    at.toggle(key="blinded").set_value(True).run()
    blinded_rows = len(at.dataframe[0].value)
    assert blinded_rows == sum(s.blinding in ("double-blind", "single-blind", "triple-blind") for s in DATASET.studies)
    assert 0 < blinded_rows < all_rows
    assert params(at, "blinded") == ["1"]


def test_explorer_permalink_restores_filters():
    at = run("explorer", {"drug": ["esketamine"]})
    table = at.dataframe[0].value
    assert set(table["drug"]) == {"esketamine"}


def test_invalid_data_shows_the_error_list(minimal: Path, monkeypatch):
    edit(minimal / "studies.yaml", "year: 2001", "year: soon")
    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(minimal))
    at = run("claims")
    assert not at.exception
    assert "did not validate" in at.error[0].value
    assert "citation.year" in at.code[0].value


def test_explorer_draws_only_the_chosen_chart_and_restores_it_from_the_url():
    at = run("explorer", {"chart": "How long it lasts"})
    charts = at.get("plotly_chart")
    assert len(charts) == 1, "only the chosen chart is computed and drawn"
    assert "Durations of effect" in charts[0].proto.spec
    at = run("explorer", {"chart": "Forest plot", "window": "1 week (5–9 d)", "method": "DL"})
    assert at.selectbox(key="window").value == "1 week (5–9 d)"
    assert at.selectbox(key="method").value == "DL"
    caption = next(c.value for c in at.caption if "Method:" in c.value)  # the forest's caption
    assert "k = " in caption and "n = " in caption


def test_check_page_flags_a_pasted_clinic_paragraph():
    at = run("check")
    at.text_area(key="check_text").set_value(
        "Ketamine therapy has been found to produce results in as little as 24 hours. "
        "More than 80% of patients received positive results. Call us today.").run()
    assert not at.exception, [e.value for e in at.exception]
    body = text(at)
    assert "flagged sentence(s)" in body
    assert "Suggested verdict" in body or "Curated claim" in body
    links = [p.proto.label for p in at.get("page_link")]
    assert any("More than 80% of patients get positive results" in label for label in links)


def test_landing_page_imports_stay_light():
    """The landing page renders first; it must not pull in pandas or the statistics stack (a cold-start cost)."""
    import subprocess
    import sys

    code = ("import sys, evidence.ui.common, evidence.curation.verdicts, evidence.curation.load; "
            "heavy = [m for m in ('pandas', 'scipy', 'statsmodels', 'numpy') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported on the landing page: {out.stdout.strip()}"


def test_claims_are_paginated_on_large_lists(tmp_path, monkeypatch):
    from bench.generate import generate

    generated = generate(10, tmp_path / "data10")
    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(generated.path))
    at = run("claims", {"page": "3"})
    cards = next(m.value for m in at.markdown if 'class="claim-card"' in m.value)
    assert cards.count('class="claim-card"') == 40
    assert at.selectbox(key="page").value == "3"
    assert len(at.selectbox(key="page").options) == -(-generated.claims // 40)


def test_study_page_shows_curated_free_text_and_urls_as_written(minimal: Path, monkeypatch):
    """Funding, risk-of-bias free text and a document URL reach st.markdown: no image, and a ")" in the URL
    does not close the link early."""
    import markdown_it

    beacon = "![t](https://tracker.example/y.png)"
    edit(minimal / "studies.yaml", "  kind: trial\n", "  kind: regulatory\n")
    edit(minimal / "studies.yaml", '  pmid: "1"\n',
         f'  url: "https://docs.example/label_2019).pdf?a=<b>"\n  funding: "Sponsor {beacon}"\n'
         f'  risk_of_bias: {{overall: low, judged_by: "curators {beacon}", tool: "RoB {beacon}",'
         f' domains: {{"blinding {beacon}": low}}}}\n')
    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(minimal))
    at = run("study", {"study": "alpha2001_test"})
    assert not at.exception, [e.value for e in at.exception]
    md = markdown_it.MarkdownIt("commonmark")
    shown = [m.value for m in [*at.markdown, *at.caption]]
    tokens = [t for value in shown for block in md.parse(value) for t in (block.children or [])]
    assert not [t for t in tokens if t.type == "image"], "curated text put an image on the page"
    hrefs = [t.attrs["href"] for t in tokens if t.type == "link_open"]
    assert hrefs == ["https://docs.example/label_2019%29.pdf?a=%3Cb%3E"], hrefs
    assert sum("tracker.example" in v for v in shown) >= 3  # funding, judgement and the chart caption: kept as text


@pytest.mark.parametrize(("url", "expected"), [
    ("javascript:alert(1)", "document"), ("JaVaScRiPt:alert(2)", "document"), (None, "document"),
    ("https://x.example/a b", "document"),  # whitespace: not a URL the schema takes
    ("https://x.example/a)(<c>\\", "[document](https://x.example/a%29%28%3Cc%3E%5C)"),
])
def test_markdown_links_only_to_web_urls_with_the_target_encoded(url, expected):
    from evidence.ui.common import md_link

    assert md_link("document", url) == expected


def test_study_tables_link_only_the_ids_a_study_has():
    """A missing PMID, DOI or NCT is NaN in the tables, and NaN is truthy: 194 links to ".../study/nan" and
    "pubmed.../nan/" had been drawn on the claim pages and 78 in the explorer."""
    import math

    from evidence.curation.tables import build_tables
    from evidence.ui.common import link_columns

    studies = build_tables(DATASET).studies
    linked = link_columns(studies)
    for column in ("pubmed", "doi_link", "registry"):
        values = [v for v in linked[column] if v is not None and not (isinstance(v, float) and math.isnan(v))]
        assert values and not any("nan" in v.rsplit("/", 2)[-2:] for v in values), column
    assert linked["registry"].notna().sum() == studies["nct"].map(lambda n: isinstance(n, str) and n != "").sum()
    at = run("claim", {"claim": "onset_24_hours"})
    cells = [str(v) for df in at.dataframe for v in df.value.to_numpy().ravel()]
    assert not [c for c in cells if c.endswith(("/nan", "/nan/"))], "no link to a missing id"


@pytest.mark.parametrize("chart", ["Forest plot", "Response over time", "How long it lasts", "Open-label vs blinded",
                                   "Harms", "Risk of bias", "Evidence map"])
def test_explorer_views_say_what_the_static_site_says(chart):
    """The app's explorer had written its own captions ("14 studies" beside the site's "k = 14 studies, 3629
    participants", and "1 studies" under a filter): it now renders the page model the site publishes."""
    from evidence.curation.tables import build_tables
    from evidence.pages import explorer as explorer_pages

    tables = build_tables(DATASET)
    views = [v for v in explorer_pages.standard_views(tables) if v.app_params.get("chart") == chart]
    model = next(v for v in views if v.app_params.get("outcome") in (None, "response")
                 and v.app_params.get("window", "24 hours (12–36 h)") == "24 hours (12–36 h)"
                 and v.app_params.get("control", "any") == "any")
    at = run("explorer", {k: v for k, v in model.app_params.items() if k != "method"})
    assert not at.exception, [e.value for e in at.exception]
    captions = [c.value for c in at.caption]
    for c in model.charts:
        assert any(cap.startswith(c.caption) and c.summary in cap for cap in captions), (c.caption, captions)
    one = run("explorer", {"chart": chart, "kind": "label"})
    assert not one.exception and not any("1 studies" in c.value for c in one.caption)


def test_the_app_and_the_site_give_the_data_one_date():
    """The app had said "files last changed" on the checkout's day (file times) and the site the changelog's date:
    the loader now sets the data's own date, which every renderer shows."""
    import re as re_module

    dates = [e.date.isoformat() for c in DATASET.claims for e in c.changelog]
    dates += re_module.findall(r"^#+\s*(\d{4}-\d{2}-\d{2})\b", (REPO / "data" / "CHANGELOG.md").read_text(),
                               re_module.MULTILINE)
    assert DATASET.modified == max(dates)
    at = run("methods")
    assert any(f"(data last changed {DATASET.modified})" in c.value for c in at.caption)
    from evidence.publishing.stamp import LICENCE

    assert any(LICENCE in c.value for c in at.caption), "the site's licence line, word for word"


def test_app_tables_show_four_significant_digits_as_the_site_does():
    """The app had shown "23.18159858" where the site shows "23.18" (the downloads keep every digit)."""
    from evidence.pages.cells import SIGNIFICANT

    claim = next(c for c in DATASET.claims if c.summaries)
    at = run("claim", {"claim": claim.id})
    assert not at.exception, [e.value for e in at.exception]
    floats = [v for df in at.dataframe for col in df.value.columns if df.value[col].dtype.kind == "f"
              for v in df.value[col].dropna()]
    assert floats, "the claim page shows numbers"
    assert all(len(f"{abs(v):.12g}".replace(".", "").lstrip("0").rstrip("0")) <= SIGNIFICANT for v in floats), floats
