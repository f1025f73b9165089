"""The built knowledge bank: the shop's answers, indexed for retrieval, stamped.

`engage-stream bank build FILE` checks the shop's bank file (`bank_file`), embeds every
example question and title with the shipped encoder (no retraining), and writes a folder:

    bank.yaml     the shop's file, as it was checked
    vectors.npy   float32 unit rows, one per example question or title, answers in order
    bank.json     manifest: the encoder that made the rows (name, version, sha256,
                  precision), the topic labels checked against, the retrieval weights,
                  and the sha256 of every file

The engine loads the folder, checks every file against the manifest, and stamps every
draft and suggestion with the bank's name, version and the sha256 of `bank.json` (which
holds the others'), so an answer can be traced to the exact text the shop approved.

Retrieval scores an answer by the best of its rows: a weighted sum of the n-gram cosine
(`lexical`) and the embedding cosine (`dense`), plus a bonus when the answer's topic is
the topic model's label for the question, weighted by the model's confidence.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engage_stream.drafting.bank_file import Answer, BankError, BankFile, load_bank_file
from engage_stream.drafting.lexical import LexicalIndex
from engage_stream.inference.embedder import Embeddings
from engage_stream.inference.model_folder import Precision, sha256_of
from engage_stream.schemas.actions import ModelStamp

MANIFEST = "bank.json"
SOURCE = "bank.yaml"
VECTORS = "vectors.npy"


class Encoder(Protocol):
    @property
    def stamp(self) -> ModelStamp: ...

    def embed(self, texts: Sequence[str]) -> Embeddings: ...


class Retrieval(BaseModel):
    """How an answer's score is made; kept in the manifest so every run scores alike."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Defaults: the grid `engage-stream bench drafter` tunes on its tuning half, with the
    # shipped heads (benchmarks/drafter.md); re-run it after changing the bank or a model.
    lexical_weight: float = Field(0.7, ge=0, le=1)
    dense_weight: float = Field(0.3, ge=0, le=1)
    topic_weight: float = Field(0.2, ge=0, le=1)
    order_weight: float = Field(
        0.0, ge=0, le=1, description="Bonus for an answer that speaks of the customer's order."
    )
    min_score: float = Field(0.35, ge=0, le=3, description="Below it, no answer fits.")


class EncoderInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    precision: Precision


class BankManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: Literal[1] = 1
    name: str
    version: str
    answers: int = Field(ge=1)
    rows: int = Field(ge=1)
    dim: int = Field(ge=1)
    encoder: EncoderInfo | None = Field(description="None: lexical retrieval only.")
    topics: list[str] = Field(description="The topic labels the bank was checked against.")
    topic_model: str = Field(description="Name and version of the topic model.")
    retrieval: Retrieval
    sha256: dict[str, str]
    built_at: str


@dataclass(frozen=True, slots=True)
class Scored:
    answer: Answer
    score: float


def rows_of(answers: Sequence[Answer]) -> tuple[list[str], list[int]]:
    """The texts retrieval compares a question with, and the answer each belongs to."""
    texts: list[str] = []
    owners: list[int] = []
    for index, answer in enumerate(answers):
        keys = [*answer.questions, answer.title]
        texts += keys
        owners += [index] * len(keys)
    return texts, owners


