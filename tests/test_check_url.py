"""Check a URL: the guarded fetch (offline with ``responses``; the guard on loopback names and addresses)."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses

from evidence.checking import fetch
from evidence.checking.fetch import FetchError, check_url, fetch_page
from evidence.cli import main

FIX = Path(__file__).parent / "fixtures" / "checker"
PUBLIC = "93.184.215.14"


def public(host: str, port: int) -> list[str]:
    """A resolver for the tests: every name is one public address (nothing is sent: ``responses`` answers)."""
    return [PUBLIC]


PAGE = ("<html><body><nav><a href='/'>Home</a> <a href='/book'>Book now</a></nav><article>"
        "<h1>Ketamine for depression</h1>"
        + "".join(f"<p>Paragraph {i}: our clinic offers ketamine infusions for adults with depression.</p>"
                  for i in range(6))
        + "<p>Ketamine produces results in as little as 24 hours.</p>"
        "<ul><li>Relief within hours</li><li>Benefits last up to six months</li></ul></article></body></html>")


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "http://[::1]/", "http://localhost:8501/",
                                 "http://10.0.0.1/", "http://169.254.169.254/latest/", "http://224.0.0.1/",
                                 "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/"])
def test_guard_refuses_non_public_addresses(url):
    with pytest.raises(FetchError, match="non-public address"):
        check_url(url)  # real resolution: literals and localhost resolve without the network


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "javascript:alert(1)"])
def test_guard_refuses_other_schemes(url):
    with pytest.raises(FetchError, match="only http and https"):
        check_url(url)


@pytest.mark.parametrize("url", ["//x/y", "", "clinic.example/page"])
def test_an_address_without_a_scheme_is_asked_for_whole(url):
    """It had said "only http and https URLs can be checked, not no scheme: clinic.example/page"."""
    with pytest.raises(FetchError, match=r"give the whole address, starting with https://"):
        check_url(url)


@responses.activate
def test_fetches_a_page_and_follows_a_public_redirect():
    responses.get("http://clinic.example/old", status=301, headers={"Location": "https://clinic.example/page"})
    responses.get("https://clinic.example/page", body=PAGE, content_type="text/html; charset=utf-8")
    page = fetch_page("http://clinic.example/old", resolver=public)
    assert page.url == "https://clinic.example/page" and page.is_html and "24 hours" in page.text


@responses.activate
def test_a_redirect_to_loopback_is_refused_before_connecting():
    responses.get("http://clinic.example/", status=302, headers={"Location": "http://127.0.0.1:8501/admin"})

    def resolver(host, port):
        return ["127.0.0.1"] if host == "127.0.0.1" else [PUBLIC]
    with pytest.raises(FetchError, match="non-public address"):
        fetch_page("http://clinic.example/", resolver=resolver)
    assert [c.request.url for c in responses.calls] == ["http://clinic.example/"]


@responses.activate
def test_too_many_redirects_wrong_type_too_large_and_errors():
    responses.get("http://a.example/loop", status=302, headers={"Location": "/loop"})
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch_page("http://a.example/loop", resolver=public)
    responses.get("http://a.example/pdf", body=b"%PDF", content_type="application/pdf")
    with pytest.raises(FetchError, match="not a web page"):
        fetch_page("http://a.example/pdf", resolver=public)
    responses.get("http://a.example/big", body=b"x" * (fetch.MAX_BYTES + 10), content_type="text/html")
    with pytest.raises(FetchError, match="larger than"):
        fetch_page("http://a.example/big", resolver=public)
    responses.get("http://a.example/gone", status=404, content_type="text/html")
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_page("http://a.example/gone", resolver=public)


@responses.activate
def test_a_page_is_decoded_as_a_browser_would():
    """requests reads text/html with no charset as ISO-8859-1: a UTF-8 page's "50–70%" had become "50â€“70%"."""
    utf8 = "<html><head><meta charset='utf-8'></head><p>Studies show 50–70% respond.</p></html>".encode()
    responses.get("http://a.example/meta", body=utf8, content_type="text/html")
    responses.get("http://a.example/bare", body="<p>50–70% respond.</p>".encode(), content_type="text/html")
    responses.get("http://a.example/1252", body="<p>50–70% respond.</p>".encode("cp1252"),
                  content_type="text/html; charset=windows-1252")
    for path in ("meta", "bare", "1252"):
        assert "50–70%" in fetch_page(f"http://a.example/{path}", resolver=public).text
    responses.get("http://a.example/lying", body=b"%PDF-1.4 binary", content_type="text/html")
    with pytest.raises(FetchError, match=r"^http://a.example/lying looks like a PDF"):
        fetch_page("http://a.example/lying", resolver=public)


def test_timeouts_are_set():
    assert all(t > 0 for t in fetch.TIMEOUT)


@responses.activate
def test_cli_checks_a_url(capsys, monkeypatch):
    monkeypatch.setattr(fetch, "resolve", public)
    responses.get("https://clinic.example/page", body=PAGE, content_type="text/html")
    code = main(["--data", str(FIX / "data"), "check", "--url", "https://clinic.example/page"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "matches claim onset_24_hours" in out and "Home" not in out
    assert out.rstrip().splitlines()[-1].startswith("https://clinic.example/page: ")


def test_cli_refuses_loopback_with_one_line(capsys):
    code = main(["--data", str(FIX / "data"), "check", "--url", "http://127.0.0.1:8501/"])
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1 and "non-public address" in err


@pytest.mark.parametrize("url", ["http://[::1", "http://]/", "http://[abc]/", "https://[1.2.3.4]:80/"])
def test_a_malformed_address_is_one_line_not_a_traceback(url, capsys):
    with pytest.raises(fetch.FetchError, match="not a valid URL"):
        fetch.check_url(url, resolver=lambda host, port: [PUBLIC])
    code = main(["--data", str(FIX / "data"), "check", "--url", url])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_a_name_that_resolves_again_to_loopback_is_refused_before_the_request(monkeypatch):
    """DNS rebinding: the guard's lookup says public, the connection's own lookup gives 127.0.0.1.  Simulated
    with a loopback server (the only traffic this test sends) and a resolver that lies to the guard."""
    import http.server
    import threading

    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<p>internal</p>")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/admin"
        with pytest.raises(fetch.FetchError, match=r"connected to a non-public address \(127\.0\.0\.1\)"):
            fetch.fetch_page(url, resolver=lambda host, port: [PUBLIC])
        assert seen == [], "not a byte of the request reached the address"
        # the same server through an unguarded session is reachable: the refusal is the guard's, not the network's
        assert requests_get_plain(url) == 200 and seen == ["/admin"]
    finally:
        server.shutdown()
        server.server_close()


def requests_get_plain(url: str) -> int:
    import requests

    session = requests.Session()
    session.trust_env = False
    return session.get(url, timeout=5).status_code
