"""A fixed-seed validation split cut from the training data, stratified by label.

The split is made over distinct texts, so a sentence that occurs twice can never sit on both
sides (3i4K has repeated short fragments); duplicates keep their majority label.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass

from engage_stream.training.corpora import Corpus, QaPairs

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


@dataclass(frozen=True)
class PairSplit:
    """Question/answer pairs split by distinct question: no question sits on both sides."""

    train_questions: list[str]
    train_answers: list[str]
    val_questions: list[str]
    val_answers: list[str]
    seed: int


def question_key(question: str) -> str:
    """What makes two questions the same: spacing and trailing punctuation do not count."""
    return " ".join(question.split()).rstrip(".?!~ ").strip()


def split_pairs(
    pairs: QaPairs,
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION,
    seed: int = DEFAULT_SEED,
) -> PairSplit:
    """Every pair of a question goes to the side its question is drawn to; a question that
    has several answers keeps them all there (several references for one question)."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for index, question in enumerate(pairs.questions):
        by_key[question_key(question)].append(index)
    keys = sorted(by_key)
    random.Random(seed).shuffle(keys)
    cut = max(1, round(len(keys) * validation_fraction))
    val = [i for key in keys[:cut] for i in by_key[key]]
    train = [i for key in keys[cut:] for i in by_key[key]]
    return PairSplit(
        train_questions=[pairs.questions[i] for i in train],
        train_answers=[pairs.answers[i] for i in train],
        val_questions=[pairs.questions[i] for i in val],
        val_answers=[pairs.answers[i] for i in val],
        seed=seed,
    )
