"""``export``, ``bundle`` and ``report``: the data, citations and ClaimReview for reuse.

Output goes to ``--out`` (never inside the data directory) or, for text formats, to
standard output.  Invalid data print the validator's errors and exit 1; an unknown
table, claim or format is a :class:`~evidence.cli.UserError` (exit 2) naming the
valid choices.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

from evidence.cli import UserError, command_dataset
from evidence.curation.load import REPO_ROOT, Dataset
from evidence.curation.tables import TABLE_NAMES, Tables, build_tables
from evidence.publishing import exports, stamp
from evidence.user_files import InputFileError, write_atomic

EXPORT_FORMATS = ("csv", "json", "bibtex", "ris", "csljson", "claimreview")
EXTENSIONS = {"csv": "csv", "json": "json", "bibtex": "bib", "ris": "ris", "csljson": "csl.json",
              "claimreview": "jsonld"}
STUDY_TABLES = ("studies", "arms", "outcomes", "durability", "adverse_events", "findings")
CLAIM_TABLES = ("claims", "claim_evidence")


def register(sub) -> None:
    p = sub.add_parser("export", help="export a table (csv/json), citations (bibtex/ris/csljson) or ClaimReview")
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS, help="what to export")
    p.add_argument("--table", help=f"csv/json: which table (default studies; one of {', '.join(TABLE_NAMES)})")
    p.add_argument("--claim", metavar="ID",
                   help="only this claim: its rows (csv/json), the studies it cites (citations), its ClaimReview")
    p.add_argument("--out", type=Path, metavar="FILE",
                   help="write here (a directory gets a stamped file name); default: standard output")
    p.add_argument("--base-url", help="public address for permalinks (default: $EVIDENCE_BASE_URL or localhost)")
    p.set_defaults(func=run_export)

    p = sub.add_parser("bundle", help="a zip for one claim: paragraph, chart, evidence, citations, ClaimReview")
    p.add_argument("--claim", required=True, metavar="ID")
    p.add_argument("--out", type=Path, metavar="FILE.zip", help="default: a stamped name in the current directory")
    p.add_argument("--no-images", action="store_true", help="skip chart.png/chart.svg (they need Chromium)")
    p.add_argument("--base-url", help="public address for permalinks (default: $EVIDENCE_BASE_URL or localhost)")
    p.set_defaults(func=run_bundle)

    p = sub.add_parser("report", help="one self-contained HTML report of every claim and study")
    p.add_argument("--out", type=Path, metavar="FILE.html", help="default: a stamped name in the current directory")
    p.add_argument("--no-charts", action="store_true", help="leave the interactive charts out (a much smaller file)")
    p.add_argument("--base-url", help="public address for permalinks (default: $EVIDENCE_BASE_URL or localhost)")
    p.set_defaults(func=run_report)


# --------------------------------------------------------------------------- helpers

def _load(args) -> tuple[Dataset, Tables, Path]:
    dataset = command_dataset(args)
    return dataset, build_tables(dataset), dataset.data_dir


def _claim(dataset: Dataset, claim_id: str):
    ids = [c.id for c in dataset.claims]
    if claim_id not in ids:
        shown = ", ".join(ids[:50]) + (f" and {len(ids) - 50:,} more" if len(ids) > 50 else "")
        raise UserError(f"unknown claim {claim_id[:80]!r}; choose from: {shown or '(no claims)'}")
    return dataset.claim(claim_id)


def _protected(directory: Path) -> list[Path]:
    return [directory.resolve(), (REPO_ROOT / "data").resolve()]


def _target(out: Path | None, default_name: str, directory: Path) -> Path | None:
    """Where to write: ``out`` (a directory gets ``default_name``; "-" is standard output); refuses the data
    directory.  A symbolic link is written through, to the file it names: writing the link's own path had replaced
    the link ("--out /dev/stdout" left a 21 kB file in /dev and nothing on standard output)."""
    if out is None or str(out) == "-":
        return None
    target = out / default_name if out.is_dir() else out
    try:
        resolved = target.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python 3.11)
        raise UserError(f"--out {target}: cannot follow its symbolic links ({exc})") from None
    for protected in _protected(directory):
        if resolved == protected or resolved.is_relative_to(protected):
            raise UserError(f"refusing to write inside the data directory ({protected}); choose another --out")
    if not resolved.parent.is_dir():
        raise UserError(f"the folder for --out does not exist: {resolved.parent}")
    return resolved if target.is_symlink() else target


def _write(target: Path, payload: bytes) -> None:
    try:
        write_atomic(target, payload)
    except InputFileError as exc:
        raise UserError(f"cannot write {exc}") from None


def _emit(payload: bytes, target: Path | None, what: str) -> None:
    if target is None:
        sys.stdout.buffer.write(payload)
        sys.stdout.flush()
    else:
        _write(target, payload)
        print(f"wrote {target} ({what})", file=sys.stderr)


def _cited(claim, dataset: Dataset, tables: Tables):
    from evidence.pages import claim as claim_pages

    return claim_pages.build(claim, dataset, tables).cited(dataset)


def _claim_rows(table: str, frame, dataset: Dataset, claim_id: str):
    """Rows of ``table`` that belong to one claim (its own rows, or its cited studies' rows)."""
    if table in CLAIM_TABLES:
        return frame[frame["claim_id"] == claim_id]
    cited = [e.study for e in dataset.claim(claim_id).evidence]
    key = "id" if table == "studies" else "study_id"
    return frame[frame[key].isin(cited)]


# --------------------------------------------------------------------------- commands

def run_export(args) -> int:
    dataset, tables, directory = _load(args)
    claim = _claim(dataset, args.claim) if args.claim else None
    fmt = args.format
    if fmt in ("csv", "json"):
        table = args.table or "studies"
        if table not in TABLE_NAMES:
            raise UserError(f"unknown table {table!r}; choose from: {', '.join(TABLE_NAMES)}")
        frame = tables.get(table)
        filters = {}
        if claim is not None:
            frame = _claim_rows(table, frame, dataset, claim.id)
            filters["claim"] = claim.id
        target = _target(args.out, stamp.export_filename(table, dataset, fmt), directory)
        payload = exports.table_export(frame, fmt, dataset=dataset, table_name=table, filters=filters,
                                       base=args.base_url)
        _emit(payload, target, f"{len(frame)} rows of {table}, data version {dataset.version}")
        return 0
    if args.table:
        raise UserError(f"--table applies to csv and json only, not {fmt}")
    name = claim.id if claim is not None else ("claimreviews" if fmt == "claimreview" else "studies")
    target = _target(args.out, stamp.export_filename(name, dataset, EXTENSIONS[fmt]), directory)
    if fmt == "claimreview":
        doc = (exports.claim_review(claim, dataset, args.base_url) if claim is not None
               else exports.claim_reviews(dataset, args.base_url))
        count = 1 if claim is not None else len(doc)
        payload = (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        _emit(payload, target, f"{count} ClaimReview(s), data version {dataset.version}")
        return 0
    # a claim's citations are its page's: every study a number on the page rests on (as the app and the site cite)
    studies = _cited(claim, dataset, tables) if claim is not None else dataset.studies
    if fmt == "bibtex":
        payload = exports.bibtex(studies).encode("utf-8")
    elif fmt == "ris":
        payload = exports.ris(studies).encode("utf-8")
    else:
        payload = (json.dumps(exports.csl_json(studies), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    _emit(payload, target, f"{len(studies)} studies as {fmt}, data version {dataset.version}")
    return 0


def run_bundle(args) -> int:
    from evidence.publishing import bundle

    dataset, tables, directory = _load(args)
    claim = _claim(dataset, args.claim)
    default = stamp.export_filename(f"{claim.id}_bundle", dataset, "zip")
    target = _target(args.out or Path.cwd(), default, directory)
    payload = bundle.bundle(claim.id, dataset, tables, base_url=args.base_url, images=not args.no_images)
    names = zipfile.ZipFile(io.BytesIO(payload)).namelist()
    skipped = "" if "chart.png" in names else " (images skipped: see README.txt)"
    _emit(payload, target, f"{', '.join(names)}{skipped}")
    return 0


def run_report(args) -> int:
    from evidence.publishing import bundle

    dataset, tables, directory = _load(args)
    default = stamp.export_filename("report", dataset, "html")
    target = _target(args.out or Path.cwd(), default, directory)
    text = bundle.report_html(dataset, tables, base_url=args.base_url, include_charts=not args.no_charts)
    _emit(text.encode("utf-8"), target, f"{len(dataset.claims)} claims, {len(dataset.studies)} studies, "
                                        f"{len(text.encode('utf-8')) / 1e6:.1f} MB")
    return 0
