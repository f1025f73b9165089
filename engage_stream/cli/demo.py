"""`engage-stream demo`: the main job on the embedded broker, start to finish.

Starts Tansu, creates the topics, starts the worker, produces customer profiles and a
sample Korean CRM stream (plus a few malformed records) at a steady rate, shows the
worker's own metrics live, and ends with a summary and sample actions in Korean.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from kafka import KafkaProducer
from rich.console import Console
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from engage_stream.brokers import TansuBroker
from engage_stream.brokers.process import free_ports
from engage_stream.cli.startup import startup, topics_of
from engage_stream.cli.topics import print_outcomes
from engage_stream.harness.worker_process import Scrape, WorkerProcess, WorkerProcessError
from engage_stream.kafka.admin import ensure_topics
from engage_stream.kafka.clients import connection_config
from engage_stream.kafka.reader import read_to_end
from engage_stream.kafka.topics import TopicRole, TopicsFile
from engage_stream.privacy import mask_text
from engage_stream.samples.generator import SampleConfig, SampleStream
from engage_stream.samples.publish import send_event, send_profiles
from engage_stream.schemas.actions import HandoffAction, NextBestAction

M = TypeVar("M", HandoffAction, NextBestAction)

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


FINISH_TIMEOUT_S = 240.0
PROFILES_TIMEOUT_S = 30.0
"""How long the demo waits for the worker to keep the profiles before it sends events."""


def demo(
    events: Annotated[int, typer.Option(help="How many sample events to produce.")] = 3_000,
    customers: Annotated[int, typer.Option(help="How many customer profiles.")] = 200,
    rate: Annotated[float, typer.Option(help="Events per second to produce.")] = 300.0,
    seed: Annotated[int, typer.Option(help="Seed of the sample stream.")] = 7,
) -> None:
    """Run the whole pipeline on the embedded broker, live, and print what it did."""
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
        worker = _worker(settings.topics_file, broker.bootstrap)
        with console.status("starting the worker (models, Kafka group, table recovery) ..."):
            try:
                worker.start()
            except WorkerProcessError as exc:
                console.print(f"[red]worker did not start[/red]: {exc}")
                raise typer.Exit(1) from None
        console.print(
            f"[green]worker ready[/green], metrics on http://127.0.0.1:{worker.port}/metrics"
        )
        stream = SampleStream(SampleConfig(seed=seed, customers=customers))
        total = events + len(MALFORMED_SAMPLES)
        feeder = threading.Thread(
            target=_produce,
            args=(connection, topics, stream, events, rate, worker),
            daemon=True,
        )
        feeder.start()
        try:
            _watch(console, worker, topics, total)
        finally:
            feeder.join(timeout=30)
            worker.stop()
        _summary(console, connection, topics, worker, time.monotonic() - started)


def _worker(topics_file: object, bootstrap: str) -> WorkerProcess:
    port = free_ports(1)[0]
    return WorkerProcess(
        {
            "ENGAGE_KAFKA_BOOTSTRAP": bootstrap,
            "ENGAGE_TOPICS_FILE": str(topics_file),
            "ENGAGE_WEB_PORT": str(port),
            "ENGAGE_SESSION_TIMEOUT_S": "6",
            "ENGAGE_GROUP_ID": "engage-demo",
            "ENGAGE_LOG_LEVEL": "WARNING",
        }
    )


def _produce(
    connection: dict[str, object],
    topics: TopicsFile,
    stream: SampleStream,
    count: int,
    rate: float,
    worker: WorkerProcess,
) -> None:
    producer = KafkaProducer(**connection, acks="all", linger_ms=5)
    send_profiles(producer, topics.name(TopicRole.CUSTOMERS), stream.profiles)
    producer.flush()
    # The profiles reach the table first (after their re-keying hop): no "no profile yet".
    kept = f"engage_events_in_total{{topic={topics.name(TopicRole.PROFILES)}}}"
    deadline = time.monotonic() + PROFILES_TIMEOUT_S
    while worker.metrics().get(kept, 0.0) < len(stream.profiles):
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    start = time.monotonic()
    for index, event in enumerate(stream.events(count)):
        due = start + index / rate
        if due > time.monotonic():
            time.sleep(due - time.monotonic())
        send_event(producer, topics.name(TopicRole.EVENTS), event)
        if index == count // 2:
            for key, value in MALFORMED_SAMPLES:
                producer.send(topics.name(TopicRole.EVENTS), key=key, value=value)
    producer.flush()
    producer.close()


def _done(metrics: Scrape, topics: TopicsFile) -> float:
    """Inputs finished: enriched, or dead-lettered."""
    enriched = metrics.total("engage_events_out_total", topic=topics.name(TopicRole.ENRICHED))
    return enriched + metrics.total("engage_dlq_total")


def _view(metrics: Scrape, topics: TopicsFile, total: int, rate: float) -> Panel:
    dlq = metrics.total("engage_dlq_total")
    table = Table.grid(padding=(0, 3))
    table.add_column(justify="right", style="bold")
    table.add_column()
    consumed = metrics.total("engage_events_in_total", topic=topics.name(TopicRole.EVENTS))
    table.add_row("events in", f"{consumed:,.0f} / {total:,}")
    table.add_row("processed", f"{_done(metrics, topics):,.0f}  ({rate:,.0f} events/s now)")
    table.add_row("handoffs", f"{metrics.total('engage_actions_total', kind='handoff'):,.0f}")
    table.add_row(
        "messages", f"{metrics.total('engage_actions_total', kind='next_best_action'):,.0f}"
    )
    reasons = metrics.by_label("engage_suppressions_total", "reason")
    table.add_row(
        "suppressed",
        f"{sum(reasons.values()):,.0f}  "
        + ", ".join(f"{reason} {count:,.0f}" for reason, count in sorted(reasons.items())),
    )
    table.add_row("DLQ", f"{dlq:,.0f}")
    batches = metrics.total("engage_batch_size_count")
    if batches:
        table.add_row("mean batch", f"{metrics.total('engage_batch_size_sum') / batches:.1f}")
    p50 = metrics.histogram_bound("engage_end_to_end_seconds", 0.5)
    p95 = metrics.histogram_bound("engage_end_to_end_seconds", 0.95)
    if p50 is not None:
        table.add_row(
            "end to end", f"p50 ≤ {p50 * 1000:,.0f} ms, p95 ≤ {(p95 or 0) * 1000:,.0f} ms"
        )
    return Panel(table, title="engage-stream worker, live (from its /metrics)", expand=False)


def _watch(console: Console, worker: WorkerProcess, topics: TopicsFile, total: int) -> None:
    deadline = time.monotonic() + FINISH_TIMEOUT_S
    last_done, last_at, rate = 0.0, time.monotonic(), 0.0
    with Live(console=console, refresh_per_second=4) as live:
        while time.monotonic() < deadline:
            metrics = worker.scrape()
            done = _done(metrics, topics)
            now = time.monotonic()
            if now - last_at >= 1.0:
                rate = (done - last_done) / (now - last_at)
                last_done, last_at = done, now
            live.update(_view(metrics, topics, total, rate))
            if done >= total:
                return
            time.sleep(0.25)
    console.print(f"[yellow]stopped waiting after {FINISH_TIMEOUT_S:.0f} s[/yellow]")


def _first(
    connection: dict[str, object], topic: str, match: object = None
) -> dict[str, object] | None:
    for record in read_to_end(connection, topic):
        value = json.loads(record.value)
        if match is None or match(value):  # type: ignore[operator]
            return value  # type: ignore[no-any-return]
    return None


def _parsed(
    connection: dict[str, object], topic: str, model: type[M], match: Callable[[M], bool]
) -> M | None:
    """The first record of `topic` that `match` accepts, as its contract."""
    for record in read_to_end(connection, topic):
        value = model.model_validate_json(record.value)
        if match(value):
            return value
    return None


def _handoff_text(handoff: HandoffAction) -> str:
    draft = handoff.draft
    source = (
        f"({draft.kind}, answering {draft.question_event_id}, topic {draft.topic})" if draft else ""
    )
    lines = [
        f"[bold]priority[/bold] {handoff.priority.value}   [bold]queue[/bold] {handoff.queue}   "
        f"[bold]reasons[/bold] {', '.join(r.value for r in handoff.reasons)}",
        "[bold]transcript (masked)[/bold]",
        *(f"  {t.sender.value}: {t.text}" for t in handoff.transcript[-4:]),
        f"[bold]drafted reply[/bold] {source}",
        f"  {handoff.draft_reply}",
        "[bold]suggestions[/bold]",
        *(
            f"  {s.score:.2f} {s.answer_id}{' (grounded)' if s.grounded else ''}"
            for s in handoff.suggestions
        ),
    ]
    return "\n".join(lines)


def _summary(
    console: Console,
    connection: dict[str, object],
    topics: TopicsFile,
    worker: WorkerProcess,
    elapsed_s: float,
) -> None:
    counts = {
        role: sum(1 for _ in read_to_end(connection, topics.name(role)))
        for role in (
            TopicRole.ENRICHED,
            TopicRole.ACTIONS_HANDOFF,
            TopicRole.ACTIONS_EMAIL,
            TopicRole.SUPPRESSIONS,
            TopicRole.DLQ,
        )
    }
    table = Table(title="what the worker wrote", title_justify="left")
    table.add_column("topic")
    table.add_column("records", justify="right")
    for role, count in counts.items():
        table.add_row(topics.name(role), f"{count:,}")
    console.print(table)

    handoffs = topics.name(TopicRole.ACTIONS_HANDOFF)
    handoff = _parsed(
        connection,
        handoffs,
        HandoffAction,
        lambda h: h.draft is not None and h.draft.kind == "grounded",
    ) or _parsed(connection, handoffs, HandoffAction, lambda h: True)
    if handoff:
        console.print(Panel(_handoff_text(handoff), title="a handoff to a person", expand=False))
    answer = _parsed(
        connection,
        topics.name(TopicRole.ACTIONS_EMAIL),
        NextBestAction,
        lambda m: m.draft is not None,
    )
    if answer and answer.draft:
        text = (
            f"[bold]answer[/bold] {answer.draft.answer_id} ({answer.draft.kind}) to "
            f"{answer.draft.question_event_id}, topic {answer.draft.topic}\n"
            f"[bold]subject[/bold] {answer.subject}\n{mask_text(answer.body)}"
        )
        console.print(Panel(text, title="an e-mail question answered by e-mail", expand=False))
    email = _first(connection, topics.name(TopicRole.ACTIONS_EMAIL), lambda v: v["advertising"])
    if email:
        text = f"[bold]{email['channel']}[/bold] not before {email['send_not_before']}\n"
        if email.get("subject"):
            text += f"[bold]subject[/bold] {email['subject']}\n"
        text += mask_text(str(email["body"]))
        console.print(Panel(text, title="a next-best-action message (advertising)", expand=False))
    suppression = _first(connection, topics.name(TopicRole.SUPPRESSIONS))
    if suppression:
        console.print(
            f"[bold]a suppression[/bold]: {suppression['rule']} for {suppression['customer_id']}"
            f" held back: {suppression['reason']} ({suppression['detail']})"
        )
    dead = _first(connection, topics.name(TopicRole.DLQ))
    if dead:
        console.print(
            f"[bold]a dead letter[/bold]: {dead['error_class']} at "
            f"{dead['source_topic']}/{dead['source_partition']}@{dead['source_offset']}: "
            f"{dead['reason']}"
        )
    console.print(
        f"[green]done[/green] in {elapsed_s:.0f} s; the broker was in memory and is gone."
    )
