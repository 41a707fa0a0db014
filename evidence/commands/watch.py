"""``watch``: search PubMed and ClinicalTrials.gov for studies published since the last search.

Prints a triage list (``--format md|csv|json``) to stdout or ``--out FILE``, a summary line per
service to stderr, and, only with ``--record [FILE]``, writes the last-search record (default
``last_search.json`` in the data directory) that the Methods page and the export stamps show.
A service that cannot be reached is reported on one line and the command exits 3 without
recording, as ``verify`` does; the other service's hits are still listed.
"""

from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path

from evidence.cli import UserError, command_dataset
from evidence.curation import last_search
from evidence.curation.load import data_dir
from evidence.sources import watch
from evidence.sources.sources_api import ClinicalTrialsClient, HttpConfig, PubMedClient

EXIT_UNREACHABLE = 3
FORMATS = ("md", "csv", "json")
_DEFAULT_RECORD = "<data>/last_search.json"


def make_clients() -> tuple[PubMedClient, ClinicalTrialsClient]:
    """One client (one session) per service, configured from the environment (tests replace this)."""
    config = HttpConfig.from_env()
    return PubMedClient(config), ClinicalTrialsClient(config)


def today() -> date:
    return date.today()


def register(sub) -> None:
    p = sub.add_parser("watch", help="search PubMed and ClinicalTrials.gov for new studies and triage them")
    p.add_argument("--since", metavar="YYYY-MM-DD",
                   help="search from this date (default: the last recorded search, else all years)")
    p.add_argument("--format", choices=FORMATS, default="md", help="triage list format (default md)")
    p.add_argument("--out", type=Path, metavar="FILE", help="write the triage list here (default: standard output)")
    p.add_argument("--record", nargs="?", const=_DEFAULT_RECORD, metavar="FILE",
                   help="after a complete search, write the last-search record "
                        f"(default {last_search.FILENAME} in the data directory)")
    p.set_defaults(func=run_watch)


def _since(args, recorded: last_search.LastSearch | None, now: date, record_file: Path) -> date | None:
    if args.since is None:
        if recorded and recorded.searched > now:  # else we would search an empty window and report nothing new
            raise UserError(f"{record_file}: the last search date {recorded.searched.isoformat()} is in the future; "
                            "fix it or give --since")
        return recorded.searched if recorded else None
    text = args.since.strip()
    try:  # fromisoformat alone also takes 20250101 and 2025W011; the help promises YYYY-MM-DD
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise ValueError(text)
        since = date.fromisoformat(text)
    except ValueError as exc:
        raise UserError(f"--since: not a date: {args.since!r} (expected YYYY-MM-DD)") from exc
    if since > now:
        raise UserError(f"--since {since.isoformat()} is in the future")
    return since


def _out_target(out: Path | None, data: Path) -> Path | None:
    """Anywhere the user names; inside the data directory only as a new file (curated files are never replaced)."""
    if out is None:
        return None
    target = out.expanduser().resolve()
    if target.is_dir():
        raise UserError(f"--out {out} is a directory; name a file")
    if not target.parent.is_dir():
        raise UserError(f"directory not found: {target.parent}")
    if target.exists() and target.is_relative_to(data.resolve()):
        raise UserError(f"refusing to overwrite {out} in the data directory; name a new file")
    return target


def _record_target(record: str | None, data: Path) -> Path | None:
    """A ``.json`` file that is new or already a valid last-search record: it can never replace curated data."""
    if record is None:
        return None
    target = (last_search.path_in(data) if record == _DEFAULT_RECORD else Path(record).expanduser()).resolve()
    if target.suffix != ".json":
        raise UserError(f"--record {record}: the last-search record is a .json file")
    if not target.parent.is_dir():
        raise UserError(f"directory not found: {target.parent}")
    if target.exists():
        try:
            last_search.load(target)
        except last_search.LastSearchInvalid as exc:
            raise UserError(f"--record: refusing to overwrite a file that is not a last-search record: {exc}") from exc
    return target


def run_watch(args) -> int:
    dataset = command_dataset(args)
    data = data_dir(args.data)
    recorded, error = last_search.read(data)
    if error and args.since is None:
        raise UserError(f"{error}; fix it or give --since")
    now = today()
    since = _since(args, recorded if recorded and recorded.searched else None, now, last_search.path_in(data))
    out = _out_target(args.out, data)
    record_to = _record_target(args.record, data)
    try:
        pubmed, trials = make_clients()
    except ValueError as exc:  # a misconfigured environment, e.g. $EVIDENCE_HTTP_CACHE
        raise UserError(str(exc)) from exc
    print(f"searching from {since.isoformat() if since else 'all years'} to {now.isoformat()} …", file=sys.stderr)
    try:
        result = watch.run(pubmed, trials, dataset.studies, since=since, today=now)
    finally:
        pubmed.close()
        trials.close()

    text = watch.render(result, args.format)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8-sig" if args.format == "csv" else "utf-8")
    for s in result.searches:
        print(f"{s.service}: {s.hits} hits", file=sys.stderr)
    new = sum(not c.in_data for c in result.candidates)
    print(f"{len(result.candidates)} candidates, {new} not in the data"
          + (f"; wrote {args.out}" if out else ""), file=sys.stderr)
    for service, exc in result.failures.items():
        print(f"{service}: {exc.kind} ({exc.reason})", file=sys.stderr)
    if result.failures:
        if record_to:
            print("not recorded: the search was incomplete", file=sys.stderr)
        return EXIT_UNREACHABLE
    if record_to:
        last_search.write(record_to, result.record())
        print(f"recorded the search in {record_to}", file=sys.stderr)
    return 0
