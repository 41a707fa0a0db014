"""``python -m evidence export | bundle | report`` on a copy of the synthetic minimal dataset."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from evidence.cli import main
from evidence.curation.tables import OUTCOME_COLUMNS, STUDY_COLUMNS, TABLE_NAMES
from tests.conftest import edit


def run(minimal: Path, *args: str) -> int:
    return main(["--data", str(minimal), *args])


def test_csv_to_stdout_defaults_to_studies(minimal, capsysbinary):
    assert run(minimal, "export", "--format", "csv") == 0
    out = capsysbinary.readouterr().out
    frame = pd.read_csv(io.BytesIO(out), encoding="utf-8-sig")
    assert list(frame.columns) == STUDY_COLUMNS and list(frame["id"]) == ["alpha2001_test"]


def test_json_to_file_with_stamp(minimal, tmp_path, capsys):
    out = tmp_path / "outcomes.json"
    assert run(minimal, "export", "--format", "json", "--table", "outcomes", "--out", str(out)) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["table"] == "outcomes" and len(doc["data_version"]) == 12 and doc["licence"].startswith("Data: CC BY")
    assert list(doc["rows"][0]) == OUTCOME_COLUMNS and len(doc["rows"]) == 2
    assert "wrote" in capsys.readouterr().err


def test_out_directory_gets_a_stamped_name(minimal, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    assert run(minimal, "export", "--format", "csv", "--table", "outcomes", "--out", str(folder)) == 0
    [written] = list(folder.iterdir())
    assert re.fullmatch(r"outcomes_v[0-9a-f]{12}_\d{4}-\d{2}-\d{2}\.csv", written.name)


def test_claim_filter_on_tables(minimal, tmp_path):
    out = tmp_path / "c.json"
    assert run(minimal, "export", "--format", "json", "--table", "claim_evidence", "--claim", "fast_relief",
               "--out", str(out)) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["filters"] == {"claim": "fast_relief"}
    assert [r["claim_id"] for r in doc["rows"]] == ["fast_relief"]


def test_unknown_table_lists_the_choices(minimal, capsys):
    assert run(minimal, "export", "--format", "csv", "--table", "nope") == 2
    err = capsys.readouterr().err
    assert "unknown table 'nope'" in err
    for name in TABLE_NAMES:
        assert name in err


def test_unknown_claim_lists_the_choices(minimal, capsys):
    assert run(minimal, "export", "--format", "bibtex", "--claim", "nope") == 2
    assert "unknown claim 'nope'; choose from: fast_relief" in capsys.readouterr().err
    assert run(minimal, "bundle", "--claim", "nope", "--no-images") == 2


def test_table_option_only_for_tables(minimal, capsys):
    assert run(minimal, "export", "--format", "ris", "--table", "studies") == 2
    assert "--table applies to csv and json only" in capsys.readouterr().err


@pytest.mark.parametrize("command", [
    ["export", "--format", "csv", "--out"], ["bundle", "--claim", "fast_relief", "--no-images", "--out"],
    ["report", "--no-charts", "--out"],
])
def test_refuses_to_write_inside_the_data_directory(minimal, capsys, command):
    before = sorted(p.name for p in minimal.iterdir())
    assert run(minimal, *command, str(minimal / "export.out")) == 2
    assert "refusing to write inside the data directory" in capsys.readouterr().err
    assert run(minimal, *command, str(minimal)) == 2  # the directory itself
    assert sorted(p.name for p in minimal.iterdir()) == before


def test_invalid_data_prints_the_errors_and_exits_1(minimal, tmp_path, capsys):
    edit(minimal / "claims.yaml", "verdict: Partly supported\n  certainty: Low", "verdict: Great\n  certainty: Low")
    out = tmp_path / "x.csv"
    assert run(minimal, "export", "--format", "csv", "--out", str(out)) == 1
    captured = capsys.readouterr()
    assert "claims.yaml" in captured.out and "fast_relief" in captured.out and "verdict" in captured.out
    assert "invalid" in captured.err
    assert not out.exists()
    assert run(minimal, "bundle", "--claim", "fast_relief", "--no-images", "--out", str(tmp_path / "b.zip")) == 1
    assert run(minimal, "report", "--out", str(tmp_path / "r.html")) == 1


def test_missing_data_directory_is_a_user_error(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "absent"), "export", "--format", "ris"]) == 2
    assert "data directory not found" in capsys.readouterr().err


@pytest.mark.parametrize("claim", [[], ["--claim", "fast_relief"]])
def test_citation_formats(minimal, capsysbinary, claim):
    assert run(minimal, "export", "--format", "bibtex", *claim) == 0
    assert capsysbinary.readouterr().out.decode().startswith("@article{alpha2001_test,")
    assert run(minimal, "export", "--format", "ris", *claim) == 0
    ris = capsysbinary.readouterr().out.decode()
    assert ris.startswith("TY  - JOUR") and ris.rstrip().endswith("ER  -")
    assert run(minimal, "export", "--format", "csljson", *claim) == 0
    assert json.loads(capsysbinary.readouterr().out)[0]["id"] == "alpha2001_test"


def test_claimreview_one_or_all(minimal, capsysbinary, monkeypatch):
    monkeypatch.setenv("EVIDENCE_BASE_URL", "https://env.example.org")
    assert run(minimal, "export", "--format", "claimreview") == 0
    reviews = json.loads(capsysbinary.readouterr().out)
    assert isinstance(reviews, list) and reviews[0]["url"] == "https://env.example.org/claim?claim=fast_relief"
    assert run(minimal, "export", "--format", "claimreview", "--claim", "fast_relief",
               "--base-url", "https://flag.example.org") == 0
    review = json.loads(capsysbinary.readouterr().out)
    assert review["@type"] == "ClaimReview" and review["url"].startswith("https://flag.example.org/")


def test_bundle_command(minimal, tmp_path, capsys):
    out = tmp_path / "bundle.zip"
    assert run(minimal, "bundle", "--claim", "fast_relief", "--out", str(out), "--no-images") == 0
    names = zipfile.ZipFile(out).namelist()
    assert names == ["paragraph.txt", "evidence.csv", "citations.bib", "citations.ris", "citations.csl.json",
                     "claimreview.jsonld", "README.txt"]
    assert "images skipped" in capsys.readouterr().err  # what was written: on stderr, stdout may carry the file


def test_report_command(minimal, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert run(minimal, "report", "--out", str(out), "--no-charts") == 0
    text = out.read_text(encoding="utf-8")
    assert "Ketamine works within 24 hours" in text and "<script" not in text
    assert "1 claims, 1 studies" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["export", "--format", "csv", "--claim", ""], ["export", "--format", "csv", "--table", ""],
    ["export", "--format", "csv", "--out", ""], ["export", "--format", "csv", "--out="],
    ["bundle", "--claim", "fast_relief", "--out", " "], ["check", "--url", ""], ["fragment", ""],
    ["summarize", "--hours", ""], ["scaffold", "--pmid", ""], ["scaffold", "--doi", ""],
], ids=lambda argv: " ".join(repr(a) if not a.strip() else a for a in argv))
def test_an_empty_argument_is_an_error_not_the_default(minimal, tmp_path, monkeypatch, capsys, argv):
    """An empty --out had written into the current folder, --claim '' exported every claim, --url '' read stdin,
    scaffold --pmid '' failed an assertion."""
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    assert main(["--data", str(minimal), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "empty" in err, err
    assert list(here.iterdir()) == [], "nothing written into the current folder"


@pytest.mark.parametrize(("argv", "said"), [
    (["scaffold", "--pmid", "\u0661\u0662"], "not a PMID"),  # Arabic-Indic digits are not a PubMed id
    (["export", "--format", "claimreview", "--base-url", "javascript:alert(1)"], "--base-url must be an absolute"),
    (["report", "--base-url", "not a url"], "--base-url must be an absolute"),
])
def test_ids_and_addresses_are_checked_before_anything_is_sent_or_written(minimal, capsys, argv, said):
    assert main(["--data", str(minimal), *argv]) == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1, err


def test_an_overlong_claim_id_is_not_echoed_whole(minimal, capsys):
    assert main(["--data", str(minimal), "export", "--format", "csv", "--claim", "x" * 100_000]) == 2
    err = capsys.readouterr().err
    assert "unknown claim" in err and len(err) < 2_000


def test_out_dash_is_standard_output(minimal, tmp_path, capsysbinary, monkeypatch):
    """"--out -" had written a file named "-"."""
    monkeypatch.chdir(tmp_path)
    assert run(minimal, "export", "--format", "csv", "--out", "-") == 0
    assert capsysbinary.readouterr().out.startswith("\ufeffid,".encode()) and not (tmp_path / "-").exists()


def test_out_through_a_symbolic_link_keeps_the_link(minimal, tmp_path):
    """Writing a link's own path had replaced the link ("--out /dev/stdout" left a file in /dev)."""
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    assert run(minimal, "export", "--format", "csv", "--out", str(link)) == 0
    assert link.is_symlink() and real.read_bytes().startswith("\ufeffid,".encode())


def test_a_symlink_loop_is_a_one_line_error(minimal, tmp_path, capsys):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    for command in (["export", "--format", "csv"], ["report", "--no-charts"], ["site"]):
        assert run(minimal, *command, "--out", str(tmp_path / "a")) == 2
        err = capsys.readouterr().err
        assert "cannot follow its symbolic links" in err and "Traceback" not in err and err.count("\n") == 1


def test_base_url_reaches_a_table_export(minimal, capsysbinary):
    """--base-url had been accepted and ignored for csv/json (the JSON still named localhost)."""
    assert run(minimal, "export", "--format", "json", "--base-url", "https://news.example.org") == 0
    assert json.loads(capsysbinary.readouterr().out)["url"] == "https://news.example.org"
