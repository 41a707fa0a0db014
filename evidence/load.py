"""Read and validate the three curated files, reporting every error in one run.

YAML is parsed with PyYAML's C safe loader (no object construction), duplicate
keys are refused, and every error is tied to ``file:line`` and the record id so
that a curator can go straight to it.  Parsed datasets are cached by the files'
content hash, so callers may call :func:`load_dataset` on every rerun.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from evidence.schema import Claim, Source, Study

REPO_ROOT = Path(__file__).resolve().parent.parent
FILES = {"studies": "studies.yaml", "sources": "sources.yaml", "claims": "claims.yaml"}
MODELS: dict[str, type[BaseModel]] = {"studies": Study, "sources": Source, "claims": Claim}


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: an explicit path, else ``$EVIDENCE_DATA_DIR``, else ``data/``."""
    chosen = explicit or os.environ.get("EVIDENCE_DATA_DIR") or REPO_ROOT / "data"
    return Path(chosen)


def sources_dir() -> Path:
    """Where the marketing pages live (outside the repo; never copied into it)."""
    return Path(os.environ.get("EVIDENCE_SOURCES_DIR") or REPO_ROOT.parent / "shared" / "sources")


# --------------------------------------------------------------------------- errors

@dataclass(frozen=True)
class DataError:
    file: str
    line: int | None
    record: str | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        what = " ".join(part for part in (self.record, self.field) if part)
        return f"{where}: {what}: {self.message}" if what else f"{where}: {self.message}"


class DataInvalid(Exception):  # noqa: N818 - reads better at call sites than DataInvalidError
    """Raised when the data do not validate; carries every error found."""

    def __init__(self, errors: list[DataError]):
        self.errors = errors
        super().__init__(f"{len(errors)} error(s) in the data:\n" + "\n".join(map(str, errors)))


# --------------------------------------------------------------------------- YAML

class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: object, mark: yaml.Mark):
        self.key, self.problem_mark = key, mark
        super().__init__(f"duplicate key {key!r} (YAML would silently keep the last one)")


