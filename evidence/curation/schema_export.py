"""JSON Schemas of the three data files, generated from the pydantic models.

Committed under ``data/schema/`` so editors (e.g. yaml-language-server) can validate
the YAML as it is typed; ``tests/test_schema_file.py`` fails when a committed copy is stale.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from evidence.curation.schema import ClaimsFile, SourcesFile, StudiesFile

FILE_MODELS: dict[str, type[BaseModel]] = {
    "studies": StudiesFile, "sources": SourcesFile, "claims": ClaimsFile,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """``{file stem: JSON Schema}`` for studies, sources and claims."""
    out = {}
    for stem, model in FILE_MODELS.items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$comment"] = "Generated from evidence/schema.py by `python -m evidence schema`; do not edit."
        out[stem] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
