"""`engage-stream produce`: the sample CRM stream, or a file's lines, onto the topics.

Without `--file`: the sample stream's customer profiles go to the `customers` topic (keyed
by customer id), then `--count` events to the `events` topic (keyed by customer id), at
`--rate` events per second; `--labels FILE` also writes the labels of the customer
questions among them (topic and expected answer, as JSON lines), the ground truth a run's
topics and drafts are scored against. With `--file`: each line goes out byte for byte,
malformed or not, so that the pipeline's dead-letter path can be exercised on purpose.

Topic names come from the topics file by role. Pacing follows a schedule (record i leaves
at start + i / rate), so the rate holds over a long run instead of drifting with each
sleep's overshoot.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, BinaryIO, TextIO

import typer
from kafka import KafkaProducer
from kafka.errors import KafkaError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from engage_stream.cli.consume import (
    CONNECT_TIMEOUT_MS,
    ROLES,
    Bootstrap,
    describe_error,
    fail,
    open_consumer,
    partitions_of,
    quiet_kafka_logs,
    resolve_topic,
    unreachable,
)
from engage_stream.cli.startup import kafka_connection, startup, topics_of
from engage_stream.kafka.topics import TopicRole
from engage_stream.observability.logs import get_logger
from engage_stream.samples.generator import SampleConfig, SampleStream

log = get_logger(__name__)

FLUSH_TIMEOUT_S = 60.0


class Pacer:
    """Holds a rate over time: record i is due at start + i / rate, however long sleeps run."""

    def __init__(self, rate: float, clock: Any = time.monotonic, sleep: Any = time.sleep) -> None:
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._start: float | None = None
        self._due = 0

    def wait(self) -> None:
        """Return when the next record is due (at once with rate 0)."""
        if self.rate <= 0:
            return
        now = self._clock()
        if self._start is None:
            self._start = now
        due_at = self._start + self._due / self.rate
        self._due += 1
        if due_at > now:
            self._sleep(due_at - now)


class Deliveries:
    """Sends records and counts the ones the broker did not take (reported asynchronously)."""

    def __init__(self, producer: KafkaProducer) -> None:
        self.producer = producer
        self.sent = 0
        self.failed = 0
        self.first_error: str | None = None

    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        self.producer.send(topic, key=key, value=value).add_errback(self._failed)
        self.sent += 1

    def _failed(self, exc: BaseException) -> None:
        self.failed += 1
        if self.first_error is None:
            self.first_error = describe_error(exc)

    @property
    def delivered(self) -> int:
        return self.sent - self.failed


def key_of(line: bytes) -> bytes | None:
    """The line's `customer_id` when it is a JSON object with a string one, else no key."""
    try:
        document = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    customer_id = document.get("customer_id") if isinstance(document, dict) else None
    return customer_id.encode("utf-8") if isinstance(customer_id, str) else None


def file_lines(handle: BinaryIO) -> Iterator[bytes]:
    """Each line without its terminator (\\n or \\r\\n), bytes as they are, empty ones too."""
    for raw in handle:
        if raw.endswith(b"\n"):
            raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
        yield raw


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def _open_producer(connection: dict[str, Any], servers: str) -> KafkaProducer:
    try:
        with quiet_kafka_logs():
            return KafkaProducer(
                **connection,
                acks="all",
                linger_ms=5,
                bootstrap_timeout_ms=CONNECT_TIMEOUT_MS,
                max_block_ms=30_000,
            )
    except KafkaError as exc:
        unreachable(servers, exc)


def _check_topics(connection: dict[str, Any], servers: str, names: list[str]) -> None:
    consumer = open_consumer(connection)
    try:
        for name in names:
            partitions_of(consumer, name, servers)
    finally:
        consumer.close()


