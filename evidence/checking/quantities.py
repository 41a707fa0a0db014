"""Numbers and framings asserted in one sentence of marketing text, normalised.

``extract_quantities(sentence)`` returns :class:`Quantity` records such as::

    "in as little as 24 hours"        -> onset 24-24 hours, framing "as little as"
    "up to six months"                -> duration 182.5-182.5 days, framing "up to"
    "4 out of 5 patients"             -> share 80-80 percent
    "~2 weeks – 3 months"             -> 14-91.25 days, framing "range"
    "about 40 minutes" (an infusion)  -> infusion_length 40-40 minutes, framing "about"

Conventions (the tests pin every one of them):

* ``low``/``high`` are the figure as stated; a single figure has ``low == high`` and the
  qualifier lives in ``framing`` (``up to``, ``as little as``, ``more than``, ``at least``,
  ``about``, ``range``, ``none``; "within"/"less than" read as ``up to``, "over"/"greater than"
  as ``more than``, a trailing "or more"/"or longer" as ``at least``).
* Units: shares in ``percent``; times stated in minutes, hours or days in ``hours``; times stated
  in weeks, months or years in ``days`` (a range uses its larger unit); infusion lengths in
  ``minutes``; counts in ``infusions`` (infusions, sessions, treatments, doses) or ``none``.
  A month is 730/24 days (as ``schema.HOURS_PER_UNIT``), a year 365 days.
* Vague amounts have explicit ranges (``VAGUE``): "a few" 2-4, "several" 3-7, "a couple of" 2,
  "a number of" and "multiple" 2-7, "some", "various", "a (wide) range of", "an array of" 2-11 (``VAGUE_OF``),
  "dozens/hundreds/thousands/millions of" (``BIG_VAGUE``); a bare plural unit
  ("within minutes", "for weeks") is a range too (``BARE_PLURAL``: minutes 2-59, hours 2-23, days 2-6,
  weeks 2-4, months 2-11, years 2-10).
* The kind of a time comes from cue words near it (``last``/``lasting``/``for`` -> duration;
  ``within``/``as little as``/``... to work`` -> onset; a minutes figure in a sentence about an
  infusion or session that "takes"/"lasts" -> infusion_length), else from its size (up to days
  -> onset, weeks and longer -> duration).
* Counts of other things: a number before a plural noun ("two antidepressants", "Two of the most innovative
  options"), "one" before a noun ("one antidepressant", "at least one major depressive episode"; not "one of",
  "no one", "one-on-one"), large figures with no noun ("845,000", "2.4 million"), "a dozen" 12.  Ordinal ranges
  ("a second or third infusion") are counts of 2-3.  Ages ("ages 12 to 17", "in their 40s") and doses
  ("56-84 mg", unit ``mg``) are kind ``other``, and so are the points of a dosing schedule ("for weeks 1 to 4",
  "on day 1", "week 9 and after": when, in the course, not how long anything takes).
* Prices ("$400", "£3500-£5200 per month") are kind ``other`` in their currency (unit ``USD``, ``GBP`` ...).
* Not quantities: years ("the 1960s", "2019"), phone numbers, "once a month", "hours of operation" and bare
  numbers without a unit.
  Frequencies ("every 15 minutes", "every few weeks") and spans of the past ("the past few years", "in recent
  years") are kind ``other``: read and shown, never compared with the evidence.

Linear time: one tokenising regex without nested quantifiers, then a single left-to-right pass
over at most ``MAX_TOKENS`` tokens.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass

from evidence.curation.schema import HOURS_PER_UNIT

MAX_CHARS = 4000  # per sentence: longer sentences are read up to here only
MAX_TOKENS = 800
MAX_INFUSION_MINUTES = 240  # a session longer than four hours is not an infusion's length

Kind = str  # "share" | "onset" | "duration" | "count" | "infusion_length"


@dataclass(frozen=True)
class Quantity:
    kind: Kind
    low: float
    high: float
    unit: str
    framing: str
    start: int = 0  # offsets of the matched words within the sentence
    end: int = 0
    text: str = ""
    # words for an amount, not a figure ("many patients", "a few weeks", "within hours"): low and high are the
    # range assumed for them (``VAGUE``, ``BARE_PLURAL``), for comparing, never to be quoted as a number
    vague: bool = False

    def record(self) -> dict:
        return {"kind": self.kind, "low": self.low, "high": self.high, "unit": self.unit, "framing": self.framing,
                "text": self.text, "vague": self.vague}


# --------------------------------------------------------------------------- vocabularies

ONES = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
        "ninety": 90}
# "a (wide) range of", "an array of", "lots of": an amount in words, read like "several" (only before "of")
VAGUE_OF = {"variety": (2, 11), "array": (2, 11), "range": (2, 11), "handful": (2, 5), "host": (2, 11),
            "plethora": (3, 11), "multitude": (3, 11), "lot": (3, 11), "lots": (3, 11), "plenty": (3, 11)}
VAGUE = {"few": (2, 4), "several": (3, 7), "couple": (2, 2), "number": (2, 7), "many": (3, 11), "numerous": (3, 11),
         "multiple": (2, 7), "some": (2, 11), "various": (2, 11), "countless": (100, 1e6)} | VAGUE_OF
NOT_MULTIPLE = {"sclerosis", "myeloma", "personality", "choice"}  # names, not amounts
_VAGUE_ADJECTIVES = {"wide", "broad", "growing", "small", "large", "whole", "great", "vast", "huge", "diverse",
                     "increasing", "limited", "significant"}
# after "some": not an amount ("some time", "some relief" has no plural and is dropped anyway)
_NOT_AFTER_SOME = {"time", "point", "form", "forms", "kind", "kinds", "sort", "sorts", "way", "ways", "degree",
                   "extent", "level", "cases"}
BIG_VAGUE = {"dozens": (24.0, 143.0), "hundreds": (200.0, 999.0), "thousands": (2e3, 999e3),
             "millions": (2e6, 999e6)}
TIME_UNITS = {
    "minute": "minutes", "minutes": "minutes", "min": "minutes", "mins": "minutes",
    "hour": "hours", "hours": "hours", "hr": "hours", "hrs": "hours", "h": "hours",
    "day": "days", "days": "days",
    "week": "weeks", "weeks": "weeks", "wk": "weeks", "wks": "weeks",
    "month": "months", "months": "months", "year": "years", "years": "years", "yr": "years", "yrs": "years",
    "decade": "decades", "decades": "decades",
}
BARE_PLURAL = {"minutes": (2, 59), "hours": (2, 23), "days": (2, 6), "weeks": (2, 4), "months": (2, 11),
               "decades": (2, 9),
               "years": (2, 10)}
BARE_PLURAL_AFTER = {"within", "in", "for", "after", "from", "to", "or", "lasting", "last", "lasts", "take", "takes",
                     "even", "just", "mere", "over", "than", "and", "not", "usual", "require", "requires", "required",
                     "taking", "took", "waited", "sometimes", "often", "spent", "spend", "spending", "wasted",
                     "lost", "of", "requiring", "instead"}
# "within hours", "not weeks", "spent years", "a matter of hours"; also "decades ago", "months in advance"
UNIT_HOURS = {**HOURS_PER_UNIT, "years": 8760.0, "decades": 87600.0}
UNIT_ORDER = ["minutes", "hours", "days", "weeks", "months", "years", "decades"]
SHORT_UNITS = {"minutes", "hours", "days"}  # reported in hours; longer ones in days
COUNT_NOUNS = {"infusion", "infusions", "session", "sessions", "treatment", "treatments", "dose", "doses",
               "injection", "injections", "spray", "sprays", "visit", "visits", "appointment", "appointments"}
PEOPLE = {"patients", "people", "participants", "subjects", "individuals", "clients", "users", "adults", "them",
          "sufferers", "responders", "cases"}
FRACTIONS = {"half": 50.0, "third": 100 / 3, "thirds": 100 / 3, "quarter": 25.0, "quarters": 25.0, "fifth": 20.0,
             "fifths": 20.0}
VULGAR = {ch: round(100 * unicodedata.numeric(ch), 1) for ch in "½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞"}
DOSE_UNITS = {"mg": "mg", "milligram": "mg", "milligrams": "mg", "mcg": "mcg", "µg": "mcg", "micrograms": "mcg"}
DOSE_UNIT_NAMES = frozenset(u + per for u in DOSE_UNITS.values() for per in ("", "/kg"))  # a dose's ``unit``
ADVERBS = {"times"}  # "three times": a count
ONCE = {"once": 1, "twice": 2, "thrice": 3}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
            "ninth": 9, "tenth": 10, "twelfth": 12}
MULTIPLIERS = {"dozen": 12.0, "hundred": 100.0, "thousand": 1e3, "million": 1e6, "billion": 1e9}
# a span of the past or the coming period ("over the last 20 years", "used for decades") is kind "other"
HISTORY_VERBS = {"used", "around", "available", "approved", "administered", "utilized", "utilised", "prescribed",
                 "studied", "researched", "known", "existed", "practiced", "practised", "offered", "treated"}
HALF_FRAMINGS = {"than", "over", "nearly", "about", "roughly", "almost", "approximately", "around"}

# words before a figure (read backwards, longest first) -> framing
PRE_FRAMING = [
    (("in", "as", "little", "as"), "as little as"), (("as", "little", "as"), "as little as"),
    (("as", "few", "as"), "as little as"), (("as", "soon", "as"), "as little as"),
    (("as", "quickly", "as"), "as little as"), (("as", "early", "as"), "as little as"),
    (("in", "just"), "as little as"), (("in", "only"), "as little as"),
    (("up", "to"), "up to"), (("less", "than"), "up to"), (("fewer", "than"), "up to"),
    (("no", "more", "than"), "up to"), (("at", "most"), "up to"), (("within",), "up to"),
    (("under",), "up to"), (("as", "much", "as"), "up to"), (("as", "many", "as"), "up to"),
    (("as", "long", "as"), "up to"),
    (("more", "than"), "more than"), (("greater", "than"), "more than"), (("over",), "more than"),
    (("upwards", "of"), "more than"), (("in", "excess", "of"), "more than"), (("exceeding",), "more than"),
    (("longer", "than"), "more than"), (("beyond",), "more than"),
    (("at", "least"), "at least"), (("no", "less", "than"), "at least"), (("a", "minimum", "of"), "at least"),
    (("about",), "about"), (("around",), "about"), (("approximately",), "about"), (("approx",), "about"),
    (("roughly",), "about"), (("nearly",), "about"), (("almost",), "about"), (("~",), "about"),
    (("circa",), "about"), (("close", "to"), "about"), (("some",), "about"), (("≈",), "about"),
    (("an", "estimated"), "about"),
]
POST_FRAMING = [
    (("or", "more"), "at least"), (("or", "longer"), "at least"), (("or", "greater"), "at least"),
    (("or", "above"), "at least"), (("and", "up"), "at least"), (("+",), "at least"), (("plus",), "at least"),
    (("or", "less"), "up to"), (("or", "fewer"), "up to"), (("or", "so"), "about"),
]
SKIP_BEFORE = {"every", "per", "each", "recent", "previous", "coming", "these", "those", "once", "twice", "thrice"}
SKIP_AFTER_DETERMINER = {"past", "last", "next", "first", "initial", "following"}  # "the past few years"
DETERMINERS = {"the", "these", "those", "this", "its", "their", "our", "your"}
# cue words for the kind of a time quantity: (words, kind, strength); read before and after the figure
PRE_CUES = {
    "last": ("duration", 3), "lasts": ("duration", 3), "lasting": ("duration", 3), "lasted": ("duration", 3),
    "persist": ("duration", 3), "persists": ("duration", 3), "sustained": ("duration", 3),
    "stay": ("duration", 3), "stays": ("duration", 3), "stayed": ("duration", 3), "remain": ("duration", 3),
    "remained": ("duration", 3), "remains": ("duration", 3), "fade": ("duration", 3), "fades": ("duration", 3),
    "durable": ("duration", 2), "long-lasting": ("duration", 3), "for": ("duration", 1),
    "within": ("onset", 3), "onset": ("onset", 3), "begin": ("onset", 3), "begins": ("onset", 3),
    "start": ("onset", 2), "starts": ("onset", 2), "soon": ("onset", 3), "little": ("onset", 3),
    "quickly": ("onset", 2), "rapidly": ("onset", 2), "after": ("onset", 1), "in": ("onset", 1),
    "just": ("onset", 1), "usual": ("onset", 1), "not": ("onset", 1), "waited": ("onset", 2),
    "require": ("onset", 1), "requires": ("onset", 1),
}
POST_CUES = {  # first word after the figure (optionally after "to")
    "to": None, "after": ("onset", 1), "of": None,
}
ONSET_TO_VERBS = {"work", "take", "kick", "feel", "start", "begin", "see", "notice", "show", "exhibit",
                  "become", "reach", "act"}
INFUSION_WORDS = {"infusion", "infusions", "session", "sessions", "procedure", "treatment", "treatments",
                  "appointment", "visit", "spray", "drip"}
TAKE_WORDS = {"take", "takes", "took", "taking", "last", "lasts", "lasting", "long", "length", "duration",
              "complete", "completed", "recovery", "monitoring", "observation"}
ONSET_AFTER_OF = {"treatment", "infusion", "dose", "session", "therapy", "first", "the", "your", "their",
                  "a", "beginning", "starting"}

# a figure may open with its decimal point (".5mg/kg") when a space or bracket comes before it
_TOKEN = re.compile(r"(?:(?<=[\s(])\.\d+)|\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)?|[^\w\s]|_")
_SEP_RANGE = {"-", "–", "—", "‐", "‑", "‒", "to", "or", "and"}
_DASHES = {"-", "–", "—", "‐", "‑", "‒"}
# a price is read as kind "other" in its currency ("$400" -> other 400 USD): shown, never compared with evidence
CURRENCY = {"$": "USD", "£": "GBP", "€": "EUR", "¥": "JPY", "₹": "INR"}
CURRENCY_CODES = frozenset(CURRENCY.values())  # a price's ``unit``
_ORDINAL_SUFFIXES = {"st", "nd", "rd", "th"}


@dataclass
class _Tok:
    text: str
    low: str
    start: int
    end: int
    is_num: bool


@dataclass
class _Atom:
    """A figure before its unit is known: tokens i..j (exclusive), value range."""

    i: int
    j: int
    lo: float
    hi: float
    vague: bool = False
    unit: str | None = None  # a time unit, "percent", "count:<noun>"
    bare: bool = False
    plus: bool = False  # "4+ weeks": at least
    large: bool = False  # "2.4 million", "845,000": a count of people or things even with no noun after it
    mult: float = 1.0  # the "million" of "2.4 million", which "13-14 million" shares with its first figure


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    for m in _TOKEN.finditer(text):
        t = m.group()
        out.append(_Tok(t, t.lower(), m.start(), m.end(), t[0].isdigit() or (t[0] == "." and len(t) > 1)))
        if len(out) >= MAX_TOKENS:
            break
    return out


def _parse_number(tok: str) -> float | None:
    digits = tok.replace(",", "").replace(".", "")
    if len(digits) > 7:  # phone numbers and identifiers
        return None
    if "," in tok:
        parts = tok.split(",")
        if all(len(p) == 3 for p in parts[1:]) and "." not in tok:
            tok = tok.replace(",", "")
        elif len(parts) == 2 and "." not in tok:
            tok = tok.replace(",", ".")
        else:
            return None
    if tok.count(".") > 1:
        return None
    try:
        return float(tok)
    except ValueError:  # pragma: no cover - the token regex only yields digits and separators
        return None


def _below_hundred(toks: list[_Tok], i: int) -> tuple[float, int]:
    """A number word under a hundred at ``i`` ("seven", "forty", "forty-five", "forty five"): value, next index."""
    w = toks[i].low
    if w in ONES:
        return float(ONES[w]), i + 1
    value, j = float(TENS[w]), i + 1
    if j + 1 < len(toks) and toks[j].text in _DASHES and toks[j + 1].low in ONES and 0 < ONES[toks[j + 1].low] < 10:
        return value + ONES[toks[j + 1].low], j + 2
    if j < len(toks) and toks[j].low in ONES and 0 < ONES[toks[j].low] < 10:
        return value + ONES[toks[j].low], j + 1
    return value, j


def _adjacent(a: _Tok, b: _Tok) -> bool:
    return a.end == b.start


def _word_at(toks: list[_Tok], i: int) -> str:
    return toks[i].low if 0 <= i < len(toks) else ""


def _atoms(toks: list[_Tok]) -> list[_Atom]:
    """Figures: numerals, number words, vague amounts, "a/an" before a unit, bare plural units."""
    atoms: list[_Atom] = []
    n = len(toks)
    i = 0
    while i < n:
        t = toks[i]
        w = t.low
        atom: _Atom | None = None
        if t.is_num:
            value = _parse_number(t.text)
            phone = (i + 2 < n and toks[i + 1].text in _DASHES and toks[i + 2].is_num and _adjacent(t, toks[i + 1])
                     and _adjacent(toks[i + 1], toks[i + 2])
                     and ((i + 4 < n and toks[i + 3].text in _DASHES and toks[i + 4].is_num)
                          or (i >= 2 and toks[i - 1].text in _DASHES and toks[i - 2].is_num)
                          or (i >= 1 and toks[i - 1].text in {"(", ")", "+"} and len(t.text) >= 3
                              and _word_at(toks, i + 3) not in DOSE_UNITS and _word_at(toks, i + 3) not in TIME_UNITS
                              and _word_at(toks, i + 3) not in ("%", "percent"))))  # not "(100–200mg)"
            glued = (i + 1 < n and _adjacent(t, toks[i + 1]) and toks[i + 1].low in {"s", "st", "nd", "rd", "th"})
            slash = (i + 1 < n and toks[i + 1].text == "/" and _adjacent(t, toks[i + 1])) or (
                i >= 1 and toks[i - 1].text == "/" and _adjacent(toks[i - 1], t))
            after_phone = i >= 2 and toks[i - 1].text in _DASHES and toks[i - 2].is_num and _word_at(toks, i - 3) in {
                ")", "-", "–"}
            # "$400", and the second end of "$400-800" or "$400 to 800"
            price = (i >= 1 and toks[i - 1].text in CURRENCY) or (
                i >= 3 and (toks[i - 1].text in _DASHES or toks[i - 1].low == "to") and toks[i - 2].is_num
                and toks[i - 3].text in CURRENCY)
            if value is not None and price and not phone and not slash:
                first = toks[i - 1].text in CURRENCY
                code = CURRENCY[toks[i - 1].text if first else toks[i - 3].text]
                atom = _Atom(i - 1 if first else i, i + 1, value, value, unit="price:" + code)
                if _word_at(toks, i + 1) in MULTIPLIERS:  # "$635 billion"
                    m = MULTIPLIERS[_word_at(toks, i + 1)]
                    atom.lo, atom.hi, atom.j = value * m, value * m, i + 2
                if _word_at(toks, atom.j) in ("a", "an", "per", "each", "every") and _word_at(
                        toks, atom.j + 1) in TIME_UNITS:  # "$635 billion a year": a rate, not a time
                    atom.j += 2
            elif value is not None and not phone and not glued and not slash and not after_phone and not price:
                atom = _Atom(i, i + 1, value, value, large="," in t.text and value >= 1000)
                if _word_at(toks, i - 1) == "=" and _word_at(toks, i - 2) == "n":  # "(n = 12)": a sample size
                    atom.i, atom.unit = i - 2, "count:n"
                if _word_at(toks, i + 1) in VULGAR:  # "1 ½ hours", "3½ hours"
                    atom.lo = atom.hi = value + VULGAR[_word_at(toks, i + 1)] / 100
                    atom.j = i + 2
            elif value is not None and glued and _word_at(toks, i + 2) in COUNT_NOUNS:  # "after the 4th session"
                atom = _Atom(i, i + 2, value, value, unit="count:" + _word_at(toks, i + 2))
                atom.j = i + 3
            elif (value is not None and glued and _word_at(toks, i + 2) in ("or", "to") and i + 5 < n
                  and toks[i + 3].is_num and _word_at(toks, i + 4) in _ORDINAL_SUFFIXES
                  and _word_at(toks, i + 5) in COUNT_NOUNS):  # "their 1st or 2nd infusion"
                second = _parse_number(toks[i + 3].text)
                if second is not None and second > value:
                    atom = _Atom(i, i + 6, value, second, unit="count:" + _word_at(toks, i + 5))
        elif w in TENS or w in ONES:
            value, j = _below_hundred(toks, i)
            if _word_at(toks, j) == "hundred" and value >= 1:  # "four hundred", "one hundred and fifty"
                value, j = value * 100, j + 1
                k = j + 1 if _word_at(toks, j) == "and" else j
                if _word_at(toks, k) in TENS or (_word_at(toks, k) in ONES and ONES[_word_at(toks, k)] >= 1):
                    rest, j = _below_hundred(toks, k)
                    value += rest
                atom = _Atom(i, j, value, value, large=True)  # a count even with no noun ("more than four hundred")
            else:
                atom = _Atom(i, j, value, value)
        elif w in VULGAR and _word_at(toks, i + 1) in TIME_UNITS and not (i >= 1 and toks[i - 1].is_num):
            atom = _Atom(i, i + 1, VULGAR[w] / 100, VULGAR[w] / 100)  # "½ hour"
        elif (w in ORDINALS and _word_at(toks, i + 1) in ("or", "to") and _word_at(toks, i + 2) in ORDINALS
              and _word_at(toks, i + 3) in COUNT_NOUNS and ORDINALS[_word_at(toks, i + 2)] > ORDINALS[w]):
            # "a second or third infusion": the infusion by which something happens, a count of 2-3
            atom = _Atom(i, i + 4, float(ORDINALS[w]), float(ORDINALS[_word_at(toks, i + 2)]),
                         unit="count:" + _word_at(toks, i + 3))
        elif w in ORDINALS and (_word_at(toks, i + 1) in COUNT_NOUNS or (
                _word_at(toks, i + 2) in COUNT_NOUNS and _word_at(toks, i + 1).isalpha()
                and _word_at(toks, i + 1) not in ("of", "or", "and", "to"))):
            j = i + 2 if _word_at(toks, i + 1) in COUNT_NOUNS else i + 3
            atom = _Atom(i, i + 1, float(ORDINALS[w]), float(ORDINALS[w]), unit="count:" + _word_at(toks, j - 1))
            atom.j = j
        elif w == "single" and _word_at(toks, i + 2) in COUNT_NOUNS and _word_at(toks, i + 1).isalpha() and \
                _word_at(toks, i + 1) not in ("of", "or", "and", "to"):
            atom = _Atom(i, i + 3, 1.0, 1.0, unit="count:" + _word_at(toks, i + 2))
        elif (w in ("a", "an") and _word_at(toks, i + 1) in TIME_UNITS and (
                _word_at(toks, i + 2), _word_at(toks, i + 3), _word_at(toks, i + 4)) == ("and", "a", "half")):
            atom = _Atom(i, i + 1, 1.5, 1.5)  # "an hour and a half"
            _attach_unit(toks, atom)
            atom.j += 3
        elif ((w == "single" and _word_at(toks, i + 1) in COUNT_NOUNS)
              or (w in ("a", "an") and (_word_at(toks, i + 1) in TIME_UNITS or _word_at(toks, i + 1) == "dozen"))):
            atom = _Atom(i, i + 1, 1.0, 1.0)
        elif w == "half" and _word_at(toks, i + 1) in ("an", "a") and (
                _word_at(toks, i + 2) in TIME_UNITS or _word_at(toks, i + 2) == "dozen"):
            atom = _Atom(i, i + 2, 0.5, 0.5)
        elif w in ("a", "an") and _word_at(toks, i + 1) == "half" and _word_at(toks, i + 2) in TIME_UNITS:
            atom = _Atom(i, i + 2, 0.5, 0.5)  # "a half hour"
        elif (w == "the" and _word_at(toks, i + 1) == "first" and _word_at(toks, i - 1) == "within"
              and _word_at(toks, i + 2) in ("hour", "day", "week", "month")):
            atom = _Atom(i, i + 2, 1.0, 1.0)  # "subside within the first day": one day
        elif (century := _century(toks, i)) is not None:  # "half a century", "a half-century", "a century"
            atom = century
        elif w in BIG_VAGUE and _word_at(toks, i + 1) == "of":
            lo, hi = BIG_VAGUE[w]
            atom = _Atom(i, i + 2, lo, hi, vague=True)  # "millions of people": a count, read by _generic_count
        elif w in VAGUE and not (w == "multiple" and _word_at(toks, i + 1) in NOT_MULTIPLE) and not (
                w == "many" and _word_at(toks, i - 1) == "how"):  # "How many infusions?" asks, says no amount
            j = i + 1
            if w in ("couple", "number") or w in VAGUE_OF:
                article = _word_at(toks, i - 1)
                if article in _VAGUE_ADJECTIVES:  # "a wide range of", "a growing number of"
                    article = _word_at(toks, i - 2)
                if (article not in ("a", "an") and w not in ("lots", "plenty")) or _word_at(toks, j) != "of":
                    i += 1
                    continue
                j += 1
            elif w == "some" and _word_at(toks, j) in _NOT_AFTER_SOME:
                i += 1
                continue
            lo, hi = VAGUE[w]
            atom = _Atom(i, j, float(lo), float(hi), vague=True)
        elif w in BARE_PLURAL and not _opening_hours(toks, i) and (
                (t.text[0].isupper() and (i == 0 or toks[i - 1].text in ":;,(—–-\"“"))
                or _word_at(toks, i - 1) in BARE_PLURAL_AFTER or _word_at(toks, i + 1) == "ago"
                or (_word_at(toks, i + 1), _word_at(toks, i + 2)) == ("in", "advance")):
            lo, hi = BARE_PLURAL[w]
            atom = _Atom(i, i + 1, float(lo), float(hi), vague=True, unit=w, bare=True)
        if atom is None:
            i += 1
            continue
        atoms.append(atom)
        i = atom.j
    return atoms


def _opening_hours(toks: list[_Tok], i: int) -> bool:
    """"Hours of operation", "office hours": when a clinic is open, not a time to effect."""
    return toks[i].low == "hours" and (
        (_word_at(toks, i + 1), _word_at(toks, i + 2)) in (("of", "operation"), ("of", "service"))
        or _word_at(toks, i - 1) in ("office", "business", "opening", "clinic", "our", "extended", "evening"))


def _attach_unit(toks: list[_Tok], atom: _Atom) -> None:
    if atom.unit is not None:
        return
    if _word_at(toks, atom.j) in MULTIPLIERS and not atom.vague:
        m = MULTIPLIERS[_word_at(toks, atom.j)]
        atom.lo, atom.hi, atom.j, atom.large, atom.mult = atom.lo * m, atom.hi * m, atom.j + 1, m >= 1e3, m
    j = atom.j
    if j < len(toks) and toks[j].text in _DASHES and j + 1 < len(toks) and toks[j + 1].low in TIME_UNITS:
        j += 1  # "24-hour", "40-minute"
    elif j + 1 < len(toks) and toks[j].text == "+" and _adjacent(toks[j - 1], toks[j]):
        atom.plus, j = True, j + 1  # "4+ weeks"
    elif _word_at(toks, j) in ("consecutive", "straight", "successive") and _word_at(toks, j + 1) in TIME_UNITS:
        j += 1  # "for two consecutive weeks"
    w = _word_at(toks, j)
    if w in TIME_UNITS and not (w == "h" and not _adjacent(toks[j - 1], toks[j]) and atom.vague):
        if w in ("h", "min", "hr") and not toks[atom.j - 1].is_num:
            return
        atom.unit, atom.j = TIME_UNITS[w], j + 1
    elif w in ("%", "percent", "pc"):
        atom.unit, atom.j = "percent", j + 1
    elif w in DOSE_UNITS and not atom.vague:
        per_kg = _word_at(toks, j + 1) == "/" and _word_at(toks, j + 2) == "kg"
        atom.unit, atom.j = "dose:" + DOSE_UNITS[w] + ("/kg" if per_kg else ""), j + (3 if per_kg else 1)
    elif w == "per" and _word_at(toks, j + 1) == "cent":
        atom.unit, atom.j = "percent", j + 2
    elif w in COUNT_NOUNS:
        atom.unit, atom.j = "count:" + w, j + 1  # "six infusions", "a few sessions"
    elif (noun := _modified_noun(toks, j)) is not None and toks[atom.i].low not in ("a", "an"):
        atom.unit, atom.j = "count:" + _word_at(toks, noun), noun + 1  # "six ketamine infusions"
    elif (not atom.vague and j + 3 < len(toks) and (toks[j].is_num or w in ONES or w in TENS)
          and toks[j + 1].text in _DASHES and toks[j + 2].low in TIME_UNITS and toks[j + 3].low in COUNT_NOUNS):
        atom.unit = "count:" + toks[j + 3].low  # "six 40-minute infusions": the length is read next, as its own
    elif w in ADVERBS and not atom.vague:
        atom.unit, atom.j = "count:times", j + 1
    elif w in ("x", "×") and toks[atom.j - 1].is_num and _adjacent(toks[atom.j - 1], toks[j]) and _word_at(
            toks, j + 1) in ("per", "a", "each", "every", "weekly", "daily", "monthly"):
        atom.unit, atom.j = "count:times", j + 1  # "2x per week"


_NOT_MODIFIERS = {"of", "or", "to", "and", "in", "for", "with", "from", "by", "on", "at", "per", "than", "the",
                  "a", "an", "more", "less", "after", "before", "over", "within", "during", "total", "is", "are"}


def _modified_noun(toks: list[_Tok], j: int) -> int | None:
    """The count noun after up to three modifiers at ``j`` ("six ketamine infusions", "six IV ketamine
    infusions", "two or three follow-up sessions", "one to two back-to-back treatments"), a hyphenated word
    counting as one; not across people or other plurals ("two patients receiving treatments"), numbers or times
    ("six one-hour infusions" keeps its hour)."""
    k, words = j, 0
    while k < len(toks) and words < 3:
        w = toks[k].low
        if not w.isalpha() or w in _NOT_MODIFIERS or w in ONES or w in TENS or w in TIME_UNITS or w in PEOPLE:
            return None
        if len(w) >= 4 and w.endswith("s") and not w.endswith(("ous", "ss", "us", "is")):  # not "intravenous"
            return None
        k, words = k + 1, words + 1
        while k + 1 < len(toks) and toks[k].text in _DASHES and _adjacent(toks[k - 1], toks[k]) and _adjacent(
                toks[k], toks[k + 1]) and toks[k + 1].low.isalpha():
            w = toks[k + 1].low
            if w in ONES or w in TENS or w in TIME_UNITS:
                return None
            k += 2  # "follow-up", "back-to-back", "low-dose"
        if _word_at(toks, k) in COUNT_NOUNS:
            return k
    return None


def _share_patterns(toks: list[_Tok], atoms: list[_Atom]) -> list[tuple[_Atom, float]]:
    """"4 out of 5", "four in five", "7 of every 10", "8 of 10 patients" -> (first atom, percent)."""
    found = []
    by_start = {a.i: a for a in atoms}
    for a in atoms:
        if a.vague or a.unit is not None:
            continue
        j = a.j
        words = [_word_at(toks, j), _word_at(toks, j + 1), _word_at(toks, j + 2)]
        if words[0] in _DASHES and words[1] in ("in", "of") and words[2] in _DASHES:
            k, words = j + 3, words[1:]  # "One-in-five teenage girls"
        elif words == ["out", "of", "every"]:
            k = j + 3
        elif words[:2] == ["out", "of"] or words[:2] in (["of", "every"], ["in", "every"]):
            k = j + 2
        elif words[0] == "in" or words[0] == "of":
            k = j + 1
        else:
            continue
        b = by_start.get(k)
        if b is None or b.vague or b.unit is not None or not 2 <= b.lo <= 1000 or not 0 <= a.lo <= b.lo:
            continue
        if words[0] == "of" and words[1] != "every" and _word_at(toks, b.j) not in PEOPLE:
            continue
        found.append((_Atom(a.i, b.j, a.lo, a.lo), 100.0 * a.lo / b.lo))
    return found


def _most_people(toks: list[_Tok], i: int) -> bool:
    """Is "most" a share of people: "most patients", "most of our patients", "most people" (not "most of the time")?"""
    w1, w2, w3 = (_word_at(toks, i + k) for k in (1, 2, 3))
    if w1 in PEOPLE:
        return True
    if w1 not in ("of", "our", "the"):
        return False
    return w2 in PEOPLE or (w2 in ("our", "the", "these") and w3 in PEOPLE)


def _century(toks: list[_Tok], i: int) -> _Atom | None:
    w, nxt = _word_at(toks, i), _word_at(toks, i + 1)
    if w == "half" and nxt in ("a", "an") and _word_at(toks, i + 2) == "century":
        return _Atom(i, i + 3, 50.0, 50.0, unit="years")
    if w not in ("a", "an"):
        return None
    if nxt == "century":
        return _Atom(i, i + 2, 100.0, 100.0, unit="years")
    if nxt == "half" and _word_at(toks, i + 2) == "century":
        return _Atom(i, i + 3, 50.0, 50.0, unit="years")
    if nxt == "half" and _word_at(toks, i + 2) in _DASHES and _word_at(toks, i + 3) == "century":
        return _Atom(i, i + 4, 50.0, 50.0, unit="years")
    return None


def _fractions(toks: list[_Tok]) -> list[tuple[_Atom, float]]:
    """"two-thirds of", "one-third", "⅔", "half of", "a quarter of", "a/the (vast) majority of" -> percent."""
    out = []
    for i, t in enumerate(toks):
        w, nxt, prev = t.low, _word_at(toks, i + 1), _word_at(toks, i - 1)
        if w in VULGAR:
            if (i >= 1 and toks[i - 1].is_num) or nxt in TIME_UNITS:
                continue  # "1 ½ hours", "½ hour": part of a time
            if nxt in ("%", "percent"):  # "½%" is half of one per cent, not half of the patients
                out.append((_Atom(i, i + 2, VULGAR[w] / 100, VULGAR[w] / 100), VULGAR[w] / 100))
                continue
            out.append((_Atom(i, i + 1, VULGAR[w], VULGAR[w]), VULGAR[w]))
            continue
        if (t.is_num and nxt == "/" and i + 2 < len(toks) and toks[i + 2].is_num and _adjacent(t, toks[i + 1])
                and _adjacent(toks[i + 1], toks[i + 2]) and _word_at(toks, i + 3) == "of"):
            a, b = _parse_number(t.text), _parse_number(toks[i + 2].text)  # "1/3 of patients"
            if a is not None and b and 0 < a < b <= 10:
                value = round(100 * a / b, 1)
                out.append((_Atom(i, i + 3, value, value), value))
            continue
        if w == "most" and prev not in ("the", "at") and _most_people(toks, i):
            out.append((_Atom(i, i + 1, 50.0, 50.0, plus=True), 50.0))  # more than half, as "the majority of"
            continue
        if w == "majority" and nxt == "of":
            start = i - 2 if prev == "vast" and _word_at(toks, i - 2) in ("a", "the") else i - 1
            if _word_at(toks, start) in ("a", "the"):
                out.append((_Atom(start, i + 1, 50.0, 50.0, plus=True), 50.0))
            continue
        if w not in FRACTIONS:
            continue
        after = _word_at(toks, i + 2)
        if w == "half" and ((nxt in ("a", "an") and (after in TIME_UNITS or after in ("century", "dozen")))
                            or nxt in TIME_UNITS or (nxt in _DASHES and after == "century")):
            continue  # "half an hour", "half a century", "a half hour": a time, not a share
        numerator = None
        if prev in ONES:
            numerator, start = ONES[prev], i - 1
        elif prev in _DASHES and _word_at(toks, i - 2) in ONES:
            numerator, start = ONES[_word_at(toks, i - 2)], i - 2
        elif prev in ("a", "an"):
            numerator, start = 1, i - 1
        if w.endswith("s"):
            if not numerator or numerator < 2:
                continue
        elif numerator not in (None, 1):
            continue
        if w == "half" and numerator is None:
            start = i
        if nxt != "of" and (numerator is None or prev in ("a", "an")) and not (w == "half" and prev in HALF_FRAMINGS):
            continue  # "half" alone, "a third": only "... of" is a share; "two-thirds respond" is
        value = round(FRACTIONS[w] * (numerator or 1), 1)
        out.append((_Atom(start, i + 1, value, value), value))
    return out


_AGE_WORDS = {"age", "ages", "aged"}
_OLDER = {"older": "at least", "over": "at least", "above": "at least", "up": "at least", "younger": "up to",
          "under": "up to", "below": "up to"}


def _ages(toks: list[_Tok]) -> list[tuple[int, int, float, float, str]]:
    """(start, end, low, high in years, framing) of ages: "at age 19", "ages 12 to 17", "aged 60 and older",
    "in their 40s".  Kind other: who is treated, never how long an effect lasts."""
    out = []
    for i, t in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if t.low in _AGE_WORDS and nxt is not None and nxt.is_num:
            lo = _parse_number(nxt.text)
            if lo is None or not 0 < lo <= 120:
                continue
            hi, j, framing = lo, i + 2, "none"
            if _word_at(toks, j) in _SEP_RANGE - {"or", "and"} and j + 1 < len(toks) and toks[j + 1].is_num:
                top = _parse_number(toks[j + 1].text)
                if top is not None and lo < top <= 120:
                    hi, j, framing = top, j + 2, "range"
            if _word_at(toks, j) in ("and", "or") and _word_at(toks, j + 1) in _OLDER:
                framing, j = _OLDER[_word_at(toks, j + 1)], j + 2
            out.append((i, j, lo, hi, framing))
        elif (t.low in ("their", "his", "her", "your", "my", "our") and nxt is not None and nxt.is_num
              and i + 2 < len(toks) and toks[i + 2].low == "s" and _adjacent(nxt, toks[i + 2])):
            decade = _parse_number(nxt.text)
            if decade is not None and 10 <= decade <= 90 and decade % 10 == 0:
                out.append((i + 1, i + 3, decade, decade + 9, "range"))
    return out


_SCHEDULE_WORDS = {"day": 24.0, "days": 24.0, "week": 168.0, "weeks": 168.0, "month": 730.0, "months": 730.0}
_ONWARD = {"after", "onward", "onwards", "beyond", "thereafter"}
_NOT_A_POINT = {"%", "percent", "of", "patients", "people", "participants", "clients", "infusions", "sessions",
                "treatments", "doses", "mg", "x"}


def _schedule_points(toks: list[_Tok]) -> list[tuple[int, int, float, float, str]]:
    """(start, end, low, high in hours, framing) of the points of a dosing schedule: the unit word before the
    number ("weeks 1 to 4", "day 1", "week 9 and after").  A number followed by its own unit ("a day 7 days a
    week") is not one."""
    out = []
    for i, t in enumerate(toks):
        scale = _SCHEDULE_WORDS.get(t.low)
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if scale is None or nxt is None or not nxt.is_num or not _adjacent_word(toks, i):
            continue
        lo = _parse_number(nxt.text)
        if (lo is None or not 0 < lo <= 104 or lo != int(lo) or _word_at(toks, i + 2) in TIME_UNITS
                or _word_at(toks, i + 2) in _NOT_A_POINT):
            continue
        hi, j, framing = lo, i + 2, "none"
        if (_word_at(toks, j) in (_SEP_RANGE - {"or", "and"}) | {"through", "thru"} and j + 1 < len(toks)
                and toks[j + 1].is_num):
            top = _parse_number(toks[j + 1].text)
            if top is not None and lo < top <= 104:
                hi, j, framing = top, j + 2, "range"
        elif _word_at(toks, j) == "and" and _word_at(toks, j + 1) in _ONWARD:
            framing, j = "at least", j + 2
        elif _word_at(toks, j) in _ONWARD:
            framing, j = "at least", j + 1
        out.append((i, j, lo * scale, hi * scale, framing))
    return out


def _adjacent_word(toks: list[_Tok], i: int) -> bool:
    """Is the token after ``i`` separated from it by a space only (not a line break or punctuation)?"""
    return toks[i + 1].start - toks[i].end <= 1


def _match_words(toks: list[_Tok], end: int, phrase: tuple[str, ...]) -> bool:
    """Do the tokens ending just before index ``end`` spell ``phrase``?"""
    k = len(phrase)
    if end - k < 0:
        return False
    return all(toks[end - k + m].low == phrase[m] for m in range(k))


def _pre_framing(toks: list[_Tok], i: int) -> tuple[str | None, int]:
    # skip "just"/"only"/"even" between the framing words and the figure ("up to just 2 days")
    end = i
    for phrase, framing in PRE_FRAMING:
        if _match_words(toks, end, phrase):
            return framing, end - len(phrase)
    if _word_at(toks, end - 1) in ("just", "only", "even", "a", "an", "the") and end - 1 > 0:
        for phrase, framing in PRE_FRAMING:
            if _match_words(toks, end - 1, phrase):
                return framing, end - 1 - len(phrase)
    return None, i


def _post_framing(toks: list[_Tok], j: int) -> tuple[str | None, int]:
    for phrase, framing in POST_FRAMING:
        if all(_word_at(toks, j + m) == phrase[m] for m in range(len(phrase))):
            return framing, j + len(phrase)
    return None, j


_RELAPSE = frozenset({"relapse", "relapses", "relapsed", "relapsing"})


def _time_kind(toks: list[_Tok], i: int, j: int, unit: str, sentence_words: set[str], minutes: float = 0.0) -> Kind:
    if unit in ("minutes", "hours") and sentence_words & INFUSION_WORDS and minutes <= MAX_INFUSION_MINUTES:
        before = [_word_at(toks, k) for k in range(max(0, i - 6), i)]
        onset_near = any(w in ("within", "little", "begin", "begins", "after", "just", "soon") for w in before[-3:])
        # "the infusion takes 40 minutes", "a 40-minute session", "each session is 40-60 min"
        copula = any(w in INFUSION_WORDS and nxt in ("is", "are", "runs", "averages")
                     for w, nxt in itertools.pairwise(before))
        if not onset_near and (any(w in TAKE_WORDS for w in before) or copula
                               or _word_at(toks, j) in INFUSION_WORDS):
            return "infusion_length"
    # "relapse within several days to a week", "a median time to relapse of 41 days": how long relief lasted
    if _RELAPSE.intersection(_word_at(toks, k) for k in range(max(0, i - 6), i)):
        return "duration"
    best: tuple[int, int, Kind] | None = None  # (strength, -distance, kind)
    if _word_at(toks, i) == "within" or (_word_at(toks, i), _word_at(toks, i + 1)) == ("as", "little"):
        best = (3, 0, "onset")  # the framing itself: "improvement within one week", "in as little as a week"
    for k in range(i - 1, max(-1, i - 7), -1):
        w = _word_at(toks, k)
        if w in (".", ";", ",") and k < i - 1:
            break
        cue = PRE_CUES.get(w)
        if cue:
            cand = (cue[1], -(i - k), cue[0])
            if best is None or cand > best:
                best = cand
    # after: "to work", "to take effect", "of the first infusion", "after an infusion"
    w0, w1, w2 = _word_at(toks, j), _word_at(toks, j + 1), _word_at(toks, j + 2)
    if w0 == "to" and (w1 in ONSET_TO_VERBS or (w1 in ("start", "begin") and w2)):
        cand = (3, 0, "onset")
        best = cand if best is None or cand > best else best
    elif w0 == "after" or (w0 == "of" and w1 in ONSET_AFTER_OF):
        cand = (2 if w0 == "of" else 1, -1, "onset")
        best = cand if best is None or cand[0] > best[0] else best
    if best is not None:
        # nothing on these pages takes years to start working: "the biggest discovery in decades", "after 20 years
        # the patent expired" (125 of 126 figures in years labelled in the development half are kind other)
        return "other" if best[2] == "onset" and unit in ("years", "decades") else best[2]
    return "onset" if unit in SHORT_UNITS else "duration"


_SPAN_STARTS = frozenset({"in", "over", "during", "within", "the", "this"})


def _past_span(toks: list[_Tok], i: int) -> tuple[int, float, float] | None:
    """(end, low, high in days) of a span of the past with no figure: "in recent years", "over the years",
    "in recent decades", "the past decade"; kind "other", as "over the past few years" is."""
    w0, w1, w2 = _word_at(toks, i), _word_at(toks, i + 1), _word_at(toks, i + 2)
    if w0 in ("in", "over", "during", "within") and w1 in ("recent", "the") and w2 in ("years", "decades"):
        lo, hi = BARE_PLURAL[w2]
        scale = 365.0 if w2 == "years" else 3650.0
        return i + 3, lo * scale, hi * scale
    if w0 in ("the", "this") and w1 in ("past", "last") and w2 == "decade":
        return i + 3, 3650.0, 3650.0
    return None


def _history(toks: list[_Tok], i: int) -> bool:
    """A span in a perfect-tense history clause: "has been used (safely) for decades"."""
    before = [_word_at(toks, k) for k in range(max(0, i - 5), i)]
    return "been" in before and any(w in HISTORY_VERBS for w in before)


# "20 years of experience", "decades of combined clinical practice": the clinic's past, not an effect's length
_TRACK_RECORD = {"experience", "experiencing", "practice", "expertise", "training", "research", "service",
                 "combined", "clinical"}


def _track_record(toks: list[_Tok], end: int) -> bool:
    """A span of a practice's or a field's past: "30 years of experience", "decades of research"."""
    return _word_at(toks, end) == "of" and _word_at(toks, end + 1) in _TRACK_RECORD


def _age(toks: list[_Tok], end: int) -> bool:
    """An age, not a duration: "a 35-year-old designer", "42 years old"."""
    return _word_at(toks, end) == "old" or (_word_at(toks, end) in _DASHES and _word_at(toks, end + 1) == "old")


_EFFECT_WORDS = {"relief", "feel", "feeling", "effect", "effects", "results", "benefit", "benefits", "improvement",
                 "respond", "responded", "lasts", "lasted", "lasting"}


_ILLNESS_VERBS = {"lived", "living", "battled", "battling", "struggled", "struggling", "suffered", "suffering",
                  "fought", "fighting", "diagnosed", "coped", "coping", "endured", "enduring", "spent", "spend",
                  "spending", "wasted", "lost"}


_WEAR_OFF = {"subside", "subsides", "subsided", "subsiding", "dissipate", "dissipates", "dissipated", "resolve",
             "resolves", "resolved"}


def _wears_off(toks: list[_Tok], i: int) -> bool:
    """How soon the infusion's acute effects pass ("This usually subsides within a few hours.", "wears off after
    two hours"): kind other, as labellers read them (in such sentences 19 of 28 labelled figures are other, one
    onset), not how soon relief comes."""
    before = [_word_at(toks, k) for k in range(max(0, i - 6), i)]
    return bool(_WEAR_OFF.intersection(before)) or any(
        a in ("wear", "wears", "wore", "wearing") and b == "off" for a, b in itertools.pairwise(before))


def _illness(toks: list[_Tok], i: int) -> bool:
    """How long someone has been ill, not how long an effect lasts: "had lived with depression for over a decade",
    "after struggling with depression for years" (a testimonial's back-story)."""
    before = [_word_at(toks, k) for k in range(max(0, i - 6), i)]
    at = max((k for k, w in enumerate(before) if w in _ILLNESS_VERBS), default=None)
    return at is not None and not _EFFECT_WORDS.intersection(before[at:])


def _generic_count(toks: list[_Tok], a: _Atom) -> int:
    """End of "two antidepressants", "two or more antidepressant medications", "21 million adults", "two of the
    most innovative options", "one antidepressant", or 0."""
    first = toks[a.i].low
    if ((first in ("a", "an") and _word_at(toks, a.i + 1) != "dozen") or first == "single"
            or (a.vague and first not in VAGUE | BIG_VAGUE)
            or (first in ("one", "1") and _word_at(toks, a.i - 1) in _NOT_BEFORE_ONE)):  # "no one knows"
        return 0
    j = a.j
    _, j = _post_framing(toks, j)
    # up to four words ("two antidepressants", "three different broad classes", "two failed anti-depressant
    # medications": a hyphen inside a word is not a word)
    start, words = j, 4
    if a.lo >= 2 and _word_at(toks, j) == "of" and _word_at(toks, j + 1) in DETERMINERS:
        start, words = j + 2, 5  # "Two of the most well-established options", "many of the traditional methods"
    elif a.vague and _word_at(toks, j) == "of" and _word_at(toks, j + 1) in ("them", "us", "you", "which", "whom"):
        return j + 2  # "many of them"
    for k in range(start, min(start + 2 * words, len(toks))):
        w = _word_at(toks, k)
        if w in _DASHES and 0 < k < len(toks) - 1 and _adjacent(toks[k - 1], toks[k]):
            continue
        words -= 1
        if words < 0 or not w.isalpha():
            break
        plural = len(w) >= 4 and w.endswith("s") and w not in TIME_UNITS and w not in ("times", "this", "less", "plus")
        if plural or w in ("people", "adults", "children"):
            return k + 1
        if w in ("of", "or", "and", "to", "in", "out", "per", "every", "the", "than"):
            break
    return _one_thing(toks, a) if a.lo == a.hi == 1 and not a.vague and first in ("one", "1") else 0


# after "one": not a count of one thing ("one of", "one another", "one can", "one-on-one")
_NOT_AFTER_ONE = {"of", "another", "or", "and", "to", "in", "on", "at", "by", "for", "with", "from", "is", "are",
                  "was", "were", "be", "has", "have", "had", "can", "could", "may", "might", "must", "should", "will",
                  "would", "who", "that", "which", "thing", "way", "day", "time", "point", "hand", "side", "than",
                  "as", "s", "i", "you", "we", "it", "they", "he", "she"}
# before "one": a pronoun, a name or a step ("no one", "the one", "the number one", "Phase 1 trial", "Day 1")
_NOT_BEFORE_ONE = {"no", "any", "every", "some", "each", "the", "this", "that", "which", "number", "type", "phase",
                   "step", "level", "schedule", "stage", "part", "chapter", "day", "week", "month", "year", "dose",
                   "session", "infusion", "page", "table", "figure", "covid", "someone", "anyone", "everyone", "just"}
_NOUN_PHRASE_STOP = _NOT_AFTER_ONE | {"found", "showed", "shows", "show", "suggests", "suggested", "reported",
                                      "says", "said", "but", "if", "when", "while", "because", "so", "more", "per",
                                      "each", "every", "a", "an", "the"}


def _one_thing(toks: list[_Tok], a: _Atom) -> int:
    """End of "one antidepressant", "at least one major depressive episode", "one VA clinic", "about 1 death":
    "one" before a noun is a count; the phrase runs to the last word before a function word (at most three).
    (``_generic_count`` has already refused "no one", "the one", "Phase 1".)"""
    if a.i >= 1 and toks[a.i - 1].text in _DASHES:  # "one-on-one"
        return 0
    k = a.j
    if _word_at(toks, k) == "more" and _word_at(toks, k + 1).isalpha():
        k += 1  # "one more pill"
    w = _word_at(toks, k)
    if not w.isalpha() or w in _NOT_AFTER_ONE or w in TIME_UNITS:
        return 0
    end = k + 1
    while (end < min(len(toks), k + 3) and toks[end].low.isalpha() and toks[end].low not in _NOUN_PHRASE_STOP
           and toks[end].low not in TIME_UNITS):
        end += 1
    return end


def _convert(value: float, unit: str, target: str) -> float:
    return round(value * UNIT_HOURS[unit] / UNIT_HOURS[target], 4)


def extract_quantities(sentence: str) -> list[Quantity]:
    """Every quantity asserted in ``sentence`` (in text order).  Never raises."""
    try:
        return _extract(sentence[:MAX_CHARS])
    except Exception:  # a checker must not fail on odd text (the fuzz tests call _extract directly)
        return []


def _range_start(toks: list[_Tok], a: _Atom) -> int:
    """Where a range that opens with ``a`` starts: with its "from" or "between", its framing, an "anywhere"."""
    i0 = a.i - 1 if _word_at(toks, a.i - 1) in ("from", "between") else a.i
    _, i0 = _pre_framing(toks, i0)
    return i0 - 1 if _word_at(toks, i0 - 1) in ("anywhere", "from") else i0


def _extract(text: str) -> list[Quantity]:
    toks = _tokens(text)
    if not toks:
        return []
    words = {t.low for t in toks}
    atoms = _atoms(toks)
    for a in atoms:
        _attach_unit(toks, a)
    found: list[Quantity] = []
    used: set[int] = set()
    vague = {k for a in atoms if a.vague for k in range(a.i, a.j)}

    def emit(kind: str, lo: float, hi: float, unit: str, framing: str, i: int, j: int) -> None:
        start, end = toks[i].start, toks[j - 1].end
        found.append(Quantity(kind, lo, hi, unit, framing, start, end, text[start:end],
                              any(k in vague for k in range(i, j))))
        used.update(range(i, j))

    for atom, pct in _share_patterns(toks, atoms) + _fractions(toks):
        if atom.i in used:
            continue
        framing, fi = _pre_framing(toks, atom.i)
        emit("share", round(pct, 4), round(pct, 4), "percent", framing or ("more than" if atom.plus else "none"),
             fi, atom.j)

    for i, j, lo, hi, framing in _ages(toks):
        if not used.intersection(range(i, j)):
            emit("other", lo * 365.0, hi * 365.0, "days", framing, i, j)

    for i, j, lo, hi, framing in _schedule_points(toks):
        if not used.intersection(range(i, j)):
            emit("other", lo / 24.0, hi / 24.0, "days", framing, i, j)

    k = 0
    while k < len(atoms):
        a = atoms[k]
        if a.i in used:
            k += 1
            continue
        # ranges: a SEP b, the unit shared or each side its own
        b = atoms[k + 1] if k + 1 < len(atoms) else None
        is_range = False
        if b is not None and b.i in range(a.j + 1, a.j + 3) and b.i not in used:
            sep = [toks[m].low for m in range(a.j, b.i)]
            if sep[0] in _SEP_RANGE and (len(sep) == 1 or sep[1] in ("even", "possibly", "sometimes", "maybe",
                                                                         "perhaps", "up", "a", "an", "about")):
                between = sep[0] == "and" and _word_at(toks, a.i - 1) == "between"
                ua, ub = a.unit, b.unit
                compatible = (
                    (ua is None and ub is not None and (not ub.startswith("count") or not a.vague))
                    or (ub is None and ua is not None and not ua.startswith("count") and sep[0] == "or")
                    or (ua == ub == "percent")
                    or (ua is not None and ua.startswith("price:") and ub == ua)
                    or (ua in UNIT_HOURS and ub in UNIT_HOURS)
                )
                if compatible and (sep[0] != "and" or between):
                    is_range = True
                elif (ua is None and ub is None and b.mult > 1 and a.mult == 1 and not a.vague and len(sep) == 1
                      and (sep[0] in _DASHES | {"to"} or between) and a.lo * b.mult <= b.lo):
                    # "13-14 million patients": the multiplier is the range's, a count of people or things
                    emit("count", a.lo * b.mult, b.hi, "none", "range", _range_start(toks, a),
                         _generic_count(toks, b) or b.j)
                    k += 2
                    continue
                elif (ua is None and ub is None and a.mult == b.mult == 1 and not a.vague and not b.vague
                      and len(sep) == 1 and sep[0] in _DASHES | {"to", "or"} and a.lo < b.lo <= 100
                      and a.lo == int(a.lo) and b.lo == int(b.lo) and _generic_count(toks, b)):
                    # "two or three inhalers", "3-5 studies": the noun after the second number is both's
                    emit("count", a.lo, b.hi, "none", "range", _range_start(toks, a), _generic_count(toks, b))
                    k += 2
                    continue
        if is_range and b is not None:
            unit = b.unit if b.unit is not None else a.unit
            ua = a.unit or unit
            ub = b.unit or unit
            i0 = _range_start(toks, a)
            if unit == "percent":
                emit("share", a.lo, b.hi, "percent", "range", i0, b.j)
            elif unit.startswith(("dose:", "price:")):
                emit("other", a.lo, b.hi, unit.split(":", 1)[1], "range", i0, b.j)
            elif unit.startswith("count:"):
                noun = unit.split(":", 1)[1]
                emit("count", min(a.lo, b.hi), max(a.lo, b.hi), "infusions" if noun in COUNT_NOUNS else "none",
                     "range", i0, b.j)
            else:
                big = max(ua, ub, key=UNIT_ORDER.index)
                target = "hours" if big in SHORT_UNITS else "days"
                # "every 3-4 weeks": how often; "15-20 years of experience": a clinic's past
                kind = ("other" if _word_at(toks, i0 - 1) == "every" or _track_record(toks, b.j)
                        else _time_kind(toks, i0, b.j, big, words, _convert(b.hi, ub, "minutes")))
                lo, hi = _convert(a.lo, ua, target), _convert(b.hi, ub, target)
                if kind == "infusion_length":
                    lo, hi, target = _convert(a.lo, ua, "minutes"), _convert(b.hi, ub, "minutes"), "minutes"
                emit(kind, min(lo, hi), max(lo, hi), target, "range", i0, b.j)
            k += 2
            continue
        k += 1
        if a.unit is None:
            noun_end = _generic_count(toks, a) or (a.j if a.large else 0)  # "845,000", "nearly 2.4 million"
            if noun_end:
                framing, fi = _pre_framing(toks, a.i)
                post, _ = _post_framing(toks, a.j)
                emit("count", a.lo, a.hi, "none", framing or post or "none", fi, noun_end)
            continue
        before = _word_at(toks, a.i - 1)
        if before == "a" and a.vague:  # "a few days": look before the article
            before = _word_at(toks, a.i - 2)
            skip_at = a.i - 2
        else:
            skip_at = a.i - 1
        # "each 40-minute infusion": how long one infusion takes, not how often
        length = before in ("each", "every", "per") and a.unit in ("minutes", "hours") and _word_at(
            toks, a.j) in INFUSION_WORDS
        if before == "every" and a.unit in UNIT_HOURS and not length:  # "every two weeks": how often, kind other
            target = "hours" if a.unit in SHORT_UNITS else "days"
            emit("other", _convert(a.lo, a.unit, target), _convert(a.hi, a.unit, target), target, "none",
                 skip_at, a.j)
            continue
        if before in SKIP_BEFORE and not length:
            continue
        span = before in SKIP_AFTER_DETERMINER and _word_at(toks, skip_at - 1) in DETERMINERS
        # "the past two treatments" looks back; "your initial 6 infusion appointments" is a course of six
        if span and a.unit.startswith("count:") and before not in ("first", "initial", "next"):
            continue
        framing, fi = _pre_framing(toks, a.i - 1 if _word_at(toks, a.i - 1) == "a" and a.vague else a.i)
        post, pj = _post_framing(toks, a.j)
        if framing == "more than" and toks[fi].low == "over" and a.unit != "percent" and not (
                _word_at(toks, fi - 1) in ("last", "lasts", "lasting", "for") or a.unit.startswith("count")
                or _word_at(toks, a.j) == "ago"):  # "over 50 years ago" is more than
            framing, fi = None, a.i  # "six infusions over three weeks": over = during
        framing = framing or post or ("at least" if a.plus else "none")
        end = pj if post else a.j
        if a.unit == "percent":
            emit("share", a.lo, a.hi, "percent", framing, fi, end)
        elif a.unit.startswith(("dose:", "price:")):
            emit("other", a.lo, a.hi, a.unit.split(":", 1)[1], framing, fi, end)
        elif a.unit.startswith("count:"):
            noun = a.unit.split(":", 1)[1]
            emit("count", a.lo, a.hi, "infusions" if noun in COUNT_NOUNS else "none", framing, fi, end)
        else:
            # "20 years ago", "the 20 years since", "months in advance": when, not how long
            past = _word_at(toks, end) in ("ago", "since") or (_word_at(toks, end), _word_at(toks, end + 1)) == (
                "in", "advance")
            # "just 90 minutes outside of Washington", "a 20-minute drive": how far, not how soon
            far = _word_at(toks, end) in ("away", "outside", "drive", "north", "south", "east", "west")
            # no effect on these pages lasts or waits 20 years: "used for over half a century" is history
            not_effect = (span or past or far or _age(toks, end) or _history(toks, fi) or _illness(toks, fi)
                          or _track_record(toks, end) or _convert(a.lo, a.unit, "years") >= 20
                          or _wears_off(toks, fi))
            kind = "other" if not_effect else _time_kind(toks, fi, end, a.unit, words,
                                                         _convert(a.hi, a.unit, "minutes"))
            target = "minutes" if kind == "infusion_length" else ("hours" if a.unit in SHORT_UNITS else "days")
            emit(kind, _convert(a.lo, a.unit, target), _convert(a.hi, a.unit, target), target, framing, fi, end)
    for i, t in enumerate(toks):  # "twice a week for the first month": the span of one step of a schedule
        if (t.low == "for" and _word_at(toks, i + 1) == "the" and _word_at(toks, i + 2) in ("first", "next")
                and _word_at(toks, i + 3) in ("week", "month") and not used.intersection(range(i, i + 4))):
            unit = TIME_UNITS[_word_at(toks, i + 3)]
            emit("other", _convert(1.0, unit, "days"), _convert(1.0, unit, "days"), "days", "none", i, i + 4)
    for i, t in enumerate(toks):
        if t.low in ONCE and i not in used and _word_at(toks, i + 1) in ("a", "per", "every", "each", "daily",
                                                                          "weekly", "during", "in"):
            emit("count", float(ONCE[t.low]), float(ONCE[t.low]), "none", "none", i, i + 1)
    for i in (k for k, t in enumerate(toks) if t.low in _SPAN_STARTS):
        span = _past_span(toks, i)
        if span and not used.intersection(range(i, span[0])):
            end, lo, hi = span
            emit("other", lo, hi, "days", "none", i, end)
    found.sort(key=lambda q: q.start)
    return found
