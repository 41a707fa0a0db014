"""``python -m bench.eval_checker``: the text checker measured on real clinic sentences (``make eval-checker``).

The corpus (``bench/corpus/real_sentences_*.yaml``) is one verbatim sentence per item from real ketamine and
esketamine marketing pages, labelled by reading: its kind (claim, topic-only, non-claim, other-treatment), the
curated claim it makes (or null), its topics, and every number with kind, value and unit.

Split.  By site, fixed before any label was read (``split``): a site goes to the development half when the
first byte of ``sha256("ketamine-evidence:" + site)`` is even, else to the test half.  The rule looks at the
site alone, so a site never changes half when sentences are added (an earlier fallback that re-dealt every site
when the halves were unbalanced was removed for that reason).  Tuning (the match threshold, the re-ranker's
weights, the rules) reads the development half only; the test half is reported, never tuned on.

Batches.  Each corpus file names the collection it belongs to (``batch:``; files without one are the first
collection).  The test half is also reported batch by batch.  A batch none of whose sites gave the matcher an
example is scored whole (``untouched``: the checker as a new user meets it), and each batch's first such scoring
is kept in the results file from run to run (``first_scorings``), since once its development half becomes
examples the batch is tuned on and no later figure says how the checker met it.

Figures.  Claim matching: precision (predicted claim is the labelled claim or one of ``also_claims``) and
recall (labelled sentences with a curated claim id whose claim was found); claim ids not in data/claims.yaml
count as null.  Topics: a sentence is right when any predicted topic is a labelled topic, or when it is
labelled with no topic and gets none.  Numbers: a labelled number is read when the checker finds a quantity
with the same value (low and high, after unit conversion) and a compatible unit; calendar years are not amounts
and are not scored (``is_calendar_year``); the figure is also given for stated values alone, since how many
vague quantities ("a few", "most patients") labellers record varies from brief to brief.  Non-claims: sentences of
kind ``non-claim`` that got a verdict (target 0).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from evidence.checking.quantities import CURRENCY_CODES, DOSE_UNIT_NAMES
from evidence.curation.yaml_reader import parse_data

CORPUS_DIR = Path(__file__).parent / "corpus"
RESULTS = Path(__file__).parent / "results" / "eval_checker.json"  # read by the Methods page
KINDS = ("claim", "topic-only", "non-claim", "other-treatment")
TARGETS = {"precision": 0.85, "recall": 0.75, "topics": 0.90, "numbers": 0.95}
MAX_IMBALANCE = 0.20  # the halves' sizes may differ by this share at most (a test checks it)
FIRST_BATCH = "first collection"
NUMBER_KINDS = ("share", "onset", "duration", "count", "infusion_length", "other")
NUMBER_UNITS = ("minutes", "hours", "days", "weeks", "months", "years", "decades", "percent", "infusions", "none")
FOLDS = 5
CLOSE_PRECISION = 0.9  # a "close" match (matching.CLOSE_THRESHOLD): right nine times in ten out of fold
_HOURS = {"minutes": 1 / 60, "hours": 1.0, "days": 24.0, "weeks": 168.0, "months": 730.0, "years": 8760.0,
          "decades": 87600.0}


# --------------------------------------------------------------------------- the corpus

@dataclass(frozen=True)
class Item:
    id: str
    site: str
    url: str
    text: str
    kind: str
    claim: str | None
    also_claims: tuple[str, ...]
    topics: tuple[str, ...]
    numbers: tuple[dict[str, Any], ...]
    source: str = ""
    batch: str = FIRST_BATCH


class CorpusError(ValueError):
    """A corpus file that does not have the documented shape (file, item, field: message)."""


def load_corpus(paths: Iterable[Path] | None = None) -> list[Item]:
    paths = sorted(CORPUS_DIR.glob("real_sentences_*.yaml")) if paths is None else list(paths)
    items: list[Item] = []
    for path in paths:
        doc = _read_yaml(path)
        raw = doc.get("sentences", doc.get("items")) if isinstance(doc, dict) else doc
        if not isinstance(raw, list):
            raise CorpusError(f"{path.name}: expected a list of sentences (or a 'sentences:' list)")
        batch = doc.get("batch", FIRST_BATCH) if isinstance(doc, dict) else FIRST_BATCH
        if not isinstance(batch, str) or not batch.strip():
            raise CorpusError(f"{path.name}: batch: expected a non-empty string")
        for k, r in enumerate(raw):
            items.append(_item(path.name, k, r, batch.strip()))
    ids = [i.id for i in items]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise CorpusError(f"duplicate ids: {', '.join(dupes)}")
    return items


def _read_yaml(path: Path) -> Any:
    """The project's strict reader (a duplicate key is refused, not silently overwritten), its errors one line with
    the file and line."""
    try:
        return parse_data(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path.name}:{mark.line + 1}" if mark is not None else path.name
        problem = getattr(exc, "problem", None) or str(exc)
        raise CorpusError(f"{where}: {' '.join(str(problem).split())}") from None


def _item(name: str, k: int, r: Any, batch: str = FIRST_BATCH) -> Item:
    where = f"{name}: item {k}"
    if not isinstance(r, dict):
        raise CorpusError(f"{where}: not a mapping")
    for key in ("id", "site", "text", "kind"):
        if not isinstance(r.get(key), str) or not r[key].strip():
            raise CorpusError(f"{where} ({r.get('id')}): {key}: missing or not a string")
    if r["kind"] not in KINDS:
        raise CorpusError(f"{where} ({r['id']}): kind: {r['kind']!r} is not one of {', '.join(KINDS)}")
    numbers = r.get("numbers") or []
    if not isinstance(numbers, list) or not all(isinstance(n, dict) for n in numbers):
        raise CorpusError(f"{where} ({r['id']}): numbers: expected a list of mappings")
    topics = r.get("topics") or []
    if isinstance(topics, str):
        topics = [topics]
    from evidence.checking.topics import ORDER

    for t in topics:
        if t not in ORDER:
            raise CorpusError(f"{where} ({r['id']}): topics: {t!r} is not a topic ({', '.join(ORDER)})")
    for n in numbers:
        if n.get("kind") not in NUMBER_KINDS:
            raise CorpusError(f"{where} ({r['id']}): numbers: kind {n.get('kind')!r} is not one of "
                              f"{', '.join(NUMBER_KINDS)}")
        if str(n.get("unit") or "none") not in NUMBER_UNITS:
            raise CorpusError(f"{where} ({r['id']}): numbers: unit {n.get('unit')!r} is not one of "
                              f"{', '.join(NUMBER_UNITS)}")
        for end in ("low", "high"):
            v = n.get(end)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise CorpusError(f"{where} ({r['id']}): numbers: {end} {v!r} is not a number")
        if n.get("low") is None and not n.get("vague"):
            raise CorpusError(f"{where} ({r['id']}): numbers: {n.get('text')!r} has no value and is not vague")
    return Item(str(r["id"]), r["site"].strip().lower().removeprefix("www."), str(r.get("url") or ""),
                r["text"].strip(), r["kind"], r.get("claim") or None, tuple(r.get("also_claims") or ()),
                tuple(topics), tuple(numbers), name, batch)


def _site_hash(site: str) -> bytes:
    return hashlib.sha256(f"ketamine-evidence:{site}".encode()).digest()


def split(items: list[Item]) -> tuple[dict[str, str], str]:
    """{site: "dev" | "test"} and the rule used (see the module docstring): the site's hash alone decides."""
    return {i.site: ("dev" if _site_hash(i.site)[0] % 2 == 0 else "test") for i in items}, \
        "sha256 parity of the site"


