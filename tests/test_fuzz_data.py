"""Hypothesis-generated YAML documents and values through the validator: it always answers with a dataset or
one-line errors naming the file, never an exception, and never accepts a value of the wrong type."""

from __future__ import annotations

import copy
import math
import shutil
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence.curation.load import validate
from evidence.curation.yaml_reader import line_map, parse_data
from tests.conftest import FIXTURES

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

YAML_BITS = ["[", "]", "{", "}", ":", ": ", "- ", "\n", "  ", "&a ", "*a", "? ", "!!binary ", "!!python/name:os ",
             "'", '"', "#", "|", ">", "2026-02-30", "1e400", ".nan", ".inf", "yes", "~", "<<: *a", "---\n", "...",
             "\t", "%YAML 1.1\n", "\x00", "\ufeff", "id", "studies", "claims", "sources", "x"]


def fresh(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(FIXTURES / "minimal", target)
    return target


def assert_answers(directory: Path) -> tuple[object, list[str]]:
    dataset, errors = validate(directory)
    lines = [str(e) for e in errors]
    assert (dataset is None) == bool(lines)
    for line in lines:
        assert "\n" not in line and line.startswith("data/"), line
    return dataset, lines


@SETTINGS
@given(st.lists(st.sampled_from(YAML_BITS), max_size=60).map("".join))
def test_junk_documents_give_errors_not_exceptions(tmp_path, text):
    data = fresh(tmp_path)
    (data / "sources.yaml").write_text("sources:\n" + text, encoding="utf-8")
    assert_answers(data)


@SETTINGS
@given(st.text(max_size=400))
def test_the_reader_never_raises_anything_but_yaml_errors(text):
    try:
        parse_data(text)
    except yaml.YAMLError:
        return
    line_map(text)  # accepted text always has a line map


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30), st.dates(),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)


def _paths(node, prefix=()):
    """Every (container, key) in a parsed record, to put a generated value in its place."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


STUDIES = yaml.safe_load((FIXTURES / "minimal" / "studies.yaml").read_text())
STUDY_PATHS = list(_paths(STUDIES["studies"][0]))


INT_FIELDS = {"events", "total", "n", "n_randomized", "year", "k_studies"}


def _wrong_type(key, old, new) -> bool:
    """A generated value that no strict field holding ``old`` may accept (None: optional fields take it)."""
    if new is None or isinstance(old, dict | list):
        return False
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is not type(new)
    if isinstance(old, str):
        return not isinstance(new, str)
    return key in INT_FIELDS and not isinstance(new, int)


@SETTINGS
@given(st.sampled_from(STUDY_PATHS), VALUES)
def test_any_value_anywhere_in_a_study(tmp_path, path, value):
    data = fresh(tmp_path)
    study = copy.deepcopy(STUDIES)
    parent = study["studies"][0]
    for key in path[:-1]:
        parent = parent[key]
    old = parent[path[-1]]
    parent[path[-1]] = value
    (data / "studies.yaml").write_text(yaml.safe_dump(study, allow_unicode=True), encoding="utf-8")
    dataset, _ = assert_answers(data)
    if isinstance(value, float) and not math.isfinite(value):
        assert dataset is None, "no infinite or NaN figure is accepted"
    if _wrong_type(path[-1], old, value):
        assert dataset is None, f"{path}: {value!r} accepted in place of {old!r}"
