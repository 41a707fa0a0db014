"""Pydantic models for the curated records in ``data/``.

The models are the single definition of what a valid study, source or claim is:
the loader validates against them, the JSON Schema under ``data/`` is generated
from them, and the tables are built from validated instances only.  Every
figure carries a :class:`Provenance` so that a reader can find it in the paper.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

# --------------------------------------------------------------------------- vocabularies

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=80)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def web_url_problem(value: str) -> str | None:
    """Why ``value`` is not an absolute http(s) URL with a host, or None when it is.  The pages put URLs in
    ``href``: ``javascript:`` or ``data:`` would run in the reader's browser, a relative or host-less one would
    point into the site itself, and whitespace or a control character breaks Markdown links and BibTeX fields."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        return "a URL has no spaces or control characters (write a space as %20)"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number in range
    except ValueError as exc:
        return f"not a well-formed URL ({exc})"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "a URL must be absolute, start with http:// or https:// and name a host"
    return None


def _web_url(value: str) -> str:
    problem = web_url_problem(value)
    if problem:
        raise ValueError(f"{problem}; got {value[:80]!r}")
    return value


# The JSON Schema pattern is a looser twin of _web_url for editors (ECMA regex has no inline (?i) flag).
WebUrl = Annotated[str, AfterValidator(_web_url),
                   Field(json_schema_extra={"pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+\S*$"})]

StudyKind = Literal[
    "trial", "cohort", "case_series", "meta_analysis", "systematic_review",
    "regulatory", "label", "review",
]
Design = Literal[
    "RCT parallel", "RCT crossover", "randomized withdrawal", "open-label",
    "open-label extension", "observational", "case series", "meta-analysis",
    "pooled analysis", "individual participant data meta-analysis",
    "systematic review", "narrative review", "pharmacovigilance", "regulatory document",
]
Blinding = Literal["double-blind", "single-blind", "triple-blind", "open-label", "not applicable"]
Drug = Literal[
    "racemic ketamine", "esketamine", "arketamine", "ketamine (mixed forms)",
    "placebo (saline)", "placebo (intranasal)", "placebo (oral)", "midazolam",
    "electroconvulsive therapy", "quetiapine", "oral antidepressant", "standard care",
    "other",
]
Route = Literal[
    "intravenous", "intranasal", "oral", "sublingual", "intramuscular", "subcutaneous",
    "mixed", "not applicable",
]
Population = Literal[
    "TRD", "MDD", "bipolar depression", "mixed unipolar and bipolar depression",
    "suicidal ideation", "PTSD", "anxiety", "depression in surgical patients",
    "recreational users", "general", "other",
]
Schedule = Literal[
    "single infusion", "single dose", "induction series", "maintenance",
    "induction and maintenance", "as comparator", "other",
]
Role = Literal["intervention", "control"]
OutcomeKind = Literal[
    "response", "remission", "relapse", "mean_change", "mean_score",
    "effect_size", "proportion", "suicidal_ideation_resolution",
]
EffectType = Literal["OR", "RR", "RD", "SMD", "MD", "HR", "NNT", "g", "d"]
TimeUnit = Literal["minutes", "hours", "days", "weeks", "months"]
TimeFrom = Literal["first dose", "last dose", "randomization", "treatment start"]
RobLevel = Literal["low", "some concerns", "high", "unclear"]

Verdict = Literal[
    "Supported", "Partly supported", "Overstated", "Misleading", "Contradicted",
    "Unsupported", "Not checkable",
]
Certainty = Literal["High", "Moderate", "Low", "Very low"]
Topic = Literal[
    "onset", "duration", "response rate", "remission", "treatment-resistant depression",
    "suicidal thoughts", "safety and side effects", "abuse and addiction", "mechanism",
    "other conditions", "regimen", "setting", "comparison with other treatments",
    "quality of life", "general efficacy", "history",
]
ReasonTag = Literal[
    "wrong time point", "peak not typical", "narrower population",
    "different outcome definition", "open-label evidence", "no placebo-adjusted effect",
    "small or single study", "up to framing", "cherry-picked subgroup", "harms omitted",
    "no head-to-head evidence", "comparator on a different axis",
    "funding or conflict of interest", "vague wording",
]
Stance = Literal["supports", "contradicts", "context"]
Framing = Literal["up to", "as little as", "more than", "at least", "about", "typical", "range", "none"]

