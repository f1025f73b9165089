"""Producing, reading back and consumer groups behave the same on both real brokers."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from aiokafka import AIOKafkaConsumer
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from engage_stream.brokers import BrokerProcess
from engage_stream.kafka.reader import read_to_end

# kafka-python 3.x group consumers on Tansu wait out the whole rebalance timeout unless
# max_poll_interval_ms is small (DESIGN.md); these values keep group tests quick on both.
GROUP_TIMEOUTS = {
    "max_poll_interval_ms": 3_000,
    "session_timeout_ms": 6_000,
    "heartbeat_interval_ms": 1_000,
}


def _create(broker: BrokerProcess, topic: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    admin.create_topics([NewTopic(topic, partitions, 1)])
    admin.close()


def _produce(broker: BrokerProcess, topic: str, count: int, customers: int = 13) -> list[bytes]:
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5)
    values = []
    for i in range(count):
        value = f'{{"seq": {i}, "customer": "C{i % customers:03d}"}}'.encode()
        producer.send(topic, key=f"C{i % customers:03d}".encode(), value=value)
        values.append(value)
    producer.flush()
    producer.close()
    return values


def test_read_to_end_returns_every_record_once_in_partition_order(
    broker: BrokerProcess, connection: dict[str, object], topic: str
) -> None:
    _create(broker, topic, 4)
    sent = _produce(broker, topic, 500)

    records = list(read_to_end(connection, topic))

    assert sorted(r.value for r in records) == sorted(sent)
    per_partition: dict[int, list[int]] = {}
    for r in records:
        per_partition.setdefault(r.partition, []).append(r.offset)
    assert all(offsets == sorted(offsets) for offsets in per_partition.values())


def test_one_key_always_lands_on_one_partition(
    broker: BrokerProcess, connection: dict[str, object], topic: str
) -> None:
    _create(broker, topic, 4)
    _produce(broker, topic, 200)

    partitions_of_key: dict[bytes, set[int]] = {}
    for r in read_to_end(connection, topic):
        partitions_of_key.setdefault(r.key, set()).add(r.partition)

    assert all(len(p) == 1 for p in partitions_of_key.values())
    assert len({next(iter(p)) for p in partitions_of_key.values()}) > 1


def test_an_empty_topic_reads_as_empty(
    connection: dict[str, object], broker: BrokerProcess, topic: str
) -> None:
    _create(broker, topic, 2)
    assert list(read_to_end(connection, topic)) == []


def test_a_consumer_group_resumes_after_its_committed_offset(
    broker: BrokerProcess, topic: str
) -> None:
    _create(broker, topic, 2)
    first_batch = _produce(broker, topic, 40)

    def consume(expected: int) -> list[bytes]:
        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=broker.bootstrap,
            group_id=f"{topic}.group",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **GROUP_TIMEOUTS,
        )
        got: list[bytes] = []
        deadline = time.monotonic() + 30
        while len(got) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                got.extend(r.value for r in records)
        consumer.commit()
        consumer.close()
        return got

    assert sorted(consume(40)) == sorted(first_batch)
    second_batch = _produce(broker, topic, 10)
    assert sorted(consume(10)) == sorted(second_batch)


async def test_two_aiokafka_members_of_one_group_split_the_partitions(
    broker: BrokerProcess, topic: str
) -> None:
    """aiokafka is Faust's client: a group of two shares the work with no record twice."""
    _create(broker, topic, 4)

    def member() -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            topic,
            bootstrap_servers=broker.bootstrap,
            group_id=f"{topic}.workers",
            auto_offset_reset="earliest",
            session_timeout_ms=6_000,
            heartbeat_interval_ms=1_000,
            max_poll_interval_ms=10_000,
            rebalance_timeout_ms=6_000,
        )

    members = [member(), member()]
    for m in members:
        await m.start()
    seen: Counter[bytes] = Counter()
    try:
        deadline = time.monotonic() + 60
        while not all(m.assignment() for m in members) and time.monotonic() < deadline:
            await asyncio.gather(*(m.getmany(timeout_ms=300) for m in members))
        sent = _produce(broker, topic, 400)
        while sum(seen.values()) < len(sent) and time.monotonic() < deadline:
            batches = await asyncio.gather(*(m.getmany(timeout_ms=500) for m in members))
            for batch in batches:
                for records in batch.values():
                    seen.update(r.value for r in records)
        final = [{tp.partition for tp in m.assignment()} for m in members]
    finally:
        for m in members:
            await m.stop()

    assert sorted(seen) == sorted(sent)
    assert max(seen.values()) == 1
    assert final[0], "the first member holds partitions"
    assert final[1], "the second member holds partitions"
    assert final[0].isdisjoint(final[1])
    assert final[0] | final[1] == {0, 1, 2, 3}