def produce(
    count: Annotated[
        int, typer.Option("--count", "-n", min=0, help="How many sample events to send.")
    ] = 1_000,
    customers: Annotated[int, typer.Option(min=1, help="How many customer profiles.")] = 200,
    rate: Annotated[
        float, typer.Option(min=0, help="Events (or lines) per second; 0: as fast as possible.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the sample stream.")] = 7,
    profiles: Annotated[
        bool,
        typer.Option(
            "--profiles/--no-profiles", help="Send the customer profiles before the events."
        ),
    ] = True,
    file: Annotated[
        str | None,
        typer.Option(
            "--file",
            "-f",
            help="Send each line of this file (- for stdin) exactly as written, instead of "
            "the sample stream; empty lines are skipped.",
        ),
    ] = None,
    topic: Annotated[
        str | None,
        typer.Option(
            "--topic", "-t", help=f"Where events or lines go: a role ({ROLES}) or a topic name."
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            file_okay=False,
            help="Corpora folder for chat lines (3i4k/, chatbot/); default: ENGAGE_DATA_DIR, "
            "else ../shared/data when it exists.",
        ),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels",
            dir_okay=False,
            help="Also write the labels of the sample events sent (customer questions: topic "
            "and expected answer id) to this file, one JSON object a line.",
        ),
    ] = None,
    bootstrap: Bootstrap = None,
) -> None:
    """Send the sample CRM stream (profiles, then events), or a file's lines, to Kafka."""
    if file is not None and labels is not None:
        raise typer.BadParameter(
            "only the sample stream has labels; a file's lines have none (drop --file or --labels)",
            param_hint="--labels",
        )
    settings = startup(kafka_bootstrap=bootstrap)
    topics = topics_of(settings)
    events_topic = resolve_topic(topics, topic or TopicRole.EVENTS.value)
    servers = settings.kafka_bootstrap
    connection = kafka_connection(settings)
    console = Console(stderr=True)

    if file is not None:
        if file != "-" and not Path(file).is_file():
            raise typer.BadParameter(f"{file} is not a file", param_hint="--file")
        _check_topics(connection, servers, [events_topic])
        producer = _open_producer(connection, servers)
        if file == "-":
            _send_file(producer, sys.stdin.buffer, "stdin", events_topic, rate, servers, console)
        else:
            with Path(file).open("rb") as handle:
                _send_file(producer, handle, file, events_topic, rate, servers, console)
        return

    sample_config = SampleConfig(seed=seed, customers=customers)
    if (data_dir or settings.data_dir) is not None:
        sample_config = dataclasses.replace(sample_config, data_dir=data_dir or settings.data_dir)
    stream = SampleStream(sample_config)
    customers_topic = topics.name(TopicRole.CUSTOMERS)
    _check_topics(
        connection, servers, [customers_topic, events_topic] if profiles else [events_topic]
    )
    labels_out = _open_labels(labels) if labels is not None else None
    producer = _open_producer(connection, servers)
    deliveries = Deliveries(producer)
    pacer = Pacer(rate)
    events_sent = labels_written = 0
    started = time.monotonic()
    with (
        _closing(labels_out),
        _sending(producer, deliveries, servers) as sending,
        _progress(console) as progress,
    ):
        if profiles:
            task = progress.add_task(f"profiles → {customers_topic}", total=len(stream.profiles))
            for profile in stream.profiles:
                deliveries.send(
                    customers_topic,
                    profile.customer_id.encode(),
                    profile.model_dump_json().encode(),
                )
                progress.advance(task)
        task = progress.add_task(f"events → {events_topic}", total=count)
        started = time.monotonic()
        for event, label in stream.labelled(count):
            pacer.wait()
            deliveries.send(
                events_topic, event.customer_id.encode(), event.model_dump_json().encode()
            )
            events_sent += 1
            if labels_out is not None and label is not None:
                labels_out.write(json.dumps(label, ensure_ascii=False) + "\n")
                labels_written += 1
            progress.advance(task)
    elapsed = max(time.monotonic() - started, 1e-9)
    profiles_sent = deliveries.sent - events_sent
    log.debug(
        "produce_finished",
        topic=events_topic,
        events=events_sent,
        profiles=profiles_sent,
        failed=deliveries.failed,
        seconds=round(elapsed, 3),
    )
    summary = f"sent {events_sent} events to {events_topic} in {elapsed:.2f}s "
    summary += f"({events_sent / elapsed:.0f} events/s)"
    if profiles:
        summary += f", after {profiles_sent} profiles to {customers_topic}"
    if labels is not None:
        summary += f"; wrote {labels_written} labels to {labels}"
    _report(summary, deliveries, servers, sending.interrupted)


def _open_labels(path: Path) -> TextIO:
    """Opened before anything is sent, so an unwritable path costs no events."""
    try:
        return path.open("w", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write the labels to {path}: {exc.strerror or exc}")


@contextmanager
def _closing(handle: TextIO | None) -> Iterator[None]:
    try:
        yield
    finally:
        if handle is not None:
            handle.close()


def _send_file(
    producer: KafkaProducer,
    handle: BinaryIO,
    label: str,
    topic: str,
    rate: float,
    servers: str,
    console: Console,
) -> None:
    deliveries = Deliveries(producer)
    pacer = Pacer(rate)
    empty = 0
    started = time.monotonic()
    with _sending(producer, deliveries, servers) as sending, _progress(console) as progress:
        task = progress.add_task(f"{label} → {topic}", total=None)
        for line in file_lines(handle):
            if not line:
                empty += 1
                continue
            pacer.wait()
            deliveries.send(topic, key_of(line), line)
            progress.advance(task)
    elapsed = max(time.monotonic() - started, 1e-9)
    summary = (
        f"sent {deliveries.sent} lines from {label} to {topic} in {elapsed:.2f}s "
        f"({deliveries.sent / elapsed:.0f} lines/s); "
        f"skipped {empty} empty line{'' if empty == 1 else 's'}"
    )
    log.debug(
        "produce_file_finished",
        topic=topic,
        lines=deliveries.sent,
        empty=empty,
        failed=deliveries.failed,
        seconds=round(elapsed, 3),
    )
    _report(summary, deliveries, servers, sending.interrupted)


@dataclasses.dataclass
class _Sending:
    interrupted: bool = False


@contextmanager
def _sending(producer: KafkaProducer, deliveries: Deliveries, servers: str) -> Iterator[_Sending]:
    """Ctrl-C stops sending but still flushes and reports what went; a broker error stops
    the command with its cause. Either way the producer is closed."""
    sending = _Sending()
    try:
        yield sending
    except KeyboardInterrupt:
        sending.interrupted = True
    except KafkaError as exc:
        producer.close(timeout=0)
        fail(f"sending to {servers} failed: {describe_error(exc)}")
    _finish(producer, deliveries, servers)


def _finish(producer: KafkaProducer, deliveries: Deliveries, servers: str) -> None:
    try:
        producer.flush(timeout=FLUSH_TIMEOUT_S)
    except KafkaError as exc:
        fail(
            f"{deliveries.sent} records sent, but the flush to {servers} did not finish: "
            f"{describe_error(exc)}"
        )
    finally:
        producer.close(timeout=5)


def _report(summary: str, deliveries: Deliveries, servers: str, interrupted: bool) -> None:
    typer.echo(summary + (" (interrupted)" if interrupted else ""))
    if deliveries.failed:
        fail(
            f"{deliveries.failed} of {deliveries.sent} records were not delivered to {servers}: "
            f"{deliveries.first_error}"
        )
    if interrupted:
        raise typer.Exit(130)
