"""The model registry: which model folder serves which head, opened once per folder.

The pipeline needs three classification heads (intent, toxicity, topic) and one embedding
head (retrieval). By default one multi-head folder serves them all from one encoder pass;
a setting can point any role at another folder, say a KLUE RoBERTa fine-tune exported by
optimum, and that role is then served by that folder's own pass, with no code change. Each
distinct folder is opened once, and the roles it serves run together (`HeadGroup` for an
ONNX graph, `GramsGroup` for a character n-gram model, which has no graph).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engage_stream.inference.char_grams import GramsClassifier
from engage_stream.inference.classifier import Classifier, predictions
from engage_stream.inference.model_folder import (
    CHAR_NGRAM,
    EMBEDDING,
    Head,
    ModelFolderError,
    Precision,
    load_model_folder,
)
from engage_stream.inference.providers import Device, RuntimeChoice
from engage_stream.inference.runner import OnnxRunner
from engage_stream.schemas.actions import ModelStamp
from engage_stream.schemas.scores import Prediction

CLASSIFICATION_ROLES = ("intent", "toxicity", "topic")
"""The classification heads the pipeline reads; each names its labels in its manifest."""


@dataclass(frozen=True)
class HeadGroup:
    """Roles served by one open folder, run in one pass of its graph."""

    runner: OnnxRunner
    classifiers: Mapping[str, Classifier]
    """Role -> a view of the head that serves it."""

    @property
    def name(self) -> str:
        return self.runner.folder.name

    @property
    def stamp(self) -> ModelStamp:
        return self.runner.stamp

    @property
    def choice(self) -> RuntimeChoice:
        return self.runner.choice

    @property
    def embedding(self) -> Head | None:
        """The folder's embedding head, when it has one (a multi-head folder)."""
        folder = self.runner.folder
        return folder.head(EMBEDDING) if EMBEDDING in folder.head_names else None

    def predict(self, texts: Sequence[str]) -> dict[str, list[Prediction]]:
        """Every role's predictions for `texts`, from one run of the graph."""
        return self.predict_and_embed(texts, embed=False)[0]

    def predict_and_embed(
        self, texts: Sequence[str], *, embed: bool = True
    ) -> tuple[dict[str, list[Prediction]], np.ndarray | None]:
        """The predictions and, from the same run, the texts' unit sentence vectors (None
        when not asked for or the folder has no embedding head)."""
        heads = list({c.head.name: c.head for c in self.classifiers.values()}.values())
        embedding = self.embedding if embed else None
        if embedding is not None and embedding.name not in {h.name for h in heads}:
            heads.append(embedding)
        rows, truncated = self.runner.run(texts, heads)
        by_role = {
            role: predictions(c.head, rows[c.head.name], truncated, self.stamp)
            for role, c in self.classifiers.items()
        }
        return by_role, rows[embedding.name] if embedding is not None else None

    def close(self) -> None:
        self.runner.close()


@dataclass(frozen=True)
class GramsGroup:
    """Roles served by one character n-gram folder (its one classification head)."""

    model: GramsClassifier
    classifiers: Mapping[str, GramsClassifier]

    @property
    def name(self) -> str:
        return self.model.folder.name

    @property
    def stamp(self) -> ModelStamp:
        return self.model.stamp

    @property
    def choice(self) -> RuntimeChoice:
        return self.model.choice

    def predict(self, texts: Sequence[str]) -> dict[str, list[Prediction]]:
        rows = self.model.predict(texts)
        return dict.fromkeys(self.classifiers, rows)

    def close(self) -> None:
        self.model.close()


Group = HeadGroup | GramsGroup


def _open_grams(folder: Path, roles: list[str]) -> GramsGroup:
    if EMBEDDING in roles:
        raise ModelFolderError(
            folder, "is a character n-gram classifier; it cannot serve the embedding head"
        )
    model = GramsClassifier.load(folder)
    return GramsGroup(model, dict.fromkeys(roles, model))


def open_groups(
    bindings: Mapping[str, Path],
    *,
    device: Device = "auto",
    precision: Precision | None = None,
    batch_max_size: int = 32,
) -> list[Group]:
    """One group per distinct folder in `bindings` (role -> folder), each folder checked to
    have the head its roles need; on any failure the folders opened so far are closed."""
    by_folder: dict[Path, list[str]] = {}
    for role, folder in bindings.items():
        by_folder.setdefault(Path(folder).resolve(), []).append(role)
    groups: list[Group] = []
    try:
        for folder, roles in by_folder.items():
            if load_model_folder(folder).task == CHAR_NGRAM:
                groups.append(_open_grams(folder, roles))
                continue
            runner = OnnxRunner.open(
                folder, device=device, precision=precision, batch_max_size=batch_max_size
            )
            try:
                views = {role: Classifier.on(runner, role) for role in roles}
            except ModelFolderError:
                runner.close()
                raise
            groups.append(HeadGroup(runner, views))
    except Exception:
        for group in groups:
            group.close()
        raise
    return groups


def labels_of(bindings: Mapping[str, Path]) -> dict[str, tuple[str, ...]]:
    """Role -> label names of the head that serves it, from the manifests alone (no model is
    opened): what a policy or a knowledge bank is checked against."""
    return {role: load_model_folder(path).head(role).labels for role, path in bindings.items()}
