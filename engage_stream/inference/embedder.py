"""Sentence vectors from a feature-extraction model, for the reply drafter's retrieval.

Mean of the token vectors under the attention mask, L2-normalised, so that a dot
product is the cosine similarity and padding never changes a text's vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from engage_stream.inference.engine_model import EngineModel
from engage_stream.schemas.actions import ModelStamp

if TYPE_CHECKING:
    pass


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


class Embedder(EngineModel):
    """`embed` from any thread, `await aembed` from the event loop."""

    task = "feature-extraction"

    def embed(self, texts: Sequence[str]) -> Embeddings:
        if isinstance(texts, str):
            raise TypeError("embed takes a sequence of texts; wrap a single text in a list")
        vectors, truncated = self._runner.run(texts, mean_pool)
        return Embeddings(vectors, truncated, self._runner.stamp)

    async def aembed(self, texts: Sequence[str]) -> Embeddings:
        batch = list(texts) if not isinstance(texts, str) else texts
        return await self._runner.offload(lambda: self.embed(batch))