class _StrictLoader(yaml.CSafeLoader):
    """C safe loader that refuses duplicate keys."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise _DuplicateKey(key, key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

LineMap = dict[tuple[Any, ...], int]


def parse_yaml(text: str) -> tuple[Any, LineMap]:
    """Parse one YAML document; return the data and a map from key path to line number."""
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    lines: LineMap = {}
    if node is not None:
        _walk(node, (), lines)
    return data, lines


def _walk(node: yaml.Node, path: tuple[Any, ...], lines: LineMap) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key_path = (*path, key_node.value)
            _walk(value_node, key_path, lines)
            lines[key_path] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines)


def _line_for(lines: LineMap, loc: Iterable[Any]) -> int | None:
    loc = tuple(loc)
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


# --------------------------------------------------------------------------- dataset

@dataclass(frozen=True)
class Dataset:
    studies: list[Study]
    sources: list[Source]
    claims: list[Claim]
    version: str
    data_dir: Path
    modified: str = ""
    _index: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)

    def study(self, study_id: str) -> Study:
        return self._lookup("studies", study_id)

    def claim(self, claim_id: str) -> Claim:
        return self._lookup("claims", claim_id)

    def source(self, source_id: str) -> Source:
        return self._lookup("sources", source_id)

    def _lookup(self, kind: str, key: str) -> Any:
        if kind not in self._index:
            self._index[kind] = {r.id: r for r in getattr(self, kind)}
        return self._index[kind][key]


def content_hash(directory: Path) -> str:
    digest = hashlib.sha256()
    for name in FILES.values():
        path = directory / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    return digest.hexdigest()[:12]


_CACHE: dict[tuple[str, str], tuple[Dataset | None, list[DataError]]] = {}


def validate(directory: str | os.PathLike[str] | None = None) -> tuple[Dataset | None, list[DataError]]:
    """Validate the data directory; return the dataset (None when invalid) and every error."""
    directory = data_dir(directory)
    key = (str(directory.resolve()), content_hash(directory))
    if key not in _CACHE:
        if len(_CACHE) > 8:
            _CACHE.clear()
        _CACHE[key] = _validate_uncached(directory, key[1])
    return _CACHE[key]


def load_dataset(directory: str | os.PathLike[str] | None = None) -> Dataset:
    """Load and validate; raise :class:`DataInvalid` listing every error."""
    dataset, errors = validate(directory)
    if errors or dataset is None:
        raise DataInvalid(errors)
    return dataset


def _validate_uncached(directory: Path, version: str) -> tuple[Dataset | None, list[DataError]]:
    errors: list[DataError] = []
    broken: set[str] = set()
    records: dict[str, list[Any]] = {}
    raws: dict[str, list[dict[str, Any]]] = {}
    line_maps: dict[str, LineMap] = {}
    for kind, name in FILES.items():
        label = f"{directory.name}/{name}"
        models, raw, lines, file_errors = _load_file(directory / name, label, kind)
        records[kind], raws[kind], line_maps[kind] = models, raw, lines
        errors.extend(file_errors)
        if not lines:  # missing or unparsable: references into it cannot be checked
            broken.add(kind)
    errors.extend(_cross_references(records, raws, line_maps, directory.name, broken))
    if errors:
        return None, errors
    mtimes = [(directory / n).stat().st_mtime for n in FILES.values()]
    from datetime import UTC, datetime

    modified = datetime.fromtimestamp(max(mtimes), tz=UTC).date().isoformat()
    return Dataset(records["studies"], records["sources"], records["claims"], version, directory, modified), []


def _load_file(path: Path, label: str, kind: str):
    model = MODELS[kind]
    if not path.exists():
        return [], [], {}, [DataError(label, None, None, "", "file not found")]
    try:
        data, lines = parse_yaml(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        return [], [], {}, [DataError(label, None, None, "", f"not UTF-8 text ({exc.reason})")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "could not determine a constructor" in str(exc):
            problem = "a YAML tag that would construct an object is not allowed: " + problem
        return [], [], {}, [DataError(label, line, None, "", f"invalid YAML: {problem}")]
    if not isinstance(data, dict) or not isinstance(data.get(kind), list):
        message = f"the file must be a mapping with a list under '{kind}:'"
        return [], [], lines, [DataError(label, 1, None, kind, message)]
    extra = sorted(set(data) - {kind})
    errors = [DataError(label, _line_for(lines, (k,)), None, k, "unknown top-level key") for k in extra]
    models, raws = [], []
    for i, raw in enumerate(data[kind]):
        record_id = raw.get("id") if isinstance(raw, dict) else None
        record = str(record_id) if record_id is not None else f"#{i + 1}"
        raws.append(raw if isinstance(raw, dict) else {})
        try:
            models.append(model.model_validate(raw))
        except ValidationError as exc:
            for err in exc.errors():
                loc = (kind, i, *err["loc"])
                errors.append(DataError(label, _line_for(lines, loc), record, _dotted(err["loc"]), _message(err)))
    return models, raws, lines, errors


def _dotted(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: dict[str, Any]) -> str:
    msg = err["msg"].removeprefix("Value error, ")
    given = err.get("input")
    if err["type"] == "string_type" and isinstance(given, bool):
        msg += f" (got the boolean {str(given).lower()}: YAML reads unquoted yes/no/on/off as booleans; quote it)"
    elif err["type"] == "extra_forbidden":
        msg = "unknown field (not in the schema; check the spelling)"
    elif err["type"] in ("literal_error", "enum"):
        msg += f"; got {given!r}"
    return msg


def _cross_references(records, raws, line_maps, dirname, broken) -> list[DataError]:
    """Ids unique within each file; every claim reference resolves."""
    errors: list[DataError] = []
    for kind, raw_list in raws.items():
        seen: dict[str, int] = {}
        for i, raw in enumerate(raw_list):
            rid = raw.get("id")
            if rid is None:
                continue
            if rid in seen:
                errors.append(DataError(f"{dirname}/{FILES[kind]}", _line_for(line_maps[kind], (kind, i, "id")),
                                        str(rid), "id", f"duplicate id (first used by record #{seen[rid] + 1})"))
            else:
                seen[rid] = i
    study_ids = {r.get("id") for r in raws["studies"]}
    outcomes = {s.id: {o.id for o in s.outcomes} for s in records["studies"]}
    source_ids = {r.get("id") for r in raws["sources"]}
    label = f"{dirname}/{FILES['claims']}"
    claim_index = {raw.get("id"): i for i, raw in enumerate(raws["claims"])}
    for claim in records["claims"]:
        i = claim_index[claim.id]

        def err(loc: tuple[Any, ...], field_path: str, message: str, i: int = i, cid: str = claim.id) -> None:
            line = _line_for(line_maps["claims"], ("claims", i, *loc))
            errors.append(DataError(label, line, cid, field_path, message))

        for j, app in enumerate(claim.appearances):
            if "sources" not in broken and app.source not in source_ids:
                err(("appearances", j, "source"), f"appearances[{j}].source", f"unknown source {app.source!r}")
        for j, link in enumerate(claim.evidence):
            if "studies" in broken:
                continue
            if link.study not in study_ids:
                err(("evidence", j, "study"), f"evidence[{j}].study", f"unknown study {link.study!r}")
                continue
            for outcome in link.outcomes:
                if link.study in outcomes and outcome not in outcomes[link.study]:
                    err(("evidence", j, "outcomes"), f"evidence[{j}].outcomes",
                        f"study {link.study!r} has no outcome {outcome!r}")
    return errors


def load_fragment(path: Path) -> tuple[list[Study], list[DataError]]:
    """Validate a stand-alone studies file (a curator's draft) without the other files."""
    models, _, _, errors = _load_file(path, str(path), "studies")
    return models, errors
