"""What a model folder holds, read and checked before any session is opened.

Two layouts load: our own (`engage-model.json` names the files, labels and checksums, see
`ModelManifest`) and a plain optimum export (`model.onnx`, `tokenizer.json`, `config.json`,
perhaps a `*quantized*.onnx`), so that a larger pre-trained model can be swapped in
without code changes. Every problem is a `ModelFolderError` naming the folder and what is
wrong, raised at load, never at the first message.

A folder serves one or more heads, each an output of its ONNX graph: a classifier has one
(`logits`), a feature-extraction model one embedding (`last_hidden_state`, mean-pooled by
the engine), and a multi-head model (task `multi-head`) one output per head of one shared
encoder pass, each named and labelled in the manifest. A character n-gram model (task
`char-ngram-classification`) has no graph and no tokenizer: one weights file read by
`inference.char_grams`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

MANIFEST = "engage-model.json"
TOKENIZER = "tokenizer.json"
HF_CONFIG = "config.json"
DEFAULT_MAX_LENGTH = 128
EMBEDDING = "embedding"
"""The role of the head that gives sentence vectors (retrieval)."""
FORMAT_VERSION: Literal[1] = 1

Task = Literal[
    "text-classification", "feature-extraction", "multi-head", "char-ngram-classification"
]
CHAR_NGRAM: Task = "char-ngram-classification"
HeadKind = Literal["classification", "embedding"]
Precision = Literal["fp32", "int8", "fp16"]
PRECISIONS: tuple[Precision, ...] = ("fp32", "int8", "fp16")
# The manifest's file names are plain names inside the folder, never paths out of it.
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ROBERTA_LIKE = frozenset({"roberta", "xlm-roberta", "camembert"})
_HEAD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class ModelFolderError(Exception):
    """A model folder that cannot be served; the message names the folder and the fault."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"model folder {path}: {problem}")
        self.path = path
        self.problem = problem