# --------------------------------------------------------------------------- scoring

@dataclass
class Scores:
    n: int = 0
    sites: set[str] = field(default_factory=set)
    tp: int = 0
    fp: int = 0
    fn: int = 0
    close_tp: int = 0  # matches shown as close (``Finding.strength``), and of them the right ones
    close: int = 0
    topic_right: int = 0
    numbers: int = 0
    numbers_read: int = 0
    numbers_kind_right: int = 0
    numbers_vague: int = 0  # labelled with no value ("a few weeks", "most patients" coded vague)
    numbers_vague_read: int = 0
    non_claims: int = 0
    non_claim_verdicts: int = 0
    mistakes: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def topics(self) -> float:
        return self.topic_right / self.n if self.n else 1.0

    @property
    def numbers_rate(self) -> float:
        return self.numbers_read / self.numbers if self.numbers else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"sentences": self.n, "sites": len(self.sites), "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "tp": self.tp, "fp": self.fp, "fn": self.fn,
                "close": self.close, "close_tp": self.close_tp,
                "topics": round(self.topics, 4), "topic_right": self.topic_right,
                "numbers": round(self.numbers_rate, 4), "numbers_read": self.numbers_read,
                "numbers_labelled": self.numbers, "numbers_kind_right": self.numbers_kind_right,
                "numbers_vague": self.numbers_vague, "numbers_vague_read": self.numbers_vague_read,
                "non_claims": self.non_claims, "non_claim_verdicts": self.non_claim_verdicts}


def acceptable_claims(item: Item, known: set[str]) -> set[str]:
    return {c for c in (item.claim, *item.also_claims) if c and c in known}


def number_read(label: dict[str, Any], quantities: list[dict[str, Any]], sentence: str = "") -> tuple[bool, bool]:
    """(value and unit read, and also its kind) for one labelled number against the checker's quantities.

    A vague number ("within hours", "a few weeks": ``vague: true`` or no value) is read when a quantity of a
    compatible unit covers the labelled words; a stated one when low and high agree after unit conversion.
    """
    lo, hi, unit = label.get("low"), label.get("high"), str(label.get("unit") or "none")
    hi = lo if hi is None else hi
    value_hit = kind_hit = False
    span = _span(sentence, str(label.get("text") or ""))
    for q in quantities:
        if lo is None or label.get("vague"):
            qspan = _span(sentence, q.get("text") or "")
            ok = (span is not None and qspan is not None and qspan[0] < span[1] and span[0] < qspan[1]
                  and _unit_family(unit) == _unit_family(q["unit"]))
        else:  # a second labeller's vague number (no value) never matches a stated one
            ok = q.get("low") is not None and _same_value(float(lo), float(hi), unit, q)
        if not ok:
            continue
        value_hit = True
        if label.get("kind") in (q["kind"], "other"):
            kind_hit = True
    return value_hit, kind_hit


def is_calendar_year(label: dict[str, Any]) -> bool:
    """A date ("in 1964", "the 1960s"), not an amount: not scored, as the checker reads no dates by design and the
    first collection left them unlabelled (later labellers sometimes recorded them)."""
    low = label.get("low")
    return (label.get("kind") == "other" and str(label.get("unit")) in ("years", "none")
            and isinstance(low, (int, float)) and not isinstance(low, bool) and 1000 <= low <= 2100
            and str(int(low)) in str(label.get("text") or ""))


def _span(sentence: str, text: str) -> tuple[int, int] | None:
    at = sentence.lower().find(text.lower()) if text else -1
    return (at, at + len(text)) if at >= 0 else None


def _unit_family(unit: str) -> str:
    return "time" if unit in _HOURS or unit == "decades" else ("percent" if unit == "percent" else "count")


