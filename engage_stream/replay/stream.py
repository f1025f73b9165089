"""Records of several partitions in one order: by timestamp, then a fixed tie-break.

A customer's events and profile updates sit on the same partition number of their two
topics, so merging by time reproduces the order the live worker saw them in, closely
enough for decisions that depend only on that customer's own history. Each partition is
read from a start offset to an end offset (exclusive); buffers are bounded by pausing
partitions that run ahead.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

PAUSE_AT = 5_000
RESUME_AT = 1_000


@dataclass(frozen=True, slots=True)
class Slice:
    topic: str
    partition: int
    start: int
    end: int
    rank: int
    """Tie-break between topics at the same timestamp: lower goes first (profiles first)."""


def merged(
    connection: dict[str, Any], slices: list[Slice], idle_timeout_s: float = 30.0
) -> Iterator[ConsumerRecord]:
    active = [s for s in slices if s.end > s.start]
    if not active:
        return
    # CRCs are checked by the broker on write; in Python they cost a third of the read time.
    consumer = KafkaConsumer(
        **connection, enable_auto_commit=False, group_id=None, check_crcs=False
    )
    try:
        tps = {TopicPartition(s.topic, s.partition): s for s in active}
        consumer.assign(list(tps))
        for tp, s in tps.items():
            consumer.seek(tp, s.start)
        buffers: dict[TopicPartition, deque[ConsumerRecord]] = {tp: deque() for tp in tps}
        finished: set[TopicPartition] = set()
        paused: set[TopicPartition] = set()
        heap: list[tuple[int, int, int, int, TopicPartition]] = []
        queued: set[TopicPartition] = set()

        def refill() -> None:
            deadline = time.monotonic() + idle_timeout_s
            while any(not buffers[tp] and tp not in finished for tp in tps):
                if time.monotonic() > deadline:
                    missing = [f"{tp.topic}/{tp.partition}" for tp in tps if not buffers[tp]]
                    raise TimeoutError(f"no records from {', '.join(missing)} in time")
                for tp, records in consumer.poll(timeout_ms=200).items():
                    for record in records:
                        if record.offset < tps[tp].end:
                            buffers[tp].append(record)
                    if records and records[-1].offset + 1 >= tps[tp].end:
                        finished.add(tp)
                        consumer.pause(tp)
                for tp in tps:
                    if tp not in finished and consumer.position(tp) >= tps[tp].end:
                        finished.add(tp)
                        consumer.pause(tp)
                    size = len(buffers[tp])
                    if size > PAUSE_AT and tp not in paused and tp not in finished:
                        consumer.pause(tp)
                        paused.add(tp)
                    elif size < RESUME_AT and tp in paused:
                        consumer.resume(tp)
                        paused.discard(tp)
            for tp in tps:
                if buffers[tp] and tp not in queued:
                    head = buffers[tp][0]
                    heapq.heappush(
                        heap, (head.timestamp, tps[tp].rank, tp.partition, head.offset, tp)
                    )
                    queued.add(tp)

        refill()
        while heap:
            *_, tp = heapq.heappop(heap)
            queued.discard(tp)
            yield buffers[tp].popleft()
            if not buffers[tp] and tp not in finished:
                refill()
            elif buffers[tp]:
                head = buffers[tp][0]
                heapq.heappush(heap, (head.timestamp, tps[tp].rank, tp.partition, head.offset, tp))
                queued.add(tp)
    finally:
        consumer.close()
