"""Exports for reuse: stamped tables, citations, ClaimReview, a journalist bundle and a static report.

Nothing here invents a number: figures come from the tidy tables (via the shared
claim summaries in :mod:`evidence.claim_evidence` when a claim names one), and
text comes from the curated records.  Every export carries the data version, the
export date, the licence and how to cite.  No Streamlit; the only optional
external piece is a Chromium-family browser, which Kaleido 1.x needs to render
PNG/SVG images (the bundle says so, and skips them, when none is available).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import csv
import html
import io
import json
import math
import os
import re
import shutil
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote as _urlquote

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from evidence import charts
from evidence.claim_evidence import claimed_value, panel
from evidence.load import Dataset
from evidence.schema import Claim, Source, Study
from evidence.tables import OUTCOME_COLUMNS, Tables
from evidence.verdicts import CERTAINTY, CERTAINTY_MEANING, VERDICTS, verdict_badge

PROJECT = "Ketamine evidence tracker"
TITLE = "Ketamine for depression: marketing claims vs published evidence"
LICENCE = "Data: CC BY 4.0; code: MIT"
DEFAULT_BASE_URL = "http://localhost:8501"
FORMATS = ("csv", "json")
BUNDLE_FILES = (
    "paragraph.txt", "chart.png", "chart.svg", "evidence.csv", "citations.bib", "citations.ris",
    "citations.csl.json", "claimreview.jsonld", "README.txt",
)
IMAGE_FILES = ("chart.png", "chart.svg")
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
IMAGE_TIMEOUT = 90.0
REGULATORY_KINDS = ("regulatory", "label")


# --------------------------------------------------------------------------- stamp

def resolve_base_url(explicit: str | None = None) -> str:
    """The public address of the dashboard: explicit, else ``$EVIDENCE_BASE_URL``, else localhost."""
    return (explicit or os.environ.get("EVIDENCE_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def claim_url(claim_id: str, base: str | None = None) -> str:
    return f"{resolve_base_url(base)}/claim?claim={_urlquote(claim_id, safe='')}"


def how_to_cite(dataset: Dataset, *, today: date | None = None, base: str | None = None) -> str:
    today = today or date.today()
    return (f"{PROJECT}. {TITLE}. Data version {dataset.version} (data files last changed "
            f"{dataset.modified or 'unknown'}). {resolve_base_url(base)} (accessed {today.isoformat()}). {LICENCE}.")


def stamp(dataset: Dataset, *, today: date | None = None, base: str | None = None) -> dict[str, str]:
    """What every export carries: data version and date, export date, licence, source, how to cite."""
    today = today or date.today()
    return {
        "data_version": dataset.version,
        "data_modified": dataset.modified,
        "exported": today.isoformat(),
        "licence": LICENCE,
        "source": PROJECT,
        "url": resolve_base_url(base),
        "how_to_cite": how_to_cite(dataset, today=today, base=base),
    }


def export_filename(table_name: str, dataset: Dataset, ext: str, *, today: date | None = None) -> str:
    """``outcomes_v8b301a0fbf4c_2026-11-21.csv``: table, data version, export date."""
    safe = re.sub(r"[^A-Za-z0-9_\-]+", "_", table_name).strip("_") or "export"
    return f"{safe}_v{dataset.version}_{(today or date.today()).isoformat()}.{ext.lstrip('.')}"


# --------------------------------------------------------------------------- tables

_FORMULA_START = ("=", "+", "@", "\t", "\r")
_NUMBER = re.compile(r"^-\s*[\d.]")


def _csv_safe(value: Any) -> Any:
    """Spreadsheets run cells that start like a formula; prefix such text cells with an apostrophe."""
    if isinstance(value, str) and value and (
            value.startswith(_FORMULA_START) or (value.startswith("-") and not _NUMBER.match(value))):
        return "'" + value
    return value


def _jsonable(value: Any) -> Any:
    """A plain JSON value: NaN/NA become null, numpy scalars become Python numbers."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, (date, datetime, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [_jsonable(v) for v in items]
    if isinstance(value, str):
        return value
    return str(value)


def frame_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    columns = [str(c) for c in df.columns]
    return [dict(zip(columns, (_jsonable(v) for v in row), strict=True))
            for row in df.itertuples(index=False, name=None)]


