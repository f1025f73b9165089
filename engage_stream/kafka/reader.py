"""Read a topic from the beginning to the end it had when reading started.

No consumer group: assign + seek, so nothing waits on a rebalance and the read ends by
itself. The replay command and `consume` build on this.

Where a partition ends is taken from the high watermark of the first fetch response, not
from ListOffsets alone: the embedded Tansu broker answers ListOffsets(latest) with the last
batch's base offset + 1, which falls short of the real end whenever batches hold more than
one record. ListOffsets is still right about which partitions are empty.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord


def partition_ends(
    consumer: KafkaConsumer, partitions: list[TopicPartition], timeout_s: float = 30.0
) -> dict[TopicPartition, int]:
    """The end offset of each partition: ListOffsets for empty ones, fetch high watermarks
    for the others. Leaves the consumer assigned to nothing."""
    listed = consumer.end_offsets(partitions)
    first = consumer.beginning_offsets(partitions)
    busy = [tp for tp in partitions if listed[tp] > first[tp]]
    ends = {tp: listed[tp] for tp in partitions if tp not in busy}
    if busy:
        consumer.assign(busy)
        for tp in busy:
            consumer.seek(tp, first[tp])
        deadline = time.monotonic() + timeout_s
        while len(ends) < len(partitions):
            if time.monotonic() > deadline:
                names = sorted({tp.topic for tp in busy})
                raise TimeoutError(f"no fetch answer for {', '.join(names)} in {timeout_s}s")
            consumer.poll(timeout_ms=200, max_records=1)
            for tp in busy:
                mark = consumer.highwater(tp)
                if tp not in ends and mark is not None:
                    ends[tp] = max(mark, listed[tp])
    consumer.assign([])
    return ends


def read_to_end(
    connection: dict[str, Any], topic: str, timeout_s: float = 30.0
) -> Iterator[ConsumerRecord]:
    """Every record in `topic` up to its end; TimeoutError if the end is not reached in time."""
    consumer = KafkaConsumer(**connection, enable_auto_commit=False, group_id=None)
    try:
        ids = sorted(consumer.partitions_for_topic(topic) or [])
        if not ids:
            raise ValueError(f"topic {topic!r} does not exist")
        partitions = [TopicPartition(topic, p) for p in ids]
        ends = partition_ends(consumer, partitions, timeout_s)
        first = consumer.beginning_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > first[tp]}
        if not remaining:
            return
        consumer.assign(sorted(remaining))
        for tp in remaining:
            consumer.seek(tp, first[tp])
        deadline = time.monotonic() + timeout_s
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"read of {topic} stopped short of its end after {timeout_s}s")
            for tp, records in consumer.poll(timeout_ms=200).items():
                yield from (r for r in records if r.offset < ends[tp])
            remaining -= {tp for tp in remaining if consumer.position(tp) >= ends[tp]}
    finally:
        consumer.close()
