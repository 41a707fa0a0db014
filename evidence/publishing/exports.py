"""Exports for reuse: stamped tables (CSV/JSON), citations (BibTeX, RIS, CSL-JSON) and ClaimReview JSON-LD.

Light on purpose (no plotting or statistics imports), so every page can offer its data.  The journalist
bundle, the quote-ready paragraph, chart images and the static report live in :mod:`evidence.publishing.bundle`.
Every export carries the data version, the export date, the licence and how to cite.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import quote as _urlquote

import numpy as np
import pandas as pd

from evidence.curation.load import Dataset
from evidence.curation.schema import Claim, Source, Study, web_url_problem
from evidence.curation.tables import OUTCOME_COLUMNS, Tables
from evidence.curation.verdicts import VERDICTS
from evidence.publishing.stamp import (  # re-exported: part of the exports API
    PROJECT,
    claim_url,
    resolve_base_url,
    stamp,
)

FORMATS = ("csv", "json")
REGULATORY_KINDS = ("regulatory", "label")


# --------------------------------------------------------------------------- tables

# Excel, LibreOffice and Google Sheets start a formula (or DDE call) at these, full-width forms included;
# a leading tab, CR or LF hides one from view.
_FORMULA_START = ("=", "+", "@", "\t", "\r", "\n", "|", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# A "-" cell is kept only when all of it is a number: "-2+3+cmd|..." or "-1-HYPERLINK(...)" start like one.
_NUMBER = re.compile(r"-\s*(?:\d[\d.,]*|\.\d[\d,]*)(?:e[+-]?\d+)?%?", re.IGNORECASE)


def csv_safe(value: Any) -> Any:
    """Spreadsheets run cells that start like a formula; prefix such text cells with an apostrophe."""
    if isinstance(value, str) and value and (
            value.startswith(_FORMULA_START) or (value.startswith("-") and not _NUMBER.fullmatch(value))):
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
                 filters: dict[str, Any] | None = None, today: date | None = None, base: str | None = None) -> bytes:
    """A table as CSV or JSON bytes.

    CSV: UTF-8 with a byte-order mark (so Excel shows ≥ and µ correctly), one header row with
    the table's contract columns, RFC 4180 quoting, empty cells for missing values, and text
    cells that would run as a spreadsheet formula prefixed with ``'``.  The stamp is in the
    file name (:func:`export_filename`), not in the file, so the CSV parses cleanly.
    JSON: ``{"data_version", "data_modified", "exported", "table", "filters", "licence",
    "source", "url", "how_to_cite", "rows": [...]}``.
    """
    if fmt == "csv":
        text = df.map(csv_safe).to_csv(index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        return text.encode("utf-8-sig")
    if fmt == "json":
        s = stamp(dataset, today=today, base=base)
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


def is_web_url(url: str | None) -> bool:
    """The only kind of URL an export or a page links: the schema's rule, re-checked for records built without
    validation (``model_construct``, ``model_copy``)."""
    return bool(url) and web_url_problem(url) is None


# --------------------------------------------------------------------------- BibTeX

_BIB_SPECIAL = re.compile(r"[\\{}&%$#_~^]")
# Braces become commands, not \{ \}: BibTeX counts an escaped brace too, so one "}" in a title would close the
# field early; the commands carry only balanced "{}".
_BIB_MAP = {"\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}", "&": r"\&",
            "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def bib_escape(text: str) -> str:
    """Escape LaTeX specials in one pass (UTF-8 text is kept: biber and bibtex8 read it)."""
    return _BIB_SPECIAL.sub(lambda m: _BIB_MAP[m.group()], " ".join(str(text).split()))


def _bib_verbatim(text: str) -> str:
    """DOI and URL fields are read verbatim by biblatex/url.sty: keep them raw, but on one line (a blank line
    ends a BibTeX field) and never unbalance braces."""
    return "%20".join(str(text).split()).replace("{", "%7B").replace("}", "%7D")


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
        if is_web_url(s.url):
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
        url = s.url if is_web_url(s.url) else doi_url(s.doi) if s.doi else pubmed_url(s.pmid) if s.pmid else None
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
        authors, truncated = _authors(s)
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
        if is_web_url(s.url):
            item["URL"] = s.url
        # CSL has no "et al." marker: say so in the note, as RIS does in N1 (citeproc had printed Dean 2021 as if
        # Dean were its only author)
        notes = ([f"ClinicalTrials.gov {s.nct}"] if s.nct else []) + (["Author list truncated (et al.)"]
                                                                      if truncated else [])
        if notes:
            item["note"] = "; ".join(notes)
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
    if is_web_url(source.url):
        org["url"] = source.url
    return org


def claim_citations(claim: Claim, dataset: Dataset) -> list[str]:
    """DOIs as https://doi.org/ URLs; PubMed URLs for studies without a DOI; document URLs otherwise."""
    out: list[str] = []
    for s in claim_studies(claim, dataset):
        url = doi_url(s.doi) if s.doi else pubmed_url(s.pmid) if s.pmid else s.url if is_web_url(s.url) else None
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
        if src is not None and is_web_url(src.url):
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


def claim_evidence_rows(claim: Claim, tables: Tables) -> pd.DataFrame:
    """Outcome rows (the outcomes table's columns) of the studies a claim cites."""
    ids = [e.study for e in claim.evidence]
    rows = tables.outcomes[tables.outcomes["study_id"].isin(ids)]
    order = {sid: i for i, sid in enumerate(dict.fromkeys(ids))}
    return (rows.assign(_o=rows["study_id"].map(order)).sort_values("_o", kind="stable")
            .drop(columns="_o")[OUTCOME_COLUMNS].reset_index(drop=True))
