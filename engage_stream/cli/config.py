"""`engage-stream config`: show the settings in force, secrets masked."""

from __future__ import annotations

import json

import typer

from engage_stream.cli.startup import startup

app = typer.Typer(help="Inspect configuration.", no_args_is_help=True)


@app.command("show")
def show() -> None:
    """Print the effective settings as JSON (after env, config file and defaults)."""
    settings = startup()
    typer.echo(json.dumps(settings.model_dump(mode="json"), indent=2, ensure_ascii=False))
