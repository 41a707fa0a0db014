"""Offline tests of evidence.sources.sources_api: `responses` in strict mode, fixtures shaped like the services' JSON.

`responses` runs the adapter's urllib3 ``Retry`` (it calls ``Retry.increment`` itself), so the
retry tests below really count the attempts.  Backoff is 0 and the rate limiter's sleep is a no-op.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import responses
from responses import matchers

from evidence.sources import sources_api
from evidence.sources.sources_api import (
    BadResponse,
    ClinicalTrialsClient,
    CrossrefClient,
    HttpConfig,
    NotFound,
    PubMedClient,
    RateLimiter,
    ServiceUnavailable,
    describe,
    make_session,
    user_agent,
)

FIXTURES = Path(__file__).parent / "fixtures" / "api"
ESUMMARY = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/esummary.fcgi"
CROSSREF = "https://api.crossref.org/works/"
CTGOV = "https://clinicaltrials.gov/api/v2/studies/"
EMAIL = "curator@example.org"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def config(**kw) -> HttpConfig:
    values = {"email": EMAIL, "backoff_factor": 0.0, "timeout": (1.0, 2.0)}
    values.update(kw)
    return HttpConfig(**values)


def no_wait() -> RateLimiter:
    return RateLimiter(1000, sleep=lambda s: None)


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def pubmed() -> PubMedClient:
    return PubMedClient(config(), limiter=no_wait())


# --------------------------------------------------------------------------- PubMed


def test_pubmed_normal_record(mocked, pubmed):
    mocked.get(ESUMMARY, json=fixture("esummary_single.json"), match=[matchers.query_param_matcher(
        {"db": "pubmed", "id": "16894061", "retmode": "json", "tool": "ketamine-evidence-tracker", "email": EMAIL})])
    rec = pubmed.summary("16894061")
    assert rec.pmid == "16894061"
    assert rec.title.startswith("A randomized trial of an N-methyl-D-aspartate antagonist")
    assert rec.journal == "Arch Gen Psychiatry"
    assert rec.journal_full == "Archives of general psychiatry"
    assert rec.year == 2006
    assert rec.authors[:2] == ["Zarate CA Jr", "Singh JB"]
    assert rec.doi == "10.1001/archpsyc.63.8.856"
    assert "Randomized Controlled Trial" in rec.pubtypes
    assert not rec.retracted and not rec.erratum and not rec.retraction_notice
    request = mocked.calls[0].request
    assert request.headers["User-Agent"] == f"ketamine-evidence-tracker/0.1 (+mailto:{EMAIL})"
    assert request.req_kwargs["timeout"] == (1.0, 2.0)


def test_pubmed_batch_of_three_is_one_request(mocked, pubmed):
    mocked.get(ESUMMARY, json=fixture("esummary_batch3.json"),
               match=[matchers.query_param_matcher({"id": "16894061,23982301,31109201"}, strict_match=False)])
    recs = pubmed.summaries(["16894061", "23982301", "31109201", "16894061"])  # duplicate asked once
    assert len(mocked.calls) == 1
    assert list(recs) == ["16894061", "23982301", "31109201"]
    assert recs["31109201"].year == 2019 and recs["31109201"].epub_year == 2019
    assert recs["23982301"].journal == "Am J Psychiatry"
    assert recs["23982301"].journal_full == "The American journal of psychiatry"


def test_pubmed_batches_at_200_ids(mocked, pubmed):
    def reply(request):
        ids = request.params["id"].split(",")
        return 200, {}, json.dumps({"header": {}, "result": {"uids": ids, **{i: {"uid": i, "title": f"T{i}"}
                                                                          for i in ids}}})

    mocked.add_callback(responses.GET, ESUMMARY, callback=reply)
    recs = pubmed.summaries([str(n) for n in range(1, 402)])
    assert [len(c.request.params["id"].split(",")) for c in mocked.calls] == [200, 200, 1]
    assert len(recs) == 401


def test_pubmed_retracted_record_with_erratum(mocked, pubmed):
    mocked.get(ESUMMARY, json=fixture("esummary_retracted.json"))
    rec = pubmed.summary("900000001")
    assert rec.retracted is True
    assert rec.erratum is True
    assert rec.retraction_notice is False
    assert rec.year == 2015 and rec.epub_year == 2014


def test_pubmed_invalid_id_is_not_found(mocked, pubmed):
    mocked.get(ESUMMARY, json=fixture("esummary_invalid_id.json"))
    assert pubmed.summaries(["999999999"]) == {}
    mocked.get(ESUMMARY, json=fixture("esummary_invalid_id.json"))
    with pytest.raises(NotFound):
        pubmed.summary("999999999")


def test_pubmed_empty_result(mocked, pubmed):
    mocked.get(ESUMMARY, json=fixture("esummary_empty.json"))
    assert pubmed.summaries(["16894061"]) == {}


def test_pubmed_no_ids_makes_no_request(mocked, pubmed):
    assert pubmed.summaries([]) == {}
    assert len(mocked.calls) == 0


def test_pubmed_rejects_non_pmids(pubmed):
    with pytest.raises(ValueError, match="not PMIDs"):
        pubmed.summaries(["12a"])


def test_429_with_retry_after_then_success_retries_once(mocked, pubmed):
    mocked.get(ESUMMARY, status=429, headers={"Retry-After": "0"}, body="Too Many Requests")
    mocked.get(ESUMMARY, json=fixture("esummary_single.json"))
    rec = pubmed.summary("16894061")
    assert rec.pmid == "16894061"
    assert len(mocked.calls) == 2
    assert [c.response.status_code for c in mocked.calls] == [429, 200]


def test_503_until_retries_are_exhausted_is_service_unavailable(mocked, pubmed):
    for _ in range(4):  # the first try and three retries
        mocked.get(ESUMMARY, status=503, body="Service Unavailable")
    with pytest.raises(ServiceUnavailable) as info:
        pubmed.summary("16894061")
    assert len(mocked.calls) == 4
    assert info.value.service == "pubmed"
    assert "HTTP 503 after 3 retries" in info.value.reason


def test_timeout_is_service_unavailable(mocked, pubmed):
    mocked.get(ESUMMARY, body=requests.exceptions.ConnectTimeout("connect timed out"))
    with pytest.raises(ServiceUnavailable) as info:
        pubmed.summaries(["16894061"])
    assert info.value.reason.startswith("ConnectTimeout")


def test_connection_error_message_hides_query_string(mocked, pubmed):
    secret = PubMedClient(config(ncbi_api_key="sekrit-key"), limiter=no_wait())
    mocked.get(ESUMMARY, body=requests.exceptions.ConnectionError(
        f"HTTPSConnectionPool: Max retries exceeded with url: /esummary.fcgi?id=1&email={EMAIL}&api_key=sekrit-key"))
    with pytest.raises(ServiceUnavailable) as info:
        secret.summaries(["1"])
    assert "sekrit" not in str(info.value) and EMAIL not in str(info.value)
    assert mocked.calls[0].request.params["api_key"] == "sekrit-key"


def test_malformed_json_is_bad_response(mocked, pubmed):
    mocked.get(ESUMMARY, body='{"header": {"type": "esummary"}, "result": {"uids": [', content_type="application/json")
    with pytest.raises(BadResponse, match="malformed JSON"):
        pubmed.summaries(["16894061"])


def test_html_error_page_is_bad_response(mocked, pubmed):
    mocked.get(ESUMMARY, body="<html><body>Maintenance</body></html>", content_type="text/html")
    with pytest.raises(BadResponse):
        pubmed.summaries(["16894061"])


@pytest.mark.parametrize("payload", [
    [],
    {"header": {}},
    {"result": []},
    {"result": {"uids": "16894061"}},
    {"result": {"uids": ["16894061"]}},
    {"result": {"uids": ["16894061"], "16894061": {"uid": "16894061", "title": 5}}},
    {"error": "API rate limit exceeded"},
    {"result": {"uids": ["16894061"], "16894061": {"uid": "16894061", "title": "T", "pubtype": 5}}},
    {"result": {"uids": ["16894061"], "16894061": {"uid": "16894061", "title": "T", "references": 7}}},
    {"result": {"uids": ["16894061"], "16894061": {"uid": "99999999", "title": "T"}}},  # another record
])
def test_unexpected_shapes_are_bad_response(mocked, pubmed, payload):
    mocked.get(ESUMMARY, json=payload)
    with pytest.raises(BadResponse):
        pubmed.summaries(["16894061"])


def test_no_email_no_mailto_and_api_key_raises_rate(mocked):
    client = PubMedClient(HttpConfig(backoff_factor=0.0, ncbi_api_key="k"), limiter=no_wait())
    mocked.get(ESUMMARY, json=fixture("esummary_empty.json"))
    client.summaries(["1"])
    request = mocked.calls[0].request
    assert request.headers["User-Agent"] == "ketamine-evidence-tracker/0.1"
    assert "email" not in request.params and request.params["api_key"] == "k"
    assert PubMedClient(HttpConfig(ncbi_api_key="k")).limiter.rate == 10
    assert PubMedClient(HttpConfig()).limiter.rate == 3


def test_pubmed_summary_of_another_pmid_is_bad_response_not_not_found(mocked, pubmed):
    mocked.get(ESUMMARY, json={"result": {"uids": ["99999999"], "99999999": {"uid": "99999999", "title": "T"}}})
    with pytest.raises(BadResponse, match="answered for PMID 99999999, not 16894061"):
        pubmed.summary("16894061")


ESEARCH = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/esearch.fcgi"


@pytest.mark.parametrize("count", ["\u00b2", "1" * 5000, "-1", True, None])
def test_esearch_count_int_cannot_convert_is_bad_response(mocked, pubmed, count):
    mocked.get(ESEARCH, json={"esearchresult": {"count": count, "idlist": []}})
    with pytest.raises(BadResponse, match="count' is not a number"):
        pubmed.search("ketamine")


def test_deeply_nested_json_is_bad_response(mocked, pubmed):
    mocked.get(ESUMMARY, body="[" * 100_000 + "]" * 100_000, content_type="application/json")
    with pytest.raises(BadResponse, match="nested too deeply"):
        pubmed.summaries(["16894061"])


# --------------------------------------------------------------------------- Crossref


def test_crossref_work(mocked):
    client = CrossrefClient(config(), limiter=no_wait())
    mocked.get(CROSSREF + "10.1001%2Farchpsyc.63.8.856", json=fixture("crossref_work.json"),
               match=[matchers.query_param_matcher({"mailto": EMAIL})])
    rec = client.work("10.1001/archpsyc.63.8.856")
    assert rec.doi == "10.1001/archpsyc.63.8.856"
    assert rec.title.startswith("A Randomized Trial of an N-methyl-D-aspartate")
    assert rec.journal == "Archives of General Psychiatry"
    assert rec.journal_short == "Arch Gen Psychiatry"
    assert rec.year == 2006
    assert rec.authors[0] == "Zarate CA"
    assert rec.type == "journal-article"
    assert not rec.retracted and not rec.erratum


def test_crossref_retracted_work(mocked):
    client = CrossrefClient(config(), limiter=no_wait())
    mocked.get(CROSSREF + "10.5555%2Fexample.retracted.2015", json=fixture("crossref_retracted.json"))
    rec = client.work("10.5555/example.retracted.2015")
    assert rec.retracted is True and rec.erratum is True
    assert rec.retraction_notice is False
    assert rec.updates == ("correction", "retraction")
    assert rec.year == 2014 and 2015 in rec.other_years


def test_crossref_404_is_not_found(mocked):
    client = CrossrefClient(config(), limiter=no_wait())
    mocked.get(CROSSREF + "10.5555%2Fnope", status=404, body="Resource not found.")
    with pytest.raises(NotFound, match=r"10\.5555/nope"):
        client.work("10.5555/nope")


def test_crossref_message_without_doi_is_bad_response(mocked):
    client = CrossrefClient(config(), limiter=no_wait())
    mocked.get(CROSSREF + "10.5555%2Fx", json={"status": "ok", "message-type": "work", "message": {"title": []}})
    with pytest.raises(BadResponse):
        client.work("10.5555/x")


def test_crossref_author_not_a_list_is_bad_response(mocked):
    client = CrossrefClient(config(), limiter=no_wait())
    work = fixture("crossref_work.json")
    work["message"]["author"] = 5
    mocked.get(CROSSREF + "10.1001%2Farchpsyc.63.8.856", json=work)
    with pytest.raises(BadResponse, match="'author' is not a list"):
        client.work("10.1001/archpsyc.63.8.856")


@pytest.mark.parametrize("year", ["\u00b2", "1" * 5000])
def test_crossref_year_int_cannot_convert_is_no_year(mocked, year):
    client = CrossrefClient(config(), limiter=no_wait())
    work = fixture("crossref_work.json")
    for key in ("issued", "published-print", "published-online", "published"):
        work["message"][key] = {"date-parts": [[year]]}
    mocked.get(CROSSREF + "10.1001%2Farchpsyc.63.8.856", json=work)
    rec = client.work("10.1001/archpsyc.63.8.856")
    assert rec.year is None and rec.other_years == ()


# --------------------------------------------------------------------------- ClinicalTrials.gov


def test_clinicaltrials_study(mocked):
    client = ClinicalTrialsClient(config(), limiter=no_wait())
    mocked.get(CTGOV + "NCT02418585", json=fixture("ctgov_study.json"))
    rec = client.study("NCT02418585")
    assert rec.nct == "NCT02418585"
    assert rec.title.startswith("A Study to Evaluate the Efficacy")
    assert rec.status == "COMPLETED"
    assert rec.enrollment == 227 and rec.enrollment_type == "ACTUAL"
    assert rec.start_date == "2015-08-31"


def test_clinicaltrials_404_and_shape(mocked):
    client = ClinicalTrialsClient(config(), limiter=no_wait())
    mocked.get(CTGOV + "NCT00000000", status=404, body="")
    with pytest.raises(NotFound):
        client.study("NCT00000000")
    mocked.get(CTGOV + "NCT00000001", json={"studies": []})
    with pytest.raises(BadResponse):
        client.study("NCT00000001")


def test_clinicaltrials_next_page_token_not_a_string_is_bad_response(mocked):
    client = ClinicalTrialsClient(config(), limiter=no_wait())
    mocked.get(CTGOV.rstrip("/"), json={"studies": [], "nextPageToken": 5})
    with pytest.raises(BadResponse, match="'nextPageToken' is not a string"):
        client.search({"query.intr": "ketamine"})


# --------------------------------------------------------------------------- size and time limits


def test_reply_over_the_size_cap_is_bad_response(mocked, pubmed, monkeypatch):
    monkeypatch.setattr(sources_api, "MAX_REPLY_BYTES", 1000)
    mocked.get(ESUMMARY, body='{"pad": "' + "x" * 5000 + '"}', content_type="application/json")  # no Content-Length
    with pytest.raises(BadResponse, match="reply larger than 1000 bytes"):
        pubmed.summaries(["16894061"])
    mocked.get(ESUMMARY, body="{}", headers={"Content-Length": "50000000"}, content_type="application/json")
    with pytest.raises(BadResponse, match="reply larger than 1000 bytes"):  # refused before reading it
        pubmed.summaries(["16894061"])


@pytest.fixture
def loopback() -> Iterator[Callable[[Callable[[BaseHTTPRequestHandler], None]], str]]:
    """A real HTTP server on 127.0.0.1 (for what `responses` cannot fake: slow bodies, urllib3's own retry
    sleeps).  Call it with a handler function; it returns the base URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(handle: Callable[[BaseHTTPRequestHandler], None]) -> str:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                handle(self)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def local_client(base_url: str) -> PubMedClient:
    # timeouts generous for a loaded machine: no test here waits for one (a 2 s read timeout had made the 429
    # tests flaky under load: a slow answer was retried, and counted as a second hit)
    client = PubMedClient(config(timeout=(5.0, 10.0)), limiter=no_wait(), base_url=base_url)
    client.session.trust_env = False  # no proxy from the environment: loopback only
    return client


