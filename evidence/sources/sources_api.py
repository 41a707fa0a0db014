"""Clients for the bibliographic services we check citations against.

* PubMed E-utilities ``esummary`` (JSON), batched up to 200 PMIDs a request, and
  ``esearch`` (JSON, ``retstart`` paging) for ``watch``;
* Crossref ``/works/{doi}``;
* ClinicalTrials.gov API v2 ``/studies/{nct}``, and ``/studies`` searches (``pageToken`` paging).

Each client owns one :class:`requests.Session` built by :func:`make_session`:
urllib3 ``Retry`` (GET only; 429/500/502/503/504; ``Retry-After`` honoured up to 60 s, and
announced on stderr; a longer one is given up at once; exponential backoff), a default
``(connect, read)`` timeout plus a deadline and a size cap for each reply's body, a User-Agent that
names the project (with a ``mailto:`` only when a contact e-mail is configured),
and, when ``$EVIDENCE_HTTP_CACHE`` names a file, an on-disk requests-cache.  A
small client-side :class:`RateLimiter` keeps us under the services' published
limits (NCBI: 3 requests/s without an API key, 10 with one).

Contact details come only from the environment (``EVIDENCE_CONTACT_EMAIL``,
``NCBI_API_KEY``); nothing personal is hard-coded, and neither value is written
into error messages or the on-disk cache key.

Failures surface as three typed exceptions, never as a raw ``requests`` error:
:class:`ServiceUnavailable` (connection errors, timeouts, retries exhausted),
:class:`BadResponse` (malformed JSON, unexpected shape, unexpected HTTP status)
and :class:`NotFound`.  No Streamlit here: the CLI and the dashboard both use it.
"""

from __future__ import annotations

import email.utils
import math
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import DecodeError, MaxRetryError, ResponseError
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.retry import Retry

PROJECT = "ketamine-evidence-tracker"
VERSION = "0.1"
ENV_EMAIL = "EVIDENCE_CONTACT_EMAIL"
ENV_NCBI_KEY = "NCBI_API_KEY"
ENV_CACHE = "EVIDENCE_HTTP_CACHE"

RETRY_STATUSES = (429, 500, 502, 503, 504)
DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
RETRY_WAIT_MAX = 60  # seconds: the longest backoff or Retry-After we will sleep between attempts
# The read timeout is per socket read, so a server dripping a byte a second would never trip it:
# the whole body must arrive within REPLY_DEADLINE, and be no larger than MAX_REPLY_BYTES.
REPLY_DEADLINE = 60.0  # seconds
MAX_REPLY_BYTES = 20 * 1024 * 1024
_READ_CHUNK = 64 * 1024
CACHE_EXPIRE_SECONDS = 24 * 3600  # retractions appear over time: do not cache for long
# Never part of a cache key nor stored with a cached response (requests-cache redacts these
# query parameters and headers; the User-Agent carries the contact e-mail).
_PRIVATE_PARAMS = (
    "Authorization", "Proxy-Authorization", "X-API-Key", "access_token", "api_key", "apikey",
    "email", "mailto", "User-Agent",
)

PUBMED_BATCH = 200
ESEARCH_PAGE = 500
ESEARCH_LIMIT = 10_000  # esearch returns only the first 10,000 UIDs of a PubMed search
CTGOV_PAGE = 100
CTGOV_MAX_PAGES = 200
_PMID = re.compile(r"[0-9]{1,9}\Z")  # ASCII only: \d is any script's digit, and $ allows a final newline
_NUMBER = re.compile(r"[0-9]{1,9}")  # what int() may safely convert ("²".isdigit() is True; 5000 digits overflow)
_NCT = re.compile(r"^NCT\d{8}$")
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d|2100)(?!\d)")


# --------------------------------------------------------------------------- errors

class ApiError(Exception):
    """Base class: a service could not give us a usable answer."""

    kind = "error"

    def __init__(self, service: str, reason: str):
        self.service, self.reason = service, reason
        super().__init__(f"{service}: {self.kind} ({reason})")


class ServiceUnavailable(ApiError):
    """Connection error, timeout, or retries exhausted on 429/5xx."""

    kind = "unreachable"


class BadResponse(ApiError):
    """The service answered, but not with the JSON shape we expect."""

    kind = "bad response"


class TooManyHits(BadResponse):
    """A search matched more records than the service lets us page through."""

    kind = "too many hits"


class NotFound(ApiError):
    """The service has no record for this identifier."""

    kind = "not found"


