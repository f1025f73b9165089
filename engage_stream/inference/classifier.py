"""Text classification (intent, toxicity): label, score and every label's score per text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from engage_stream.inference.engine_model import EngineModel
from engage_stream.inference.runner import OnnxRunner
from engage_stream.schemas.actions import ModelStamp

if TYPE_CHECKING:
    pass


@dataclass(frozen=True, slots=True)
class Prediction:
    label: str
    score: float
    scores: Mapping[str, float]
    truncated: bool
    """The model saw only the first `max_length` tokens of the text."""
    model: ModelStamp


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return result


def _logits(output: np.ndarray, _: np.ndarray) -> np.ndarray:
    return output


class Classifier(EngineModel):
    """`predict` from any thread, `await apredict` from the event loop; results in input
    order. Empty, enormous and non-Korean texts get a result like any other text.

    int8 quantises activations per batch, so its scores move slightly (about 0.01 on the
    test model) with the other texts in a batch; fp32 (`precision="fp32"`) does not, for
    a replay that must match another run exactly."""

    task = "text-classification"

    def __init__(self, runner: OnnxRunner) -> None:
        super().__init__(runner)
        self.labels = runner.folder.labels

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if isinstance(texts, str):
            raise TypeError("predict takes a sequence of texts; wrap a single text in a list")
        if not texts:
            return []
        logits, truncated = self._runner.run(texts, _logits)
        probabilities = softmax(logits.astype(np.float64))
        best = probabilities.argmax(axis=1)
        stamp = self._runner.stamp
        return [
            Prediction(
                label=self.labels[int(top)],
                score=float(row[top]),
                scores=dict(zip(self.labels, row.tolist(), strict=True)),
                truncated=cut,
                model=stamp,
            )
            for row, top, cut in zip(probabilities, best, truncated, strict=True)
        ]

    async def apredict(self, texts: Sequence[str]) -> list[Prediction]:
        """`predict` on the model's own thread; the event loop keeps serving meanwhile."""
        batch = list(texts) if not isinstance(texts, str) else texts
        return await self._runner.offload(lambda: self.predict(batch))
