"""Decode, score, decide: the work of one record, with one error policy for both shells.

Nothing in a record stops a shell: a record that does not decode, a batch the models
cannot score and a rule that raises each become a DLQ record saying what failed, with the
original bytes (or, after decoding, the event as decoded and where it came from). The
clock is a parameter so that two shells given the same records and the same clock give
the same bytes (tests/step/test_equivalence.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from engage_stream.core.processor import EngagementCore, Outcome
from engage_stream.enrichment.state import Position
from engage_stream.inference.scoring import BatchTiming
from engage_stream.ingest.records import (
    RawRecord,
    Tombstone,
    dead_letter,
    decode_event,
    decode_profile,
)
from engage_stream.ingest.retention import masked
from engage_stream.kafka.partitioner import partition_for
from engage_stream.kafka.topics import TopicRole
from engage_stream.observability.logs import get_logger
from engage_stream.schemas.dlq import DlqErrorClass, DlqRecord
from engage_stream.schemas.encoding import encoded
from engage_stream.schemas.enriched import KeyedProfile, ScoredEvent, SourcePosition, StreamTick
from engage_stream.schemas.events import CrmEvent
from engage_stream.schemas.scores import Scores
from engage_stream.schemas.validation import DEFAULT_MAX_RECORD_BYTES
from engage_stream.step.outputs import Output, dlq_output, outcome_outputs
from engage_stream.step.store import StateStore, StreamTime

log = get_logger("engage.step")

Clock = Callable[[], datetime]

SCORING_RETRY_DELAYS_S = (0.05, 0.5)
"""Seconds before each new try of a batch the models failed on."""


class FirstScoringTryError(RuntimeError):
    """The first try at scoring a batch failed (`Step.ingest(first_try_only=True)`)."""


class BatchScorer(Protocol):
    """What the step needs of `inference.scoring.Scorer`."""

    def score(self, events: Sequence[CrmEvent]) -> tuple[Sequence[Scores | None], BatchTiming]: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ScoringFailed:
    """An event the models failed on even alone, after the retries."""

    error: str


def _merged(timings: Sequence[BatchTiming]) -> BatchTiming | None:
    if not timings:
        return None
    seconds: dict[str, float] = {}
    for timing in timings:
        for model, spent in timing.seconds_by_model.items():
            seconds[model] = seconds.get(model, 0.0) + spent
    return BatchTiming(
        texts=sum(t.texts for t in timings),
        seconds_by_model=seconds,
        cached=sum(t.cached for t in timings),
    )


@dataclass(slots=True)
class Ingested:
    """A batch of event records, in order: each scored, or its dead letter."""

    items: list[ScoredEvent | Output]
    timing: BatchTiming | None = None
    """None when nothing was scored (no valid event, or the models failed)."""


@dataclass(slots=True)
class Decided:
    outputs: list[Output] = field(default_factory=list)
    outcome: Outcome | None = None
    """None when the record was dead-lettered or changed nothing the core decides on."""
    released: list[Outcome] = field(default_factory=list)
    """Held offers the record's stream time released (other customers' too), per customer."""


class Step:
    def __init__(
        self,
        core: EngagementCore,
        scorer: BatchScorer,
        *,
        clock: Clock = utc_now,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
        mask_text: bool = False,
        partitions: int = 1,
        retry_delays_s: Sequence[float] = SCORING_RETRY_DELAYS_S,
    ) -> None:
        """`mask_text`: keep only masked customer text once scored (`ingest.retention`).
        `partitions`: the stateful stage's (engage.scored's and engage.profiles')."""
        self.core = core
        self.scorer = scorer
        self.clock = clock
        self.max_record_bytes = max_record_bytes
        self.mask_text = mask_text
        self.partitions = partitions
        self.retry_delays_s = tuple(retry_delays_s)

    # -- events -----------------------------------------------------------------------------

    def ingest(self, records: Sequence[RawRecord], *, first_try_only: bool = False) -> Ingested:
        """Decode a batch of `crm.events` records and score the valid ones in one pass.
        `first_try_only`: a scoring failure raises `FirstScoringTryError` instead of being
        retried here (the retries sleep; a caller on an event loop retries elsewhere)."""
        now = self.clock()
        decoded = [decode_event(r, self.max_record_bytes, now) for r in records]
        events = [e for e in decoded if not isinstance(e, DlqRecord)]
        scores, timing = self._score(events, first_try_only) if events else ([], None)
        scored = iter(scores)
        items: list[ScoredEvent | Output] = []
        for record, document in zip(records, decoded, strict=True):
            if isinstance(document, DlqRecord):
                items.append(dlq_output(document))
                continue
            score = next(scored)
            if isinstance(score, ScoringFailed):
                error = DlqErrorClass.PROCESSING_ERROR
                reason = f"scoring failed: {score.error}"[:500]
                items.append(dlq_output(dead_letter(record, error, reason, None, now)))
                continue
            view = score.view() if score else None
            event = masked(document) if self.mask_text else document
            items.append(ScoredEvent(event=event, source=record.position, predictions=view))
        return Ingested(items, timing)

    def _score(
        self, events: Sequence[CrmEvent], first_try_only: bool = False
    ) -> tuple[list[Scores | ScoringFailed | None], BatchTiming | None]:
        """The batch's scores. A failing batch is tried again after each of `retry_delays_s`
        (a device busy or out of memory passes), then split in halves until what fails is
        one event: only an event the models cannot score goes to the DLQ, not its batch."""
        error: Exception | None = None
        for attempt, delay in enumerate((*self.retry_delays_s, None), start=1):
            try:
                scores, timing = self.scorer.score(events)
                return list(scores), timing
            except Exception as exc:  # a model failure must not lose the batch
                if first_try_only:
                    raise FirstScoringTryError(str(exc)[:300]) from exc
                error = exc
                if delay is None:
                    break
                log.warning(
                    "scoring_retried",
                    records=len(events),
                    attempt=attempt,
                    retry_in_s=delay,
                    error=str(exc)[:300],
                )
                time.sleep(delay)
        return self._isolate(events, error)

    def _isolate(
        self, events: Sequence[CrmEvent], error: Exception | None
    ) -> tuple[list[Scores | ScoringFailed | None], BatchTiming | None]:
        if len(events) == 1:
            event = events[0]
            log.error(
                "scoring_failed",
                event_id=event.event_id,
                error=str(error)[:300],
                action="the models fail on this event alone: see the DLQ record",
            )
            return [ScoringFailed(str(error))], None
        results: list[Scores | ScoringFailed | None] = []
        timings: list[BatchTiming] = []
        middle = len(events) // 2
        for half in (events[:middle], events[middle:]):
            try:
                scores, timing = self.scorer.score(half)
                results += scores
                timings.append(timing)
            except Exception as exc:
                found, timing_found = self._isolate(half, exc)
                results += found
                if timing_found is not None:
                    timings.append(timing_found)
        return results, _merged(timings)

    def decide(self, scored: ScoredEvent, store: StateStore, at: Position | None = None) -> Decided:
        """Join the customer's profile and state, run the core, keep the new state; then
        move the partition's stream time on and release what it made due. `at`: where the
        record sits in the stateful stage's input (the live `engage.scored` partition), the
        position its releases are made at; by default the event's own."""
        customer = scored.event.customer_id
        partition = partition_for(customer, self.partitions)
        kept = store.stream_time(partition)
        behind = _behind(scored)
        lateness = self.core.policy.journeys.lateness
        # Only a record that itself reached Kafka late (a backfill) has its held offers'
        # delays counted from the stream time it is behind: a live record a little out of
        # order across source partitions decides the same in any interleaving.
        backfilled = kept is not None and behind > lateness
        decided = self._decided(scored, store, kept.watermark if backfilled and kept else None)
        where = at if at is not None else _released_at(scored.source)
        self._released(
            decided, self._advance(partition, kept, scored, behind, lateness, where, store)
        )
        return decided

    def _decided(
        self, scored: ScoredEvent, store: StateStore, stream_time: datetime | None
    ) -> Decided:
        customer = scored.event.customer_id
        try:
            outcome = self.core.process(
                scored.event,
                scored.source,
                Scores.from_view(scored.predictions),
                store.profile(customer),
                store.state(customer),
                self.clock(),
                stream_time,
            )
        except Exception as exc:  # a bug in a rule must not stop the stream
            source = scored.source
            log.exception(
                "decision_failed",
                event_id=scored.event.event_id,
                source=f"{source.topic}/{source.partition}@{source.offset}",
            )
            return Decided([self._decoded_dead(scored, f"decision failed: {exc}")])
        if outcome.state is not None:
            store.put_state(customer, outcome.state)
        return Decided(outcome_outputs(customer, outcome), outcome)

    # -- journeys: held offers released by stream time (`policy.journeys`) -----------------

    def tick(self, tick: StreamTick, at: Position, store: StateStore) -> Decided:
        """An idle partition's tick: stream time moves to the tick's wall-clock time less
        the lateness and less how far behind the clock the partition's last record was
        (a backfill moves by the time it sat idle, not to today), for this release only:
        the events read next keep their own stream time."""
        kept = store.stream_time(tick.partition)
        behind = kept.behind if kept is not None else timedelta(0)
        watermark = tick.caught_up_at - self.core.policy.journeys.lateness - behind
        if kept is not None and kept.watermark > watermark:
            watermark = kept.watermark
        decided = Decided()
        self._released(decided, self._release(tick.partition, watermark, at, store))
        return decided

    def advance_to(self, moment: datetime, at: Position, store: StateStore) -> Decided:
        """Every partition ticked at `moment` (a replay's end: the range read, caught up)."""
        decided = Decided()
        for partition in range(self.partitions):
            tick = StreamTick(partition=partition, caught_up_at=moment)
            ticked = self.tick(tick, at, store)
            decided.outputs += ticked.outputs
            decided.released += ticked.released
        return decided

    def _advance(
        self,
        partition: int,
        kept: StreamTime | None,
        scored: ScoredEvent,
        behind: timedelta,
        lateness: timedelta,
        at: Position,
        store: StateStore,
    ) -> Decided:
        mark = scored.event.occurred_at - lateness
        watermark = mark if kept is None or mark > kept.watermark else kept.watermark
        store.put_stream_time(partition, StreamTime(watermark, behind))
        return self._release(partition, watermark, at, store)

    def _release(
        self, partition: int, watermark: datetime, at: Position, store: StateStore
    ) -> Decided:
        decided = Decided()
        customers = store.due(partition, watermark)
        if not customers:
            return decided
        now = self.clock()
        for customer in customers:
            state = store.state(customer)
            if state is None:
                continue
            try:
                outcome = self.core.release(
                    customer, store.profile(customer), state, watermark, at, now
                )
            except Exception as exc:  # a bug in a rule must not stop the stream
                log.exception("release_failed", customer_id=customer, at=f"{at.source}@{at.offset}")
                held = [p.model_dump(mode="json") for p in state.held]
                original = _record_at(at.to_source(), customer, json.dumps(held).encode())
                reason = f"release failed: {exc}"[:500]
                dead = dead_letter(original, DlqErrorClass.PROCESSING_ERROR, reason, None, now)
                decided.outputs.append(dlq_output(dead))
                continue
            if outcome.state is not None:
                store.put_state(customer, outcome.state)
            else:
                # Nothing due after all, or a release redone: the state holds it already.
                # What waits is what is open as of this input: after a restart an offer
                # released by a later input, not yet due here, is open again until that
                # input is processed again (the stored state has it closed).
                store.keep_due(customer, state.as_of(at))
            if outcome.messages or outcome.suppressions:
                decided.outputs += outcome_outputs(customer, outcome)
                decided.released.append(outcome)
        kept = store.stream_time(partition)
        if decided.released and kept is not None:
            store.put_stream_time(partition, kept, durable=True)
        return decided

    @staticmethod
    def _released(into: Decided, released: Decided) -> None:
        into.outputs += released.outputs
        into.released += released.released

    # -- the live worker's hand-over between its two stages ---------------------------------
    # Both hand-overs are keyed by customer id and sent to its partition by the one
    # partitioner, whatever key and partition the producer chose: a customer's events,
    # profile and state always meet in one partition of the stateful stage.

    def forward(self, scored: ScoredEvent) -> Output:
        """The `engage.scored` record of a scored event."""
        customer = scored.event.customer_id
        value = encoded(scored)
        return Output(
            TopicRole.SCORED, customer.encode(), value, partition_for(customer, self.partitions)
        )

    def received(self, record: RawRecord) -> ScoredEvent | StreamTick | Output:
        """An `engage.scored` record back as the scored event (keyed by its customer) or
        an idle partition's tick (unkeyed), or its dead letter."""
        try:
            if record.key is None:
                return StreamTick.model_validate_json(record.value or b"")
            return ScoredEvent.model_validate_json(record.value or b"")
        except Exception as exc:
            return self._internal_dead(record, exc)

    def ticked(self, partition: int, caught_up_at: datetime) -> Output:
        """The `engage.scored` record of an idle partition's tick."""
        tick = StreamTick(partition=partition, caught_up_at=caught_up_at)
        return Output(TopicRole.SCORED, None, encoded(tick), partition)

    def route_profile(self, record: RawRecord) -> Output:
        """A `crm.customers` record as its `engage.profiles` record, or its dead letter."""
        keyed = self._keyed_profile(record)
        if isinstance(keyed, Output):
            return keyed
        customer = keyed.customer_id
        return Output(
            TopicRole.PROFILES,
            customer.encode(),
            encoded(keyed),
            partition_for(customer, self.partitions),
        )

    def received_profile(self, record: RawRecord) -> KeyedProfile | Output:
        """An `engage.profiles` record back as the keyed profile, or its dead letter."""
        try:
            return KeyedProfile.model_validate_json(record.value or b"")
        except Exception as exc:
            return self._internal_dead(record, exc)

    def _internal_dead(self, record: RawRecord, exc: Exception) -> Output:
        reason = f"internal record: {exc}"[:500]
        return dlq_output(
            dead_letter(record, DlqErrorClass.PROCESSING_ERROR, reason, None, self.clock())
        )

    # -- profiles ---------------------------------------------------------------------------

    def profile(self, record: RawRecord, store: StateStore) -> Decided:
        """A `crm.customers` record in one go (the replay): decode, then keep."""
        keyed = self._keyed_profile(record)
        return Decided([keyed]) if isinstance(keyed, Output) else self.keep_profile(keyed, store)

    def keep_profile(self, keyed: KeyedProfile, store: StateStore) -> Decided:
        """Keep the profile (or forget it on a tombstone) and run the profile rules."""
        customer = keyed.customer_id
        profile = keyed.profile
        if profile is None:
            store.drop_profile(customer)
            return Decided()
        kept = store.profile(customer)
        if kept is not None and profile.updated_at < kept.updated_at:
            # Latest by `updated_at` wins: a snapshot re-sent late (a backfill, a retried
            # producer, a frozen worker's hand-over) must not take a newer consent back.
            log.info(
                "profile_older_than_kept",
                customer_id=customer,
                updated_at=profile.updated_at.isoformat(),
                kept=kept.updated_at.isoformat(),
            )
            return Decided()
        store.put_profile(customer, profile)
        now = self.clock()
        try:
            outcome = self.core.process_profile(profile, keyed.source, store.state(customer), now)
        except Exception as exc:
            log.exception("profile_rule_failed", customer_id=customer)
            original = _record_at(keyed.source, customer, encoded(profile))
            reason = f"profile rule: {exc}"[:500]
            return Decided(
                [
                    dlq_output(
                        dead_letter(original, DlqErrorClass.PROCESSING_ERROR, reason, None, now)
                    )
                ]
            )
        if outcome.state is not None:
            store.put_state(customer, outcome.state)
        return Decided(outcome_outputs(customer, outcome), outcome)

    def _keyed_profile(self, record: RawRecord) -> KeyedProfile | Output:
        decoded = decode_profile(record, self.max_record_bytes, self.clock())
        if isinstance(decoded, DlqRecord):
            return dlq_output(decoded)
        profile = None if isinstance(decoded, Tombstone) else decoded
        return KeyedProfile(
            customer_id=decoded.customer_id, source=record.position, profile=profile
        )

    def _decoded_dead(self, scored: ScoredEvent, reason: str) -> Output:
        """A DLQ record for an event that failed after decoding: its source coordinates and
        the event as decoded (the raw bytes are in `crm.events` at that offset)."""
        customer = scored.event.customer_id
        original = _record_at(scored.source, customer, encoded(scored.event))
        dead = dead_letter(
            original, DlqErrorClass.PROCESSING_ERROR, reason[:500], None, self.clock()
        )
        return dlq_output(dead)


def _released_at(source: SourcePosition) -> Position:
    """Where the releases an event made are written when the shell has no position of its
    own for them (the replay): beside the event's, not at it. At the event's own position a
    release would read as written by the event itself, be undone by `as_of` at once and
    never stored, and go out again with every later event."""
    return Position(source=f"{source.topic}/{source.partition}#releases", offset=source.offset)


def _behind(scored: ScoredEvent) -> timedelta:
    """How long the event took from happening to reaching Kafka (its record timestamp)."""
    logged = scored.source.timestamp_ms
    if logged is None:
        return timedelta(0)
    return max(
        timedelta(0), datetime.fromtimestamp(logged / 1000, tz=UTC) - scored.event.occurred_at
    )


def _record_at(source: SourcePosition, customer_id: str, value: bytes) -> RawRecord:
    """A document as decoded, at the coordinates its producer wrote it to."""
    return RawRecord(
        topic=source.topic,
        partition=source.partition,
        offset=source.offset,
        timestamp_ms=source.timestamp_ms,
        key=customer_id.encode(),
        value=value,
    )
