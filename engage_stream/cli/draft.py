"""`engage-stream draft`: a polite first reply for a customer's message."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console

from engage_stream.cli.startup import config_error, startup
from engage_stream.drafting.templates import INTENTS
from engage_stream.inference.model_folder import ModelFolderError
from engage_stream.inference.providers import DeviceError


def draft(
    text: Annotated[str, typer.Argument(help="The customer's message.")],
    intent: Annotated[str | None, typer.Option(help=f"Intent label: {', '.join(INTENTS)}.")] = None,
    name: Annotated[str | None, typer.Option(help="Customer name for the greeting.")] = None,
    order_id: Annotated[str | None, typer.Option(help="Order number to mention.")] = None,
    model: Annotated[
        str, typer.Option(help="Drafter folder name under ENGAGE_MODEL_DIR.")
    ] = "drafter-ko",
    budget_ms: Annotated[
        float | None, typer.Option(help="Encoder deadline (default: the folder's).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole draft as JSON.")] = False,
) -> None:
    """Draft a reply: retrieved answer + intent template + profile fields."""
    from engage_stream.drafting.drafter import Drafter

    settings = startup()
    if intent is not None and intent not in INTENTS:
        raise typer.BadParameter(f"use one of {', '.join(INTENTS)}", param_hint="--intent")
    try:
        drafter = Drafter.load(
            settings.model_dir / model, device=settings.device, budget_ms=budget_ms
        )
    except (ModelFolderError, DeviceError) as exc:
        config_error([f"ENGAGE_MODEL_DIR / ENGAGE_DEVICE: {exc}"])
    with drafter:
        result = drafter.draft(text, intent=intent, profile={"name": name, "order_id": order_id})
    if as_json:
        typer.echo(json.dumps(asdict(result), ensure_ascii=False, default=_plain))
        return
    typer.echo(result.text)
    similarity = "-" if result.similarity is None else f"{result.similarity:.3f}"
    Console(stderr=True).print(
        f"[dim]{result.template_id} · response {result.response_id or '-'} · similarity "
        f"{similarity} · {result.latency_ms:.1f} ms"
        f"{' · fallback: ' + result.fallback if result.fallback else ''}[/dim]"
    )


def _plain(value: object) -> object:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
