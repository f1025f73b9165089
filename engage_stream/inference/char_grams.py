"""A linear classifier over character n-grams: a topic head with no encoder.

Korean shop questions are told apart by their content words (배송, 환불, 영수증, 적립금),
which survive spacing mistakes, typos in other syllables and any register. On the sample
shop's topics this model beats the small encoder's topic head on both the validation split
and the independent check file (`benchmarks/topics.md`) at a fraction of the encoder's cost
per text, so the registry serves `topic` from it by default; the encoder's head stays
selectable.

Features are the 1- to 3-character pieces of the text's letters and digits with spaces
removed ("배송언제" and "배송 언제" match), weighted by sublinear term frequency times
smoothed inverse document frequency, each row of unit length: the features scikit-learn's
`TfidfVectorizer` computes with this analyzer, so a model trained there is served here with
numpy alone (parity checked when training writes the folder).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np

from engage_stream.inference.classifier import predictions
from engage_stream.inference.model_folder import (
    CHAR_NGRAM,
    ModelFolder,
    ModelFolderError,
    load_model_folder,
    verify_checksum,
)
from engage_stream.inference.providers import RuntimeChoice
from engage_stream.observability.logs import get_logger
from engage_stream.schemas.actions import ModelStamp
from engage_stream.schemas.scores import Prediction

log = get_logger("engage.inference")

_NOISE = re.compile(r"[^0-9A-Za-z가-힣]+")
GRAMS_FILE = "grams.npz"


def squeeze(text: str) -> str:
    """Lower-cased letters and digits only: spacing and punctuation do not count."""
    return _NOISE.sub("", text.lower())


def gram_list(text: str, orders: Iterable[int]) -> list[str]:
    """The text's character n-grams of each order in turn, spaces removed, repeats kept; a
    text shorter than every order is its own gram."""
    squeezed = squeeze(text)
    grams = [squeezed[i : i + n] for n in orders for i in range(len(squeezed) - n + 1)]
    if not grams and squeezed:
        return [squeezed]
    return grams


def char_grams(text: str, orders: Iterable[int]) -> Counter[str]:
    """Counts of `gram_list`: what scikit-learn's vectorizer is given as the analyzer."""
    return Counter(gram_list(text, orders))


@dataclass(frozen=True)
class GramsModel:
    """Vocabulary, idf and weights: logits = W · tfidf(text) + b."""

    orders: tuple[int, ...]
    vocabulary: dict[str, int]
    idf: np.ndarray
    """(V,) float32."""
    weights: np.ndarray
    """(V, labels) float32."""
    bias: np.ndarray
    """(labels,) float32."""

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """(texts, labels) float32, the whole batch at once: Python only cuts the grams and
        looks them up; counting, weighting and the products are numpy's."""
        get, size = self.vocabulary.get, len(self.vocabulary)
        ids: list[int] = []
        lengths: list[int] = []
        for text in texts:
            grams = gram_list(text, self.orders)
            ids.extend(map(get, grams, repeat(-1)))
            lengths.append(len(grams))
        out = np.tile(self.bias, (len(texts), 1))
        found = np.asarray(ids, dtype=np.int64)
        rows = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        known = found >= 0
        if not known.any():
            return out
        keys, tf = np.unique(rows[known] * size + found[known], return_counts=True)
        row, index = keys // size, keys % size
        values = (1.0 + np.log(tf.astype(np.float32))) * self.idf[index]
        norms = np.sqrt(np.bincount(row, weights=values * values, minlength=len(texts)))
        values /= norms[row].astype(np.float32)
        # Keys are sorted, so each row's grams are one run: sum the runs.
        starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        out[row[starts]] += np.add.reduceat(values[:, None] * self.weights[index], starts, axis=0)
        return out

    def save(self, path: Path) -> None:
        grams = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        with path.open("wb") as handle:
            np.savez(
                handle,
                grams=np.array(grams, dtype=np.str_),
                orders=np.array(self.orders, dtype=np.int64),
                idf=self.idf.astype(np.float32),
                weights=self.weights.astype(np.float32),
                bias=self.bias.astype(np.float32),
            )

    @classmethod
    def load(cls, path: Path) -> GramsModel:
        with np.load(path, allow_pickle=False) as data:
            grams = data["grams"].tolist()
            model = cls(
                orders=tuple(int(n) for n in data["orders"]),
                vocabulary={g: i for i, g in enumerate(grams)},
                idf=data["idf"].astype(np.float32),
                weights=data["weights"].astype(np.float32),
                bias=data["bias"].astype(np.float32),
            )
        vocab, width = len(grams), model.bias.shape[0]
        if model.idf.shape != (vocab,) or model.weights.shape != (vocab, width):
            raise ValueError(
                f"shapes disagree: {vocab} grams, idf {model.idf.shape}, "
                f"weights {model.weights.shape}, bias {model.bias.shape}"
            )
        return model


class GramsClassifier:
    """A served char n-gram folder: `predict` like `Classifier`, stamped with the sha256 of
    its weights file. Pure numpy, so it is thread-safe and needs no session."""

    def __init__(self, folder: ModelFolder, model: GramsModel, sha256: str) -> None:
        self.folder = folder
        self.model = model
        self.head = folder.heads[0]
        self.labels = self.head.labels
        self.stamp = ModelStamp(name=folder.name, version=folder.version, sha256=sha256)
        weights = folder.weight_files["fp32"]
        self.choice = RuntimeChoice(
            device="cpu",
            provider="numpy",
            precision="fp32",
            file=weights,
            reason="character n-gram linear model: numpy on the CPU",
            threads=1,
        )

    @classmethod
    def load(cls, path: Path) -> GramsClassifier:
        folder = load_model_folder(path)
        if folder.task != CHAR_NGRAM:
            raise ModelFolderError(folder.path, f"is a {folder.task} model, not {CHAR_NGRAM}")
        if "fp32" not in folder.weight_files:
            raise ModelFolderError(folder.path, f"names no weights file (files.fp32: {GRAMS_FILE})")
        weights = folder.weight_files["fp32"]
        sha = verify_checksum(folder, weights)
        try:
            model = GramsModel.load(weights)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelFolderError(folder.path, f"{weights.name} is not readable: {exc}") from None
        if model.bias.shape[0] != len(folder.labels):
            raise ModelFolderError(
                folder.path,
                f"{weights.name} scores {model.bias.shape[0]} labels but the manifest names "
                f"{len(folder.labels)}",
            )
        classifier = cls(folder, model, sha)
        log.info(
            "model_loaded",
            model=folder.name,
            version=folder.version,
            task=folder.task,
            device="cpu",
            provider="numpy",
            file=weights.name,
            grams=len(model.vocabulary),
            labels=len(folder.labels),
            path=str(folder.path),
        )
        return classifier

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if isinstance(texts, str):
            raise TypeError("predict takes a sequence of texts; wrap a single text in a list")
        if not texts:
            return []
        limit = self.folder.max_length
        cut = [text[:limit] if len(text) > limit else text for text in texts]
        truncated = [len(text) > limit for text in texts]
        return predictions(self.head, self.model.logits(cut), truncated, self.stamp)

    def close(self) -> None:
        """Nothing to release: weights are plain arrays."""
