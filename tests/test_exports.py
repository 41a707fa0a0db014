"""evidence.publishing.exports on the synthetic minimal dataset: every export is parsed back and checked."""

from __future__ import annotations

import dataclasses
import html
import io
import json
import re
import zipfile
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from evidence.curation.load import Dataset, load_dataset
from evidence.curation.schema import Claim, Study
from evidence.curation.tables import (
    ADVERSE_EVENT_COLUMNS,
    ARM_COLUMNS,
    CLAIM_COLUMNS,
    CLAIM_EVIDENCE_COLUMNS,
    DURABILITY_COLUMNS,
    FINDING_COLUMNS,
    OUTCOME_COLUMNS,
    RISK_OF_BIAS_COLUMNS,
    STUDY_COLUMNS,
    SYNTHESIS_COLUMNS,
    TABLE_NAMES,
    build_tables,
)
from evidence.curation.verdicts import CERTAINTY, VERDICTS
from evidence.publishing import bundle as bx
from evidence.publishing import exports as ex
from evidence.publishing import stamp as sp
from evidence.synthesis import claim_evidence
from evidence.synthesis.stats import wilson_interval

FIXTURE = Path(__file__).parent / "fixtures" / "minimal"
CONTRACT = {
    "studies": STUDY_COLUMNS, "arms": ARM_COLUMNS, "outcomes": OUTCOME_COLUMNS, "durability": DURABILITY_COLUMNS,
    "adverse_events": ADVERSE_EVENT_COLUMNS, "findings": FINDING_COLUMNS, "claims": CLAIM_COLUMNS,
    "claim_evidence": CLAIM_EVIDENCE_COLUMNS, "risk_of_bias": RISK_OF_BIAS_COLUMNS, "syntheses": SYNTHESIS_COLUMNS,
}
TODAY = date(2026, 11, 21)
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load_dataset(FIXTURE)


@pytest.fixture(scope="module")
def tables(ds):
    return build_tables(ds)


def claim_variant(claim: Claim, **changes) -> Claim:
    """A validated copy of a claim with some fields changed."""
    return Claim.model_validate({**claim.model_dump(), **changes})


def study_variant(study: Study, **changes) -> Study:
    return Study.model_validate({**study.model_dump(), **changes})


def dataset_variant(ds: Dataset, *, claims=None, studies=None, tag: str) -> Dataset:
    """A copy with other records; a distinct version so that cached tables are not reused."""
    return dataclasses.replace(ds, claims=claims or ds.claims, studies=studies or ds.studies,
                               version=f"{ds.version}-{tag}", _index={})


def unsupported(claim: Claim) -> Claim:
    return claim_variant(claim, verdict="Unsupported", certainty=None, evidence=[], summaries=[],
                         changelog=[{"date": date(2026, 11, 20), "verdict": "Partly supported", "note": "first"},
                                    {"date": date(2026, 11, 22), "verdict": "Unsupported", "note": "re-checked"}])


def not_checkable(claim: Claim) -> Claim:
    return claim_variant(claim, verdict="Not checkable", certainty=None, evidence=[], summaries=[],
                         checkable_if="A stated outcome and time point.",
                         changelog=[{"date": date(2026, 11, 21), "verdict": "Not checkable", "note": "first"}])


# --------------------------------------------------------------------------- tables

@pytest.mark.parametrize("name", TABLE_NAMES)
def test_csv_parses_back_with_the_column_contract(ds, tables, name):
    frame = tables.get(name)
    payload = ex.table_export(frame, "csv", dataset=ds, table_name=name, filters=None)
    assert payload.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel shows ≥ correctly
    back = pd.read_csv(io.BytesIO(payload), encoding="utf-8-sig")
    assert list(back.columns) == CONTRACT[name]
    assert len(back) == len(frame)


