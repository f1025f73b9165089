"""Replay ranges: by offsets, and by time on brokers with and without time lookup."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from engage_stream.brokers import BrokerProcess
from engage_stream.replay.ranges import RangeError, RangeSpec, parse_offsets, resolve

BASE_MS = 1_795_000_000_000


@pytest.fixture
def timed_topic(broker: BrokerProcess) -> str:
    """Two partitions, ten records each, one second apart (partition 1 starts 0.5 s later)."""
    name = f"ranges.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    admin.create_topics([NewTopic(name, 2, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for i in range(10):
        producer.send(name, b"a", partition=0, timestamp_ms=BASE_MS + i * 1000)
        producer.send(name, b"b", partition=1, timestamp_ms=BASE_MS + 500 + i * 1000)
    producer.flush()
    producer.close()
    return name


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@pytest.mark.broker
def test_a_time_range_resolves_to_the_first_records_at_or_after_each_edge(
    broker: BrokerProcess, timed_topic: str
) -> None:
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    spec = RangeSpec(start_time=_at(BASE_MS + 3_200), end_time=_at(BASE_MS + 7_000))
    ranges = resolve(consumer, timed_topic, spec)
    consumer.close()
    # partition 0: records at 0,1,...,9 s -> [4 s, 7 s) = offsets 4..6
    assert (ranges[0].start, ranges[0].end) == (4, 7)
    # partition 1: records at 0.5, 1.5, ... -> [3.5 s, 6.5 s] = offsets 3..6
    assert (ranges[1].start, ranges[1].end) == (3, 7)


@pytest.mark.broker
def test_no_edges_cover_the_whole_topic_and_offsets_are_clamped(
    broker: BrokerProcess, timed_topic: str
) -> None:
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    whole = resolve(consumer, timed_topic, RangeSpec())
    by_offsets = resolve(
        consumer, timed_topic, RangeSpec(start_offsets={0: 2}, end_offsets={0: 50, 1: 5})
    )
    consumer.close()
    assert {p: (r.start, r.end) for p, r in whole.items()} == {0: (0, 10), 1: (0, 10)}
    assert {p: (r.start, r.end) for p, r in by_offsets.items()} == {0: (2, 10), 1: (0, 5)}


def test_offsets_parse_and_bad_ranges_are_refused_with_the_reason() -> None:
    assert parse_offsets("0:120, 1:98") == {0: 120, 1: 98}
    with pytest.raises(RangeError, match="PARTITION:OFFSET"):
        parse_offsets("0=120")
    with pytest.raises(RangeError, match="UTC offset"):
        RangeSpec(start_time=datetime(2026, 11, 26, 9))
    with pytest.raises(RangeError, match="after the start"):
        RangeSpec(start_time=_at(BASE_MS + 5), end_time=_at(BASE_MS))
    with pytest.raises(RangeError, match="not both"):
        RangeSpec(start_time=_at(BASE_MS), start_offsets={0: 1})


def test_paced_replay_follows_record_time_at_the_asked_speed() -> None:
    from types import SimpleNamespace
    from typing import Any, cast

    from engage_stream.replay.ranges import OffsetRange
    from engage_stream.replay.runner import ReplayPlan, ReplayRunner

    plan = ReplayPlan("events", None, {0: OffsetRange(0, 3)}, {0: 0})
    runner = ReplayRunner(
        {}, plan, cast(Any, None), cast(Any, None), cast(Any, None), None,
        run_id="paced", speed=4.0,
    )  # fmt: skip
    started = time.monotonic()
    for ms in (0, 1_000, 2_000):  # two seconds of record time at 4x: half a second
        runner._pace(cast(Any, SimpleNamespace(timestamp=BASE_MS + ms, partition=0)))
    assert 0.45 <= time.monotonic() - started < 1.0