HOURS_PER_UNIT = {"minutes": 1 / 60, "hours": 1.0, "days": 24.0, "weeks": 168.0, "months": 730.0}

MAX_COUNT = 100_000_000  # participants, events, studies: far above any study, far below int64 overflow in sums
MAX_TIME = 1_000_000  # a time value in any unit: hours stay finite (1e308 months were read as inf hours)
MAX_VALUE = 1e9  # means, SDs, SEs, estimates: finite arithmetic (SMDs, pooling) on every reported figure


class Model(BaseModel):
    """Base: unknown fields are errors and nothing is coerced (strict): YAML's ``yes`` is not 1, ``'2013'`` is
    not a year, ``12.0`` is not a count, ``!!binary`` bytes are not text; ``.inf`` and ``.nan`` are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, str_strip_whitespace=True)


# --------------------------------------------------------------------------- provenance

class Provenance(Model):
    """Where a figure comes from: a location in the paper and a short verbatim quote."""

    location: Text = Field(description='Where in the paper, e.g. "Abstract", "Table 2".')
    quote: Text = Field(description="Verbatim text under 40 words that contains the figure.")
    secondary: bool = Field(False, description="True when taken from a secondary page (give url).")
    url: WebUrl | None = None

    @model_validator(mode="after")
    def _short_quote(self) -> Provenance:
        words = len(self.quote.split())  # whitespace-separated words, as \S+ runs
        if words >= 40:
            raise ValueError(f"quote has {words} words; keep it under 40")
        if self.secondary and not self.url:
            raise ValueError("a secondary source needs its url")
        return self


class Citation(Model):
    authors: list[Text] = Field(min_length=1, description='"Surname Initials", first author first.')
    year: int = Field(ge=1950, le=2100)
    title: Text
    journal: Text


class RiskOfBias(Model):
    overall: RobLevel
    tool: Text = "RoB 2"
    domains: dict[str, RobLevel] = Field(default_factory=dict)
    judged_by: Text = Field(description="Who judged it, e.g. 'Cochrane CD011612' or 'curators'.")
    source: Provenance | None = None


class Sample(Model):
    """Study-level size: participants randomized (or pooled, for a synthesis)."""

    n_randomized: int | None = Field(None, ge=1, le=MAX_COUNT)
    k_studies: int | None = Field(None, ge=1, le=MAX_COUNT, description="Syntheses: number of studies pooled.")
    source: Provenance


class FollowUp(Model):
    value: float = Field(gt=0, le=MAX_TIME)
    unit: TimeUnit
    source: Provenance | None = None


# --------------------------------------------------------------------------- arms and results

class Arm(Model):
    id: Slug
    label: Text
    role: Role
    drug: Drug
    dose: str | None = None
    route: Route | None = None
    schedule: Schedule | None = None
    n_randomized: int | None = Field(None, ge=1, le=MAX_COUNT)
    source: Provenance | None = Field(None, description="Required when n_randomized is given.")

    @model_validator(mode="after")
    def _n_has_source(self) -> Arm:
        if self.n_randomized is not None and self.source is None:
            raise ValueError("n_randomized needs a source (location and quote)")
        return self


class Timepoint(Model):
    value: float = Field(gt=0, le=MAX_TIME, description="Positive: time after the reference dose.")
    unit: TimeUnit
    since: TimeFrom = Field(description="Counted from the first or the last dose (or randomization).")
    label: str | None = Field(None, description='As the paper says it, e.g. "day 28".')
    within: bool = Field(False, description='"By this time" (any assessment up to it), not a fixed time point: '
                                            "kept out of fixed-time windows.")

    @property
    def hours(self) -> float:
        return self.value * HOURS_PER_UNIT[self.unit]


class Derivation(Model):
    """How a recorded value was derived from quoted ones, by an exact rule the validator re-runs.

    ``count_from_percent``: ``events`` is the one integer k with 100·k/total equal to the quoted ``percent`` at
    its printed precision (half a unit of the last printed digit either way); refused when none or several fit.
    ``sd_from_se``: ``sd`` = ``se`` · √n, rounded to two decimals.
    """

    rule: Literal["count_from_percent", "sd_from_se"]
    se: float | None = Field(None, gt=0, le=MAX_VALUE, description="sd_from_se: the quoted standard error.")

    @model_validator(mode="after")
    def _inputs(self) -> Derivation:
        if self.rule == "sd_from_se" and self.se is None:
            raise ValueError("sd_from_se needs the quoted se")
        return self


def percent_decimals(percent: float) -> int:
    """Decimals the percent was printed with, read from its shortest representation (64 -> 0, 33.3 -> 1)."""
    text = repr(float(percent))
    return 0 if text.endswith(".0") else len(text.split(".")[1])


def counts_matching_percent(percent: float, total: int) -> list[int]:
    """Every integer count k (0..total) whose share 100·k/total rounds to ``percent`` at its printed precision."""
    half = 0.5 * 10 ** -percent_decimals(percent)
    lo, hi = (percent - half) * total / 100, (percent + half) * total / 100
    eps = 1e-9
    return list(range(max(0, math.ceil(lo - eps)), min(total, math.floor(hi + eps)) + 1))


class ArmResult(Model):
    """One arm's result: events/total for binary outcomes, mean/sd/n for continuous ones."""

    arm: Slug
    events: int | None = Field(None, ge=0, le=MAX_COUNT)
    total: int | None = Field(None, ge=1, le=MAX_COUNT)
    percent: float | None = Field(None, ge=0, le=100)
    mean: float | None = Field(None, ge=-MAX_VALUE, le=MAX_VALUE)
    sd: float | None = Field(None, ge=0, le=MAX_VALUE)
    n: int | None = Field(None, ge=1, le=MAX_COUNT)
    derived: Derivation | None = Field(None, description="Set when events or sd were derived by an exact rule.")
    source: Provenance | None = Field(None, description="Where this arm's figures were read, when not the outcome's.")

    @model_validator(mode="after")
    def _derivation(self) -> ArmResult:
        d = self.derived
        if d is None:
            return self
        if d.rule == "count_from_percent":
            if self.percent is None or self.total is None or self.events is None:
                raise ValueError("count_from_percent needs percent, total and the derived events")
            fits = counts_matching_percent(self.percent, self.total)
            if len(fits) != 1:
                raise ValueError(f"{self.percent:g}% of {self.total} fits {len(fits)} counts {fits}: not derivable")
            if fits[0] != self.events:
                raise ValueError(f"{self.percent:g}% of {self.total} gives {fits[0]} events, not {self.events}")
        else:
            if self.sd is None or self.n is None:
                raise ValueError("sd_from_se needs the derived sd and n")
            expected = round(d.se * math.sqrt(self.n), 2)
            if abs(expected - self.sd) > 0.005 + 1e-9:
                raise ValueError(f"se {d.se:g} with n {self.n} gives sd {expected:g}, not {self.sd:g}")
        return self

    @model_validator(mode="after")
    def _consistent(self) -> ArmResult:
        if self.events is not None and self.total is not None and self.events > self.total:
            raise ValueError(f"events ({self.events}) exceed total ({self.total})")
        if (self.events is None) != (self.total is None) and self.percent is None:
            raise ValueError("give events with total, or a percent")
        if self.percent is not None and self.events is not None and self.total is not None and self.derived is None \
                and self.events not in counts_matching_percent(self.percent, self.total):
            raise ValueError(f"percent {self.percent:g} does not match {self.events}/{self.total} "
                             f"({100 * self.events / self.total:.{percent_decimals(self.percent)}f}% at the "
                             "percent's printed precision)")
        if self.events is None and self.total is None and self.percent is None and self.mean is None:
            raise ValueError("an arm result needs events/total, percent or mean")
        return self


