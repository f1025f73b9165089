"""Scores on a check file: labelled messages written apart from the training data, for the
model and its baseline alike, in the record every model card reads."""

from __future__ import annotations

from collections.abc import Sequence

from engage_stream.training.corpora import Corpus, CorpusError
from engage_stream.training.metrics import classification_metrics


class CheckFileError(CorpusError, ValueError):
    """A check file with labels the model does not have (a `ValueError`, as before)."""


def check_gold(check: Corpus, labels: Sequence[str], source: str) -> list[int]:
    """The check file's labels as indices into the model's `labels`; a label the model
    does not have is an error that names the file and the labels."""
    unknown = sorted(set(check.label_names) - set(labels))
    if unknown:
        raise CheckFileError(f"{source}: labels {unknown} are not topics of the training data")
    return [list(labels).index(check.label_names[i]) for i in check.labels]


def check_record(
    source: str,
    gold: Sequence[int],
    model: Sequence[int],
    baseline: Sequence[int],
    labels: Sequence[str],
) -> dict[str, object]:
    return {
        "file": source,
        "texts": len(gold),
        "model": classification_metrics(list(gold), list(model), tuple(labels)).as_dict(),
        "baseline": classification_metrics(list(gold), list(baseline), tuple(labels)).as_dict(),
    }