def _same_value(lo: float, hi: float, unit: str, q: dict[str, Any]) -> bool:
    if unit in _HOURS:
        if q["unit"] not in _HOURS:
            return False
        scale_l, scale_q = _HOURS[unit], _HOURS[q["unit"]]
        a, b = lo * scale_l, hi * scale_l
        c, d = q["low"] * scale_q, q["high"] * scale_q
    elif unit == "percent":
        if q["unit"] != "percent":
            return False
        a, b, c, d = lo, hi, q["low"], q["high"]
    else:  # infusions / none: counts, doses and prices (the labels' unit list has no mg or $: labellers wrote "none")
        if (q["kind"] != "count" and q["unit"] not in ("infusions", "none") and q["unit"] not in DOSE_UNIT_NAMES
                and q["unit"] not in CURRENCY_CODES):
            return False
        a, b, c, d = lo, hi, q["low"], q["high"]
    tol = lambda x: max(0.011 * abs(x), 0.01)  # noqa: E731 - rounding of 2/3, a month as 30.4 days
    return abs(a - c) <= tol(a) and abs(b - d) <= tol(b)


def site_folds(items: list[Item], n: int = FOLDS) -> dict[str, frozenset[str]]:
    """{site: the sites of its fold}: development sites in sha256 order, dealt into ``n`` folds.

    A development sentence is checked with its fold's labelled examples left out of the matcher, so that the
    development figures are for sites the matcher has not seen, like the test half's.
    """
    sites = sorted({i.site for i in items}, key=_site_hash)
    fold = {s: k % n for k, s in enumerate(sites)}
    members = {k: frozenset(s for s in sites if fold[s] == k) for k in range(n)}
    return {s: members[fold[s]] for s in sites}


def evaluate(items: list[Item], dataset: Any, tables: Any, *, keep_mistakes: bool = False,
             held_out: dict[str, frozenset[str]] | None = None, seen: dict[Any, Any] | None = None) -> Scores:
    """Score the checker on ``items``; ``held_out`` maps a site to the example sites to leave out for it.

    ``seen`` keeps each item's finding across calls (the test half, its batches and an untouched batch overlap),
    keyed by the item and the sites left out, so no sentence is checked twice under the same conditions.
    """
    from evidence.checking.checker import check_text

    held_out = held_out or {}
    seen = {} if seen is None else seen
    known = {c.id for c in dataset.claims}
    s = Scores()
    for item in items:
        excluded = held_out.get(item.site, frozenset())
        key = (item.id, excluded)
        if key not in seen:
            [seen[key]] = check_text(item.text, dataset, tables, html=False, include_all=True, as_sentence=True,
                                     exclude_sites=excluded)
        f = seen[key]
        s.n += 1
        s.sites.add(item.site)
        expected = acceptable_claims(item, known)
        predicted = f.claim_id
        s.close += f.strength == "close"
        if predicted is not None and predicted in expected:
            s.tp += 1
            s.close_tp += f.strength == "close"
        elif predicted is not None:
            s.fp += 1
            s.fn += bool(expected)
        elif expected:
            s.fn += 1
        if keep_mistakes and predicted not in (expected | ({None} if not expected else set())):
            s.mistakes.append(f"claim {item.id}: expected {sorted(expected) or None}, got {predicted} "
                              f"({f.similarity:g}): {item.text[:110]}")
        labelled = set(item.topics)
        got = set(f.topics)
        right = bool(labelled & got) if labelled else not got
        s.topic_right += right
        if keep_mistakes and not right:
            s.mistakes.append(f"topic {item.id}: expected {sorted(labelled)}, got {sorted(got)}: {item.text[:110]}")
        for label in item.numbers:
            if is_calendar_year(label):
                continue
            s.numbers += 1
            value_hit, kind_hit = number_read(label, f.quantities, item.text)
            s.numbers_read += value_hit
            if label.get("low") is None or label.get("vague"):
                s.numbers_vague += 1
                s.numbers_vague_read += value_hit
            s.numbers_kind_right += kind_hit
            if keep_mistakes and not value_hit:
                got_q = [(q["kind"], q["low"], q["high"], q["unit"]) for q in f.quantities]
                s.mistakes.append(f"number {item.id}: {label.get('text')!r} {label.get('low')}-{label.get('high')} "
                                  f"{label.get('unit')}, got {got_q}")
        if item.kind == "non-claim":
            s.non_claims += 1
            s.non_claim_verdicts += f.verdict is not None
            if keep_mistakes and f.verdict is not None:
                s.mistakes.append(f"verdict {item.id}: non-claim got {f.verdict}: {item.text[:110]}")
    return s


# --------------------------------------------------------------------------- fitting the re-ranker

def candidate_pairs(items: list[Item], dataset: Any, held_out: dict[str, frozenset[str]]
                    ) -> tuple[list[list[float]], list[int], list[int], list[str]]:
    """(features, label, item number, claim id) for every retrieved candidate of every item."""
    from evidence.checking.checker import _figures_as_quantities, claim_index
    from evidence.checking.matching import FEATURES
    from evidence.checking.quantities import extract_quantities
    from evidence.checking.topics import classify_topics

    index = claim_index(dataset)
    known = set(index.claims)
    x, y, group, cids = [], [], [], []
    for n, item in enumerate(items):
        quantities = extract_quantities(item.text)
        topics = classify_topics(item.text, quantities, descriptive=False)
        expected = acceptable_claims(item, known)
        for c in index.candidates(item.text, _figures_as_quantities(quantities), topics,
                                  exclude_sites=held_out[item.site]):
            if c.verbatim:
                continue
            x.append([c.features.get(f, 0.0) for f in FEATURES])
            y.append(int(c.claim_id in expected))
            group.append(n)
            cids.append(c.claim_id)
    return x, y, group, cids


# Lexical similarity to a claim's own quotes never lowers its score: left free, the word weight came out negative
# once the paraphrase classifier and votes carried the examples, and a claim with no examples (a newly curated
# one, or the synthetic fixture claims in tests/test_checker.py) could then no longer be matched.
MONOTONE = ("word", "char")


