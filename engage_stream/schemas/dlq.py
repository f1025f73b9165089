"""Dead-letter records on `engage.dlq`: the original bytes plus why they were rejected."""

from __future__ import annotations

import base64
import hashlib
from enum import StrEnum
from typing import Any

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


DLQ_VALUE_MAX_BYTES = 512 * 1024
"""Original bytes a DLQ record carries at most: in base64, with the fields around it, that
stays inside Kafka's default record limit (1 MiB). A record still too large for the DLQ
topic's own limit is sent as a 64 KiB copy instead (`worker.sending`)."""


DLQ_KEY_MAX_BYTES = 4 * 1024
"""Original key bytes a DLQ record carries at most (Kafka keys are usually ids; a larger one
is kept as a prefix with its size and SHA-256, and the DLQ record itself goes unkeyed)."""


class DlqRecord(Contract):
    source_topic: str
    source_partition: int = Field(ge=0)
    source_offset: int = Field(ge=0)
    source_timestamp_ms: int | None = None
    key_b64: str | None = Field(
        default=None,
        description="Original key bytes, base64 (only the first DLQ_KEY_MAX_BYTES of them "
        "when `key_truncated`).",
    )
    key_truncated: bool = Field(
        default=False, description="key_b64 holds a prefix; size and sha256 are the whole's."
    )
    key_size: int | None = Field(default=None, ge=0, description="Bytes of the whole key.")
    key_sha256: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the whole key."
    )
    value_b64: str = Field(
        description="Original value bytes, base64, exactly as received (only the first "
        "DLQ_VALUE_MAX_BYTES of them when `value_truncated`)."
    )
    value_truncated: bool = Field(
        default=False, description="value_b64 holds a prefix; size and sha256 are the whole's."
    )
    value_size: int | None = Field(default=None, ge=0, description="Bytes of the whole value.")
    value_sha256: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the whole value."
    )
    error_class: DlqErrorClass
    reason: str = Field(description="What was wrong, for the person on call.")
    field_errors: list[FieldError] = Field(default_factory=list)
    failed_at: AwareDatetime

    @staticmethod
    def encode(raw: bytes | None) -> str | None:
        return None if raw is None else base64.b64encode(raw).decode("ascii")

    @staticmethod
    def key_fields(raw: bytes | None, limit: int = DLQ_KEY_MAX_BYTES) -> dict[str, Any]:
        """`key_b64`, and for a key over `limit` a prefix with the whole key's size and
        SHA-256, so that no key makes a dead letter too large to send."""
        if raw is None or len(raw) <= limit:
            return {"key_b64": DlqRecord.encode(raw)}
        return {
            "key_b64": base64.b64encode(raw[:limit]).decode("ascii"),
            "key_truncated": True,
            "key_size": len(raw),
            "key_sha256": hashlib.sha256(raw).hexdigest(),
        }

    def kafka_key(self) -> bytes | None:
        """The DLQ record's own key: the original one, or none where only a prefix is kept."""
        if not self.key_b64 or self.key_truncated:
            return None
        return base64.b64decode(self.key_b64)

    @staticmethod
    def value_fields(
        raw: bytes, limit: int = DLQ_VALUE_MAX_BYTES, *, digest: bool = False
    ) -> dict[str, Any]:
        """`value_b64`, and for a value over `limit` (or with `digest`) the whole value's
        size and SHA-256, the copy then bounded to its first `limit` bytes."""
        if len(raw) <= limit and not digest:
            return {"value_b64": base64.b64encode(raw).decode("ascii")}
        return {
            "value_b64": base64.b64encode(raw[:limit]).decode("ascii"),
            "value_truncated": len(raw) > limit,
            "value_size": len(raw),
            "value_sha256": hashlib.sha256(raw).hexdigest(),
        }

    def original_value(self) -> bytes:
        return base64.b64decode(self.value_b64)
