"""The corpora option and loading shared by the commands that read training data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from engage_stream.training.corpora import CorpusError

DataDir = Annotated[
    Path | None,
    typer.Option(
        help="The public corpora (3i4k/, hatespeech/, chatbot/); default: ENGAGE_DATA_DIR, "
        "else ../shared/data when it exists (README, Corpora)."
    ),
]

T = TypeVar("T")


def load_or_exit(load: Callable[[], T]) -> T:
    """A corpus, or exit 1 naming the missing corpus, where it was looked for and its source."""
    try:
        return load()
    except CorpusError as exc:
        typer.echo(f"engage-stream: {exc}", err=True)
        raise typer.Exit(1) from None