def _logistic(x: Any, y: Any, nonnegative: list[int], c: float = 1.0) -> tuple[Any, float]:
    """L2 logistic regression (as scikit-learn's, C=1) with the ``nonnegative`` weights bounded at zero."""
    import numpy as np
    from scipy.optimize import minimize
    from scipy.special import expit

    sign = 2.0 * y - 1.0

    def loss(theta: Any) -> tuple[float, Any]:
        w, b = theta[:-1], theta[-1]
        z = sign * (x @ w + b)
        value = c * np.logaddexp(0.0, -z).sum() + 0.5 * w @ w
        g = -c * sign * expit(-z)  # no overflow for a confidently right pair
        return value, np.append(x.T @ g + w, g.sum())

    bounds = [(0.0, None) if i in nonnegative else (None, None) for i in range(x.shape[1])] + [(None, None)]
    theta = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                     options={"maxiter": 5000}).x
    return theta[:-1], float(theta[-1])


def fit(items: list[Item], dataset: Any, min_precision: float = 0.8) -> dict[str, Any]:
    """Logistic weights for ``matching.WEIGHTS`` and a threshold, from the given (development) items only.

    The threshold is chosen on out-of-fold scores (5 folds grouped by site): the lowest that keeps precision at
    ``min_precision`` or above, so that it is not fitted to the very scores it is read from.
    """
    import numpy as np
    from sklearn.model_selection import GroupKFold

    from evidence.checking.matching import FEATURES

    held_out = site_folds(items)
    x, y, group, cids = candidate_pairs(items, dataset, held_out)
    x, y = np.array(x), np.array(y)
    folds = np.array([min(held_out[items[g].site]) for g in group])
    oof = np.zeros(len(y))
    monotone = [FEATURES.index(f) for f in MONOTONE]
    for train, held in GroupKFold(n_splits=FOLDS).split(x, y, folds):
        w, b = _logistic(x[train], y[train], monotone)
        oof[held] = 1.0 / (1.0 + np.exp(-(x[held] @ w + b)))
    known = {c.id for c in dataset.claims}
    best: dict[int, tuple[float, str]] = {}
    for g, p, cid in zip(group, oof, cids, strict=True):
        if g not in best or p > best[g][0]:
            best[g] = (p, cid)
    sweep = []
    for t in np.arange(0.05, 0.96, 0.01):
        tp = fp = fn = 0
        for n, item in enumerate(items):
            expected = acceptable_claims(item, known)
            p, cid = best.get(n, (0.0, None))
            if p >= t and cid in expected:
                tp += 1
            elif p >= t:
                fp += 1
                fn += bool(expected)
            else:
                fn += bool(expected)
        precision = tp / (tp + fp) if tp + fp else 1.0
        sweep.append((round(float(t), 2), precision, tp / (tp + fn) if tp + fn else 1.0))
    ok = [s for s in sweep if s[1] >= min_precision]
    threshold, precision, recall = min(ok) if ok else max(sweep, key=lambda s: s[1])
    # the score from which a match is shown as close: out-of-fold precision CLOSE_PRECISION here and at every
    # higher threshold swept, so that the label holds for the whole band above it
    close = next((s for s in sweep if all(t[1] >= CLOSE_PRECISION for t in sweep if t[0] >= s[0])), sweep[-1])
    w, b = _logistic(x, y, monotone)
    weights = {"bias": round(float(b), 3)} | {f: round(float(v), 3) for f, v in zip(FEATURES, w, strict=True)}
    return {"sweep": [s for s in sweep if round(s[0] * 100) % 5 == 0],
            "weights": weights, "threshold": round(100 * threshold, 1), "cv_precision": round(precision, 3),
            "cv_recall": round(recall, 3), "close_threshold": round(100 * close[0], 1),
            "close_cv_precision": round(close[1], 3), "close_cv_recall": round(close[2], 3),
            "pairs": len(y), "positives": int(y.sum())}


def examples_from(items: list[Item], known: set[str]) -> dict[str, list[dict[str, str]]]:
    """The development half as matching examples: claim sentences by claim, non-claim and topic-only ones as
    negatives (``evidence/checking/examples.yaml``).  A sentence that also asserts other claims (``also_claims``)
    is an example of each: out-of-fold recall at precision 0.80 rose from 0.670 to 0.682 with thirteen
    collections, at every threshold swept."""
    examples = [{"claim": c, "site": i.site, "text": i.text, "url": i.url, "topics": list(i.topics)}
                for i in items if i.kind == "claim" and i.claim in known
                for c in dict.fromkeys([i.claim, *i.also_claims]) if c in known]
    negatives = [{"site": i.site, "text": i.text, "url": i.url, "topics": list(i.topics)} for i in items
                 if i.kind in ("non-claim", "topic-only", "other-treatment") and not acceptable_claims(i, known)]
    return {"examples": examples, "negatives": negatives}


def untouched_batches(items: list[Item]) -> list[str]:
    """Batches none of whose sites gave the matcher an example: added after the last tuning (``--write-examples``,
    ``--fit``), so both their halves are unseen and can be scored whole.  By site, not by text: a stock line such
    as "What is Ketamine?" recurs on many sites."""
    from evidence.checking.matching import load_examples

    seen = {str(e.get("site", "")).lower().removeprefix("www.") for e in load_examples()}
    batches = list(dict.fromkeys(i.batch for i in items))
    return [b for b in batches if not any(i.site in seen for i in items if i.batch == b)]


