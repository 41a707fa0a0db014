"""Data tests over the bundled data/: each lists every bad entry in one run (like bioregistry's)."""

from __future__ import annotations

import json
import re

import pytest

from evidence.curation.load import load_dataset, sources_dir
from evidence.curation.provenance import check_study, figure_in_quote, numbers_in
from evidence.curation.schema_export import json_schemas, render
from evidence.curation.tables import CLAIM_COLUMNS, OUTCOME_COLUMNS, STUDY_COLUMNS, build_tables
from tests.conftest import REPO

DATASET = load_dataset(REPO / "data")


def test_every_figure_is_in_its_quote():
    missing = [str(m) for s in DATASET.studies for m in check_study(s)]
    assert not missing, "\n".join(missing)


def test_every_study_has_pmid_or_doi():
    bad = [s.id for s in DATASET.studies if not (s.pmid or s.doi) and s.kind not in ("regulatory", "label")]
    assert not bad, bad


def test_secondary_figures_name_their_page():
    bad = [s.id for s in DATASET.studies for o in s.outcomes if o.source.secondary and not o.source.url]
    assert not bad, bad


def test_at_least_45_studies_and_every_source_page_quoted():
    assert len(DATASET.studies) >= 45
    quoted = {a.source for c in DATASET.claims for a in c.appearances}
    assert quoted == {s.id for s in DATASET.sources}


@pytest.mark.skipif(not sources_dir().is_dir(), reason="../shared/sources/ is not present")
def test_every_claim_quote_occurs_in_its_page():
    norm = lambda text: re.sub(r"\s+", " ", text).strip()  # noqa: E731
    pages = {s.id: norm((sources_dir() / s.file).read_text(encoding="utf-8")) for s in DATASET.sources}
    bad = [f"{c.id}: {a.quote!r} not in {a.source}" for c in DATASET.claims for a in c.appearances
           if norm(a.quote) not in pages[a.source]]
    assert not bad, "\n".join(bad)


def test_quotes_are_one_sentence_or_less():
    bad = [f"{c.id}: {a.quote}" for c in DATASET.claims for a in c.appearances
           if len(re.findall(r"[.!?](?:\s|$)", a.quote.strip()[:-1])) > 0]
    assert not bad, "\n".join(bad)


def test_graded_claims_cite_studies_and_rationales_name_them():
    bad = []
    for c in DATASET.claims:
        if c.verdict != "Not checkable" and not c.evidence:
            bad.append(f"{c.id}: no evidence")
        cited = {e.study for e in c.evidence}
        if cited and not any(sid.split("_")[0] in c.rationale for sid in cited):
            bad.append(f"{c.id}: rationale names none of its studies")
        if "Rule applied" not in c.rationale:
            bad.append(f"{c.id}: rationale does not name the rule applied")
    assert not bad, "\n".join(bad)


def test_rationale_numbers_come_from_the_data():
    """Every number in a rationale must appear in a quote or finding of the studies the claim cites,
    so no figure enters the prose that is not in data/ (years, counts of studies and durations excepted)."""
    bad = []
    for c in DATASET.claims:
        pool: set[float] = set()
        for link in c.evidence:
            s = DATASET.study(link.study)
            texts = [f.text + " " + f.source.quote for f in s.findings]
            texts += [o.source.quote for o in s.outcomes] + [d.source.quote for d in s.durability]
            texts += [a.source.quote for a in s.adverse_events] + [a.source.quote for a in s.arms if a.source]
            texts += [s.sample.source.quote] if s.sample else []
            for t in texts:
                pool |= numbers_in(t)
        prose = re.sub(r"\b[a-z]+\d{4}_[a-z0-9_]+\b", "", c.rationale)  # study ids contain years
        prose = re.sub(r"\b(19|20)\d{2}\b", "", prose)
        for token in re.findall(r"\d+(?:[.,]\d+)?", prose):
            value = float(token.replace(",", ""))
            if value <= 12 or figure_in_quote(value, pool):
                continue
            bad.append(f"{c.id}: {token}")
    assert not bad, "numbers in rationales not found in the cited studies' quotes: " + ", ".join(bad)


def test_committed_json_schema_is_current():
    for stem, schema in json_schemas().items():
        committed = (REPO / "data" / "schema" / f"{stem}.schema.json").read_text(encoding="utf-8")
        assert committed == render(schema), f"data/schema/{stem}.schema.json is stale: run `make schema`"
        json.loads(committed)


def test_table_column_contract():
    tables = build_tables(DATASET)
    assert list(tables.studies.columns[:16]) == STUDY_COLUMNS[:16]
    assert list(tables.outcomes.columns[:24]) == OUTCOME_COLUMNS[:24]
    assert list(tables.claims.columns[:8]) == CLAIM_COLUMNS[:8]
    assert tables.outcomes["rate"].dropna().between(0, 1).all()
    assert len(tables.claims) == sum(len(c.appearances) for c in DATASET.claims)