def table_export(df: pd.DataFrame, fmt: str, *, dataset: Dataset, table_name: str,
                 filters: dict[str, Any] | None = None, today: date | None = None) -> bytes:
    """A table as CSV or JSON bytes.

    CSV: UTF-8 with a byte-order mark (so Excel shows ≥ and µ correctly), one header row with
    the table's contract columns, RFC 4180 quoting, empty cells for missing values, and text
    cells that would run as a spreadsheet formula prefixed with ``'``.  The stamp is in the
    file name (:func:`export_filename`), not in the file, so the CSV parses cleanly.
    JSON: ``{"data_version", "data_modified", "exported", "table", "filters", "licence",
    "source", "url", "how_to_cite", "rows": [...]}``.
    """
    if fmt == "csv":
        text = df.map(_csv_safe).to_csv(index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        return text.encode("utf-8-sig")
    if fmt == "json":
        s = stamp(dataset, today=today)
        doc = {"data_version": s["data_version"], "data_modified": s["data_modified"], "exported": s["exported"],
               "table": table_name, "filters": _jsonable(filters or {}), "licence": s["licence"],
               "source": s["source"], "url": s["url"], "how_to_cite": s["how_to_cite"],
               "columns": [str(c) for c in df.columns], "rows": frame_records(df)}
        return (json.dumps(doc, ensure_ascii=False, indent=1, allow_nan=False) + "\n").encode("utf-8")
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")


# --------------------------------------------------------------------------- authors

_INITIALS = re.compile(r"^[A-Z\u00C0-\u00DE](?:-?[A-Z\u00C0-\u00DE]){0,5}$")
_ET_AL = re.compile(r"^et\.?\s+al\.?$", re.IGNORECASE)
_SUFFIXES = {"Jr": "Jr", "Jr.": "Jr", "Sr": "Sr", "Sr.": "Sr", "II": "II", "III": "III", "IV": "IV"}
_NOTE = re.compile(r"\s*\([^)]*\)\s*$")


def split_author(name: str) -> dict[str, str]:
    """``"Zarate CA Jr"`` -> ``{"family": "Zarate", "given": "C. A.", "suffix": "Jr"}``.

    The curated form is "Surname Initials [Suffix]" (PubMed style); a trailing curator's
    note in parentheses is dropped.  A surname without initials ("Singh (initials not
    verified)") gives ``{"family": ...}``.  Anything else (an organisation, or a name whose
    other words are all capitals: "US FDA") is kept whole as ``{"literal": name}``.
    """
    name = " ".join(name.split())
    noted = bool(_NOTE.search(name))
    bare = _NOTE.sub("", name) or name
    parts = bare.split(" ")
    suffix = _SUFFIXES.get(parts[-1]) if len(parts) >= 3 else None
    if suffix:
        parts = parts[:-1]
    if len(parts) >= 2 and _INITIALS.match(parts[-1]) and not any(
            len(p) > 1 and p.isupper() for p in parts[:-1]):
        initials = parts[-1]
        given = "-".join(" ".join(f"{c}." for c in chunk) for chunk in initials.split("-"))
        out = {"family": " ".join(parts[:-1]), "given": given}
        if suffix:
            out["suffix"] = suffix
        return out
    if noted and len(parts) == 1 and parts[0][:1].isupper():
        return {"family": parts[0]}
    return {"literal": name}


def _authors(study: Study) -> tuple[list[dict[str, str]], bool]:
    """Parsed authors and whether the list was cut short with "et al"."""
    out, more = [], False
    for a in study.citation.authors:
        if _ET_AL.match(a.strip()):
            more = True
        else:
            out.append(split_author(a))
    return out, more


def _unique_studies(studies: Iterable[Study]) -> list[Study]:
    seen: set[str] = set()
    out = []
    for s in studies:
        if s.id not in seen:
            seen.add(s.id)
            out.append(s)
    return out


def doi_url(doi: str) -> str:
    return "https://doi.org/" + _urlquote(doi, safe="/:;()[]._-~,+=!*'@&$")


def pubmed_url(pmid: str) -> str:
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"


def _is_web_url(url: str | None) -> bool:
    return bool(url) and re.match(r"^https?://", url or "", re.IGNORECASE) is not None


# --------------------------------------------------------------------------- BibTeX

_BIB_SPECIAL = re.compile(r"[\\{}&%$#_~^]")
_BIB_MAP = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
            "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def bib_escape(text: str) -> str:
    """Escape LaTeX specials in one pass (UTF-8 text is kept: biber and bibtex8 read it)."""
    return _BIB_SPECIAL.sub(lambda m: _BIB_MAP[m.group()], " ".join(str(text).split()))


def _bib_verbatim(text: str) -> str:
    """DOI and URL fields are read verbatim by biblatex/url.sty: keep them raw, but never unbalance braces."""
    return str(text).replace("{", "%7B").replace("}", "%7D").replace(" ", "%20")


def _bib_name(author: dict[str, str]) -> str:
    """BibTeX "von Last, Jr, First" form; organisations braced so they are not split into names."""
    if "literal" in author:
        return "{" + bib_escape(author["literal"]) + "}"
    parts = [author["family"], author.get("suffix"), author.get("given")]
    return ", ".join(bib_escape(p) for p in parts if p)


def _ris_name(author: dict[str, str]) -> str:
    """RIS "Last, First, Suffix" form."""
    if "literal" in author:
        return author["literal"]
    return ", ".join(p for p in (author["family"], author.get("given"), author.get("suffix")) if p)


def bibtex(studies: Iterable[Study]) -> str:
    """BibTeX entries keyed by study id: @article, or @misc for regulatory documents and labels."""
    entries = []
    for s in _unique_studies(studies):
        authors, more = _authors(s)
        names = [_bib_name(a) for a in authors] + (["others"] if more else [])
        regulatory = s.kind in REGULATORY_KINDS
        fields: list[tuple[str, str]] = [
            ("author", " and ".join(names)),
            ("title", "{" + bib_escape(s.citation.title) + "}"),
            ("howpublished" if regulatory else "journal", bib_escape(s.citation.journal)),
            ("year", str(s.citation.year)),
        ]
        if s.doi:
            fields.append(("doi", _bib_verbatim(s.doi)))
        if s.pmid:
            fields += [("pmid", s.pmid), ("eprint", s.pmid), ("eprinttype", "pubmed")]
        if s.url:
            fields.append(("url", _bib_verbatim(s.url)))
        if s.nct:
            fields.append(("note", f"ClinicalTrials.gov {s.nct}"))
        body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields if v)
        entries.append(f"@{'misc' if regulatory else 'article'}{{{s.id},\n{body}\n}}\n")
    return "\n".join(entries)