def test_csv_values_and_unicode(ds, tables):
    payload = ex.table_export(tables.outcomes, "csv", dataset=ds, table_name="outcomes")
    back = pd.read_csv(io.BytesIO(payload), encoding="utf-8-sig")
    ket = back[back["arm"] == "ketamine"].iloc[0]
    assert (ket["events"], ket["total"], ket["rate"]) == (12, 20, 0.6)
    assert ket["definition"] == "≥50% reduction in MADRS"
    assert b"\r\n" in payload


def test_csv_defuses_spreadsheet_formulas(ds):
    frame = pd.DataFrame({"text": ["=HYPERLINK(\"http://x\")", "+1", "@SUM(A1)", "-x", "-0.5", "plain"],
                          "number": [-1.5, 2, 3, 4, 5, 6]})
    back = pd.read_csv(io.BytesIO(ex.table_export(frame, "csv", dataset=ds, table_name="t")), encoding="utf-8-sig")
    assert list(back["text"]) == ["'=HYPERLINK(\"http://x\")", "'+1", "'@SUM(A1)", "'-x", "-0.5", "plain"]
    assert back["number"].iloc[0] == -1.5


def test_json_carries_the_stamp(ds, tables):
    payload = ex.table_export(tables.studies, "json", dataset=ds, table_name="studies",
                              filters={"drug": ["racemic ketamine"], "blinded_only": True}, today=TODAY)

    def no_nan(token):
        raise AssertionError(f"non-standard JSON constant {token}")

    doc = json.loads(payload, parse_constant=no_nan)
    for key in ("data_version", "data_modified", "exported", "table", "filters", "licence", "source",
                "how_to_cite", "rows"):
        assert key in doc, key
    assert doc["data_version"] == ds.version
    assert doc["exported"] == "2026-11-21"
    assert date.fromisoformat(doc["data_modified"])
    assert doc["table"] == "studies"
    assert doc["filters"] == {"drug": ["racemic ketamine"], "blinded_only": True}
    assert doc["licence"] == "Data: CC BY 4.0; code: MIT"
    assert doc["source"] == "Ketamine evidence tracker"
    assert ds.version in doc["how_to_cite"]
    assert doc["columns"] == STUDY_COLUMNS
    row = doc["rows"][0]
    assert list(row) == STUDY_COLUMNS
    assert row["id"] == "alpha2001_test" and row["year"] == 2001 and row["n_randomized"] == 30
    assert row["doi"] is None and row["blinded"] is True


def test_unknown_format_is_refused(ds, tables):
    with pytest.raises(ValueError, match="csv, json"):
        ex.table_export(tables.studies, "xlsx", dataset=ds, table_name="studies")


def test_stamp_and_filename(ds, monkeypatch):
    monkeypatch.setenv("EVIDENCE_BASE_URL", "https://tracker.example.org/")
    s = sp.stamp(ds, today=TODAY)
    assert s["data_version"] == ds.version and s["data_modified"] == ds.modified
    assert s["exported"] == "2026-11-21" and s["licence"] == sp.LICENCE and s["source"] == sp.PROJECT
    assert s["url"] == "https://tracker.example.org"
    assert "https://tracker.example.org" in s["how_to_cite"]
    assert sp.export_filename("outcomes", ds, "csv", today=TODAY) == f"outcomes_v{ds.version}_2026-11-21.csv"
    assert re.fullmatch(r"outcomes_v[0-9a-f]{12}_\d{4}-\d{2}-\d{2}\.csv", sp.export_filename("outcomes", ds, "csv"))


# --------------------------------------------------------------------------- citations

