"""What a step produces, already serialised: one encoding for every shell and sink."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from engage_stream.core.processor import Outcome
from engage_stream.kafka.topics import TopicRole
from engage_stream.schemas.dlq import DlqErrorClass, DlqRecord
from engage_stream.schemas.encoding import encoded

UNDELIVERABLE_COPY_BYTES = 64 * 1024
"""Bytes of an output its topic refused as too large that its DLQ record keeps."""


@dataclass(frozen=True, slots=True)
class Output:
    """One record for a topic role; `partition` None lets the producer choose by key."""

    role: TopicRole
    key: bytes | None
    value: bytes
    partition: int | None = None
    dead: DlqRecord | None = field(default=None, compare=False)
    """A dead letter as an object, for the shell's logs and metrics."""


def outcome_outputs(customer_id: str, outcome: Outcome) -> list[Output]:
    """The records an outcome sends, in the order consumers see them: the enriched event
    first, then handoffs, messages and suppressions."""
    key = customer_id.encode()
    outputs = []
    if outcome.enriched is not None:
        outputs.append(Output(TopicRole.ENRICHED, key, encoded(outcome.enriched)))
    outputs += [Output(TopicRole.ACTIONS_HANDOFF, key, encoded(h)) for h in outcome.handoffs]
    outputs += [Output(TopicRole.ACTIONS_EMAIL, key, encoded(m)) for m in outcome.messages]
    outputs += [Output(TopicRole.SUPPRESSIONS, key, encoded(s)) for s in outcome.suppressions]
    return outputs


def dlq_output(record: DlqRecord) -> Output:
    """A dead letter, keyed like the record it replaces (unkeyed when that key was cut)."""
    return Output(TopicRole.DLQ, record.kafka_key(), encoded(record), dead=record)


def undeliverable(
    output: Output, topic: str, partition: int, offset: int, reason: str, failed_at: datetime
) -> Output:
    """The DLQ record that stands in for an output its topic will never take (too large),
    owed to the input at `topic`/`partition`@`offset`: the output's first bytes, its size
    and SHA-256, and why; keyed like the output. It fits any topic, so nothing is lost
    silently and the input's offset can move on."""
    record = DlqRecord(
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        **DlqRecord.key_fields(output.key),
        **DlqRecord.value_fields(output.value, UNDELIVERABLE_COPY_BYTES, digest=True),
        error_class=DlqErrorClass.OVERSIZED_RECORD,
        reason=reason[:500],
        failed_at=failed_at,
    )
    return dlq_output(record)