class HeadSpec(BaseModel):
    """One head of a multi-head model: the graph output that gives it, and its labels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_HEAD_NAME.pattern, description="intent, toxicity, topic, ...")
    output: str = Field(min_length=1, max_length=100, description="ONNX output name.")
    kind: HeadKind
    labels: list[str] = Field(default_factory=list, description="In logit index order.")

    @model_validator(mode="after")
    def _labelled(self) -> Self:
        if self.kind == "classification" and len(self.labels) < 2:
            raise ValueError(f"head {self.name}: a classification head needs its label names")
        if self.kind == "embedding" and self.labels:
            raise ValueError(f"head {self.name}: an embedding head has no labels")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"head {self.name}: labels repeat: {self.labels}")
        return self


class ModelManifest(BaseModel):
    """`engage-model.json`, written by `engage-stream export` and read at load."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: Literal[1] = FORMAT_VERSION
    name: str = Field(min_length=1, max_length=100)
    version: str = Field(min_length=1, max_length=100)
    task: Task
    labels: list[str] = Field(default_factory=list, description="In logit index order.")
    heads: list[HeadSpec] = Field(
        default_factory=list, description="A multi-head model's heads, one graph output each."
    )
    max_length: int = Field(ge=2, le=8192, description="Tokens, special tokens included.")
    files: dict[Precision, str] = Field(
        min_length=1, description="Precision -> ONNX file (a char n-gram model: its weights)."
    )
    sha256: dict[str, str] = Field(description="File name -> sha256 of every file exported.")
    training: dict[str, Any] = Field(
        default_factory=dict, description="engage-train.json as training wrote it."
    )
    export: dict[str, Any] = Field(
        default_factory=dict, description="How the export was made: versions, parity numbers."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.task in ("text-classification", CHAR_NGRAM) and not self.labels:
            raise ValueError(f"labels missing: a {self.task} model needs its label names")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels repeat: {self.labels}")
        if (self.task == "multi-head") != bool(self.heads):
            raise ValueError("heads are listed exactly when the task is multi-head")
        for attribute in ("name", "output"):
            values = [getattr(h, attribute) for h in self.heads]
            if len(set(values)) != len(values):
                raise ValueError(f"head {attribute}s repeat: {values}")
        names = [*self.files.values(), *self.sha256]
        bad = [n for n in names if not _is_plain_name(n)]
        if bad:
            raise ValueError(f"file names must be plain names inside the folder: {bad}")
        return self


def _is_plain_name(name: str) -> bool:
    return _FILE_NAME.match(name) is not None


@dataclass(frozen=True, slots=True)
class Head:
    """What one output of the graph means."""

    name: str
    output: str
    kind: HeadKind
    labels: tuple[str, ...] = ()
    pooled: bool = True
    """False for `last_hidden_state`: the engine mean-pools it into one vector per text."""


@dataclass(frozen=True, slots=True)
class ModelFolder:
    """A checked model folder: enough to open a session and a tokenizer."""

    path: Path
    name: str
    version: str
    task: Task
    labels: tuple[str, ...]
    max_length: int
    weight_files: Mapping[Precision, Path]
    checksums: Mapping[str, str]
    pad_token_id: int | None
    has_manifest: bool
    heads: tuple[Head, ...] = ()

    @property
    def tokenizer_file(self) -> Path:
        return self.path / TOKENIZER

    @property
    def head_names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.heads)

    def head(self, role: str) -> Head:
        """The head that serves `role` (intent, toxicity, topic, embedding): the head of
        that name in a multi-head folder, the folder's only head otherwise."""
        if self.task != "multi-head":
            (only,) = self.heads
            wanted: HeadKind = "embedding" if role == EMBEDDING else "classification"
            if only.kind != wanted:
                loader = "Embedder" if only.kind == "embedding" else "Classifier"
                raise ModelFolderError(
                    self.path,
                    f"is a {self.task} model; it cannot serve the {role} head "
                    f"(load it with {loader})",
                )
            return only
        for head in self.heads:
            if head.name == role:
                return head
        raise ModelFolderError(
            self.path, f"has no {role!r} head (its heads: {', '.join(self.head_names)})"
        )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_checksum(folder: ModelFolder, file: Path) -> str:
    """The file's sha256, checked against the manifest so a stamp names the bytes served."""
    actual = sha256_of(file)
    expected = folder.checksums.get(file.name)
    if expected is not None and expected != actual:
        raise ModelFolderError(
            folder.path,
            f"{file.name} does not match its sha256 in {MANIFEST} (file changed after export; "
            "export the model again)",
        )
    return actual


def load_model_folder(path: Path) -> ModelFolder:
    """Read and check a model folder, ours or a plain optimum export."""
    path = Path(path)
    if not path.is_dir():
        raise ModelFolderError(path, "not found (no such folder); check ENGAGE_MODEL_DIR")
    config = _read_json(path, HF_CONFIG, required=False)
    if (path / MANIFEST).is_file():
        folder = _from_manifest(path, config)
    else:
        folder = _from_optimum_export(path, config)
    if folder.task != CHAR_NGRAM and not folder.tokenizer_file.is_file():
        raise ModelFolderError(path, f"{TOKENIZER} missing")
    return folder


