"""Decode, score, decide: the work of one record, with one error policy for both shells.

Nothing in a record stops a shell: a record that does not decode, a batch the models
cannot score and a rule that raises each become a DLQ record saying what failed, with the
original bytes (or, after decoding, the event as decoded and where it came from). The
clock is a parameter so that two shells given the same records and the same clock give
the same bytes (tests/step/test_equivalence.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from engage_stream.core.processor import EngagementCore, Outcome
from engage_stream.inference.scoring import BatchTiming
from engage_stream.ingest.records import (
    RawRecord,
    Tombstone,
    dead_letter,
    decode_event,
    decode_profile,
)
from engage_stream.ingest.retention import masked
from engage_stream.kafka.topics import TopicRole
from engage_stream.observability.logs import get_logger
from engage_stream.schemas.dlq import DlqErrorClass, DlqRecord
from engage_stream.schemas.enriched import ScoredEvent
from engage_stream.schemas.events import CrmEvent
from engage_stream.schemas.scores import Scores
from engage_stream.schemas.validation import DEFAULT_MAX_RECORD_BYTES
from engage_stream.step.outputs import Output, dlq_output, outcome_outputs
from engage_stream.step.store import StateStore

log = get_logger("engage.step")

Clock = Callable[[], datetime]


class BatchScorer(Protocol):
    """What the step needs of `inference.scoring.Scorer`."""

    def score(self, events: Sequence[CrmEvent]) -> tuple[Sequence[Scores | None], BatchTiming]: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


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


class Step:
    def __init__(
        self,
        core: EngagementCore,
        scorer: BatchScorer,
        *,
        clock: Clock = utc_now,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
        mask_text: bool = False,
    ) -> None:
        """`mask_text`: keep only masked customer text once scored (`ingest.retention`)."""
        self.core = core
        self.scorer = scorer
        self.clock = clock
        self.max_record_bytes = max_record_bytes
        self.mask_text = mask_text

    # -- events -----------------------------------------------------------------------------

    def ingest(self, records: Sequence[RawRecord]) -> Ingested:
        """Decode a batch of `crm.events` records and score the valid ones in one pass."""
        now = self.clock()
        decoded = [decode_event(r, self.max_record_bytes, now) for r in records]
        events = [e for e in decoded if not isinstance(e, DlqRecord)]
        scores: Sequence[Scores | None] = []
        timing: BatchTiming | None = None
        failure: str | None = None
        try:
            if events:
                scores, timing = self.scorer.score(events)
        except Exception as exc:  # a model failure must not lose the batch
            log.exception("scoring_failed", records=len(events), error=str(exc)[:300])
            failure = f"scoring failed: {exc}"[:500]
        scored = iter(scores)
        items: list[ScoredEvent | Output] = []
        for record, document in zip(records, decoded, strict=True):
            if isinstance(document, DlqRecord):
                items.append(dlq_output(document))
            elif failure is not None:
                error = DlqErrorClass.PROCESSING_ERROR
                items.append(dlq_output(dead_letter(record, error, failure, None, now)))
            else:
                score = next(scored)
                view = score.view() if score else None
                event = masked(document) if self.mask_text else document
                items.append(ScoredEvent(event=event, source=record.position, predictions=view))
        return Ingested(items, timing)

    def decide(self, scored: ScoredEvent, store: StateStore) -> Decided:
        """Join the customer's profile and state, run the core, keep the new state."""
        customer = scored.event.customer_id
        try:
            outcome = self.core.process(
                scored.event,
                scored.source,
                Scores.from_view(scored.predictions),
                store.profile(customer),
                store.state(customer),
                self.clock(),
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

    # -- the live worker's hand-over between its two stages ---------------------------------

    @staticmethod
    def forward(scored: ScoredEvent) -> Output:
        """The `engage.scored` record: same partition as the event, so state stays joined."""
        source = scored.source
        value = scored.model_dump_json().encode()
        return Output(TopicRole.SCORED, scored.event.customer_id.encode(), value, source.partition)

    def received(self, record: RawRecord) -> ScoredEvent | Output:
        """An `engage.scored` record back as the scored event, or its dead letter."""
        try:
            return ScoredEvent.model_validate_json(record.value or b"")
        except Exception as exc:
            reason = f"internal record: {exc}"[:500]
            return dlq_output(
                dead_letter(record, DlqErrorClass.PROCESSING_ERROR, reason, None, self.clock())
            )

    # -- profiles ---------------------------------------------------------------------------

    def profile(self, record: RawRecord, store: StateStore) -> Decided:
        """Keep the profile (or forget it on a tombstone) and run the profile rules."""
        now = self.clock()
        decoded = decode_profile(record, self.max_record_bytes, now)
        if isinstance(decoded, DlqRecord):
            return Decided([dlq_output(decoded)])
        if isinstance(decoded, Tombstone):
            store.drop_profile(decoded.customer_id)
            return Decided()
        customer = decoded.customer_id
        store.put_profile(customer, decoded)
        try:
            outcome = self.core.process_profile(
                decoded, record.position, store.state(customer), now
            )
        except Exception as exc:
            log.exception("profile_rule_failed", customer_id=customer)
            reason = f"profile rule: {exc}"[:500]
            return Decided(
                [dlq_output(dead_letter(record, DlqErrorClass.PROCESSING_ERROR, reason, None, now))]
            )
        if outcome.state is not None:
            store.put_state(customer, outcome.state)
        return Decided(outcome_outputs(customer, outcome), outcome)

    def _decoded_dead(self, scored: ScoredEvent, reason: str) -> Output:
        """A DLQ record for an event that failed after decoding: its source coordinates and
        the event as decoded (the raw bytes are in `crm.events` at that offset)."""
        source = scored.source
        original = RawRecord(
            topic=source.topic,
            partition=source.partition,
            offset=source.offset,
            timestamp_ms=source.timestamp_ms,
            key=scored.event.customer_id.encode(),
            value=scored.event.model_dump_json().encode(),
        )
        dead = dead_letter(
            original, DlqErrorClass.PROCESSING_ERROR, reason[:500], None, self.clock()
        )
        return dlq_output(dead)
