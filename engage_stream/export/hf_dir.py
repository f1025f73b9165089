"""The Hugging Face model folder that training hands to the export, read and checked.

Training writes `config.json`, the weights, the tokenizer files and `engage-train.json`
(name, version, task, max_length; every field optional). Checking here, with JSON alone,
means a wrong folder is reported in a second, before torch is imported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engage_stream.inference.model_folder import (
    DEFAULT_MAX_LENGTH,
    HF_CONFIG,
    TOKENIZER,
    HeadSpec,
    Task,
    labels_from_config,
    position_limit,
)

TRAIN_INFO = "engage-train.json"
WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


class ExportError(Exception):
    """The export cannot go on; the message names the path and what is wrong."""


class TrainInfo(BaseModel):
    """`engage-train.json`; training may add more (metrics, data, seed), which is kept."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str | None = Field(default=None, min_length=1, max_length=100)
    version: str | None = Field(default=None, min_length=1, max_length=100)
    task: Task | None = None
    max_length: int | None = Field(default=None, ge=2, le=8192)
    labels: list[str] | None = None
    heads: list[dict[str, Any]] | None = Field(
        default=None, description="multi-head: name, kind, labels of each head, and more."
    )


@dataclass(frozen=True, slots=True)
class HfModelDir:
    path: Path
    name: str
    version: str
    task: Task
    labels: tuple[str, ...]
    max_length: int
    pad_token_id: int | None
    training: dict[str, Any] = field(default_factory=dict)
    heads: tuple[HeadSpec, ...] = ()
    """multi-head only: each head, its output named after it."""


def read_hf_dir(path: Path) -> HfModelDir:
    path = Path(path)
    if not path.is_dir():
        raise ExportError(
            f"{path}: not found (no such folder); give the model folder that training wrote"
        )
    missing = [HF_CONFIG] if not (path / HF_CONFIG).is_file() else []
    if not any((path / name).is_file() for name in WEIGHTS):
        missing.append(f"weights ({' or '.join(WEIGHTS)})")
    if not (path / TOKENIZER).is_file():
        missing.append(f"{TOKENIZER} (save the tokenizer with a fast tokenizer)")
    if missing:
        raise ExportError(f"{path}: not a Hugging Face model folder: missing {', '.join(missing)}")
    config = _json_object(path / HF_CONFIG)
    if not isinstance(config.get("model_type"), str):
        raise ExportError(f"{path / HF_CONFIG}: no model_type; is it a transformers config?")
    info = _train_info(path)
    architectures = [str(a) for a in config.get("architectures") or []]
    task: Task = info.task or (
        "text-classification"
        if any(a.endswith("ForSequenceClassification") for a in architectures)
        else "feature-extraction"
    )
    heads = _heads(path, info) if task == "multi-head" else ()
    labels = labels_from_config(config) if task == "text-classification" else ()
    if task == "text-classification" and not labels:
        raise ExportError(f"{path / HF_CONFIG}: id2label missing; a classifier needs label names")
    if info.labels is not None and task == "text-classification" and tuple(info.labels) != labels:
        raise ExportError(
            f"{path}: {TRAIN_INFO} labels {info.labels} differ from {HF_CONFIG} id2label "
            f"{list(labels)}; which order did training use?"
        )
    limit = position_limit(config)
    max_length = info.max_length or min(DEFAULT_MAX_LENGTH, limit or DEFAULT_MAX_LENGTH)
    if limit is not None and max_length > limit:
        raise ExportError(
            f"{path / TRAIN_INFO}: max_length {max_length} is longer than the model's "
            f"{limit} positions"
        )
    pad = config.get("pad_token_id")
    return HfModelDir(
        path=path,
        name=info.name or path.name,
        version=info.version or "unversioned",
        task=task,
        labels=labels,
        max_length=max_length,
        pad_token_id=pad if isinstance(pad, int) else None,
        training=info.model_dump(mode="json", exclude_none=True),
        heads=heads,
    )


def _heads(path: Path, info: TrainInfo) -> tuple[HeadSpec, ...]:
    """The heads `engage-train.json` lists; every graph output is named after its head."""
    if not info.heads:
        raise ExportError(f"{path / TRAIN_INFO}: a multi-head model lists its heads")
    try:
        return tuple(
            HeadSpec(
                name=head.get("name", ""),
                output=head.get("name", ""),
                kind=head.get("kind", "classification"),
                labels=head.get("labels", []),
            )
            for head in info.heads
        )
    except ValidationError as exc:
        raise ExportError(f"{path / TRAIN_INFO}: heads: {exc.errors()[0]['msg']}") from None


def _json_object(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"{file}: not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ExportError(f"{file}: not a JSON object")
    return data


def _train_info(path: Path) -> TrainInfo:
    file = path / TRAIN_INFO
    if not file.is_file():
        return TrainInfo()
    try:
        return TrainInfo.model_validate(_json_object(file))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise ExportError(f"{file}: {problems}") from None
