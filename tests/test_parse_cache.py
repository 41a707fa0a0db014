"""The parse cache trusts nothing it did not write for exactly this content, and writes only its own files."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import pickle
import stat
from pathlib import Path

import pytest

from evidence.curation import load, parse_cache
from evidence.curation.load import load_dataset, parse_cached
from tests.conftest import edit

RAW = b"a: 1\nwhen: 2026-11-21\nitems: [x, y]\n"


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("EVIDENCE_CACHE_DIR", str(directory))
    parse_cache._warned.clear()
    return directory


def entry(cache: Path, raw: bytes) -> Path:
    return cache / f"{hashlib.sha256(raw).hexdigest()}{parse_cache.SUFFIX}"


def no_parsing(monkeypatch) -> None:
    def refuse(text):
        raise AssertionError("parsed although the cache held this content")
    monkeypatch.setattr(load, "parse_data", refuse)


def test_round_trip_skips_the_parser(cache, monkeypatch):
    first = parse_cached(RAW)
    assert entry(cache, RAW).is_file()
    no_parsing(monkeypatch)
    assert parse_cached(RAW) == first == {"a": 1, "when": __import__("datetime").date(2026, 11, 21),
                                           "items": ["x", "y"]}


def test_directory_key_and_entries_are_private(cache):
    cache.mkdir()
    cache.chmod(0o755)  # as an older version left it: tightened, not refused
    parse_cached(RAW)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE((cache / parse_cache.KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(entry(cache, RAW).stat().st_mode) == 0o600


@pytest.mark.parametrize("plant", ["plain pickle", "damaged", "another file's entry", "wrong key"])
def test_planted_or_swapped_entries_are_not_believed(cache, plant):
    parse_cached(RAW)
    path = entry(cache, RAW)
    if plant == "plain pickle":  # e.g. a verdict changed to Supported
        path.write_bytes(pickle.dumps({"a": 2, "when": None, "items": ["forged"]}))
    elif plant == "damaged":
        path.write_bytes(path.read_bytes()[:-3] + b"xyz")
    elif plant == "another file's entry":  # a genuine entry, written for other content
        other = b"a: 2\n"
        parse_cached(other)
        path.write_bytes(entry(cache, other).read_bytes())
    else:
        (cache / parse_cache.KEY_FILE).write_bytes(os.urandom(32))
    assert parse_cached(RAW) == {"a": 1, "when": __import__("datetime").date(2026, 11, 21), "items": ["x", "y"]}


def test_a_forged_verdict_never_reaches_validate(cache, minimal):
    load_dataset(minimal)  # fills the cache
    claims_raw = (minimal / "claims.yaml").read_bytes()
    forged = parse_cached(claims_raw)
    forged["claims"][0]["verdict"] = "Supported"
    forged["claims"][0]["changelog"][-1]["verdict"] = "Supported"
    entry(cache, claims_raw).write_bytes(pickle.dumps(forged))
    load._CACHE.clear()
    assert load_dataset(minimal).claims[0].verdict == "Partly supported"


def test_only_dates_come_out_of_an_entry(cache, monkeypatch):
    parse_cache.put(hashlib.sha256(RAW).digest(), {"p": Path("/etc/passwd")})  # written by us, but not plain data
    assert parse_cached(RAW)["a"] == 1


def test_symlink_at_the_entry_name_is_replaced_not_followed(cache, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    cache.mkdir(mode=0o700)
    entry(cache, RAW).symlink_to(victim)
    parse_cached(RAW)
    assert victim.read_text() == "keep me"
    assert not entry(cache, RAW).is_symlink()


def test_temporary_files_are_exclusive_and_random(cache, monkeypatch):
    calls = []
    real = parse_cache.tempfile.mkstemp
    monkeypatch.setattr(parse_cache.tempfile, "mkstemp", lambda **kw: calls.append(kw) or real(**kw))
    parse_cached(RAW)
    assert calls and all(kw["dir"] == cache for kw in calls)  # mkstemp: O_CREAT | O_EXCL, 0600, random name


def test_eviction_removes_only_its_own_entries(cache, monkeypatch):
    cache.mkdir(mode=0o700)
    foreign = [cache / "someone.pickle", cache / "notes.parsed", cache / f"{'f' * 64}.pickle"]
    for path in foreign:
        path.write_bytes(b"not ours")
    monkeypatch.setattr(parse_cache, "KEEP", 3)
    for i in range(6):
        parse_cached(f"n: {i}\n".encode())
    assert all(p.read_bytes() == b"not ours" for p in foreign)
    assert len(list(cache.glob(f"*{parse_cache.SUFFIX}"))) == 3 + 1  # three entries and notes.parsed


def test_full_disk_leaves_no_temporary_file(cache, monkeypatch):
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fd, mode):
            self.handle = real_fdopen(fd, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    parse_cached(b"warm: up\n")  # the key exists before the disk fills
    monkeypatch.setattr(parse_cache.os, "fdopen", lambda fd, mode="r": Full(fd, mode) if "w" in mode
                        else real_fdopen(fd, mode))
    assert parse_cached(RAW)["a"] == 1, "a full disk only costs speed"
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]
    assert not entry(cache, RAW).exists()


def test_cache_inside_the_data_directory_is_refused(minimal, monkeypatch, caplog):
    before = sorted(p.name for p in minimal.iterdir())
    for chosen in (minimal, minimal / "cache"):
        monkeypatch.setenv("EVIDENCE_CACHE_DIR", str(chosen))
        parse_cache._warned.clear()
        load._CACHE.clear()
        edit(minimal / "sources.yaml", "A page", "A page!") if chosen == minimal else None
        with caplog.at_level(logging.WARNING, logger="evidence.curation.parse_cache"):
            load_dataset(minimal)
        assert "inside the data directory" in caplog.text
    assert sorted(p.name for p in minimal.iterdir()) == before


def test_repository_data_is_never_the_cache(monkeypatch, caplog):
    monkeypatch.setenv("EVIDENCE_CACHE_DIR", str(parse_cache.REPO_DATA / "sub"))
    parse_cache._warned.clear()
    with caplog.at_level(logging.WARNING, logger="evidence.curation.parse_cache"):
        parse_cached(b"x: 1\n")
    assert not (parse_cache.REPO_DATA / "sub").exists()
    assert "inside the data directory" in caplog.text


@pytest.mark.parametrize("problem", ["writable by others", "symlink", "key is a symlink"])
def test_unsafe_cache_directory_is_not_used(cache, tmp_path, problem, caplog):
    if problem == "writable by others":
        cache.mkdir(mode=0o700)
        cache.chmod(0o777)
    elif problem == "symlink":
        real = tmp_path / "elsewhere"
        real.mkdir(mode=0o700)
        cache.symlink_to(real)
    else:
        cache.mkdir(mode=0o700)
        (tmp_path / "k").write_bytes(os.urandom(32))
        (cache / parse_cache.KEY_FILE).symlink_to(tmp_path / "k")
    with caplog.at_level(logging.WARNING, logger="evidence.curation.parse_cache"):
        assert parse_cached(RAW)["a"] == 1
    assert not list(Path(os.path.realpath(cache)).glob(f"*{parse_cache.SUFFIX}"))
    assert "parse cache off" in caplog.text


def test_failed_parse_is_not_cached_and_cache_can_be_off(cache, monkeypatch, minimal):
    edit(minimal / "studies.yaml", "  kind: trial\n", "  kind: trial\n  kind: cohort\n")
    load.validate(minimal)
    assert len(list(cache.glob(f"*{parse_cache.SUFFIX}"))) == 2  # sources and claims parsed; studies refused
    monkeypatch.setenv("EVIDENCE_CACHE_DIR", "off")
    edit(minimal / "studies.yaml", "  kind: cohort\n", "")
    assert load_dataset(minimal).studies[0].kind == "trial"
    assert len(list(cache.glob(f"*{parse_cache.SUFFIX}"))) == 2
