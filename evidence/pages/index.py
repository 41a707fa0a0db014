"""The claims index model (the landing page): one card per claim, the filters and what they match.

Pandas-free, so the landing page stays light; the static site's index uses the same cards and the
same matching rule (its small script mirrors :func:`matches`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evidence.curation.load import Dataset
from evidence.curation.verdicts import VERDICTS

INTRO = ("Clinic and health-blog pages make specific promises about ketamine therapy. Each claim below is quoted "
         "verbatim from its page and set against the published trials: a **verdict** on the claim and, separately, "
         "the **certainty** of the evidence behind it (GRADE). Open a claim for the numbers, the chart and the "
         "studies.")


@dataclass(frozen=True)
class Card:
    id: str
    short: str
    verdict: str
    certainty: str | None
    topic: str
    pages: int
    quote: str
    source_title: str
    sources: tuple[str, ...]
    search_text: str


@dataclass(frozen=True)
class ClaimsIndex:
    cards: list[Card]
    topics: list[str]
    verdicts: list[str]
    sources: dict[str, str]  # source id -> page title


def build(dataset: Dataset) -> ClaimsIndex:
    titles = {s.id: s.title for s in dataset.sources}
    cards = []
    for c in dataset.claims:
        first = c.appearances[0]
        cards.append(Card(
            id=c.id, short=c.short, verdict=c.verdict, certainty=c.certainty, topic=c.topic,
            pages=len({a.source for a in c.appearances}), quote=first.quote,
            source_title=titles.get(first.source, first.source),
            sources=tuple(dict.fromkeys(a.source for a in c.appearances)),
            search_text=search_key(c.short + " " + " ".join(a.quote for a in c.appearances))))
    verdicts = [v for v in VERDICTS if any(c.verdict == v for c in dataset.claims)]
    return ClaimsIndex(cards, sorted({c.topic for c in dataset.claims}), verdicts, titles)


_NOT_WORD = re.compile(r"[^\w%]+")  # what separates words for the search ("%" stays: "80%" is searched for)


def search_key(text: str) -> str:
    """Text as the claims search compares it: lower case, punctuation, hyphens and dashes as spaces, runs of
    spaces as one, so that "24-hour", "24  hours" and "24 hours " all find "24 hours" (static/filters.js applies
    the same rule)."""
    return _NOT_WORD.sub(" ", text.lower()).strip()


def matches(card: Card, topics=(), verdicts=(), sources=(), query: str = "") -> bool:
    """A card passes when it matches every filter given (an empty filter, or a blank search, matches all)."""
    query = search_key(query or "")
    return ((not topics or card.topic in topics) and (not verdicts or card.verdict in verdicts)
            and (not sources or any(s in sources for s in card.sources))
            # from the start of a word: "ECT" had found 22 claims by "effect" and "injection", none about ECT
            and (not query or f" {query}" in f" {card.search_text}"))


def counts(cards: list[Card]) -> str:
    """"Unsupported: 3 · Misleading: 2" in the verdicts' order."""
    return " · ".join(f"{v}: {sum(c.verdict == v for c in cards)}" for v in VERDICTS
                      if any(c.verdict == v for c in cards))
