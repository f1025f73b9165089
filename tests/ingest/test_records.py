"""Raw records to typed documents or dead letters: never raises, never loses the bytes."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engage_stream.ingest.records import RawRecord, Tombstone, decode_event, decode_profile
from engage_stream.schemas.customers import CustomerProfile
from engage_stream.schemas.dlq import (
    DLQ_KEY_MAX_BYTES,
    DLQ_VALUE_MAX_BYTES,
    DlqErrorClass,
    DlqRecord,
)
from engage_stream.schemas.events import MAX_TEXT_CHARS, CrmEvent, crm_event_adapter
from engage_stream.schemas.validation import DEFAULT_MAX_RECORD_BYTES
from tests.core.builders import (
    cart,
    chat,
    delivered,
    email_in,
    order_placed,
    page_view,
    profile,
)

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _order_event(event_type: str, payload: dict[str, Any]) -> CrmEvent:
    return crm_event_adapter.validate_python(
        {
            "event_id": f"e-{event_type}",
            "event_type": event_type,
            "occurred_at": "2026-11-27T10:00:00+09:00",
            "customer_id": "cust-1",
            "source": "crm",
            "payload": payload,
        }
    )


SHIPPED = _order_event(
    "order.shipped",
    {
        "order_id": "ORD-1",
        "carrier": "CJ대한통운",
        "tracking_number": "612345678901",
        "estimated_delivery": "2026-11-29",
    },
)
VALID_EVENTS: list[CrmEvent] = [
    chat("e-chat", "상담원 연결해 주세요 😀"),
    email_in("e-mail"),
    cart("e-cart"),
    order_placed("e-order", "ORD-1"),
    SHIPPED,
    delivered("e-delivered"),
    _order_event("order.cancelled", {"order_id": "ORD-1", "reason": "고객 요청"}),
    _order_event("refund.issued", {"order_id": "ORD-1", "amount_krw": 52_000}),
    page_view("e-page"),
]


def record(value: bytes | None, key: bytes | None = b"cust-1", offset: int = 42) -> RawRecord:
    return RawRecord(
        topic="crm.events",
        partition=3,
        offset=offset,
        timestamp_ms=1_770_000_000_000,
        key=key,
        value=value,
    )


def document(event: CrmEvent) -> dict[str, Any]:
    dumped: dict[str, Any] = crm_event_adapter.dump_python(event, mode="json")
    return dumped


def assert_dead_letter_keeps_the_record(result: DlqRecord, raw: RawRecord) -> None:
    assert result.reason.strip()
    assert result.source_topic == raw.topic
    assert result.source_partition == raw.partition
    assert result.source_offset == raw.offset
    assert result.source_timestamp_ms == raw.timestamp_ms
    assert result.original_value() == (raw.value or b"")
    assert result.key_b64 == DlqRecord.encode(raw.key)
    assert DlqRecord.model_validate_json(result.model_dump_json()) == result


# -- valid events ---------------------------------------------------------------------------


@pytest.mark.parametrize("event", VALID_EVENTS, ids=lambda e: e.event_type)
def test_a_valid_event_round_trips_through_its_json(event: CrmEvent) -> None:
    result = decode_event(record(event.model_dump_json().encode()))
    assert result == event


@given(
    text=st.text(min_size=1, max_size=300),
    sender=st.sampled_from(["customer", "bot", "agent"]),
)
@SETTINGS
def test_any_chat_text_within_the_limit_round_trips(text: str, sender: str) -> None:
    event = crm_event_adapter.validate_python(
        {**document(VALID_EVENTS[0]), "payload": {"text": text, "sender": sender}}
    )
    assert decode_event(record(event.model_dump_json().encode())) == event


# -- arbitrary bytes ------------------------------------------------------------------------


@given(st.one_of(st.none(), st.binary(max_size=2_000)))
@SETTINGS
def test_arbitrary_bytes_never_raise_and_keep_the_original_bytes(value: bytes | None) -> None:
    raw = record(value)
    result = decode_event(raw)
    if isinstance(result, DlqRecord):
        assert_dead_letter_keeps_the_record(result, raw)
    else:
        assert crm_event_adapter.validate_python(result) == result


@given(st.binary(max_size=500), st.one_of(st.none(), st.binary(max_size=50)))
@SETTINGS
def test_arbitrary_json_prefixes_and_keys_are_dead_lettered_with_the_key(
    tail: bytes, key: bytes | None
) -> None:
    raw = record(b'{"event_type": "chat.message", ' + tail, key=key)
    result = decode_event(raw)
    assert isinstance(result, DlqRecord)
    assert_dead_letter_keeps_the_record(result, raw)


def test_a_null_value_is_a_schema_violation_with_an_empty_original() -> None:
    result = decode_event(record(None))
    assert isinstance(result, DlqRecord)
    assert result.error_class is DlqErrorClass.SCHEMA_VIOLATION
    assert result.original_value() == b""
    assert "null" in result.reason


# -- mutated valid events -------------------------------------------------------------------

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "\u200b",
            "\x00",
            "😀" * 10,
            "가" * (MAX_TEXT_CHARS + 1),
            "가" * MAX_TEXT_CHARS,
            "2026-03-10T14:00:00",  # no offset
            "2026-03-10T14:00:00+09:00",
            "chat.message",
            "customer",
            "ab cd",
        ]
    ),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def _paths(node: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found: list[tuple[str | int, ...]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((*prefix, key))
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.append((*prefix, index))
            found.extend(_paths(value, (*prefix, index)))
    return found


@st.composite
def mutated_documents(draw: st.DrawFn) -> dict[str, Any]:
    doc = document(draw(st.sampled_from(VALID_EVENTS)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = doc
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        action = draw(st.sampled_from(["remove", "replace", "extra"]))
        if action == "remove":
            del parent[last]
        elif action == "replace":
            parent[last] = draw(ODD_VALUES)
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(ODD_VALUES)
    return doc


@given(mutated_documents(), st.booleans())
@SETTINGS
def test_mutated_events_are_either_valid_or_dead_lettered_with_a_reason(
    doc: dict[str, Any], ascii_only: bool
) -> None:
    try:
        value = json.dumps(doc, ensure_ascii=ascii_only, allow_nan=True).encode()
    except (UnicodeEncodeError, ValueError):
        value = json.dumps(doc, ensure_ascii=True).encode()
    raw = record(value)
    result = decode_event(raw)
    if isinstance(result, DlqRecord):
        assert_dead_letter_keeps_the_record(result, raw)
        assert result.error_class in {
            DlqErrorClass.SCHEMA_VIOLATION,
            DlqErrorClass.UNKNOWN_EVENT_TYPE,
        }
        if result.error_class is DlqErrorClass.SCHEMA_VIOLATION:
            assert result.field_errors
    else:
        again = decode_event(record(result.model_dump_json().encode()))
        assert again == result


# -- specific dead letters ------------------------------------------------------------------


def _chat_doc(**payload: Any) -> dict[str, Any]:
    return {**document(VALID_EVENTS[0]), "payload": {"sender": "customer", **payload}}


@pytest.mark.parametrize(
    ("value", "error_class", "words"),
    [
        (b"\xff\xfe{}", DlqErrorClass.INVALID_UTF8, "byte 0 is 0xff"),
        (b'{"event_id": ', DlqErrorClass.INVALID_JSON, "not JSON"),
        (b"", DlqErrorClass.INVALID_JSON, "not JSON"),
        (b"[]", DlqErrorClass.SCHEMA_VIOLATION, ""),
        (b'"just a string"', DlqErrorClass.SCHEMA_VIOLATION, ""),
        (
            json.dumps({**document(VALID_EVENTS[0]), "event_type": "chat.deleted"}).encode(),
            DlqErrorClass.UNKNOWN_EVENT_TYPE,
            "chat.deleted",
        ),
        (
            json.dumps(_chat_doc(text="가" * (MAX_TEXT_CHARS + 1))).encode(),
            DlqErrorClass.SCHEMA_VIOLATION,
            "payload.text",
        ),
        (
            json.dumps(_chat_doc(text="")).encode(),
            DlqErrorClass.SCHEMA_VIOLATION,
            "payload.text",
        ),
        (
            json.dumps(
                {**document(VALID_EVENTS[0]), "occurred_at": "2026-03-10T14:00:00"}
            ).encode(),
            DlqErrorClass.SCHEMA_VIOLATION,
            "occurred_at",
        ),
        (
            json.dumps({**document(VALID_EVENTS[0]), "customer_id": "김민지"}).encode(),
            DlqErrorClass.SCHEMA_VIOLATION,
            "customer_id",
        ),
        (
            json.dumps({**document(VALID_EVENTS[0]), "schema_version": 2}).encode(),
            DlqErrorClass.SCHEMA_VIOLATION,
            "schema_version",
        ),
        (
            b'{"event_type": "chat.message", "payload": {"text": "\\ud800", "sender": "bot"}}',
            DlqErrorClass.SCHEMA_VIOLATION,
            "payload.text",
        ),
        (
            json.dumps(
                {**document(SHIPPED), "payload": {"order_id": "ORD-1", "carrier": "CJ대한통운"}}
            ).encode(),
            DlqErrorClass.SCHEMA_VIOLATION,
            "payload.tracking_number: Field required",
        ),
        (
            json.dumps(
                {
                    **document(SHIPPED),
                    "payload": {**document(SHIPPED)["payload"], "estimated_delivery": "내일"},
                }
            ).encode(),
            DlqErrorClass.SCHEMA_VIOLATION,
            "payload.estimated_delivery",
        ),
        (
            json.dumps(
                {
                    **document(SHIPPED),
                    "event_type": "refund.issued",
                    "payload": {"order_id": "ORD-1", "amount_krw": -1},
                }
            ).encode(),
            DlqErrorClass.SCHEMA_VIOLATION,
            "payload.amount_krw",
        ),
    ],
)
def test_bad_records_are_dead_lettered_with_what_is_wrong(
    value: bytes, error_class: DlqErrorClass, words: str
) -> None:
    raw = record(value)
    result = decode_event(raw)
    assert isinstance(result, DlqRecord)
    assert result.error_class is error_class
    assert words in result.reason
    assert_dead_letter_keeps_the_record(result, raw)


def test_deeply_nested_json_is_dead_lettered_not_raised() -> None:
    raw = record(b"[" * 200_000 + b"]" * 200_000, offset=1)
    result = decode_event(raw, max_bytes=1_000_000)
    assert isinstance(result, DlqRecord)
    assert result.original_value() == raw.value


def test_an_oversized_record_is_dead_lettered_before_parsing() -> None:
    value = json.dumps(_chat_doc(text="a" * 100)).encode()
    result = decode_event(record(value), max_bytes=len(value) - 1)
    assert isinstance(result, DlqRecord)
    assert result.error_class is DlqErrorClass.OVERSIZED_RECORD
    assert str(len(value)) in result.reason


def test_the_default_size_limit_is_256_kib() -> None:
    padding = " " * DEFAULT_MAX_RECORD_BYTES
    result = decode_event(record(VALID_EVENTS[0].model_dump_json().encode() + padding.encode()))
    assert isinstance(result, DlqRecord)
    assert result.error_class is DlqErrorClass.OVERSIZED_RECORD


# -- profiles -------------------------------------------------------------------------------


def test_a_null_profile_value_with_a_key_is_a_tombstone() -> None:
    assert decode_profile(record(None, key=b"cust-1")) == Tombstone(customer_id="cust-1")


@pytest.mark.parametrize("key", [None, b"", b"\xff\xfe"])
def test_a_null_profile_value_without_a_usable_key_is_dead_lettered(key: bytes | None) -> None:
    raw = record(None, key=key)
    result = decode_profile(raw)
    assert isinstance(result, DlqRecord)
    assert result.error_class is DlqErrorClass.SCHEMA_VIOLATION
    assert result.key_b64 == DlqRecord.encode(key)


def test_a_valid_profile_round_trips() -> None:
    customer = profile()
    assert decode_profile(record(customer.model_dump_json().encode())) == customer


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"phone": "전화번호"}, "phone"),
        ({"tier": "diamond"}, "tier"),
        ({"updated_at": "2026-03-10T14:00:00"}, "updated_at"),
        ({"consents": {"fax": {"advertising": True}}}, "consents.fax"),
    ],
)
def test_a_bad_profile_is_dead_lettered_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    value = json.dumps({**profile().model_dump(mode="json"), **changes}).encode()
    result = decode_profile(record(value))
    assert isinstance(result, DlqRecord)
    assert result.error_class is DlqErrorClass.SCHEMA_VIOLATION
    assert f"{field}:" in result.reason


@given(
    st.one_of(st.none(), st.binary(max_size=1_000)), st.one_of(st.none(), st.binary(max_size=20))
)
@SETTINGS
def test_arbitrary_profile_records_never_raise(value: bytes | None, key: bytes | None) -> None:
    raw = record(value, key=key)
    result = decode_profile(raw)
    if isinstance(result, DlqRecord):
        assert_dead_letter_keeps_the_record(result, raw)
    elif isinstance(result, Tombstone):
        assert value is None
        assert key is not None
        assert result.customer_id == key.decode("utf-8")
    else:
        assert isinstance(result, CustomerProfile)


def test_a_dead_letter_of_a_huge_record_carries_a_bounded_copy_that_fits_the_dlq() -> None:
    value = b'{"event_type": "chat.message", "payload": "' + b"x" * 3_000_000 + b'"}'
    result = decode_event(record(value), max_bytes=DEFAULT_MAX_RECORD_BYTES)
    assert isinstance(result, DlqRecord)
    assert result.error_class is DlqErrorClass.OVERSIZED_RECORD
    assert result.value_truncated
    assert result.value_size == len(value)
    assert result.value_sha256 == hashlib.sha256(value).hexdigest()
    assert result.original_value() == value[:DLQ_VALUE_MAX_BYTES]
    assert len(result.model_dump_json()) < 1_000_000  # under Kafka's default record limit


def test_a_huge_key_is_kept_as_a_prefix_and_its_dead_letter_goes_unkeyed() -> None:
    """Found by `bench fuzz`: a 1 MB key was copied into the DLQ record's value and used as
    its Kafka key, so the dead letter never fit the topic and the input was never done."""
    key = b"k" * 1_000_000
    result = decode_event(record(b"{not json", key=key))
    assert isinstance(result, DlqRecord)
    assert result.key_truncated
    assert result.key_size == len(key)
    assert result.key_sha256 == hashlib.sha256(key).hexdigest()
    assert result.key_b64 is not None
    assert len(result.key_b64) <= DLQ_KEY_MAX_BYTES * 4 // 3 + 4
    assert result.kafka_key() is None
    assert len(result.model_dump_json()) < 10_000


def test_an_ordinary_key_stays_exact_and_keys_the_dead_letter() -> None:
    result = decode_event(record(b"{not json", key=b"C-00042"))
    assert isinstance(result, DlqRecord)
    assert not result.key_truncated
    assert result.key_size is None
    assert result.kafka_key() == b"C-00042"


def test_a_dead_letter_within_the_bound_carries_the_exact_bytes_and_no_digest() -> None:
    value = b"{not json" * 1_000
    result = decode_event(record(value))
    assert isinstance(result, DlqRecord)
    assert result.original_value() == value
    assert not result.value_truncated
    assert result.value_size is None
