"""A customer's events and profile meet their state whatever the producers did.

The case that broke before re-keying: profiles from kafka-python (murmur2, the Java
clients' partitioner), carts from confluent-kafka (librdkafka's CRC32 `consistent_random`),
some carts with no key and some keyed by the wrong field, two workers in one group. A
customer's cart landed on a partition whose owner did not hold the profile (a wrong
`no_advertising_consent`), and two carts of one customer could meet two states (a cap
broken).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from engage_stream.brokers import ApacheKafkaBroker
from engage_stream.kafka.partitioner import partition_for
from engage_stream.kafka.reader import read_to_end
from engage_stream.kafka.topics import TopicRole
from tests.worker.pipeline import KST, Pipeline, by_source, cart, profile

pytestmark = [pytest.mark.broker, pytest.mark.apache_kafka]

AFTERNOON = datetime(2026, 11, 26, 14, 0, tzinfo=KST)
CONSENTING = [f"C-{i:02d}" for i in range(40)]
REFUSING = [f"N-{i:02d}" for i in range(10)]


@pytest.fixture
def pipeline(apache_kafka: ApacheKafkaBroker, tmp_path: Path) -> Iterator[Pipeline]:
    pipe = Pipeline(apache_kafka, tmp_path)
    yield pipe
    pipe.close()


@pytest.fixture
def producers(pipeline: Pipeline) -> Iterator[Producers]:
    made = Producers(pipeline)
    yield made
    made.close()


class Producers:
    """Three producers no one here wrote the partitioning of."""

    def __init__(self, pipe: Pipeline) -> None:
        self.pipe = pipe
        self.librdkafka = Producer({"bootstrap.servers": pipe.broker.bootstrap, "acks": "all"})
        self.topic = pipe.name(TopicRole.EVENTS)

    def send(self, style: str, event: dict[str, Any]) -> None:
        value = json.dumps(event, ensure_ascii=False).encode()
        if style == "librdkafka-keyed":
            self.librdkafka.produce(self.topic, value, key=event["customer_id"].encode())
        elif style == "librdkafka-unkeyed":
            self.librdkafka.produce(self.topic, value)
        elif style == "mis-keyed":  # kafka-python, keyed by the event id, not the customer
            self.pipe.send(TopicRole.EVENTS, value, event["event_id"].encode())
        else:
            raise ValueError(style)

    def flush(self) -> None:
        assert self.librdkafka.flush(30) == 0
        self.pipe.flush()

    def close(self) -> None:
        self.librdkafka.flush(5)
        del self.librdkafka  # librdkafka's handle goes with its last reference


STYLES = ("librdkafka-keyed", "librdkafka-unkeyed", "mis-keyed")


def _handled(pipe: Pipeline, role: TopicRole) -> float:
    name = pipe.name(role)
    return sum(w.scrape().total("engage_events_in_total", topic=name) for w in pipe.workers)


def _wait(pipe: Pipeline, done: Any, what: str, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"{what} not done; logs in {pipe.directory}"
        time.sleep(0.5)


def test_every_consenting_customer_gets_one_email_whatever_client_or_key_sent_the_cart(
    pipeline: Pipeline, producers: Producers
) -> None:
    partitions = pipeline.topics.topics[TopicRole.EVENTS].partitions
    for customer in CONSENTING:
        pipeline.send_profile(profile(customer, consents={"email": {"advertising": True}}))
    for customer in REFUSING:
        pipeline.send_profile(profile(customer))
    pipeline.flush()
    first = [pipeline.worker().start(), pipeline.worker().start()]
    _wait(pipeline, lambda: all(w.ready() for w in first), "both workers ready")
    everyone = CONSENTING + REFUSING
    _wait(
        pipeline,
        lambda: _handled(pipeline, TopicRole.PROFILES) >= len(everyone),
        "profiles kept",
    )

    # One cart each, by three clients and keys: many land where the profile is not.
    for i, customer in enumerate(everyone):
        producers.send(STYLES[i % 3], cart(f"E1-{customer}", customer, AFTERNOON))
    producers.flush()
    # The reminders are held an hour (journeys): stream time moves past it.
    pipeline.wait_for_count(TopicRole.ENRICHED, len(everyone), 120)
    clocks = pipeline.advance_stream_time(AFTERNOON + timedelta(hours=1, minutes=10))
    emails = pipeline.wait_for(
        TopicRole.ACTIONS_EMAIL, lambda r: len(by_source(r)) >= len(CONSENTING), 120
    )
    # Four hours later a second cart each, by another client: inside the 24 h cap.
    later = AFTERNOON + timedelta(hours=4)
    for i, customer in enumerate(everyone):
        producers.send(STYLES[(i + 1) % 3], cart(f"E2-{customer}", customer, later))
    producers.flush()
    pipeline.wait_for_count(TopicRole.ENRICHED, 2 * len(everyone) + len(clocks), 120)
    clocks += pipeline.advance_stream_time(later + timedelta(hours=1, minutes=10))
    suppressed = pipeline.wait_for(
        TopicRole.SUPPRESSIONS, lambda r: len(by_source(r)) >= len(everyone) + len(REFUSING), 60
    )
    emails = pipeline.read(TopicRole.ACTIONS_EMAIL)

    # The producers did split the customers: otherwise this test proves nothing.
    raw = [
        r
        for r in read_to_end(pipeline.connection, pipeline.name(TopicRole.EVENTS))
        if json.loads(r.value)["event_id"] not in clocks
    ]
    assert len(raw) == 2 * len(everyone)
    misplaced = {
        json.loads(r.value)["customer_id"]
        for r in raw
        if r.partition != partition_for(json.loads(r.value)["customer_id"], partitions)
    }
    assert len(misplaced) >= len(everyone) // 2, misplaced

    sent_to = sorted({e["customer_id"] for e in emails})
    assert sent_to == CONSENTING  # every consenting customer, no one else
    assert len(by_source(emails)) == len(CONSENTING)  # one each: the cap held
    reasons = {
        (s["customer_id"], s["source_event_id"][:2]): s["reason"]
        for s in suppressed
        if s["customer_id"] in CONSENTING
    }
    assert set(reasons.values()) == {"frequency_cap"}
    assert sorted(c for c, wave in reasons if wave == "E2") == CONSENTING
    refused = {s["reason"] for s in suppressed if s["customer_id"] in REFUSING}
    assert refused == {"no_advertising_consent"}
    assert pipeline.read(TopicRole.DLQ) == []
    assert all(w.running() for w in pipeline.workers)