# --------------------------------------------------------------------------- RIS

def _ris_line(tag: str, value: Any) -> str:
    return f"{tag}  - {' '.join(str(value).split())}"


def ris(studies: Iterable[Study]) -> str:
    """RIS (2011 spec tags): TY JOUR/GOVDOC, AU "Surname, I.", TI, T2/JO journal (PB for documents),
    PY, DO, AN = PMID with DB PubMed, UR, ER.  CRLF line ends, UTF-8."""
    records = []
    for s in _unique_studies(studies):
        regulatory = s.kind in REGULATORY_KINDS
        lines = [_ris_line("TY", "GOVDOC" if regulatory else "JOUR")]
        authors, more = _authors(s)
        for a in authors:
            lines.append(_ris_line("AU", _ris_name(a)))
        lines.append(_ris_line("TI", s.citation.title))
        if regulatory:
            lines.append(_ris_line("PB", s.citation.journal))
        else:
            lines += [_ris_line("T2", s.citation.journal), _ris_line("JO", s.citation.journal)]
        lines.append(_ris_line("PY", s.citation.year))
        if s.doi:
            lines.append(_ris_line("DO", s.doi))
        if s.pmid:
            lines += [_ris_line("AN", s.pmid), _ris_line("DB", "PubMed")]
        url = s.url or (doi_url(s.doi) if s.doi else pubmed_url(s.pmid) if s.pmid else None)
        if url:
            lines.append(_ris_line("UR", url))
        if s.nct:
            lines.append(_ris_line("N1", f"ClinicalTrials.gov {s.nct}"))
        if more:
            lines.append(_ris_line("N1", "Author list truncated (et al.)"))
        lines.append(_ris_line("ID", s.id))
        lines.append("ER  - ")
        records.append("\r\n".join(lines) + "\r\n")
    return "\r\n".join(records)


# --------------------------------------------------------------------------- CSL-JSON

def csl_json(studies: Iterable[Study]) -> list[dict[str, Any]]:
    """CSL-JSON items (id = study id) for Zotero, Pandoc and citeproc."""
    items = []
    for s in _unique_studies(studies):
        authors, _ = _authors(s)
        regulatory = s.kind in REGULATORY_KINDS
        item: dict[str, Any] = {
            "id": s.id,
            "type": "report" if regulatory else "article-journal",
            "title": s.citation.title,
            "author": authors,
            "issued": {"date-parts": [[s.citation.year]]},
            ("publisher" if regulatory else "container-title"): s.citation.journal,
        }
        if s.doi:
            item["DOI"] = s.doi
        if s.pmid:
            item["PMID"] = s.pmid
        if s.url:
            item["URL"] = s.url
        if s.nct:
            item["note"] = f"ClinicalTrials.gov {s.nct}"
        items.append(item)
    return items


def claim_studies(claim: Claim, dataset: Dataset) -> list[Study]:
    """The studies a claim's evidence links cite, in the order given (each once)."""
    known = {s.id: s for s in dataset.studies}
    return _unique_studies(known[e.study] for e in claim.evidence if e.study in known)


# --------------------------------------------------------------------------- ClaimReview

_ABBREVIATIONS = {"e.g.", "i.e.", "vs.", "al.", "approx.", "cf.", "fig.", "no.", "dr.", "st.", "ca.", "etc.",
                  "incl.", "resp.", "min.", "hr.", "wk.", "mo.", "ref."}
_BOUNDARY = re.compile(r"[.!?][\"”’)\]]*\s+")


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences without breaking at "vs.", "e.g.", "et al." or decimals."""
    text = " ".join(text.split())
    out, start = [], 0
    for m in _BOUNDARY.finditer(text):
        nxt = text[m.end():m.end() + 1]
        if not nxt or not (nxt.isupper() or nxt.isdigit() or nxt in "\"“‘(["):
            continue
        word = text[start:m.start() + 1].rsplit(" ", 1)[-1]
        if word.lower() in _ABBREVIATIONS or re.fullmatch(r"[A-Z]\.", word):  # "vs.", "et al.", initials
            continue
        out.append(text[start:m.end()].strip())
        start = m.end()
    if text[start:].strip():
        out.append(text[start:].strip())
    return out


def rating_explanation(rationale: str, max_chars: int = 280) -> str:
    """The rationale's first sentence, plus the second when both are short (never more than two)."""
    sentences = split_sentences(rationale) or [rationale.strip()]
    first = sentences[0]
    if len(sentences) > 1 and len(first) < 120 and len(first) + 1 + len(sentences[1]) <= max_chars:
        return f"{first} {sentences[1]}"
    return first


def _organisation(source: Source) -> dict[str, Any]:
    org: dict[str, Any] = {"@type": "Organization", "name": source.publisher or source.title}
    if _is_web_url(source.url):
        org["url"] = source.url
    return org


def claim_citations(claim: Claim, dataset: Dataset) -> list[str]:
    """DOIs as https://doi.org/ URLs; PubMed URLs for studies without a DOI; document URLs otherwise."""
    out: list[str] = []
    for s in claim_studies(claim, dataset):
        url = doi_url(s.doi) if s.doi else pubmed_url(s.pmid) if s.pmid else s.url if _is_web_url(s.url) else None
        if url and url not in out:
            out.append(url)
    return out


