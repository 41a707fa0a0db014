"""The benchmark's synthetic data generator: valid at 1x and 10x, expected counts, deterministic."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.generate import fmt, generate
from evidence.curation.load import load_dataset, validate
from evidence.curation.provenance import check_study, figure_in_quote, numbers_in
from tests.conftest import REPO

REAL = load_dataset(REPO / "data")
FILES = ("studies.yaml", "claims.yaml", "sources.yaml")


@pytest.fixture(autouse=True)
def _private_parse_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """validate() may cache parsed files on disk: keep the synthetic ones out of the user's cache."""
    monkeypatch.setenv("EVIDENCE_CACHE_DIR", str(tmp_path / "parse-cache"))


@pytest.mark.parametrize("scale", [1, 10])
def test_generated_data_validates_with_expected_counts(tmp_path: Path, scale: int):
    out = generate(scale, tmp_path / f"x{scale}", seed=7)
    dataset, errors = validate(out.path)
    assert errors == []
    assert dataset is not None
    assert (out.studies, out.claims, out.sources) == (
        len(REAL.studies) * scale, len(REAL.claims) * scale, len(REAL.sources))
    assert len(dataset.studies) == out.studies and len(dataset.claims) == out.claims
    assert len({s.id for s in dataset.studies}) == out.studies, "study ids are unique"
    assert len({c.id for c in dataset.claims}) == out.claims, "claim ids are unique"
    assert len({s.pmid for s in dataset.studies if s.pmid}) == sum(1 for s in dataset.studies if s.pmid)
    assert [s.design for s in dataset.studies] == [s.design for s in REAL.studies] * scale, "same mix of designs"
    assert all(check_study(s) == [] for s in dataset.studies), "every figure is in its (rewritten) quote"
    studies = {s.id: s for s in dataset.studies}
    for claim in dataset.claims:
        for link in claim.evidence:
            assert link.study in studies
            assert set(link.outcomes) <= {o.id for o in studies[link.study].outcomes}


def test_numbers_are_perturbed_but_rules_hold(tmp_path: Path):
    dataset = load_dataset(generate(1, tmp_path / "x1", seed=7).path)
    real_ns = [s.sample.n_randomized for s in REAL.studies if s.sample]
    new_ns = [s.sample.n_randomized for s in dataset.studies if s.sample]
    assert real_ns != new_ns, "counts are perturbed, not copied"
    for s in dataset.studies:
        for o in s.outcomes:
            for r in o.results:
                assert r.events is None or r.total is None or r.events <= r.total
            if o.effect and o.effect.ci_low is not None:
                assert o.effect.ci_low <= o.effect.estimate <= o.effect.ci_high


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path):
    a = generate(1, tmp_path / "a", seed=11).path
    b = generate(1, tmp_path / "b", seed=11).path
    c = generate(1, tmp_path / "c", seed=12).path
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "studies.yaml").read_bytes() != (c / "studies.yaml").read_bytes()


@pytest.mark.parametrize("value", [0, 3, 12.5, -0.87, 0.0001, 6889, 31.17, 0.05])
def test_fmt_round_trips_through_the_provenance_check(value: float):
    assert figure_in_quote(value, numbers_in(f"synthetic: x {fmt(value)} y"))
