"""The findings as the reader sees them: one plain-text row per sentence (no JSON), for the page and the CSV."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from evidence.checking.checker import Finding

TABLE_COLUMNS = ["sentence", "topics", "claim", "match", "verdict", "evidence", "why"]
# what the match column says; the precision each label earned is measured by ``make eval-checker``
MATCH_LABELS = {"close": "close match", "possible": "possible match: check it"}


def findings_table(findings: Iterable[Finding], claims: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """One plain-text row per finding for the reader (no JSON): the sentence, its topics, the matched claim,
    how sure the match is, the verdict, the evidence number it was set against, and why it matched."""
    rows = []
    for f in findings:
        rows.append({
            "sentence": f.sentence,
            "topics": ", ".join(f.topics),
            "claim": _claims_text(f, claims or {}),
            "match": f"{MATCH_LABELS[f.strength]} (score {f.similarity:g})" if f.claim_id and f.strength else "",
            "verdict": f.verdict or ("no comparable evidence" if (f.evidence or {}).get("rule_id") == "no_comparable"
                                     else ""),
            "evidence": describe_evidence(f.evidence),
            "why": f.why or ("" if f.claim_id else _unmatched_text(f, claims or {})),
        })
    return rows


def findings_csv(rows: list[dict[str, str]], dataset: Any) -> bytes:
    """The table as the project's CSV (``table_export``): a byte-order mark so Excel reads "≥", and a page's
    sentence that opens with "=", "+", "-" or "@" prefixed with "'" so that it cannot run as a formula."""
    import pandas as pd

    from evidence.publishing.exports import table_export

    return table_export(pd.DataFrame(rows, columns=TABLE_COLUMNS), "csv", dataset=dataset, table_name="findings")


def _claims_text(f: Finding, claims: dict[str, Any]) -> str:
    """The matched claim, and every other curated claim the sentence also matches with its verdict: "More than
    80% of patients respond within 24 hours" makes the 24-hour claim (Partly supported) and the 80% one
    (Overstated), and the second had been shown nowhere but in the JSON."""
    if not f.claim_id:
        return ""
    claim = claims.get(f.claim_id)
    text = getattr(claim, "short", None) or f.claim_id
    also = []
    for other in f.other_claims or []:
        o = claims.get(other["claim_id"])
        also.append(f"“{getattr(o, 'short', None) or other['claim_id']}”"
                    + (f" ({o.verdict})" if getattr(o, "verdict", None) else ""))
    return text + (f"; also matches {', '.join(also)}" if also else "")


def _unmatched_text(f: Finding, claims: dict[str, Any]) -> str:
    figures = _figures_text(f.quantities)
    if not f.nearest:
        return figures
    claim = claims.get(f.nearest["claim_id"])
    name = getattr(claim, "short", None) or f.nearest["claim_id"]
    lead = f"not matched; closest curated claim “{name}” (score {f.nearest['similarity']:g}, under the threshold)"
    return "; ".join(x for x in (lead, figures) if x)


def _figures_text(quantities: list[dict[str, Any]]) -> str:
    return "; ".join(f"{q['text']}" for q in quantities if q.get("text"))


def describe_evidence(ev: dict[str, Any] | None) -> str:
    """The evidence a verdict rests on, in words."""
    if not ev:
        return ""
    rule = ev.get("rule_id", "")
    if rule == "curated":
        suggested = ev.get("suggested")
        text = (f"curated claim, reviewed verdict {ev.get('curated_verdict')} "
                f"(certainty {ev.get('certainty') or 'not graded'})")
        if not suggested:
            return text
        said = f"by rule ({suggested['verdict']})" if suggested.get("verdict") else "by rule"
        return f"{text}; {said}: {describe_evidence(suggested)}"
    if rule == "same_assertion":
        return f"same assertion as the curated claim “{ev.get('claim_short')}” ({ev.get('curated_verdict')})"
    claimed = ev.get("claimed") or {}
    framing = claimed.get("framing") if claimed.get("framing") not in (None, "none", "range") else ""
    said = " ".join(x for x in ("claimed", framing, f"{claimed.get('compared', '')}", claimed.get("unit", "")) if x)
    if claimed.get("vague"):  # words for an amount: say what was read into them, not that it was claimed
        said = f"“{claimed.get('text')}”, read as {claimed.get('compared', '')} {claimed.get('unit', '')}".strip()
    if rule == "no_comparable":
        return f"{said}; not compared: unlike in " + "; ".join(ev.get("unlike") or ["setting"])
    if rule.startswith("share"):
        p = ev.get("pooled") or {}
        return (f"{said} vs pooled {p.get('estimate')}% (95% CI {p.get('ci_low')}–{p.get('ci_high')}), "
                f"k={p.get('k')}, n={p.get('n')}, blinded RCTs at ~24 h")
    if rule.startswith("onset"):
        sig = ev.get("significant") or []
        first = f"{sig[0]['hours']:g} h ({sig[0].get('label') or sig[0]['study']})" if sig else "none"
        earliest = ev.get("earliest_measured_hours")
        return (f"{said} vs earliest significant difference from control {first} (blinded RCTs)"
                + (f"; earliest time point measured {earliest:g} h" if earliest is not None else ""))
    if rule.startswith("duration"):
        return (f"{said} vs measured durations: median {ev.get('median_days')} days, longest {ev.get('max_days')} "
                f"days" + (f" (k={ev.get('k')})" if ev.get("k") is not None else ""))
    return said