def claim_review(claim: Claim, dataset: Dataset, base_url: str | None = None) -> dict[str, Any]:
    """schema.org ClaimReview (JSON-LD) for one claim; the rating's alternateName is the page's verdict."""
    base = resolve_base_url(base_url)
    sources = {s.id: s for s in dataset.sources}
    rule = VERDICTS[claim.verdict]
    rating: dict[str, Any] = {"@type": "Rating", "alternateName": claim.verdict}
    if rule.value is not None:
        rating["ratingValue"] = rule.value
    rating.update(bestRating=5, worstRating=1, ratingExplanation=rating_explanation(claim.rationale))
    appearances = []
    for app in claim.appearances:
        src = sources.get(app.source)
        work: dict[str, Any] = {"@type": "CreativeWork", "headline": src.title if src else app.source}
        if src is not None and _is_web_url(src.url):
            work["url"] = src.url
        if src is not None:
            work["author"] = _organisation(src)
        work["text"] = app.quote
        appearances.append(work)
    first_source = sources.get(claim.appearances[0].source)
    item: dict[str, Any] = {"@type": "Claim", "text": claim.appearances[0].quote}
    if first_source is not None:
        item["author"] = _organisation(first_source)
    item.update(appearance=appearances, firstAppearance=appearances[0])
    dates = [e.date for e in claim.changelog]
    short = claim.short if len(claim.short) < 75 else claim.short[:73].rstrip() + "…"
    review: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": claim_url(claim.id, base),
        "claimReviewed": short,
        "reviewRating": rating,
        "itemReviewed": item,
        "author": {"@type": "Organization", "name": PROJECT, "url": base},
        "datePublished": min(dates).isoformat(),
        "dateModified": max(dates).isoformat(),
        "reviewBody": claim.rationale,
        "citation": claim_citations(claim, dataset),
        "inLanguage": "en",
    }
    return review


def claim_reviews(dataset: Dataset, base_url: str | None = None) -> list[dict[str, Any]]:
    return [claim_review(c, dataset, base_url) for c in dataset.claims]


# --------------------------------------------------------------------------- key numbers and charts

_UNSET: Any = object()  # "compute the panel here" (callers that have it pass it, to compute it once)


def _panel(claim: Claim, tables: Tables):
    """The shared computed panel for the claim's first summary, or None (no summary, or no module)."""
    if not claim.summaries:
        return None
    try:
        return panel(claim.summaries[0], claim, tables)
    except Exception as exc:  # an export never fails, and never shows a number, on a summary error
        warnings.warn(f"claim {claim.id}: summary {claim.summaries[0].kind!r} failed ({type(exc).__name__}: "
                      f"{exc}); exported without its computed number", RuntimeWarning, stacklevel=2)
        return None


def _study_label(tables: Tables, study_id: str) -> str:
    st = tables.studies
    row = st[st["id"] == study_id]
    if row.empty:
        return study_id
    r = row.iloc[0]
    return f"{r['first_author']} {r['year']}"


def key_number(claim: Claim, tables: Tables, *, panel: Any = _UNSET) -> tuple[str | None, Any]:
    """The headline number computed from the data for the claim's first summary, or None.

    Returns (sentence, panel).  None when the claim has no summary, the summary module is
    absent, or no study in the data answers it (k = 0): a number is never made up.
    """
    p = _panel(claim, tables) if panel is _UNSET else panel
    if p is None or not p.k:
        return None, p
    if p.spec.kind in ("response_rate", "risk_ratio") and math.isnan(p.estimate):
        return None, p
    studies = "study" if p.k == 1 else "studies"
    if p.spec.kind in ("response_rate", "risk_ratio"):  # pooled: the estimate rests on exactly these
        basis = f"{p.k} {studies}, {p.n} participants" if p.n else f"{p.k} {studies}"
    else:  # descriptive: the headline picks from the data shown
        basis = f"from {p.k} {studies} in the data"
    return f"{p.headline.rstrip('.')} ({basis}).", p


def _quantity(claim: Claim) -> str | None:
    if claim.summaries:
        return {"response_rate": "response_rate", "risk_ratio": "relative_risk", "response_over_time": "onset",
                "durations": "duration", "adverse_events": "side_effect_rate"}[claim.summaries[0].kind]
    return claim.assertion.quantity if claim.assertion else None


def _wilson(events: Any, total: Any, rate: float) -> tuple[float, float]:
    from evidence.stats import wilson_interval

    if pd.notna(events) and pd.notna(total) and int(total) > 0:
        return wilson_interval(int(events), int(total))
    return rate, rate


def _evidence_rows(claim: Claim, frame: pd.DataFrame, *, linked_outcomes: bool = False) -> pd.DataFrame:
    ids = [e.study for e in claim.evidence]
    rows = frame[frame["study_id"].isin(ids)]
    if linked_outcomes:
        wanted = {(e.study, o) for e in claim.evidence for o in e.outcomes}
        listed = {e.study for e in claim.evidence if e.outcomes}
        keep = [(s not in listed) or ((s, o) in wanted) for s, o in zip(rows["study_id"], rows["outcome_id"],
                                                                         strict=True)]
        rows = rows[np.asarray(keep, dtype=bool)]
    return rows


