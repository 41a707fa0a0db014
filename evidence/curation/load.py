"""Read and validate the three curated files, reporting every error in one run.

YAML is parsed with PyYAML's C safe loader (no object construction), duplicate
keys are refused, and every error is tied to ``file:line`` and the record id so
that a curator can go straight to it.  Parsed datasets are cached by the files'
content hash, so callers may call :func:`load_dataset` on every rerun.
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from evidence.curation import parse_cache
from evidence.curation.parse_cache import cache_dir as cache_dir  # re-exported: the bench reads it here
from evidence.curation.schema import Claim, Source, Study
from evidence.curation.yaml_reader import LineMap, editor_line, line_map, parse_data
from evidence.user_files import InputFileError, MiB, read_bytes

REPO_ROOT = Path(__file__).resolve().parents[2]
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
        text = f"{where}: {what}: {self.message}" if what else f"{where}: {self.message}"
        return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)  # always one line


class DataInvalid(Exception):  # noqa: N818 - reads better at call sites than DataInvalidError
    """Raised when the data do not validate; carries every error found."""

    def __init__(self, errors: list[DataError]):
        self.errors = errors
        super().__init__(f"{len(errors)} error(s) in the data:\n" + "\n".join(map(str, errors)))


# --------------------------------------------------------------------------- YAML

MAX_FILE_BYTES = 64 * MiB  # 2.3x the 100x benchmark's studies.yaml (27.6 MB); bounds the parser's memory


def parse_yaml(text: str) -> tuple[Any, LineMap]:
    """Parse one YAML document; return the data and a map from key path to line number."""
    return parse_data(text), line_map(text)


class _LazyLines:
    """A line map built on first use, so valid data never pay for it."""

    def __init__(self, text: str):
        self._text, self._lines = text, None

    def _get(self) -> LineMap:
        if self._lines is None:
            self._lines = line_map(self._text)
        return self._lines

    def __contains__(self, key: object) -> bool:
        return key in self._get()

    def __getitem__(self, key: tuple[Any, ...]) -> int:
        return self._get()[key]


def parse_cached(raw: bytes, data_directory: Path | None = None) -> Any:
    """The parsed content of a file, from the parse cache when this exact content was parsed before.

    PyYAML's C loader still builds every object in Python, which costs seconds on large files; the cache
    makes every later load (a server restart, each CLI command) cost an unpickle instead.  A file that fails
    to parse is never cached, so errors are always reported from the YAML itself.
    """
    digest = hashlib.sha256(raw).digest()
    hit, data = parse_cache.get(digest, data_directory)
    if hit:
        return data
    data = parse_data(raw.decode("utf-8"))
    parse_cache.put(digest, data, data_directory)
    return data


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


_FILE_HASHES: dict[tuple[str, int, int, int], bytes] = {}


def _file_digest(path: Path) -> bytes:
    """SHA-256 of a file, remembered per (path, inode, mtime, size): pages call this on every rerun.

    Anything that is not a readable regular file of bounded size gets a digest naming the problem (it is
    reported by the validator), so a FIFO, a device or a directory never hangs or crashes a page.
    """
    try:
        st = path.stat()
    except OSError as exc:
        return f"<{type(exc).__name__}>".encode()
    key = (str(path), st.st_ino, st.st_mtime_ns, st.st_size)
    if key not in _FILE_HASHES:
        try:
            digest = hashlib.sha256(read_bytes(path, MAX_FILE_BYTES)).digest()
        except InputFileError as exc:
            return f"<{exc.reason}>".encode()
        if len(_FILE_HASHES) > 64:
            _FILE_HASHES.clear()
        _FILE_HASHES[key] = digest
    return _FILE_HASHES[key]


def content_hash(directory: Path) -> str:
    digest = hashlib.sha256()
    for name in FILES.values():
        digest.update(name.encode())
        digest.update(_file_digest(directory / name))
    return digest.hexdigest()[:12]


_CACHE: dict[tuple[str, str], tuple[Dataset | None, list[DataError]]] = {}


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building large acyclic structures.

    Loading creates millions of objects; each collection rescans the growing heap, which made loading
    grow faster than the data (measured: 2.3 s -> 0.9 s at 100x).  Parsed records and models hold no
    reference cycles, so nothing is leaked; reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def validate(directory: str | os.PathLike[str] | None = None) -> tuple[Dataset | None, list[DataError]]:
    """Validate the data directory; return the dataset (None when invalid) and every error."""
    directory = data_dir(directory)
    key = (str(directory.resolve()), content_hash(directory))
    if key not in _CACHE:
        if len(_CACHE) > 8:
            _CACHE.clear()
        with paused_gc():
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
        if lines is None:  # missing or unparsable: references into it cannot be checked
            broken.add(kind)
    errors.extend(_cross_references(records, raws, line_maps, directory.name, broken))
    if errors:
        return None, errors
    modified = _data_date(records["claims"], directory)
    return Dataset(records["studies"], records["sources"], records["claims"], version, directory, modified), []


_DATE_HEADING = re.compile(r"^#+\s*(\d{4}-\d{2}-\d{2})\b", re.MULTILINE)


def _data_date(claims: list[Any], directory: Path) -> str:
    """The data's own latest date: the claims' changelogs and the dated headings of data/CHANGELOG.md.  Not the
    files' times, which a fresh checkout sets to the day of the checkout (the app had said "last changed" today
    while the site, built from the same version, gave the changelog's date); those only when nothing is dated."""
    dates = [e.date.isoformat() for c in claims for e in c.changelog]
    changelog = directory / "CHANGELOG.md"
    with suppress(OSError, UnicodeDecodeError):
        dates += _DATE_HEADING.findall(changelog.read_text(encoding="utf-8"))
    if dates:
        return max(dates)
    mtimes = [(directory / n).stat().st_mtime for n in FILES.values()]
    return datetime.fromtimestamp(max(mtimes), tz=UTC).date().isoformat()