def first_scorings(previous: Path, untouched: dict[str, dict[str, Any]], today: str) -> dict[str, dict[str, Any]]:
    """Each batch's figures from the first run that scored it whole, before any of it was used, kept from run to
    run: once a batch's development half becomes examples it is no longer untouched, and its first scoring is the
    only record of how the checker met pages it had never seen.  A later run never overwrites one."""
    try:
        kept = json.loads(previous.read_text(encoding="utf-8")).get("first_scorings") or {}
    except (OSError, ValueError, AttributeError):
        kept = {}
    kept = {b: v for b, v in kept.items() if isinstance(v, dict)} if isinstance(kept, dict) else {}
    for batch, figures in untouched.items():
        kept.setdefault(batch, figures | {"scored": today})
    return kept


def halves(items: list[Item]) -> tuple[list[Item], list[Item], str]:
    assignment, rule = split(items)
    dev = [i for i in items if assignment[i.site] == "dev"]
    test = [i for i in items if assignment[i.site] == "test"]
    return dev, test, rule


def load_data(data: str | None = None):
    from evidence.curation.load import data_dir, load_dataset
    from evidence.curation.tables import build_tables

    dataset = load_dataset(data_dir(data))
    return dataset, build_tables(dataset)


# --------------------------------------------------------------------------- agreement between labellers

AGREEMENT = CORPUS_DIR / "agreement"


def second_labels(path: Path = AGREEMENT) -> list[dict[str, Any]]:
    """Every blind second label (``second_labels*.yaml`` in ``path``, or the one file ``path``), ids unique."""
    files = sorted(path.glob("second_labels*.yaml")) if path.is_dir() else [path]
    labels: list[dict[str, Any]] = []
    for f in files:
        doc = _read_yaml(f) or {}
        got = doc.get("labels") if isinstance(doc, dict) else None
        if not isinstance(got, list):
            raise CorpusError(f"{f.name}: expected a 'labels:' list")
        for k, lab in enumerate(got):
            _check_label(f.name, k, lab)
        labels += [lab | {"_file": f.name} for lab in got]
    ids = [lab["id"] for lab in labels]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise CorpusError(f"second labels: ids labelled twice: {', '.join(dupes)}")
    return labels


def _check_label(name: str, k: int, lab: Any) -> None:
    """A second or settled label's shape (file, label, field: what is wrong), so that scoring never guesses."""
    if not isinstance(lab, dict) or not isinstance(lab.get("id"), str):
        raise CorpusError(f"{name}: label {k}: expected a mapping with an id")
    where = f"{name}: label {k} ({lab['id']})"
    if lab.get("claim") is not None and not isinstance(lab["claim"], str):
        raise CorpusError(f"{where}: claim: expected a claim id or null")
    for key in ("also_claims", "topics"):
        value = lab.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CorpusError(f"{where}: {key}: expected a list of strings")
    numbers = lab.get("numbers") or []
    if not isinstance(numbers, list) or not all(isinstance(n, dict) for n in numbers):
        raise CorpusError(f"{where}: numbers: expected a list of mappings")


