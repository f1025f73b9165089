"""The live worker answers from the shop's knowledge bank, on real brokers, with the
shipped models: a handoff's draft names the shipped order's facts, a draft without an
order invents none, a refund question after the refund is answered by e-mail with the
amount, and a defect e-mail goes to the claims queue, not to the customer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engage_stream.brokers import BrokerProcess
from engage_stream.drafting.politeness import is_polite
from engage_stream.kafka.topics import TopicRole
from tests.worker.pipeline import KST, Pipeline, by_source, chat, event, profile

pytestmark = pytest.mark.broker

DAY = datetime(2026, 11, 27, 10, 0, tzinfo=KST)
JACKET = {"sku": "SKU-JKT-07", "name": "경량 패딩 자켓", "quantity": 1, "unit_price_krw": 89_000}
JEANS = {"sku": "SKU-PNT-05", "name": "와이드 데님 팬츠", "quantity": 1, "unit_price_krw": 52_000}


@pytest.fixture
def pipeline(broker: BrokerProcess, tmp_path: Path) -> Iterator[Pipeline]:
    pipe = Pipeline(broker, tmp_path)
    yield pipe
    pipe.close()


def placed(event_id: str, customer_id: str, order_id: str, item: dict[str, Any]) -> dict[str, Any]:
    payload = {"order_id": order_id, "items": [item], "total_krw": item["unit_price_krw"]}
    return event(event_id, customer_id, "order.placed", payload, DAY - timedelta(days=2))


def email(event_id: str, customer_id: str, subject: str, body: str) -> dict[str, Any]:
    return event(event_id, customer_id, "email.inbound", {"subject": subject, "body": body}, DAY)


def test_drafts_and_e_mail_answers_come_from_the_bank_and_the_orders(pipeline: Pipeline) -> None:
    for customer in ("C-SHIP", "C-NONE", "C-REFUND", "C-CLAIM"):
        pipeline.send_profile(profile(customer))
    yesterday = DAY - timedelta(days=1)
    events = [
        placed("E-P1", "C-SHIP", "ORD-G1", JACKET),
        event(
            "E-S1",
            "C-SHIP",
            "order.shipped",
            {
                "order_id": "ORD-G1",
                "carrier": "CJ대한통운",
                "tracking_number": "612345678901",
                "estimated_delivery": "2026-11-28",
            },
            yesterday,
        ),
        chat("E-Q1", "C-SHIP", "주문한 패딩 언제 와요?", DAY),
        chat("E-B1", "C-SHIP", "죄송합니다. 질문을 이해하지 못했어요.", DAY, sender="bot"),
        chat("E-H1", "C-SHIP", "상담원 연결해 주세요", DAY + timedelta(seconds=30)),
        chat("E-Q2", "C-NONE", "주문한 패딩 언제 와요?", DAY),
        chat("E-H2", "C-NONE", "상담원 연결해 주세요", DAY + timedelta(seconds=30)),
        placed("E-P3", "C-REFUND", "ORD-R1", JEANS),
        event("E-C3", "C-REFUND", "order.cancelled", {"order_id": "ORD-R1"}, yesterday),
        event(
            "E-R3",
            "C-REFUND",
            "refund.issued",
            {"order_id": "ORD-R1", "amount_krw": 52_000},
            yesterday,
        ),
        email("E-M3", "C-REFUND", "환불 문의", "환불 요청했는데 언제 처리되나요?"),
        email(
            "E-M4",
            "C-CLAIM",
            "불량 상품",
            "어제 받은 니트에 구멍이 나 있어요. 사진 보내드릴게요. 교환 부탁드립니다.",
        ),
    ]
    with pipeline.worker():
        for e in events:
            pipeline.send_event(e)
        pipeline.flush()
        pipeline.wait_for_count(TopicRole.ENRICHED, len(events), timeout_s=120)
        handoffs = by_source(pipeline.wait_for_count(TopicRole.ACTIONS_HANDOFF, 3))
        emails = by_source(pipeline.read(TopicRole.ACTIONS_EMAIL))

    # A shipped order's "언제 와요?", then a request for a person: one handoff whose draft
    # answers the question with the order's facts.
    (shipped,) = handoffs["E-H1"]
    assert shipped["draft"]["question_event_id"] == "E-Q1"
    assert shipped["draft"]["topic"] == "delivery_status"
    assert shipped["suggestions"][0]["answer_id"] == "delivery_status.shipped"
    for fact in ("경량 패딩 자켓", "CJ대한통운", "612345678901"):
        assert fact in shipped["draft_reply"]
    assert is_polite(shipped["draft_reply"])
    assert {m["name"] for m in shipped["models"]} >= {"multihead-ko", "sample-shop"}

    # The same question without an order: no invented facts.
    (unordered,) = handoffs["E-H2"]
    assert not re.search(r"\d{6,}", unordered["draft_reply"])
    assert "CJ대한통운" not in unordered["draft_reply"]
    assert not any(s["grounded"] for s in unordered["suggestions"])

    # A refund question after refund.issued: answered by e-mail, with the amount.
    (answer,) = emails["E-M3"]
    assert answer["advertising"] is False
    assert answer["draft"]["topic"] == "refund_status"
    assert "52,000원" in answer["body"]
    assert "E-M3" not in handoffs

    # A defect e-mail: to a person in the claims queue, with suggestions; not to the customer.
    assert "E-M4" not in emails
    (claim,) = handoffs["E-M4"]
    assert claim["reasons"] == ["email_needs_agent"]
    assert claim["queue"] == "claims"
    assert claim["draft"]["topic"] == "defect_claim"
    assert claim["suggestions"]
