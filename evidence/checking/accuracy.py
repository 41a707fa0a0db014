"""The checker's measured accuracy on real clinic sentences, for the Methods page (from ``make eval-checker``).

``bench/results/eval_checker.json`` is written by ``python -m bench.eval_checker``; the figures shown are the
test half's (sites never used for tuning), beside the development half's.
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "eval_checker.json"


def accuracy_markdown(path: Path = RESULTS) -> str:
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
        dev, test = result["development"], result["test"]
    except (OSError, ValueError, KeyError, TypeError):
        return "The checker's accuracy has not been measured on this copy (run `make eval-checker`)."
    return (
        f"*Check a text* was measured on {dev['sentences'] + test['sentences']} real sentences from "
        f"{dev['sites'] + test['sites']} ketamine clinic and health-blog sites (not the five source pages), one "
        "sentence each with its URL, labelled by reading (claim, topics, every number). The sites were split in "
        f"two before any tuning ({result['rule']}); the matcher's examples, weights and threshold come from the "
        f"development half only. On the **test half** ({test['sentences']} sentences, {test['sites']} sites): "
        f"claim matching precision **{test['precision']:.2f}** ({test['tp']} of {test['tp'] + test['fp']} "
        f"matches right) and recall **{test['recall']:.2f}** ({test['tp']} of {test['tp'] + test['fn']} claims "
        f"found); topic right {test['topics']:.2f}; numbers read with value and unit {test['numbers']:.2f} "
        f"({test['numbers_read']} of {test['numbers_labelled']}); {test['non_claim_verdicts']} of "
        f"{test['non_claims']} non-claim sentences given a verdict. Development half (its own examples left out "
        f"fold by fold): precision {dev['precision']:.2f}, recall {dev['recall']:.2f}, topics {dev['topics']:.2f}, "
        f"numbers {dev['numbers']:.2f}. A wrong match shows another claim's verdict, so read any match as a lead "
        "to check, not a finding."
    )