def claim_chart(claim: Claim, dataset: Dataset, tables: Tables, *, panel: Any = _UNSET) -> go.Figure:
    """The claim's chart: the shared panel figure when the claim names a summary, else a chart of its
    evidence studies chosen by the assertion's quantity (an empty figure when nothing applies)."""
    p = _panel(claim, tables) if panel is _UNSET else panel
    if p is not None:
        return p.figure
    quantity = _quantity(claim)
    title = claim.short
    if quantity in ("response_rate", "onset"):
        rows = _evidence_rows(claim, tables.outcomes, linked_outcomes=True)
        rows = rows[pd.to_numeric(rows["rate"]).notna() & rows["arm"].notna()]
        kind = "response" if rows["kind"].eq("response").any() else "remission"
        rows = rows[rows["kind"].eq(kind)]
        if quantity == "onset":
            points = rows.assign(group=[charts.arm_group(d) for d in rows["arm_drug"]],
                                 schedule=rows["arm_schedule"], rate=pd.to_numeric(rows["rate"]))
            return charts.response_over_time(points, claimed_hours=claimed_value(claim, "hours"),
                                             claim_label="claimed", title=title)
        bounds = [_wilson(e, t, r) for e, t, r in zip(rows["events"], rows["total"], pd.to_numeric(rows["rate"]),
                                                     strict=True)]
        rates = pd.DataFrame({
            "label": [f"{_study_label(tables, s)} · {a} · {h:g} h" for s, a, h in
                      zip(rows["study_id"], rows["arm"], rows["timepoint_hours"], strict=True)],
            "rate": pd.to_numeric(rows["rate"]).to_numpy(), "ci_low": [b[0] for b in bounds],
            "ci_high": [b[1] for b in bounds], "group": [charts.arm_group(d) for d in rows["arm_drug"]]})
        claimed = claimed_value(claim, "percent")
        return charts.rates_against_claim(rates, claimed=claimed, title=title,
                                          claim_label=f"claimed: {claimed:g}%" if claimed is not None else "")
    if quantity in ("relative_effect", "relative_risk"):
        rows = _evidence_rows(claim, tables.outcomes, linked_outcomes=True)
        rows = rows.dropna(subset=["estimate", "ci_low", "ci_high"]).drop_duplicates(["study_id", "outcome_id"])
        if not rows.empty:
            kind = rows["effect_type"].mode().iloc[0]
            rows = rows[rows["effect_type"] == kind]
            ratio = kind in ("OR", "RR", "HR")
            effects = pd.DataFrame({
                "label": [f"{_study_label(tables, s)} · {o}" for s, o in
                          zip(rows["study_id"], rows["outcome_id"], strict=True)],
                "estimate": rows["estimate"].astype(float).to_numpy(),
                "ci_low": rows["ci_low"].astype(float).to_numpy(), "ci_high": rows["ci_high"].astype(float).to_numpy()})
            return charts.forest(effects, None, measure=f"{kind} as reported", title=title, log=ratio)
        return charts.empty(title, "No reported effect with a confidence interval in the cited studies.")
    if quantity == "duration":
        rows = _evidence_rows(claim, tables.durability)
        rows = rows[pd.to_numeric(rows["days"]).notna()]
        items = rows.assign(label=[_study_label(tables, s) for s in rows["study_id"]],
                            days=pd.to_numeric(rows["days"]))
        claimed = claimed_value(claim, "days")
        return charts.durations(items, claimed_days=claimed, title=title,
                                claim_label=f"claimed: {claimed:g} days" if claimed else "")
    if quantity == "side_effect_rate":
        rows = _evidence_rows(claim, tables.adverse_events)
        rows = rows[pd.to_numeric(rows["rate"]).notna()]
        rates = rows.assign(group=[charts.arm_group(d) for d in rows["arm_drug"]], rate=pd.to_numeric(rows["rate"]),
                            label=[f"{_study_label(tables, s)} · {a}" for s, a in
                                   zip(rows["study_id"], rows["arm"], strict=True)])
        return charts.harms(rates, title=title)
    return charts.empty(title, "This claim has no numeric assertion to chart; see the cited studies.")


def has_data(fig: go.Figure) -> bool:
    return len(fig.data) > 0


# --------------------------------------------------------------------------- paragraph

def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s" if not word.endswith("y") else f"{n} {word[:-1]}ies"


def certainty_sentence(certainty: str | None) -> str:
    if certainty is None:
        return "Certainty of the evidence: not graded."
    wording = CERTAINTY[certainty]
    if wording.startswith("the evidence"):
        phrase = f"in GRADE wording, “{wording}” the effect"
    else:
        phrase = f"in GRADE wording, ketamine “{wording}” the effect"
    return f"Certainty of the evidence: {certainty.lower()} — {phrase}. {CERTAINTY_MEANING[certainty]}"


def quote_paragraph(claim: Claim, dataset: Dataset, tables: Tables, *, base: str | None = None,
                    today: date | None = None, panel: Any = _UNSET) -> str:
    """A quote-ready paragraph: the claim and its page, the verdict, the key number computed from the
    data (with its 95% CI) or the studies it rests on, the certainty, the caveat and the data version."""
    sources = {s.id: s for s in dataset.sources}
    app = claim.appearances[0]
    src = sources.get(app.source)
    where = src.title if src else app.source
    if src is not None and src.publisher and src.publisher != src.title:
        where = f"{src.title} ({src.publisher})"
    others = len({a.source for a in claim.appearances}) - 1
    also = f", and {_plural(others, 'other page')}" if others > 0 else ""
    parts = [f"The claim “{app.quote}” appears on the page “{where}”{also}.",
             f"The {PROJECT} rates it “{claim.verdict}”: {VERDICTS[claim.verdict].rule}"]
    number, _ = key_number(claim, tables, panel=panel)
    if number:
        parts.append(f"Key number computed from the curated data: {number}")
    else:
        labels = [f"{_study_label(tables, s.id)}" for s in claim_studies(claim, dataset)]
        if labels:
            parts.append(f"The verdict rests on {_plural(len(labels), 'study')} ({'; '.join(labels)}); "
                         "the curated data give no summary number for this claim.")
        else:
            parts.append("No study in the curated data addresses the claim.")
    parts.append(certainty_sentence(claim.certainty))
    parts.append(f"What the evidence supports: “{claim.supported_wording}”")
    if claim.checkable_if:
        parts.append(f"What would make it checkable: {claim.checkable_if}")
    parts.append(f"(Source: {PROJECT}, {claim_url(claim.id, base)}, data version {dataset.version}, "
                 f"data files last changed {dataset.modified}, retrieved {(today or date.today()).isoformat()}; "
                 f"{LICENCE}.)")
    return " ".join(p if p.rstrip().endswith((".", ")", "”", "?", "!")) else p + "." for p in parts)