class Effect(Model):
    """A between-arm (or pooled) effect as the paper reports it."""

    type: EffectType
    estimate: float = Field(ge=-MAX_VALUE, le=MAX_VALUE)
    ci_low: float | None = Field(None, ge=-MAX_VALUE, le=MAX_VALUE)
    ci_high: float | None = Field(None, ge=-MAX_VALUE, le=MAX_VALUE)
    ci_level: float = 0.95
    p: float | None = Field(None, ge=0, le=1)
    comparison: str | None = Field(None, description='e.g. "ketamine vs midazolam".')
    se: float | None = Field(None, gt=0, le=MAX_VALUE,
                             description="A reported standard error (e.g. of a mean difference).")
    n_intervention: int | None = Field(None, ge=1, le=MAX_COUNT,
                                        description="Participants analysed in the intervention arm(s).")
    n_control: int | None = Field(None, ge=1, le=MAX_COUNT,
                                   description="Participants analysed in the control arm(s).")
    k_studies: int | None = Field(None, ge=1, le=MAX_COUNT,
                                   description="Syntheses: studies pooled in this estimate.")
    n_participants: int | None = Field(None, ge=1, le=MAX_COUNT,
                                        description="Syntheses: participants in this estimate.")
    certainty: Certainty | None = Field(None, description="GRADE certainty, where the review gives one.")
    includes: list[Slug] = Field(default_factory=list, description="Syntheses: studies in data/ it pooled.")
    favours: Literal["lower", "higher"] | None = Field(
        None, description="Continuous effects: which values favour ketamine, as the paper's sign convention has it "
                          "(lower: negative favours ketamine; higher: positive does). Needed to pool or orient "
                          "a standardized effect; a ratio of a good outcome favours ketamine above 1.")

    @model_validator(mode="after")
    def _ratio_positive(self) -> Effect:
        if self.type in ("OR", "RR", "HR"):
            for name in ("estimate", "ci_low", "ci_high"):
                value = getattr(self, name)
                if value is not None and value <= 0:
                    raise ValueError(f"a {self.type} must be positive ({name} {value})")
        return self

    @model_validator(mode="after")
    def _ci_contains(self) -> Effect:
        lo, hi = self.ci_low, self.ci_high
        if (lo is None) != (hi is None):
            raise ValueError("give both ci_low and ci_high, or neither")
        if lo is not None and hi is not None:
            if lo > hi:
                raise ValueError(f"ci_low ({lo}) is above ci_high ({hi})")
            if not lo <= self.estimate <= hi:
                raise ValueError(f"estimate {self.estimate} lies outside its CI [{lo}, {hi}]")
        return self


