"""The verdict and certainty vocabulary, with the published rule for each label.

Written once here; the Methods page, the claim pages, the ClaimReview export and
the data tests all read these constants, so a label can never mean two things.
Colours are from the Okabe–Ito colour-blind-safe palette, and every badge also
prints its label, so colour is never the only channel.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VerdictRule:
    label: str
    value: int | None  # ClaimReview ratingValue (1 worst .. 5 best); None for text-only labels
    rule: str
    colour: str
    text_colour: str = "#000000"


VERDICTS: dict[str, VerdictRule] = {
    r.label: r
    for r in (
        VerdictRule("Supported", 5,
                    "Direction, size, timing and population match the evidence at moderate or high certainty.",
                    "#009E73"),  # black text: white on this green is 3.4:1, under WCAG AA
        VerdictRule("Partly supported", 4,
                    "True only for a narrower population, time point or outcome than implied, or only at low "
                    "certainty.", "#56B4E9"),
        VerdictRule("Overstated", 3,
                    "Right direction, but size, share, durability or generality exceeds the evidence "
                    "(\"up to\" presented as typical).", "#E69F00"),
        VerdictRule("Misleading", 2,
                    "A real finding used to create a false impression (open-label rate as the expected rate, "
                    "wrong comparator).", "#D55E00"),  # black text: white on it is 3.9:1, under WCAG AA
        VerdictRule("Contradicted", 1,
                    "Moderate or high certainty evidence shows the opposite or no effect.", "#CC79A7"),
        VerdictRule("Unsupported", None,
                    "No study of adequate design addresses it. Not the same as false.", "#999999"),
        VerdictRule("Not checkable", None,
                    "Vague or not empirical (or outside the clinical evidence this tracker curates); the claim "
                    "page says what would make it checkable.", "#DDDDDD"),
    )
}

CERTAINTY: dict[str, str] = {
    # GRADE certainty and the wording a journalist can quote for it.
    "High": "results in",
    "Moderate": "likely results in",
    "Low": "may result in",
    "Very low": "the evidence is very uncertain about",
}
CERTAINTY_MEANING: dict[str, str] = {
    "High": "Further research is very unlikely to change our confidence in the estimate.",
    "Moderate": "Further research is likely to have an important impact and may change the estimate.",
    "Low": "Further research is very likely to have an important impact and is likely to change the estimate.",
    "Very low": "Any estimate of effect is very uncertain.",
}
CERTAINTY_COLOURS = {"High": "#0072B2", "Moderate": "#56B4E9", "Low": "#F0E442", "Very low": "#E1E1E1"}

REASON_TAGS_HELP: dict[str, str] = {
    "wrong time point": "The figure holds at another time point than the claim implies.",
    "peak not typical": "A best-case or peak value is presented as what to expect.",
    "narrower population": "Shown only in a narrower group than the claim addresses.",
    "different outcome definition": "The studies measured a different outcome (e.g. any improvement vs response).",
    "open-label evidence": "Rests on unblinded studies, where expectation inflates response.",
    "no placebo-adjusted effect": "A raw response rate, not the difference from placebo.",
    "small or single study": "Few or small studies.",
    "up to framing": "An 'up to' or 'as little as' figure implies a typical result.",
    "cherry-picked subgroup": "A favourable subgroup stands in for all patients.",
    "harms omitted": "Known harms or risks are left out.",
    "no head-to-head evidence": "No study compared the two treatments directly.",
    "comparator on a different axis": "The comparison is with a treatment measured on another outcome.",
    "funding or conflict of interest": "The evidence is mainly industry-funded or conflicted.",
    "vague wording": "The claim's wording is too vague to test as stated.",
}


def badge_html(text: str, colour: str, text_colour: str = "#000000") -> str:
    """A small inline badge; the label is always printed (colour is not the only channel)."""
    return (
        f'<span style="background:{colour};color:{text_colour};padding:2px 8px;border-radius:10px;'
        f'font-size:0.85em;font-weight:600;white-space:nowrap;border:1px solid #666">{text}</span>'
    )


def verdict_badge(verdict: str) -> str:
    rule = VERDICTS[verdict]
    return badge_html(verdict, rule.colour, rule.text_colour)


def certainty_badge(certainty: str | None) -> str:
    if certainty is None:
        return badge_html("Certainty: not graded", "#FFFFFF")
    return badge_html(f"Certainty: {certainty}", CERTAINTY_COLOURS[certainty])
