"""Check marketing text against the curated claims and the computed evidence.

``check_text(text, dataset, tables)`` splits the text into sentences and, for each sentence that
says something checkable, returns a :class:`Finding`: its topic, the numbers and framings it asserts
(:mod:`evidence.checking.quantities`), the closest curated claim with a similarity score, and, for a number,
the claimed figure set beside the relevant computed summary with a suggested verdict and the rule
that produced it (``RULES``).

Sentences come from :mod:`evidence.checking.sentences`; topics and claim matching, with the threshold and
its justification, from :mod:`evidence.checking.matching`.

Verdicts.  A matched claim reports its curated verdict (rule ``curated``); the rule-based
suggestion for its numbers is kept in ``evidence["suggested"]``.  Otherwise the first quantity
that a rule applies to gives the suggested verdict; every rule is listed in ``RULES``.

Robustness.  Never raises on any ``str`` (the tests fuzz it); linear time: the splitter is a single
pass, regexes have no nested quantifiers, each sentence's matching and quantity work is capped at
``MAX_MATCH_CHARS``/``quantities.MAX_CHARS`` characters, and stray "<" are escaped before the stdlib
HTML parser sees them (it is quadratic on "<p <p <p ...").
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from evidence.checking.matching import MATCH_THRESHOLD, MAX_TOPIC_CHARS, ClaimIndex, classify_topic, in_hours
from evidence.checking.quantities import Quantity, extract_quantities
from evidence.checking.sentences import Sentence, extract_text, looks_like_html, split_sentences

RCT_DESIGNS = ("RCT parallel", "RCT crossover")
RESPONSE_WINDOW_HOURS = (18.0, 30.0)  # "~24 h": 24 h and "day 1" time points

# --------------------------------------------------------------------------- rules

RULES: dict[str, tuple[str | None, str]] = {
    "curated": (None, "the sentence matches a curated claim: its reviewed verdict"),
    "share_above_ci": ("Overstated", "claimed share exceeds the upper 95% CI of the pooled response rate "
                                     "in blinded RCTs at ~24 h"),
    "share_within_ci": ("Supported", "claimed share lies within the 95% CI of the pooled response rate "
                                     "in blinded RCTs at ~24 h"),
    "share_below_ci": ("Partly supported", "claimed share is below the lower 95% CI of the pooled response "
                                           "rate in blinded RCTs at ~24 h (it understates it)"),
    "onset_unmeasured": ("Unsupported", "claimed onset is earlier than any time point at which a study "
                                        "measured the outcome"),
    "onset_before_significant": ("Overstated", "claimed onset is earlier than the earliest significant "
                                               "difference from control in a blinded RCT"),
    "onset_single_study": ("Partly supported", "only one blinded RCT shows a significant difference from "
                                               "control by the claimed time"),
    "onset_consistent": ("Supported", "two or more blinded RCTs show a significant difference from control "
                                      "by the claimed time"),
    "duration_beyond_all": ("Overstated", "claimed duration exceeds every measured duration"),
    "duration_beyond_typical": ("Partly supported", "claimed duration exceeds the median measured duration "
                                                    "but not the longest"),
    "duration_within": ("Supported", "claimed duration is at most the median measured duration"),
}
# A sentence with several checkable figures takes the verdict of the most severe.
SEVERITY = {"Supported": 1, "Partly supported": 2, "Unsupported": 3, "Overstated": 4}
# Which end of a claimed range is compared: the one least likely to call the claim overstated.
#   share: the low end; onset: the high end (the latest time the claim allows); duration: the low end.


# --------------------------------------------------------------------------- findings

@dataclass
class Finding:
    sentence: str
    start: int
    end: int
    topic: str | None
    claim_id: str | None
    similarity: float
    quantities: list[dict[str, Any]]
    verdict: str | None
    rule: str | None
    evidence: dict[str, Any] | None
    other_claims: list[dict[str, Any]] = field(default_factory=list)  # further matches above the threshold


# --------------------------------------------------------------------------- evidence

def summarise_evidence(tables: Any) -> dict[str, Any]:
    """The computed summaries the rules compare with (cached per data version, else per tables object)."""
    key = getattr(tables, "version", "") or id(tables)
    hit = _EVIDENCE_CACHE.get(key)
    if hit is not None and (hit[0] is tables or isinstance(key, str)):
        return hit[1]
    try:
        summary = {
            "response": _pooled_rate(tables, "response"),
            "remission": _pooled_rate(tables, "remission"),
            "onset": _onset_summary(tables),
            "durations": _duration_summary(tables),
        }
    except Exception as exc:
        summary = {"error": f"{type(exc).__name__}: {exc}"}
    if len(_EVIDENCE_CACHE) > 8:
        _EVIDENCE_CACHE.clear()
    _EVIDENCE_CACHE[key] = (tables, summary)
    return summary


_EVIDENCE_CACHE: dict[int | str, tuple[Any, dict[str, Any]]] = {}


def _pooled_rate(tables: Any, kind: str) -> dict[str, Any] | None:
    """Pooled ketamine-arm rate at ~24 h (``summaries.pooled_response_rate``, REML): blinded RCTs, and all
    primary studies for context."""
    from evidence.synthesis.summaries import Filter, pooled_response_rate

    lo, hi = RESPONSE_WINDOW_HOURS
    result: dict[str, Any] = {}
    for label, f in (
        ("blinded_rct", Filter(outcome_kind=kind, hours_min=lo, hours_max=hi, blinded_only=True,
                               designs=RCT_DESIGNS)),
        ("all", Filter(outcome_kind=kind, hours_min=lo, hours_max=hi)),
    ):
        pooled = pooled_response_rate(tables, f, "REML")
        if pooled.k == 0 or _isnan(pooled.estimate):
            result[label] = None
            continue
        result[label] = {
            "estimate": round(100 * pooled.estimate, 1), "ci_low": round(100 * pooled.ci_low, 1),
            "ci_high": round(100 * pooled.ci_high, 1), "unit": "percent", "k": pooled.k, "n": pooled.n,
            "studies": list(pooled.studies), "method": pooled.method, "window_hours": [lo, hi],
        }
    return result if result.get("blinded_rct") or result.get("all") else None


def _ketamine_outcomes(tables: Any):
    from evidence.synthesis.summaries import KETAMINE_DRUGS, SECONDARY_KINDS

    out = tables.outcomes
    studies = tables.studies.set_index("id")
    out = out[out["arm_drug"].isin(KETAMINE_DRUGS) & (out["arm_role"] == "intervention")].copy()
    out["blinded"] = out["study_id"].map(studies["blinded"]).fillna(False).astype(bool)
    out["design"] = out["study_id"].map(studies["design"])
    return out[~out["study_id"].map(studies["kind"]).isin(SECONDARY_KINDS)]


def _significant(row: Any) -> bool:
    p = row["p"]
    if p is not None and not _isnan(p):
        return float(p) < 0.05
    lo, hi, kind = row["ci_low"], row["ci_high"], row["effect_type"]
    if lo is None or hi is None or _isnan(lo) or _isnan(hi) or kind is None or (isinstance(kind, float)):
        return False
    null = 1.0 if kind in ("OR", "RR", "HR") else 0.0
    return bool(lo > null or hi < null)


def _isnan(x: Any) -> bool:
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def _onset_summary(tables: Any) -> dict[str, Any] | None:
    out = _ketamine_outcomes(tables)
    out = out[out["kind"].isin(["response", "remission", "mean_change", "mean_score", "effect_size"])]
    if out.empty:
        return None
    outcomes = out.drop_duplicates(["study_id", "outcome_id"])
    earliest = outcomes.loc[outcomes["timepoint_hours"].idxmin()]
    rct = outcomes[outcomes["blinded"] & outcomes["design"].isin(RCT_DESIGNS)]
    sig = [(float(r["timepoint_hours"]), r["study_id"], r["outcome_id"]) for _, r in rct.iterrows() if _significant(r)]
    sig.sort()
    return {
        "earliest_measured_hours": round(float(earliest["timepoint_hours"]), 3),
        "earliest_measured": f"{earliest['study_id']}/{earliest['outcome_id']}",
        "significant": [{"hours": round(h, 3), "study": s, "outcome": o} for h, s, o in sig],
    }


def _duration_summary(tables: Any) -> dict[str, Any] | None:
    """Measured durations in days (``summaries.durations``, primary studies), with their median and maximum."""
    from evidence.synthesis.summaries import Filter, durations

    table = durations(tables, Filter()).table
    table = table[table["statistic"] != "proportion"]
    if table.empty:
        return None
    rows = sorted((float(r["days"]), r["study_id"], r["measure"], r["statistic"]) for _, r in table.iterrows())
    values = [v for v, *_ in rows]
    mid = len(values) // 2
    median = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
    return {
        "days": [{"days": round(v, 2), "study": s, "measure": m, "statistic": st} for v, s, m, st in rows],
        "median_days": round(median, 2), "max_days": round(values[-1], 2), "k": len(values),
    }


def compare_quantity(q: Quantity, topic: str | None, summary: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(rule id, evidence) for a quantity a rule applies to; None when no rule applies."""
    if q.kind == "share" and topic in ("response rate", "remission", "general efficacy",
                                       "treatment-resistant depression"):
        which = "remission" if topic == "remission" else "response"
        pooled = (summary.get(which) or {}).get("blinded_rct")
        claimed = q.low
        ev: dict[str, Any] = {"claimed": _claimed(q, claimed), "summary": f"pooled {which} rate, ketamine arms, "
                              "blinded RCTs at ~24 h", "pooled": pooled}
        context = (summary.get(which) or {}).get("all")
        if context and context != pooled:
            ev["all_designs"] = context
        if not pooled:
            return None
        if claimed > pooled["ci_high"]:
            return "share_above_ci", ev
        if claimed < pooled["ci_low"]:
            return "share_below_ci", ev
        return "share_within_ci", ev
    if q.kind == "onset" and topic in ("onset", "suicidal thoughts", "general efficacy", "response rate"):
        onset = summary.get("onset")
        if not onset:
            return None
        claimed_h = in_hours(q.high, q.unit)
        ev = {"claimed": _claimed(q, claimed_h, "hours"), "summary": "time points with a significant difference "
              "from control in blinded RCTs (ketamine arms)", **onset}
        if claimed_h + 1e-9 < onset["earliest_measured_hours"]:
            return "onset_unmeasured", ev
        sig = onset["significant"]
        if not sig or claimed_h + 1e-9 < sig[0]["hours"]:
            return "onset_before_significant", ev
        studies = {s["study"] for s in sig if s["hours"] <= claimed_h + 1e-9}
        ev["studies_by_claimed_time"] = sorted(studies)
        return ("onset_consistent" if len(studies) >= 2 else "onset_single_study"), ev
    if q.kind == "duration" and topic in ("duration", "general efficacy"):
        durations = summary.get("durations")
        if not durations:
            return None
        claimed_d = in_hours(q.low, q.unit) / 24
        ev = {"claimed": _claimed(q, claimed_d, "days"), "summary": "measured durations of effect (durability "
              "table: time to relapse, last difference from control, duration of response)", **durations}
        if claimed_d > durations["max_days"] * (1 + 1e-9):
            return "duration_beyond_all", ev
        if claimed_d > durations["median_days"] * (1 + 1e-9):
            return "duration_beyond_typical", ev
        return "duration_within", ev
    return None


