"""The corpora option and loading shared by the commands that read training data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from engage_stream.training.corpora import CorpusError

DataDir = Annotated[Path, typer.Option(help="The shared corpora (../shared/data).")]

T = TypeVar("T")


def load_or_exit(load: Callable[[], T]) -> T:
    """A corpus, or exit 1 naming the missing file."""
    try:
        return load()
    except CorpusError as exc:
        typer.echo(f"engage-stream: {exc}", err=True)
        raise typer.Exit(1) from None
