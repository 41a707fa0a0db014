"""Writing a file the user names: whole or not at all, never through a device or a planted name."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from evidence.user_files import InputFileError, write_atomic
from tests.conftest import REPO


def test_write_atomic_writes_whole_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")
    write_atomic(target, b"new contents")
    assert target.read_bytes() == b"new contents"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("make", ["fifo", "directory"])
def test_an_existing_target_that_is_not_a_regular_file_is_refused_not_replaced(tmp_path, make):
    target = tmp_path / "thing"
    os.mkfifo(target) if make == "fifo" else target.mkdir()
    with pytest.raises(InputFileError, match="not a regular file"):
        write_atomic(target, b"x")
    assert stat.S_ISFIFO(target.stat().st_mode) if make == "fifo" else target.is_dir()


def test_a_planted_symlink_at_the_old_predictable_name_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    (tmp_path / ".out.csv.tmp").symlink_to(victim)  # the name the old writer used
    write_atomic(tmp_path / "out.csv", b"data")
    assert victim.read_bytes() == b"keep me" and (tmp_path / "out.csv").read_bytes() == b"data"


def test_a_full_disk_leaves_the_old_file_and_no_orphan(tmp_path, monkeypatch):
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")

    def full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    monkeypatch.setattr(type(target), "replace", full)
    with pytest.raises(InputFileError, match="no space left"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["out.csv"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_export_to_a_device_is_a_one_line_error_and_the_device_survives():
    before = os.stat("/dev/full")
    run = subprocess.run([sys.executable, "-m", "evidence", "export", "--table", "studies", "--format", "csv",
                          "--out", "/dev/full"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "not a regular file" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    after = os.stat("/dev/full")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