def test_a_dripping_reply_hits_the_overall_deadline(loopback, monkeypatch):
    def drip(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", "400")
        h.end_headers()
        try:
            for _ in range(400):  # a byte every 25 ms: never a read timeout, 10 s in all
                h.wfile.write(b" ")
                h.wfile.flush()
                time.sleep(0.025)
        except OSError:  # the client gave up
            pass

    monkeypatch.setattr(sources_api, "REPLY_DEADLINE", 0.5)
    client = local_client(loopback(drip))
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match=r"reply still incomplete after 0\.5 s"):
        client.summaries(["16894061"])
    assert time.monotonic() - started < 8  # the drip takes 10 s in all: well under it, the deadline cut it off
    client.close()


def _answer_429(retry_after: str, hits: list[str], times: int) -> Callable[[BaseHTTPRequestHandler], None]:
    """429 with ``Retry-After`` for the first ``times`` requests, then the record."""
    def handle(h: BaseHTTPRequestHandler) -> None:
        hits.append(h.path)
        busy = len(hits) <= times
        body = b"slow down" if busy else json.dumps(fixture("esummary_single.json")).encode()
        h.send_response(429 if busy else 200)
        h.send_header("Retry-After", retry_after)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
    return handle


@pytest.mark.parametrize("retry_after", ["99999", "Wed, 21 Oct 2099 07:28:00 GMT"])
def test_a_retry_after_beyond_the_cap_gives_up_at_once(loopback, monkeypatch, retry_after, capsys):
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)  # urllib3's Retry sleeps with time.sleep
    hits: list[str] = []
    client = local_client(loopback(_answer_429(retry_after, hits, times=10)))
    with pytest.raises(ServiceUnavailable, match=r"HTTP 429: asked to retry after \d+ s"):
        client.summaries(["16894061"])
    assert slept == [] and len(hits) == 1
    assert capsys.readouterr().err == ""
    client.close()