class Outcome(Model):
    id: Slug
    measure: Text = Field(description="Scale, e.g. MADRS, HAM-D, BDI, C-SSRS.")
    kind: OutcomeKind
    definition: str | None = Field(None, description='e.g. "≥50% reduction in MADRS".')
    timepoint: Timepoint
    results: list[ArmResult] = Field(default_factory=list)
    effect: Effect | None = None
    source: Provenance

    @model_validator(mode="after")
    def _has_data(self) -> Outcome:
        if not self.results and self.effect is None:
            raise ValueError("an outcome needs per-arm results or an effect")
        arms = [r.arm for r in self.results]
        if len(arms) != len(set(arms)):
            raise ValueError("an arm appears twice in results")
        return self


class Durability(Model):
    """How long the effect lasts, as the paper measured it."""

    measure: Literal[
        "time_to_relapse", "last_difference_from_control", "still_responding",
        "duration_of_response", "relapse_rate",
    ]
    statistic: Literal["median", "mean", "value", "proportion", "range"]
    value: float = Field(ge=0, le=MAX_TIME)
    unit: Literal["minutes", "hours", "days", "weeks", "months", "percent"]
    population: Text = Field(description="Who, e.g. 'responders after six infusions'.")
    arm: Slug | None = None
    source: Provenance

    @property
    def days(self) -> float | None:
        return None if self.unit == "percent" else self.value * HOURS_PER_UNIT[self.unit] / 24


