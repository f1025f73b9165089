"""Dead-letter records on `engage.dlq`: the original bytes plus why they were rejected."""

from __future__ import annotations

import base64
from enum import StrEnum

from pydantic import AwareDatetime, Field

from engage_stream.schemas.common import Contract


class DlqErrorClass(StrEnum):
    INVALID_UTF8 = "invalid_utf8"
    INVALID_JSON = "invalid_json"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    SCHEMA_VIOLATION = "schema_violation"
    OVERSIZED_RECORD = "oversized_record"
    PROCESSING_ERROR = "processing_error"


class FieldError(Contract):
    """One problem with one field: `loc` is a dotted path such as `payload.items.0.quantity`."""

    loc: str
    message: str
    error_type: str


class DlqRecord(Contract):
    source_topic: str
    source_partition: int = Field(ge=0)
    source_offset: int = Field(ge=0)
    source_timestamp_ms: int | None = None
    key_b64: str | None = Field(default=None, description="Original key bytes, base64.")
    value_b64: str = Field(description="Original value bytes, base64, exactly as received.")
    error_class: DlqErrorClass
    reason: str = Field(description="What was wrong, for the person on call.")
    field_errors: list[FieldError] = Field(default_factory=list)
    failed_at: AwareDatetime

    @staticmethod
    def encode(raw: bytes | None) -> str | None:
        return None if raw is None else base64.b64encode(raw).decode("ascii")

    def original_value(self) -> bytes:
        return base64.b64decode(self.value_b64)