# --------------------------------------------------------------------------- configuration

@dataclass(frozen=True)
class HttpConfig:
    """Everything a client needs; built from the environment by :meth:`from_env`."""

    email: str | None = None
    ncbi_api_key: str | None = field(default=None, repr=False)
    cache_path: str | None = None
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    retries: int = 3
    backoff_factor: float = 0.5

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> HttpConfig:
        env = os.environ if env is None else env
        values: dict[str, Any] = {
            "email": (env.get(ENV_EMAIL) or "").strip() or None,
            "ncbi_api_key": (env.get(ENV_NCBI_KEY) or "").strip() or None,
            "cache_path": (env.get(ENV_CACHE) or "").strip() or None,
        }
        values.update(overrides)
        return cls(**values)


def user_agent(email: str | None) -> str:
    """``ketamine-evidence-tracker/0.1``, plus ``(+mailto:…)`` only when an e-mail is configured."""
    base = f"{PROJECT}/{VERSION}"
    return f"{base} (+mailto:{email})" if email else base


# --------------------------------------------------------------------------- session

class _TimeoutAdapter(HTTPAdapter):
    """An adapter that applies a default timeout: a bare ``session.get`` can never hang."""

    def __init__(self, *args: Any, timeout: tuple[float, float] = DEFAULT_TIMEOUT, **kwargs: Any):
        self.timeout = timeout
        super().__init__(*args, **kwargs)

    def send(self, request, **kwargs):  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def retry_after_seconds(value: str | None) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds or an HTTP date), uncapped; None if absent or unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    if re.fullmatch(r"[0-9]{1,15}", value):
        return float(value)
    parsed = email.utils.parsedate_tz(value)
    return None if parsed is None else max(0.0, email.utils.mktime_tz(parsed) - time.time())


class _Retry(Retry):
    """urllib3's ``Retry``, except that a server asking for a longer wait than ``RETRY_WAIT_MAX`` is not retried
    at all (capping its wait would only spend minutes getting the same answer), and every wait it asks for is
    announced on stderr so that a slow run is never silent."""

    label = "the service"  # names the service in the "waiting" line; carried over by new()

    def new(self, **kw: Any) -> _Retry:
        retry = super().new(**kw)
        retry.label = self.label
        return retry

    def increment(self, method=None, url=None, response=None, error=None,  # type: ignore[override]
                  _pool=None, _stacktrace=None):
        wait = retry_after_seconds(response.headers.get("Retry-After")) if response is not None else None
        if wait is not None and wait > RETRY_WAIT_MAX:  # give up now; _get_json names the wait asked for
            raise MaxRetryError(_pool, url or "", ResponseError(f"asked to retry after {wait:.0f} s"))
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def sleep_for_retry(self, response) -> bool:  # type: ignore[override]
        seconds = self.get_retry_after(response)
        if seconds:
            print(f"waiting {math.ceil(seconds)} s for {self.label}…", file=sys.stderr)
            time.sleep(seconds)
            return True
        return False


def make_retry(retries: int = 3, backoff_factor: float = 0.5, label: str | None = None) -> Retry:
    settings: dict[str, Any] = {
        "total": retries,
        "connect": retries,
        "read": retries,
        "status": retries,
        "backoff_factor": backoff_factor,
        "status_forcelist": RETRY_STATUSES,
        "allowed_methods": frozenset({"GET"}),
        "respect_retry_after_header": True,
        "raise_on_status": False,  # we turn the final 429/5xx into ServiceUnavailable ourselves
    }
    try:  # urllib3 >= 2.x: never sleep for long on a server's say-so (the default cap is 6 hours)
        retry = _Retry(**settings, backoff_max=RETRY_WAIT_MAX, retry_after_max=RETRY_WAIT_MAX)
    except TypeError:  # an older urllib3 without these parameters
        retry = _Retry(**settings)
    if label:
        retry.label = label
    return retry


def _check_cache_file(path: Path) -> None:
    """An existing cache must be a readable SQLite database: anything else would fail mid-run with a traceback."""
    import stat

    if not path.exists() and not path.is_symlink():
        return
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not hang us
        try:
            regular = stat.S_ISREG(os.fstat(fd).st_mode)
            head = os.read(fd, 16) if regular else b""
        finally:
            os.close(fd)
    except OSError as exc:
        raise ValueError(f"${ENV_CACHE}: {path}: cannot be read ({exc.strerror})") from None
    if not regular:
        raise ValueError(f"${ENV_CACHE}: {path} is not a regular file")
    if head and head != b"SQLite format 3\x00":
        raise ValueError(f"${ENV_CACHE}: {path} is not a SQLite cache; remove it or choose another file")


