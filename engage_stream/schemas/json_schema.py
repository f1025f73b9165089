"""JSON Schema files in `schemas/`, generated from the pydantic models (never by hand)."""

from __future__ import annotations

import json
from pathlib import Path

from engage_stream.schemas.registry import DOCUMENT_KINDS, DocumentKind

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def render(kind: DocumentKind) -> str:
    schema = kind.adapter.json_schema(mode="validation")
    document = {"$schema": SCHEMA_DIALECT, "$id": kind.filename, "title": kind.title, **schema}
    document["title"] = kind.title
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def export(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in DOCUMENT_KINDS.values():
        path = out_dir / kind.filename
        path.write_text(render(kind), encoding="utf-8")
        written.append(path)
    return written


def stale_files(out_dir: Path) -> list[str]:
    """Names of schema files that are missing or differ from what the models generate."""
    return [
        kind.filename
        for kind in DOCUMENT_KINDS.values()
        if not (out_dir / kind.filename).is_file()
        or (out_dir / kind.filename).read_text(encoding="utf-8") != render(kind)
    ]