class KnowledgeBank:
    def __init__(
        self,
        path: Path,
        manifest: BankManifest,
        bank: BankFile,
        vectors: np.ndarray | None,
        stamp: ModelStamp,
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.file = bank
        self.answers = bank.answers
        self.retrieval = manifest.retrieval
        self.vectors = vectors
        self.stamp = stamp
        texts, owners = rows_of(bank.answers)
        # Rows come answer by answer, each answer with at least its title: an answer's
        # best row is a max over its run of rows.
        self._starts = np.flatnonzero(np.diff(np.asarray(owners), prepend=-1))
        self._topics = np.asarray([answer.topic for answer in bank.answers], dtype=object)
        self._about_order = np.asarray([answer.order is not None for answer in bank.answers])
        self._lexical = LexicalIndex(texts)

    @property
    def encoder(self) -> EncoderInfo | None:
        return self.manifest.encoder

    @classmethod
    def load(cls, path: Path) -> KnowledgeBank:
        path = Path(path)
        if not (path / MANIFEST).is_file():
            raise BankError(path, [f"{MANIFEST} missing: build it with `engage-stream bank build`"])
        try:
            manifest = BankManifest.model_validate_json((path / MANIFEST).read_bytes())
        except ValidationError as exc:
            raise BankError(path, [f"{MANIFEST}: {exc.errors()[0]['msg']}"]) from None
        for name, expected in manifest.sha256.items():
            file = path / name
            if not file.is_file() or sha256_of(file) != expected:
                raise BankError(path, [f"{name} missing or changed since the build; build again"])
        bank = load_bank_file(path / SOURCE, manifest.topics)
        vectors = None
        if manifest.encoder is not None:
            vectors = np.load(path / VECTORS, allow_pickle=False)
            if vectors.shape != (manifest.rows, manifest.dim) or vectors.dtype != np.float32:
                raise BankError(path, [f"{VECTORS} is {vectors.dtype} {vectors.shape}"])
        stamp = ModelStamp(
            name=manifest.name, version=manifest.version, sha256=sha256_of(path / MANIFEST)
        )
        return cls(path, manifest, bank, vectors, stamp)

    def rank(
        self,
        question: str,
        vector: np.ndarray | None = None,
        topic: tuple[str, float] | None = None,
        ordered: bool = False,
    ) -> list[Scored]:
        """Every answer, best first. `vector`: the question's embedding (None: lexical
        only, e.g. when the encoder missed its deadline); `topic`: the topic model's label
        and score for the question; `ordered`: the customer has an order on record."""
        return list(self.ranked(question, vector, topic, ordered))

    def ranked(
        self,
        question: str,
        vector: np.ndarray | None = None,
        topic: tuple[str, float] | None = None,
        ordered: bool = False,
    ) -> Iterator[Scored]:
        """`rank`, one answer at a time: a draft reads the first few of them."""
        weights = self.retrieval
        rows = self._lexical.score_array(question).astype(np.float32)
        if vector is not None and self.vectors is not None:
            rows = weights.lexical_weight * rows + weights.dense_weight * (self.vectors @ vector)
        else:
            rows = (weights.lexical_weight + weights.dense_weight) * rows
        scores = np.maximum.reduceat(rows, self._starts).astype(np.float32).astype(np.float64)
        if topic is not None:
            bonus = weights.topic_weight * topic[1]
            scores = np.where(self._topics == topic[0], scores + bonus, scores)
        if ordered:
            scores = np.where(self._about_order, scores + weights.order_weight, scores)
        rounded = rounded_scores(scores)
        best_first = sorted(range(len(rounded)), key=rounded.__getitem__, reverse=True)
        answers = self.answers
        for index in best_first:
            yield Scored(answers[index], rounded[index])


def rounded_scores(scores: np.ndarray) -> list[float]:
    """`round(score, 4)` of each score, as Python rounds, without its cost per value.
    numpy's scaled `rint` gives the same double except where the scaled score lies within
    float error of a half (Python rounds the exact binary value), so those few, and any
    value not finite, are rounded by Python."""
    scaled = scores * 1e4
    with np.errstate(invalid="ignore"):  # an infinite score is among the doubtful
        doubtful = ~np.isfinite(scaled) | (np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6)
    values: list[float] = (np.rint(scaled) / 1e4).tolist()
    for index in np.flatnonzero(doubtful).tolist():
        values[index] = round(float(scores[index]), 4)
    return values


@dataclass(frozen=True, slots=True)
class BuildReport:
    out_dir: Path
    answers: int
    rows: int
    encoder: EncoderInfo | None
    sha256: str


def build_bank(
    source: Path,
    out_dir: Path,
    *,
    topics: Sequence[str],
    topic_model: str,
    encoder: Encoder | None,
    precision: Precision | None = None,
    retrieval: Retrieval | None = None,
) -> BuildReport:
    """Check `source` against the topic labels, embed its rows, write the folder (built
    beside the target and moved into place only when complete)."""
    bank = load_bank_file(source, topics)
    texts, _ = rows_of(bank.answers)
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file():
        raise BankError(out_dir, ["exists and is not a built bank; give a new or empty folder"])
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.build-", dir=out_dir.parent))
    staging.chmod(0o755)
    try:
        shutil.copyfile(source, staging / SOURCE)
        info: EncoderInfo | None = None
        dim = 1
        if encoder is not None:
            embedded = encoder.embed(texts)
            np.save(staging / VECTORS, embedded.vectors.astype(np.float32), allow_pickle=False)
            dim = int(embedded.vectors.shape[1])
            info = EncoderInfo(
                name=encoder.stamp.name,
                version=encoder.stamp.version,
                sha256=encoder.stamp.sha256,
                precision=precision or "int8",
            )
        files = sorted(p.name for p in staging.iterdir())
        manifest = BankManifest(
            name=bank.spec.name,
            version=bank.spec.version,
            answers=len(bank.answers),
            rows=len(texts),
            dim=dim,
            encoder=info,
            topics=list(topics),
            topic_model=topic_model,
            retrieval=retrieval or Retrieval(),
            sha256={name: sha256_of(staging / name) for name in files},
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", "utf-8")
        digest = hashlib.sha256((staging / MANIFEST).read_bytes()).hexdigest()
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BuildReport(out_dir, len(bank.answers), len(texts), info, digest)