def _claimed(q: Quantity, value: float, unit: str | None = None) -> dict[str, Any]:
    return {"text": q.text, "compared": round(value, 3), "unit": unit or q.unit, "framing": q.framing,
            "low": q.low, "high": q.high}


# --------------------------------------------------------------------------- the check

_INDEX_CACHE: dict[str, ClaimIndex] = {}


def claim_index(dataset: Any) -> ClaimIndex | None:
    if dataset is None:
        return None
    key = getattr(dataset, "version", None) or str(id(dataset))
    if key not in _INDEX_CACHE:
        if len(_INDEX_CACHE) > 8:
            _INDEX_CACHE.clear()
        _INDEX_CACHE[key] = ClaimIndex(dataset.claims)
    return _INDEX_CACHE[key]


def check_text(text: str, dataset: Any, tables: Any, *, html: bool | None = None,
               include_all: bool = False) -> list[Finding]:
    """Findings for every sentence that has a topic, a quantity or a curated match, in text order.

    ``html=None`` detects HTML; with HTML the offsets refer to :func:`extract_text` of the input.
    ``include_all`` also returns sentences with nothing to report.  Never raises on a ``str``.
    """
    if not isinstance(text, str):
        text = str(text, "utf-8", "replace") if isinstance(text, bytes | bytearray) else str(text)
    if html is None:
        html = looks_like_html(text)
    if html:
        text = extract_text(text)
    index = claim_index(dataset)
    summary = summarise_evidence(tables) if tables is not None else {}
    findings = []
    for s in split_sentences(text):
        finding = _check_sentence(s, index, summary)
        if include_all or finding.topic or finding.quantities or finding.claim_id:
            findings.append(finding)
    return findings


