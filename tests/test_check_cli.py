"""``python -m evidence check``: exit codes, stdin, --json shape, --html."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evidence.checking.checker import FIELDS
from evidence.cli import main
from tests.conftest import edit

FIX = Path(__file__).parent / "fixtures" / "checker"
DATA = str(FIX / "data")
PAGE = FIX / "heldout_1_riverbend.txt"
REPO = Path(__file__).resolve().parent.parent


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--data", DATA, "check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_report_on_a_page(capsys):
    code, out, err = run(capsys, str(PAGE))
    assert code == 0 and not err
    assert "matches claim onset_24_hours (close match, similarity" in out  # the curated quote itself
    assert "figures: count “many patients” (vague); onset as little as 24 hours" in out
    assert "verdict: Partly supported" in out
    assert out.rstrip().splitlines()[-1].startswith(f"{PAGE}: ")


def test_json_shape(capsys):
    code, out, _ = run(capsys, "--json", str(PAGE))
    assert code == 0
    records = json.loads(out)
    assert isinstance(records, list) and records
    for r in records:
        assert list(r) == FIELDS
        assert isinstance(r["sentence"], str) and isinstance(r["start"], int) and isinstance(r["end"], int)
        assert isinstance(r["similarity"], int | float)
        for q in r["quantities"]:
            assert {"kind", "low", "high", "unit", "framing"} <= set(q)
    starts = [r["start"] for r in records]
    assert starts == sorted(starts)
    text = PAGE.read_text(encoding="utf-8")
    assert all(text[r["start"]:r["end"]] == r["sentence"] for r in records)
    matched = {r["claim_id"]: r for r in records if r["claim_id"]}
    assert matched["onset_24_hours"]["verdict"] == "Partly supported"
    assert matched["onset_24_hours"]["evidence"]["suggested"]["rule_id"] == "onset_consistent"


def test_stdin(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"More than 90% of patients respond.")))
    code, out, _ = run(capsys, "--json", "-")
    assert code == 0
    [record] = json.loads(out)
    assert record["verdict"] == "Overstated" and record["quantities"][0]["low"] == 90


def test_default_is_stdin(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    code, out, _ = run(capsys, "--json")
    assert (code, json.loads(out)) == (0, [])


def test_undecodable_bytes_are_checked(capsys, tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"\xfe Ketamine works in as little as 24 hours.\xc3\x28 \x80\x81" * 3)
    code, out, _ = run(capsys, "--json", str(junk))
    assert code == 0
    assert any(r["claim_id"] == "onset_24_hours" for r in json.loads(out))


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16", "utf-8-sig"])
def test_a_page_saved_in_another_encoding_reads_as_written(capsys, tmp_path, encoding):
    """Windows-1252 read as UTF-8 had made the en dash of "50–70%" a replacement character, so no range."""
    page = tmp_path / "page.txt"
    page.write_bytes("Studies show 50–70% of patients respond to ketamine’s first infusions.".encode(encoding))
    code, out, _ = run(capsys, "--json", str(page))
    [record] = json.loads(out)
    assert code == 0 and record["sentence"].startswith("Studies show 50–70% of patients respond to ketamine’s")
    assert [(q["low"], q["high"], q["unit"]) for q in record["quantities"] if q["kind"] == "share"] == \
        [(50.0, 70.0, "percent")]


@pytest.mark.parametrize(("text", "encoding"), [
    ("氯胺酮在24小时内起效。超过80%的患者在第一次输注后有反应，效果可持续数周。", "gb18030"),
    ("Кетамин действует за 24 часа: более 80% пациентов отвечают после первой инфузии.", "koi8-r"),
    ("ケタミンは24時間以内に効き、80%以上の患者が最初の点滴で反応し、効果は数週間続きます。", "shift_jis"),
], ids=["gb18030", "koi8-r", "shift-jis"])
def test_a_page_in_an_encoding_that_cannot_be_told_is_refused(capsys, tmp_path, text, encoding):
    """Read as Windows-1252 such a page is gibberish with its numbers intact ("24Сʱ", "80%"): refused, not checked."""
    path = tmp_path / "page.txt"
    path.write_bytes(text.encode(encoding))
    code, out, err = run(capsys, str(path))
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.startswith(f"error: {path}: its encoding could not be told") and "UTF-8" in err


def test_a_western_page_in_windows_1252_is_still_read(capsys, tmp_path):
    page = tmp_path / "page.txt"
    page.write_bytes("La kétamine agit en 24 heures ; plus de 80 % des patients répondent à la première séance. "
                     "Ketamine “works” in 24 hours – 50–70% respond.".encode("cp1252"))
    code, out, _ = run(capsys, "--json", str(page))
    assert code == 0 and "kétamine" in out and "50–70%" in out


@pytest.mark.parametrize(("payload", "what"), [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> Ketamine works in 24 hours.", "a PDF"),
    (b"PK\x03\x04\x14\x00\x06\x00word/document.xml", "a ZIP archive"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
    (b"\x13\x00\x9cKetamine 80% \x00\x01\x02" * 20, "a binary file"),
], ids=["pdf", "docx", "png", "nul-bytes"])
def test_a_binary_file_is_a_one_line_error(capsys, tmp_path, monkeypatch, payload, what):
    path = tmp_path / "page.txt"
    path.write_bytes(payload)
    code, out, err = run(capsys, str(path))
    assert (code, out) == (2, "")
    assert err == f"error: {path}: looks like {what}" + err.split(what, 1)[1] and err.count("\n") == 1
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(payload)))
    code, out, err = run(capsys, "-")
    assert (code, out) == (2, "") and err.startswith(f"error: standard input: looks like {what}")


@pytest.mark.parametrize("make", [lambda d: d / "missing.txt", lambda d: d], ids=["missing", "directory"])
def test_unreadable_input_is_exit_2(capsys, tmp_path, make):
    code, out, err = run(capsys, str(make(tmp_path)))
    assert code == 2 and not out
    assert err.startswith("error: ") and str(make(tmp_path)) in err


def test_html_flag_and_detection(capsys, tmp_path):
    page = tmp_path / "page.txt"
    page.write_text("<p>Safe &amp; fast.</p><script>'More than 80% of patients respond'</script>", encoding="utf-8")
    for args in (["--json", str(page)], ["--json", "--html", str(page)]):
        code, out, _ = run(capsys, *args)
        assert code == 0
        assert [r["sentence"] for r in json.loads(out)] == ["Safe & fast."]
    code, out, _ = run(capsys, "--json", "--text", str(page))
    assert "80%" in json.loads(out)[0]["sentence"]


def test_invalid_data_is_exit_1(capsys, minimal):
    edit(minimal / "studies.yaml", "  kind: trial\n", "  kind: [trial\n")
    (minimal / "page.txt").write_text("Ketamine works.", encoding="utf-8")
    code = main(["--data", str(minimal), "check", str(minimal / "page.txt")])
    _, err = capsys.readouterr()
    assert code == 1 and "invalid YAML" in err


def test_missing_data_dir_is_exit_2(capsys, tmp_path):
    code = main(["--data", str(tmp_path / "nope"), "check", str(PAGE)])
    assert code == 2 and "data directory not found" in capsys.readouterr().err


def test_as_a_module_with_a_pipe():
    proc = subprocess.run(
        [sys.executable, "-m", "evidence", "--data", DATA, "check", "--json", "-"],
        input=b"Relief lasts for up to six months.\n", capture_output=True, cwd=REPO, timeout=120,
        check=False)
    assert proc.returncode == 0, proc.stderr
    [record] = json.loads(proc.stdout)
    assert record["quantities"][0] == {"kind": "duration", "low": 182.5, "high": 182.5, "unit": "days",
                                       "framing": "up to", "text": "up to six months", "vague": False}


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_json_is_valid_json_on_a_stdout_that_is_not_utf8(encoding):
    """A Windows console or a redirected stdout in cp1252: the stream's own escape for a character it lacks
    ("\\U0001f9e0") is not JSON, so the JSON escapes it itself; a text command escapes it instead of failing."""
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    page = "Ketamine works in 24 hours for 80% of patients \U0001f9e0 caf\u00e9.\n".encode()
    proc = subprocess.run([sys.executable, "-m", "evidence", "--data", DATA, "check", "--json", "-"], input=page,
                          capture_output=True, cwd=REPO, timeout=120, check=False, env=env)
    assert proc.returncode == 0, proc.stderr
    [record] = json.loads(proc.stdout.decode(encoding))
    assert record["sentence"].endswith("\U0001f9e0 caf\u00e9.")
    text = subprocess.run([sys.executable, "-m", "evidence", "summarize", "--outcome", "response", "--hours",
                           "12-36", "--control", "any"], capture_output=True, cwd=REPO, timeout=120, check=False,
                          env=env)
    assert text.returncode == 0 and b"Traceback" not in text.stderr, text.stderr[-300:]
    assert b"\\u03c4" in text.stdout, "tau is escaped, not a UnicodeEncodeError"


@pytest.mark.parametrize("depth", [300, 2000])
def test_deeply_nested_html_keeps_its_text(capsys, tmp_path, depth):
    """libxml2 stops at 256 levels: the page's text from there on had been dropped and the page reported clean."""
    page = tmp_path / "page.html"
    page.write_text("<html><body>" + "<div>" * depth + "<p>Ketamine produces results in as little as 24 hours.</p>"
                    + "</div>" * depth + "<p>More than 80% of patients respond.</p></body></html>", encoding="utf-8")
    code, out, _ = run(capsys, "--json", str(page))
    sentences = [r["sentence"] for r in json.loads(out)]
    assert code == 0
    assert any("24 hours" in s for s in sentences) and any("80%" in s for s in sentences), sentences