def agreement(items: list[Item], known: set[str], path: Path = AGREEMENT,
              labels: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The second labeller scored as if it were the checker, against the first labels, with the same rules.

    This is the ceiling a labelled corpus allows: where two careful readers disagree, no checker can agree with
    both.  Precision: the second labeller's claim is one the first accepted; recall: the first labeller's claim
    is among the second's; topics: any shared topic (or both none); kind: the same kind; numbers: the first
    labeller's numbers found among the second's by ``number_read``, as the checker's quantities are (a sample
    labelled without numbers, the first, is left out of that figure).
    """
    by_id = {i.id: i for i in items}
    pairs = []
    for lab in second_labels(path) if labels is None else labels:
        if lab["id"] not in by_id:
            raise CorpusError(f"{lab['_file']}: label {lab['id']!r} is not a corpus sentence")
        pairs.append((by_id[lab["id"]], lab))
    return compare(pairs, known)


def compare(pairs: list[tuple[Item, dict[str, Any]]], known: set[str]) -> dict[str, Any]:
    """Labels scored as if they were the checker against reference items (see ``agreement``)."""
    s = {"sentences": 0, "kind": 0, "tp": 0, "predicted": 0, "labelled": 0, "found": 0, "topics": 0,
         "numbers_labelled": 0, "numbers_read": 0, "number_sentences": 0}
    for first, lab in pairs:
        s["sentences"] += 1
        s["kind"] += lab.get("kind") == first.kind
        theirs = {c for c in (lab.get("claim"), *(lab.get("also_claims") or ())) if c in known}
        mine = acceptable_claims(first, known)
        second = lab.get("claim") if lab.get("claim") in known else None
        if second is not None:
            s["predicted"] += 1
            s["tp"] += second in mine
        primary = first.claim if first.claim in known else None
        if primary is not None:
            s["labelled"] += 1
            s["found"] += primary in theirs
        a, b = set(first.topics), set(lab.get("topics") or ())
        s["topics"] += bool(a & b) if a else not b
        if "numbers" in lab:
            s["number_sentences"] += 1
            quantities = [_as_quantity(n) for n in lab["numbers"]]
            for label in first.numbers:
                if not is_calendar_year(label):
                    s["numbers_labelled"] += 1
                    s["numbers_read"] += number_read(label, quantities, first.text)[0]
    n = s["sentences"] or 1
    return s | {"precision": round(s["tp"] / (s["predicted"] or 1), 3),
                "recall": round(s["found"] / (s["labelled"] or 1), 3), "topic_agreement": round(s["topics"] / n, 3),
                "kind_agreement": round(s["kind"] / n, 3),
                "numbers": round(s["numbers_read"] / (s["numbers_labelled"] or 1), 3)}


ADJUDICATED = AGREEMENT / "adjudicated_r13.yaml"


def adjudicated(items: list[Item], known: set[str], path: Path = ADJUDICATED
                ) -> tuple[list[Item], dict[str, dict[str, Any]]]:
    """(reference items, each reader scored against them): the sentences of the second labelling the file
    ``covers``, with a third reader's label (blind to the checker, the readers in random order) wherever the two
    disagreed on the claim or topics, and the first label where they agreed.  Claims and topics only: numbers
    and kinds keep the first label."""
    doc = _read_yaml(path) or {}
    labels = doc.get("labels") if isinstance(doc, dict) else None
    covers = doc.get("covers") if isinstance(doc, dict) else None
    if not isinstance(labels, list) or not isinstance(covers, str):
        raise CorpusError(f"{path.name}: expected 'covers:' (a second-labels file) and a 'labels:' list")
    by_id = {i.id: i for i in items}
    second = {lab["id"]: lab for lab in second_labels(path.parent / covers)}
    third: dict[str, dict[str, Any]] = {}
    for k, lab in enumerate(labels):
        _check_label(path.name, k, lab)
        if lab["id"] not in second:
            raise CorpusError(f"{path.name}: label {k}: id {lab['id']!r} is not a sentence of {covers}")
        for c in (lab.get("claim"), *(lab.get("also_claims") or ())):
            if c is not None and c not in known:
                raise CorpusError(f"{path.name}: label {k} ({lab['id']}): claim {c!r} is not a curated claim")
        third[lab["id"]] = lab
    gold = []
    for sid in second:
        if sid not in by_id:
            raise CorpusError(f"{covers}: label {sid!r} is not a corpus sentence")
        item = by_id[sid]
        if sid in third:
            lab = third[sid]
            item = replace(item, claim=lab.get("claim") or None, also_claims=tuple(lab.get("also_claims") or ()),
                           topics=tuple(lab.get("topics") or ()))
        gold.append(item)
    first_as_label = {i.id: {"claim": i.claim, "also_claims": list(i.also_claims), "topics": list(i.topics)}
                      for i in items if i.id in second}
    readers = {"first": compare([(g, first_as_label[g.id]) for g in gold], known),
               "second": compare([(g, {k: v for k, v in second[g.id].items() if k != "numbers"}) for g in gold],
                                 known),
               "adjudicated": {"sentences": len(third), "chose": dict(Counter(str(x.get("chose")) for x in
                                                                             third.values()))}}
    return gold, readers


def _as_quantity(label: dict[str, Any]) -> dict[str, Any]:
    """A second labeller's number in the shape of the checker's quantities (a vague one keeps no value)."""
    low, high = label.get("low"), label.get("high")
    low = high if low is None else low
    high = low if high is None else high
    ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
    return {"kind": label.get("kind"), "low": float(low) if ok else None, "high": float(high) if ok else None,
            "unit": str(label.get("unit") or "none"), "text": str(label.get("text") or "")}


def accepted_by_either(items: list[Item], known: set[str], findings: dict[str, Any],
                       labels: list[dict[str, Any]]) -> dict[str, int]:
    """The checker's matches on the second-labelled sentences, and how many either reader accepts: a match only
    the second reader gave is within what two readers disagree on, not a plain error (a figure beside precision,
    never in its place)."""
    by_id = {i.id: i for i in items}
    out = {"matches": 0, "first": 0, "either": 0}
    for lab in labels:
        got = getattr(findings.get(lab["id"]), "claim_id", None)
        if got is None:
            continue
        theirs = {c for c in (lab.get("claim"), *(lab.get("also_claims") or ())) if c in known}
        mine = acceptable_claims(by_id[lab["id"]], known)
        out["matches"] += 1
        out["first"] += got in mine
        out["either"] += got in mine | theirs
    return out


def agreement_sample(items: list[Item], labels: list[dict[str, Any]], numbers: bool = False) -> list[Item]:
    """The corpus sentences a second labeller labelled (with ``numbers``, those it labelled numbers for), to score
    the checker on the very same sentences."""
    ids = {lab["id"] for lab in labels if not numbers or "numbers" in lab}
    return [i for i in items if i.id in ids]


def readers_and_checker(items: list[Item], known: set[str], dataset: Any, tables: Any,
                        folds: dict[str, frozenset[str]], seen: dict[Any, Any] | None = None,
                        path: Path = AGREEMENT) -> dict[str, Any]:
    """``agreement`` with the checker scored on the very same sentences (development ones out of fold, as in the
    development figures), so that the readers' ceiling and the checker are read side by side."""
    seen = {} if seen is None else seen
    labels = second_labels(path)  # read once for every figure below
    a = agreement(items, known, labels=labels)
    sample = agreement_sample(items, labels)
    same = evaluate(sample, dataset, tables, held_out=folds, seen=seen)
    numbered = evaluate(agreement_sample(items, labels, numbers=True), dataset, tables, held_out=folds, seen=seen)
    findings = {i.id: seen[(i.id, folds.get(i.site, frozenset()))] for i in sample}
    a = a | {"checker": same.as_dict() | {"numbers_on_numbered": round(numbered.numbers_rate, 4),
                                          "numbers_read_on_numbered": numbered.numbers_read,
                                          "numbers_labelled_on_numbered": numbered.numbers,
                                          "accepted": accepted_by_either(items, known, findings, labels)}}
    adjudication = (path if path.is_dir() else path.parent) / ADJUDICATED.name
    if adjudication.is_file():
        gold, readers = adjudicated(items, known, adjudication)
        checker = evaluate(gold, dataset, tables, held_out=folds, seen=seen)
        a["adjudicated"] = readers | {"checker": checker.as_dict()}
    return a


# --------------------------------------------------------------------------- the report

