"""Character n-gram TF-IDF retrieval in plain Python: no model, no scikit-learn at run time.

Korean chat spacing is unreliable and words carry particles and endings, so texts are
compared by the 1- and 2-character pieces of their letters with spaces removed ("배송언제"
and "배송 언제" match; "환불은" and "환불이" share "환불"). Weights are sublinear term
frequency times smoothed inverse document frequency, rows unit length, scores cosines.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from engage_stream.inference.char_grams import char_grams

ORDERS = (1, 2)


def grams(text: str) -> Counter[str]:
    return char_grams(text, ORDERS)


class LexicalIndex:
    """Rows of text, searchable by cosine of their n-gram TF-IDF vectors."""

    def __init__(self, rows: Sequence[str]) -> None:
        counted = [grams(row) for row in rows]
        frequency: Counter[str] = Counter()
        for counts in counted:
            frequency.update(counts.keys())
        total = len(rows)
        self._idf = {g: math.log((1 + total) / (1 + df)) + 1.0 for g, df in frequency.items()}
        postings: dict[str, list[tuple[int, float]]] = {}
        for row, counts in enumerate(counted):
            for gram, weight in self._weights(counts).items():
                postings.setdefault(gram, []).append((row, weight))
        # Arrays per gram: a query's scores are one weighted count over its grams' rows.
        self._postings = {
            gram: (
                np.fromiter((r for r, _ in entries), dtype=np.intp, count=len(entries)),
                np.fromiter((w for _, w in entries), dtype=np.float64, count=len(entries)),
            )
            for gram, entries in postings.items()
        }
        self.rows = total

    def _weights(self, counts: Counter[str]) -> dict[str, float]:
        raw = {g: (1.0 + math.log(c)) * self._idf[g] for g, c in counts.items() if g in self._idf}
        norm = math.sqrt(sum(w * w for w in raw.values())) or 1.0
        return {g: w / norm for g, w in raw.items()}

    def scores(self, query: str) -> list[float]:
        """The cosine of `query` with every row, in row order."""
        return self.score_array(query).tolist()  # type: ignore[no-any-return]

    def score_array(self, query: str) -> np.ndarray:
        """`scores` as an array (float64)."""
        rows: list[np.ndarray] = []
        contributions: list[np.ndarray] = []
        for gram, weight in self._weights(grams(query)).items():
            found = self._postings.get(gram)
            if found is not None:
                rows.append(found[0])
                contributions.append(weight * found[1])
        if not rows:
            return np.zeros(self.rows)
        # bincount adds each row's contributions in the order given: the same sums, in
        # the same order, as adding them one by one.
        return np.bincount(
            np.concatenate(rows), weights=np.concatenate(contributions), minlength=self.rows
        )