# --------------------------------------------------------------------------- images

def find_browser() -> str | None:
    """A Chromium-family browser for Kaleido: ``$BROWSER_PATH`` if it exists, else one on PATH."""
    explicit = os.environ.get("BROWSER_PATH")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def _numbers(values: Any) -> list[float]:
    out = []
    for v in values if values is not None else ():
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


def pin_log_axis(fig: go.Figure) -> go.Figure:
    """Give an auto-ranged log x axis an explicit range from the data, shapes and error bars.

    On a log axis plotly.js reads an annotation's x as log10(x), so a label placed at a
    data value (as ``add_vline(annotation_text=...)`` does) can stretch the autorange to
    10^x.  A range from the data keeps the plot readable whichever way the label is placed.
    """
    axis = fig.layout.xaxis
    if axis.type != "log" or axis.range is not None:
        return fig
    xs: list[float] = []
    for trace in fig.data:
        x = _numbers(getattr(trace, "x", None))
        xs += x
        err = getattr(trace, "error_x", None)
        if err is not None and err.array is not None and len(x) == len(err.array):
            plus = _numbers(err.array)
            minus = _numbers(err.arrayminus) if err.arrayminus is not None else plus
            if len(plus) == len(x) == len(minus):
                xs += [a + b for a, b in zip(x, plus, strict=True)] + [a - b for a, b in zip(x, minus, strict=True)]
    for shape in fig.layout.shapes:
        if shape.xref == "x":
            xs += _numbers([shape.x0, shape.x1])
    xs = [x for x in xs if x > 0]
    if xs:
        lo, hi = math.log10(min(xs)), math.log10(max(xs))
        pad = max(0.15 * (hi - lo), 0.3)
        fig.update_xaxes(range=[lo - pad, hi + pad])
    return fig


def _image_size(fig: go.Figure) -> tuple[int, int]:
    height = fig.layout.height or 460
    width = fig.layout.width or 900
    return int(width), int(height)


def render_images(fig: go.Figure, *, browser: str | None = None, timeout: float = IMAGE_TIMEOUT,
                  credit: str | None = None) -> tuple[dict[str, bytes], str | None]:
    """PNG and SVG of a figure through Kaleido (one browser start for both).

    Returns ({"png": ..., "svg": ...}, None), or ({}, reason) when no browser is found or the
    export fails.  MathJax is disabled so that nothing is fetched from a CDN.  The still copy
    has its legend above the plot and, given ``credit``, a source line under the title.
    """
    path = browser or find_browser()
    if not path:
        return {}, "no Chromium/Chrome browser was found (Kaleido 1.x needs one; set BROWSER_PATH)"
    try:
        import kaleido
    except ImportError:
        return {}, "the kaleido package is not installed"
    width, height = _image_size(fig)
    still = pin_log_axis(go.Figure(fig))  # a copy: for a still image the legend goes above the plot
    if still.layout.showlegend is not False:
        still.update_layout(legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
                            margin={"t": 100, "b": 40})
        height += 60
    if credit:  # a still image travels without its page: it carries its source line
        still.update_layout(title_subtitle_text=credit, title_subtitle_font={"size": 11, "color": "#555555"})
    spec = still.to_dict()

    async def _run() -> dict[str, bytes]:
        async with kaleido.Kaleido(n=1, timeout=timeout, mathjax=False, path=path) as k:
            png = await k.calc_fig(spec, opts={"format": "png", "width": width, "height": height, "scale": 2})
            svg = await k.calc_fig(spec, opts={"format": "svg", "width": width, "height": height})
        return {"png": bytes(png), "svg": bytes(svg)}

    def _in_new_loop() -> dict[str, bytes]:
        return asyncio.run(asyncio.wait_for(_run(), timeout=2 * timeout + 30))

    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            images = _in_new_loop()
        else:  # called from inside an event loop: run ours in a worker thread
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                images = pool.submit(_in_new_loop).result()
    except Exception as exc:  # any rendering failure means "skip images", never a failed bundle
        return {}, f"image export failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    if not images.get("png", b"").startswith(b"\x89PNG") or b"<svg" not in images.get("svg", b"")[:500]:
        return {}, "image export returned no image"
    return images, None


# --------------------------------------------------------------------------- bundle

def _find_claim(dataset: Dataset, claim_id: str) -> Claim:
    for c in dataset.claims:
        if c.id == claim_id:
            return c
    raise KeyError(f"unknown claim {claim_id!r}; choose from {', '.join(c.id for c in dataset.claims)}")


