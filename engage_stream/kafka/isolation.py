"""Topic sets of their own for benchmarks and tests that share a broker."""

from __future__ import annotations

import uuid
from pathlib import Path

import yaml


def isolated_topics_file(source: Path, directory: Path, prefix: str | None = None) -> Path:
    """A copy of the topics file `source` whose topic names all start with a unique prefix."""
    spec = yaml.safe_load(source.read_text(encoding="utf-8"))
    prefix = prefix or f"t{uuid.uuid4().hex[:8]}"
    for topic in spec["topics"].values():
        topic["name"] = f"{prefix}.{topic['name']}"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"topics-{prefix}.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path
