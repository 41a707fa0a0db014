"""Synthetic but VALID data at k times the size of the curated data, for the benchmarks.

Each copy ``k`` of the real data gets new ids (``<id>_x<k>``), fresh identifiers
(pmid/doi/nct), counts scaled by one factor per study (so events ≤ total ≤ the
arm's n and parallel arms still add up to the study's n), effects and their CIs
scaled by one positive factor (so the CI still contains the estimate), and every
quote rewritten from the new numbers ("synthetic: ketamine 12/20 (60%); ..."),
so that the provenance check (every figure in its quote) still passes.  Claims
are copied per copy and point at that copy's studies and outcomes; the five
sources are copied as they are.  Seeded, so the same seed gives the same bytes.

    python -m bench.generate 10 --out /tmp/data10   # write one directory and validate it
"""

from __future__ import annotations

import argparse
import math
import random
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from evidence.curation.load import FILES, REPO_ROOT, load_dataset, validate
from evidence.curation.provenance import check_study, figures
from evidence.curation.schema import Claim, Provenance, Study, counts_matching_percent

REAL_DATA = REPO_ROOT / "data"
PARALLEL = ("RCT parallel", "randomized withdrawal")


@dataclass(frozen=True)
class Generated:
    path: Path
    scale: int
    studies: int
    claims: int
    sources: int


def _half_up(x: float) -> int:
    return math.floor(x + 0.5)  # monotonic, so a ≤ b stays a ≤ b after scaling


def _count(value: int | None, factor: float) -> int | None:
    return None if value is None else max(1, _half_up(value * factor))


