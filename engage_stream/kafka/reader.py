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
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        listed_end = consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if listed_end[tp] > consumer.position(tp)}
        end: dict[TopicPartition, int] = {}
        deadline = time.monotonic() + timeout_s
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"read of {topic} stopped short of its end after {timeout_s}s")
            batch = consumer.poll(timeout_ms=200)
            for tp in list(remaining):
                if tp not in end and consumer.highwater(tp) is not None:
                    end[tp] = max(consumer.highwater(tp), listed_end[tp])
            for tp, records in batch.items():
                yield from (r for r in records if tp not in end or r.offset < end[tp])
            remaining -= {tp for tp in end if consumer.position(tp) >= end[tp]}
    finally:
        consumer.close()
