"""Argument parsing and dispatch.  Each command group lives in ``evidence.commands``.

Every command returns an exit code; errors a user can fix are printed as one
clear message (no traceback): 0 ok, 1 data or check failure, 2 bad input,
3 a network service unreachable.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys

COMMAND_MODULES = ("data", "export", "pool", "verify", "check", "watch", "site", "summarize")


class UserError(Exception):
    """An error in what the user gave us: printed as one line, exit code 2."""


def _tolerant_streams() -> None:
    """stdout and stderr that write a character the terminal's encoding lacks (a Windows console,
    ``PYTHONIOENCODING=ascii``) as an escape instead of failing with a traceback halfway through the output."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):  # a replaced stream (tests) may not reconfigure
            stream.reconfigure(errors="backslashreplace")


def json_ascii() -> bool:
    """Whether JSON for stdout must escape non-ASCII itself: a backslash escape the stream adds ("\\xe9") is not
    JSON, so on a stdout that is not UTF-8 ``json.dumps(..., ensure_ascii=True)`` writes "\\u00e9" instead."""
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    return encoding not in ("utf8", "utf8sig")


def command_dataset(args: argparse.Namespace):
    """The validated dataset a command works on (``--data``, ``$EVIDENCE_DATA_DIR`` or ``data/``).

    A missing directory is a :class:`UserError`; invalid data raise ``DataInvalid``, which :func:`main`
    reports as the validator's error list and exit code 1, the same for every command.
    """
    from evidence.curation.load import data_dir, load_dataset

    directory = data_dir(args.data)
    if not directory.is_dir():
        raise UserError(f"data directory not found: {directory}")
    return load_dataset(directory)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m evidence",
        description="Ketamine for depression: curated evidence and marketing claims.",
    )
    parser.add_argument("--data", metavar="DIR", help="data directory (default: $EVIDENCE_DATA_DIR or data/)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"evidence.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"evidence.commands.{name}":
                continue  # a command group not built yet
            raise
        module.register(sub)
    return parser


def _blank_argument(argv: list[str]) -> str | None:
    """An empty argument (``--claim ''``, ``--out=``, ``fragment ''``) is a mistake, never "the default": an empty
    --out had written into the current folder, an empty --claim exported every claim, an empty --url read stdin."""
    for i, token in enumerate(argv):
        flag, eq, value = token.partition("=")
        if token.startswith("--") and eq and not value.strip():
            return f"{flag}: an empty value"
        if not token.strip():
            before = argv[i - 1] if i and argv[i - 1].startswith("-") and "=" not in argv[i - 1] else None
            return f"{before}: an empty value" if before else f"argument {i + 1} is empty"
    return None


def _bad_address(args: argparse.Namespace) -> str | None:
    """--base-url and --app-url end up in links, citations and ClaimReview: absolute http(s) only (not
    ``javascript:``, not "not a url")."""
    from urllib.parse import urlsplit

    for name in ("base_url", "app_url"):
        value = getattr(args, name, None)
        if value is None:
            continue
        try:
            parts = urlsplit(value.strip())
            ok = parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)
        except ValueError:
            ok = False
        if not ok:
            return f"--{name.replace('_', '-')} must be an absolute http or https address, not {value[:80]!r}"
    return None


def main(argv: list[str] | None = None) -> int:
    from evidence.curation.load import DataInvalid
    from evidence.user_files import InputFileError, os_reason

    _tolerant_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.data is not None and not args.data.strip():
        parser.error("--data: an empty path (give a data directory, or leave --data out for data/)")
    given = sys.argv[1:] if argv is None else argv
    if problem := _blank_argument(given) or _bad_address(args):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except DataInvalid as exc:
        for err in exc.errors:
            print(err)
        print(f"invalid: {len(exc.errors)} error(s) in the data; fix them (see `python -m evidence validate`)",
              file=sys.stderr)
        return 1
    except (UserError, InputFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except OSError as exc:  # any other OS error (full disk, permissions...): one line naming the file
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{os_reason(exc)}", file=sys.stderr)
        return 2
