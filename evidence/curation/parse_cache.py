"""The parse cache: each data file's parsed content, kept by content hash so later loads skip PyYAML.

It also keeps the text checker's fitted paraphrase classifier, as plain numbers keyed by the SHA-256 of what it
was fitted from (``evidence.checking.matching.fit_classifier``), so a cold start does not refit it.

Nothing read back is believed unless this cache wrote it for exactly this content: every entry carries an
HMAC-SHA256 over the source file's SHA-256 and the payload, under a random key kept (mode 0600) in the cache
directory, so a planted, swapped or damaged entry is ignored and the YAML parsed instead.  The payload is a
pickle of plain YAML data, read back by an unpickler that only knows dates (measured at 100x: unpickling
26 MB takes 0.20 s against 0.22 s for the same data as JSON, before JSON's date decoding), so the HMAC is a
second lock, not the only one.

The directory must be private: created with mode 0700, refused when it is a symlink, someone else's, writable
by others, or inside the data directory.  Temporary files are created with ``O_EXCL`` under random names and
removed on any failure (a full disk leaves nothing behind); eviction removes only this cache's own entries.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import os
import pickle
import secrets
import stat
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from evidence.user_files import is_inside

log = logging.getLogger(__name__)
REPO_DATA = Path(__file__).resolve().parents[2] / "data"

SUFFIX = ".parsed"  # ours; eviction never touches anything else
MAGIC = b"KEPC\x01\x00\x00\x00"
KEY_FILE = "hmac.key"
KEEP = 32
_ALLOWED = {("datetime", "date"): date, ("datetime", "datetime"): datetime,
            ("datetime", "timezone"): timezone, ("datetime", "timedelta"): timedelta}
_warned: set[str] = set()


class _DataUnpickler(pickle.Unpickler):
    """Only plain YAML data come out of the cache: dates and times are the only classes allowed."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the parse cache")


def _warn(message: str) -> None:
    if message not in _warned:  # once per process, not on every rerun
        _warned.add(message)
        log.warning("parse cache off: %s", message)


def cache_dir() -> Path | None:
    """$EVIDENCE_CACHE_DIR ("off" disables the cache), else the user's cache directory."""
    chosen = os.environ.get("EVIDENCE_CACHE_DIR")
    if chosen == "off":
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return Path(chosen) if chosen else base / "ketamine-evidence"


def _private_dir(directory: Path, data_directory: Path | None) -> Path | None:
    """The cache directory, created 0700 if missing; None (with a message) when it is not safe to use."""
    for data in {p for p in (data_directory, REPO_DATA) if p is not None}:
        if is_inside(directory, data):
            _warn(f"{directory} is inside the data directory {data}; the cache never writes there")
            return None
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(directory)
    except OSError as exc:
        _warn(f"{directory}: {exc.strerror}")
        return None
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        _warn(f"{directory} is not a directory (or is a symlink)")
        return None
    if st.st_uid != os.geteuid():
        _warn(f"{directory} belongs to another user")
        return None
    if st.st_mode & 0o022:
        _warn(f"{directory} is writable by other users; make it private (chmod 700) or choose another")
        return None
    if st.st_mode & 0o077:  # ours but readable by others (e.g. made by an older version): make it private
        try:
            directory.chmod(0o700)
        except OSError as exc:
            _warn(f"{directory}: cannot make it private ({exc.strerror})")
            return None
    return directory


def _write_exclusive(directory: Path, payload: bytes) -> Path:
    """``payload`` in a new file under a random name (O_EXCL, 0600); the file is removed if writing fails."""
    fd, name = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _key(directory: Path) -> bytes | None:
    """This cache's HMAC key, created on first use (atomically: a racing process reads the winner's key)."""
    path = directory / KEY_FILE
    for _ in range(2):
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            tmp = _write_exclusive(directory, secrets.token_bytes(32))
            try:
                os.link(tmp, path)  # fails if another process created the key first
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "rb") as handle:
            st = os.fstat(handle.fileno())
            key = handle.read(33)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077 or len(key) != 32:
            _warn(f"{path} is not a private 32-byte key file; remove it to start a new cache")
            return None
        return key
    return None


def _mac(key: bytes, source_digest: bytes, payload: bytes) -> bytes:
    return hmac.new(key, MAGIC + source_digest + payload, hashlib.sha256).digest()


def _read_entry(path: Path, key: bytes, source_digest: bytes) -> tuple[bool, Any]:
    """``(True, data)`` for an entry this cache wrote for this content; ``(False, None)`` for anything else."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False, None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return False, None
        blob = handle.read()
    head, mac, payload = blob[:len(MAGIC)], blob[len(MAGIC):len(MAGIC) + 32], blob[len(MAGIC) + 32:]
    if head != MAGIC or not hmac.compare_digest(mac, _mac(key, source_digest, payload)):
        return False, None
    try:
        return True, _DataUnpickler(io.BytesIO(payload)).load()
    except Exception:  # an entry we wrote but cannot read back (e.g. another Python version): parse instead
        return False, None


def get(source_digest: bytes, data_directory: Path | None = None) -> tuple[bool, Any]:
    """``(True, data)`` when this cache holds a verified entry for a file with this SHA-256, else ``(False, None)``."""
    place = _place(data_directory)
    if place is None:
        return False, None
    directory, key = place
    return _read_entry(directory / f"{source_digest.hex()}{SUFFIX}", key, source_digest)


def put(source_digest: bytes, data: Any, data_directory: Path | None = None) -> None:
    """Store parsed data for a file with this SHA-256; a read-only or full disk only costs speed."""
    place = _place(data_directory)
    if place is None:
        return
    directory, key = place
    try:
        payload = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, RecursionError):
        return
    try:
        tmp = _write_exclusive(directory, MAGIC + _mac(key, source_digest, payload) + payload)
        try:
            tmp.replace(directory / f"{source_digest.hex()}{SUFFIX}")
        finally:
            tmp.unlink(missing_ok=True)
        _evict(directory)
    except OSError:
        pass


def _evict(directory: Path) -> None:
    """Keep the newest :data:`KEEP` entries; only regular files of ours with our name and suffix are removed."""
    ours = []
    for entry in os.scandir(directory):
        stem = entry.name[:-len(SUFFIX)]
        if entry.name.endswith(SUFFIX) and len(stem) == 64 and all(c in "0123456789abcdef" for c in stem):
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid():
                ours.append((st.st_mtime_ns, entry.path))
    for _, path in sorted(ours)[:-KEEP]:
        Path(path).unlink(missing_ok=True)


def _place(data_directory: Path | None) -> tuple[Path, bytes] | None:
    try:
        chosen = cache_dir()
    except RuntimeError:  # no home directory to put a user cache in
        return None
    if chosen is None:
        return None
    directory = _private_dir(chosen, data_directory)
    if directory is None:
        return None
    try:
        key = _key(directory)
    except OSError as exc:
        _warn(f"{directory}: {exc.strerror}")
        return None
    return (directory, key) if key is not None else None