def test_a_short_retry_after_is_waited_for_and_announced(loopback, monkeypatch, capsys):
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    hits: list[str] = []
    client = local_client(loopback(_answer_429("5", hits, times=1)))
    assert client.summary("16894061").pmid == "16894061"
    assert slept == [5] and len(hits) == 2
    assert capsys.readouterr().err == "waiting 5 s for pubmed…\n"
    client.close()


# --------------------------------------------------------------------------- session, limiter, config


def test_rate_limiter_spaces_calls_with_injected_clock():
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(3, clock=lambda: now[0], sleep=sleep)
    assert limiter.wait() == 0.0
    assert limiter.wait() == pytest.approx(1 / 3)
    now[0] += 1.0  # idle for a second: no wait
    assert limiter.wait() == 0.0
    assert slept == [pytest.approx(1 / 3)]
    with pytest.raises(ValueError, match="rate must be positive"):
        RateLimiter(0)


def test_session_retry_configuration():
    session = make_session(config(backoff_factor=0.25))
    retry = session.get_adapter("https://api.crossref.org").max_retries
    assert retry.total == 3
    assert set(retry.status_forcelist) == {429, 500, 502, 503, 504}
    assert retry.allowed_methods == frozenset({"GET"})
    assert retry.respect_retry_after_header is True
    assert retry.backoff_factor == 0.25
    assert type(session) is requests.Session  # no cache unless asked for


