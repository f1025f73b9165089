"""Raw input records to typed documents, or to dead letters that say why.

Nothing here raises on bad input: every record becomes either a document or a
`DlqRecord` carrying the original bytes, where it came from and a readable reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import TypeAdapter

from engage_stream.schemas.customers import CustomerProfile
from engage_stream.schemas.dlq import DlqErrorClass, DlqRecord
from engage_stream.schemas.enriched import SourcePosition
from engage_stream.schemas.events import CrmEvent
from engage_stream.schemas.validation import (
    DEFAULT_MAX_RECORD_BYTES,
    DocumentError,
    decode_json,
    parse_event,
    validate_with,
)

_PROFILE = TypeAdapter(CustomerProfile)


@dataclass(frozen=True, slots=True)
class RawRecord:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None

    @property
    def position(self) -> SourcePosition:
        return SourcePosition(
            topic=self.topic,
            partition=self.partition,
            offset=self.offset,
            timestamp_ms=self.timestamp_ms,
        )


@dataclass(frozen=True, slots=True)
class Tombstone:
    """A null value on the compacted profiles topic: the customer's profile is deleted."""

    customer_id: str


def dead_letter(
    record: RawRecord,
    error_class: DlqErrorClass,
    reason: str,
    error: DocumentError | None = None,
    failed_at: datetime | None = None,
) -> DlqRecord:
    """`failed_at`: the caller's clock (the shells' step passes one), else now."""
    return DlqRecord(
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        source_timestamp_ms=record.timestamp_ms,
        **DlqRecord.key_fields(record.key),
        **DlqRecord.value_fields(record.value or b""),
        error_class=error_class,
        reason=reason,
        field_errors=error.field_errors if error else [],
        failed_at=failed_at or datetime.now(UTC),
    )


def decode_event(
    record: RawRecord, max_bytes: int = DEFAULT_MAX_RECORD_BYTES, now: datetime | None = None
) -> CrmEvent | DlqRecord:
    if record.value is None:
        return dead_letter(
            record,
            DlqErrorClass.SCHEMA_VIOLATION,
            "record has no value (null); expected an event",
            failed_at=now,
        )
    try:
        return parse_event(record.value, max_bytes)
    except DocumentError as exc:
        return dead_letter(record, exc.error_class, exc.reason, exc, failed_at=now)
    except Exception as exc:  # a bug, not the input's fault; still no crash, no loss
        return dead_letter(
            record,
            DlqErrorClass.PROCESSING_ERROR,
            f"{type(exc).__name__}: {exc}"[:500],
            failed_at=now,
        )


def decode_profile(
    record: RawRecord, max_bytes: int = DEFAULT_MAX_RECORD_BYTES, now: datetime | None = None
) -> CustomerProfile | Tombstone | DlqRecord:
    if record.value is None:
        if record.key:
            try:
                return Tombstone(customer_id=record.key.decode("utf-8"))
            except UnicodeDecodeError:
                pass
        return dead_letter(
            record,
            DlqErrorClass.SCHEMA_VIOLATION,
            "null profile value without a UTF-8 key",
            failed_at=now,
        )
    try:
        return validate_with(_PROFILE, decode_json(record.value, max_bytes))
    except DocumentError as exc:
        return dead_letter(record, exc.error_class, exc.reason, exc, failed_at=now)
    except Exception as exc:
        return dead_letter(
            record,
            DlqErrorClass.PROCESSING_ERROR,
            f"{type(exc).__name__}: {exc}"[:500],
            failed_at=now,
        )
