"""A fixed-seed validation split cut from the training data, stratified by label.

The split is made over distinct texts, so a sentence that occurs twice can never sit on both
sides (3i4K has repeated short fragments); duplicates keep their majority label.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from engage_stream.training.corpora import Corpus

DEFAULT_SEED = 20261126
DEFAULT_VALIDATION_FRACTION = 0.1


@dataclass(frozen=True)
class Split:
    train_texts: list[str]
    train_labels: list[int]
    val_texts: list[str]
    val_labels: list[int]
    seed: int
    dropped_duplicates: int


def split(
    corpus: Corpus,
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION,
    seed: int = DEFAULT_SEED,
) -> Split:
    votes: dict[str, Counter[int]] = defaultdict(Counter)
    for text, label in zip(corpus.texts, corpus.labels, strict=True):
        votes[text][label] += 1
    by_label: dict[int, list[str]] = defaultdict(list)
    for text in sorted(votes):  # sorted: the split must not depend on dict or file order
        by_label[votes[text].most_common(1)[0][0]].append(text)
    rng = random.Random(seed)
    train: list[tuple[str, int]] = []
    val: list[tuple[str, int]] = []
    for label in sorted(by_label):
        texts = by_label[label]
        rng.shuffle(texts)
        cut = max(1, round(len(texts) * validation_fraction))
        val.extend((t, label) for t in texts[:cut])
        train.extend((t, label) for t in texts[cut:])
    rng.shuffle(train)
    rng.shuffle(val)
    return Split(
        train_texts=[t for t, _ in train],
        train_labels=[label for _, label in train],
        val_texts=[t for t, _ in val],
        val_labels=[label for _, label in val],
        seed=seed,
        dropped_duplicates=len(corpus.texts) - len(votes),
    )


def with_extra(data: Split, texts: Sequence[str], labels: Sequence[int]) -> tuple[Split, int]:
    """The split with more training examples (a knowledge bank's example questions, say);
    one that is also a validation text is left out, so that none sits on both sides.
    Returns the split and how many were added."""
    held_out = set(data.val_texts)
    kept = [(t, label) for t, label in zip(texts, labels, strict=True) if t not in held_out]
    added = replace(
        data,
        train_texts=[*data.train_texts, *(t for t, _ in kept)],
        train_labels=[*data.train_labels, *(label for _, label in kept)],
    )
    return added, len(kept)
