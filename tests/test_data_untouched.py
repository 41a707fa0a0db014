"""No command changes the data directory: every file under it is byte-identical after each command, run on a
copy (of the small synthetic fixture, named by ``$EVIDENCE_DATA_DIR``) and on the repository's own data/
(outputs go to a temporary directory; network calls are refused offline by ``responses``, so the network
commands take their unreachable path)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import responses

from evidence.cli import build_parser, main
from evidence.curation.load import load_dataset
from tests.conftest import FIXTURES, REPO

DATA = REPO / "data"


def snapshot(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def commands(out: Path, data: Path = DATA) -> dict[str, list[str]]:
    dataset = load_dataset(data)
    claim, study = dataset.claims[0].id, dataset.studies[0].id
    (out / "pool.csv").write_text("study,events_t,total_t,events_c,total_c\na,12,20,3,10\nb,8,15,4,15\n")
    (out / "page.html").write_text("<p>Ketamine works in as little as 24 hours for more than 80% of patients.</p>")
    shutil.copy(FIXTURES / "minimal" / "studies.yaml", out / "draft.yaml")
    return {
        "validate": ["validate", "--provenance"],
        "fragment": ["fragment", str(out / "draft.yaml")],
        "schema": ["schema", "--out-dir", str(out / "schema")],
        "export": ["export", "--table", "outcomes", "--format", "csv", "--out", str(out / "outcomes.csv")],
        "bundle": ["bundle", "--claim", claim, "--no-images", "--out", str(out / "bundle.zip")],
        "report": ["report", "--no-charts", "--out", str(out / "report.html")],
        "site": ["site", "--out", str(out / "site"), "--quiet"],
        "summarize": ["summarize", "--outcome", "response", "--hours", "12-36"],
        "pool": ["pool", str(out / "pool.csv"), "--measure", "RR", "--method", "REML"],
        "check": ["check", str(out / "page.html")],
        "verify": ["verify", "--only", study, "--offline-ok"],
        "scaffold": ["scaffold", "--pmid", "16894061", "--out", str(out / "scaffold.yaml")],
        "watch": ["watch", "--out", str(out / "watch.md")],
    }


def test_every_command_is_covered(tmp_path):
    registered = set(build_parser()._subparsers._group_actions[0].choices)
    missing = registered - set(commands(tmp_path))
    assert not missing, f"add these commands to the data-untouched test: {sorted(missing)}"


@pytest.mark.parametrize("where", ["copy", "repository"])
def test_no_command_changes_the_data(tmp_path, monkeypatch, capsys, where):
    if where == "copy":
        data = tmp_path / "data"
        shutil.copytree(FIXTURES / "minimal", data)
        (data / "GAPS.md").write_text("# Gaps\n\nNone.\n")
        monkeypatch.setenv("EVIDENCE_DATA_DIR", str(data))
    else:
        data = DATA
        monkeypatch.delenv("EVIDENCE_DATA_DIR", raising=False)
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)  # commands that default to the current directory write here
    before = snapshot(data)
    with responses.RequestsMock(assert_all_requests_are_fired=False):  # no network: every request fails
        for name, args in commands(out, data).items():
            code = main(args)
            capsys.readouterr()
            assert code in (0, 1, 2, 3), (name, code)
            assert snapshot(data) == before, f"`{name}` changed the data directory"