@pytest.mark.parametrize(("name", "expected"), [
    ("Zarate CA", {"family": "Zarate", "given": "C. A."}),
    ("van der Berg J-P", {"family": "van der Berg", "given": "J.-P."}),
    ("Murrough JW", {"family": "Murrough", "given": "J. W."}),
    ("Ørsted H", {"family": "Ørsted", "given": "H."}),
    ("US Food and Drug Administration", {"literal": "US Food and Drug Administration"}),
    ("US FDA", {"literal": "US FDA"}),
    ("Zarate CA Jr", {"family": "Zarate", "given": "C. A.", "suffix": "Jr"}),
    ("Singh (initials not verified)", {"family": "Singh"}),
    ("Janssen", {"literal": "Janssen"}),
])
def test_split_author(name, expected):
    assert ex.split_author(name) == expected


def tricky_studies(ds) -> list[Study]:
    base = ds.studies[0]
    tricky = study_variant(
        base, id="tricky2020_x", doi="10.1000/abc_def(2020)", pmid=None,
        citation={"authors": ["O'Brien P", "García-López MJ", "Zarate CA Jr", "et al"], "year": 2020,
                  "title": "50% & more: $5 #1 {braces} under_score ~tilde ^caret \\back", "journal": "J Test & Trials"},
    )
    label = study_variant(
        base, id="label2019_fda", kind="regulatory", design="regulatory document", blinding="not applicable",
        pmid=None, doi=None, url="https://www.accessdata.fda.gov/label.pdf", arms=[], outcomes=[], durability=[],
        adverse_events=[], sample=None,
        citation={"authors": ["US Food and Drug Administration"], "year": 2019, "title": "Spravato label",
                  "journal": "FDA"},
    )
    return [*ds.studies, tricky, label]


