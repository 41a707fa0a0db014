"""``validate``, ``fragment`` and ``schema``: checking the curated data."""

from __future__ import annotations

import sys
from pathlib import Path

from evidence.cli import UserError
from evidence.curation.load import MAX_FILE_BYTES, data_dir, load_fragment, validate
from evidence.curation.provenance import check_study, count_figures
from evidence.curation.schema_export import json_schemas, render
from evidence.user_files import InputFileError, os_reason, read_bytes, write_atomic


def register(sub) -> None:
    p = sub.add_parser("validate", help="validate data/*.yaml; list every error")
    p.add_argument("--provenance", action="store_true", help="also check every figure is in its quote")
    p.set_defaults(func=run_validate)

    p = sub.add_parser("fragment", help="validate a draft studies file (schema + every figure in its quote)")
    p.add_argument("file", type=Path)
    p.set_defaults(func=run_fragment)

    p = sub.add_parser("schema", help="print the JSON Schemas generated from the models")
    p.add_argument("--out-dir", type=Path, help="write NAME.schema.json files here instead of stdout")
    p.set_defaults(func=run_schema)


def run_validate(args) -> int:
    directory = data_dir(args.data)
    if not directory.is_dir():
        raise UserError(f"data directory not found: {directory}")
    dataset, errors = validate(directory)
    missing = []
    if dataset is not None and args.provenance:
        missing = [m for s in dataset.studies for m in check_study(s)]
    for err in errors:
        print(err)
    for m in missing:
        print(f"{directory.name}/studies.yaml: {m}")
    if dataset is None:
        print(f"invalid: {len(errors)} error(s) in {directory}", file=sys.stderr)
        return 1
    primary, secondary = count_figures(dataset.studies)
    status = "valid" if not missing else f"{len(missing)} figure(s) not found in their quotes"
    print(f"{status}: {len(dataset.studies)} studies, {len(dataset.claims)} claims, "
          f"{len(dataset.sources)} sources, {primary + secondary} figures "
          f"({secondary} from secondary sources); version {dataset.version}")
    return 1 if missing else 0


def run_fragment(args) -> int:
    try:
        read_bytes(args.file, MAX_FILE_BYTES)  # a directory, FIFO, device or unreadable file: one line, exit 2
    except InputFileError as exc:
        raise UserError(str(exc)) from None
    studies, errors = load_fragment(args.file)
    missing = [m for s in studies for m in check_study(s)]
    for err in errors:
        print(err)
    for m in missing:
        print(f"{args.file}: {m}")
    print(f"{len(studies)} valid studies, {len(errors)} schema error(s), {len(missing)} figure(s) not in quotes")
    return 1 if errors or missing else 0


def run_schema(args) -> int:
    schemas = json_schemas()
    if args.out_dir is None:
        sys.stdout.write(render(schemas))
        return 0
    try:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        for stem, schema in schemas.items():
            write_atomic(args.out_dir / f"{stem}.schema.json", render(schema).encode("utf-8"))
    except InputFileError as exc:
        raise UserError(f"cannot write {exc}") from None
    except OSError as exc:
        raise UserError(f"{exc.filename or args.out_dir}: cannot write ({os_reason(exc)})") from None
    print(f"wrote {len(schemas)} schemas to {args.out_dir}")
    return 0