def claim_evidence_rows(claim: Claim, tables: Tables) -> pd.DataFrame:
    """Outcome rows (the outcomes table's columns) of the studies a claim cites."""
    ids = [e.study for e in claim.evidence]
    rows = tables.outcomes[tables.outcomes["study_id"].isin(ids)]
    order = {sid: i for i, sid in enumerate(dict.fromkeys(ids))}
    return (rows.assign(_o=rows["study_id"].map(order)).sort_values("_o", kind="stable")
            .drop(columns="_o")[OUTCOME_COLUMNS].reset_index(drop=True))


def _readme(claim: Claim, dataset: Dataset, files: list[str], image_note: str, base: str, today: date) -> str:
    described = {
        "paragraph.txt": "a quote-ready paragraph: the claim, the verdict, the key number, certainty and caveat",
        "chart.png": "the claim's chart (PNG, 2x resolution)",
        "chart.svg": "the claim's chart (SVG, for print)",
        "evidence.csv": "outcome rows of the studies the claim cites (UTF-8 CSV; columns as in the outcomes table)",
        "citations.bib": "the cited studies as BibTeX (keys = study ids)",
        "citations.ris": "the cited studies as RIS (EndNote, Zotero, Mendeley)",
        "citations.csl.json": "the cited studies as CSL-JSON (Zotero, Pandoc)",
        "claimreview.jsonld": "schema.org ClaimReview for fact-check aggregators",
        "README.txt": "this file",
    }
    s = stamp(dataset, today=today, base=base)
    lines = [
        f"{PROJECT}: journalist bundle for claim '{claim.id}'",
        "",
        f"Claim:          {claim.short}",
        f"Verdict:        {claim.verdict}" + (f" (certainty: {claim.certainty})" if claim.certainty else ""),
        f"Claim page:     {claim_url(claim.id, base)}",
        f"Data version:   {s['data_version']} (data files last changed {s['data_modified']})",
        f"Exported:       {s['exported']}",
        f"Licence:        {s['licence']}",
        f"How to cite:    {s['how_to_cite']}",
        "",
        "Files:",
        *[f"  {name:<20} {described[name]}" for name in files],
        "",
        f"Images: {image_note}",
        "",
        "Every number comes from the curated data (each figure carries its verbatim quote in the study",
        "records); the verdict rules and certainty wording are on the dashboard's Methods page.",
    ]
    return "\n".join(lines) + "\n"


def bundle(claim_id: str, dataset: Dataset, tables: Tables, *, base_url: str | None = None, images: bool = True,
           browser: str | None = None, today: date | None = None) -> bytes:
    """A zip for one claim: paragraph.txt, chart.png, chart.svg, evidence.csv, citations.bib,
    citations.ris, citations.csl.json, claimreview.jsonld and README.txt.

    The two images need a browser; without one (or with ``images=False``) they are left out
    and README.txt says so ("Images: skipped — ...").
    """
    today = today or date.today()
    base = resolve_base_url(base_url)
    claim = _find_claim(dataset, claim_id)
    studies = claim_studies(claim, dataset)
    p = _panel(claim, tables)
    paragraph = quote_paragraph(claim, dataset, tables, base=base, today=today, panel=p)
    contents: dict[str, bytes] = {"paragraph.txt": (paragraph + "\n").encode("utf-8")}
    if images:
        credit = f"Source: {PROJECT}, data version {dataset.version} ({dataset.modified}). {LICENCE}."
        rendered, reason = render_images(claim_chart(claim, dataset, tables, panel=p), browser=browser,
                                         credit=credit)
    else:
        rendered, reason = {}, "turned off for this export"
    if rendered:
        contents["chart.png"], contents["chart.svg"] = rendered["png"], rendered["svg"]
        image_note = "included (chart.png and chart.svg, rendered with Kaleido and a headless browser)."
    else:
        image_note = (f"skipped: {reason}. The interactive chart is on the claim page: "
                      f"{claim_url(claim.id, base)}")
    contents["evidence.csv"] = table_export(claim_evidence_rows(claim, tables), "csv", dataset=dataset,
                                            table_name="outcomes", filters={"claim": claim.id}, today=today)
    contents["citations.bib"] = bibtex(studies).encode("utf-8")
    contents["citations.ris"] = ris(studies).encode("utf-8")
    contents["citations.csl.json"] = _dumps(csl_json(studies))
    contents["claimreview.jsonld"] = _dumps(claim_review(claim, dataset, base))
    names = [n for n in BUNDLE_FILES if n in contents or n == "README.txt"]
    contents["README.txt"] = _readme(claim, dataset, names, image_note, base, today).encode("utf-8")
    buffer = io.BytesIO()
    stamp_time = datetime.now().timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=stamp_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # readable files when unzipped
            zf.writestr(info, contents[name])
    return buffer.getvalue()


def _dumps(doc: Any) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- static report

_CSS = """
body{font-family:"Source Sans Pro",Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#111;
line-height:1.45}
h1{font-size:1.7em}h2{border-bottom:2px solid #0072B2;padding-bottom:.2em;margin-top:2em}
section.claim{border:1px solid #ccc;border-radius:8px;padding:.6em 1.2em;margin:1.2em 0}
blockquote{border-left:4px solid #999;margin:.6em 0;padding:.2em .8em;color:#333}
table{border-collapse:collapse;width:100%;font-size:.85em}th,td{border:1px solid #ccc;padding:3px 6px;
text-align:left;vertical-align:top}th{background:#f2f2f2}.meta{color:#444;font-size:.9em}
.key{background:#f4f8fb;padding:.4em .8em;border-radius:6px}
"""