class AdverseEvent(Model):
    event: Text
    timing: str | None = Field(None, description='e.g. "40 min after start of infusion".')
    results: list[ArmResult] = Field(min_length=1)
    source: Provenance


class Finding(Model):
    """A key fact that is not an arm-level outcome (regulatory dates, review conclusions)."""

    text: Text
    source: Provenance


# --------------------------------------------------------------------------- study

class Study(Model):
    id: Slug
    kind: StudyKind
    citation: Citation
    pmid: Annotated[str, StringConstraints(pattern=r"^\d{1,9}$")] | None = None
    doi: Annotated[str, StringConstraints(pattern=r"^10\.\d{4,9}/\S+$")] | None = None
    nct: Annotated[str, StringConstraints(pattern=r"^NCT\d{8}$")] | None = None
    url: WebUrl | None = Field(None, description="For regulatory documents without PMID/DOI.")
    design: Design
    blinding: Blinding
    drug: Drug
    route: Route
    population: Population
    comparators: list[Drug] = Field(default_factory=list)
    sample: Sample | None = None
    funding: str | None = None
    follow_up: FollowUp | None = None
    risk_of_bias: RiskOfBias | None = None
    arms: list[Arm] = Field(default_factory=list)
    outcomes: list[Outcome] = Field(default_factory=list)
    durability: list[Durability] = Field(default_factory=list)
    adverse_events: list[AdverseEvent] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    reanalysis_of: list[Slug] = Field(
        default_factory=list,
        description="Studies in data/ whose participants this one re-analyses; pools never count both.")
    notes: str | None = None

    @model_validator(mode="after")
    def _cross_checks(self) -> Study:
        """Every inconsistency within the record, in one error (the validator had stopped at the first, so fixing
        one arm's name only revealed the next)."""
        problems: list[str] = []
        if not (self.pmid or self.doi or (self.kind in ("regulatory", "label") and self.url)):
            problems.append("a study needs a pmid or a doi (regulatory documents: a url)")
        arm_ids = [a.id for a in self.arms]
        problems += _duplicates(arm_ids, "arm id") + _duplicates([o.id for o in self.outcomes], "outcome id")
        by_id = {a.id: a for a in self.arms}
        known = by_id.keys()
        for o in self.outcomes:
            for r in o.results:
                if r.arm not in known:
                    problems.append(f"outcome {o.id}: unknown arm {r.arm!r} (arms: {sorted(known)})")
                    continue
                arm = by_id[r.arm]
                size = r.total if r.total is not None else r.n
                if arm.n_randomized and size and size > arm.n_randomized and self.design != "RCT crossover":
                    problems.append(f"outcome {o.id}: arm {r.arm} total {size} exceeds its n_randomized "
                                    f"{arm.n_randomized}")
        for ae in self.adverse_events:
            problems += [f"adverse event {ae.event!r}: unknown arm {r.arm!r}" for r in ae.results if r.arm not in known]
        problems += [f"durability: unknown arm {d.arm!r}" for d in self.durability
                     if d.arm is not None and d.arm not in known]
        arm_ns = [a.n_randomized for a in self.arms]
        total = self.sample.n_randomized if self.sample else None
        parallel = self.design in ("RCT parallel", "randomized withdrawal")
        if total and arm_ns and all(arm_ns) and parallel and sum(arm_ns) != total:
            problems.append(f"arms' n_randomized add up to {sum(arm_ns)}, not the study's {total}")
        if total and self.design == "RCT crossover":
            problems += [f"crossover arm {a.id} has more participants than the study" for a in self.arms
                         if a.n_randomized and a.n_randomized > total]
        if self.id in self.reanalysis_of:
            problems.append("reanalysis_of: a study cannot re-analyse itself")
        problems += [f"outcome {o.id}: effect.includes names the study itself" for o in self.outcomes
                     if o.effect is not None and self.id in o.effect.includes]
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _duplicates(values: list[str], what: str) -> list[str]:
    seen: set[str] = set()
    out = []
    for v in values:
        if v in seen:
            out.append(f"duplicate {what} {v!r}")
        seen.add(v)
    return out


