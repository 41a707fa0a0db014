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


def test_checker_accuracy_table_is_the_last_measured_run():
    """The README's checker figures are copied from bench/results/eval_checker.json (make eval-checker)."""
    import json

    result = json.loads((REPO / "bench" / "results" / "eval_checker.json").read_text(encoding="utf-8"))
    section = README.split("## Checker accuracy", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():  # the first table's rows (the batch table below repeats the labels)
        if line.startswith(("| claim", "| topic", "| numbers", "| non-claims")):
            rows.setdefault(line.split("|")[1].strip(), line)
    test, dev = result["test"], result["development"]
    precision = f"**{test['precision']:.2f} ({test['tp']} of {test['tp'] + test['fp']})**"
    recall = f"**{test['recall']:.2f} ({test['tp']} of {test['tp'] + test['fn']})**"
    assert precision in rows["claim matching precision"] and recall in rows["claim matching recall"]
    topics = f"{dev['topics']:.2f} ({dev['topic_right']} of {dev['sentences']})"
    assert topics in rows["topic right (any labelled topic)"]
    assert f"**{test['non_claim_verdicts']} of {test['non_claims']}**" in rows["non-claims given a verdict"]
    total = test["sentences"] + dev["sentences"]
    assert re.search(rf"\b{total:,} real sentences from {test['sites'] + dev['sites']} ", section.replace("\n", " "))


def test_readers_table_is_the_measured_agreement():
    """The README's two-readers table (readers and checker on the very same sentences) is the results file's."""
    import json

    a = json.loads((REPO / "bench" / "results" / "eval_checker.json").read_text(encoding="utf-8"))["agreement"]
    table = README.split("| on the same sentences |", 1)[1].split("\n\n", 1)[0]
    rows = {line.split("|")[1].strip(): line for line in table.splitlines() if line.startswith("| ")}
    c, g = a["checker"], a["adjudicated"]
    precision = rows["claim matching precision"]
    assert f"{a['precision']:.2f} ({a['tp']} of {a['predicted']})" in precision
    assert f"{c['precision']:.2f} ({c['tp']} of {c['tp'] + c['fp']})" in precision
    assert f"{g['checker']['precision']:.2f} ({g['checker']['tp']} of {g['checker']['tp'] + g['checker']['fp']})" \
        in precision
    assert f"{g['first']['recall']:.2f} ({g['first']['found']} of {g['first']['labelled']})" in rows[
        "claim matching recall"]
    assert f"| on the same sentences | second reader, against the corpus labels ({a['sentences']}) |" in README


def test_first_scorings_table_is_the_recorded_one():
    """Each collection's first whole scoring in the README is the one the results file keeps."""
    import json

    result = json.loads((REPO / "bench" / "results" / "eval_checker.json").read_text(encoding="utf-8"))
    scorings = result.get("first_scorings") or {}
    assert scorings, "make eval-checker keeps each batch's first whole scoring"
    rows = [line for line in README.splitlines() if line.startswith("| ")]
    for name, v in scorings.items():
        row = (f"| {name.split(' collection')[0]} | {v['scored']} | {v['sentences']} ({v['sites']}) | "
               f"{v['precision']:.2f} ({v['tp']} of {v['tp'] + v['fp']}) | {v['recall']:.2f} ({v['tp']} of "
               f"{v['tp'] + v['fn']}) |")
        assert any(r.startswith(row) for r in rows), row


def test_relative_links_resolve():
    """Every relative link in the README (docs/checker-accuracy.md holds the corpus's and the tuning's long record)
    points at a file in the repository."""
    links = [m for m in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README) if not re.match(r"[a-z]+:", m)]
    assert "docs/checker-accuracy.md" in links
    for link in links:
        assert (REPO / link).exists(), f"README links to {link}, which does not exist"
    doc = (REPO / "docs" / "checker-accuracy.md").read_text(encoding="utf-8")
    assert "](../README.md#checker-accuracy)" in doc and "## Checker accuracy" in README