def test_config_from_env():
    cfg = HttpConfig.from_env({"EVIDENCE_CONTACT_EMAIL": " a@b.org ", "NCBI_API_KEY": "", "EVIDENCE_HTTP_CACHE": ""})
    assert cfg.email == "a@b.org" and cfg.ncbi_api_key is None and cfg.cache_path is None
    assert "ncbi_api_key" not in repr(HttpConfig(ncbi_api_key="x"))
    assert user_agent(None) == "ketamine-evidence-tracker/0.1"


def test_disk_cache_serves_repeat_and_stores_no_contact_details(mocked, tmp_path):
    cache = tmp_path / "http_cache.sqlite"
    client = PubMedClient(config(cache_path=str(cache), ncbi_api_key="sekrit-key"), limiter=no_wait())
    mocked.get(ESUMMARY, json=fixture("esummary_single.json"))
    first = client.summary("16894061")
    second = client.summary("16894061")
    assert first == second
    assert len(mocked.calls) == 1  # the second answer came from the cache
    sent = mocked.calls[0].request
    assert EMAIL in sent.headers["User-Agent"] and sent.params["email"] == EMAIL  # sent, but not stored
    client.close()
    with sqlite3.connect(cache) as db:
        rows = [bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
                for table, in db.execute("select name from sqlite_master where type='table'")
                for row in db.execute(f"select * from {table}") for v in row]
    blob = b"".join(rows)
    assert b"16894061" in blob
    assert EMAIL.encode() not in blob and b"sekrit-key" not in blob


