"""Compare a curated :class:`~evidence.curation.schema.Study` with what PubMed, Crossref and
ClinicalTrials.gov say about it.

The comparisons are deliberately simple and explainable:

* **title**: equal after normalisation (Unicode NFKC, HTML/JATS tags removed,
  case-folded, punctuation dropped, whitespace collapsed), so "Ketamine for
  depression." matches "ketamine for depression".  Crossref's ``subtitle``, when
  deposited separately, may be appended (with or without it passes).
* **year**: the same integer.  PubMed: the print ``pubdate`` or the ``epubdate``;
  Crossref: ``issued`` or any of ``published-print``/``published-online``.
* **journal**: equal after reducing both to case-folded letters and digits.  We do
  *not* expand abbreviations: our journal passes when it equals (after that
  normalisation) either the NLM abbreviation PubMed gives (``source``, e.g. "Am J
  Psychiatry") or PubMed's full name (``fulljournalname``); for Crossref, either
  ``container-title`` or ``short-container-title``.  Anything else is reported.
* **first author**: the surname of our first author (``"van de Beek D"`` ->
  ``van de Beek``; a trailing "Jr"/"II" is dropped) equals theirs, compared with
  accents removed, case-folded, letters only.
* **DOI <-> PMID pairing**: the DOI PubMed lists for our PMID equals our DOI
  (DOIs compare case-insensitively); Crossref's DOI equals ours.

A retraction is a failed check; an erratum is reported as a passing check with a
note (the figures may have been corrected: look before trusting them).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

from evidence.curation.schema import Study
from evidence.sources.sources_api import CrossrefRecord, PubRecord, TrialRecord


@dataclass(frozen=True)
class Check:
    study_id: str
    field: str
    ours: str
    theirs: str
    ok: bool
    service: str
    note: str = ""

    @property
    def status(self) -> str:
        if not self.ok:
            return "MISMATCH"
        return "note" if self.note else "ok"


# --------------------------------------------------------------------------- normalisation

_TAG = re.compile(r"<[^>]+>")
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "2nd", "3rd"}


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def plain_text(text: str | None) -> str:
    """Markup removed (Crossref titles may carry JATS/HTML such as ``<i>…</i>``), whitespace collapsed."""
    return " ".join(html.unescape(_TAG.sub(" ", text or "")).split())


def normalise_title(text: str | None) -> str:
    """NFKC, tags and entities removed, case-folded, punctuation dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", html.unescape(_TAG.sub(" ", text or "")))
    kept = [c if (c.isalnum() or c.isspace()) else " " for c in text.casefold()]
    return " ".join("".join(kept).split())


def normalise_journal(text: str | None) -> str:
    """Case-folded letters and digits only ("Am. J. Psychiatry" -> "amjpsychiatry")."""
    text = unicodedata.normalize("NFKC", html.unescape(_TAG.sub(" ", text or ""))).casefold()
    text = text.replace("&", "and")
    text = re.sub(r"^the\s+", "", text.strip())
    return "".join(c for c in text if c.isalnum())


def normalise_doi(doi: str | None) -> str:
    doi = (doi or "").strip()
    doi = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", doi, flags=re.IGNORECASE)
    return doi.casefold()


def surname(author: str | None) -> str:
    """``"Zarate CA Jr"`` -> ``"Zarate"``; ``"van de Beek D"`` -> ``"van de Beek"``."""
    tokens = (author or "").replace(",", " ").split()
    while len(tokens) > 1 and tokens[-1].rstrip(".").casefold() in _SUFFIXES:
        tokens.pop()
    if len(tokens) > 1 and re.fullmatch(r"[A-Z]{1,4}", tokens[-1].replace(".", "").replace("-", "")):
        tokens.pop()
    return " ".join(tokens)


def _surname_key(author: str | None) -> str:
    return "".join(c for c in _strip_accents(surname(author)).casefold() if c.isalnum())


# --------------------------------------------------------------------------- checks

def _title(study: Study, theirs: str, service: str, subtitle: str | None = None) -> Check:
    ours = study.citation.title
    accepted = {normalise_title(theirs)}
    if subtitle:  # Crossref: "Title" + subtitle "A randomized trial" == our "Title: a randomized trial"
        theirs = f"{theirs}: {subtitle}"
        accepted.add(normalise_title(theirs))
    return Check(study.id, "title", ours, theirs, normalise_title(ours) in accepted, service)


def _year(study: Study, theirs: int | None, also: tuple[int | None, ...], service: str) -> Check:
    ours = study.citation.year
    accepted = {y for y in (theirs, *also) if y is not None}
    ok = ours in accepted
    note = f"matches another date ({ours})" if ok and theirs is not None and ours != theirs else ""
    return Check(study.id, "year", str(ours), "" if theirs is None else str(theirs), ok, service, note)


