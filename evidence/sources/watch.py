"""Living evidence: search PubMed and ClinicalTrials.gov for studies, and triage them against the data.

One documented query per service (below; the README and the Methods page show them), run from a
date (``--since``, else the last recorded search, else all years).  Every hit is compared with
``data/studies.yaml`` by PMID, DOI (normalised, case-insensitive) and NCT number, and gets a
suggested kind with the reason, so that a curator reads the new papers first and scaffolds only
what belongs here.  A registry record whose RESULT reference is a PubMed hit is merged into that
hit's row.  Nothing here writes files: the command does, when asked.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import date

from evidence.curation.last_search import LastSearch, ServiceSearch
from evidence.curation.schema import Study
from evidence.publishing.exports import csv_safe
from evidence.sources.sources_api import (
    CTGOV_PAGE,
    ESEARCH_PAGE,
    ApiError,
    ClinicalTrialsClient,
    PubMedClient,
    PubRecord,
    TrialRecord,
    parse_year,
)
from evidence.sources.verification import normalise_doi

# Drug × condition × design.  [pt] publication types as PubMed indexes them; the [tiab] words catch
# records not yet indexed (new records carry no publication type beyond "Journal Article" for weeks).
PUBMED_QUERY = (
    '(ketamine[tiab] OR esketamine[tiab] OR arketamine[tiab] OR "ketamine"[mh]) '
    'AND (depress*[tiab] OR "depressive disorder"[mh] OR "depression"[mh] OR suicid*[tiab] '
    'OR "suicidal ideation"[mh]) '
    'AND ("randomized controlled trial"[pt] OR "controlled clinical trial"[pt] OR "clinical trial"[pt] '
    'OR "meta-analysis"[pt] OR "systematic review"[pt] OR randomi*[tiab] OR placebo[tiab] '
    'OR "meta-analysis"[tiab] OR "systematic review"[tiab])'
)
# Registry records with results posted (aggFilters=results:with); --since limits by the date the
# results were first posted.
CTGOV_PARAMS = {
    "query.cond": 'depression OR "depressive disorder" OR "suicidal ideation"',
    "query.intr": "ketamine OR esketamine OR arketamine",
    "aggFilters": "results:with",
}
CTGOV_FIELDS = ("NCTId,BriefTitle,OfficialTitle,OverallStatus,HasResults,ResultsFirstPostDate,StudyType,"
                "StartDate,ReferencePMID,ReferenceType")

TRIAL_TYPES = (
    "Randomized Controlled Trial", "Controlled Clinical Trial", "Pragmatic Clinical Trial", "Equivalence Trial",
    "Clinical Trial, Phase I", "Clinical Trial, Phase II", "Clinical Trial, Phase III", "Clinical Trial, Phase IV",
    "Clinical Trial",
)
NOT_EVIDENCE_TYPES = ("Published Erratum", "Retraction of Publication", "Comment", "Editorial", "Letter", "News",
                      "Expression of Concern")
_TITLE_CUES = (("meta-analy", "meta_analysis", "meta-analysis"), ("systematic review", "systematic_review",
               "systematic review"), ("randomized", "trial", "randomized"), ("randomised", "trial", "randomised"),
               ("placebo-controlled", "trial", "placebo-controlled"))
COLUMNS = ("in_data", "study_id", "matched_by", "pmid", "doi", "pmcid", "nct", "title", "journal", "year",
           "publication_types", "registry_status", "results_posted", "suggested_kind", "reason", "found_in")


@dataclass(frozen=True)
class Candidate:
    """One row of the triage list."""

    found_in: str  # "pubmed", "clinicaltrials" or "pubmed+clinicaltrials"
    title: str
    pmid: str | None = None
    doi: str | None = None
    pmcid: str | None = None
    nct: str | None = None
    journal: str | None = None
    year: int | None = None
    publication_types: tuple[str, ...] = ()
    registry_status: str | None = None
    results_posted: bool | None = None
    in_data: bool = False
    study_id: str | None = None
    matched_by: str | None = None
    suggested_kind: str = "other"
    reason: str = ""
    result_pmids: tuple[str, ...] = field(default=(), repr=False)

    def identifiers(self) -> str:
        parts = [f"PMID {self.pmid}" if self.pmid else "", f"doi:{self.doi}" if self.doi else "",
                 self.pmcid or "", self.nct or ""]
        return " ".join(p for p in parts if p)


@dataclass
class WatchResult:
    searched: date
    since: date | None
    candidates: list[Candidate]
    searches: list[ServiceSearch]
    failures: dict[str, ApiError]

    @property
    def complete(self) -> bool:
        return not self.failures

    def record(self) -> LastSearch:
        """The last-search record of a complete search."""
        in_data = sum(c.in_data for c in self.candidates)
        return LastSearch(searched=self.searched, since=self.since, searches=self.searches,
                          candidates=len(self.candidates), in_data=in_data,
                          not_curated=len(self.candidates) - in_data)


# --------------------------------------------------------------------------- searching

def pubmed_filters(since: date | None, today: date) -> dict[str, str]:
    """Entrez date (when the record entered PubMed), so that a monthly run sees each record once."""
    if since is None:
        return {}
    return {"datetype": "edat", "mindate": _entrez_date(since), "maxdate": _entrez_date(today)}


def _entrez_date(day: date) -> str:
    """YYYY/MM/DD with a four-digit year: ``strftime("%Y")`` writes year 1 as "1"."""
    return f"{day.year:04d}/{day.month:02d}/{day.day:02d}"


def ctgov_params(since: date | None) -> dict[str, str]:
    params = {**CTGOV_PARAMS, "fields": CTGOV_FIELDS}
    if since is not None:
        params["filter.advanced"] = f"AREA[ResultsFirstPostDate]RANGE[{since.isoformat()},MAX]"
    return params


def _describe_ctgov(params: dict[str, str]) -> str:
    return " & ".join(f"{k}={v}" for k, v in params.items() if k not in ("fields", "filter.advanced"))


def run(pubmed: PubMedClient, trials: ClinicalTrialsClient, studies: Iterable[Study], *, since: date | None,
        today: date, esearch_page: int = ESEARCH_PAGE, ctgov_page: int = CTGOV_PAGE) -> WatchResult:
    """Both searches; a service that fails is recorded in ``failures`` and the other still runs."""
    searches: list[ServiceSearch] = []
    failures: dict[str, ApiError] = {}
    records: list[PubRecord] = []
    registry: list[TrialRecord] = []
    filters = pubmed_filters(since, today)
    try:
        count, pmids = pubmed.search(PUBMED_QUERY, filters=filters, page_size=esearch_page)
        summaries = pubmed.summaries(pmids)
        records = [summaries[p] for p in pmids if p in summaries]
    except ApiError as exc:
        failures["pubmed"] = exc
    else:
        limit = f"Entrez date {filters['mindate']} to {filters['maxdate']}" if filters else None
        searches.append(ServiceSearch(service="pubmed", query=PUBMED_QUERY, date_filter=limit, hits=count))
    params = ctgov_params(since)
    try:
        _, registry = trials.search(params, page_size=ctgov_page)
    except ApiError as exc:
        failures["clinicaltrials"] = exc
    else:
        limit = f"results first posted {since.isoformat()} or later" if since else None
        searches.append(ServiceSearch(service="clinicaltrials", query=_describe_ctgov(params), date_filter=limit,
                                      hits=len(registry)))
    return WatchResult(searched=today, since=since, candidates=triage(records, registry, studies),
                       searches=searches, failures=failures)


# --------------------------------------------------------------------------- triage

def suggest_pub_kind(rec: PubRecord) -> tuple[str, str]:
    """(kind, reason) from PubMed's publication types, else from the title's words."""
    types = set(rec.pubtypes)
    if rec.retracted:
        return "other", "retracted (PubMed)"
    for pubtype, kind in (("Meta-Analysis", "meta_analysis"), ("Systematic Review", "systematic_review")):
        if pubtype in types:
            return kind, f"PubMed type {pubtype}"
    trial = next((t for t in TRIAL_TYPES if t in types), None)
    if trial:
        return "trial", f"PubMed type {trial}"
    odd = next((t for t in NOT_EVIDENCE_TYPES if t in types), None)
    if odd:
        return "other", f"PubMed type {odd}"
    title = rec.title.casefold()
    if "protocol" in title:
        return "other", "title says protocol"
    for cue, kind, word in _TITLE_CUES:
        if cue in title:
            return kind, f'title says "{word}" (no trial or review publication type yet)'
    if "Review" in types:
        return "review", "PubMed type Review"
    return "other", "no trial or review publication type"


def suggest_trial_kind(rec: TrialRecord) -> tuple[str, str]:
    posted = f"; results first posted {rec.results_first_posted}" if rec.results_first_posted else ""
    if rec.study_type == "INTERVENTIONAL":
        return "trial", f"ClinicalTrials.gov interventional study{posted}"
    return "other", f"ClinicalTrials.gov study type {rec.study_type or 'not given'}{posted}"


class _Index:
    """The data's identifiers: PMID, normalised DOI and NCT number -> study id."""

    def __init__(self, studies: Iterable[Study]):
        self.pmid: dict[str, str] = {}
        self.doi: dict[str, str] = {}
        self.nct: dict[str, str] = {}
        for s in studies:
            if s.pmid:
                self.pmid.setdefault(s.pmid, s.id)
            if s.doi:
                self.doi.setdefault(normalise_doi(s.doi), s.id)
            if s.nct:
                self.nct.setdefault(s.nct.upper(), s.id)

    def match(self, c: Candidate) -> Candidate:
        checks = (("PMID", self.pmid, c.pmid), ("DOI", self.doi, normalise_doi(c.doi) if c.doi else None),
                  ("NCT", self.nct, c.nct.upper() if c.nct else None))
        for how, table, key in checks:
            if key and key in table:
                return replace(c, in_data=True, study_id=table[key], matched_by=how)
        for pmid in c.result_pmids:
            if pmid in self.pmid:
                return replace(c, in_data=True, study_id=self.pmid[pmid], matched_by="PMID of the registry's result")
        return c


