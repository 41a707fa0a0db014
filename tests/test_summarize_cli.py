"""``python -m evidence summarize`` prints what the explorer's forest shows; ``export --table syntheses``."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from evidence.cli import main
from evidence.commands import summarize
from evidence.synthesis import explore, stats
from tests.conftest import REPO

KEYS = {"k", "n", "studies", "rows", "measure", "method", "pooled", "estimate", "ci_low", "ci_high", "pi_low",
        "pi_high", "tau2", "i2"}


def run_json(capsys, *args: str, data: str | None = None) -> dict:
    argv = (["--data", data] if data else []) + ["summarize", *args, "--json"]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_choices_match_the_core():
    assert tuple(explore.OUTCOMES) == summarize.OUTCOMES
    assert tuple(stats.METHODS) == summarize.METHODS


def test_json_has_the_documented_keys_and_one_row_per_study(capsys):
    doc = run_json(capsys, "--outcome", "md", "--hours", "12-36")
    assert set(doc) >= KEYS
    assert doc["k"] == len(doc["rows"]) == len(doc["studies"])
    assert [r["study_id"] for r in doc["rows"]] == doc["studies"]
    assert doc["n"] == sum(r["participants"] or 0 for r in doc["rows"])
    for r in doc["rows"]:
        assert r["effect_source"] in ("counts", "reported", "derived")
        assert {"study_id", "estimate", "ci_low", "ci_high"} <= set(r)
    if doc["pooled"]:
        assert doc["ci_low"] <= doc["estimate"] <= doc["ci_high"] and doc["reason"] is None
    assert doc["measure"] == "MD" and doc["method"] == "REML"


def test_one_study_is_reported_as_not_pooled(capsys, minimal):
    doc = run_json(capsys, "--outcome", "response", "--hours", "12-36", data=str(minimal))
    assert doc["k"] == 1 and doc["pooled"] is False and "too few studies to pool" in doc["reason"]
    assert doc["estimate"] is None and doc["tau2"] is None and doc["i2"] is None
    assert doc["rows"][0]["effect_source"] == "counts" and doc["rows"][0]["estimate"] == pytest.approx(
        (12 / 8) / (3 / 7))  # the study's own odds ratio, shown as a single study
    assert main(["--data", str(minimal), "summarize", "--outcome", "response", "--hours", "12-36"]) == 0
    text = capsys.readouterr().out
    assert "single study, too few studies to pool" in text and "Pooled" not in text


def test_options_reach_the_pool(capsys):
    fe = run_json(capsys, "--outcome", "md", "--hours", "12-36", "--method", "FE", "--knha")
    assert fe["method"] == "FE" and (not fe["pooled"] or "Knapp-Hartung" in fe["description"])
    blinded = run_json(capsys, "--outcome", "md", "--hours", "12-36", "--blinded-only")
    assert blinded["blinded_only"] is True and set(blinded["studies"]) <= set(
        run_json(capsys, "--outcome", "md", "--hours", "12-36")["studies"])


@pytest.mark.parametrize(("args", "message"), [
    (["--hours", "12-36"], "--outcome is required"),
    (["--outcome", "efficacy", "--hours", "12-36"], "--outcome 'efficacy': choose from"),
    (["--outcome", "response"], "--hours is required"),
    (["--outcome", "response", "--hours", "a day"], "expected LO-HI"),
    (["--outcome", "response", "--hours", "36-12"], "lower bound must be below"),
    (["--outcome", "response", "--hours", "12-36", "--control", "ECT"], "--control 'ECT'"),
    (["--outcome", "response", "--hours", "12-36", "--method", "PM"], "--method 'PM'"),
])
def test_bad_arguments_are_one_line_and_exit_2(capsys, args, message):
    assert main(["summarize", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_summarize_json_is_what_the_explorer_page_shows(capsys):
    from tests.test_app import run

    window = "24 hours (12–36 h)"
    for outcome, control in (("response", "any"), ("md", "saline")):
        doc = run_json(capsys, "--outcome", outcome, "--hours", "12-36", "--control", control)
        at = run("explorer", {"chart": "Forest plot", "outcome": outcome, "window": window, "control": control})
        assert not at.exception
        captions = [c.value for c in at.caption]
        forest = next(c for c in captions if c.startswith(doc["caption"]))
        assert f"k = {doc['k']} stud" in forest and f"n = {doc['n']} participants" in forest
        assert any(c.startswith("Published meta-analyses share trials") for c in captions)


def test_export_syntheses_table(capsysbinary):
    assert main(["export", "--format", "csv", "--table", "syntheses"]) == 0
    frame = pd.read_csv(io.BytesIO(capsysbinary.readouterr().out), encoding="utf-8-sig")
    required = ["study_id", "outcome_id", "measure", "comparison", "timepoint_hours", "estimate", "ci_low",
                "ci_high", "k_trials", "n_participants", "certainty", "source_location", "source_quote"]
    assert set(required) <= set(frame.columns)
    from evidence.curation.load import load_dataset
    from evidence.curation.tables import build_tables, is_synthesis

    ds = load_dataset(REPO / "data")
    expected = sum(1 for s in ds.studies if is_synthesis(s) for o in s.outcomes if o.effect)
    assert len(frame) == expected and len(frame) > 0
    assert set(frame["study_id"]) <= {s.id for s in ds.studies if is_synthesis(s)}
    assert build_tables(ds).syntheses["source_quote"].notna().all()
    assert main(["export", "--format", "json", "--table", "syntheses"]) == 0
    doc = json.loads(capsysbinary.readouterr().out)
    assert doc["table"] == "syntheses" and len(doc["rows"]) == expected
