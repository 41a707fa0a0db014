"""Every defect class found by trying the tools as an attacker and a careless curator would (issue 16):
each gives a clear one-line error (or the right result), never a traceback, a hang or a crash."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evidence.cli import main
from evidence.curation import load
from evidence.curation.load import validate
from tests.conftest import REPO, edit


def errors_of(directory: Path) -> list[str]:
    dataset, errors = validate(directory)
    assert dataset is None, "expected the data to be refused"
    lines = [str(e) for e in errors]
    assert all("\n" not in line for line in lines)
    return lines


def cli(args: list[str], timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """The real command in a child process: a segfault or a hang cannot take the test run down with it."""
    return subprocess.run([sys.executable, "-m", "evidence", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=timeout, env={**os.environ, **env})


def in_process(args: list[str], capsys, monkeypatch=None, **env: str) -> subprocess.CompletedProcess:
    """The same, in this process (for cases that cannot crash or hang the interpreter): faster."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code = main(args)
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, captured.out, captured.err)


def one_line_error(result: subprocess.CompletedProcess, code: int, *phrases: str) -> str:
    assert result.returncode == code, (result.returncode, result.stdout[-500:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr + result.stdout
    out = result.stdout + result.stderr
    for phrase in phrases:
        assert phrase in out, out[-2000:]
    return out


# --------------------------------------------------------------------------- crashes and runaway memory

@pytest.mark.parametrize("depth", [1_000, 100_000])
@pytest.mark.parametrize("command", ["validate", "fragment"])
def test_deep_nesting_is_refused_not_a_crash(minimal, capsys, depth, command):
    edit(minimal / "studies.yaml", "kind: trial", "kind: " + "[" * depth)
    args = ["--data", str(minimal), "validate"] if command == "validate" else ["fragment",
                                                                                str(minimal / "studies.yaml")]
    # 100,000 levels segfaulted the C composer: that case runs in a child process, which a crash cannot take down
    result = cli(args) if depth == 100_000 else in_process(args, capsys)
    one_line_error(result, 1, "studies.yaml:4:", "nested more than 64 levels deep")


def alias_bomb(levels: int = 9) -> str:
    names = [f"l{i}" for i in range(levels)]
    lines = [f"{names[0]}: &{names[0]} [" + ", ".join(["lol"] * 9) + "]"]
    lines += [f"{n}: &{n} [" + ", ".join([f"*{names[i]}"] * 9) + "]" for i, n in enumerate(names[1:])]
    return "\n".join(lines) + "\n"


def test_alias_bomb_with_another_error_is_refused_in_a_moment(minimal):
    text = (minimal / "claims.yaml").read_text()
    (minimal / "claims.yaml").write_text(alias_bomb() + text.replace("verdict: Partly supported", "verdict: ???", 1))
    start = time.perf_counter()
    (err,) = errors_of(minimal)
    assert time.perf_counter() - start < 5
    assert "claims.yaml:" in err and "alias bomb" in err


def test_shared_anchors_within_bounds_still_work_and_line_maps_do_not_expand():
    from evidence.curation.yaml_reader import line_map, parse_data

    text = "src: &s {location: Abstract, quote: q}\nitems:\n" + "".join(f"- {{n: {i}, source: *s}}\n"
                                                                          for i in range(1000))
    data = parse_data(text)
    assert data["items"][999]["source"] == {"location": "Abstract", "quote": "q"}
    lines = line_map(text)
    assert lines[("items", 999, "source")] == 1002 and ("items", 999, "source", "quote") not in lines


def test_recursive_alias_is_refused(minimal):
    edit(minimal / "sources.yaml", 'title: "A page"', "title: &t [a, *t]")
    (err,) = errors_of(minimal)
    assert "sources.yaml:4" in err and "recursive" in err


def test_fifo_as_data_file_does_not_hang(minimal):
    (minimal / "studies.yaml").unlink()
    os.mkfifo(minimal / "studies.yaml")
    out = one_line_error(cli(["--data", str(minimal), "validate"], timeout=30), 1, "studies.yaml")
    assert "named pipe" in out


def test_device_as_data_file_is_not_read(minimal):
    (minimal / "studies.yaml").unlink()
    (minimal / "studies.yaml").symlink_to("/dev/zero")
    assert any("studies.yaml: is a device" in e for e in errors_of(minimal))


def test_oversized_data_file_is_refused(minimal, monkeypatch):
    monkeypatch.setattr(load, "MAX_FILE_BYTES", 1000)
    assert any("studies.yaml: is 0.0 MiB; the limit is 0 MiB" in e or "limit" in e for e in errors_of(minimal))


def test_pool_refuses_huge_counts_and_too_many_rows(tmp_path, capsys):
    huge = tmp_path / "huge.csv"
    huge.write_text("study,events_t,total_t,events_c,total_c\na,1,99999999999999999,1,10\nb,1,10,1,10\n")
    out = one_line_error(in_process(["pool", str(huge), "--measure", "RR", "--method", "REML"], capsys), 2,
                         "huge.csv line 2")
    assert "implausibly large" in out
    rows = tmp_path / "rows.csv"
    rows.write_text("study,events_t,total_t,events_c,total_c\n" + "".join(f"s{i},1,10,1,10\n" for i in range(10_001)))
    one_line_error(in_process(["pool", str(rows), "--measure", "RR", "--method", "REML"], capsys), 2,
                   "more than 10,000 studies")


def test_pool_names_a_directory_as_such(tmp_path, capsys):
    one_line_error(in_process(["pool", str(tmp_path), "--measure", "RR", "--method", "FE"], capsys), 2,
                   "is a directory")


# --------------------------------------------------------------------------- wrong data accepted silently

@pytest.mark.parametrize(("old", "new", "where", "message"), [
    ("{arm: ketamine, events: 12, total: 20}", "{arm: ketamine, events: yes, total: 20}",
     "outcomes[0].results[0].events", "valid integer (got the boolean true"),
    ("{arm: ketamine, events: 12, total: 20}", "{arm: ketamine, events: 12.0, total: 20}",
     "outcomes[0].results[0].events", "(got 12.0: a count is a whole number)"),
    ("{arm: ketamine, events: 12, total: 20}", "{arm: ketamine, events: 12, total: 20, percent: 99}",
     "outcomes[0].results[0]", "percent 99 does not match 12/20 (60%"),
    ("value: 24, unit: hours", "value: .inf, unit: hours", "outcomes[0].timepoint.value", "finite number"),
    ("estimate: 3.5, ci_low: 1.2, ci_high: 9.8", "estimate: .nan", "outcomes[0].effect.estimate", "finite number"),
    ("year: 2001", "year: '2001'", "citation.year", "valid integer (got the text '2001': write it without quotes)"),
    ('journal: "Test J"', "journal: !!binary VGVzdCBK", "", "tag !!binary is not allowed"),
    ("n_randomized: 30,", "n_randomized: 300000000000000000000000000000,", "sample.n_randomized",
     "less than or equal to 100000000"),
])
def test_strict_types(minimal, old, new, where, message):
    edit(minimal / "studies.yaml", old, new)
    errs = errors_of(minimal)
    assert any(e.startswith("data/studies.yaml:") and where in e and message in e for e in errs), errs


def test_percent_consistent_at_its_printed_precision_passes(minimal):
    edit(minimal / "studies.yaml", "{arm: ketamine, events: 12, total: 20}",
         "{arm: ketamine, events: 12, total: 20, percent: 60.0}")
    edit(minimal / "studies.yaml", "{arm: midazolam, events: 3, total: 10}",
         "{arm: midazolam, events: 3, total: 9, percent: 33.3}")
    assert validate(minimal)[0] is not None


def test_fragment_flags_duplicate_ids(minimal, capsys):
    text = (minimal / "studies.yaml").read_text()
    draft = minimal.parent / "draft.yaml"
    draft.write_text(text + text.split("studies:\n", 1)[1])
    assert main(["fragment", str(draft)]) == 1
    out = capsys.readouterr().out
    assert f"{draft}:" in out and "alpha2001_test id: duplicate id (first used by record #1)" in out


def test_empty_data_option_is_refused(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--data", "", "validate"])
    assert info.value.code == 2
    assert "--data: an empty path" in capsys.readouterr().err


# --------------------------------------------------------------------------- one-line errors, not tracebacks

def _unreadable(path: Path, monkeypatch) -> None:
    real = os.open

    def deny(p, *args, **kwargs):
        if Path(p) == path:
            raise PermissionError(errno.EACCES, "Permission denied", str(p))
        return real(p, *args, **kwargs)
    monkeypatch.setattr(os, "open", deny)  # tests run as root, where chmod 000 does not stop a read


@pytest.mark.parametrize(("how", "message"), [
    ("directory", "claims.yaml: is a directory, not a file"),
    ("unreadable", "claims.yaml: permission denied"),
    ("symlink loop", "claims.yaml: too many levels of symbolic links"),
    ("not utf-8", "claims.yaml: not UTF-8 text"),
    ("unhashable key", "claims.yaml:4: invalid YAML: a mapping key must be a plain value"),
    ("impossible date", "invalid YAML: impossible date '2026-02-30'"),
])
def test_bad_files_are_one_line_errors(minimal, monkeypatch, capsys, how, message):
    path = minimal / "claims.yaml"
    if how == "directory":
        path.unlink()
        path.mkdir()
    elif how == "unreadable":
        _unreadable(path, monkeypatch)
    elif how == "symlink loop":
        path.unlink()
        path.symlink_to(path)
    elif how == "not utf-8":
        path.write_bytes(b"\xff\xfe" + path.read_bytes())
    elif how == "unhashable key":
        edit(path, "- id: fast_relief\n", "- id: fast_relief\n  ? [a]\n  : 1\n")
    else:
        text = path.read_text()
        first = text.index("date: ") + len("date: ")
        path.write_text(text[:first] + "2026-02-30" + text[first + 10:])
    assert main(["--data", str(minimal), "validate"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert any(message in line for line in out), out


def test_thirty_digit_count_stops_before_export(minimal, capsys):
    edit(minimal / "studies.yaml", "n_randomized: 20\n", "n_randomized: 123456789012345678901234567890\n")
    assert main(["--data", str(minimal), "export", "--table", "arms", "--format", "csv"]) == 1
    captured = capsys.readouterr()
    assert "arms[0].n_randomized: Input should be less than or equal to 100000000" in captured.out


@pytest.mark.parametrize("content", [b"garbage, not sqlite\n", None])
def test_garbage_http_cache_is_a_one_line_error(tmp_path, capsys, monkeypatch, content):
    cache = tmp_path / "http.sqlite"
    if content is None:
        cache.mkdir()
    else:
        cache.write_bytes(content)
    out = one_line_error(in_process(["scaffold", "--pmid", "16894061"], capsys, monkeypatch,
                                    EVIDENCE_HTTP_CACHE=str(cache)), 2,
                         "$EVIDENCE_HTTP_CACHE")
    assert str(cache) in out


def test_full_disk_under_schema_out_dir(tmp_path, monkeypatch, capsys):
    from evidence import user_files

    real = os.fdopen

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(user_files.os, "fdopen", lambda fd, *a, **k: Full(real(fd, *a, **k)))
    assert main(["schema", "--out-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no space left on the device" in err and "studies.schema.json" in err
    assert not list((tmp_path / "out").iterdir()), "no partial or temporary files left"


def test_any_other_os_error_is_one_line(monkeypatch, capsys):
    import argparse

    from evidence import cli as cli_module

    def broken(args):
        raise OSError(errno.EIO, "Input/output error", "/some/file")

    def build():
        parser = argparse.ArgumentParser()
        parser.add_argument("--data")
        parser.add_subparsers(dest="command", required=True).add_parser("validate").set_defaults(func=broken)
        return parser
    monkeypatch.setattr(cli_module, "build_parser", build)
    assert main(["validate"]) == 2
    assert capsys.readouterr().err == "error: /some/file: Input/output error\n"


@pytest.mark.parametrize("target", ["fifo", "/dev/zero"])
@pytest.mark.parametrize("command", ["check", "fragment", "pool"])
def test_inputs_that_never_end_are_refused(tmp_path, capsys, target, command):
    path = tmp_path / "input"
    if target == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(target)
    args = {"check": ["check", str(path)], "fragment": ["fragment", str(path)],
            "pool": ["pool", str(path), "--measure", "RR", "--method", "FE"]}[command]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("named pipe" in err or "is a device" in err)


def test_control_characters_in_keys_keep_errors_on_one_line(minimal):
    edit(minimal / "sources.yaml", 'title: "A page"', 'title: "A page"\n  "bad\\nkey\\tname": 1')
    (err,) = errors_of(minimal)
    assert "bad\\nkey\\tname: unknown field" in err


def test_unsigned_exponent_is_explained(minimal):
    edit(minimal / "studies.yaml", "value: 24, unit: hours", "value: 2.4e1, unit: hours")
    (err,) = errors_of(minimal)
    assert "YAML reads 2.4e1 as text: write the exponent with a sign, 2.4e+1" in err


@pytest.mark.parametrize(("old", "new", "field"), [
    ("value: 24, unit: hours", "value: 1.0e+308, unit: months", "timepoint.value"),
    ("estimate: 3.5, ci_low: 1.2, ci_high: 9.8", "estimate: 3.5, ci_low: 1.2, ci_high: 1.0e+300", "effect.ci_high"),
])
def test_absurd_magnitudes_are_refused(minimal, old, new, field):
    edit(minimal / "studies.yaml", old, new)
    assert any(field in e and "less than or equal to" in e for e in errors_of(minimal))