def _read_json(folder: Path, name: str, *, required: bool) -> dict[str, Any]:
    file = folder / name
    if not file.is_file():
        if required:
            raise ModelFolderError(folder, f"{name} missing")
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFolderError(folder, f"{name} is not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ModelFolderError(folder, f"{name} is not a JSON object")
    return data


def _from_manifest(path: Path, config: dict[str, Any]) -> ModelFolder:
    try:
        manifest = ModelManifest.model_validate(_read_json(path, MANIFEST, required=True))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'manifest'}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors(include_url=False)
        )
        raise ModelFolderError(path, f"{MANIFEST} is invalid: {problems}") from None
    files: dict[Precision, Path] = {}
    for precision, name in manifest.files.items():
        if not (path / name).is_file():
            raise ModelFolderError(path, f"{name} missing ({precision} file named in {MANIFEST})")
        files[precision] = path / name
    if manifest.task == "multi-head":
        heads = tuple(
            Head(name=h.name, output=h.output, kind=h.kind, labels=tuple(h.labels))
            for h in manifest.heads
        )
    else:
        heads = (single_head(manifest.task, tuple(manifest.labels)),)
    return ModelFolder(
        path=path,
        name=manifest.name,
        version=manifest.version,
        task=manifest.task,
        labels=tuple(manifest.labels),
        max_length=manifest.max_length,
        weight_files=files,
        checksums=dict(manifest.sha256),
        pad_token_id=_int_or_none(config.get("pad_token_id")),
        has_manifest=True,
        heads=heads,
    )


def single_head(task: Task, labels: tuple[str, ...]) -> Head:
    """The one head of a classifier, a char n-gram model or a feature-extraction model."""
    if task in ("text-classification", CHAR_NGRAM):
        return Head(name="logits", output="logits", kind="classification", labels=labels)
    return Head(name=EMBEDDING, output="last_hidden_state", kind="embedding", pooled=False)


def _from_optimum_export(path: Path, config: dict[str, Any]) -> ModelFolder:
    if not config:
        raise ModelFolderError(path, f"{HF_CONFIG} missing (and no {MANIFEST})")
    files = find_onnx_files(path)
    if not files:
        raise ModelFolderError(path, f"model.onnx missing (no *.onnx file and no {MANIFEST})")
    architectures = config.get("architectures") or []
    task: Task = (
        "text-classification"
        if any(str(a).endswith("ForSequenceClassification") for a in architectures)
        else "feature-extraction"
    )
    labels = labels_from_config(config) if task == "text-classification" else ()
    if task == "text-classification" and not labels:
        raise ModelFolderError(path, f"labels missing: {HF_CONFIG} has no id2label")
    limit = position_limit(config)
    return ModelFolder(
        path=path,
        name=path.name,
        version="unversioned",
        task=task,
        labels=labels,
        max_length=min(DEFAULT_MAX_LENGTH, limit) if limit else DEFAULT_MAX_LENGTH,
        weight_files=files,
        checksums={},
        pad_token_id=_int_or_none(config.get("pad_token_id")),
        has_manifest=False,
        heads=(single_head(task, labels),),
    )


def find_onnx_files(path: Path) -> dict[Precision, Path]:
    """optimum's names: model.onnx, *quantized*.onnx for int8, *fp16*.onnx if there is one."""
    onnx = sorted(p for p in path.glob("*.onnx") if p.is_file())
    found: dict[Precision, Path] = {}
    if (path / "model.onnx").is_file():
        found["fp32"] = path / "model.onnx"
    quantized = [p for p in onnx if "quantized" in p.name or "int8" in p.name]
    if quantized:
        found["int8"] = quantized[0]
    half = [p for p in onnx if "fp16" in p.name]
    if half:
        found["fp16"] = half[0]
    if not found and onnx:
        found["fp32"] = onnx[0]
    return found


def labels_from_config(config: Mapping[str, Any]) -> tuple[str, ...]:
    """`id2label` in index order; empty when absent or not indexed 0..n-1."""
    id2label = config.get("id2label")
    if not isinstance(id2label, dict) or not id2label:
        return ()
    try:
        indexed = {int(k): str(v) for k, v in id2label.items()}
    except (TypeError, ValueError):
        return ()
    if sorted(indexed) != list(range(len(indexed))):
        return ()
    return tuple(indexed[i] for i in range(len(indexed)))


def position_limit(config: Mapping[str, Any]) -> int | None:
    """Longest input the position embeddings allow (RoBERTa-style models lose two)."""
    limit = _int_or_none(config.get("max_position_embeddings"))
    if limit is None:
        return None
    return limit - 2 if config.get("model_type") in _ROBERTA_LIKE else limit


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