def parse_bibtex(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """A small brace-aware BibTeX parser: (type, key, fields) per entry; fails on unbalanced braces."""
    entries = []
    for m in re.finditer(r"@(\w+)\{([^,\s]+),", text):
        i, depth, fields, name, value, state = m.end(), 1, {}, "", "", "name"
        while depth:
            ch = text[i]
            if state == "name":
                if ch == "=":
                    state, name = "pre", name.strip()
                elif ch == "}":
                    depth -= 1
                else:
                    name += ch if ch not in ",\n" else ""
            elif state == "pre":
                if ch == "{":
                    state, level, value = "value", 1, ""
            else:
                if ch == "{" and text[i - 1] != "\\":
                    level += 1
                elif ch == "}" and text[i - 1] != "\\":
                    level -= 1
                    if level == 0:
                        fields[name], name, state = value, "", "name"
                        i += 1
                        continue
                value += ch
            i += 1
        entries.append((m.group(1), m.group(2), fields))
    return entries


def test_bibtex_entries_fields_and_escaping(ds):
    studies = tricky_studies(ds)
    text = ex.bibtex([*studies, studies[0]])  # a duplicate is written once
    entries = parse_bibtex(text)
    keys = [key for _, key, _ in entries]
    assert keys == [s.id for s in studies]
    assert text.count("{") == text.count("}")
    by_key = {key: (kind, fields) for kind, key, fields in entries}
    kind, fields = by_key["alpha2001_test"]
    assert kind == "article"
    assert {"author", "title", "journal", "year", "pmid"} <= set(fields)
    assert fields["author"] == "Alpha, A. and Beta, B."
    assert fields["year"] == "2001" and fields["pmid"] == "1"
    _, fields = by_key["tricky2020_x"]
    title = fields["title"]
    assert re.search(r"(?<!\\)[&%$#_]", title) is None, title
    assert r"\&" in title and r"\%" in title and r"\_" in title and r"\textbackslash{}" in title
    assert fields["journal"] == r"J Test \& Trials"
    assert fields["author"] == "O'Brien, P. and García-López, M. J. and Zarate, Jr, C. A. and others"
    assert fields["doi"] == "10.1000/abc_def(2020)"  # verbatim field: not escaped
    kind, fields = by_key["label2019_fda"]
    assert kind == "misc"
    assert fields["author"] == "{US Food and Drug Administration}"
    assert fields["url"] == "https://www.accessdata.fda.gov/label.pdf"


RIS_LINE = re.compile(r"^[A-Z][A-Z0-9]  - .*$")


def test_ris_records_are_well_formed(ds):
    studies = tricky_studies(ds)
    text = ex.ris(studies)
    assert "\r\n" in text
    records = [r for r in text.split("\r\n\r\n") if r.strip()]
    assert len(records) == len(studies)
    for study, record in zip(studies, records, strict=True):
        lines = record.strip("\r\n").split("\r\n")
        assert lines[0] in ("TY  - JOUR", "TY  - GOVDOC")
        assert lines[-1] == "ER  - "
        for line in lines:
            assert RIS_LINE.match(line), line
        tags = [line[:2] for line in lines]
        assert tags.count("TY") == 1 and tags.count("ER") == 1
        assert f"TI  - {study.citation.title}" in lines
        assert f"PY  - {study.citation.year}" in lines
    first = records[0].split("\r\n")
    assert "AU  - Alpha, A." in first and "AN  - 1" in first and "T2  - Test J" in first
    tricky = records[1].split("\r\n")
    assert "DO  - 10.1000/abc_def(2020)" in tricky
    assert "AU  - García-López, M. J." in tricky and "AU  - Zarate, C. A., Jr" in tricky
    label = records[2].split("\r\n")
    assert label[0] == "TY  - GOVDOC"
    assert "UR  - https://www.accessdata.fda.gov/label.pdf" in label and "PB  - FDA" in label


def test_csl_json_items(ds):
    studies = tricky_studies(ds)
    items = json.loads(json.dumps(ex.csl_json(studies)))
    assert [i["id"] for i in items] == [s.id for s in studies]
    for item in items:
        assert {"id", "type", "title", "author", "issued"} <= set(item)
        assert item["issued"]["date-parts"][0][0] >= 1950
        for author in item["author"]:
            assert set(author) in ({"family", "given"}, {"family", "given", "suffix"}, {"family"}, {"literal"})
    alpha, tricky, label = items
    assert alpha["type"] == "article-journal" and alpha["container-title"] == "Test J" and alpha["PMID"] == "1"
    assert alpha["author"][0] == {"family": "Alpha", "given": "A."}
    assert tricky["DOI"] == "10.1000/abc_def(2020)" and "PMID" not in tricky
    assert len(tricky["author"]) == 3  # "et al" is not an author
    assert tricky["author"][2] == {"family": "Zarate", "given": "C. A.", "suffix": "Jr"}
    assert label["type"] == "report" and label["URL"].startswith("https://")
    assert label["author"] == [{"literal": "US Food and Drug Administration"}]


# --------------------------------------------------------------------------- ClaimReview

REQUIRED_REVIEW = ("@context", "@type", "claimReviewed", "reviewRating", "url", "author", "datePublished",
                   "dateModified", "itemReviewed", "reviewBody", "citation")


def check_review(review: dict, claim: Claim, base: str) -> None:
    for key in REQUIRED_REVIEW:
        assert key in review, key
    assert review["@context"] == "https://schema.org" and review["@type"] == "ClaimReview"
    assert review["claimReviewed"] == claim.short and len(review["claimReviewed"]) < 75
    assert review["url"] == f"{base}/claim?claim={claim.id}"
    rating = review["reviewRating"]
    assert rating["@type"] == "Rating"
    assert rating["alternateName"] == claim.verdict
    assert rating["bestRating"] == 5 and rating["worstRating"] == 1
    value = VERDICTS[claim.verdict].value
    if value is None:
        assert "ratingValue" not in rating
    else:
        assert rating["ratingValue"] == value
    assert 1 <= len(ex.split_sentences(rating["ratingExplanation"])) <= 2
    assert claim.rationale.startswith(rating["ratingExplanation"])
    item = review["itemReviewed"]
    assert item["@type"] == "Claim" and item["text"] == claim.appearances[0].quote
    assert item["author"]["@type"] == "Organization" and item["author"]["name"]
    assert item["appearance"][0]["@type"] == "CreativeWork" and item["appearance"][0]["headline"]
    assert item["firstAppearance"] == item["appearance"][0]
    assert review["author"]["@type"] == "Organization"
    published, modified = date.fromisoformat(review["datePublished"]), date.fromisoformat(review["dateModified"])
    assert published <= modified
    assert review["reviewBody"] == claim.rationale
    assert all(u.startswith("https://") for u in review["citation"])


def test_claim_review_fields(ds, monkeypatch):
    monkeypatch.setenv("EVIDENCE_BASE_URL", "https://tracker.example.org")
    claim = ds.claims[0]
    review = ex.claim_review(claim, ds)
    check_review(review, claim, "https://tracker.example.org")
    assert review["reviewRating"]["ratingValue"] == 4
    assert review["itemReviewed"]["author"]["name"] == "A page"  # no publisher: the page title
    assert review["citation"] == ["https://pubmed.ncbi.nlm.nih.gov/1/"]
    assert json.loads(json.dumps(review)) == review


def test_claim_review_default_base_url(ds, monkeypatch):
    monkeypatch.delenv("EVIDENCE_BASE_URL", raising=False)
    assert ex.claim_review(ds.claims[0], ds)["url"] == "http://localhost:8501/claim?claim=fast_relief"
    assert ex.claim_review(ds.claims[0], ds, "https://x.org/")["url"] == "https://x.org/claim?claim=fast_relief"


@pytest.mark.parametrize("make", [unsupported, not_checkable])
def test_text_only_verdicts_have_no_rating_value(ds, make):
    claim = make(ds.claims[0])
    review = ex.claim_review(claim, ds, "https://x.org")
    check_review(review, claim, "https://x.org")
    assert "ratingValue" not in review["reviewRating"]
    assert review["reviewRating"]["alternateName"] == claim.verdict
    assert review["citation"] == []
    if claim.verdict == "Unsupported":
        assert (review["datePublished"], review["dateModified"]) == ("2026-11-20", "2026-11-22")


def test_claim_review_citations_prefer_dois(ds):
    study = study_variant(ds.studies[0], doi="10.1001/jama.2020.1234")
    variant = dataset_variant(ds, studies=[study], tag="doi")
    assert ex.claim_review(variant.claims[0], variant, "https://x.org")["citation"] == [
        "https://doi.org/10.1001/jama.2020.1234"]


def test_claim_reviews_cover_every_claim(ds):
    reviews = ex.claim_reviews(ds, "https://x.org")
    assert [r["url"].rsplit("=", 1)[1] for r in reviews] == [c.id for c in ds.claims]


def test_rating_explanation_keeps_one_or_two_sentences():
    text = ("Ketamine vs. placebo gave 1.5 times more responders, e.g. at 24 h. Zarate et al. found it. "
            "A third sentence that must not appear.")
    assert ex.split_sentences(text)[0] == "Ketamine vs. placebo gave 1.5 times more responders, e.g. at 24 h."
    assert ex.rating_explanation(text) == ("Ketamine vs. placebo gave 1.5 times more responders, e.g. at 24 h. "
                                           "Zarate et al. found it.")
    long_first = "A" * 150 + ". Second."
    assert ex.rating_explanation(long_first) == "A" * 150 + "."


# --------------------------------------------------------------------------- paragraph

def test_quote_paragraph_without_a_summary_names_studies_not_numbers(ds, tables):
    claim = ds.claims[0]
    text = bx.quote_paragraph(claim, ds, tables, base="https://x.org")
    assert f"“{claim.appearances[0].quote}”" in text and "A page" in text
    assert "“Partly supported”" in text
    assert CERTAINTY["Low"] in text
    assert claim.supported_wording in text
    assert ds.version in text and "https://x.org/claim?claim=fast_relief" in text
    assert "Alpha 2001" in text and "no summary number" in text
    assert "CI" not in text  # no number is made up


def test_quote_paragraph_uses_the_computed_summary(ds, tables):
    summaries = pytest.importorskip("evidence.synthesis.summaries")
    claim = claim_variant(ds.claims[0], summaries=[{"kind": "response_rate", "hours_min": 12, "hours_max": 48}])
    expected = summaries.pooled_response_rate(tables, summaries.Filter.from_spec(claim.summaries[0]))
    assert expected.k == 1  # a single study is quoted with its own rate and Wilson CI, never as "pooled"
    row = expected.per_study.iloc[0]
    low, high = wilson_interval(int(row["events"]), int(row["total"]))
    text = bx.quote_paragraph(claim, ds, tables)
    assert f"{100 * row['events'] / row['total']:.0f}% (95% CI {100 * low:.0f}% to {100 * high:.0f}%)" in text
    assert "1 study" in text and "only study" in text and "Pooled" not in text


def test_quote_paragraph_with_no_matching_studies_shows_no_number(ds, tables):
    claim = claim_variant(ds.claims[0], summaries=[{"kind": "response_rate", "populations": ["PTSD"]}])
    text = bx.quote_paragraph(claim, ds, tables)
    assert "95% CI" not in text and "Alpha 2001" in text


def test_quote_paragraph_when_the_summary_fails(ds, tables, monkeypatch):
    def broken(*_args, **_kwargs):
        raise ValueError("summary failed")

    monkeypatch.setattr(claim_evidence, "panel", broken)
    claim = claim_variant(ds.claims[0], summaries=[{"kind": "response_rate"}])
    with pytest.warns(RuntimeWarning, match="summary failed"):
        text = bx.quote_paragraph(claim, ds, tables)
    assert "95% CI" not in text and "no summary number" in text


def test_quote_paragraph_for_text_only_verdicts(ds, tables):
    text = bx.quote_paragraph(not_checkable(ds.claims[0]), ds, tables)
    assert "“Not checkable”" in text and "not graded" in text
    assert "A stated outcome and time point." in text
    assert "No study in the curated data" in text


# --------------------------------------------------------------------------- charts

@pytest.mark.parametrize(("quantity", "traces"), [
    ("response_rate", True), ("onset", True), ("relative_effect", True), ("duration", True),
    ("side_effect_rate", True), ("infusion_length", False),
])
def test_claim_chart_is_chosen_by_quantity(ds, tables, quantity, traces):
    claim = claim_variant(ds.claims[0], assertion={"quantity": quantity, "value": 70, "unit": "percent"})
    fig = bx.claim_chart(claim, ds, tables)
    assert bx.has_data(fig) is traces


def test_claim_chart_uses_the_claims_summary(ds, tables):
    pytest.importorskip("evidence.synthesis.claim_evidence")
    claim = claim_variant(ds.claims[0], summaries=[{"kind": "response_rate"}])
    fig = bx.claim_chart(claim, ds, tables)
    assert bx.has_data(fig)


# --------------------------------------------------------------------------- bundle

def bundle_files(payload: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        assert zf.testzip() is None
        return {name: zf.read(name) for name in zf.namelist()}


def check_bundle_contents(files: dict[str, bytes], ds: Dataset) -> None:
    claim = ds.claims[0]
    readme = files["README.txt"].decode()
    assert ds.version in readme and "CC BY 4.0" in readme and "How to cite" in readme
    for name in files:
        assert name in readme
    assert claim.appearances[0].quote in files["paragraph.txt"].decode()
    evidence = pd.read_csv(io.BytesIO(files["evidence.csv"]), encoding="utf-8-sig")
    assert list(evidence.columns) == OUTCOME_COLUMNS and set(evidence["study_id"]) == {"alpha2001_test"}
    assert [key for _, key, _ in parse_bibtex(files["citations.bib"].decode())] == ["alpha2001_test"]
    assert files["citations.ris"].decode().startswith("TY  - JOUR")
    assert json.loads(files["citations.csl.json"])[0]["id"] == "alpha2001_test"
    review = json.loads(files["claimreview.jsonld"])
    assert review["reviewRating"]["alternateName"] == claim.verdict


def test_bundle_without_images(ds, tables):
    files = bundle_files(bx.bundle("fast_relief", ds, tables, base_url="https://x.org", images=False))
    assert sorted(files) == sorted(set(bx.BUNDLE_FILES) - set(bx.IMAGE_FILES))
    readme = files["README.txt"].decode()
    assert "Images: skipped" in readme and "turned off" in readme
    assert "https://x.org/claim?claim=fast_relief" in readme
    check_bundle_contents(files, ds)


def test_bundle_skips_images_when_no_browser(ds, tables, monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    files = bundle_files(bx.bundle("fast_relief", ds, tables))
    assert "chart.png" not in files and "chart.svg" not in files
    assert "Images: skipped: no Chromium/Chrome browser was found" in files["README.txt"].decode()


@pytest.mark.skipif(not CHROMIUM.is_file(), reason="needs /usr/bin/chromium for Kaleido")
def test_bundle_with_images(ds, tables, monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", str(CHROMIUM))
    files = bundle_files(bx.bundle("fast_relief", ds, tables, images=True))
    assert sorted(files) == sorted(bx.BUNDLE_FILES)
    assert files["chart.png"].startswith(b"\x89PNG\r\n\x1a\n")
    assert b"<svg" in files["chart.svg"][:500]
    assert "Images: included" in files["README.txt"].decode()
    check_bundle_contents(files, ds)


def test_bundle_unknown_claim(ds, tables):
    with pytest.raises(KeyError, match="fast_relief"):
        bx.bundle("nope", ds, tables, images=False)


# --------------------------------------------------------------------------- report

EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//", re.IGNORECASE)


def test_report_is_self_contained_and_complete(ds, tables):
    text = bx.report_html(ds, tables)
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    for claim in ds.claims:
        assert html.escape(claim.short) in text
        assert claim.verdict in text
    assert "alpha2001_test" in text and ds.version in text
    assert EXTERNAL_SCRIPT.search(text) is None
    assert "<link " not in text
    assert text.count("Plotly.newPlot") == 1
    assert len(re.findall(r"\* plotly\.js v\d", text)) == 1  # the library, inlined


def test_report_inlines_plotly_once_for_many_charts(ds, tables):
    second = claim_variant(ds.claims[0], id="second_claim", short="Second claim",
                           assertion={"quantity": "duration", "value": 3, "unit": "months"})
    variant = dataset_variant(ds, claims=[ds.claims[0], second], tag="two")
    text = bx.report_html(variant, build_tables(variant))
    assert text.count("Plotly.newPlot") == 2
    assert len(re.findall(r"\* plotly\.js v\d", text)) == 1
    assert "Second claim" in text and 'id="claim-second_claim"' in text


def test_report_escapes_curated_text(ds, tables):
    evil = "<img src=x onerror=alert(1)>"
    claim = claim_variant(ds.claims[0], short="Fast & <b>safe</b>", rationale=f"Bad {evil} text.",
                          supported_wording=f"Wording {evil}.")
    variant = dataset_variant(ds, claims=[claim], tag="evil")
    text = bx.report_html(variant, build_tables(variant), include_charts=False)
    assert evil not in text and "<b>safe</b>" not in text
    assert "Fast &amp; &lt;b&gt;safe&lt;/b&gt;" in text
    assert "Plotly.newPlot" not in text  # no charts requested: no plotly.js either


def test_pin_log_axis_ignores_a_label_at_a_data_value():
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[2, 24, 336], y=[10, 50, 40]))
    fig.update_xaxes(type="log")
    fig.add_vline(x=24, annotation_text="claimed")  # plotly.js would read the label's x as 10^24
    bx.pin_log_axis(fig)
    lo, hi = fig.layout.xaxis.range
    assert lo < 0.31 < 2.53 < hi < 3.5  # log10(2) and log10(336), padded
    linear = go.Figure(go.Scatter(x=[1, 2], y=[1, 2]))
    assert bx.pin_log_axis(linear).layout.xaxis.range is None


# --------------------------------------------------------------------------- hostile values

@pytest.mark.parametrize("value", ["-2+3+cmd|' /C calc'!A0", "-1-HYPERLINK(\"http://x\")", "-1+1", "-0.5)*A1",
                                   "\tx", "\nx", "\r=1", "|cmd", "\uff1dSUM(A1)", "\uff0b1", "\uff0d1",
                                   "\uff20SUM(A1)"])
def test_csv_prefixes_every_formula_start(value):
    assert ex.csv_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["-0.5", "-12%", "-1.2e-3", "-1.2E+3", "- 3", "-1,234.5", "-.5"])
def test_csv_keeps_negative_numbers_as_numbers(value):
    assert ex.csv_safe(value) == value


def _bibtex_braces_balance(text: str) -> bool:
    """BibTeX's own rule: every brace counts, a backslash before it or not."""
    depth = 0
    for ch in text:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize("title", ["Unpaired } brace", "Unpaired { brace", "} then {", "{paired} braces"])
def test_bibtex_title_braces_stay_balanced_as_bibtex_counts_them(ds, title):
    study = study_variant(ds.studies[0], citation={**ds.studies[0].citation.model_dump(), "title": title})
    text = ex.bibtex([study])
    assert _bibtex_braces_balance(text), text
    (_, _, fields), = parse_bibtex(text)
    assert set(fields) >= {"title", "journal", "year", "pmid"}  # no field swallowed by an early close


def test_bibtex_verbatim_fields_stay_on_one_line(ds):
    # model_copy: the schema refuses such values, but the exporter must not rely on that
    study = ds.studies[0].model_copy(update={"doi": "10.1000/a\nb", "url": None})
    label = ds.studies[0].model_copy(update={"pmid": None, "kind": "regulatory",
                                             "url": "https://fda.example/label.pdf\n\n@misc{x,"})
    text = ex.bibtex([study, label])
    assert "doi = {10.1000/a%20b}" in text and "\n\n@misc{x" not in text
    assert ex._bib_verbatim("https://x.example/a \n\t b{c}") == "https://x.example/a%20b%7Bc%7D"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JaVaScRiPt:alert(2)", "data:text/html,x", "/local"])
def test_citation_exports_drop_urls_that_are_not_web_urls(ds, url):
    # model_copy skips validation: a record built in code must not smuggle the URL into a citation manager
    doc = ds.studies[0].model_copy(update={"url": url})
    label = ds.studies[0].model_copy(update={"id": "label_x", "kind": "label", "pmid": None, "url": url})
    for text in (ex.bibtex([doc, label]), ex.ris([doc, label]), json.dumps(ex.csl_json([doc, label]))):
        assert url.lower() not in text.lower(), text
    assert "UR  - https://pubmed.ncbi.nlm.nih.gov/1/" in ex.ris([doc])


def test_csl_json_says_when_an_author_list_was_cut():
    """CSL has no "et al." marker: citeproc printed a cut list as if it were whole; the note says so, as RIS's
    N1 does."""
    from tests.conftest import REPO

    ds = load_dataset(REPO / "data")
    cut = [s for s in ds.studies if any(a.strip().lower().startswith("et al") for a in s.citation.authors)]
    whole = [s for s in ds.studies if s not in cut]
    items = {i["id"]: i for i in ex.csl_json(ds.studies)}
    assert cut and whole
    assert all("Author list truncated (et al.)" in items[s.id].get("note", "") for s in cut)
    assert not any("truncated" in items[s.id].get("note", "") for s in whole)
