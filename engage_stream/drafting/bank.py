"""The response bank of a drafter folder: answers, their vectors, and how they were made.

`drafter.json` says how `responses.npy` was made (which encoder file and precision, and
whether its rows are the answers, the questions each answer was given to, or both);
`responses.jsonl` holds one response per line (`id`, `text`, `questions`). Rows of
`responses.npy` follow the responses in file order: per response, its answer row first
(index `answer` or `both`), then one row per question (index `question` or `both`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engage_stream.inference.model_folder import ModelFolderError, Precision

MANIFEST = "drafter.json"
RESPONSES = "responses.jsonl"
VECTORS = "responses.npy"
TEMPLATES = "templates.yaml"

IndexBy = Literal["answer", "question", "both"]


class DrafterError(ModelFolderError):
    """A drafter folder that cannot be served; names the folder and what is wrong."""


class DrafterManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: Literal[1] = 1
    name: str = Field(min_length=1, max_length=100)
    version: str = Field(min_length=1, max_length=100)
    index_by: IndexBy
    precision: Precision = Field(description="The encoder file that made responses.npy.")
    encoder_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    rows: int = Field(ge=1)
    dim: int = Field(ge=1)
    min_similarity: float = Field(ge=-1.0, le=1.0)
    budget_ms: float = Field(gt=0, description="Default deadline for the encoder.")
    metrics: dict[str, object] = Field(default_factory=dict)


class ResponseRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=1_000)
    questions: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class ResponseBank:
    manifest: DrafterManifest
    responses: list[ResponseRecord]
    vectors: np.ndarray
    """float32 (rows, dim), unit rows."""
    row_response: np.ndarray
    """int index into `responses` for each row of `vectors`."""

    def best(self, query: np.ndarray) -> tuple[ResponseRecord, float]:
        scores = self.vectors @ query
        row = int(np.argmax(scores))
        return self.responses[int(self.row_response[row])], float(scores[row])


def row_keys(responses: list[ResponseRecord], index_by: IndexBy) -> tuple[list[str], list[int]]:
    """The text each row embeds and the response it belongs to, in row order."""
    texts: list[str] = []
    owners: list[int] = []
    for i, response in enumerate(responses):
        keys = [response.text] if index_by in ("answer", "both") else []
        if index_by in ("question", "both"):
            keys += response.questions
        texts += keys
        owners += [i] * len(keys)
    return texts, owners


def load_bank(path: Path) -> ResponseBank:
    path = Path(path)
    if not path.is_dir():
        raise DrafterError(path, "not found (no such folder)")
    for name in (MANIFEST, RESPONSES, VECTORS, TEMPLATES):
        if not (path / name).is_file():
            raise DrafterError(path, f"{name} missing; is this a drafter folder?")
    manifest = _manifest(path)
    responses = _responses(path)
    try:
        vectors = np.load(path / VECTORS, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DrafterError(path, f"{VECTORS} is not a NumPy array file: {exc}") from None
    if vectors.dtype != np.float32 or vectors.ndim != 2:
        raise DrafterError(path, f"{VECTORS} is {vectors.dtype} {vectors.shape}; want 2-D float32")
    if vectors.shape != (manifest.rows, manifest.dim):
        raise DrafterError(
            path,
            f"{VECTORS} has shape {vectors.shape}; {MANIFEST} says ({manifest.rows}, "
            f"{manifest.dim})",
        )
    if not np.isfinite(vectors).all():
        raise DrafterError(path, f"{VECTORS} holds NaN or infinite values")
    _, owners = row_keys(responses, manifest.index_by)
    if len(owners) != manifest.rows:
        raise DrafterError(
            path,
            f"{RESPONSES} gives {len(owners)} rows for index_by={manifest.index_by}; "
            f"{VECTORS} has {manifest.rows}",
        )
    return ResponseBank(manifest, responses, vectors, np.asarray(owners, dtype=np.int64))


def _manifest(path: Path) -> DrafterManifest:
    try:
        return DrafterManifest.model_validate_json((path / MANIFEST).read_bytes())
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise DrafterError(path, f"{MANIFEST}: {problems}") from None


def _responses(path: Path) -> list[ResponseRecord]:
    records: list[ResponseRecord] = []
    file = path / RESPONSES
    try:
        lines = file.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise DrafterError(path, f"{RESPONSES} not readable: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(ResponseRecord.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DrafterError(path, f"{RESPONSES}:{number}: {problem}") from None
    if not records:
        raise DrafterError(path, f"{RESPONSES} holds no responses")
    if len({r.id for r in records}) != len(records):
        raise DrafterError(path, f"{RESPONSES}: response ids repeat")
    return records
