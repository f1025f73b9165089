"""`engage-stream broker`: run the embedded Tansu or an Apache Kafka broker in the foreground."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from engage_stream.brokers import BrokerStartError, make_broker
from engage_stream.cli.startup import startup, topics_of
from engage_stream.cli.topics import print_outcomes
from engage_stream.kafka.admin import TopicAdminError, ensure_topics
from engage_stream.kafka.clients import connection_config


def broker(
    impl: Annotated[
        str, typer.Option("--impl", help="tansu (embedded, in-memory) or kafka (Apache Kafka 4.x).")
    ] = "tansu",
    port: Annotated[int, typer.Option(help="Client port; 0 picks a free one.")] = 9092,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    advertised_host: Annotated[
        str | None, typer.Option(help="Host clients are told to use (default: --host).")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Apache Kafka only: keep data here across restarts (default: temp)."),
    ] = None,
    create_topics: Annotated[
        bool, typer.Option("--create-topics", help="Apply the topics file once it is up.")
    ] = False,
) -> None:
    """Run a single-node broker in the foreground until Ctrl-C or SIGTERM."""
    if impl not in ("tansu", "kafka"):
        raise typer.BadParameter("use tansu or kafka", param_hint="--impl")
    settings = startup()
    console = Console(stderr=True)
    node = make_broker(
        "tansu" if impl == "tansu" else "kafka",
        port=port or None,
        host=host,
        advertised_host=advertised_host,
        work_dir=data_dir,
    )
    stop = threading.Event()

    def _on_signal(signum: int, _: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    with console.status(f"starting {impl} broker on {node.bootstrap} ..."):
        try:
            node.start()
        except BrokerStartError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
    try:
        console.print(f"[green]{impl} broker serving[/green] bootstrap={node.bootstrap}")
        if create_topics:
            config = connection_config(settings, bootstrap=node.bootstrap)
            try:
                print_outcomes(ensure_topics(config, topics_of(settings)))
            except TopicAdminError as exc:
                console.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(1) from None
        typer.echo(node.bootstrap)
        while not stop.wait(0.5):
            if not node.running:
                console.print(f"[red]broker exited by itself; log: {node.log_path}[/red]")
                raise typer.Exit(1)
    finally:
        console.print("stopping broker ...")
        node.close()  # removes the data only where it was a temporary folder