def test_describe_is_one_line():
    exc = requests.exceptions.ConnectionError("first line ?email=x@y.org&api_key=k\nsecond line")
    assert describe(exc) == "ConnectionError: first line ?…"


def test_retry_waits_are_capped_and_cache_dir_must_exist(tmp_path):
    retry = make_session(config()).get_adapter("https://x").max_retries
    assert retry.retry_after_max == 60 and retry.backoff_max == 60
    with pytest.raises(ValueError, match="directory not found"):
        make_session(config(cache_path=str(tmp_path / "missing" / "cache.sqlite")))


def test_describe_names_the_root_cause():
    from urllib3.exceptions import MaxRetryError

    class NameResolutionError(Exception):  # urllib3's needs a live connection object; same message shape
        pass

    root = NameResolutionError("HTTPSConnection(host='eutils.ncbi.nlm.nih.gov', port=443): Failed to resolve "
                               "'eutils.ncbi.nlm.nih.gov' ([Errno -2] Name or service not known)")
    exc = requests.exceptions.ConnectionError(MaxRetryError(None, "/esummary.fcgi?email=a@b.org", root))
    text = describe(exc)
    assert text.startswith("ConnectionError: NameResolutionError: Failed to resolve 'eutils.ncbi.nlm.nih.gov'")
    assert "a@b.org" not in text
