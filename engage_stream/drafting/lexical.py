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
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for row, counts in enumerate(counted):
            for gram, weight in self._weights(counts).items():
                self._postings.setdefault(gram, []).append((row, weight))
        self.rows = total

    def _weights(self, counts: Counter[str]) -> dict[str, float]:
        raw = {g: (1.0 + math.log(c)) * self._idf[g] for g, c in counts.items() if g in self._idf}
        norm = math.sqrt(sum(w * w for w in raw.values())) or 1.0
        return {g: w / norm for g, w in raw.items()}

    def scores(self, query: str) -> list[float]:
        """The cosine of `query` with every row, in row order."""
        out = [0.0] * self.rows
        for gram, weight in self._weights(grams(query)).items():
            for row, row_weight in self._postings.get(gram, ()):
                out[row] += weight * row_weight
        return out
