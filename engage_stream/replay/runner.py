"""Replay a range of an event topic through the same core as the live worker.

The state the live run had when the range starts is rebuilt first: profile updates from the
customers topic and the events before the range (the warm-up) go through the core too, with
their outputs dropped. Inside the range, every output goes to the sink: never to a live
topic (see `sinks`). Same records in, same decisions and action ids out as the live run,
given the same models (fp32 for scores that do not depend on batch composition) and policy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord

from engage_stream.core.processor import EngagementCore
from engage_stream.enrichment.state import Position
from engage_stream.ingest.records import RawRecord
from engage_stream.kafka.topics import TopicRole
from engage_stream.replay import checkpoint as checkpoints
from engage_stream.replay.ranges import OffsetRange, RangeSpec, resolve
from engage_stream.replay.sinks import Sink
from engage_stream.replay.stream import Slice, merged
from engage_stream.step.outputs import Output
from engage_stream.step.step import BatchScorer, Clock, Step, utc_now
from engage_stream.step.store import MemoryStore

Progress = Callable[["ReplayProgress"], None]

END_OF_REPLAY = "replay:end"
"""The position the releases at the end of a replay are made at."""


@dataclass
class ReplayProgress:
    processed: int = 0
    """Records read so far, warm-up and profiles included."""
    in_range: int = 0
    """Events of the range processed."""
    total_in_range: int = 0
    warming_up: bool = True
    latest_event_time: datetime | None = None


@dataclass
class ReplayCounts:
    enriched: int = 0
    handoffs: int = 0
    messages: int = 0
    suppressions: int = 0
    dlq: int = 0
    warm_up_events: int = 0
    profile_updates: int = 0


@dataclass
class ReplayPlan:
    events_topic: str
    customers_topic: str | None
    ranges: dict[int, OffsetRange]
    """The range asked for, per events partition."""
    warm_up_from: dict[int, int]
    """Where reading starts per events partition (at or before the range start)."""
    customers_ends: dict[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(r.size for r in self.ranges.values())


def plan(
    connection: dict[str, Any],
    events_topic: str,
    customers_topic: str | None,
    spec: RangeSpec,
    warm_up: RangeSpec | None,
) -> ReplayPlan:
    """Offsets to read. `warm_up` None: from the start of the topic (the live run's state)."""
    consumer = KafkaConsumer(**connection, enable_auto_commit=False, group_id=None)
    try:
        ranges = resolve(consumer, events_topic, spec)
        if warm_up is None:
            starts = {p: r.start for p, r in resolve(consumer, events_topic, RangeSpec()).items()}
        else:
            starts = {p: r.start for p, r in resolve(consumer, events_topic, warm_up).items()}
        warm_up_from = {p: min(starts.get(p, r.start), r.start) for p, r in ranges.items()}
        customers_ends: dict[int, int] = {}
        if customers_topic is not None:
            customers_ends = {
                p: r.end for p, r in resolve(consumer, customers_topic, RangeSpec()).items()
            }
        return ReplayPlan(events_topic, customers_topic, ranges, warm_up_from, customers_ends)
    finally:
        consumer.close()


class ReplayRunner:
    def __init__(
        self,
        connection: dict[str, Any],
        plan: ReplayPlan,
        scorer: BatchScorer,
        core: EngagementCore,
        sink: Sink,
        run_dir: Any,
        *,
        run_id: str,
        batch_size: int = 256,
        speed: float | None = None,
        checkpoint_every: int = 2_000,
        progress: Progress | None = None,
        clock: Clock = utc_now,
        mask_text: bool = False,
        partitions: int = 1,
        advance_to: datetime | Literal["end"] | None = "end",
    ) -> None:
        """`partitions`: the live stateful stage's (engage.scored's), so that stream time
        moves per partition as it did live. `advance_to`: once the range is read, release
        the held offers due by then as an idle live partition would (`end`: the latest
        record timestamp read, when the live pipeline had caught up with the range)."""
        self.connection = connection
        self.plan = plan
        self.partitions = partitions
        self.advance_to = advance_to
        self._latest_logged_ms: int | None = None
        self.step = Step(core, scorer, clock=clock, mask_text=mask_text, partitions=partitions)
        self.sink = sink
        self.run_dir = run_dir
        self.run_id = run_id
        self.batch_size = batch_size
        self.speed = speed
        self.checkpoint_every = checkpoint_every
        self.report = progress or (lambda _: None)
        # Objects in memory; JSON only in checkpoints.
        self.store = MemoryStore(partitions)
        self.counts = ReplayCounts()
        self.state = ReplayProgress(total_in_range=plan.total)
        # Per events partition: reached the range (outputs are written from there on).
        self._live: dict[int, bool] = {
            p: plan.warm_up_from[p] >= r.start for p, r in plan.ranges.items()
        }
        self.state.warming_up = not all(self._live.values())
        self._next: dict[str, int] = {}
        self._pace_origin: tuple[float, int] | None = None
        self.checkpoints = 0

    # -- the loop ---------------------------------------------------------------------------

    def run(self, resume: checkpoints.Checkpoint | None = None) -> ReplayCounts:
        if resume is not None:
            self._restore(resume)
        records = merged(self.connection, self._slices())
        since_checkpoint = 0
        for batch in _batches(records, self.batch_size):
            if self.state.in_range >= self.plan.total and self._live_everywhere():
                break  # only profile updates after the range are left
            self._process(batch)
            since_checkpoint += len(batch)
            self.report(self.state)
            if since_checkpoint >= self.checkpoint_every:
                self.checkpoint()
                since_checkpoint = 0
        self._advance()
        self.checkpoint(done=True)
        return self.counts

    def _advance(self) -> None:
        moment = self.advance_to
        if moment == "end":
            logged = self._latest_logged_ms
            moment = None if logged is None else datetime.fromtimestamp(logged / 1000, tz=UTC)
        if moment is None:
            return
        decided = self.step.advance_to(moment, Position(source=END_OF_REPLAY, offset=0), self.store)
        self._emit(decided.outputs)

    def _live_everywhere(self) -> bool:
        return all(self._live.values())

    def _slices(self) -> list[Slice]:
        plan = self.plan
        slices = []
        for partition, offsets in plan.ranges.items():
            key = f"{plan.events_topic}/{partition}"
            start = self._next.get(key, plan.warm_up_from[partition])
            slices.append(Slice(plan.events_topic, partition, start, offsets.end, rank=1))
        if plan.customers_topic is not None:
            for partition, end in plan.customers_ends.items():
                key = f"{plan.customers_topic}/{partition}"
                start = self._next.get(key, 0)
                slices.append(Slice(plan.customers_topic, partition, start, end, rank=0))
        return slices

    def _restore(self, saved: checkpoints.Checkpoint) -> None:
        self._next = dict(saved.next_offsets)
        self.store = MemoryStore.load(
            saved.profiles, saved.states, saved.stream_times, self.partitions
        )
        self._latest_logged_ms = saved.latest_logged_ms
        self.state.processed = saved.processed
        self.state.in_range = saved.in_range
        self.sink.restore(saved.output_marks)

    def checkpoint(self, done: bool = False) -> None:
        """Only between batches: every record before the marks is fully processed."""
        marks = self.sink.checkpoint()
        profiles, states, stream_times = self.store.dump()
        self.checkpoints += 1
        checkpoints.save(
            self.run_dir,
            checkpoints.Checkpoint(
                run_id=self.run_id,
                next_offsets=self._next,
                output_marks=marks,
                processed=self.state.processed,
                in_range=self.state.in_range,
                profiles=profiles,
                states=states,
                stream_times=stream_times,
                latest_logged_ms=self._latest_logged_ms,
                done=done,
            ),
        )

    def _process(self, batch: list[ConsumerRecord]) -> None:
        """Score the batch's events in one pass, then each record in order, as live."""
        raws = [_raw(record) for record in batch]
        events = [raw for raw in raws if raw.topic == self.plan.events_topic]
        ingested = iter(self.step.ingest(events).items if events else ())
        for record, raw in zip(batch, raws, strict=True):
            self._pace(record)
            self.state.processed += 1
            if raw.topic == self.plan.events_topic:
                self._event(raw, next(ingested))
            else:
                self._profile(raw)
            self._next[f"{record.topic}/{record.partition}"] = record.offset + 1
            if record.timestamp is not None and record.timestamp >= 0:
                self._latest_logged_ms = max(self._latest_logged_ms or 0, record.timestamp)

    def _event(self, raw: RawRecord, item: Any) -> None:
        in_range = raw.offset >= self.plan.ranges[raw.partition].start
        if in_range and not self._live[raw.partition]:
            self._live[raw.partition] = True
            self.state.warming_up = not self._live_everywhere()
        if in_range:
            self.state.in_range += 1
        else:
            self.counts.warm_up_events += 1
        if isinstance(item, Output):  # dead-lettered before the core
            if in_range:
                self._emit([item])
            return
        self.state.latest_event_time = item.event.occurred_at
        decided = self.step.decide(item, self.store)
        if in_range:
            self._emit(decided.outputs)

    def _profile(self, raw: RawRecord) -> None:
        decided = self.step.profile(raw, self.store)
        if decided.outcome is not None:  # a profile kept (not a tombstone or a dead letter)
            self.counts.profile_updates += 1
        after_range = self.state.in_range >= self.plan.total
        if self._live.get(raw.partition, False) and not after_range:
            self._emit(decided.outputs)

    def _emit(self, outputs: list[Output]) -> None:
        for output in outputs:
            self.sink.write(output)
            self._count(output.role)

    def _count(self, role: TopicRole) -> None:
        field = _COUNTED.get(role)
        if field is not None:
            setattr(self.counts, field, getattr(self.counts, field) + 1)

    def _pace(self, record: ConsumerRecord) -> None:
        """N x real time inside the range, by record timestamps; warm-up runs at full speed."""
        if not self.speed or not self._live.get(record.partition, False):
            return
        if self._pace_origin is None:
            self._pace_origin = (time.monotonic(), record.timestamp)
            return
        started, first = self._pace_origin
        due = started + (record.timestamp - first) / 1000 / self.speed
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)


_COUNTED = {
    TopicRole.ENRICHED: "enriched",
    TopicRole.ACTIONS_HANDOFF: "handoffs",
    TopicRole.ACTIONS_EMAIL: "messages",
    TopicRole.SUPPRESSIONS: "suppressions",
    TopicRole.DLQ: "dlq",
}
"""Which of `ReplayCounts` an output of each role adds to."""


def _raw(record: ConsumerRecord) -> RawRecord:
    return RawRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp_ms=record.timestamp,
        key=record.key,
        value=record.value,
    )


def _batches(records: Iterator[ConsumerRecord], size: int) -> Iterator[list[ConsumerRecord]]:
    batch: list[ConsumerRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