def report(dev: Scores, test: Scores, rule: str, items: list[Item], unknown: dict[str, int],
           by_batch: dict[str, Scores] | None = None, agreement_figures: dict[str, Any] | None = None) -> str:
    rows = [("claim matching: precision", "precision", TARGETS["precision"]),
            ("claim matching: recall", "recall", TARGETS["recall"]),
            ("topic right (any labelled topic)", "topics", TARGETS["topics"]),
            ("numbers read with value and unit", "numbers_rate", TARGETS["numbers"])]
    out = [f"Checker accuracy on {len(items)} real sentences from {len({i.site for i in items})} sites "
           f"(split by site: {rule}; tuned on development only)", "",
           f"{'':40} {'development':>18} {'test':>18} {'target':>8}"]
    for label, attr, target in rows:
        out.append(f"{label:40} {_cell(dev, attr):>18} {_cell(test, attr):>18} {target:>8.2f}")
    out.append(f"{'  of which stated values':40} {_stated(dev):>18} {_stated(test):>18}")
    out.append(f"{'matches shown as close: precision':40} {_close(dev):>18} {_close(test):>18}")
    out.append(f"{'matches shown as possible: precision':40} {_close(dev, False):>18} {_close(test, False):>18}")
    out.append(f"{'non-claims given a verdict':40} {f'{dev.non_claim_verdicts} of {dev.non_claims}':>18} "
               f"{f'{test.non_claim_verdicts} of {test.non_claims}':>18} {'0':>8}")
    out.append(f"{'sentences / sites':40} {f'{dev.n} / {len(dev.sites)}':>18} {f'{test.n} / {len(test.sites)}':>18}")
    if agreement_figures:
        out += ["", _agreement_line(agreement_figures)]
    if by_batch:
        out += ["", "test half by batch (a later batch's sites were never read while tuning):",
                f"{'':40} " + " ".join(f"{b[:18]:>18}" for b in by_batch)]
        for label, attr, _ in rows:
            out.append(f"{label:40} " + " ".join(f"{_cell(sc, attr):>18}" for sc in by_batch.values()))
        out.append(f"{'non-claims given a verdict':40} " + " ".join(
            f"{f'{sc.non_claim_verdicts} of {sc.non_claims}':>18}" for sc in by_batch.values()))
        out.append(f"{'sentences / sites':40} " + " ".join(
            f"{f'{sc.n} / {len(sc.sites)}':>18}" for sc in by_batch.values()))
    if unknown:
        out += ["", "claim ids not in data/claims.yaml, counted as null: "
                + ", ".join(f"{k} ({v})" for k, v in sorted(unknown.items()))]
    return "\n".join(out) + "\n"


def _agreement_line(a: dict[str, Any]) -> str:
    """Two readers compared (the ceiling), and the checker on the same sentences when it was scored there."""
    line = (f"two labellers on {a['sentences']} sentences (the second blind to the first; the ceiling): claim "
            f"precision {a['precision']:.2f} ({a['tp']} of {a['predicted']}), recall {a['recall']:.2f} ({a['found']} "
            f"of {a['labelled']}), topics {a['topic_agreement']:.2f}, kind {a['kind_agreement']:.2f}")
    if a.get("numbers_labelled"):
        line += (f", numbers {a['numbers']:.2f} ({a['numbers_read']} of {a['numbers_labelled']}, on the "
                 f"{a['number_sentences']} sentences labelled with numbers)")
    c = a.get("checker")
    if c:
        line += (f"\nthe checker on the same {c['sentences']} sentences (development ones out of fold): precision "
                 f"{c['precision']:.2f} ({c['tp']} of {c['tp'] + c['fp']}), recall {c['recall']:.2f} ({c['tp']} of "
                 f"{c['tp'] + c['fn']}), topics {c['topics']:.2f}")
        if "numbers_on_numbered" in c and a.get("numbers_labelled"):
            line += (f", numbers {c['numbers_on_numbered']:.2f} ({c['numbers_read_on_numbered']} of "
                     f"{c['numbers_labelled_on_numbered']}, the same sentences as the labellers' figure)")
        acc = c.get("accepted")
        if acc and acc["matches"]:
            line += (f"; of its {acc['matches']} matches the first reader accepts {acc['first']}, either reader "
                     f"{acc['either']} ({acc['either'] / acc['matches']:.2f})")
    g = a.get("adjudicated")
    if g:
        n, settled = g["checker"]["sentences"], g["adjudicated"]["sentences"]
        line += (f"\nagainst adjudicated labels on {n} of them (a third reader settled the {settled} where the two "
                 "disagreed on claim or topics):")
        for who in ("first", "second"):
            r = g[who]
            line += (f"\n  {who} reader: precision {r['precision']:.2f} ({r['tp']} of {r['predicted']}), recall "
                     f"{r['recall']:.2f} ({r['found']} of {r['labelled']}), topics {r['topic_agreement']:.2f}")
        c = g["checker"]
        line += (f"\n  checker: precision {c['precision']:.2f} ({c['tp']} of {c['tp'] + c['fp']}), recall "
                 f"{c['recall']:.2f} ({c['tp']} of {c['tp'] + c['fn']}), topics {c['topics']:.2f}")
    return line


def _vague(s: Scores) -> str:
    """The numbers figure split into stated values and vague ones: how many vague quantities labellers record
    ("a few", "most", "many studies") varies with the brief, and the split keeps collections comparable."""
    stated = s.numbers - s.numbers_vague
    return (f"stated {s.numbers_read - s.numbers_vague_read} of {stated}, vague {s.numbers_vague_read} of "
            f"{s.numbers_vague}")


def _thresholds() -> dict[str, float]:
    from evidence.checking.matching import CLOSE_THRESHOLD, MATCH_THRESHOLD

    return {"match": MATCH_THRESHOLD, "close": CLOSE_THRESHOLD}


def _close(s: Scores, close: bool = True) -> str:
    """Precision of the matches shown as close (or as possible): what each label on the page has earned."""
    right, shown = (s.close_tp, s.close) if close else (s.tp - s.close_tp, s.tp + s.fp - s.close)
    return f"{right / shown if shown else 1.0:.2f} ({right}/{shown})"


