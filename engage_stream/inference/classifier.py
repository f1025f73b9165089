"""Text classification (intent, toxicity, topic): label, score and every label's score."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engage_stream.inference.engine_model import EngineModel
from engage_stream.inference.model_folder import Head
from engage_stream.inference.runner import OnnxRunner
from engage_stream.schemas.actions import ModelStamp
from engage_stream.schemas.scores import Prediction


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return result


def predictions(
    head: Head, logits: np.ndarray, truncated: Sequence[bool], stamp: ModelStamp
) -> list[Prediction]:
    """Softmax of one head's logits, one `Prediction` per row."""
    probabilities = softmax(logits.astype(np.float64))
    best = probabilities.argmax(axis=1)
    return [
        Prediction(
            label=head.labels[int(top)],
            score=float(row[top]),
            scores=dict(zip(head.labels, row.tolist(), strict=True)),
            truncated=cut,
            model=stamp,
        )
        for row, top, cut in zip(probabilities, best, truncated, strict=True)
    ]


class Classifier(EngineModel):
    """`predict` from any thread, `await apredict` from the event loop; results in input
    order. Empty, enormous and non-Korean texts get a result like any other text.

    `head` picks a head of a multi-head folder (intent, toxicity, topic); a classifier
    folder has one head and serves any role.

    int8 quantises activations per batch, so its scores move slightly (about 0.01 on the
    test model) with the other texts in a batch; fp32 (`precision="fp32"`) does not, for
    a replay that must match another run exactly."""

    kind = "classification"

    def __init__(self, runner: OnnxRunner, head: Head) -> None:
        super().__init__(runner, head)
        self.labels = head.labels

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if isinstance(texts, str):
            raise TypeError("predict takes a sequence of texts; wrap a single text in a list")
        if not texts:
            return []
        rows, truncated = self._runner.run(texts, [self.head])
        return predictions(self.head, rows[self.head.name], truncated, self._runner.stamp)

    async def apredict(self, texts: Sequence[str]) -> list[Prediction]:
        """`predict` on the model's own thread; the event loop keeps serving meanwhile."""
        batch = list(texts) if not isinstance(texts, str) else texts
        return await self._runner.offload(lambda: self.predict(batch))
