"""The record of the last literature search: what ``watch`` searched, when, and what it left to curate.

A living evidence page must say how far its reading goes.  ``data/last_search.json`` holds the date
and exact queries of the last ``python -m evidence watch --record`` run and how many of the hits
were not yet in the data at that time; the Methods page and every export's stamp read it.  Only
``watch --record`` writes it, and only when the curator asks.  Kept free of pandas and of the HTTP
stack so that light pages can read it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

FILENAME = "last_search.json"
SERVICE_NAMES = {"pubmed": "PubMed", "clinicaltrials": "ClinicalTrials.gov"}
NO_SEARCH = "no literature search run yet"
NOT_RUN_NOTE = ("No search has been run from this project yet: `python -m evidence watch --record` "
                "writes this file after a complete search.")

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Count = Annotated[int, Field(ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceSearch(_Model):
    service: Literal["pubmed", "clinicaltrials"]
    query: Text = Field(description="Exactly what was sent: the PubMed term, or the ClinicalTrials.gov parameters.")
    date_filter: str | None = Field(None, description="The date limit applied, in the service's terms.")
    hits: Count


class LastSearch(_Model):
    """``searched`` is null until a search has been recorded; then every count is required."""

    searched: date | None = None
    since: date | None = Field(None, description="Searched from this date (null: all years).")
    searches: list[ServiceSearch] = Field(default_factory=list)
    candidates: Count | None = None
    in_data: Count | None = None
    not_curated: Count | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> LastSearch:
        counts = (self.candidates, self.in_data, self.not_curated)
        if self.searched is None:
            if self.searches or self.since or any(c is not None for c in counts):
                raise ValueError("no 'searched' date, yet searches or counts are given")
            return self
        if not self.searches:
            raise ValueError("a recorded search needs its 'searches' (service, query, hits)")
        if any(c is None for c in counts):
            raise ValueError("a recorded search needs 'candidates', 'in_data' and 'not_curated'")
        if self.in_data + self.not_curated != self.candidates:  # type: ignore[operator]
            raise ValueError("'in_data' + 'not_curated' must equal 'candidates'")
        if self.since and self.since > self.searched:
            raise ValueError("'since' is after 'searched'")
        if len({s.service for s in self.searches}) != len(self.searches):
            raise ValueError("one entry per service in 'searches'")
        return self

    @property
    def fingerprint(self) -> str:
        """A short hash of the queries, so that a stamp can name the query without quoting it."""
        text = "\n".join(f"{s.service}: {s.query}" for s in self.searches)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


NOT_RUN = LastSearch(note=NOT_RUN_NOTE)


class LastSearchInvalid(Exception):  # noqa: N818 - reads better at call sites
    """The record does not parse or validate; the message is one line naming the file and field."""


def path_in(directory: Path) -> Path:
    return Path(directory) / FILENAME


def load(path: Path) -> LastSearch:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LastSearchInvalid(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise LastSearchInvalid(f"{path}: cannot read ({exc})") from exc
    try:
        return LastSearch.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "record"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise LastSearchInvalid(f"{path}: {where}: {err['msg']}{more}") from exc


_CACHE: dict[Path, tuple[tuple[int, int], LastSearch | None, str | None]] = {}


def read(directory: Path) -> tuple[LastSearch | None, str | None]:
    """(record, None); (None, None) when there is no file; (None, error line) when it is invalid.

    Remembered per file modification time: every page and export calls this."""
    path = path_in(directory)
    try:
        st = path.stat()
    except OSError:
        return None, None
    key = (st.st_mtime_ns, st.st_size)
    cached = _CACHE.get(path)
    if cached and cached[0] == key:
        return cached[1], cached[2]
    try:
        record, error = load(path), None
    except LastSearchInvalid as exc:
        record, error = None, str(exc)
    _CACHE[path] = (key, record, error)
    return record, error


def write(path: Path, record: LastSearch) -> None:
    path.write_text(json.dumps(record.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")


# --------------------------------------------------------------------------- wording

def _services(record: LastSearch) -> str:
    return " and ".join(SERVICE_NAMES[s.service] for s in record.searches)


def statement(record: LastSearch | None, error: str | None = None) -> str:
    """One line for stamps and footers: the date, the query's fingerprint and what is left to curate."""
    if error:
        return "last literature search: record unreadable"
    if record is None or record.searched is None:
        return NO_SEARCH
    return (f"literature last searched {record.searched.isoformat()} ({_services(record)}, query "
            f"{record.fingerprint}): {record.not_curated} of {record.candidates} candidates not yet curated")


def methods_markdown(record: LastSearch | None, error: str | None = None) -> str:
    """The Methods page's account of the search: when, the exact queries, and the counts."""
    routine = ("Curators run `python -m evidence watch --record` monthly; the README describes the "
               "routine (watch → scaffold → fragment → validate → verify).")
    if error:
        return f"The last-search record could not be read: `{error}`.\n\n{routine}"
    if record is None or record.searched is None:
        return f"**No literature search has been run from this project yet.** {routine}"
    since = f"from {record.since.isoformat()}" if record.since else "over all years"
    lines = [
        f"**Last searched {record.searched.isoformat()}** ({_services(record)}, {since}; query "
        f"`{record.fingerprint}`): {record.candidates} candidates, {record.in_data} already in the data, "
        f"**{record.not_curated} not yet curated** at the time of the search.",
        "",
    ]
    for s in record.searches:
        limit = f"; {s.date_filter}" if s.date_filter else ""
        lines += [f"- {SERVICE_NAMES[s.service]}: {s.hits} hits{limit}", "", f"  ```\n  {s.query}\n  ```", ""]
    if record.note:
        lines += [record.note, ""]
    lines.append(routine)
    return "\n".join(lines)
