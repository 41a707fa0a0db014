"""``check``: read a marketing page and report its checkable sentences against the evidence.

``python -m evidence check page.txt`` prints a report; ``--url URL`` fetches the page first (its main text,
through ``evidence.checking.fetch``'s guarded fetch); ``--json`` prints the findings as a JSON list
(``evidence.checking.checker.findings_to_records``).  Exit codes: 0 when the check ran, whatever it found;
1 when the curated data do not validate; 2 when the input cannot be read (missing file, a directory,
no permission, a binary file such as a PDF, a URL that may not or cannot be fetched).  Text is decoded as the
page declares it, else as UTF-8, else as Windows-1252 (``evidence.checking.decoding``); a byte no encoding reads
becomes a replacement character, not an error.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from evidence.cli import UserError, json_ascii
from evidence.user_files import InputFileError, MiB, read_bytes


def register(sub) -> None:
    p = sub.add_parser("check", help="check a marketing page (text or HTML) against the claims and evidence")
    p.add_argument("file", nargs="?", default="-", help="a text or HTML file, or - for standard input (default)")
    p.add_argument("--url", help="fetch this http(s) page and check its main text instead of a file")
    p.add_argument("--json", action="store_true", help="print the findings as a JSON list")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--html", action="store_true", help="parse the input as HTML (default: detect)")
    mode.add_argument("--text", action="store_true", help="treat the input as plain text (no HTML detection)")
    p.add_argument("--all", action="store_true", help="also list sentences with nothing to report")
    p.set_defaults(func=run_check)




def read_input(name: str) -> str:
    """The input as text (``decode_page``); a binary file is a :class:`UserError` naming it."""
    from evidence.checking.decoding import MAX_PAGE_BYTES as MAX_INPUT_BYTES
    from evidence.checking.decoding import NotTextError, decode_page

    if name == "-":
        stream = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else None
        data = stream.read(MAX_INPUT_BYTES + 1) if stream else sys.stdin.read(MAX_INPUT_BYTES + 1).encode()
        if len(data) > MAX_INPUT_BYTES:
            raise UserError(f"standard input is larger than {MAX_INPUT_BYTES // MiB} MiB")
    else:
        try:  # a regular file of bounded size: a FIFO, /dev/zero or a directory is a one-line error
            data = read_bytes(Path(name), MAX_INPUT_BYTES)
        except InputFileError as exc:
            raise UserError(str(exc)) from None
    try:
        return decode_page(data)
    except NotTextError as exc:
        raise UserError(f"{'standard input' if name == '-' else name}: {exc}") from None


def run_check(args) -> int:
    from evidence.checking.checker import check_text, findings_to_records
    from evidence.curation.load import DataInvalid, data_dir, load_dataset
    from evidence.curation.tables import build_tables

    html = True if args.html else (False if args.text else None)
    name = args.file
    if args.url:
        from evidence.checking.fetch import FetchError, fetch_page
        from evidence.checking.sentences import main_text

        try:
            page = fetch_page(args.url)
        except FetchError as exc:
            raise UserError(str(exc)) from exc
        text, html, name = (main_text(page.text), False, page.url) if page.is_html else (page.text, False, page.url)
    else:
        text = read_input(args.file)
    directory = data_dir(args.data)
    if not directory.is_dir():
        raise UserError(f"data directory not found: {directory}")
    try:
        dataset = load_dataset(directory)
    except DataInvalid as exc:
        for err in exc.errors:
            print(err, file=sys.stderr)
        print(f"the data in {directory} do not validate; run `python -m evidence validate`", file=sys.stderr)
        return 1
    tables = build_tables(dataset)
    findings = check_text(text, dataset, tables, html=html, include_all=args.all)
    out = sys.stdout
    if args.json:
        json.dump(findings_to_records(findings), out, ensure_ascii=json_ascii(), indent=2)
        out.write("\n")
    else:
        out.write(render_report(findings, name))
    out.flush()
    return 0


def _fmt_number(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1000 else f"{x:,.0f}"


def _fmt_quantity(q: dict) -> str:
    if q.get("vague"):  # words for an amount: quote them, never the range assumed for them
        return f"{q['kind']} “{q['text']}” (vague)"
    lo, hi, unit = q["low"], q["high"], q["unit"]
    if unit == "hours" and hi < 1:  # "within minutes" reads better in minutes
        lo, hi, unit = round(lo * 60, 1), round(hi * 60, 1), "minutes"
    value = _fmt_number(lo) if lo == hi else f"{_fmt_number(lo)}–{_fmt_number(hi)}"
    framing = "" if q["framing"] in ("none", "range") else f"{q['framing']} "
    return f"{q['kind']} {framing}{value} {unit}"


def render_report(findings, name: str = "-") -> str:
    # the page's wording; imported late (the checker is heavy)
    from evidence.checking.table import MATCH_LABELS, describe_evidence

    lines = []
    for f in findings:
        head = f"[{f.start}–{f.end}] {', '.join(f.topics) or 'no topic'}"
        if f.claim_id:
            label = MATCH_LABELS.get(f.strength or "", "match")
            head += f" · matches claim {f.claim_id} ({label}, similarity {f.similarity:g})"
        lines.append(head)
        sentence = f.sentence if len(f.sentence) <= 300 else f.sentence[:297] + "…"
        lines.append(f"    “{sentence}”")
        if f.quantities:
            lines.append("    figures: " + "; ".join(_fmt_quantity(q) for q in f.quantities))
        if f.verdict or f.rule:
            lines.append(f"    verdict: {f.verdict or '—'} ({f.rule})")
        ev = f.evidence or {}
        suggested = ev.get("suggested") if ev.get("rule_id") == "curated" else (ev if ev.get("claimed") else None)
        if suggested and suggested.get("claimed"):
            lines.append("    evidence: " + describe_evidence(suggested))
            if ev.get("rule_id") == "curated":
                lines.append(f"    rule-based suggestion: {suggested.get('verdict')} ({suggested.get('rule')})")
        for other in f.other_claims:
            lines.append(f"    also matches {other['claim_id']} (similarity {other['similarity']:g})")
        lines.append("")
    matched = [f for f in findings if f.claim_id]
    verdicts = Counter(f.verdict for f in findings if f.verdict)
    summary = (f"{name}: {len(findings)} finding(s), {len(matched)} matching a curated claim"
               f" ({len({f.claim_id for f in matched})} distinct), "
               f"{sum(1 for f in findings if f.quantities)} with figures")
    if verdicts:
        summary += "; verdicts: " + ", ".join(f"{v} {n}" for v, n in verdicts.most_common())
    lines.append(summary)
    return "\n".join(lines) + "\n"
