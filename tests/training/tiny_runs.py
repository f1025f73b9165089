"""Small runs of the training code: the first texts of a split, the train command."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from typer.testing import CliRunner

from engage_stream.cli.app import app
from engage_stream.training.corpora import Corpus, load_intent
from engage_stream.training.splits import Split, split
from tests.conftest import require_corpora


def first(data: Split, train: int, val: int | None = None) -> Split:
    """The split cut to its first `train` training texts (and `val` validation texts)."""
    val = len(data.val_texts) if val is None else val
    return replace(
        data,
        train_texts=data.train_texts[:train],
        train_labels=data.train_labels[:train],
        val_texts=data.val_texts[:val],
        val_labels=data.val_labels[:val],
    )


def intent_split(train: int, val: int | None = None) -> tuple[Corpus, Split]:
    """3i4K and the first texts of its fixed-seed split (see `first`); skips without it."""
    corpus = load_intent(require_corpora())
    return corpus, first(split(corpus), train, val)


def run_train(name: str, base: Path, out: Path, *options: str) -> None:
    """`engage-stream train NAME --base BASE --out OUT --epochs 1 OPTIONS`, which must pass."""
    args = ["train", name, "--base", str(base), "--out", str(out), "--epochs", "1", *options]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