def fmt(value: float) -> str:
    """A number as the quote writes it; parses back to exactly ``value`` (values are rounded first)."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _perturb_results(results, factor: float, rng: random.Random) -> None:
    for r in results:
        r.total = _count(r.total, factor)
        r.n = _count(r.n, factor)
        if r.events is not None:
            r.events = _half_up(r.events * factor)
            if r.total is not None:
                r.events = min(r.events, r.total)
        if r.events is not None and r.total:
            if r.percent is not None:
                r.percent = round(100 * r.events / r.total, 1)
        elif r.percent is not None:
            r.percent = round(min(100.0, r.percent * rng.uniform(0.85, 1.15)), 1)
        if r.mean is not None:
            r.mean = round(r.mean * rng.uniform(0.85, 1.15), 2)
        if r.sd is not None:
            r.sd = round(r.sd * rng.uniform(0.85, 1.15), 2)
        _rederive(r)


def _rederive(r) -> None:
    """Keep an exact derivation exact after perturbing: the validator re-runs its rule."""
    d = r.derived
    if d is None:
        return
    if d.rule == "sd_from_se" and r.sd is not None and r.n:
        r.sd = round(d.se * math.sqrt(r.n), 2)
    elif d.rule == "count_from_percent":
        fits = counts_matching_percent(r.percent, r.total) if r.percent is not None and r.total else []
        if len(fits) == 1:
            r.events = fits[0]
        else:
            r.derived = None  # the perturbed percent no longer fixes one count: keep the count as quoted


def synthetic_study(real: Study, copy: int, serial: int, rng: random.Random) -> Study:
    """One perturbed copy of a real study; ``serial`` makes the identifiers unique."""
    s = real.model_copy(deep=True)
    s.id = f"{real.id}_x{copy}"
    s.pmid = str(90_000_000 + serial) if real.pmid else None
    s.doi = f"10.5555/synthetic.{serial}" if real.doi else None
    s.nct = f"NCT{90_000_000 + serial:08d}" if real.nct else None
    s.citation.title = f"{real.citation.title} [synthetic copy {copy}]"
    # the studies it re-analyses or pools are this copy's (the validator resolves them within the file)
    s.reanalysis_of = [f"{other}_x{copy}" for other in real.reanalysis_of]
    for o in s.outcomes:
        if o.effect is not None:
            o.effect.includes = [f"{other}_x{copy}" for other in o.effect.includes]
    factor = rng.uniform(0.6, 1.6)
    for arm in s.arms:
        arm.n_randomized = _count(arm.n_randomized, factor)
    if s.sample:
        arm_ns = [a.n_randomized for a in s.arms]
        if s.sample.n_randomized and arm_ns and all(arm_ns) and s.design in PARALLEL:
            s.sample.n_randomized = sum(arm_ns)
        else:
            s.sample.n_randomized = _count(s.sample.n_randomized, factor)
    if s.follow_up:
        s.follow_up.value = max(0.01, round(s.follow_up.value * rng.uniform(0.8, 1.25), 2))
    for o in s.outcomes:
        _perturb_results(o.results, factor, rng)
        if o.effect:
            e, g = o.effect, rng.uniform(0.85, 1.15)  # one positive factor keeps lo ≤ estimate ≤ hi
            e.estimate = round(e.estimate * g, 3)
            if e.ci_low is not None and e.ci_high is not None:
                e.ci_low, e.ci_high = round(e.ci_low * g, 3), round(e.ci_high * g, 3)
            if e.p:
                e.p = round(min(1.0, max(0.0001, e.p * rng.uniform(0.5, 1.5))), 4)
    for d in s.durability:
        d.value = round(d.value * rng.uniform(0.8, 1.25), 2)
        if d.unit == "percent":
            d.value = min(d.value, 100.0)
    for ae in s.adverse_events:
        _perturb_results(ae.results, factor, rng)
    _rewrite_quotes(s)
    return s


_LABELS = {"n_randomized": "randomized", "k_studies": "studies", "value": "", "estimate": "effect"}


def _rewrite_quotes(s: Study) -> None:
    """Every provenance quote is rebuilt from the (new) figures it backs."""
    by_source: dict[int, tuple[Provenance, dict[str, dict[str, float]]]] = {}
    for where, name, value, source in figures(s):
        _, groups = by_source.setdefault(id(source), (source, defaultdict(dict)))
        groups[where][name] = value
    for source, groups in by_source.values():
        parts = [_segment(where, fields) for where, fields in groups.items()]
        quote = "synthetic: " + "; ".join(parts)
        if len(quote.split()) >= 40:  # keep the schema's "under 40 words"
            quote = "synthetic: " + " ".join(fmt(v) for fields in groups.values() for v in fields.values())
        source.quote = quote


def _segment(where: str, fields: dict[str, float]) -> str:
    f = dict(fields)
    if "." in where:  # "outcomes[x].<arm>", "outcomes[x].effect", "adverse_events[e].<arm>"
        label = where.rsplit(".", 1)[1]
    else:  # "arms[<arm>]", "sample", "follow_up", "durability[0]"
        label = where[5:-1] if where.startswith("arms[") else where.split("[")[0].replace("_", " ")
    bits = []
    if "events" in f and "total" in f:
        bits.append(f"{fmt(f.pop('events'))}/{fmt(f.pop('total'))}")
    if "percent" in f:
        bits.append(f"({fmt(f.pop('percent'))}%)")
    if "ci_low" in f and "ci_high" in f:
        est = f.pop("estimate", None)
        ci = f"({fmt(f.pop('ci_low'))} to {fmt(f.pop('ci_high'))})"
        bits.append(ci if est is None else f"{fmt(est)} {ci}")
    bits.extend(f"{_LABELS.get(k, k)} {fmt(v)}".strip() for k, v in f.items())
    return f"{label} {' '.join(bits)}".strip()


def synthetic_claim(real: Claim, copy: int) -> Claim:
    c = real.model_copy(deep=True)
    c.id = f"{real.id}_x{copy}"
    for link in c.evidence:
        link.study = f"{link.study}_x{copy}"
    return c


def _dump(path: Path, key: str, records: list) -> None:
    rows = [r.model_dump(exclude_none=True) for r in records]  # dates stay dates (the schema is strict)
    text = yaml.dump({key: rows}, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True, width=120)
    path.write_text(f"# SYNTHETIC benchmark data (bench/generate.py): not real studies.\n{text}", encoding="utf-8")


def generate(scale: int, directory: Path | str | None = None, seed: int = 2026, source: Path = REAL_DATA) -> Generated:
    """Write ``scale`` perturbed copies of the data in ``source`` to ``directory`` (a new temp dir if None).

    Raises RuntimeError if the result does not validate or a figure is missing from its quote.
    """
    if scale < 1:
        raise ValueError("scale must be ≥ 1")
    real = load_dataset(source)
    out = Path(directory) if directory else Path(tempfile.mkdtemp(prefix=f"evidence-bench-{scale}x-"))
    out.mkdir(parents=True, exist_ok=True)
    studies, claims = [], []
    for copy in range(scale):
        rng = random.Random(f"{seed}:{copy}")  # str seeds hash with sha512: stable across runs and processes
        for i, study in enumerate(real.studies):
            studies.append(synthetic_study(study, copy, copy * len(real.studies) + i, rng))
        claims.extend(synthetic_claim(c, copy) for c in real.claims)
    _dump(out / FILES["studies"], "studies", studies)
    _dump(out / FILES["claims"], "claims", claims)
    _dump(out / FILES["sources"], "sources", real.sources)
    check(out)
    return Generated(out, scale, len(studies), len(claims), len(real.sources))


def check(directory: Path) -> None:
    """Fail loudly unless the directory validates and every figure sits in its quote."""
    dataset, errors = validate(directory)
    if errors or dataset is None:
        shown = "\n".join(map(str, errors[:20]))
        raise RuntimeError(f"generated data in {directory} is INVALID ({len(errors)} errors):\n{shown}")
    missing = [m for s in dataset.studies for m in check_study(s)]
    if missing:
        shown = "\n".join(map(str, missing[:20]))
        raise RuntimeError(f"generated data in {directory}: {len(missing)} figure(s) not in their quote:\n{shown}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.splitlines()[0])
    parser.add_argument("scale", type=int)
    parser.add_argument("--out", type=Path, help="directory to write (default: a new temporary directory)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    g = generate(args.scale, args.out, args.seed)
    print(f"{g.path}: {g.studies} studies, {g.claims} claims, {g.sources} sources (valid)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
