"""`engage-stream topics`: apply and inspect `infra/topics.yaml`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from engage_stream.cli.startup import kafka_connection, startup, topics_of
from engage_stream.kafka.admin import TopicAdminError, TopicOutcome, ensure_topics

app = typer.Typer(
    help="Create and inspect the topics declared in the topics file.", no_args_is_help=True
)

Bootstrap = Annotated[
    str | None,
    typer.Option("--bootstrap", help="host:port list; default ENGAGE_KAFKA_BOOTSTRAP."),
]

_STYLE = {"created": "green", "exists": "cyan", "differs": "yellow"}


def print_outcomes(outcomes: list[TopicOutcome]) -> None:
    table = Table(title="topics", title_justify="left")
    for column in ("topic", "status", "partitions", "note"):
        table.add_column(column)
    for o in outcomes:
        table.add_row(o.name, f"[{_STYLE[o.status]}]{o.status}[/]", str(o.partitions), o.detail)
    Console(stderr=True).print(table)


@app.command("create")
def create(
    bootstrap: Bootstrap = None,
    replication_factor: Annotated[
        int | None, typer.Option(help="Override the file's replication factor (3 in production).")
    ] = None,
) -> None:
    """Create every topic in the topics file that does not exist yet (idempotent)."""
    settings = startup(kafka_bootstrap=bootstrap)
    topics = topics_of(settings)
    try:
        outcomes = ensure_topics(kafka_connection(settings), topics, replication_factor)
    except TopicAdminError as exc:
        typer.echo(f"engage-stream: {exc}", err=True)
        raise typer.Exit(1) from None
    print_outcomes(outcomes)
    for o in outcomes:
        typer.echo(f"{o.status}\t{o.name}\t{o.partitions}")


@app.command("show")
def show() -> None:
    """Print the topics file's roles, names and settings, as the programs read it."""
    topics = topics_of(startup())
    table = Table(title=f"topics file (replication {topics.replication_factor})")
    for column in ("role", "topic", "partitions", "cleanup", "retention ms"):
        table.add_column(column)
    for role, spec in topics.topics.items():
        table.add_row(
            role.value,
            spec.name,
            str(spec.partitions),
            spec.cleanup_policy,
            str(spec.retention_ms or "-"),
        )
    Console().print(table)