def _stated(s: Scores) -> str:
    stated = s.numbers - s.numbers_vague
    read = s.numbers_read - s.numbers_vague_read
    return f"{read / stated if stated else 1.0:.2f} ({read}/{stated})"


def _cell(s: Scores, attr: str) -> str:
    value = getattr(s, attr)
    counts = {"precision": (s.tp, s.tp + s.fp), "recall": (s.tp, s.tp + s.fn), "topics": (s.topic_right, s.n),
              "numbers_rate": (s.numbers_read, s.numbers)}[attr]
    return f"{value:.2f} ({counts[0]}/{counts[1]})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.eval_checker", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="the curated data directory (default: data/)")
    p.add_argument("--corpus", nargs="*", type=Path, help="corpus files (default: bench/corpus/real_sentences_*.yaml)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--fit", action="store_true", help="fit the re-ranker's weights and threshold on the "
                   "development half and print them (for evidence/checking/matching.py)")
    p.add_argument("--write-examples", action="store_true", help="write the development half's labelled sentences "
                   "to evidence/checking/examples.yaml (the matcher's paraphrase examples)")
    p.add_argument("--agreement", action="store_true", help="score a blind second labelling of a sample against "
                   "the corpus labels (bench/corpus/agreement/), the ceiling for any checker")
    p.add_argument("--dev-only", action="store_true", help="evaluate the development half only (while tuning)")
    p.add_argument("--mistakes", choices=("dev",), help="list the development half's mistakes (for tuning; the "
                                                           "test half is not even scored, its mistakes never listed)")
    args = p.parse_args(argv)
    args.dev_only = args.dev_only or bool(args.mistakes)  # reading mistakes is tuning: the test half stays unseen
    try:
        items = load_corpus(args.corpus)
    except (CorpusError, OSError, yaml.YAMLError) as exc:
        print(f"eval-checker: {exc}", file=sys.stderr)
        return 2
    if not items:
        print("eval-checker: no corpus files in bench/corpus/", file=sys.stderr)
        return 2
    dataset, tables = load_data(args.data)
    known = {c.id for c in dataset.claims}
    unknown: dict[str, int] = {}
    for i in items:
        for c in (i.claim, *i.also_claims):
            if c and c not in known:
                unknown[c] = unknown.get(c, 0) + 1
    dev_items, test_items, rule = halves(items)
    if args.agreement:
        try:
            a = readers_and_checker(items, known, dataset, tables, site_folds(dev_items))
        except (CorpusError, OSError, yaml.YAMLError) as exc:
            print(f"eval-checker: {exc}", file=sys.stderr)
            return 2
        print(_agreement_line(a))
        return 0
    if args.write_examples:
        from evidence.checking.matching import EXAMPLES

        doc = examples_from(dev_items, known)
        header = ("# Generated by `python -m bench.eval_checker --write-examples` from the DEVELOPMENT half of\n"
                  "# bench/corpus (real clinic sentences, one each, with the page they are on). Used by the\n"
                  "# matcher as paraphrase examples of the curated claims and as non-claim examples.\n"
                  "# Do not edit by hand.\n")
        EXAMPLES.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000),
                            encoding="utf-8")
        print(f"wrote {EXAMPLES}: {len(doc['examples'])} examples, {len(doc['negatives'])} negatives")
        return 0
    if args.fit:
        print(json.dumps(fit(dev_items, dataset), indent=2))
        return 0
    folds = site_folds(dev_items)
    seen: dict[Any, Any] = {}  # keyed by sentence and the sites left out: the development half's findings are reused
    dev = evaluate(dev_items, dataset, tables, keep_mistakes=args.mistakes == "dev", held_out=folds, seen=seen)
    test = evaluate([] if args.dev_only else test_items, dataset, tables, seen=seen)
    batches = list(dict.fromkeys(i.batch for i in items))
    by_batch = {} if args.dev_only or len(batches) < 2 else {
        b: evaluate([i for i in test_items if i.batch == b], dataset, tables, seen=seen) for b in batches}
    untouched = {} if args.dev_only else {b: evaluate([i for i in items if i.batch == b], dataset, tables, seen=seen)
                                          for b in untouched_batches(items)}
    second = None
    if not args.dev_only and args.corpus is None and AGREEMENT.is_dir():  # its ids are the full corpus's
        try:
            second = readers_and_checker(items, known, dataset, tables, folds, seen)
        except (CorpusError, OSError, yaml.YAMLError) as exc:
            print(f"eval-checker: {exc}", file=sys.stderr)
            return 2
    result = {"rule": rule, "development": dev.as_dict(), "test": test.as_dict(),
              "test_by_batch": {b: sc.as_dict() for b, sc in by_batch.items()}, "agreement": second,
              "untouched": {b: sc.as_dict() for b, sc in untouched.items()},
              "unknown_claims": unknown, "thresholds": _thresholds()}
    if not args.dev_only and args.corpus is None and args.data is None:
        result["first_scorings"] = first_scorings(RESULTS, result["untouched"], datetime.date.today().isoformat())
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(report(dev, test, rule, items, unknown, by_batch, second), end="")
        for b, sc in untouched.items():
            print(f"\nwhole batch collected after the last tuning ({b}; none of it among the matcher's examples, "
                  f"both halves): precision {_cell(sc, 'precision')}, recall {_cell(sc, 'recall')}, topics "
                  f"{_cell(sc, 'topics')}, numbers {_cell(sc, 'numbers_rate')} ({_vague(sc)}), non-claims given "
                  "a verdict "
                  f"{sc.non_claim_verdicts} of {sc.non_claims}; {sc.n} sentences, {len(sc.sites)} sites")
    if args.mistakes:
        print("\nDevelopment-half mistakes:")
        for m in dev.mistakes:
            print("  " + m)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
