"""Offline tests of ``verify`` and ``scaffold``: a tiny tmp data dir, `responses` in strict mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses
import yaml
from responses import matchers

import evidence.commands.verify as verify_cmd
from evidence.cli import main
from evidence.curation.load import REPO_ROOT, load_fragment
from evidence.curation.schema import Study
from evidence.sources.sources_api import (
    Clients,
    ClinicalTrialsClient,
    CrossrefClient,
    HttpConfig,
    PubMedClient,
    RateLimiter,
)
from evidence.sources.verification import normalise_journal, normalise_title, plain_text, surname

FIXTURES = Path(__file__).parent / "fixtures" / "api"
ESUMMARY = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/esummary.fcgi"
CROSSREF = "https://api.crossref.org/works/"
CTGOV = "https://clinicaltrials.gov/api/v2/studies/"

ZARATE = {
    "id": "zarate2006_archgenpsychiatry",
    "kind": "trial",
    "citation": {
        "authors": ["Zarate CA Jr", "Singh JB"],
        "year": 2006,
        "title": "A randomized trial of an N-methyl-D-aspartate antagonist in treatment-resistant major depression",
        "journal": "Arch Gen Psychiatry",
    },
    "pmid": "16894061",
    "doi": "10.1001/archpsyc.63.8.856",
    "design": "RCT crossover",
    "blinding": "double-blind",
    "drug": "racemic ketamine",
    "route": "intravenous",
    "population": "TRD",
}
POPOVA = {
    "id": "popova2019_transform2",
    "kind": "trial",
    "citation": {
        "authors": ["Popova V", "Daly EJ"],
        "year": 2019,
        "title": "Efficacy and safety of flexibly dosed esketamine nasal spray combined with a newly initiated oral "
                 "antidepressant in treatment-resistant depression: a randomized double-blind active-controlled "
                 "study",
        "journal": "American Journal of Psychiatry",
    },
    "pmid": "31109201",
    "nct": "NCT02418585",
    "design": "RCT parallel",
    "blinding": "double-blind",
    "drug": "esketamine",
    "route": "intranasal",
    "population": "TRD",
    "sample": {"n_randomized": 227, "source": {"location": "Abstract", "quote": "227 patients were randomized"}},
}
RETRACTED = {
    "id": "example2015_retracted",
    "kind": "trial",
    "citation": {
        "authors": ["Example AB"],
        "year": 2015,
        "title": "Single-infusion ketamine produces lasting remission: a fictitious retracted trial",
        "journal": "J Example Psychiatry",
    },
    "pmid": "900000001",
    "doi": "10.5555/example.retracted.2015",
    "design": "RCT parallel",
    "blinding": "double-blind",
    "drug": "racemic ketamine",
    "route": "intravenous",
    "population": "TRD",
}


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def write_data(root: Path, studies: list[dict]) -> Path:
    d = root / "data"
    d.mkdir()
    (d / "studies.yaml").write_text(yaml.safe_dump({"studies": studies}, sort_keys=False, allow_unicode=True),
                                    encoding="utf-8")
    (d / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    (d / "claims.yaml").write_text("claims: []\n", encoding="utf-8")
    return d


@pytest.fixture(autouse=True)
def offline_clients(monkeypatch):
    """Clients with no backoff and no rate-limit sleeping; HTTP is mocked by `responses`."""
    cfg = HttpConfig(email="curator@example.org", backoff_factor=0.0, timeout=(1.0, 1.0))

    def make() -> Clients:
        def limiter() -> RateLimiter:
            return RateLimiter(1000, sleep=lambda s: None)

        return Clients(PubMedClient(cfg, limiter=limiter()), CrossrefClient(cfg, limiter=limiter()),
                       ClinicalTrialsClient(cfg, limiter=limiter()))

    monkeypatch.setattr(verify_cmd, "make_clients", make)


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


# --------------------------------------------------------------------------- verify


def test_verify_all_match(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [ZARATE, POPOVA])
    mocked.get(ESUMMARY, json=fixture("esummary_batch3.json"),
               match=[matchers.query_param_matcher({"id": "16894061,31109201"}, strict_match=False)])
    mocked.get(CROSSREF + "10.1001%2Farchpsyc.63.8.856", json=fixture("crossref_work.json"))
    mocked.get(CTGOV + "NCT02418585", json=fixture("ctgov_study.json"))
    code, out, err = run(capsys, "--data", str(d), "verify")
    assert code == 0, out + err
    assert "MISMATCH" not in out
    assert len(mocked.calls) == 3  # one batched esummary, one Crossref, one ClinicalTrials.gov
    lines = [line.split() for line in out.splitlines()]
    assert ["ok", "zarate2006_archgenpsychiatry", "pubmed", "doi<->pmid"] in [row[:4] for row in lines]
    assert ["ok", "zarate2006_archgenpsychiatry", "crossref", "journal"] in [row[:4] for row in lines]
    assert "we record no DOI" in out  # Popova: PubMed has a DOI that we do not record
    assert "2 studies:" in out and "0 failed" in out


def test_verify_doi_pmid_disagreement_is_a_mismatch(tmp_path, mocked, capsys):
    wrong = {**ZARATE, "doi": "10.1176/appi.ajp.2013.13030392"}  # Murrough 2013's DOI on Zarate 2006's PMID
    d = write_data(tmp_path, [wrong])
    mocked.get(ESUMMARY, json=fixture("esummary_single.json"))
    mocked.get(CROSSREF + "10.1176%2Fappi.ajp.2013.13030392", json=fixture("crossref_work_murrough.json"))
    code, out, _ = run(capsys, "--data", str(d), "verify")
    assert code == 1
    pair = next(line for line in out.splitlines() if "doi<->pmid" in line)
    assert pair.startswith("MISMATCH")
    assert "10.1176/appi.ajp.2013.13030392" in pair and "10.1001/archpsyc.63.8.856" in pair
    crossref_title = next(line for line in out.splitlines() if " crossref " in line and " title " in line)
    assert crossref_title.startswith("MISMATCH")
    assert "in full:" in out and "theirs: Antidepressant Efficacy of Ketamine in Treatment-Resistant Major" in out
    assert "mismatches in: zarate2006_archgenpsychiatry" in out


def test_verify_retracted_paper_fails(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [RETRACTED])
    mocked.get(ESUMMARY, json=fixture("esummary_retracted.json"))
    mocked.get(CROSSREF + "10.5555%2Fexample.retracted.2015", json=fixture("crossref_retracted.json"))
    code, out, _ = run(capsys, "--data", str(d), "verify")
    assert code == 1
    assert out.count("RETRACTED") == 2  # PubMed and Crossref both say so
    assert "erratum/correction published" in out


def test_verify_pmid_unknown_to_pubmed(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [{**ZARATE, "pmid": "999999999", "doi": None}])
    mocked.get(ESUMMARY, json=fixture("esummary_invalid_id.json"))
    code, out, _ = run(capsys, "--data", str(d), "verify")
    assert code == 1
    assert any(line.startswith("MISMATCH") and "not found" in line for line in out.splitlines())


def test_verify_offline_exits_3_with_one_line_per_service(tmp_path, mocked, capsys):
    third = {**RETRACTED, "id": "third2015_test"}
    d = write_data(tmp_path, [ZARATE, POPOVA, third])
    # nothing registered: strict `responses` refuses every request with a ConnectionError
    code, out, err = run(capsys, "--data", str(d), "verify")
    assert code == 3
    lines = err.strip().splitlines()
    assert lines[0].startswith("pubmed: unreachable (ConnectionError")
    assert lines[0].endswith("skipped 3 studies")
    assert lines[1].startswith("crossref: unreachable (ConnectionError") and lines[1].endswith("skipped 2 studies")
    assert lines[2].startswith("clinicaltrials: unreachable") and lines[2].endswith("skipped 1 study")
    assert len(lines) == 3
    assert len(mocked.calls) == 3  # after the first failure a service is not asked again
    assert "nothing to check" in out

    code, _, err = run(capsys, "--data", str(d), "verify", "--offline-ok")
    assert code == 0
    assert "pubmed: unreachable" in err


def test_verify_partial_outage(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [ZARATE])
    mocked.get(ESUMMARY, json=fixture("esummary_single.json"))
    mocked.get(CROSSREF + "10.1001%2Farchpsyc.63.8.856", body=__import__("requests").exceptions.ReadTimeout("slow"))
    code, out, err = run(capsys, "--data", str(d), "verify")
    assert code == 3
    assert "pubmed" in out and "MISMATCH" not in out
    assert err.strip() == "crossref: unreachable (ReadTimeout: slow); skipped 1 study"


def test_verify_bad_response_is_reported_not_raised(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [ZARATE])
    mocked.get(ESUMMARY, body="{not json", content_type="application/json")
    mocked.get(CROSSREF + "10.1001%2Farchpsyc.63.8.856", json=fixture("crossref_work.json"))
    code, _, err = run(capsys, "--data", str(d), "verify")
    assert code == 3
    assert err.startswith("pubmed: bad response (malformed JSON")


def test_verify_only_selects_and_rejects_unknown_ids(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [ZARATE, POPOVA])
    mocked.get(ESUMMARY, json=fixture("esummary_batch3.json"),
               match=[matchers.query_param_matcher({"id": "31109201"}, strict_match=False)])
    mocked.get(CTGOV + "NCT02418585", json=fixture("ctgov_study.json"))
    code, out, _ = run(capsys, "--data", str(d), "verify", "--only", "popova2019_transform2")
    assert code == 0
    assert "zarate2006" not in out

    code, _, err = run(capsys, "--data", str(d), "verify", "--only", "nobody1999")
    assert code == 2
    assert "unknown study id(s): nobody1999" in err


def test_verify_invalid_data_prints_errors_and_exits_1(tmp_path, mocked, capsys):
    broken = {k: v for k, v in ZARATE.items() if k != "kind"}
    d = write_data(tmp_path, [broken])
    code, out, err = run(capsys, "--data", str(d), "verify")
    assert code == 1
    assert "kind" in out and "invalid" in err
    assert len(mocked.calls) == 0


# --------------------------------------------------------------------------- scaffold

REQUIRED_FILL = {"kind": "trial", "design": "RCT crossover", "blinding": "double-blind",
                 "drug": "racemic ketamine", "route": "intravenous", "population": "TRD"}


def test_scaffold_from_pmid_is_yaml_with_todos(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [POPOVA])
    mocked.get(ESUMMARY, json=fixture("esummary_single.json"))
    code, out, _ = run(capsys, "--data", str(d), "scaffold", "--pmid", "16894061")
    assert code == 0
    assert "TODO" in out
    entry = yaml.safe_load(out)["studies"][0]
    assert entry["id"] == "zarate2006_archgenpsychiatry"
    assert entry["pmid"] == "16894061" and entry["doi"] == "10.1001/archpsyc.63.8.856"
    assert entry["citation"]["authors"][0] == "Zarate CA Jr" and len(entry["citation"]["authors"]) == 8
    assert entry["citation"]["year"] == 2006
    assert entry["citation"]["journal"] == "Arch Gen Psychiatry"
    assert entry["citation"]["title"].startswith("A randomized trial of an N-methyl-D-aspartate")
    assert all(entry[f] == "TODO" for f in REQUIRED_FILL)
    # once the TODOs are filled in, the entry is a valid study
    Study.model_validate({**entry, **REQUIRED_FILL})


def test_scaffold_from_doi_to_out_file_is_a_fragment(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [])
    out_file = tmp_path / "drafts" / "new.yaml"
    out_file.parent.mkdir()
    mocked.get(CROSSREF + "10.1001%2Farchpsyc.63.8.856", json=fixture("crossref_work.json"))
    code, out, err = run(capsys, "--data", str(d), "scaffold", "--doi", "https://doi.org/10.1001/archpsyc.63.8.856",
                         "--out", str(out_file))
    assert code == 0 and out == ""
    assert "wrote" in err
    text = out_file.read_text(encoding="utf-8")
    entry = yaml.safe_load(text)["studies"][0]
    assert entry["id"] == "zarate2006_archgenpsychiatry"
    assert entry["doi"] == "10.1001/archpsyc.63.8.856" and "pmid" not in entry
    assert entry["citation"]["journal"] == "Archives of General Psychiatry"
    # the draft is a studies file: `fragment` reports the TODOs as errors until they are filled
    studies, errors = load_fragment(out_file)
    assert not studies and errors
    out_file.write_text(text.replace("kind: TODO", "kind: trial").replace("design: TODO", "design: RCT crossover")
                        .replace("blinding: TODO", "blinding: double-blind")
                        .replace("drug: TODO", "drug: racemic ketamine").replace("route: TODO", "route: intravenous")
                        .replace("population: TODO", "population: TRD"), encoding="utf-8")
    studies, errors = load_fragment(out_file)
    assert errors == [] and studies[0].citation.year == 2006


def test_scaffold_refuses_out_inside_data_dir(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [])
    target = d / "new_study.yaml"
    code, _, err = run(capsys, "--data", str(d), "scaffold", "--pmid", "16894061", "--out", str(target))
    assert code == 2
    assert "refusing to write" in err and "data directory" in err
    assert not target.exists()
    assert len(mocked.calls) == 0  # refused before asking anyone


def test_scaffold_refuses_repo_data_dir_even_with_other_data(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [])
    target = REPO_ROOT / "data" / "scaffold_test_should_not_exist.yaml"
    code, _, err = run(capsys, "--data", str(d), "scaffold", "--pmid", "16894061", "--out", str(target))
    assert code == 2 and "refusing to write" in err
    assert not target.exists()


def test_scaffold_warns_when_already_in_data(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [ZARATE])
    mocked.get(ESUMMARY, json=fixture("esummary_single.json"))
    code, out, err = run(capsys, "--data", str(d), "scaffold", "--pmid", "16894061")
    assert code == 0
    assert "already in the data as study zarate2006_archgenpsychiatry" in err
    assert "# WARNING:" in out


def test_scaffold_offline_and_bad_input(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [])
    code, out, err = run(capsys, "--data", str(d), "scaffold", "--pmid", "16894061")
    assert code == 3 and out == ""
    assert err.startswith("pubmed: unreachable (ConnectionError")

    code, _, err = run(capsys, "--data", str(d), "scaffold", "--pmid", "PMC123")
    assert code == 2 and "not a PMID" in err

    mocked.get(ESUMMARY, json=fixture("esummary_invalid_id.json"))
    code, _, err = run(capsys, "--data", str(d), "scaffold", "--pmid", "999999999")
    assert code == 2 and "pubmed has no record for 999999999" in err


# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(("a", "b"), [
    ("Ketamine for depression.", "ketamine for depression"),
    ("A <i>two-site</i> trial", "A two site trial"),
    ("\uff2b\uff45\uff54\uff41\uff4d\uff49\uff4e\uff45:  a   review", "ketamine a review"),  # full-width (NFKC)
])
def test_titles_normalise_equal(a, b):
    assert normalise_title(a) == normalise_title(b)


def test_journal_and_surname_normalisation():
    full = normalise_journal("The American Journal of Psychiatry")
    assert full == normalise_journal("American journal of psychiatry")
    assert normalise_journal("Am. J. Psychiatry") == normalise_journal("Am J Psychiatry")
    assert normalise_journal("Am J Psychiatry") != normalise_journal("American Journal of Psychiatry")  # no expansion
    assert plain_text("A <i>two-site</i>  trial &amp; more") == "A two-site trial & more"
    assert surname("Zarate CA Jr") == "Zarate"
    assert surname("van de Beek D") == "van de Beek"
    assert surname("ESCAPE-TRD Investigators") == "ESCAPE-TRD Investigators"


def test_crossref_subtitle_is_accepted_as_part_of_the_title():
    from evidence.sources.sources_api import CrossrefRecord
    from evidence.sources.verification import check_crossref

    study = Study.model_validate({**ZARATE, "citation": {**ZARATE["citation"], "title": "Main title: the subtitle"}})
    rec = CrossrefRecord(doi=ZARATE["doi"], title="Main Title", subtitle="The Subtitle", journal="Arch Gen Psychiatry",
                         year=2006, authors=["Zarate CA"], type="journal-article")
    checks = {c.field: c for c in check_crossref(study, rec)}
    assert checks["title"].ok and checks["title"].theirs == "Main Title: The Subtitle"
    assert all(c.ok for c in checks.values())


def test_misconfigured_cache_is_a_user_error(tmp_path, capsys, monkeypatch):
    d = write_data(tmp_path, [ZARATE])
    monkeypatch.setattr(verify_cmd, "make_clients",
                        lambda: Clients.create(HttpConfig(cache_path=str(tmp_path / "nope" / "c.sqlite"))))
    code, _, err = run(capsys, "--data", str(d), "verify")
    assert code == 2 and "EVIDENCE_HTTP_CACHE" in err


def test_scaffold_refuses_a_crossref_record_for_another_doi(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [ZARATE])
    work = fixture("crossref_work.json")
    work["message"]["DOI"] = "10.9999/something.else"
    mocked.get(CROSSREF + "10.1001%2Farchpsyc.63.8.856", json=work)
    code, out, err = run(capsys, "--data", str(d), "scaffold", "--doi", "10.1001/archpsyc.63.8.856")
    assert code == 3 and out == ""
    assert err == "crossref: bad response (Crossref answered with another DOI: 10.9999/something.else)\n"


def test_scaffold_accepts_crossref_doi_in_other_case(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [])
    work = fixture("crossref_work.json")
    work["message"]["DOI"] = "10.1001/ARCHPSYC.63.8.856"
    mocked.get(CROSSREF + "10.1001%2Farchpsyc.63.8.856", json=work)
    code, out, _ = run(capsys, "--data", str(d), "scaffold", "--doi", "10.1001/archpsyc.63.8.856")
    assert code == 0 and "10.1001/ARCHPSYC.63.8.856" in out


def test_scaffold_refuses_an_esummary_record_for_another_pmid(tmp_path, mocked, capsys):
    d = write_data(tmp_path, [ZARATE])
    body = fixture("esummary_single.json")
    entry = body["result"].pop("16894061")
    body["result"].update({"uids": ["99999999"], "99999999": {**entry, "uid": "99999999"}})
    mocked.get(ESUMMARY, json=body)
    code, out, err = run(capsys, "--data", str(d), "scaffold", "--pmid", "16894061")
    assert code == 3 and out == ""
    assert err == "pubmed: bad response (unexpected shape: answered for PMID 99999999, not 16894061)\n"