def _e(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return html.escape(str(value), quote=True)


def _link(url: str, text: str) -> str:
    return f'<a href="{_e(url)}">{_e(text)}</a>' if _is_web_url(url) else _e(text)


def _study_links(row: pd.Series) -> str:
    links = []
    if pd.notna(row.get("pmid")) and row.get("pmid"):
        links.append(_link(pubmed_url(str(row["pmid"])), "PubMed"))
    if pd.notna(row.get("doi")) and row.get("doi"):
        links.append(_link(doi_url(str(row["doi"])), "DOI"))
    if pd.notna(row.get("nct")) and row.get("nct"):
        links.append(_link(f"https://clinicaltrials.gov/study/{row['nct']}", str(row["nct"])))
    if pd.notna(row.get("url")) and row.get("url"):
        links.append(_link(str(row["url"]), "document"))
    return " · ".join(links)


def report_html(dataset: Dataset, tables: Tables, *, base_url: str | None = None, include_charts: bool = True,
                today: date | None = None) -> str:
    """One self-contained HTML file (no network needed): every claim with its verdict, certainty, key
    number and chart, then the studies table.  plotly.js is inlined once; all text is escaped."""
    today = today or date.today()
    base = resolve_base_url(base_url)
    s = stamp(dataset, today=today, base=base)
    sources = {src.id: src for src in dataset.sources}
    plotly_included = False
    out = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(PROJECT)}: report (data version {_e(dataset.version)})</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_e(TITLE)}</h1>",
        f'<p class="meta">{_e(PROJECT)} · data version <code>{_e(s["data_version"])}</code> (data files last '
        f'changed {_e(s["data_modified"])}) · exported {_e(s["exported"])} · {len(dataset.claims)} claims, '
        f"{len(dataset.studies)} studies · {_e(LICENCE)}</p>",
        f'<p class="meta">How to cite: {_e(s["how_to_cite"])}</p>',
        "<h2>Claims</h2>", "<table><thead><tr><th>Claim</th><th>Verdict</th><th>Certainty</th><th>Topic</th>"
        "</tr></thead><tbody>",
    ]
    for c in dataset.claims:
        out.append(f'<tr><td><a href="#claim-{_e(c.id)}">{_e(c.short)}</a></td><td>{_e(c.verdict)}</td>'
                   f"<td>{_e(c.certainty or 'not graded')}</td><td>{_e(c.topic)}</td></tr>")
    out.append("</tbody></table>")
    for c in dataset.claims:
        out.append(f'<section class="claim" id="claim-{_e(c.id)}"><h3>{_e(c.short)}</h3>')
        out.append(f"<p>{verdict_badge(c.verdict)} — "
                   f"{_e(VERDICTS[c.verdict].rule)}</p>")
        out.append(f"<p>{_e(certainty_sentence(c.certainty))}</p>")
        for app in c.appearances:
            src = sources.get(app.source)
            who = _e(src.title) if src else _e(app.source)
            if src is not None and src.publisher:
                who += f" ({_e(src.publisher)})"
            out.append(f"<blockquote>“{_e(app.quote)}”<br><small>— {who}</small></blockquote>")
        p = _panel(c, tables)
        number, _ = key_number(c, tables, panel=p)
        if number:
            out.append(f'<p class="key"><strong>Key number:</strong> {_e(number)}</p>')
        elif c.evidence:
            out.append('<p class="key">No summary number is computed from the data for this claim; '
                       "see the studies below.</p>")
        out.append(f"<p><strong>Why:</strong> {_e(c.rationale)}</p>")
        out.append(f"<p><strong>What the evidence supports:</strong> {_e(c.supported_wording)}</p>")
        if c.checkable_if:
            out.append(f"<p><strong>What would make it checkable:</strong> {_e(c.checkable_if)}</p>")
        if c.evidence:
            items = []
            for link in c.evidence:
                note = f" — {_e(link.note)}" if link.note else ""
                items.append(f'<li><a href="#study-{_e(link.study)}">{_e(_study_label(tables, link.study))}</a> '
                             f"({_e(link.stance)}){note}</li>")
            out.append("<p><strong>Studies:</strong></p><ul>" + "".join(items) + "</ul>")
        if include_charts:
            fig = pin_log_axis(claim_chart(c, dataset, tables, panel=p))
            if has_data(fig):
                out.append(fig.to_html(full_html=False, include_plotlyjs=not plotly_included,
                                       include_mathjax=False, config={"displaylogo": False}))
                plotly_included = True
        dates = ", ".join(f"{_e(e.date.isoformat())}: {_e(e.verdict)}" for e in c.changelog)
        out.append(f'<p class="meta">Changelog: {dates} · <a href="{_e(claim_url(c.id, base))}">claim page</a>'
                   "</p></section>")
    out.append("<h2>Studies</h2><table><thead><tr>")
    columns = ["id", "first_author", "year", "title", "journal", "kind", "design", "blinding", "drug",
               "population", "n_randomized", "rob_overall"]
    out.append("".join(f"<th>{_e(col)}</th>" for col in [*columns, "links"]) + "</tr></thead><tbody>")
    for _, row in tables.studies.iterrows():
        cells = "".join(f"<td>{_e(row[col])}</td>" for col in columns)
        out.append(f'<tr id="study-{_e(row["id"])}">{cells}<td>{_study_links(row)}</td></tr>')
    out.append("</tbody></table>")
    out.append(f'<p class="meta">{_e(PROJECT)} · {_e(LICENCE)} · {_e(s["how_to_cite"])}</p></body></html>')
    return "\n".join(out) + "\n"
