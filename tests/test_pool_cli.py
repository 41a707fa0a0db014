"""``python -m evidence pool``: metafor's numbers from a CSV, one clear line for every bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evidence.cli import main

HEADER = "study,events_t,total_t,events_c,total_c\n"
# dat.bcg as 2x2 counts: events and totals (tpos, tpos+tneg, cpos, cpos+cneg)
BCG = [
    ("Aronson 1948", 4, 123, 11, 139), ("Ferguson & Simes 1949", 6, 306, 29, 303),
    ("Rosenthal et al 1960", 3, 231, 11, 220), ("Hart & Sutherland 1977", 62, 13598, 248, 12867),
    ("Frimodt-Moller et al 1973", 33, 5069, 47, 5808), ("Stein & Aronson 1953", 180, 1541, 372, 1451),
    ("Vandiviere et al 1973", 8, 2545, 10, 629), ("TPT Madras 1980", 505, 88391, 499, 88391),
    ("Coetzee & Berjak 1968", 29, 7499, 45, 7277), ("Rosenthal et al 1961", 17, 1716, 65, 1665),
    ("Comstock et al 1974", 186, 50634, 141, 27338), ("Comstock & Webster 1969", 5, 2498, 3, 2341),
    ("Comstock et al 1976", 27, 16913, 29, 17854),
]


def write(tmp_path: Path, text: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def bcg_csv(tmp_path: Path) -> Path:
    return write(tmp_path, HEADER + "".join(f'"{s}",{a},{b},{c},{d}\n' for s, a, b, c, d in BCG))


def test_text_output_matches_metafor(bcg_csv, capsys):
    assert main(["pool", str(bcg_csv), "--measure", "RR", "--method", "REML"]) == 0
    out = capsys.readouterr().out
    assert "REML random effects" in out and "k = 13 studies" in out
    assert "estimate 0.4894  95% CI 0.3441 to 0.6962" in out  # exp of metafor's -0.7145 [-1.0669, -0.3622]
    assert "prediction interval 0.1546 to 1.5490" in out
    assert "tau² 0.3132  I² 92.22%  Q 152.2330 (df 12, p < 0.0001)" in out


def test_json_output_with_knapp_hartung(bcg_csv, capsys):
    assert main(["pool", str(bcg_csv), "--measure", "RR", "--method", "REML", "--knha", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["knapp_hartung"] is True and data["k"] == 13 and data["method"] == "REML"
    assert data["se"] == pytest.approx(0.1808, abs=1e-4)  # metafor README, test="knha"
    assert data["natural_scale"]["ci_low"] == pytest.approx(0.33, abs=5e-3)


def test_fixed_effect_has_no_prediction_interval(bcg_csv, capsys):
    assert main(["pool", str(bcg_csv), "--measure", "OR", "--method", "FE", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["pi_low"] is None and data["estimate"] == pytest.approx(-0.4361, abs=1e-4)


def test_extra_columns_and_blank_lines_are_fine(tmp_path, capsys):
    path = write(tmp_path, "note,study,events_t,total_t,events_c,total_c\nx,a,1,10,2,10\n\ny,b,0,12,3,11\n")
    assert main(["pool", str(path), "--measure", "RD", "--method", "DL"]) == 0
    assert "k = 2 studies" in capsys.readouterr().out


@pytest.mark.parametrize(("content", "expected"), [
    (None, "file not found"),
    ("", "the file is empty"),
    ("   \n\n", "the file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not a text CSV file"),
    ("col1;col2\n1;2\n", "line 1: missing column(s) study, events_t, total_t, events_c, total_c"),
    ('{"study": "a", "events_t": 1}\n', "missing column(s)"),
    ("study,events_t,total_t,events_c\na,1,10,2\n", "missing column(s) total_c"),
    (HEADER, "a header but no data rows"),
    (HEADER + "a,1,10,2\n", "line 2: expected 5 fields, found 4"),
    (HEADER + "a,1,10,2,10\nb,x,10,2,10\n", "line 3, column events_t: 'x' is not a whole number"),
    (HEADER + "a,1.5,10,2,10\n", "line 2, column events_t: '1.5' is not a whole number"),
    (HEADER + "a,1,10,,10\n", "line 2, column events_c: empty value"),
    (HEADER + "a,1,10,-2,10\n", "line 2, column events_c: counts cannot be negative"),
    (HEADER + "a,11,10,2,10\n", "line 2, column events_t: events (11) exceed total_t (10)"),
    (HEADER + "a,1,10,2,0\n", "line 2, column total_c: total must be at least 1"),
    (HEADER + ",1,10,2,10\n", "line 2, column study: empty study label"),
    (HEADER + "a,1,10,2,10\na,1,10,2,10\n", "line 3, column study: duplicate study 'a' (also on line 2)"),
    (HEADER + 'a,1,10,2,"10\n', "not valid CSV"),
    (HEADER + "a,1,10,2,10,7,8\n", "line 2: expected 5 fields, found 7"),  # extras had been dropped
    ("study,events_t,total_t,events_c,total_c,events_t\na,1,10,2,10,5\n", "events_t appear more than once"),
    (HEADER + "a,1_0,10,2,10\n", "'1_0' is not a whole number"),  # int() had read 10
    (HEADER + "a,\uff18,10,2,10\n", "is not a whole number"),  # a full-width 8
    (HEADER + "a,\u0661\u0662,20,2,10\n", "is not a whole number"),  # Arabic-Indic 12
    (HEADER + "a," + "9" * 5000 + ",10,2,10\n", "is implausibly large"),  # int() refuses 4,300+ digits
])
def test_malformed_csv_is_one_clear_line_and_exit_2(tmp_path, capsys, content, expected):
    path = tmp_path / "missing.csv" if content is None else write(tmp_path, content)
    assert main(["pool", str(path), "--measure", "RR", "--method", "REML"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert captured.out == ""
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    assert expected in err, err


def test_method_and_measure_are_required(bcg_csv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["pool", str(bcg_csv), "--measure", "RR"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main(["pool", str(bcg_csv), "--measure", "HR", "--method", "REML"])
    assert "invalid choice" in capsys.readouterr().err