def _journal(study: Study, names: list[str | None], service: str) -> Check:
    ours = study.citation.journal
    given = [n for n in names if n]
    ok = normalise_journal(ours) in {normalise_journal(n) for n in given}
    return Check(study.id, "journal", ours, " | ".join(dict.fromkeys(given)), ok, service)


def _first_author(study: Study, authors: list[str], service: str) -> Check:
    ours = study.citation.authors[0]
    theirs = authors[0] if authors else ""
    ok = bool(theirs) and _surname_key(ours) == _surname_key(theirs)
    return Check(study.id, "first author", surname(ours), surname(theirs), ok, service)


def _doi_pair(study: Study, theirs: str | None, service: str, what: str) -> Check | None:
    ours = study.doi
    if ours is None and theirs is None:
        return None
    if ours is None:
        return Check(study.id, what, "", theirs or "", True, service, "we record no DOI; consider adding it")
    if theirs is None:
        return Check(study.id, what, ours, "", True, service, f"{service} lists no DOI: pairing not confirmed")
    return Check(study.id, what, ours, theirs, normalise_doi(ours) == normalise_doi(theirs), service)


def check_pubmed(study: Study, record: PubRecord | None) -> list[Check]:
    """Checks of ``study`` against its PubMed record (``None``: the PMID is unknown to PubMed)."""
    service = "pubmed"
    if study.pmid is None:
        return []
    if record is None:
        return [Check(study.id, "pmid", study.pmid, "not found", False, service)]
    checks = [
        _title(study, record.title, service),
        _year(study, record.year, (record.epub_year,), service),
        _journal(study, [record.journal, record.journal_full], service),
        _first_author(study, record.authors, service),
    ]
    pair = _doi_pair(study, record.doi, service, "doi<->pmid")
    if pair is not None:
        checks.append(pair)
    checks.extend(_flags(study, service, record.retracted, record.retraction_notice, record.erratum))
    return checks


def check_crossref(study: Study, record: CrossrefRecord | None) -> list[Check]:
    """Checks of ``study`` against its Crossref work (``None``: the DOI is unknown to Crossref)."""
    service = "crossref"
    if study.doi is None:
        return []
    if record is None:
        return [Check(study.id, "doi", study.doi, "not found", False, service)]
    checks = [
        _title(study, record.title, service, record.subtitle),
        _year(study, record.year, record.other_years, service),
        _journal(study, [record.journal, record.journal_short], service),
        _first_author(study, record.authors, service),
    ]
    pair = _doi_pair(study, record.doi, service, "doi")
    if pair is not None:
        checks.append(pair)
    checks.extend(_flags(study, service, record.retracted, record.retraction_notice, record.erratum))
    return checks


def check_trial(study: Study, record: TrialRecord | None) -> list[Check]:
    """The registration exists; status and enrollment are shown for information only."""
    service = "clinicaltrials"
    if study.nct is None:
        return []
    if record is None:
        return [Check(study.id, "nct", study.nct, "not found", False, service)]
    checks = [Check(study.id, "nct", study.nct, record.nct, record.nct.upper() == study.nct.upper(), service)]
    ours_n = study.sample.n_randomized if study.sample else None
    if record.enrollment is not None:
        theirs = f"{record.enrollment} ({(record.enrollment_type or '?').lower()}), {record.status or '?'}"
        note = ""
        if ours_n is not None and ours_n != record.enrollment:
            note = "registry enrollment differs from n_randomized (informational)"
        checks.append(Check(study.id, "enrollment", "" if ours_n is None else str(ours_n), theirs, True, service,
                            note))
    return checks


def _flags(study: Study, service: str, retracted: bool, notice: bool, erratum: bool) -> list[Check]:
    out = []
    if retracted:
        out.append(Check(study.id, "retraction", "", "RETRACTED", False, service, "the paper has been retracted"))
    if notice:
        out.append(Check(study.id, "retraction", "", "retraction notice", False, service,
                         "this identifier is a retraction notice, not the paper"))
    if erratum:
        out.append(Check(study.id, "erratum", "", "erratum/correction published", True, service,
                         "check the figures against the correction"))
    return out


def verify_study(study: Study, *, pubmed: PubRecord | None = None, crossref: CrossrefRecord | None = None,
                 trial: TrialRecord | None = None, checked: frozenset[str] = frozenset()) -> list[Check]:
    """All checks for one study; ``checked`` names the services that answered (a record of ``None``
    from a service that answered means "not found"; a service that did not answer is skipped)."""
    checks: list[Check] = []
    if "pubmed" in checked:
        checks += check_pubmed(study, pubmed)
    if "crossref" in checked:
        checks += check_crossref(study, crossref)
    if "clinicaltrials" in checked:
        checks += check_trial(study, trial)
    return checks
