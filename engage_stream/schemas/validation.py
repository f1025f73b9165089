"""Turn raw bytes into typed documents, or into an error that names the field and the problem.

The error classes match `DlqErrorClass`, so ingest can dead-letter a record with the same
words a person sees from `engage-stream schemas validate`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from engage_stream.schemas.dlq import DlqErrorClass, FieldError
from engage_stream.schemas.events import EVENT_TYPES, CrmEvent, crm_event_adapter

T = TypeVar("T")

DEFAULT_MAX_RECORD_BYTES = 256 * 1024


@dataclass(frozen=True)
class DocumentError(Exception):
    error_class: DlqErrorClass
    reason: str
    field_errors: list[FieldError] = field(default_factory=list)

    def __str__(self) -> str:
        return self.reason


def _path(loc: tuple[int | str, ...]) -> str:
    # pydantic puts the union tag first (`cart.abandoned.payload...`); the field is the rest.
    parts = loc[1:] if loc and loc[0] in EVENT_TYPES else loc
    return ".".join(str(part) for part in parts) or "(document)"


def field_errors_of(exc: ValidationError) -> list[FieldError]:
    return [
        FieldError(loc=_path(err["loc"]), message=err["msg"], error_type=err["type"])
        for err in exc.errors(include_url=False)
    ]


def describe(errors: list[FieldError], limit: int = 5) -> str:
    shown = "; ".join(f"{e.loc}: {e.message}" for e in errors[:limit])
    more = len(errors) - limit
    return shown + (f"; and {more} more" if more > 0 else "")


def decode_json(raw: bytes, max_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> Any:
    if len(raw) > max_bytes:
        raise DocumentError(
            DlqErrorClass.OVERSIZED_RECORD,
            f"record is {len(raw)} bytes, over the {max_bytes}-byte limit",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            DlqErrorClass.INVALID_UTF8, f"not UTF-8: byte {exc.start} is 0x{raw[exc.start]:02x}"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            DlqErrorClass.INVALID_JSON,
            f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
        ) from None
    except RecursionError:
        raise DocumentError(
            DlqErrorClass.INVALID_JSON, "not JSON this pipeline reads: nested too deeply"
        ) from None


def validate_with(adapter: TypeAdapter[T], document: Any) -> T:
    try:
        return adapter.validate_python(document)
    except ValidationError as exc:
        errors = field_errors_of(exc)
        raise DocumentError(DlqErrorClass.SCHEMA_VIOLATION, describe(errors), errors) from None


def parse_event(raw: bytes, max_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> CrmEvent:
    """Decode one `crm.events` record value; raise `DocumentError` saying what is wrong."""
    document = decode_json(raw, max_bytes)
    if isinstance(document, dict):
        event_type = document.get("event_type")
        if event_type is not None and event_type not in EVENT_TYPES:
            raise DocumentError(
                DlqErrorClass.UNKNOWN_EVENT_TYPE,
                f"event_type {str(event_type)[:64]!r} is not one of: {', '.join(EVENT_TYPES)}",
                [
                    FieldError(
                        loc="event_type", message="unknown event type", error_type="union_tag"
                    )
                ],
            )
    return validate_with(crm_event_adapter, document)