def _from_pub(rec: PubRecord) -> Candidate:
    kind, reason = suggest_pub_kind(rec)
    return Candidate(found_in="pubmed", title=rec.title, pmid=rec.pmid, doi=rec.doi, pmcid=rec.pmcid,
                     journal=rec.journal_full or rec.journal or None, year=rec.year,
                     publication_types=tuple(rec.pubtypes), suggested_kind=kind, reason=reason)


def _from_trial(rec: TrialRecord) -> Candidate:
    kind, reason = suggest_trial_kind(rec)
    year = parse_year(rec.results_first_posted)  # usually "2023-05-17", but "May 2023" occurs
    return Candidate(found_in="clinicaltrials", title=rec.title or rec.official_title or "", nct=rec.nct, year=year,
                     registry_status=rec.status, results_posted=rec.has_results, suggested_kind=kind, reason=reason,
                     result_pmids=rec.result_pmids)


def triage(records: Iterable[PubRecord], trials: Iterable[TrialRecord], studies: Iterable[Study]) -> list[Candidate]:
    """Rows not in the data first, then newest first."""
    rows: dict[str, Candidate] = {}
    for rec in records:
        rows.setdefault(f"pmid:{rec.pmid}", _from_pub(rec))
    for trial in trials:
        linked = next((f"pmid:{p}" for p in trial.result_pmids if f"pmid:{p}" in rows and not rows[f"pmid:{p}"].nct),
                      None)
        if linked:
            rows[linked] = replace(rows[linked], found_in="pubmed+clinicaltrials", nct=trial.nct,
                                   registry_status=trial.status, results_posted=trial.has_results)
        else:
            rows.setdefault(f"nct:{trial.nct}", _from_trial(trial))
    index = _Index(studies)
    matched = [index.match(c) for c in rows.values()]
    return sorted(matched, key=lambda c: (c.in_data, -(c.year or 0), c.pmid or c.nct or ""))