def _load_file(path: Path, label: str, kind: str):
    model = MODELS[kind]
    try:
        raw = read_bytes(path, MAX_FILE_BYTES)
        text = raw.decode("utf-8")
    except InputFileError as exc:
        return [], [], None, [DataError(label, None, None, "", exc.reason)]
    except UnicodeDecodeError as exc:
        return [], [], None, [DataError(label, None, None, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
    try:
        data = parse_cached(raw, path.parent)
        lines = _LazyLines(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = editor_line(text, mark) if mark is not None else None
        if line is None and isinstance(getattr(exc, "position", None), int):  # a control character (ReaderError)
            line = text.count("\n", 0, exc.position) + 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "could not determine a constructor" in str(exc):
            problem = "a YAML tag that would construct an object is not allowed: " + problem
        return [], [], None, [DataError(label, line, None, "", f"invalid YAML: {problem}")]
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # a value PyYAML cannot build
        return [], [], None, [DataError(label, None, None, "", f"invalid YAML: {exc}")]
    except MemoryError:  # a file under the size limit can still hold millions of tiny nodes ("[1,1,1,...]")
        return [], [], None, [DataError(label, None, None, "", "too large to read in the memory available "
                                        f"({len(raw) / MiB:.1f} MiB); split it or remove what it repeats")]
    if not isinstance(data, dict) or not isinstance(data.get(kind), list):
        message = f"the file must be a mapping with a list under '{kind}:'"
        # no records: references into the file are not checked (they had each been "unknown", 105 lines more)
        return [], [], None, [DataError(label, 1, None, kind, message)]
    extra = sorted(set(data) - {kind}, key=str)  # a key YAML reads as a number ("1:") sorts with the others
    errors = [DataError(label, _line_for(lines, (str(k),)), None, str(k), "unknown top-level key") for k in extra]
    models, raws = [], []
    records = data[kind]
    for i, raw in enumerate(records):
        records[i] = None  # let each raw record go once validated: lower peak memory on large files
        record_id = raw.get("id") if isinstance(raw, dict) else None
        record = str(record_id) if record_id is not None else f"#{i + 1}"
        raws.append({"id": record_id} if isinstance(record_id, str) else {})  # cross-references need only ids
        try:
            models.append(model.model_validate(raw))
            raws[-1]["position"] = i  # where a valid record is: the models are only the valid ones
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


_UNSIGNED_EXPONENT = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE]\d+$")  # 1e5: a float in YAML 1.2, text in 1.1


def _message(err: dict[str, Any]) -> str:
    msg = err["msg"].removeprefix("Value error, ")
    given = err.get("input")
    if err["type"] == "string_type" and isinstance(given, bool):
        msg += f" (got the boolean {str(given).lower()}: YAML reads unquoted yes/no/on/off as booleans; quote it)"
    elif err["type"] in ("int_type", "float_type") and isinstance(given, bool):
        msg += f" (got the boolean {str(given).lower()}: YAML reads unquoted yes/no/on/off as booleans)"
    elif err["type"] in ("int_type", "float_type") and isinstance(given, str) and _UNSIGNED_EXPONENT.match(given):
        signed = re.sub(r"[eE]", "e+", given, count=1)
        msg += f" (YAML reads {given} as text: write the exponent with a sign, {signed})"
    elif err["type"] in ("int_type", "float_type", "date_type") and isinstance(given, str):
        if re.fullmatch(r"\s*[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*|[0-9]{4}-[0-9]{2}-[0-9]{2}", given):
            msg += f" (got the text {given[:40]!r}: write it without quotes)"  # a number, so it was quoted
        else:
            msg += (f" (got the text {given[:40]!r}: YAML reads it as text; write a plain decimal number, "
                    "such as 12 or 0.45)")
    elif err["type"] == "int_type" and isinstance(given, float):
        msg += f" (got {given!r}: a count is a whole number)"
    elif err["type"] == "finite_number":
        msg += " (.inf and .nan are not figures: leave the field out when it is not reported)"
    elif err["type"] == "extra_forbidden":
        msg = "unknown field (not in the schema; check the spelling)"
    elif err["type"] in ("literal_error", "enum"):
        shown = repr(given)
        msg += f"; got {shown}" if len(shown) <= 80 else f"; got {shown[:80]}… ({len(shown):,} characters)"
    return msg


def _duplicate_ids(raw_list: list[dict[str, Any]], lines: LineMap, kind: str, label: str) -> list[DataError]:
    errors: list[DataError] = []
    seen: dict[Any, int] = {}
    for i, raw in enumerate(raw_list):
        rid = raw.get("id")
        if rid is None:
            continue
        try:
            first = seen.setdefault(rid, i)
        except TypeError:  # an unhashable id (a list or mapping) is already a schema error
            continue
        if first != i:
            errors.append(DataError(label, _line_for(lines, (kind, i, "id")), str(rid), "id",
                                    f"duplicate id (first used by record #{first + 1})"))
    return errors


def _cross_references(records, raws, line_maps, dirname, broken) -> list[DataError]:
    """Ids unique within each file; every claim reference resolves."""
    errors: list[DataError] = []
    for kind, raw_list in raws.items():
        errors.extend(_duplicate_ids(raw_list, line_maps[kind], kind, f"{dirname}/{FILES[kind]}"))
    study_ids = {r.get("id") for r in raws["studies"]}
    outcomes = {s.id: {o.id for o in s.outcomes} for s in records["studies"]}
    source_ids = {r.get("id") for r in raws["sources"]}
    if "studies" not in broken:
        errors.extend(_study_references(records["studies"], raws["studies"], line_maps["studies"],
                                        f"{dirname}/{FILES['studies']}", study_ids))
    label = f"{dirname}/{FILES['claims']}"
    # each valid claim with its own record's position (by id, a duplicated id had named the later record's line)
    positions = [r["position"] for r in raws["claims"] if "position" in r]
    for claim, i in zip(records["claims"], positions, strict=True):

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


def _study_references(studies, raws, lines, label, study_ids) -> list[DataError]:
    """``reanalysis_of`` and a synthesis's ``includes`` name studies in the file: an unknown one would let a pool
    count the same participants twice without a word."""
    errors: list[DataError] = []
    positions = [r["position"] for r in raws if "position" in r]
    for study, i in zip(studies, positions, strict=True):
        for j, other in enumerate(study.reanalysis_of):
            if other not in study_ids:
                errors.append(DataError(label, _line_for(lines, ("studies", i, "reanalysis_of", j)), study.id,
                                        f"reanalysis_of[{j}]", f"unknown study {other!r}"))
        for k, outcome in enumerate(study.outcomes):
            for j, other in enumerate(outcome.effect.includes if outcome.effect else []):
                if other not in study_ids:
                    loc = ("studies", i, "outcomes", k, "effect", "includes", j)
                    errors.append(DataError(label, _line_for(lines, loc), study.id,
                                            f"outcomes[{k}].effect.includes[{j}]", f"unknown study {other!r}"))
    return errors


def load_fragment(path: Path) -> tuple[list[Study], list[DataError]]:
    """Validate a stand-alone studies file (a curator's draft) without the other files."""
    models, raws, lines, errors = _load_file(path, str(path), "studies")
    if lines is not None:
        errors.extend(_duplicate_ids(raws, lines, "studies", str(path)))
    return models, errors
