"""Offline tests of ``watch``: fixtures shaped like E-utilities and ClinicalTrials.gov v2 answers; strict mocks."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
import responses
import yaml
from responses import matchers
from streamlit.testing.v1 import AppTest

import evidence.commands.watch as watch_cmd
from evidence.cli import main
from evidence.curation import last_search
from evidence.curation.load import load_dataset
from evidence.publishing import stamp
from evidence.sources import watch
from evidence.sources.sources_api import (
    ClinicalTrialsClient,
    HttpConfig,
    PubMedClient,
    PubRecord,
    RateLimiter,
    TrialRecord,
)
from tests.conftest import REPO

FIXTURES = Path(__file__).parent / "fixtures" / "watch"
ESEARCH = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/esearch.fcgi"
ESUMMARY = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/esummary.fcgi"
CTGOV = "https://clinicaltrials.gov/api/v2/studies"
TODAY = date(2026, 12, 1)

BASE = {"design": "RCT parallel", "blinding": "double-blind", "drug": "racemic ketamine", "route": "intravenous",
        "population": "TRD"}
# In the data under its DOI only, in upper case; PubMed's record has it in mixed case.
BY_DOI = {"id": "example2026_fictpsych", "kind": "trial", "doi": "10.5555/FICT.KET.2026.001",
          "citation": {"authors": ["Example AB"], "year": 2026, "title": "A fictitious trial",
                       "journal": "J Fict Psychiatry"}, **BASE}
BY_NCT = {"id": "maint2026_fict", "kind": "trial", "pmid": "900000999", "nct": "NCT09000003",
          "citation": {"authors": ["Maint IJ"], "year": 2026, "title": "A fictitious maintenance trial",
                       "journal": "Fict Trials"}, **BASE}


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def write_data(root: Path, studies: list[dict]) -> Path:
    d = root / "data"
    d.mkdir()
    (d / "studies.yaml").write_text(yaml.safe_dump({"studies": studies}, sort_keys=False), encoding="utf-8")
    (d / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    (d / "claims.yaml").write_text("claims: []\n", encoding="utf-8")
    return d


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture(autouse=True)
def offline_clients(monkeypatch):
    """No backoff, no rate-limit sleeping, a fixed date; HTTP is mocked by `responses`."""
    cfg = HttpConfig(email="curator@example.org", backoff_factor=0.0, timeout=(1.0, 1.0))

    def make():
        return (PubMedClient(cfg, limiter=RateLimiter(1000, sleep=lambda s: None)),
                ClinicalTrialsClient(cfg, limiter=RateLimiter(1000, sleep=lambda s: None)))

    monkeypatch.setattr(watch_cmd, "make_clients", make)
    monkeypatch.setattr(watch_cmd, "today", lambda: TODAY)


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def first_page(request) -> tuple[bool, str]:
    return "pageToken" not in request.params, "a later page"


def mock_all(mocked, since: str | None = None) -> None:
    """Two esearch pages, one esummary batch, two ClinicalTrials.gov pages."""
    mocked.get(ESEARCH, json=fixture("esearch_page1.json"),
               match=[matchers.query_param_matcher({"retstart": "0", "term": watch.PUBMED_QUERY},
                                                   strict_match=False)])
    mocked.get(ESEARCH, json=fixture("esearch_page2.json"),
               match=[matchers.query_param_matcher({"retstart": "2"}, strict_match=False)])
    mocked.get(ESUMMARY, json=fixture("esummary_three.json"),
               match=[matchers.query_param_matcher({"id": "900000103,900000102,900000101"}, strict_match=False)])
    first = {"aggFilters": "results:with", "query.intr": "ketamine OR esketamine OR arketamine",
             "countTotal": "true"}
    if since:
        first["filter.advanced"] = f"AREA[ResultsFirstPostDate]RANGE[{since},MAX]"
    mocked.get(CTGOV, json=fixture("ctgov_page1.json"),
               match=[matchers.query_param_matcher(first, strict_match=False), first_page])
    mocked.get(CTGOV, json=fixture("ctgov_page2.json"),
               match=[matchers.query_param_matcher({"pageToken": "NF0g5JOBlvcu"}, strict_match=False)])


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


# --------------------------------------------------------------------------- the search and the triage

def test_pages_merges_and_triages_against_the_data(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [BY_DOI, BY_NCT])
    mock_all(mocked, since="2026-11-01")
    code, out, err = run(capsys, "--data", str(d), "watch", "--since", "2026-11-01", "--format", "json")
    assert code == 0, err
    assert len(mocked.calls) == 5
    esearch = mocked.calls[0].request.params
    assert (esearch["datetype"], esearch["mindate"], esearch["maxdate"]) == ("edat", "2026/11/01", "2026/12/01")
    assert esearch["tool"] == "ketamine-evidence-tracker" and esearch["email"] == "curator@example.org"
    doc = json.loads(out)
    rows = {r["pmid"] or r["nct"]: r for r in doc["rows"]}
    assert set(rows) == {"900000101", "900000102", "900000103", "NCT09000002", "NCT09000003"}
    # the RCT: in the data under its DOI only, and merged with the registry record that cites it as its result
    rct = rows["900000101"]
    assert (rct["in_data"], rct["study_id"], rct["matched_by"]) == (True, "example2026_fictpsych", "DOI")
    assert (rct["nct"], rct["registry_status"], rct["results_posted"]) == ("NCT09000001", "COMPLETED", True)
    assert rct["found_in"] == "pubmed+clinicaltrials" and rct["suggested_kind"] == "trial"
    assert rct["reason"] == "PubMed type Randomized Controlled Trial"
    meta = rows["900000102"]
    assert (meta["suggested_kind"], meta["reason"]) == ("meta_analysis", "PubMed type Meta-Analysis")
    assert meta["pmcid"] == "PMC9900002" and meta["journal"] == "Fictitious reviews" and meta["year"] == 2026
    assert meta["publication_types"] == ["Journal Article", "Meta-Analysis", "Systematic Review"]
    assert rows["900000103"]["suggested_kind"] == "trial" and "randomised" in rows["900000103"]["reason"]
    assert rows["NCT09000002"]["suggested_kind"] == "other" and "OBSERVATIONAL" in rows["NCT09000002"]["reason"]
    assert (rows["NCT09000003"]["in_data"], rows["NCT09000003"]["matched_by"]) == (True, "NCT")
    assert (doc["candidates"], doc["in_data"], doc["not_curated"]) == (5, 2, 3)
    assert [r["in_data"] for r in doc["rows"]] == [False, False, False, True, True], "new ones first"
    assert {s["service"]: s["hits"] for s in doc["searches"]} == {"pubmed": 3, "clinicaltrials": 3}
    assert "5 candidates, 3 not in the data" in err


def test_markdown_and_csv_lists(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [BY_DOI, BY_NCT])
    mock_all(mocked)
    code, out, _ = run(capsys, "--data", str(d), "watch", "--since", "2026-11-01")
    assert code == 0
    line = next(row for row in out.splitlines() if "900000101" in row)
    assert "yes: example2026_fictpsych (DOI)" in line and "NCT09000001" in line and "results posted" in line
    mock_all(mocked)
    out_file = tmp_path / "triage.csv"
    code, _, err = run(capsys, "--data", str(d), "watch", "--since", "2026-11-01", "--format", "csv",
                       "--out", str(out_file))
    assert code == 0 and f"wrote {out_file}" in err
    rows = list(csv.DictReader(io.StringIO(out_file.read_text(encoding="utf-8-sig"))))
    assert tuple(rows[0]) == watch.COLUMNS and len(rows) == 5
    meta = next(r for r in rows if r["pmid"] == "900000102")
    assert meta["in_data"] == "no" and meta["publication_types"] == "Journal Article; Meta-Analysis; Systematic Review"


def test_empty_results(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [BY_DOI])
    mocked.get(ESEARCH, json=fixture("esearch_empty.json"))
    mocked.get(CTGOV, json=fixture("ctgov_empty.json"))
    code, out, err = run(capsys, "--data", str(d), "watch", "--since", "2026-11-30", "--record")
    assert code == 0, err
    assert len(mocked.calls) == 2, "no esummary for an empty id list"
    assert "0 candidates, 0 not in the data" in out
    record = last_search.load(d / "last_search.json")
    assert (record.candidates, record.in_data, record.not_curated) == (0, 0, 0)
    assert [s.hits for s in record.searches] == [0, 0]


def test_429_then_success(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [BY_DOI, BY_NCT])
    mocked.get(ESEARCH, status=429, headers={"Retry-After": "0"}, body="Too Many Requests")
    mock_all(mocked)
    code, out, err = run(capsys, "--data", str(d), "watch", "--since", "2026-11-01", "--format", "json")
    assert code == 0, err
    assert [c.response.status_code for c in mocked.calls][:2] == [429, 200]
    assert json.loads(out)["candidates"] == 5


def test_malformed_json_is_one_line_exit_3_and_not_recorded(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [BY_DOI, BY_NCT])
    mocked.get(ESEARCH, body="<html><body>Service temporarily down</body></html>", status=200,
               content_type="text/html")
    mocked.get(CTGOV, json=fixture("ctgov_page1.json"))
    mocked.get(CTGOV, json=fixture("ctgov_page2.json"))
    code, out, err = run(capsys, "--data", str(d), "watch", "--since", "2026-11-01", "--record")
    assert code == 3
    pubmed_lines = [line for line in err.splitlines() if line.startswith("pubmed:")]
    assert pubmed_lines == ["pubmed: bad response (malformed JSON: '<html><body>Service temporarily down</body>"
                            "</html>')"]
    assert "not recorded: the search was incomplete" in err
    assert not (d / "last_search.json").exists()
    assert "NCT09000002" in out, "the service that answered is still listed"
    assert "pubmed: NOT SEARCHED" in out


def test_offline_exits_3_with_one_line_per_service(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [BY_DOI])
    before = snapshot(d)
    code, _, err = run(capsys, "--data", str(d), "watch", "--record")  # nothing registered: every request fails
    assert code == 3
    service_lines = [line for line in err.splitlines() if line.startswith(("pubmed:", "clinicaltrials:"))]
    assert len(service_lines) == 2
    assert service_lines[0].startswith("pubmed: unreachable (ConnectionError")
    assert service_lines[1].startswith("clinicaltrials: unreachable (ConnectionError")
    assert snapshot(d) == before, "nothing recorded after a failed search"


def test_writes_into_data_only_when_named(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [BY_DOI, BY_NCT])
    before = snapshot(d)
    mock_all(mocked)
    assert run(capsys, "--data", str(d), "watch", "--since", "2026-11-01")[0] == 0
    assert snapshot(d) == before
    # a curated file is never replaced, and the record cannot overwrite a file that is not a record
    for argv in (["--out", str(d / "studies.yaml")], ["--record", str(d / "claims.yaml")],
                 ["--record", str(tmp_path / "x.yaml")], ["--since", "2027-01-01"], ["--since", "last month"]):
        code, _, err = run(capsys, "--data", str(d), "watch", *argv)
        assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert snapshot(d) == before
    mock_all(mocked)
    code, _, _ = run(capsys, "--data", str(d), "watch", "--since", "2026-11-01", "--out", str(d / "triage.md"))
    assert code == 0 and set(snapshot(d)) == set(before) | {"triage.md"}


# --------------------------------------------------------------------------- the record, the stamp, Methods

def test_record_feeds_the_next_search_the_stamp_and_methods(tmp_path, mocked, capsys, monkeypatch):
    d = write_data(tmp_path, [BY_DOI, BY_NCT])
    mock_all(mocked)
    code, _, err = run(capsys, "--data", str(d), "watch", "--since", "2026-11-01", "--record")
    assert code == 0 and "recorded the search" in err
    record = last_search.load(d / "last_search.json")
    assert record.searched == TODAY and record.since == date(2026, 11, 1)
    assert (record.candidates, record.in_data, record.not_curated) == (5, 2, 3)
    assert record.searches[0].query == watch.PUBMED_QUERY
    assert "results:with" in record.searches[1].query

    dataset = load_dataset(d)
    s = stamp.stamp(dataset, today=TODAY)
    assert s["last_search"] == (f"literature last searched 2026-12-01 (PubMed and ClinicalTrials.gov, query "
                                f"{record.fingerprint}): 3 of 5 candidates not yet curated")
    assert s["last_search"] in s["how_to_cite"]

    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(d))
    at = AppTest.from_file(str(REPO / "evidence" / "ui" / "methods.py"), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = "\n".join(m.value for m in at.markdown)
    assert "**Last searched 2026-12-01**" in shown and "**3 not yet curated**" in shown
    assert watch.PUBMED_QUERY in shown

    # the next run searches from the recorded date
    mock_all(mocked, since="2026-12-01")
    code, _, err = run(capsys, "--data", str(d), "watch", "--format", "json")
    assert code == 0 and "searching from 2026-12-01" in err
    assert mocked.calls[-5].request.params["mindate"] == "2026/12/01"


def test_a_json_export_cites_the_recorded_search(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [BY_DOI, BY_NCT])
    mock_all(mocked)
    assert run(capsys, "--data", str(d), "watch", "--since", "2026-11-01", "--record")[0] == 0
    out = tmp_path / "studies.json"
    code, _, err = run(capsys, "--data", str(d), "export", "--format", "json", "--table", "studies", "--out", str(out))
    assert code == 0, err
    cite = json.loads(out.read_text(encoding="utf-8"))["how_to_cite"]
    assert "literature last searched 2026-12-01" in cite and "3 of 5 candidates not yet curated" in cite


def test_committed_record_says_no_search_yet(tmp_path):
    committed = REPO / "data" / last_search.FILENAME
    record = last_search.load(committed)
    assert record.searched is None and record.candidates is None and not record.searches
    assert last_search.statement(record) == "no literature search run yet"
    d = write_data(tmp_path, [BY_DOI])
    (d / last_search.FILENAME).write_bytes(committed.read_bytes())
    assert "no literature search run yet" in stamp.how_to_cite(load_dataset(d), today=TODAY)


def test_without_a_record_the_stamp_says_so(tmp_path):
    d = write_data(tmp_path, [BY_DOI])
    assert stamp.stamp(load_dataset(d), today=TODAY)["last_search"] == "no literature search run yet"


@pytest.mark.parametrize(("change", "field"), [
    ({"not_curated": 4}, "'in_data' + 'not_curated' must equal 'candidates'"),
    ({"candidates": -1}, "candidates"),
    ({"searched": "yesterday"}, "searched"),
    ({"extra": 1}, "extra"),
])
def test_invalid_record_is_one_line(tmp_path, change, field):
    good = {"searched": "2026-12-01", "since": None, "candidates": 5, "in_data": 2, "not_curated": 3,
            "searches": [{"service": "pubmed", "query": "q", "hits": 5}]}
    path = tmp_path / "last_search.json"
    path.write_text(json.dumps({**good, **change}), encoding="utf-8")
    with pytest.raises(last_search.LastSearchInvalid) as err:
        last_search.load(path)
    assert str(path) in str(err.value) and field in str(err.value) and "\n" not in str(err.value)
    record, error = last_search.read(tmp_path)
    assert record is None and error == str(err.value)
    assert last_search.statement(record, error) == "last literature search: record unreadable"


def test_invalid_record_stops_a_default_run(tmp_path, capsys):
    d = write_data(tmp_path, [BY_DOI])
    (d / "last_search.json").write_text("{not json", encoding="utf-8")
    code, _, err = run(capsys, "--data", str(d), "watch")
    assert code == 2 and "last_search.json:1: not valid JSON" in err


# --------------------------------------------------------------------------- kinds

def pub(pubtypes: list[str], title: str = "A study of ketamine", retracted: bool = False) -> PubRecord:
    return PubRecord(pmid="1", title=title, journal="J", year=2026, authors=[], doi=None, pubtypes=pubtypes,
                     retracted=retracted)


@pytest.mark.parametrize(("pubtypes", "title", "kind", "reason"), [
    (["Systematic Review", "Meta-Analysis"], "", "meta_analysis", "PubMed type Meta-Analysis"),
    (["Systematic Review"], "", "systematic_review", "PubMed type Systematic Review"),
    (["Journal Article", "Clinical Trial, Phase III"], "", "trial", "PubMed type Clinical Trial, Phase III"),
    (["Comment", "Randomized Controlled Trial"], "", "trial", "PubMed type Randomized Controlled Trial"),
    (["Letter"], "A randomized trial, reconsidered", "other", "PubMed type Letter"),
    (["Journal Article"], "Ketamine for depression: study protocol for a randomised trial", "other",
     "title says protocol"),
    (["Journal Article"], "A meta-analysis of ketamine", "meta_analysis",
     'title says "meta-analysis" (no trial or review publication type yet)'),
    (["Review"], "Ketamine today", "review", "PubMed type Review"),
    (["Journal Article"], "Ketamine in the clinic", "other", "no trial or review publication type"),
])
def test_suggested_kind(pubtypes, title, kind, reason):
    assert watch.suggest_pub_kind(pub(pubtypes, title or "A study of ketamine")) == (kind, reason)


def test_retracted_is_flagged():
    assert watch.suggest_pub_kind(pub(["Randomized Controlled Trial"], retracted=True)) == ("other",
                                                                                           "retracted (PubMed)")


# --------------------------------------------------------------------------- odd dates and cells

def test_results_posted_as_month_and_year_gives_the_year():
    trial = TrialRecord(nct="NCT09000009", title="A trial", status="COMPLETED", enrollment=None, start_date=None,
                        results_first_posted="May 2023")
    assert [c.year for c in watch.triage([], [trial], [])] == [2023]


def test_a_recorded_search_in_the_future_stops_a_default_run(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [BY_DOI])
    (d / "last_search.json").write_text(json.dumps(
        {"searched": "2099-01-01", "since": None, "candidates": 0, "in_data": 0, "not_curated": 0,
         "searches": [{"service": "pubmed", "query": "q", "hits": 0}]}), encoding="utf-8")
    code, _, err = run(capsys, "--data", str(d), "watch")
    assert code == 2 and len(mocked.calls) == 0
    assert err.strip() == (f"error: {d / 'last_search.json'}: the last search date 2099-01-01 is in the future; "
                           "fix it or give --since")


@pytest.mark.parametrize("since", ["20250101", "2025W011", "2024-01-01T00:00", "\uff11\uff19\uff19\uff19-01-01"])
def test_since_must_be_yyyy_mm_dd(tmp_path, mocked, capsys, since):
    d = write_data(tmp_path, [BY_DOI])
    code, _, err = run(capsys, "--data", str(d), "watch", "--since", since)
    assert code == 2 and "expected YYYY-MM-DD" in err and len(mocked.calls) == 0


def test_entrez_dates_have_four_digit_years():
    assert watch.pubmed_filters(date(1, 1, 1), TODAY)["mindate"] == "0001/01/01"


def test_csv_guards_cells_that_start_with_tab_or_cr():
    rows = [watch.Candidate(found_in="pubmed", title="\t=1+1", pmid="1"),
            watch.Candidate(found_in="pubmed", title="\r=1+1", pmid="2")]
    titles = [r["title"] for r in csv.DictReader(io.StringIO(watch.to_csv(rows)))]
    assert titles == ["'\t=1+1", "'\r=1+1"]
