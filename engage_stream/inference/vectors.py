"""Sentence vectors of the texts the scorer ran lately, by exact text.

When the drafter's encoder is the very file that scores the events (the multi-head folder
serves the classification heads and the embedding head from one pass), the scoring pass
already computed the question's vector: the drafter reads it here instead of running the
encoder a second time, on the hot path, for every handoff. A text not found here (evicted,
or scored by another folder) is encoded by the drafter as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from engage_stream.schemas.actions import ModelStamp

MIN_KEPT = 8_192
"""Texts kept at least, cache or no cache: the decisions that read a vector run seconds
after the scoring pass that made it, behind whatever backlog the stages have."""


class RecentVectors:
    """A bounded, thread-safe LRU of unit vectors; `stamp` names the model that made them."""

    def __init__(
        self, stamp: ModelStamp, size: int = MIN_KEPT, *, spaces_free: bool = False
    ) -> None:
        self.stamp = stamp
        self.size = max(1, size)
        self.spaces_free = spaces_free
        """The model's tokenizer reads any run of whitespace as one space, so a text and
        its space-normalised form have the same vector."""
        self._rows: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, text: str) -> np.ndarray | None:
        with self._lock:
            row = self._rows.get(text)
            if row is not None:
                self._rows.move_to_end(text)
            return row

    def keep(self, texts: Sequence[str], rows: np.ndarray) -> None:
        """`rows[i]` is the vector of `texts[i]`."""
        with self._lock:
            for text, row in zip(texts, rows, strict=True):
                self._rows[text] = row
                self._rows.move_to_end(text)
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)

    def touch(self, texts: Sequence[str]) -> None:
        """Texts scored again from the score cache: their vectors are recent again."""
        with self._lock:
            for text in texts:
                if text in self._rows:
                    self._rows.move_to_end(text)
