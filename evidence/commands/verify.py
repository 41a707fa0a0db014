"""``verify`` and ``scaffold``: checking citations against PubMed, Crossref and ClinicalTrials.gov.

``verify`` compares every study's citation with the services' records and exits
1 on any mismatch; an unreachable service is reported on one line and the
command exits 3 (0 with ``--offline-ok``), never with a traceback.

``scaffold`` prints a YAML draft of a new study with its citation filled in from
PubMed (``--pmid``) or Crossref (``--doi``) and every other required field marked
``TODO``.  It writes to stdout, or to ``--out FILE`` outside the data directory:
curated data only enter ``data/`` by a curator's hand.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

from evidence.cli import UserError, command_dataset
from evidence.curation.load import REPO_ROOT, data_dir, validate
from evidence.curation.schema import Study
from evidence.sources.sources_api import (
    ApiError,
    BadResponse,
    Clients,
    CrossrefRecord,
    NotFound,
    PubRecord,
    ServiceUnavailable,
    TrialRecord,
)
from evidence.sources.verification import Check, normalise_doi, plain_text, surname, verify_study

EXIT_MISMATCH = 1
EXIT_UNREACHABLE = 3


def make_clients() -> Clients:
    """The three service clients, configured from the environment (tests replace this)."""
    return Clients.create()


def _clients() -> Clients:
    try:
        return make_clients()
    except ValueError as exc:  # a misconfigured environment, e.g. $EVIDENCE_HTTP_CACHE
        raise UserError(str(exc)) from exc


def register(sub) -> None:
    p = sub.add_parser("verify", help="check citations against PubMed, Crossref and ClinicalTrials.gov")
    p.add_argument("--only", nargs="+", action="extend", metavar="ID", help="check only these study ids")
    p.add_argument("--offline-ok", action="store_true",
                   help="exit 0 (not 3) when a service is unreachable or answers nonsense")
    p.set_defaults(func=run_verify)

    p = sub.add_parser("scaffold", help="print a YAML draft of a new study from its PMID or DOI")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--pmid", help="PubMed id, e.g. 16894061")
    which.add_argument("--doi", help="DOI, e.g. 10.1001/archpsyc.63.8.856")
    p.add_argument("--out", type=Path, metavar="FILE", help="write here (never inside the data directory)")
    p.set_defaults(func=run_scaffold)


# --------------------------------------------------------------------------- verify

def run_verify(args) -> int:
    dataset = command_dataset(args)
    studies = dataset.studies
    if args.only:
        known = {s.id for s in studies}
        unknown = [i for i in args.only if i not in known]
        if unknown:
            raise UserError(f"unknown study id(s): {', '.join(unknown)}")
        wanted = set(args.only)
        studies = [s for s in studies if s.id in wanted]

    clients = _clients()
    try:
        outcome = _fetch_all(studies, clients)
    finally:
        clients.close()

    checks: list[Check] = []
    for study in studies:
        checks += verify_study(
            study,
            pubmed=outcome.pubmed.get(study.pmid or ""),
            crossref=outcome.crossref.get(normalise_doi(study.doi)),
            trial=outcome.trials.get(study.nct or ""),
            checked=frozenset(outcome.answered[study.id]),
        )
    print_table(checks)

    unchecked = [s.id for s in studies if not (s.pmid or s.doi or s.nct)]
    mismatched = sorted({c.study_id for c in checks if not c.ok})
    notes = sum(1 for c in checks if c.ok and c.note)
    print(f"\n{len(studies)} studies: {sum(c.ok for c in checks)} checks passed ({notes} with a note), "
          f"{len(checks) - sum(c.ok for c in checks)} failed in {len(mismatched)} studies"
          + (f"; {len(unchecked)} without PMID/DOI/NCT not checked" if unchecked else ""))
    if mismatched:
        print("mismatches in: " + ", ".join(mismatched))
    for line in outcome.problems():
        print(line, file=sys.stderr)
    if mismatched:
        return EXIT_MISMATCH
    if outcome.failures:
        return 0 if args.offline_ok else EXIT_UNREACHABLE
    return 0


class _Outcome:
    def __init__(self) -> None:
        self.pubmed: dict[str, PubRecord] = {}
        self.crossref: dict[str, CrossrefRecord | None] = {}
        self.trials: dict[str, TrialRecord | None] = {}
        self.answered: dict[str, set[str]] = defaultdict(set)
        self.failures: dict[str, ApiError] = {}  # one per service; an outage wins over a bad answer
        self.skipped: dict[str, set[str]] = defaultdict(set)  # service -> study ids not checked

    def fail(self, service: str, exc: ApiError, study_ids: list[str]) -> None:
        if service not in self.failures or isinstance(exc, ServiceUnavailable):
            self.failures[service] = exc
        self.skipped[service].update(study_ids)

    def problems(self) -> list[str]:
        lines = []
        for service, exc in self.failures.items():
            n = len(self.skipped[service])
            lines.append(f"{service}: {exc.kind} ({exc.reason}); skipped {n} stud{'y' if n == 1 else 'ies'}")
        return lines


def _fetch_all(studies: list[Study], clients: Clients) -> _Outcome:
    out = _Outcome()
    with_pmid = [s for s in studies if s.pmid]
    if with_pmid:
        try:
            out.pubmed = clients.pubmed.summaries([s.pmid for s in with_pmid if s.pmid])
        except ApiError as exc:
            out.fail("pubmed", exc, [s.id for s in with_pmid])
        else:
            for s in with_pmid:
                out.answered[s.id].add("pubmed")
    _fetch_each(out, "crossref", [(s, normalise_doi(s.doi)) for s in studies if s.doi], clients.crossref.work,
                out.crossref)
    _fetch_each(out, "clinicaltrials", [(s, s.nct) for s in studies if s.nct], clients.trials.study, out.trials)
    return out


def _fetch_each(out: _Outcome, service: str, items: list[tuple[Study, Any]], fetch: Callable[[str], Any],
                store: dict[str, Any]) -> None:
    """One request per distinct key; after the service is unreachable, stop asking it."""
    for study, key in items:
        if isinstance(out.failures.get(service), ServiceUnavailable):
            out.skipped[service].add(study.id)
            continue
        if key not in store:
            try:
                store[key] = fetch(key)
            except NotFound:
                store[key] = None
            except ApiError as exc:
                out.fail(service, exc, [study.id])
                continue
        out.answered[study.id].add(service)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def print_table(checks: list[Check], width: int = 44) -> None:
    if not checks:
        print("nothing to check")
        return
    rows = [("STATUS", "STUDY", "SERVICE", "FIELD", "OURS", "THEIRS", "NOTE")]
    rows += [(c.status, c.study_id, c.service, c.field, _clip(c.ours, width), _clip(c.theirs, width), c.note)
             for c in checks]
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    for row in rows:
        line = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:6])) + "  " + row[6]
        print(line.rstrip())
    clipped = [c for c in checks if not c.ok and (_clip(c.ours, width) != c.ours or _clip(c.theirs, width) != c.theirs)]
    if clipped:
        print("\nin full:")
    for c in clipped:
        print(f"  {c.study_id} {c.service} {c.field}\n    ours:   {c.ours}\n    theirs: {c.theirs}")


# --------------------------------------------------------------------------- scaffold

_TODO = "TODO"


def _allowed(field: str) -> str:
    values = get_args(Study.model_fields[field].annotation)
    return "one of: " + ", ".join(values)


def _slug(text: str, limit: int) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower())[:limit]


def suggest_id(authors: list[str], year: int | None, journal_abbrev: str | None) -> str:
    """``firstauthorYEAR_journalabbrev``, e.g. ``zarate2006_archgenpsychiatry``."""
    first = _slug(surname(authors[0]) if authors else "", 30) or "study"
    suggestion = f"{first}{year or ''}"
    journal = _slug(journal_abbrev or "", 30)
    if journal:
        suggestion += f"_{journal}"
    return suggestion if re.fullmatch(r"[a-z0-9][a-z0-9_\-]*", suggestion) else _TODO


def _citation_title(title: str) -> str:
    """PubMed ends every title with a period; a citation title does not need it ("?" and "!" stay)."""
    title = " ".join(title.split())
    return title[:-1] if title.endswith(".") and not title.endswith("..") else title


def _q(value: Any) -> str:
    """A YAML-safe scalar or flow list (JSON is valid YAML flow syntax)."""
    return json.dumps(value, ensure_ascii=False)


def render_scaffold(*, origin: str, authors: list[str], year: int | None, title: str, journal: str,
                    journal_abbrev: str | None, pmid: str | None, doi: str | None,
                    warnings: list[str] | None = None) -> str:
    study_id = suggest_id(authors, year, journal_abbrev)
    lines = [
        f"# Draft study from {origin}, written by `python -m evidence scaffold`.",
        "# The citation comes from the record: compare it with the paper.  Replace every TODO,",
        "# check the draft with `python -m evidence fragment THIS_FILE`, then paste the entry",
        "# (from '- id:') under `studies:` in data/studies.yaml and run `python -m evidence verify --only ID`.",
        *(f"# WARNING: {w}" for w in warnings or []),
        "studies:",
        f"- id: {study_id}  # suggested: first author + year + journal abbreviation; keep it unique",
        f"  kind: {_TODO}  # {_allowed('kind')}",
        "  citation:",
        f"    authors: {_q(authors) if authors else _TODO}  # \"Surname Initials\", first author first",
        f"    year: {year if year else _TODO}",
        f"    title: {_q(_citation_title(title)) if title else _TODO}",
        f"    journal: {_q(journal) if journal else _TODO}",
        f"  pmid: {_q(pmid)}" if pmid else "  # pmid: \"TODO\"  # if in PubMed (verify checks the pairing)",
        f"  doi: {_q(doi)}" if doi else "  # doi: \"TODO\"  # if the paper has one",
        "  # nct: \"NCT00000000\"  # TODO if the trial is registered at ClinicalTrials.gov",
        f"  design: {_TODO}  # {_allowed('design')}",
        f"  blinding: {_TODO}  # {_allowed('blinding')}",
        f"  drug: {_TODO}  # {_allowed('drug')}",
        f"  route: {_TODO}  # {_allowed('route')}",
        f"  population: {_TODO}  # {_allowed('population')}",
        "  # Optional blocks: uncomment what the paper reports; every figure needs its location and quote.",
        "  # comparators: [TODO]",
        "  # sample:",
        "  #   n_randomized: TODO",
        "  #   source: {location: TODO, quote: TODO}",
        "  # arms:",
        "  #   - {id: TODO, label: TODO, role: TODO, drug: TODO, n_randomized: TODO,",
        "  #      source: {location: TODO, quote: TODO}}",
        "  # outcomes:",
        "  #   - id: TODO",
        "  #     measure: TODO",
        "  #     kind: TODO",
        "  #     timepoint: {value: TODO, unit: TODO, since: TODO}",
        "  #     results: [{arm: TODO, events: TODO, total: TODO}]",
        "  #     source: {location: TODO, quote: TODO}",
        "  # funding: TODO",
        "  # notes: TODO",
    ]
    return "\n".join(lines) + "\n"


def _forbidden_dirs(args) -> list[Path]:
    dirs = {data_dir(args.data).resolve(), (REPO_ROOT / "data").resolve()}
    return sorted(dirs)


def _check_out(args) -> Path | None:
    out: Path | None = args.out
    if out is None:
        return None
    target = out.expanduser().resolve()
    for forbidden in _forbidden_dirs(args):
        if target == forbidden or target.is_relative_to(forbidden):
            raise UserError(f"refusing to write {out} inside the data directory {forbidden}: "
                            "write the draft elsewhere, check it with `fragment`, then paste it in by hand")
    if target.exists():
        raise UserError(f"{out} already exists; choose another file name")
    if not target.parent.is_dir():
        raise UserError(f"directory not found: {target.parent}")
    return target


def _normalise_pmid(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"[0-9]{1,9}", value, flags=re.ASCII):  # not "١٢" (\d is any script's digit)
        raise UserError(f"not a PMID: {value[:40]!r} (digits 0-9 only)" if value else "the PMID is empty")
    return value


def _normalise_doi_arg(value: str) -> str:
    doi = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", value.strip(), flags=re.IGNORECASE)
    if not re.fullmatch(r"10\.[0-9]{4,9}/\S+", doi):
        raise UserError(f"not a DOI: {value[:60]!r} (expected 10.NNNN/...)" if doi else "the DOI is empty")
    return doi


def _already_in_data(args, pmid: str | None, doi: str | None, study_id: str) -> list[str]:
    try:
        dataset, _ = validate(args.data)
    except OSError:
        return []
    if dataset is None:
        return []
    warnings = []
    for s in dataset.studies:
        if pmid and s.pmid == pmid:
            warnings.append(f"PMID {pmid} is already in the data as study {s.id}")
        elif doi and s.doi and normalise_doi(s.doi) == normalise_doi(doi):
            warnings.append(f"DOI {doi} is already in the data as study {s.id}")
        if s.id == study_id:
            warnings.append(f"the suggested id {study_id} is taken: choose another")
    return warnings


def run_scaffold(args) -> int:
    target = _check_out(args)
    pmid = _normalise_pmid(args.pmid) if args.pmid is not None else None
    doi = _normalise_doi_arg(args.doi) if args.doi is not None else None
    clients = _clients()
    try:
        if pmid:
            rec = clients.pubmed.summary(pmid)
            fields = {"origin": f"PubMed PMID {pmid}", "authors": rec.authors, "year": rec.year, "title": rec.title,
                      "journal": rec.journal, "journal_abbrev": rec.journal, "pmid": pmid, "doi": rec.doi}
        else:
            assert doi is not None
            work = clients.crossref.work(doi)
            if normalise_doi(work.doi) != normalise_doi(doi):  # else the draft would carry the other paper's DOI
                raise BadResponse("crossref", f"Crossref answered with another DOI: {work.doi[:80]}")
            title = plain_text(work.title) + (f": {plain_text(work.subtitle)}" if work.subtitle else "")
            fields = {"origin": f"Crossref DOI {work.doi}", "authors": work.authors, "year": work.year,
                      "title": title, "journal": work.journal or "",
                      "journal_abbrev": work.journal_short or work.journal, "pmid": None, "doi": work.doi}
    except NotFound as exc:
        raise UserError(f"{exc.service} has no record for {pmid or doi}") from exc
    except ApiError as exc:
        print(f"{exc.service}: {exc.kind} ({exc.reason})", file=sys.stderr)
        return EXIT_UNREACHABLE
    finally:
        clients.close()

    warnings = _already_in_data(args, fields["pmid"], fields["doi"],
                                suggest_id(fields["authors"], fields["year"], fields["journal_abbrev"]))
    if pmid and fields["doi"] is None:
        warnings.append("PubMed lists no DOI for this PMID")
    text = render_scaffold(**fields, warnings=warnings)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if target is None:
        sys.stdout.write(text)
    else:
        target.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}; fill the TODOs, then: python -m evidence fragment {args.out}", file=sys.stderr)
    return 0