# --------------------------------------------------------------------------- sources and claims

class Source(Model):
    """A marketing page a claim was quoted from.  No copy of the page goes into data/."""

    id: Slug
    title: Text = Field(description="The page's own heading.")
    publisher: str | None = Field(None, description="As the page names itself, else null.")
    kind: Literal["clinic marketing", "health blog", "directory"]
    file: str | None = Field(None, description="File name under shared/sources/.")
    url: WebUrl | None = None
    retrieved: date | None = None
    note: Text


class Appearance(Model):
    source: Slug
    quote: Text = Field(description="Verbatim, one sentence or less.")


class Assertion(Model):
    """The checkable content of a claim with a number or a comparison."""

    quantity: Literal[
        "response_rate", "onset", "duration", "relative_effect", "relative_risk",
        "infusion_length", "schedule", "side_effect_rate",
    ]
    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: Literal["percent", "minutes", "hours", "days", "weeks", "months", "infusions", "none"] = "none"
    framing: Framing = "none"
    population: str | None = None
    comparator: str | None = None

    @model_validator(mode="after")
    def _range(self) -> Assertion:
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")
        return self


class EvidenceLink(Model):
    study: Slug
    outcomes: list[Slug] = Field(default_factory=list)
    stance: Stance
    note: str | None = None


class SummarySpec(Model):
    """Which computed summary the claim page shows (numbers come from data/, not prose)."""

    kind: Literal["response_rate", "odds_ratio", "response_over_time", "durations", "adverse_events"]
    outcome_kind: OutcomeKind = "response"
    hours_min: float | None = Field(None, ge=0)
    hours_max: float | None = Field(None, gt=0)
    blinded_only: bool = False
    control: Literal["any", "saline", "midazolam", "active"] | None = None
    drugs: list[Drug] = Field(default_factory=list)
    populations: list[Population] = Field(default_factory=list)
    label: str | None = None


class ChangelogEntry(Model):
    date: date
    verdict: Verdict
    note: Text


class Claim(Model):
    id: Slug
    short: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=74)]
    topic: Topic
    appearances: list[Appearance] = Field(min_length=1)
    assertion: Assertion | None = None
    verdict: Verdict
    certainty: Certainty | None = None
    reason_tags: list[ReasonTag] = Field(default_factory=list)
    rationale: Text
    evidence: list[EvidenceLink] = Field(default_factory=list)
    summaries: list[SummarySpec] = Field(default_factory=list)
    supported_wording: Text
    checkable_if: str | None = Field(None, description="Not checkable: what would make it checkable.")
    changelog: list[ChangelogEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _verdict_rules(self) -> Claim:
        graded = self.verdict not in ("Unsupported", "Not checkable")
        if graded and not self.evidence:
            raise ValueError(f"verdict {self.verdict!r} needs at least one evidence link")
        if graded and self.certainty is None:
            raise ValueError(f"verdict {self.verdict!r} needs a certainty")
        if self.verdict == "Not checkable" and not self.checkable_if:
            raise ValueError("a Not checkable claim says what would make it checkable (checkable_if)")
        if self.changelog[-1].verdict != self.verdict:
            raise ValueError("the last changelog entry must carry the current verdict")
        return self


# --------------------------------------------------------------------------- files

class StudiesFile(Model):
    studies: list[Study]


class SourcesFile(Model):
    sources: list[Source]


class ClaimsFile(Model):
    claims: list[Claim]
