"""`engage-stream classify`: every head's label and score for each text.

By default the heads the worker uses (intent, toxicity, topic, as the model registry names
them: one pass per model folder); `--models` names classifier folders instead.
"""

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
from engage_stream.inference.heads import Group, open_groups
from engage_stream.inference.model_folder import ModelFolderError
from engage_stream.inference.providers import DeviceError
from engage_stream.schemas.scores import Prediction

CHUNK = 256


class _Heads:
    """Role (or folder name) -> predictions, from the registry's groups or from folders."""

    def __init__(self, groups: list[Group], classifiers: dict[str, Classifier]) -> None:
        self.groups = groups
        self.classifiers = classifiers

    @property
    def columns(self) -> list[tuple[str, str]]:
        """(key, title) per head: the JSON field and the table header."""
        if self.groups:
            return [
                (role, f"{role} ({g.name} {g.stamp.version})")
                for g in self.groups
                for role in g.classifiers
            ]
        return [(_key(n), f"{n} {c.stamp.version}") for n, c in self.classifiers.items()]

    def predict(self, texts: list[str]) -> dict[str, list[Prediction]]:
        results: dict[str, list[Prediction]] = {}
        for group in self.groups:
            results.update(group.predict(texts))
        for name, model in self.classifiers.items():
            results[_key(name)] = model.predict(texts)
        return results


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
        str | None,
        typer.Option(help="Comma-separated classifier folders (default: the model registry)."),
    ] = None,
) -> None:
    """Classify texts with each head: a table for a person, JSON lines for a script."""
    settings = startup()
    if bool(texts) == (file is not None):
        raise typer.BadParameter("give texts or --file, not both and not neither")
    try:
        if models is None:
            loaded = _Heads(
                open_groups(
                    settings.model_bindings(),
                    device=settings.device,
                    batch_max_size=settings.batch_max_size,
                ),
                {},
            )
        else:
            names = [m.strip() for m in models.split(",") if m.strip()]
            loaded = _Heads([], {n: Classifier.from_settings(settings, n) for n in names})
    except (ModelFolderError, DeviceError) as exc:
        config_error([f"ENGAGE_MODEL_* / ENGAGE_DEVICE: {exc}"])
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


def _write(texts: list[str], loaded: _Heads) -> None:
    if not texts:
        return
    results = loaded.predict(texts)
    for i, text in enumerate(texts):
        record: dict[str, object] = {"text": text}
        for key, predictions in results.items():
            p = predictions[i]
            record[key] = {"label": p.label, "score": round(p.score, 4)}
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _table(texts: list[str], loaded: _Heads) -> None:
    results = loaded.predict(texts)
    table = Table()
    table.add_column("text")
    for _, title in loaded.columns:
        table.add_column(title)
    for i, text in enumerate(texts):
        cells = [f"{results[k][i].label} {results[k][i].score:.2f}" for k, _ in loaded.columns]
        table.add_row(text, *cells)
    Console().print(table)