def _check_sentence(s: Sentence, index: ClaimIndex | None, summary: dict[str, Any]) -> Finding:
    quantities = extract_quantities(s.text)
    topic = classify_topic(s.text)
    claim_id, similarity, others = None, 0.0, []
    if index is not None:
        ranked = index.scores(s.text, _figures_as_quantities(quantities))
        if ranked:
            similarity = ranked[0][0]
            if similarity >= MATCH_THRESHOLD:
                claim_id = ranked[0][1]
                others = [{"claim_id": cid, "similarity": sc} for sc, cid, _ in ranked[1:4] if sc >= MATCH_THRESHOLD]
    comparisons = []
    for q in quantities:
        if _about_comparator(s.text, q):
            continue  # "SSRIs, which can take six to eight weeks to work": not a claim about ketamine
        result = compare_quantity(q, topic, summary)
        if result:
            comparisons.append(result)
    verdict = rule = None
    evidence: dict[str, Any] | None = None
    if comparisons:  # several figures: the one furthest from the evidence speaks for the sentence
        rule_id, evidence = max(comparisons, key=lambda c: SEVERITY.get(RULES[c[0]][0], 0))
        verdict, rule = RULES[rule_id][0], RULES[rule_id][1]
        more = [{"rule_id": r, "verdict": RULES[r][0], "claimed": ev["claimed"]} for r, ev in comparisons
                if ev is not evidence]
        evidence = {"rule_id": rule_id, **evidence, **({"other_figures": more} if more else {})}
    if claim_id is not None and index is not None:
        claim = index.claims[claim_id]
        curated = {"rule_id": "curated", "claim_short": claim.short, "curated_verdict": claim.verdict,
                   "certainty": claim.certainty}
        if evidence is not None:
            curated["suggested"] = {"verdict": verdict, "rule": rule, **evidence}
        verdict, rule, evidence = claim.verdict, RULES["curated"][1], curated
        topic = claim.topic
    return Finding(s.text, s.start, s.end, topic, claim_id, similarity, [q.record() for q in quantities],
                   verdict, rule, evidence, others)


