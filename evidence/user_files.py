"""Files a user names, read or written: regular files only, of bounded size, every OS error as one line.

A data file or a CSV may be anything a path can name: a directory, a FIFO that never ends (reading it hangs),
``/dev/zero`` (reading it fills memory), a symlink loop or a file we may not read.  Everything that reads such
input goes through :func:`read_bytes`, which opens without blocking, checks that the opened file is a regular
file, and reads at most ``limit`` bytes, so that each of these becomes a clear :class:`InputFileError`.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

MiB = 1024 * 1024


class InputFileError(Exception):
    """A file that cannot be used as input; ``str()`` is one line naming the file and the reason."""

    def __init__(self, path: str | os.PathLike[str], reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{self.path}: {reason}")


def os_reason(exc: OSError) -> str:
    """A short human reason for an OS error (no errno numbers, no traceback)."""
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links (a symlink loop?)"
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    return exc.strerror or type(exc).__name__


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    return "is not a regular file"


def read_bytes(path: str | os.PathLike[str], limit: int) -> bytes:
    """The whole content of a regular file of at most ``limit`` bytes, else :class:`InputFileError`."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputFileError(path, os_reason(exc)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputFileError(path, _kind(st.st_mode))
        if st.st_size > limit:
            raise InputFileError(path, f"is {st.st_size / MiB:.1f} MiB; the limit is {limit / MiB:.0f} MiB")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(limit + 1 - size, 16 * MiB))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # grew while we read it
            raise InputFileError(path, f"is larger than the limit of {limit / MiB:.0f} MiB")
        return b"".join(chunks)
    except OSError as exc:
        raise InputFileError(path, os_reason(exc)) from None
    finally:
        os.close(fd)


def read_text(path: str | os.PathLike[str], limit: int, encoding: str = "utf-8") -> str:
    """:func:`read_bytes` decoded; a file that is not valid text is an :class:`InputFileError`."""
    raw = read_bytes(path, limit)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputFileError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def is_inside(child: Path, parent: Path) -> bool:
    """Whether ``child`` is ``parent`` or lies under it, after resolving symlinks."""
    try:
        child, parent = child.resolve(), parent.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python 3.11)
        return False
    return child == parent or parent in child.parents


def write_atomic(path: str | os.PathLike[str], payload: bytes) -> None:
    """Write ``payload`` to ``path`` whole or not at all.

    The bytes go to a temporary file with a random name (created exclusively, so a planted symlink cannot redirect
    it) in the same folder, which then replaces ``path``: a full disk leaves the old file as it was and no orphan.
    An existing ``path`` that is not a regular file (a device, a FIFO, a directory) is refused rather than
    replaced.  The new file gets the permissions a plain write would give it."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise InputFileError(path, os_reason(exc)) from None
    if mode is not None and not stat.S_ISREG(mode):
        raise InputFileError(path, "exists and is not a regular file; name a file to write")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputFileError(path, os_reason(exc)) from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        Path(tmp).replace(path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputFileError(path, os_reason(exc)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
