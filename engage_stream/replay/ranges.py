"""Which offsets of each partition a replay covers, from timestamps or from offsets.

Timestamps are resolved with ListOffsets (`offsets_for_times`) and the answer is checked
against the records themselves: a broker that cannot look up by time (the embedded Tansu
broker answers offset 0 with timestamp -1) falls back to a scan of the partition. The end
of a partition comes from `kafka.reader.partition_ends`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from kafka import KafkaConsumer, TopicPartition

from engage_stream.kafka.reader import partition_ends


class RangeError(ValueError):
    """The asked range cannot be resolved; the message says which part and why."""


@dataclass(frozen=True, slots=True)
class RangeSpec:
    """Start and end (exclusive) by time, or by offset per partition; None = topic edge."""

    start_time: datetime | None = None
    end_time: datetime | None = None
    start_offsets: dict[int, int] | None = None
    end_offsets: dict[int, int] | None = None

    def __post_init__(self) -> None:
        if self.start_time is not None and self.start_offsets is not None:
            raise RangeError("give the start as a time or as offsets, not both")
        if self.end_time is not None and self.end_offsets is not None:
            raise RangeError("give the end as a time or as offsets, not both")
        for moment in (self.start_time, self.end_time):
            if moment is not None and moment.tzinfo is None:
                raise RangeError(f"{moment.isoformat()} has no UTC offset (write +09:00 for KST)")
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise RangeError("the end time must be after the start time")


@dataclass(frozen=True, slots=True)
class OffsetRange:
    start: int
    end: int
    """Exclusive."""

    @property
    def size(self) -> int:
        return max(0, self.end - self.start)


def parse_offsets(text: str) -> dict[int, int]:
    """'0:120,1:98' -> {0: 120, 1: 98}."""
    offsets: dict[int, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        partition, sep, offset = part.partition(":")
        if not sep or not partition.isdigit() or not offset.isdigit():
            raise RangeError(f"{part!r} is not PARTITION:OFFSET")
        offsets[int(partition)] = int(offset)
    return offsets


def timestamp_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def resolve(consumer: KafkaConsumer, topic: str, spec: RangeSpec) -> dict[int, OffsetRange]:
    ids = sorted(consumer.partitions_for_topic(topic) or [])
    if not ids:
        raise RangeError(f"topic {topic!r} does not exist")
    partitions = [TopicPartition(topic, p) for p in ids]
    first = consumer.beginning_offsets(partitions)
    try:
        last = partition_ends(consumer, partitions)
    except TimeoutError as exc:
        raise RangeError(str(exc)) from None
    ranges: dict[int, OffsetRange] = {}
    for tp in partitions:
        low, high = first[tp], last[tp]
        start = _edge(consumer, tp, low, high, spec.start_time, spec.start_offsets, low)
        end = _edge(consumer, tp, low, high, spec.end_time, spec.end_offsets, high)
        ranges[tp.partition] = OffsetRange(start=start, end=max(start, end))
    return ranges


def _edge(
    consumer: KafkaConsumer,
    tp: TopicPartition,
    low: int,
    high: int,
    moment: datetime | None,
    offsets: dict[int, int] | None,
    default: int,
) -> int:
    if offsets is not None:
        if tp.partition not in offsets:
            return default
        return min(max(offsets[tp.partition], low), high)
    if moment is None:
        return default
    return offset_for_time(consumer, tp, low, high, timestamp_ms(moment))


def offset_for_time(
    consumer: KafkaConsumer, tp: TopicPartition, low: int, high: int, wanted_ms: int
) -> int:
    """First offset whose record timestamp is >= `wanted_ms` (`high` when there is none)."""
    if high <= low:
        return low
    answer = consumer.offsets_for_times({tp: wanted_ms}).get(tp)
    guess = high if answer is None else answer.offset
    if _is_first_at_or_after(consumer, tp, low, high, guess, wanted_ms):
        return guess
    return _scan(consumer, tp, low, high, wanted_ms)


def _timestamp_at(consumer: KafkaConsumer, tp: TopicPartition, offset: int) -> int | None:
    consumer.assign([tp])
    consumer.seek(tp, offset)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200, max_records=1).values():
            for record in records:
                if record.offset == offset:
                    return int(record.timestamp)
                return None  # a compacted or transaction gap: not checkable here
    return None


def _is_first_at_or_after(
    consumer: KafkaConsumer, tp: TopicPartition, low: int, high: int, offset: int, wanted: int
) -> bool:
    if offset < low or offset > high:
        return False
    if offset < high:
        at = _timestamp_at(consumer, tp, offset)
        if at is None or at < wanted:
            return False
    if offset > low:
        before = _timestamp_at(consumer, tp, offset - 1)
        if before is None or before >= wanted:
            return False
    return True


def _scan(consumer: KafkaConsumer, tp: TopicPartition, low: int, high: int, wanted: int) -> int:
    consumer.assign([tp])
    consumer.seek(tp, low)
    position = low
    deadline = time.monotonic() + 120
    while position < high:
        if time.monotonic() > deadline:
            raise RangeError(f"scan of {tp.topic}/{tp.partition} for a timestamp took too long")
        for records in consumer.poll(timeout_ms=200).values():
            for record in records:
                if record.timestamp >= wanted:
                    return int(record.offset)
                position = record.offset + 1
    return high