# --------------------------------------------------------------------------- output

def _cells(c: Candidate) -> dict[str, str]:
    values = asdict(c)
    values["publication_types"] = "; ".join(c.publication_types)
    values["results_posted"] = "" if c.results_posted is None else ("yes" if c.results_posted else "no")
    values["in_data"] = "yes" if c.in_data else "no"
    return {k: "" if values[k] is None else str(values[k]) for k in COLUMNS}


def to_csv(candidates: list[Candidate]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for c in candidates:
        writer.writerow({k: csv_safe(v) for k, v in _cells(c).items()})
    return out.getvalue()


def to_json(result: WatchResult) -> str:
    in_data = sum(c.in_data for c in result.candidates)
    doc = {
        "searched": result.searched.isoformat(),
        "since": result.since.isoformat() if result.since else None,
        "complete": result.complete,
        "searches": [s.model_dump(mode="json") for s in result.searches],
        "failures": {s: f"{e.kind} ({e.reason})" for s, e in result.failures.items()},
        "candidates": len(result.candidates), "in_data": in_data, "not_curated": len(result.candidates) - in_data,
        "rows": [{k: v for k, v in asdict(c).items() if k != "result_pmids"} for c in result.candidates],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def _md(text: str, width: int = 0) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if not width or len(text) <= width else text[: width - 1] + "…"


def to_markdown(result: WatchResult) -> str:
    since = result.since.isoformat() if result.since else "all years"
    new = [c for c in result.candidates if not c.in_data]
    lines = [f"# Triage: searched {result.searched.isoformat()} (from {since})", "",
             f"{len(result.candidates)} candidates, {len(new)} not in the data.", ""]
    for s in result.searches:
        lines.append(f"- {s.service}: {s.hits} hits" + (f" ({s.date_filter})" if s.date_filter else ""))
    for service, exc in result.failures.items():
        lines.append(f"- {service}: NOT SEARCHED: {exc.kind} ({exc.reason})")
    lines += ["", "| in data | identifiers | kind | why | year | journal | title | registry |",
              "|---|---|---|---|---|---|---|---|"]
    for c in result.candidates:
        registry = " ".join(p for p in (c.registry_status or "", "results posted" if c.results_posted else "") if p)
        in_data = f"yes: {c.study_id} ({c.matched_by})" if c.in_data else "no"
        lines.append("| " + " | ".join(_md(x, w) for x, w in (
            (in_data, 0), (c.identifiers(), 0), (c.suggested_kind, 0), (c.reason, 0), (str(c.year or ""), 0),
            (c.journal or "", 40), (c.title, 110), (registry, 0))) + " |")
    return "\n".join(lines) + "\n"


def render(result: WatchResult, fmt: str) -> str:
    if fmt == "csv":
        return to_csv(result.candidates)
    if fmt == "json":
        return to_json(result)
    if fmt == "md":
        return to_markdown(result)
    raise ValueError(f"unknown format {fmt!r}")
