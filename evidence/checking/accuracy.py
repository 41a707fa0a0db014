"""The checker's measured accuracy on real clinic sentences, for the Methods page (from ``make eval-checker``).

``bench/results/eval_checker.json`` is written by ``python -m bench.eval_checker``; the figures shown are the
test half's (sites never used for tuning), the newest collection scored whole before any of it was used (now, or
in the first run that scored it: ``first_scorings``), the development half's, and two labellers' agreement, which
bounds what any checker can reach on these labels.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "eval_checker.json"


def accuracy_markdown(path: Path = RESULTS) -> str:
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
        dev, test = result["development"], result["test"]
        text = (
            f"*Check a text* was measured on {dev['sentences'] + test['sentences']} real sentences from "
            f"{dev['sites'] + test['sites']} ketamine clinic and health-blog sites (not the five source pages), one "
            "sentence each with its URL, labelled by reading (claim, topics, every number). The sites were split in "
            f"two before any tuning ({result['rule']}); the matcher's examples, weights and threshold come from the "
            f"development half only. On the **test half** ({test['sentences']} sentences, {test['sites']} sites): "
            f"claim matching precision **{test['precision']:.2f}** ({test['tp']} of {test['tp'] + test['fp']} "
            f"matches right) and recall **{test['recall']:.2f}** ({test['tp']} of {test['tp'] + test['fn']} claims "
            f"found); topic right {test['topics']:.2f}; numbers read with value and unit {test['numbers']:.2f} "
            f"({test['numbers_read']} of {test['numbers_labelled']}); {test['non_claim_verdicts']} of "
            f"{test['non_claims']} non-claim sentences given a verdict."
        )
        scorings = result.get("first_scorings") or {}
        text += (_untouched(result.get("untouched") or {}) or _first_scoring(scorings)) + _spread(scorings)
        text += " " + match_labels_text(result)
        text += _ceiling(result.get("agreement"))
        text += (
            f" Development half (its own examples left out fold by fold): precision {dev['precision']:.2f}, "
            f"recall {dev['recall']:.2f}, topics {dev['topics']:.2f}, numbers {dev['numbers']:.2f}. A wrong match "
            "shows another claim's verdict, so read any match as a lead to check, not a finding, and an unmatched "
            "sentence as not recognised, not as no claim."
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "The checker's accuracy has not been measured on this copy (run `make eval-checker`)."
    return text


def _first_scoring(scorings: dict[str, Any]) -> str:
    """The newest collection as it was first scored, whole, before its development half became examples; the
    test half by batch is no such figure once the matcher has been refitted on the batch's other half."""
    if not scorings:
        return ""
    name, b = list(scorings.items())[-1]
    return (f" The newest collection was scored whole before any of it was used ({name}, scored {b['scored']}: "
            f"{b['sentences']} sentences from {b['sites']} sites): precision {b['precision']:.2f}, recall "
            f"{b['recall']:.2f}, topics {b['topics']:.2f}, numbers {b['numbers']:.2f}, "
            f"{b['non_claim_verdicts']} of {b['non_claims']} non-claims given a verdict.")


def _spread(scorings: dict[str, Any]) -> str:
    """How far apart the collections' first whole scorings are: what to expect of a new kind of page."""
    if len(scorings) < 2:
        return ""
    p = [v["precision"] for v in scorings.values()]
    r = [v["recall"] for v in scorings.values()]
    return (f" The {len(scorings)} collections scored whole before they were used range from precision "
            f"{min(p):.2f} to {max(p):.2f} and recall {min(r):.2f} to {max(r):.2f}: expect a new kind of page "
            "anywhere in that range.")


def _untouched(batches: dict[str, Any]) -> str:
    """Each batch collected after the last tuning, scored whole (both halves): the checker as a new user meets it.
    Every such batch is shown, each with its own counts, so a small one is read as small, not as the only one."""
    def counts(b: dict[str, Any], wrong: str) -> str:
        return f" ({b['tp']} of {b['tp'] + b[wrong]})" if "tp" in b and wrong in b else ""

    return "".join(
        f" On a batch collected after all tuning ({name}: {b['sentences']} sentences from {b['sites']} "
        f"sites, both halves, none of it ever read by the matcher): precision {b['precision']:.2f}"
        f"{counts(b, 'fp')}, recall {b['recall']:.2f}{counts(b, 'fn')}, topics {b['topics']:.2f}, numbers "
        f"{b['numbers']:.2f}, {b['non_claim_verdicts']} of {b['non_claims']} non-claims given a verdict."
        for name, b in batches.items())


