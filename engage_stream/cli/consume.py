"""`engage-stream consume`: print a topic's records as JSON lines, for a person or a pipe.

No consumer group: every partition is assigned and read from the beginning (or the end),
so nothing waits on a rebalance and nothing is committed. Output is one JSON object per
line on stdout, flushed per line; notes go to stderr.

`--latest` on the embedded Tansu broker: ListOffsets(latest) answers the last batch's base
offset + 1, not the end (see `engage_stream.kafka.reader`), so a read "from the end" would
start inside the last batch and print records that were there before it started. Records
below the high watermark of the first fetch and older than the start of the command are
those, and are skipped.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError

from engage_stream.cli.startup import kafka_connection, startup, topics_of
from engage_stream.kafka.reader import partition_ends
from engage_stream.kafka.topics import TopicRole, TopicsFile
from engage_stream.observability.logs import get_logger

log = get_logger(__name__)

CONNECT_TIMEOUT_MS = 10_000
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
ROLES = ", ".join(role.value for role in TopicRole)

Bootstrap = Annotated[
    str | None,
    typer.Option("--bootstrap", help="host:port list; default ENGAGE_KAFKA_BOOTSTRAP."),
]


def fail(message: str) -> NoReturn:
    """One line on stderr, exit code 1, no traceback."""
    typer.echo(f"engage-stream: {message}", err=True)
    raise typer.Exit(1)


def resolve_topic(topics: TopicsFile, role_or_name: str) -> str:
    """A role of the topics file (events, dlq, ...) gives its topic; anything else is a name."""
    if role_or_name in {role.value for role in TopicRole}:
        return topics.name(TopicRole(role_or_name))
    if not _TOPIC_NAME.match(role_or_name) or role_or_name in {".", ".."}:
        raise typer.BadParameter(
            f"{role_or_name!r} is neither a role ({ROLES}) nor a topic name "
            "(1-249 of A-Z a-z 0-9 . _ -)",
            param_hint="--topic",
        )
    return role_or_name


@contextmanager
def quiet_kafka_logs() -> Iterator[None]:
    """kafka-python logs every failed connection attempt; the command says it once instead."""
    logger = logging.getLogger("kafka")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def describe_error(exc: BaseException) -> str:
    """`KafkaTimeoutError: Unable to bootstrap ...`: kafka-python's str() may hold the name."""
    name, text = type(exc).__name__, str(exc)
    return text if text.startswith(name) else f"{name}: {text}" if text else name


def unreachable(servers: str, exc: BaseException) -> NoReturn:
    fail(
        f"cannot reach Kafka at {servers} ({describe_error(exc)}); check "
        "ENGAGE_KAFKA_BOOTSTRAP (or --bootstrap) and that the broker is up"
    )


def open_consumer(connection: dict[str, Any]) -> KafkaConsumer:
    """A group-less consumer, or exit 1 naming the bootstrap servers it could not reach."""
    servers = ",".join(connection["bootstrap_servers"])
    try:
        with quiet_kafka_logs():
            return KafkaConsumer(
                **connection,
                group_id=None,
                enable_auto_commit=False,
                bootstrap_timeout_ms=CONNECT_TIMEOUT_MS,
                fetch_max_wait_ms=200,
            )
    except KafkaError as exc:
        unreachable(servers, exc)


def partitions_of(consumer: KafkaConsumer, topic: str, servers: str) -> list[TopicPartition]:
    """The topic's partitions, or exit 1 saying the topic does not exist there."""
    try:
        with quiet_kafka_logs():
            ids = consumer.partitions_for_topic(topic)
    except KafkaError as exc:
        unreachable(servers, exc)
    if not ids:
        fail(
            f"topic {topic} does not exist on {servers}; "
            "`engage-stream topics create` creates the topics of the topics file"
        )
    return [TopicPartition(topic, p) for p in sorted(ids)]


def _not_json(constant: str) -> NoReturn:
    raise ValueError(f"{constant} is not JSON")


def _json_or_b64(raw: bytes | None, b64_field: str) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_not_json)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {b64_field: base64.b64encode(raw).decode("ascii")}


def _key(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"key_b64": base64.b64encode(raw).decode("ascii")}


def render(record: ConsumerRecord, meta: bool) -> str:
    """One JSON line: the value as JSON, or {"value_b64": ...}; with `meta`, where it lay too."""
    value = _json_or_b64(record.value, "value_b64")
    document: Any = value
    if meta:
        document = {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "timestamp": record.timestamp,
            "key": _key(record.key),
            "value": value,
        }
    line = json.dumps(document, ensure_ascii=False, allow_nan=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape: keep it escaped
        line = json.dumps(document, ensure_ascii=True, allow_nan=False)
    return line


def consume(
    topic: Annotated[
        str,
        typer.Option("--topic", "-t", help=f"A role ({ROLES}) or a literal topic name."),
    ],
    max_records: Annotated[
        int | None, typer.Option("--max", min=1, help="Stop after this many records.")
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(min=0, help="Stop when nothing new arrived for this many seconds."),
    ] = 5.0,
    from_beginning: Annotated[
        bool,
        typer.Option(
            "--from-beginning/--latest", help="Start at the oldest record, or at the end."
        ),
    ] = True,
    meta: Annotated[
        bool,
        typer.Option(
            "--meta", help="Print {topic, partition, offset, timestamp, key, value} per record."
        ),
    ] = False,
    bootstrap: Bootstrap = None,
) -> None:
    """Print a topic's records as JSON lines: the value as JSON, else {"value_b64": ...}."""
    settings = startup(kafka_bootstrap=bootstrap)
    name = resolve_topic(topics_of(settings), topic)
    connection = kafka_connection(settings)
    servers = settings.kafka_bootstrap
    consumer = open_consumer(connection)
    printed = 0
    try:
        partitions = partitions_of(consumer, name, servers)
        # --latest: the ends from fetch high watermarks (Tansu answers ListOffsets short).
        ends = None if from_beginning else partition_ends(consumer, partitions)
        consumer.assign(partitions)
        if ends is None:
            consumer.seek_to_beginning(*partitions)
        else:
            for tp in partitions:
                consumer.seek(tp, ends[tp])
        printed = _print_records(consumer, max_records, timeout, meta)
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from complaining
        # about the unflushable stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except KafkaError as exc:
        fail(f"reading {name} from {servers} failed: {describe_error(exc)}")
    finally:
        consumer.close()
    log.debug("consume_finished", topic=name, records=printed)
    typer.echo(f"consumed {printed} records from {name}", err=True)


def _print_records(
    consumer: KafkaConsumer, max_records: int | None, timeout_s: float, meta: bool
) -> int:
    printed = 0
    last_new = time.monotonic()
    while max_records is None or printed < max_records:
        idle = time.monotonic() - last_new
        if idle >= timeout_s:
            break
        batch = consumer.poll(timeout_ms=max(1, int(min(0.2, timeout_s - idle) * 1000)))
        for records in batch.values():
            for record in records:
                sys.stdout.write(render(record, meta) + "\n")
                sys.stdout.flush()
                printed += 1
                if max_records is not None and printed >= max_records:
                    return printed
            if records:
                last_new = time.monotonic()
    return printed
