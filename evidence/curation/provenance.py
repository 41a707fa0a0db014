"""Check that every recorded figure appears in the verbatim quote it cites.

The check is deliberately literal: a figure passes when a number in the quote
equals it, allowing only formatting differences (64% ↔ 0.64, 1,093 ↔ 1093,
0·64 ↔ 0.64, −5.1 ↔ -5.1, ".001" ↔ 0.001, "six" ↔ 6).  A figure that had to
be computed from the paper's numbers fails, on purpose: we record what the paper
says, not what we derived.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from evidence.curation.schema import ArmResult, Provenance, Study

_NUMBER = re.compile(r"(?<![\w.·])[-−–]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:[.·]\d+)?(?![\d])")
_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "half": 0.5, "once": 1, "twice": 2, "thrice": 3, "hundred": 100,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}


def numbers_in(text: str) -> set[float]:
    """Every number written in ``text`` (digits or small number words), as absolute values."""
    found: set[float] = set()
    for match in _NUMBER.finditer(text):
        token = match.group().lstrip("-−–").replace(",", "").replace("·", ".")
        if token and any(c.isdigit() for c in token):
            found.add(abs(float(token)))
    for tens, unit in re.findall(r"\b(twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)[- ]"
                                 r"(one|two|three|four|five|six|seven|eight|nine)\b", text.lower()):
        found.add(float(_TENS[tens] + _WORDS[unit]))
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in _WORDS:
            found.add(float(_WORDS[word]))
        elif word in _TENS:
            found.add(float(_TENS[word]))
    return found


def figure_in_quote(value: float, quoted: set[float]) -> bool:
    target = abs(value)
    candidates = (target, target * 100, target / 100)
    return any(math.isclose(c, q, rel_tol=1e-9, abs_tol=1e-9) for c in candidates for q in quoted)


@dataclass(frozen=True)
class Missing:
    study: str
    where: str
    field: str
    value: float
    quote: str

    def __str__(self) -> str:
        return f"{self.study} {self.where}.{self.field}: {self.value:g} is not in its quote: {self.quote!r}"


def figures(study: Study) -> Iterator[tuple[str, str, float, Provenance]]:
    """Yield (where, field, value, provenance) for every figure a study records."""
    if study.sample:
        for name in ("n_randomized", "k_studies"):
            value = getattr(study.sample, name)
            if value is not None:
                yield "sample", name, value, study.sample.source
    if study.follow_up and study.follow_up.source:
        yield "follow_up", "value", study.follow_up.value, study.follow_up.source
    for arm in study.arms:
        if arm.n_randomized is not None and arm.source is not None:
            yield f"arms[{arm.id}]", "n_randomized", arm.n_randomized, arm.source
    for outcome in study.outcomes:
        where = f"outcomes[{outcome.id}]"
        for result in outcome.results:
            yield from _result_figures(f"{where}.{result.arm}", result, result.source or outcome.source,
                                       ("events", "total", "percent", "mean", "sd", "n"))
        if outcome.effect:
            for name in ("estimate", "ci_low", "ci_high", "p", "se", "n_intervention", "n_control",
                         "k_studies", "n_participants"):
                value = getattr(outcome.effect, name)
                if value is not None:
                    yield f"{where}.effect", name, value, outcome.source
    for i, item in enumerate(study.durability):
        yield f"durability[{i}]", "value", item.value, item.source
    for ae in study.adverse_events:
        for result in ae.results:
            yield from _result_figures(f"adverse_events[{ae.event}].{result.arm}", result, result.source or ae.source,
                                       ("events", "total", "percent"))


def _result_figures(where: str, result: ArmResult, source: Provenance,
                    names: tuple[str, ...]) -> Iterator[tuple[str, str, float, Provenance]]:
    """An arm's quoted figures.  A derived value is not in the quote (the schema re-derives it); its inputs are."""
    derived = result.derived
    skip = {"count_from_percent": "events", "sd_from_se": "sd"}.get(derived.rule) if derived else None
    for name in names:
        value = getattr(result, name)
        if value is not None and name != skip:
            yield where, name, value, source
    if derived and derived.se is not None:
        yield where, "derived.se", derived.se, source


def check_study(study: Study) -> list[Missing]:
    missing = []
    for where, name, value, source in figures(study):
        if not figure_in_quote(value, numbers_in(source.quote)):
            missing.append(Missing(study.id, where, name, value, source.quote))
    return missing


def count_figures(studies: list[Study]) -> tuple[int, int]:
    """(figures resting on a primary source, figures resting on a secondary one)."""
    primary = secondary = 0
    for study in studies:
        for *_, source in figures(study):
            if source.secondary:
                secondary += 1
            else:
                primary += 1
    return primary, secondary