def _ceiling(a: dict[str, Any] | None) -> str:
    """Two careful readers compared, scored as if the second were the checker, and (when measured) the checker on
    the same sentences: figures near the readers' are as good as these labels can show."""
    if not a:
        return ""
    numbers = (f" and numbers {a['numbers']:.2f} ({a['numbers_read']} of {a['numbers_labelled']})"
               if a.get("numbers_labelled") else "")
    text = (f" A second labeller, blind to the first, labelled {a['sentences']} of the sentences: scored as if it "
            f"were the checker it reaches precision {a['precision']:.2f}, recall {a['recall']:.2f}"
            f"{',' if numbers else ' and'} topics {a['topic_agreement']:.2f}{numbers}, so figures near those are as "
            "good as these labels can show.")
    c = a.get("checker")
    if c:
        numbered = a.get("numbers_labelled") and "numbers_on_numbered" in c
        text += (f" On the same sentences the checker reaches precision {c['precision']:.2f}, recall "
                 f"{c['recall']:.2f}{',' if numbered else ' and'} topics {c['topics']:.2f}")
        if numbered:
            text += f" and numbers {c['numbers_on_numbered']:.2f}"
        acc = c.get("accepted") or {}
        if acc.get("matches"):
            text += (f"; {acc['either']} of its {acc['matches']} matches are the claim one reader or the other "
                     f"gave ({acc['first']} the first's)")
        text += "."
    g = a.get("adjudicated")
    if g:
        c, first = g["checker"], g["first"]
        text += (f" Where the two disagreed a third reader settled the label ({g['adjudicated']['sentences']} of "
                 f"{c['sentences']} sentences): against those settled labels the corpus's own labels reach precision "
                 f"{first['precision']:.2f} and recall {first['recall']:.2f}, and the checker precision "
                 f"{c['precision']:.2f}, recall {c['recall']:.2f}, topics {c['topics']:.2f} (the third reader had "
                 "the second's brief, so these lean to its conventions).")
    return text


def match_labels_text(result: dict[str, Any] | None = None, path: Path = RESULTS) -> str:
    """What the findings table's "close match" and "possible match" have earned on the test half and on the newest
    collection never used, for the reader of a check; empty when the figures (or their thresholds) are not in the
    results file."""
    try:
        result = json.loads(path.read_text(encoding="utf-8")) if result is None else result
        test, limits = result["test"], result["thresholds"]
        close, close_tp = test["close"], test["close_tp"]
        possible, possible_tp = test["tp"] + test["fp"] - close, test["tp"] - close_tp
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    text = (f"A **close match** (a curated quote, or a match score of {limits['close']:g} or more) was right in "
            f"{close_tp} of {close} on the test half's sites, never used for tuning; a **possible match** (score "
            f"{limits['match']:g} to {limits['close']:g}) in {possible_tp} of {possible}.")
    untouched = {n: b for n, b in (result.get("untouched") or {}).items() if "close" in b}
    for name, b in untouched.items():  # each collection never tuned on, with its own counts
        text += f" On a newer collection, never tuned on ({name}), {_bands(b)}."
    # once every collection has been tuned on, the newest first scoring is the only record of how the labels held
    # on pages never seen (by the checker of its day: its thresholds may differ from today's)
    first = [(n, b) for n, b in (result.get("first_scorings") or {}).items() if isinstance(b, dict) and "close" in b]
    if not untouched and first:
        name, b = first[-1]
        text += (f" On the newest collection when it was first scored, by the checker of its day and before any of "
                 f"it was used ({name}, {b.get('scored', 'date not recorded')}), {_bands(b)}.")
    return text + " Check any match against the claim's quotes before citing it, a possible one above all."


def _bands(b: dict[str, Any]) -> str:
    """How a collection's close and possible matches fared, with their counts."""
    return (f"close matches were right in {b['close_tp']} of {b['close']} and possible ones in "
            f"{b['tp'] - b['close_tp']} of {b['tp'] + b['fp'] - b['close']}")
