"""A replay's resumable position: input offsets, output marks and the rebuilt state.

Written atomically (temporary file, then rename) after the outputs up to it were flushed,
so a run interrupted at any moment resumes from its last checkpoint without gaps, and
without duplicates (file outputs are cut back to the marks; shadow topics skip what they
already hold).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

CHECKPOINT = "checkpoint.json"


class Checkpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str
    next_offsets: dict[str, int] = Field(description='"<topic>/<partition>" -> next offset.')
    output_marks: dict[str, int] = Field(default_factory=dict)
    processed: int = 0
    in_range: int = 0
    profiles: dict[str, str] = Field(default_factory=dict, description="customer -> JSON")
    states: dict[str, str] = Field(default_factory=dict, description="customer -> JSON")
    stream_times: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="stateful partition -> its stream time"
    )
    latest_logged_ms: int | None = Field(
        default=None, description="The latest record timestamp read (for --advance-to end)."
    )
    done: bool = False


def save(directory: Path, checkpoint: Checkpoint) -> None:
    path = directory / CHECKPOINT
    temporary = path.with_suffix(".tmp")
    temporary.write_text(checkpoint.model_dump_json(), encoding="utf-8")
    os.replace(temporary, path)


def load(directory: Path) -> Checkpoint | None:
    path = directory / CHECKPOINT
    if not path.is_file():
        return None
    return Checkpoint.model_validate_json(path.read_text(encoding="utf-8"))


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    path = directory / "run.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)
