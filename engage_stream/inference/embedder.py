"""Sentence vectors, for the reply drafter's retrieval.

From a feature-extraction model: the mean of the token vectors under the attention mask;
from a multi-head model: its `embedding` head (the same mean, pooled inside the graph).
Rows are L2-normalised, so a dot product is the cosine similarity and padding never
changes a text's vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engage_stream.inference.engine_model import EngineModel
from engage_stream.inference.runner import mean_pool
from engage_stream.schemas.actions import ModelStamp

__all__ = ["Embedder", "Embeddings", "mean_pool"]


@dataclass(frozen=True, slots=True)
class Embeddings:
    vectors: np.ndarray
    """float32, one unit-length row per text, in input order."""
    truncated: list[bool]
    model: ModelStamp


class Embedder(EngineModel):
    """`embed` from any thread, `await aembed` from the event loop."""

    kind = "embedding"

    def embed(self, texts: Sequence[str]) -> Embeddings:
        if isinstance(texts, str):
            raise TypeError("embed takes a sequence of texts; wrap a single text in a list")
        rows, truncated = self._runner.run(texts, [self.head])
        return Embeddings(rows[self.head.name], truncated, self._runner.stamp)

    async def aembed(self, texts: Sequence[str]) -> Embeddings:
        batch = list(texts) if not isinstance(texts, str) else texts
        return await self._runner.offload(lambda: self.embed(batch))
