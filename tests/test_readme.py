"""The README is tested: every CLI sub-command it shows exists, and its data-file table matches data/."""

import re

from evidence.cli import build_parser
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_every_documented_command_exists():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    documented = set(re.findall(r"python -m evidence (?:--data DIR )?([a-z-]+)", README))
    assert documented, "the README shows CLI commands"
    assert documented <= set(sub.choices), documented - set(sub.choices)


def test_documented_data_files_exist():
    for path in re.findall(r"`(data/[\w./*-]+)`", README):
        matches = list(REPO.glob(path))
        assert matches, f"README mentions {path}, which does not exist"


def test_the_two_commands_are_documented():
    assert "make run" in README and "make test" in README
    assert (REPO / "docs" / "screenshot.png").exists()
