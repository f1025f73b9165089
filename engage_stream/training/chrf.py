"""chrF: character n-gram F-score (Popović, 2015), as sacrebleu computes it by default.

Whitespace is removed; for each order n = 1..6 the n-gram counts of hypothesis and
reference are matched (clipped); precision and recall are averaged over the orders that
both sides have, and combined as an F-score with beta = 2 (recall weighs more). A corpus
score sums the counts of all sentences before dividing, so it is not a mean of sentence
scores. Scores are on 0-100.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

ORDER = 6
BETA = 2.0


def _ngrams(text: str, n: int) -> Counter[str]:
    chars = "".join(text.split())
    return Counter(chars[i : i + n] for i in range(len(chars) - n + 1))


def statistics(hypothesis: str, reference: str, order: int = ORDER) -> list[int]:
    """[hyp n-grams, ref n-grams, matches] for n = 1..order, flattened."""
    stats: list[int] = []
    for n in range(1, order + 1):
        hyp, ref = _ngrams(hypothesis, n), _ngrams(reference, n)
        stats += [sum(hyp.values()), sum(ref.values()), sum((hyp & ref).values())]
    return stats


def score_from(stats: Sequence[int], beta: float = BETA) -> float:
    precision = recall = 0.0
    effective = 0
    for i in range(0, len(stats), 3):
        hyp, ref, match = stats[i : i + 3]
        if hyp > 0 and ref > 0:
            precision += match / hyp
            recall += match / ref
            effective += 1
    if effective == 0:
        return 0.0
    precision, recall = precision / effective, recall / effective
    if precision + recall == 0:
        return 0.0
    factor = beta**2
    return 100 * (1 + factor) * precision * recall / (factor * precision + recall)


def sentence_chrf(hypothesis: str, reference: str) -> float:
    return score_from(statistics(hypothesis, reference))


def corpus_chrf(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    total = [0] * (3 * ORDER)
    for hyp, ref in zip(hypotheses, references, strict=True):
        total = [a + b for a, b in zip(total, statistics(hyp, ref), strict=True)]
    return score_from(total)
