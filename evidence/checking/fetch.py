"""Fetch a clinic page to check, safely: ``fetch_page(url) -> Page``.

The URL comes from a user, so the fetch is guarded: http and https only; the host is resolved and every
address must be public (no loopback, private, link-local, multicast, reserved or unspecified address) before
connecting and again after every redirect, which are followed by hand (at most ``MAX_REDIRECTS``); connect and
read timeouts; the body is streamed and cut off at ``MAX_BYTES``; only HTML and plain text are accepted, decoded
by ``decoding.decode_page`` (requests alone reads a UTF-8 page sent without a charset as ISO-8859-1).  Every
refusal is a :class:`FetchError` with a one-line message.

The name is resolved twice, once by the guard and once by the connection, and a DNS answer that changes between
the two (DNS rebinding) would pass the first and reach a private address on the second.  So the connection itself
is guarded too: the session's adapter opens its sockets through :class:`_GuardedConnection`, which checks the
address it actually connected to and closes the socket before a byte of the request is sent.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.connection
import urllib3.connectionpool
from requests.adapters import HTTPAdapter

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


def public(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address, or None when it is not public (loopback, private, link-local, multicast, reserved)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if not ip.is_global or ip.is_multicast or ip.is_loopback or ip.is_link_local or ip.is_private:
        return None
    return ip


def check_url(url: str, resolver: Resolver | None = None) -> None:
    """Refuse anything but http(s) to a host whose every address is public."""
    resolver = resolver or resolve
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:  # "http://[::1": urlsplit's own complaint ("Invalid IPv6 URL")
        raise FetchError(f"not a valid URL ({exc}): {url[:200]}") from exc
    if not parts.scheme:
        raise FetchError(f"give the whole address, starting with https:// or http:// (got {url[:200]})")
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"only http and https URLs can be checked, not {parts.scheme}: {url[:200]}")
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
        if public(address) is None:
            raise FetchError(f"refusing to fetch {host}: it resolves to a non-public address ({address})")


class _GuardedConnection(urllib3.connection.HTTPConnection):
    """An HTTP connection that refuses, once connected and before sending, a socket to a non-public address."""

    def _new_conn(self):
        sock = super()._new_conn()
        try:
            peer = sock.getpeername()[0]
        except OSError:
            peer = ""
        if not peer or public(peer) is None:
            sock.close()
            raise FetchError(f"refusing to fetch {self.host}: it connected to a non-public address "
                             f"({peer or 'unknown'})")
        return sock


class _GuardedHTTPSConnection(_GuardedConnection, urllib3.connection.HTTPSConnection):
    pass


class _GuardedHTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _GuardedConnection


class _GuardedHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """requests' adapter with every socket opened by the guarded connections above."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def guarded_session() -> requests.Session:
    """A session whose connections are guarded (no proxy from the environment: it would be the peer checked)."""
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", GuardedAdapter())
    session.mount("https://", GuardedAdapter())
    return session


def fetch_page(url: str, *, resolver: Resolver | None = None, session: requests.Session | None = None) -> Page:
    """The page at ``url`` (see the module docstring); raises :class:`FetchError`."""
    session = session or guarded_session()
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
                try:
                    current = urljoin(current, location)
                except ValueError as exc:
                    raise FetchError(f"{current} redirects to a malformed address: {location[:200]}") from exc
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
