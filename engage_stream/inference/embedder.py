"""Sentence vectors from a feature-extraction model, for the reply drafter's retrieval.

Mean of the token vectors under the attention mask, L2-normalised, so that a dot
product is the cosine similarity and padding never changes a text's vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

import numpy as np

from engage_stream.inference.model_folder import Precision
from engage_stream.inference.providers import Device, RuntimeChoice
from engage_stream.inference.runner import OnnxRunner
from engage_stream.schemas.actions import ModelStamp

if TYPE_CHECKING:
    from engage_stream.config.settings import Settings


@dataclass(frozen=True, slots=True)
class Embeddings:
    vectors: np.ndarray
    """float32, one unit-length row per text, in input order."""
    truncated: list[bool]
    model: ModelStamp


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(batch, tokens, hidden) and (batch, tokens) -> (batch, hidden), unit length."""
    weights = mask.astype(np.float32)[:, :, None]
    summed = (hidden.astype(np.float32) * weights).sum(axis=1)
    mean = summed / np.maximum(weights.sum(axis=1), 1.0)
    norms = np.linalg.norm(mean, axis=1, keepdims=True)
    result: np.ndarray = (mean / np.maximum(norms, 1e-12)).astype(np.float32)
    return result


class Embedder:
    """`embed` from any thread, `await aembed` from the event loop."""

    def __init__(self, runner: OnnxRunner) -> None:
        self._runner = runner

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        device: Device = "auto",
        batch_max_size: int = 32,
        precision: Precision | None = None,
        threads: int | None = None,
    ) -> Embedder:
        runner = OnnxRunner.open(
            path,
            "feature-extraction",
            device=device,
            precision=precision,
            batch_max_size=batch_max_size,
            threads=threads,
        )
        return cls(runner)

    @classmethod
    def from_settings(cls, settings: Settings, name: str) -> Embedder:
        return cls.load(
            settings.model_dir / name,
            device=settings.device,
            batch_max_size=settings.batch_max_size,
        )

    @property
    def stamp(self) -> ModelStamp:
        return self._runner.stamp

    @property
    def runtime(self) -> RuntimeChoice:
        return self._runner.choice

    def embed(self, texts: Sequence[str]) -> Embeddings:
        if isinstance(texts, str):
            raise TypeError("embed takes a sequence of texts; wrap a single text in a list")
        vectors, truncated = self._runner.run(texts, mean_pool)
        return Embeddings(vectors, truncated, self._runner.stamp)

    async def aembed(self, texts: Sequence[str]) -> Embeddings:
        batch = list(texts) if not isinstance(texts, str) else texts
        return await self._runner.offload(lambda: self.embed(batch))

    def close(self) -> None:
        self._runner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
