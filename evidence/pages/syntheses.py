""""What the meta-analyses found": the published syntheses' estimates for one outcome, window and control.

Drawn beside every pooled view (claim pages, the explorer's forest pages).  The syntheses layer
(``summaries.syntheses`` and ``charts.syntheses_forest``) selects and draws them; this module only
names the chart, captions it and writes its text summary.
"""

from __future__ import annotations

import math
from typing import Any

from evidence.pages.figure import Chart
from evidence.publishing import charts
from evidence.synthesis import summaries
from evidence.synthesis.explore import estimate_text, interval_text

CAPTION = summaries.SYNTHESES_CAPTION  # one wording for the explorer's and the claim pages' syntheses charts


def available() -> bool:
    return hasattr(summaries, "syntheses") and hasattr(charts, "syntheses_forest")


def chart(tables, *, name: str, outcome_kind: str = "response", hours: tuple[float | None, float | None] = (None, None),
          control: str = "any") -> Chart | None:
    """The syntheses forest for this scope, or None when there is no syntheses layer or no estimate."""
    if not available():
        return None
    model = summaries.syntheses(tables, outcome_kind=outcome_kind, hours=hours, control=control)
    rows = getattr(model, "rows", None)
    if rows is None or len(rows) == 0:
        return None
    title = f"What the meta-analyses found ({outcome_kind})"
    return Chart(name, title, charts.syntheses_forest(model), rows.reset_index(drop=True), f"{title}. {CAPTION}",
                 describe(title, rows))


def describe(title: str, rows) -> str:
    """The text summary of a syntheses forest: how many estimates, from how many reviews, and the first few."""
    k = rows["study_id"].nunique() if "study_id" in rows.columns else len(rows)
    described = "; ".join(_describe(r) for r in rows.head(8).to_dict("records"))
    return f"{title}: {len(rows)} published estimates from {k} syntheses" + (f"; {described}." if described
                                                                             else ".")


def _describe(row: dict[str, Any]) -> str:
    def num(key: str) -> float:
        try:
            return float(row.get(key))
        except (TypeError, ValueError):
            return math.nan

    est, low, high = num("estimate"), num("ci_low"), num("ci_high")
    if not math.isfinite(est):
        return str(row.get("study_id", ""))
    ci = f" (95% CI {interval_text(low, high)})" if math.isfinite(low) and math.isfinite(high) else ""
    return f"{row.get('study_id', '')}: {row.get('measure', '')} {estimate_text(est)}{ci}"