_CLAUSE_BREAK = re.compile(r"[,;:—–()]| while | whereas | but ")
_COMPARATOR = re.compile(r"antidepressant|ssri|snri|medication|medicine|drugs|conventional|traditional|standard "
                         r"treatment|other treatment|zoloft|prozac|lexapro|psychotherapy|ect\b|electroconvulsive")


def _about_comparator(sentence: str, q: Quantity) -> bool:
    """Is the figure in a clause about another treatment (or a "which ..." clause hanging off one)?"""
    low = sentence[:MAX_TOPIC_CHARS].lower()
    if q.end > len(low):
        return False
    breaks = [m.start() for m in _CLAUSE_BREAK.finditer(low)]
    start = max([b for b in breaks if b < q.start], default=0)
    end = min([b for b in breaks if b >= q.end], default=len(low))
    clause = low[start:end]
    if _COMPARATOR.search(clause):
        return True
    if re.match(r"[,;:—–(]?\s*(?:which|that|who|as)\b", clause):
        prev = max([b for b in breaks if b < start], default=0)
        return bool(_COMPARATOR.search(low[prev:start]))
    return False


def _figures_as_quantities(quantities: list[Quantity]) -> list[Quantity]:
    return [q for q in quantities if q.kind in ("share", "onset", "duration", "infusion_length")]


FIELDS = ["sentence", "start", "end", "topic", "claim_id", "similarity", "quantities", "verdict", "rule",
          "evidence", "other_claims"]


def findings_to_records(findings: Iterable[Finding], *, flat: bool = False) -> list[dict[str, Any]]:
    """Plain JSON-ready dicts (NaN becomes None, numpy numbers become Python numbers).

    ``flat=True`` is for CSV: the nested ``quantities``, ``evidence`` and ``other_claims`` become JSON strings.
    """
    out = []
    for f in findings:
        record = _plain(asdict(f))
        if flat:
            for key in ("quantities", "evidence", "other_claims"):
                record[key] = json.dumps(record[key], ensure_ascii=False) if record[key] is not None else ""
        out.append(record)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, int):
        return value
    return str(value)
