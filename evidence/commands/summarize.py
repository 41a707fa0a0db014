"""``summarize``: the explorer's forest as text or JSON, so a researcher can script what the page shows.

It builds the same view model as the page (:func:`evidence.synthesis.explore.effect_view`) from the
same data, so the numbers, the caption and the rows are the page's.  Every bad argument is one line
on stderr and exit code 2.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING

from evidence.cli import UserError, command_dataset, json_ascii

if TYPE_CHECKING:  # the statistics stack is imported when the command runs, not when the CLI starts
    from evidence.synthesis.explore import ForestView

OUTCOMES = ("response", "remission", "smd", "md")  # = evidence.synthesis.explore.OUTCOMES (tested)
METHODS = ("FE", "DL", "REML")  # = evidence.synthesis.stats.METHODS (tested)
CONTROL_CHOICES = ("any", "saline", "midazolam", "active")
_HOURS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*$")


def register(sub) -> None:
    p = sub.add_parser(
        "summarize", help="the explorer's pooled view (k, n, rows, pooled estimate) as text or JSON",
        description="Pool what the trials report for one outcome, time window and control, exactly as the "
                    "explorer's forest does, and list the published meta-analyses beside it.")
    p.add_argument("--outcome", help=f"one of {', '.join(OUTCOMES)}")
    p.add_argument("--hours", metavar="LO-HI", help="time window in hours since the dose, e.g. 12-36")
    p.add_argument("--control", default="any", help=f"one of {', '.join(CONTROL_CHOICES)} (default any)")
    p.add_argument("--method", default="REML", help=f"one of {', '.join(METHODS)} (default REML)")
    p.add_argument("--knha", action="store_true", help="Knapp-Hartung at any k (always used below 5 studies)")
    p.add_argument("--blinded-only", action="store_true", help="blinded studies only")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run_summarize)


def parse_hours(text: str | None) -> tuple[float, float]:
    if not text:
        raise UserError("--hours is required, as LO-HI in hours (e.g. --hours 12-36)")
    m = _HOURS.match(text)
    if not m:
        raise UserError(f"--hours {text!r}: expected LO-HI in hours, e.g. 12-36")
    lo, hi = float(m.group(1)), float(m.group(2))
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise UserError(f"--hours {text!r}: the lower bound must be below the upper bound")
    return lo, hi


def _choice(name: str, value: str | None, choices) -> str:
    if value is None:
        raise UserError(f"--{name} is required; choose from {', '.join(choices)}")
    if value not in choices:
        raise UserError(f"--{name} {value!r}: choose from {', '.join(choices)}")
    return value


def run_summarize(args) -> int:
    outcome = _choice("outcome", args.outcome, tuple(OUTCOMES))
    hours = parse_hours(args.hours)
    control = _choice("control", args.control, CONTROL_CHOICES)
    method = _choice("method", args.method, METHODS)
    from evidence.curation.tables import build_tables
    from evidence.synthesis.explore import effect_view

    tables = build_tables(command_dataset(args))
    view = effect_view(tables, outcome, hours, control, method, knapp_hartung=args.knha,
                       blinded_only=args.blinded_only)
    print(json.dumps(view.as_json(), indent=2, ensure_ascii=json_ascii()) if args.json else render(view))
    return 0


def _num(x) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}"


def render(view: ForestView) -> str:
    """The page's forest as text: title, caption, one line per study, then the syntheses beside it."""
    import pandas as pd

    lines = [view.title, view.caption, ""]
    for r in view.rows.itertuples():
        derived = f", derived by {r.derived_rule}" if isinstance(r.derived_rule, str) else ""
        n = f", n {int(r.participants)}" if pd.notna(r.participants) else ""
        rob = f", risk of bias {r.rob_overall}" if isinstance(r.rob_overall, str) else ""
        lines.append(f"  {r.study_id}: {view.measure} {_num(r.estimate)} ({_num(r.ci_low)} to {_num(r.ci_high)})"
                     f" [{r.effect_source}{derived}{n}{rob}]")
    found = view.syntheses.rows
    lines += ["", f"What the meta-analyses found ({len(found)} estimates). {view.syntheses.caption}"]
    for r in found.itertuples():
        k = f", k {int(r.k_trials)}" if pd.notna(r.k_trials) else ""
        grade = f", GRADE {r.certainty}" if isinstance(r.certainty, str) else ""
        lines.append(f"  {r.study_id}: {r.measure} {_num(r.estimate)} ({_num(r.ci_low)} to {_num(r.ci_high)}), "
                     f"{r.comparison}{k}{grade}")
    return "\n".join(lines)
