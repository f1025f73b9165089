"""What a shop that keeps only masked text keeps of each event."""

from __future__ import annotations

from datetime import UTC, datetime

from engage_stream.ingest.retention import masked
from engage_stream.schemas.events import (
    ChatMessageEvent,
    CrmEvent,
    EmailInboundEvent,
    crm_event_adapter,
)

AT = datetime(2026, 11, 28, 5, 0, tzinfo=UTC).isoformat()


def _event(event_type: str, payload: dict[str, object]) -> CrmEvent:
    return crm_event_adapter.validate_python(
        {
            "event_id": "E-1",
            "event_type": event_type,
            "occurred_at": AT,
            "customer_id": "C-1",
            "source": "email",
            "payload": payload,
        }
    )


def test_a_chat_keeps_its_words_and_loses_the_number() -> None:
    event = _event("chat.message", {"text": "010-4231-8721로 전화 주세요", "sender": "customer"})
    result = masked(event)
    assert isinstance(result, ChatMessageEvent)
    assert result.payload.text == "010-****-8721로 전화 주세요"


def test_an_email_loses_numbers_in_its_subject_and_its_body() -> None:
    event = _event(
        "email.inbound",
        {"subject": "환불 계좌 110-482-937120", "body": "메일 minji.kim@mail.example.kr 로 주세요"},
    )
    result = masked(event)
    assert isinstance(result, EmailInboundEvent)
    payload = result.payload
    assert "937120" not in payload.subject
    assert "minji.kim@" not in payload.body
    assert payload.body.startswith("메일 m***@mail.example.kr")


def test_an_event_with_nothing_to_mask_is_the_same_object() -> None:
    event = _event("chat.message", {"text": "배송 언제 와요?", "sender": "customer"})
    assert masked(event) is event
    view = _event("page.view", {"url": "https://shop.example/p/1"})
    assert masked(view) is view