def make_session(config: HttpConfig | None = None, label: str | None = None) -> requests.Session:
    """One session: retries, default timeouts, our User-Agent, and the optional disk cache.

    ``label`` names the service in the line printed while waiting for a retry."""
    config = config or HttpConfig.from_env()
    session: requests.Session
    if config.cache_path:
        from requests_cache import CachedSession

        cache_file = Path(config.cache_path).expanduser()
        if not cache_file.parent.is_dir():
            raise ValueError(f"${ENV_CACHE}: directory not found: {cache_file.parent}")
        _check_cache_file(cache_file)
        session = CachedSession(
            str(cache_file),
            backend="sqlite",
            expire_after=CACHE_EXPIRE_SECONDS,
            allowable_methods=("GET",),
            allowable_codes=(200,),
            ignored_parameters=_PRIVATE_PARAMS,
            match_headers=False,
        )
    else:
        session = requests.Session()
    adapter = _TimeoutAdapter(max_retries=make_retry(config.retries, config.backoff_factor, label),
                              timeout=config.timeout)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = user_agent(config.email)
    session.headers["Accept"] = "application/json"
    return session


# --------------------------------------------------------------------------- rate limiting

class RateLimiter:
    """At most ``rate`` calls a second: each call starts no sooner than ``1/rate`` s after the last.

    ``clock`` and ``sleep`` are injectable so that tests run without waiting.
    """

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.interval = 1.0 / rate
        self._clock, self._sleep = clock, sleep
        self._next: float | None = None
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Block until a call is allowed; return the seconds waited."""
        with self._lock:
            now = self._clock()
            delay = 0.0 if self._next is None else max(0.0, self._next - now)
            if delay > 0:
                self._sleep(delay)
            self._next = now + delay + self.interval
            return delay


# --------------------------------------------------------------------------- records

@dataclass(frozen=True)
class PubRecord:
    pmid: str
    title: str
    journal: str  # esummary ``source``: the NLM title abbreviation, e.g. "Am J Psychiatry"
    year: int | None  # from ``pubdate``, else ``sortpubdate``
    authors: list[str]  # "Surname Initials", as PubMed writes them
    doi: str | None  # from ``articleids`` (idtype "doi")
    pubtypes: list[str]
    retracted: bool = False  # pubtype "Retracted Publication" or a "Retraction in" link
    retraction_notice: bool = False  # this PMID *is* a retraction notice ("Retraction of Publication")
    erratum: bool = False  # an "Erratum in" link, or this PMID is itself a "Published Erratum"
    journal_full: str | None = None  # ``fulljournalname``
    epub_year: int | None = None
    pmcid: str | None = None  # from ``articleids`` (idtype "pmc"), e.g. "PMC1234567"


@dataclass(frozen=True)
class CrossrefRecord:
    doi: str
    title: str
    journal: str | None  # container-title[0]
    year: int | None  # issued date-parts
    authors: list[str]
    type: str | None
    retracted: bool = False  # ``updated-by`` carries a retraction/withdrawal/removal
    retraction_notice: bool = False  # ``update-to`` a retraction: this DOI is the notice itself
    erratum: bool = False  # ``updated-by`` carries a correction/erratum/corrigendum
    journal_short: str | None = None  # short-container-title[0]
    other_years: tuple[int, ...] = ()  # published-print / published-online / published
    updates: tuple[str, ...] = ()  # every update type seen, for display
    subtitle: str | None = None  # Crossref often deposits "Title: Subtitle" as title + subtitle


@dataclass(frozen=True)
class TrialRecord:
    nct: str
    title: str
    status: str | None
    enrollment: int | None
    start_date: str | None
    enrollment_type: str | None = None
    official_title: str | None = None
    has_results: bool | None = None  # top-level ``hasResults``
    results_first_posted: str | None = None  # statusModule.resultsFirstPostDateStruct.date
    study_type: str | None = None  # designModule.studyType, e.g. "INTERVENTIONAL"
    result_pmids: tuple[str, ...] = ()  # referencesModule.references[] of type RESULT


# --------------------------------------------------------------------------- base client

_QUERY = re.compile(r"\?[^\s)'\"]*")


_CONNECTION_PREFIX = re.compile(r"^\w*Connection(?:Pool)?\(host=[^)]*\):\s*")


def describe(exc: BaseException, limit: int = 140) -> str:
    """``ConnectTimeout: …`` on one line, with query strings (e-mail, API key) removed.

    For a requests error wrapping urllib3's ``MaxRetryError``, the root cause is shown
    (``ConnectionError: NameResolutionError: Failed to resolve 'eutils.ncbi.nlm.nih.gov' …``).
    """
    root = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(root, BaseException):
        detail = f"{type(root).__name__}: {_CONNECTION_PREFIX.sub('', str(root).strip())}"
    else:
        detail = str(exc).strip()
    detail = detail.splitlines()[0] if detail else ""
    detail = _QUERY.sub("?…", detail)
    if len(detail) > limit:
        detail = detail[: limit - 1] + "…"
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


class _Client:
    service: ClassVar[str] = ""
    default_base_url: ClassVar[str] = ""

    def __init__(self, config: HttpConfig | None = None, *, session: requests.Session | None = None,
                 limiter: RateLimiter | None = None, base_url: str | None = None):
        self.config = config or HttpConfig.from_env()
        self.session = session or make_session(self.config, self.service)
        self.limiter = limiter or RateLimiter(self.default_rate())
        self.base_url = (base_url or self.default_base_url).rstrip("/")

    def default_rate(self) -> float:
        return 5.0

    def _get_json(self, url: str, params: Mapping[str, str] | None = None) -> Any:
        self.limiter.wait()
        try:
            resp = self.session.get(url, params=dict(params or {}), timeout=self.config.timeout, stream=True)
        except requests.exceptions.RetryError as exc:
            raise ServiceUnavailable(self.service, f"retries exhausted: {describe(exc)}") from exc
        except requests.exceptions.RequestException as exc:
            # ConnectionError, ConnectTimeout, ReadTimeout, SSLError, ChunkedEncodingError, …
            raise ServiceUnavailable(self.service, describe(exc)) from exc
        try:
            code = resp.status_code
            if code == 404:
                raise NotFound(self.service, "HTTP 404")
            if code in RETRY_STATUSES:
                wait = retry_after_seconds(resp.headers.get("Retry-After"))
                if wait is not None and wait > RETRY_WAIT_MAX:
                    raise ServiceUnavailable(self.service, f"HTTP {code}: asked to retry after {wait:.0f} s")
                raise ServiceUnavailable(self.service, f"HTTP {code} after {self.config.retries} retries")
            if code >= 400:
                raise BadResponse(self.service, f"HTTP {code}")
            resp._content = self._read_body(resp)  # what resp.json() and resp.text then decode
            resp._content_consumed = True
        finally:
            resp.close()
        try:
            return resp.json()
        except RecursionError as exc:  # "[[[[…": the stdlib parser recurses once per level
            raise BadResponse(self.service, "malformed JSON: nested too deeply") from exc
        except ValueError as exc:  # JSONDecodeError (requests' and the stdlib's) are ValueErrors
            snippet = resp.text[:60].replace("\n", " ")
            raise BadResponse(self.service, f"malformed JSON: {snippet!r}") from exc

    def _read_body(self, resp: requests.Response) -> bytes:
        """The body, refused past ``MAX_REPLY_BYTES`` or when it has not all arrived after ``REPLY_DEADLINE``."""
        too_big = f"reply larger than {MAX_REPLY_BYTES} bytes"
        length = (resp.headers.get("Content-Length") or "").strip()
        if re.fullmatch(r"[0-9]{1,30}", length) and int(length) > MAX_REPLY_BYTES:
            raise BadResponse(self.service, too_big)
        if getattr(resp, "_content_consumed", False):  # already read (e.g. by requests-cache)
            if len(resp.content) > MAX_REPLY_BYTES:
                raise BadResponse(self.service, too_big)
            return resp.content
        deadline = time.monotonic() + REPLY_DEADLINE
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in _body_chunks(resp):
                size += len(chunk)
                if size > MAX_REPLY_BYTES:
                    raise BadResponse(self.service, too_big)
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise ServiceUnavailable(self.service, f"reply still incomplete after {REPLY_DEADLINE:g} s")
        except DecodeError as exc:  # a body that does not match its Content-Encoding
            raise BadResponse(self.service, describe(exc)) from exc
        except (requests.exceptions.RequestException, Urllib3Error, OSError) as exc:  # read timeout, reset, …
            raise ServiceUnavailable(self.service, describe(exc)) from exc
        return b"".join(chunks)

    def close(self) -> None:
        self.session.close()


def _body_chunks(resp: requests.Response) -> Iterable[bytes]:
    """The (decoded) body as it arrives.  ``read1`` returns after one socket read, where ``iter_content`` blocks
    until a whole chunk is in; that lets the deadline be checked while a slow server drips bytes."""
    read1 = getattr(resp.raw, "read1", None)  # urllib3 >= 2.3
    if not callable(read1):
        yield from resp.iter_content(_READ_CHUNK)
        return
    while chunk := read1(_READ_CHUNK, decode_content=True):
        yield chunk


def _bad(service: str, reason: str) -> BadResponse:
    return BadResponse(service, f"unexpected shape: {reason}")


def parse_year(value: Any) -> int | None:
    """The first plausible year in a date string ("2006 Aug", "May 2023", "2019-05-21"), else None."""
    if not isinstance(value, str):
        return None
    m = _YEAR.search(value)
    return int(m.group(1)) if m else None


def _str(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


# --------------------------------------------------------------------------- PubMed

class PubMedClient(_Client):
    """esummary (JSON).  Three requests a second without ``NCBI_API_KEY``, ten with one."""

    service = "pubmed"
    default_base_url = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"

    def default_rate(self) -> float:
        return 10.0 if self.config.ncbi_api_key else 3.0

    def _contact(self) -> dict[str, str]:
        params = {"tool": PROJECT}
        if self.config.email:
            params["email"] = self.config.email
        if self.config.ncbi_api_key:
            params["api_key"] = self.config.ncbi_api_key
        return params

    def summaries(self, pmids: Iterable[str | int], batch_size: int = PUBMED_BATCH) -> dict[str, PubRecord]:
        """Records for the PMIDs PubMed knows; unknown PMIDs are simply absent from the result."""
        ids = list(dict.fromkeys(str(p).strip() for p in pmids))
        bad = [p for p in ids if not _PMID.match(p)]
        if bad:
            raise ValueError(f"not PMIDs: {', '.join(bad)}")
        records: dict[str, PubRecord] = {}
        for start in range(0, len(ids), batch_size):
            batch = ids[start:start + batch_size]
            params = {"db": "pubmed", "id": ",".join(batch), "retmode": "json", **self._contact()}
            records.update(parse_esummary(self._get_json(f"{self.base_url}/esummary.fcgi", params)))
        return records

    def summary(self, pmid: str | int) -> PubRecord:
        pmid = str(pmid).strip()
        records = self.summaries([pmid])
        record = records.get(pmid)
        if record is None and records:  # another PMID's record must not pass for "no record"
            raise _bad(self.service, f"answered for PMID {next(iter(records))[:20]}, not {pmid}")
        if record is None:
            raise NotFound(self.service, f"PMID {pmid}")
        return record

    def search(self, term: str, *, filters: Mapping[str, str] | None = None,
               page_size: int = ESEARCH_PAGE) -> tuple[int, list[str]]:
        """``esearch``: (count, every PMID), paged with ``retstart``.  ``filters`` adds e.g. ``datetype``,
        ``mindate``, ``maxdate``.  PubMed pages through only the first 10,000 hits: more is a ``BadResponse``."""
        ids: list[str] = []
        seen: set[str] = set()
        count = None
        while count is None or len(ids) < count:
            params = {"db": "pubmed", "term": term, "retmode": "json", "retstart": str(len(ids)),
                      "retmax": str(page_size), **(filters or {}), **self._contact()}
            total, page = parse_esearch(self._get_json(f"{self.base_url}/esearch.fcgi", params))
            if total > ESEARCH_LIMIT:
                raise TooManyHits(self.service, f"{total}, more than the {ESEARCH_LIMIT} esearch pages through")
            count = total if count is None else count
            fresh = [i for i in dict.fromkeys(page) if i not in seen]
            if not fresh:  # the result set shifted while we paged: keep what we have
                break
            ids += fresh
            seen.update(fresh)
        return count, ids


def parse_esummary(data: Any, service: str = "pubmed") -> dict[str, PubRecord]:
    """``{"result": {"uids": [...], "<pmid>": {...}}}`` -> records; entries with ``error`` are skipped."""
    if not isinstance(data, dict):
        raise _bad(service, "top level is not an object")
    if "error" in data and "result" not in data:
        raise BadResponse(service, f"esummary error: {str(data['error'])[:100]}")
    result = data.get("result")
    if result is None:
        messages = data.get("esummaryresult")
        # e.g. ["Invalid uid 0 at position=0"] or ["Empty id list - nothing todo"]: nothing found
        if isinstance(messages, list) and all(
            isinstance(m, str) and ("invalid uid" in m.lower() or "empty id list" in m.lower()) for m in messages
        ):
            return {}
        raise _bad(service, "no 'result' object")
    if not isinstance(result, dict):
        raise _bad(service, "'result' is not an object")
    uids = result.get("uids", [])
    if not isinstance(uids, list) or not all(isinstance(u, str) for u in uids):
        raise _bad(service, "'result.uids' is not a list of strings")
    records: dict[str, PubRecord] = {}
    for uid in uids:
        entry = result.get(uid)
        if not isinstance(entry, dict):
            raise _bad(service, f"no entry for uid {uid}")
        if "error" in entry:  # {"uid": "…", "error": "cannot get document summary"}
            continue
        if str(entry.get("uid", uid)) != uid:
            raise _bad(service, f"the entry for uid {uid} is for uid {str(entry.get('uid'))[:20]}")
        records[uid] = _pub_record(uid, entry, service)
    return records


def _pub_record(uid: str, entry: dict[str, Any], service: str) -> PubRecord:
    title = entry.get("title")
    if not isinstance(title, str):
        raise _bad(service, f"uid {uid}: 'title' is not a string")
    authors_raw = entry.get("authors", [])
    if not isinstance(authors_raw, list):
        raise _bad(service, f"uid {uid}: 'authors' is not a list")
    authors = [a["name"].strip() for a in authors_raw if isinstance(a, dict) and _str(a.get("name"))]
    ids = entry.get("articleids", [])
    if not isinstance(ids, list):
        raise _bad(service, f"uid {uid}: 'articleids' is not a list")
    doi = next((_str(i.get("value")) for i in ids if isinstance(i, dict) and i.get("idtype") == "doi"), None)
    pubtypes_raw, references = entry.get("pubtype") or [], entry.get("references") or []
    if not isinstance(pubtypes_raw, list):
        raise _bad(service, f"uid {uid}: 'pubtype' is not a list")
    if not isinstance(references, list):
        raise _bad(service, f"uid {uid}: 'references' is not a list")
    pubtypes = [p for p in pubtypes_raw if isinstance(p, str)]
    reftypes = {r.get("reftype") for r in references if isinstance(r, dict)}
    return PubRecord(
        pmid=uid,
        title=title.strip(),
        journal=(_str(entry.get("source")) or ""),
        year=parse_year(entry.get("pubdate")) or parse_year(entry.get("sortpubdate")),
        authors=authors,
        doi=doi,
        pubtypes=pubtypes,
        retracted="Retracted Publication" in pubtypes or "Retraction in" in reftypes,
        retraction_notice="Retraction of Publication" in pubtypes,
        erratum="Published Erratum" in pubtypes or bool(reftypes & {"Erratum in", "Corrected and republished in"}),
        journal_full=_str(entry.get("fulljournalname")),
        epub_year=parse_year(entry.get("epubdate")),
        pmcid=next((_str(i.get("value")) for i in ids if isinstance(i, dict) and i.get("idtype") == "pmc"), None),
    )


def parse_esearch(data: Any, service: str = "pubmed") -> tuple[int, list[str]]:
    """``{"esearchresult": {"count": "2", "idlist": ["1", "2"], ...}}`` -> (2, ["1", "2"])."""
    if not isinstance(data, dict):
        raise _bad(service, "top level is not an object")
    if "error" in data and "esearchresult" not in data:
        raise BadResponse(service, f"esearch error: {str(data['error'])[:100]}")
    result = data.get("esearchresult")
    if not isinstance(result, dict):
        raise _bad(service, "no 'esearchresult' object")
    if "ERROR" in result:  # e.g. {"ERROR": "Invalid query"}
        raise BadResponse(service, f"esearch error: {str(result['ERROR'])[:100]}")
    count, ids = result.get("count"), result.get("idlist")
    if not (isinstance(count, str | int) and not isinstance(count, bool) and _NUMBER.fullmatch(str(count))):
        raise _bad(service, "'esearchresult.count' is not a number")
    if not isinstance(ids, list) or not all(isinstance(i, str) and _PMID.match(i) for i in ids):
        raise _bad(service, "'esearchresult.idlist' is not a list of PMIDs")
    return int(count), ids


# --------------------------------------------------------------------------- Crossref

RETRACTION_TYPES = frozenset({"retraction", "partial_retraction", "withdrawal", "removal"})
CORRECTION_TYPES = frozenset({"correction", "erratum", "corrigendum", "addendum", "clarification"})


class CrossrefClient(_Client):
    """``/works/{doi}`` with ``mailto`` (Crossref's "polite pool") when an e-mail is configured."""

    service = "crossref"
    default_base_url = "https://api.crossref.org"

    def work(self, doi: str) -> CrossrefRecord:
        doi = doi.strip()
        params = {"mailto": self.config.email} if self.config.email else {}
        try:
            data = self._get_json(f"{self.base_url}/works/{quote(doi, safe='')}", params)
        except NotFound as exc:
            raise NotFound(self.service, f"DOI {doi}") from exc
        return parse_crossref_work(data)


def _date_year(obj: Any) -> int | None:
    """``{"date-parts": [[2019, 5, 21]]}`` -> 2019 (``[[null]]`` for an unknown date)."""
    if not isinstance(obj, dict):
        return None
    parts = obj.get("date-parts")
    if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
        y = parts[0][0]
        if isinstance(y, int) and not isinstance(y, bool):
            return y
        if isinstance(y, str) and _NUMBER.fullmatch(y.strip()):
            return int(y)
    return None


def _initials(given: str) -> str:
    return "".join(part[0].upper() for part in re.split(r"[\s.\-]+", given) if part and part[0].isalpha())


def _crossref_author(a: Any) -> str | None:
    if not isinstance(a, dict):
        return None
    family, given = _str(a.get("family")), _str(a.get("given"))
    if family:
        initials = _initials(given) if given else ""
        return f"{family} {initials}".strip()
    return _str(a.get("name"))  # an organisation


def _update_types(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(u.get("type", "")).lower() for u in value if isinstance(u, dict) and u.get("type")]


def parse_crossref_work(data: Any, service: str = "crossref") -> CrossrefRecord:
    if not isinstance(data, dict):
        raise _bad(service, "top level is not an object")
    if data.get("status") not in (None, "ok"):
        raise BadResponse(service, f"status {data.get('status')!r}")
    msg = data.get("message")
    if not isinstance(msg, dict):
        raise _bad(service, "no 'message' object")
    if data.get("message-type") not in (None, "work"):
        raise _bad(service, f"message-type {data.get('message-type')!r}")
    doi = _str(msg.get("DOI"))
    if doi is None:
        raise _bad(service, "message has no DOI")
    titles = msg.get("title") or []
    if not isinstance(titles, list):
        raise _bad(service, "'title' is not a list")
    authors = msg.get("author") or []
    if not isinstance(authors, list):
        raise _bad(service, "'author' is not a list")
    subtitles = msg.get("subtitle") or []
    containers = msg.get("container-title") or []
    shorts = msg.get("short-container-title") or []
    updated_by = _update_types(msg.get("updated-by"))
    update_to = _update_types(msg.get("update-to"))
    others = tuple(y for y in (_date_year(msg.get(k)) for k in ("published-print", "published-online", "published"))
                   if y is not None)
    return CrossrefRecord(
        doi=doi,
        title=" ".join(t.strip() for t in titles[:1] if isinstance(t, str)),
        journal=_str(containers[0]) if isinstance(containers, list) and containers else None,
        year=_date_year(msg.get("issued")) or (others[0] if others else None),
        authors=[n for n in (_crossref_author(a) for a in authors) if n],
        type=_str(msg.get("type")),
        retracted=bool(set(updated_by) & RETRACTION_TYPES),
        retraction_notice=bool(set(update_to) & RETRACTION_TYPES),
        erratum=bool(set(updated_by) & CORRECTION_TYPES),
        journal_short=_str(shorts[0]) if isinstance(shorts, list) and shorts else None,
        other_years=others,
        updates=tuple(dict.fromkeys(updated_by + update_to)),
        subtitle=_str(subtitles[0]) if isinstance(subtitles, list) and subtitles else None,
    )


# --------------------------------------------------------------------------- ClinicalTrials.gov

class ClinicalTrialsClient(_Client):
    """API v2 ``/studies/{nct}``.  The service asks for about 50 requests a minute."""

    service = "clinicaltrials"
    default_base_url = "https://clinicaltrials.gov/api/v2"

    def default_rate(self) -> float:
        return 50 / 60

    def study(self, nct: str) -> TrialRecord:
        nct = nct.strip().upper()
        if not _NCT.match(nct):
            raise ValueError(f"not an NCT number: {nct}")
        try:
            data = self._get_json(f"{self.base_url}/studies/{nct}", {"format": "json"})
        except NotFound as exc:
            raise NotFound(self.service, nct) from exc
        return parse_ct_study(data)

    def search(self, params: Mapping[str, str], page_size: int = CTGOV_PAGE) -> tuple[int | None, list[TrialRecord]]:
        """``/studies`` with ``query.*``/``filter.*``/``aggFilters`` params: (totalCount, every study), paged
        with ``pageToken`` until the answer has no ``nextPageToken``."""
        studies: list[TrialRecord] = []
        total: int | None = None
        token: str | None = None
        seen: set[str] = set()
        for _ in range(CTGOV_MAX_PAGES):
            query = {**params, "format": "json", "pageSize": str(page_size), "countTotal": "true"}
            if token:
                query["pageToken"] = token
            data = self._get_json(f"{self.base_url}/studies", query)
            if not isinstance(data, dict) or not isinstance(data.get("studies", []), list):
                raise _bad(self.service, "no 'studies' list")
            if total is None and isinstance(data.get("totalCount"), int):
                total = data["totalCount"]
            studies += [parse_ct_study(s, self.service) for s in data.get("studies", [])]
            if not isinstance(data.get("nextPageToken"), str | None):  # not a silent end of the paging
                raise _bad(self.service, "'nextPageToken' is not a string")
            token = _str(data.get("nextPageToken"))
            if token is None:
                return total, studies
            if token in seen:
                raise _bad(self.service, "the same nextPageToken twice")
            seen.add(token)
        raise BadResponse(self.service, f"more than {CTGOV_MAX_PAGES} pages")


def parse_ct_study(data: Any, service: str = "clinicaltrials") -> TrialRecord:
    if not isinstance(data, dict):
        raise _bad(service, "top level is not an object")
    proto = data.get("protocolSection")
    if not isinstance(proto, dict):
        raise _bad(service, "no 'protocolSection'")
    ident = proto.get("identificationModule")
    if not isinstance(ident, dict) or not _str(ident.get("nctId")):
        raise _bad(service, "no 'protocolSection.identificationModule.nctId'")
    status = proto.get("statusModule") if isinstance(proto.get("statusModule"), dict) else {}
    design = proto.get("designModule") if isinstance(proto.get("designModule"), dict) else {}
    enrollment = design.get("enrollmentInfo") if isinstance(design.get("enrollmentInfo"), dict) else {}
    start = status.get("startDateStruct") if isinstance(status.get("startDateStruct"), dict) else {}
    count = enrollment.get("count")
    results_posted = status.get("resultsFirstPostDateStruct")
    references = proto.get("referencesModule") if isinstance(proto.get("referencesModule"), dict) else {}
    refs = references.get("references") if isinstance(references.get("references"), list) else []
    result_pmids = tuple(dict.fromkeys(
        str(r["pmid"]).strip() for r in refs if isinstance(r, dict) and r.get("type") == "RESULT"
        and _PMID.match(str(r.get("pmid", "")).strip())))
    return TrialRecord(
        nct=ident["nctId"].strip(),
        title=_str(ident.get("briefTitle")) or "",
        status=_str(status.get("overallStatus")),
        enrollment=count if isinstance(count, int) else None,
        start_date=_str(start.get("date")),
        enrollment_type=_str(enrollment.get("type")),
        official_title=_str(ident.get("officialTitle")),
        has_results=data["hasResults"] if isinstance(data.get("hasResults"), bool) else None,
        results_first_posted=_str(results_posted.get("date")) if isinstance(results_posted, dict) else None,
        study_type=_str(design.get("studyType")),
        result_pmids=result_pmids,
    )


# --------------------------------------------------------------------------- all three

@dataclass
class Clients:
    """One client (and so one session) per service."""

    pubmed: PubMedClient
    crossref: CrossrefClient
    trials: ClinicalTrialsClient

    @classmethod
    def create(cls, config: HttpConfig | None = None) -> Clients:
        config = config or HttpConfig.from_env()
        return cls(PubMedClient(config), CrossrefClient(config), ClinicalTrialsClient(config))

    def close(self) -> None:
        for client in (self.pubmed, self.crossref, self.trials):
            client.close()
