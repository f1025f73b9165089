"""`engage-stream classify`: every classifier's label and score for each text."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from engage_stream.cli.startup import config_error, startup
from engage_stream.inference.classifier import Classifier
from engage_stream.inference.model_folder import ModelFolderError
from engage_stream.inference.providers import DeviceError

DEFAULT_MODELS = "intent-ko,toxicity-ko"
CHUNK = 256


def _key(model: str) -> str:
    """`intent-ko` -> `intent`: the JSON field a script reads."""
    return model.removesuffix("-ko")


def _lines(path: Path) -> Iterator[str]:
    stream = sys.stdin.buffer if str(path) == "-" else path.open("rb")
    try:
        for raw in stream:
            yield raw.decode("utf-8", errors="replace").rstrip("\r\n")
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def classify(
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to classify.")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="One text per line (- for stdin); writes JSON lines in order."),
    ] = None,
    models: Annotated[
        str, typer.Option(help="Comma-separated model folder names.")
    ] = DEFAULT_MODELS,
) -> None:
    """Classify texts with each model: a table for a person, JSON lines for a script."""
    settings = startup()
    if bool(texts) == (file is not None):
        raise typer.BadParameter("give texts or --file, not both and not neither")
    names = [m.strip() for m in models.split(",") if m.strip()]
    try:
        loaded = {name: Classifier.from_settings(settings, name) for name in names}
    except (ModelFolderError, DeviceError) as exc:
        config_error([f"ENGAGE_MODEL_DIR / ENGAGE_DEVICE: {exc}"])
    if file is None:
        _table(texts or [], loaded)
        return
    buffer: list[str] = []
    for line in _lines(file):
        buffer.append(line)
        if len(buffer) == CHUNK:
            _write(buffer, loaded)
            buffer = []
    _write(buffer, loaded)


def _write(texts: list[str], loaded: dict[str, Classifier]) -> None:
    if not texts:
        return
    results = {name: model.predict(texts) for name, model in loaded.items()}
    for i, text in enumerate(texts):
        record: dict[str, object] = {"text": text}
        for name, predictions in results.items():
            p = predictions[i]
            record[_key(name)] = {"label": p.label, "score": round(p.score, 4)}
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _table(texts: list[str], loaded: dict[str, Classifier]) -> None:
    results = {name: model.predict(texts) for name, model in loaded.items()}
    table = Table()
    table.add_column("text")
    for name, model in loaded.items():
        table.add_column(f"{name} {model.stamp.version}")
    for i, text in enumerate(texts):
        cells = [f"{results[n][i].label} {results[n][i].score:.2f}" for n in loaded]
        table.add_row(text, *cells)
    Console().print(table)
