"""`engage-stream demo`: the main job on the embedded broker, start to finish.

Starts Tansu, creates the topics, produces customer profiles and a sample CRM stream
(plus a few malformed records), reads everything back through the schemas, and reports.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Annotated

import typer
from kafka import KafkaProducer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from engage_stream.brokers import TansuBroker
from engage_stream.cli.startup import startup, topics_of
from engage_stream.cli.topics import print_outcomes
from engage_stream.kafka.admin import ensure_topics
from engage_stream.kafka.clients import connection_config
from engage_stream.kafka.reader import read_to_end
from engage_stream.kafka.topics import TopicRole
from engage_stream.privacy import mask_fields
from engage_stream.samples.generator import SampleConfig, SampleStream
from engage_stream.schemas.validation import DocumentError, parse_event

MALFORMED_SAMPLES: list[tuple[bytes | None, bytes]] = [
    (b"C00001", b'{"event_id": "bad-1", "event_type": "chat.message"'),
    (b"C00002", b"\xff\xfe not utf-8"),
    (
        b"C00003",
        json.dumps(
            {"event_id": "bad-3", "event_type": "coupon.used", "customer_id": "C00003"}
        ).encode(),
    ),
    (
        b"C00004",
        json.dumps(
            {
                "event_id": "bad-4",
                "event_type": "cart.abandoned",
                "occurred_at": "2026-11-26T09:00:00",
                "customer_id": "C00004",
                "source": "web",
                "payload": {"cart_id": "CART-1", "items": [], "value_krw": -5},
            }
        ).encode(),
    ),
]


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def demo(
    events: Annotated[int, typer.Option(help="How many sample events to produce.")] = 2_000,
    customers: Annotated[int, typer.Option(help="How many customer profiles.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the sample stream.")] = 7,
) -> None:
    """Run the main job on the embedded broker and print what happened."""
    settings = startup()
    topics = topics_of(settings)
    console = Console()
    started = time.monotonic()
    broker = TansuBroker()
    with console.status("starting the embedded Tansu broker ..."):
        broker.start()
    with broker:
        console.print(f"[green]embedded broker up[/green] at {broker.bootstrap}")
        connection = connection_config(settings, bootstrap=broker.bootstrap)
        print_outcomes(ensure_topics(connection, topics))

        stream = SampleStream(SampleConfig(seed=seed, customers=customers))
        producer = KafkaProducer(**connection, acks="all", linger_ms=5)
        with _progress(console) as progress:
            task = progress.add_task("profiles → crm.customers", total=len(stream.profiles))
            for profile in stream.profiles:
                producer.send(
                    topics.name(TopicRole.CUSTOMERS),
                    key=profile.customer_id.encode(),
                    value=profile.model_dump_json().encode(),
                )
                progress.advance(task)
            task = progress.add_task("events → crm.events", total=events + len(MALFORMED_SAMPLES))
            for event in stream.events(events):
                producer.send(
                    topics.name(TopicRole.EVENTS),
                    key=event.customer_id.encode(),
                    value=event.model_dump_json().encode(),
                )
                progress.advance(task)
            for key, value in MALFORMED_SAMPLES:
                producer.send(topics.name(TopicRole.EVENTS), key=key, value=value)
                progress.advance(task)
            producer.flush()
        producer.close()

        by_type: Counter[str] = Counter()
        rejected: list[tuple[int, int, str, str]] = []
        first_chat: dict[str, object] | None = None
        with _progress(console) as progress:
            task = progress.add_task("crm.events → validate", total=events + len(MALFORMED_SAMPLES))
            for record in read_to_end(connection, topics.name(TopicRole.EVENTS)):
                try:
                    event = parse_event(record.value)
                    by_type[event.event_type] += 1
                    if first_chat is None and event.event_type == "chat.message":
                        first_chat = event.model_dump(mode="json")
                except DocumentError as exc:
                    rejected.append(
                        (record.partition, record.offset, exc.error_class.value, exc.reason)
                    )
                progress.advance(task)

    _report(console, by_type, rejected, stream, first_chat, time.monotonic() - started)


def _report(
    console: Console,
    by_type: Counter[str],
    rejected: list[tuple[int, int, str, str]],
    stream: SampleStream,
    first_chat: dict[str, object] | None,
    elapsed_s: float,
) -> None:
    table = Table(title="events read back from crm.events", title_justify="left")
    table.add_column("event_type")
    table.add_column("valid", justify="right")
    for event_type, count in sorted(by_type.items()):
        table.add_row(event_type, str(count))
    console.print(table)
    bad = Table(
        title="rejected records (the pipeline sends these to engage.dlq)", title_justify="left"
    )
    for column in ("partition", "offset", "error", "reason"):
        bad.add_column(column)
    for partition, offset, error, reason in rejected:
        bad.add_row(str(partition), str(offset), error, reason)
    console.print(bad)
    console.print("[bold]a customer profile, as logs and transcripts show it (PII masked):[/bold]")
    console.print_json(data=mask_fields(stream.profiles[0].model_dump(mode="json")))
    if first_chat is not None:
        console.print("[bold]a chat event:[/bold]")
        console.print_json(data=mask_fields(first_chat))
    console.print(
        f"[green]done[/green]: {len(stream.profiles)} profiles, {sum(by_type.values())} valid "
        f"events, {len(rejected)} rejected, in {elapsed_s:.1f}s"
    )
