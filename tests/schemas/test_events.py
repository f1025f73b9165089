"""Events parse into the right typed payload; bad ones get errors naming field and problem."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.schemas.actions import action_id_for
from engage_stream.schemas.dlq import DlqErrorClass, DlqRecord
from engage_stream.schemas.events import CartAbandonedEvent, ChatMessageEvent
from engage_stream.schemas.validation import DocumentError, parse_event

EXAMPLES = PROJECT_ROOT / "schemas" / "examples" / "crm-event"


def _example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def _bytes(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


def _error(document: object) -> DocumentError:
    with pytest.raises(DocumentError) as excinfo:
        parse_event(document if isinstance(document, bytes) else _bytes(document))
    return excinfo.value


def test_event_type_chooses_the_payload_type() -> None:
    chat = parse_event(_bytes(_example("chat-message")))
    cart = parse_event(_bytes(_example("cart-abandoned")))
    assert isinstance(chat, ChatMessageEvent)
    assert chat.payload.text
    assert isinstance(cart, CartAbandonedEvent)
    assert cart.payload.value_krw == sum(i.quantity * i.unit_price_krw for i in cart.payload.items)


def test_korean_text_round_trips_unchanged() -> None:
    document = _example("chat-message")
    document["payload"]["text"] = "배송이 언제 오나요? 😊 ㅠㅠ"
    assert parse_event(_bytes(document)).payload.text == "배송이 언제 오나요? 😊 ㅠㅠ"  # type: ignore[union-attr]


def test_a_naive_timestamp_is_refused_by_name() -> None:
    document = _example("chat-message")
    document["occurred_at"] = "2026-11-26T09:00:00"
    error = _error(document)
    assert error.error_class is DlqErrorClass.SCHEMA_VIOLATION
    assert [(e.loc, e.error_type) for e in error.field_errors] == [
        ("occurred_at", "timezone_aware")
    ]
    assert "occurred_at: Input should have timezone info" in error.reason


def test_nested_problems_are_each_named_by_path() -> None:
    document = _example("cart-abandoned")
    document["payload"]["items"][0]["quantity"] = 0
    document["payload"]["value_krw"] = -1
    error = _error(document)
    assert {e.loc for e in error.field_errors} == {
        "payload.items.0.quantity",
        "payload.value_krw",
    }


def test_a_payload_of_another_event_type_is_refused() -> None:
    document = _example("chat-message")
    document["payload"] = _example("order-placed")["payload"]
    locs = {e.loc for e in _error(document).field_errors}
    assert {"payload.text", "payload.sender", "payload.order_id"} <= locs


def test_unknown_fields_are_refused_rather_than_dropped() -> None:
    document = _example("page-view")
    document["payload"]["referer"] = "https://search.example"
    error = _error(document)
    assert [(e.loc, e.error_type) for e in error.field_errors] == [
        ("payload.referer", "extra_forbidden")
    ]


@pytest.mark.parametrize(
    ("raw", "error_class", "reason"),
    [
        (b"\xed\xa0\x80", DlqErrorClass.INVALID_UTF8, "not UTF-8: byte 0 is 0xed"),
        (b'{"event_id": ', DlqErrorClass.INVALID_JSON, "not JSON: Expecting value"),
        (b"[1, 2]", DlqErrorClass.SCHEMA_VIOLATION, "(document)"),
        (b'{"event_type": "coupon.used"}', DlqErrorClass.UNKNOWN_EVENT_TYPE, "'coupon.used'"),
        (b'{"event_id": "x"}', DlqErrorClass.SCHEMA_VIOLATION, "event_type"),
        (b" " * 300_000, DlqErrorClass.OVERSIZED_RECORD, "over the 262144-byte limit"),
    ],
)
def test_undecodable_records_get_a_class_and_a_readable_reason(
    raw: bytes, error_class: DlqErrorClass, reason: str
) -> None:
    error = _error(raw)
    assert error.error_class is error_class
    assert reason in error.reason


def test_a_text_longer_than_the_limit_is_refused_not_truncated() -> None:
    document = _example("chat-message")
    document["payload"]["text"] = "가" * 4_001
    assert _error(document).field_errors[0].loc == "payload.text"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_any_bytes_either_parse_or_raise_a_document_error(raw: bytes) -> None:
    try:
        parse_event(raw)
    except DocumentError as exc:
        error = exc
    else:
        return
    assert error.reason
    assert error.error_class in DlqErrorClass


def test_action_ids_are_deterministic_per_event_and_kind() -> None:
    assert action_id_for("E1", "handoff") == action_id_for("E1", "handoff")
    assert action_id_for("E1", "handoff") != action_id_for("E1", "next_best_action")
    assert action_id_for("E1", "handoff") != action_id_for("E2", "handoff")


def test_a_dlq_record_keeps_the_original_bytes_exactly() -> None:
    raw = b"\xff\x00 broken \xea\xb0"
    record = DlqRecord(
        source_topic="crm.events",
        source_partition=0,
        source_offset=7,
        value_b64=DlqRecord.encode(raw) or "",
        error_class=DlqErrorClass.INVALID_UTF8,
        reason="not UTF-8",
        failed_at=datetime(2026, 11, 26, tzinfo=UTC),
    )
    assert DlqRecord.model_validate_json(record.model_dump_json()).original_value() == raw
