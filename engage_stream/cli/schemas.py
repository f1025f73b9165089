"""`engage-stream schemas`: JSON Schema files and document validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.schemas import json_schema
from engage_stream.schemas.registry import DOCUMENT_KINDS
from engage_stream.schemas.validation import DocumentError, decode_json, validate_with

app = typer.Typer(
    help="Export JSON Schemas and validate documents against them.", no_args_is_help=True
)


@app.command("export")
def export(
    out: Annotated[Path, typer.Option(help="Folder for the *.schema.json files.")] = PROJECT_ROOT
    / "schemas",
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if the files are stale.")
    ] = False,
) -> None:
    """Write one JSON Schema per document kind, generated from the pydantic models."""
    if check:
        stale = json_schema.stale_files(out)
        for name in stale:
            typer.echo(f"stale: {out / name} (run `engage-stream schemas export`)", err=True)
        raise typer.Exit(1 if stale else 0)
    for path in json_schema.export(out):
        typer.echo(str(path))


@app.command("validate")
def validate(
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(DOCUMENT_KINDS)}.")],
    path: Annotated[Path, typer.Argument(help="A JSON document, or JSON lines; - for stdin.")],
) -> None:
    """Validate documents; print each problem with the field it is in. Exit 1 if any fail."""
    if kind not in DOCUMENT_KINDS:
        raise typer.BadParameter(f"use one of: {', '.join(DOCUMENT_KINDS)}", param_hint="KIND")
    raw = typer.get_binary_stream("stdin").read() if str(path) == "-" else path.read_bytes()
    stripped = raw.strip()
    documents = (
        [stripped]
        if stripped.startswith(b"{") and _is_one_document(stripped)
        else [line for line in raw.splitlines() if line.strip()]
    )
    failures = 0
    for number, document in enumerate(documents, start=1):
        try:
            validate_with(DOCUMENT_KINDS[kind].adapter, decode_json(document))
            typer.echo(f"{number}: ok")
        except DocumentError as exc:
            failures += 1
            typer.echo(f"{number}: {exc.error_class.value}: {exc.reason}")
    raise typer.Exit(1 if failures else 0)


def _is_one_document(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except (ValueError, RecursionError):  # deep nesting is `decode_json`'s to report
        return False
    return True
