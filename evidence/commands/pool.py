"""``pool``: meta-analyse 2x2 counts from a CSV, the way R's metafor would.

The CSV needs ``study, events_t, total_t, events_c, total_c`` (extra columns are
ignored).  Every problem in the file is reported as one line naming the line and
column, so a user can fix it without reading a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

from evidence.cli import UserError
from evidence.curation.schema import MAX_COUNT
from evidence.synthesis.stats import METHODS, PooledResult, pool_binary
from evidence.user_files import InputFileError, MiB, read_text

REQUIRED = ("study", "events_t", "total_t", "events_c", "total_c")
MEASURES = {"RR": "risk ratio", "OR": "odds ratio", "RD": "risk difference"}
MAX_BYTES = 16 * MiB
MAX_ROWS = 10_000  # a meta-analysis of 2x2 tables; bounds the pooling's memory (k x k work in REML)


def register(sub) -> None:
    p = sub.add_parser("pool", help="pool 2x2 counts from a CSV (study,events_t,total_t,events_c,total_c)",
                       description="Pool 2x2 counts the way R's metafor does (escalc + rma.uni defaults).")
    p.add_argument("file", type=Path, help="CSV with columns study, events_t, total_t, events_c, total_c")
    p.add_argument("--measure", required=True, choices=sorted(MEASURES), help="effect measure")
    p.add_argument("--method", required=True, choices=METHODS, help="FE, DerSimonian-Laird or REML")
    p.add_argument("--knha", action="store_true", help="Knapp-Hartung adjustment (t with k-1 df)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run_pool)


def read_counts(path: Path) -> dict[str, list]:
    """Parse and check the CSV; raise :class:`UserError` on the first problem, naming line and column."""
    try:
        text = read_text(path, MAX_BYTES, encoding="utf-8-sig")
    except InputFileError as exc:
        raise UserError(str(exc) if "UTF-8" not in exc.reason
                        else f"{path}: not a text CSV file (it is not UTF-8 text)") from None
    if not text.strip():
        raise UserError(f"{path}: the file is empty; expected a header {','.join(REQUIRED)}")
    if "\x00" in text:
        raise UserError(f"{path}: not a text CSV file (it contains NUL bytes)")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise UserError(f"{path} line 1: missing column(s) {', '.join(missing)} "
                            f"(found: {', '.join(h for h in header if h) or 'nothing'})")
        twice = sorted({h for h in header if h and header.count(h) > 1})
        if twice:
            raise UserError(f"{path} line 1: column(s) {', '.join(twice)} appear more than once")
        index = {name: header.index(name) for name in REQUIRED}
        data: dict[str, list] = {name: [] for name in REQUIRED}
        seen: dict[str, int] = {}
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue  # blank line
            if len(fields) != len(header):
                raise UserError(f"{path} line {line}: expected {len(header)} fields, found {len(fields)} (a row "
                                "has as many fields as the header)")
            row = {name: fields[i].strip() for name, i in index.items()}
            if len(data["study"]) >= MAX_ROWS:
                raise UserError(f"{path} line {line}: more than {MAX_ROWS:,} studies; pool at most {MAX_ROWS:,}")
            if not row["study"]:
                raise UserError(f"{path} line {line}, column study: empty study label")
            if row["study"] in seen:
                raise UserError(f"{path} line {line}, column study: duplicate study {row['study']!r} "
                                f"(also on line {seen[row['study']]})")
            seen[row["study"]] = line
            data["study"].append(row["study"])
            counts = {name: _count(path, line, name, row[name]) for name in REQUIRED[1:]}
            for arm in ("t", "c"):
                events, total = counts[f"events_{arm}"], counts[f"total_{arm}"]
                if total < 1:
                    raise UserError(f"{path} line {line}, column total_{arm}: total must be at least 1, got {total}")
                if events > total:
                    raise UserError(f"{path} line {line}, column events_{arm}: events ({events}) exceed "
                                    f"total_{arm} ({total})")
            for name, value in counts.items():
                data[name].append(value)
    except csv.Error as exc:
        raise UserError(f"{path} line {reader.line_num}: not valid CSV ({exc})") from None
    if not data["study"]:
        raise UserError(f"{path}: a header but no data rows")
    return data


def _count(path: Path, line: int, column: str, value: str) -> int:
    if value == "":
        raise UserError(f"{path} line {line}, column {column}: empty value; expected a whole number")
    # digits 0-9 only: int() also takes "1_0" (10), full-width "８" and Arabic-Indic "١٢"
    if not re.fullmatch(r"[+]?[0-9]+|-[0-9]+", value):
        raise UserError(f"{path} line {line}, column {column}: {value[:40]!r} is not a whole number (digits 0-9)")
    if len(value) > 18:  # int() refuses over 4,300 digits; and no count has 18
        raise UserError(f"{path} line {line}, column {column}: {value[:20]}... is implausibly large "
                        f"(at most {MAX_COUNT:,} per cell)")
    number = int(value)
    if number < 0:
        raise UserError(f"{path} line {line}, column {column}: counts cannot be negative, got {number}")
    if number > MAX_COUNT:
        raise UserError(f"{path} line {line}, column {column}: {number} is implausibly large "
                        f"(at most {MAX_COUNT:,} per cell)")
    return number


def run_pool(args) -> int:
    data = read_counts(args.file)
    result = pool_binary(data["events_t"], data["total_t"], data["events_c"], data["total_c"],
                         measure=args.measure, method=args.method, knapp_hartung=args.knha)
    print(json.dumps(as_json(result), indent=2) if args.json else render(result))
    return 0


def as_json(r: PooledResult) -> dict:
    def clean(x):
        return None if isinstance(x, float) and math.isnan(x) else x
    out = {name: clean(getattr(r, name)) for name in PooledResult.__dataclass_fields__}
    out["description"] = r.describe()
    out["natural_scale"] = {name: clean(v) for name, v in r.natural.items()}
    return out


def render(r: PooledResult) -> str:
    nat = r.natural
    ratio = r.measure in ("RR", "OR")
    p = "< 0.0001" if r.q_p < 1e-4 else f"= {r.q_p:.4f}"
    lines = [
        f"Pooled {MEASURES[r.measure]}: {r.describe()}",
        f"k = {r.k} studies",
        f"estimate {nat['estimate']:.4f}  95% CI {nat['ci_low']:.4f} to {nat['ci_high']:.4f}"
        + (f"  (log scale {r.estimate:.4f}, SE {r.se:.4f})" if ratio else f"  (SE {r.se:.4f})"),
        "prediction interval: none (fixed-effect model)" if math.isnan(r.pi_low)
        else f"prediction interval {nat['pi_low']:.4f} to {nat['pi_high']:.4f}",
        f"tau² {r.tau2:.4f}  I² {r.i2:.2f}%  Q {r.q:.4f} (df {r.df}, p {p})",
    ]
    return "\n".join(lines)
