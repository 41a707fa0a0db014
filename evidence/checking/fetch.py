"""Fetch a clinic page to check, safely: ``fetch_page(url) -> Page``.

The URL comes from a user, so the fetch is guarded: http and https only; the host is resolved and every
address must be public (no loopback, private, link-local, multicast, reserved or unspecified address) before
connecting and again after every redirect, which are followed by hand (at most ``MAX_REDIRECTS``); connect and
read timeouts; the body is streamed and cut off at ``MAX_BYTES``; only HTML and plain text are accepted, decoded
by ``decoding.decode_page`` (requests alone reads a UTF-8 page sent without a charset as ISO-8859-1).  Every
refusal is a :class:`FetchError` with a one-line message.  (The guard checks the addresses the name resolves to;
a DNS answer that changes between the check and the connection is not covered.)
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests

from evidence.checking.decoding import NotTextError, decode_page

MAX_BYTES = 5_000_000
MAX_REDIRECTS = 5
TIMEOUT = (5.0, 15.0)  # connect, read (seconds)
CONTENT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
USER_AGENT = "ketamine-evidence-checker/1.0 (+https://github.com/)"

Resolver = Callable[[str, int], list[str]]


class FetchError(Exception):
    """The page could not or may not be fetched (one line, for the user)."""


@dataclass(frozen=True)
class Page:
    url: str  # after redirects
    text: str
    is_html: bool


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host}: {exc}") from exc
    return sorted({info[4][0] for info in infos})


def check_url(url: str, resolver: Resolver | None = None) -> None:
    """Refuse anything but http(s) to a host whose every address is public."""
    resolver = resolver or resolve
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"only http and https URLs can be checked, not {parts.scheme or 'no scheme'}: {url}")
    host = parts.hostname
    if not host:
        raise FetchError(f"no host in URL: {url}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise FetchError(f"bad port in URL: {url}") from exc
    addresses = resolver(host, port)
    if not addresses:
        raise FetchError(f"cannot resolve {host}")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast or ip.is_loopback or ip.is_link_local or ip.is_private:
            raise FetchError(f"refusing to fetch {host}: it resolves to a non-public address ({ip})")


def fetch_page(url: str, *, resolver: Resolver | None = None, session: requests.Session | None = None) -> Page:
    """The page at ``url`` (see the module docstring); raises :class:`FetchError`."""
    session = session or requests.Session()
    current = url.strip()
    for _ in range(MAX_REDIRECTS + 1):
        check_url(current, resolver)
        try:
            response = session.get(current, stream=True, timeout=TIMEOUT, allow_redirects=False,
                                   headers={"User-Agent": USER_AGENT, "Accept": "text/html, text/plain"})
        except requests.Timeout as exc:
            raise FetchError(f"timed out fetching {current}") from exc
        except requests.RequestException as exc:
            raise FetchError(f"cannot fetch {current}: {type(exc).__name__}") from exc
        with response:
            if response.is_redirect:
                location = response.headers.get("Location")
                if not location:
                    raise FetchError(f"redirect without a location from {current}")
                current = urljoin(current, location)
                continue
            if response.status_code >= 400:
                raise FetchError(f"{current} answered HTTP {response.status_code}")
            kind = (response.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
            if kind not in CONTENT_TYPES:
                raise FetchError(f"{current} is not a web page (content type {kind or 'missing'})")
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > MAX_BYTES:
                raise FetchError(f"{current} is larger than {MAX_BYTES // 1_000_000} MB")
            body = bytearray()
            try:
                for chunk in response.iter_content(65536):
                    body += chunk
                    if len(body) > MAX_BYTES:
                        raise FetchError(f"{current} is larger than {MAX_BYTES // 1_000_000} MB")
            except requests.RequestException as exc:
                raise FetchError(f"cannot read {current}: {type(exc).__name__}") from exc
            try:  # the charset from the header, else the page's own <meta>, else UTF-8 or Windows-1252
                text = decode_page(bytes(body), response.headers.get("Content-Type"))
            except NotTextError as exc:
                raise FetchError(f"{current} {exc}") from exc
            return Page(current, text, kind != "text/plain")
    raise FetchError(f"more than {MAX_REDIRECTS} redirects from {url}")
