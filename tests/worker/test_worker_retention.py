"""ENGAGE_STORE_MASKED_TEXT: after scoring, no topic the worker writes holds the customer's
phone number, e-mail or account number as written."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from engage_stream.brokers import TansuBroker
from engage_stream.kafka.topics import TopicRole
from tests.worker.pipeline import KST, Pipeline, chat, profile

pytestmark = pytest.mark.broker

SECRETS = ("4231-8721", "42318721", "minji.kim@mail.example.kr", "110-482-937120")


def test_with_masked_storage_no_written_topic_holds_the_customers_numbers(
    tansu: TansuBroker, tmp_path: Path
) -> None:
    pipe = Pipeline(tansu, tmp_path)
    at = datetime(2026, 11, 28, 14, 0, tzinfo=KST)
    pipe.send_profile(profile("C-MASK-1"))
    texts = [
        "환불 계좌 바꾸고 싶어요 신한 110-482-937120 으로요",
        "상담원 연결해 주세요 010-4231-8721 로 전화 주세요",
        "메일은 minji.kim@mail.example.kr 입니다 빨리요",
    ]
    for n, text in enumerate(texts):
        pipe.send_event(chat(f"E-MASK-{n}", "C-MASK-1", text, at + timedelta(seconds=10 * n)))
    pipe.flush()
    with pipe.worker(ENGAGE_STORE_MASKED_TEXT="true"):
        enriched = pipe.wait_for_count(TopicRole.ENRICHED, len(texts), timeout_s=120)
        handoffs = pipe.wait_for_count(TopicRole.ACTIONS_HANDOFF, 1, timeout_s=60)
    written = {
        "scored": pipe.read(TopicRole.SCORED),
        "enriched": enriched,
        "handoffs": handoffs,
    }
    for name, records in written.items():
        text = repr(records)
        for secret in SECRETS:
            assert secret not in text, f"{secret} in {name}"
    assert all(record["predictions"] is not None for record in enriched)  # scored as written
    turns = [turn["text"] for turn in handoffs[0]["transcript"]]
    assert any("010-****-8721" in turn for turn in turns)
    pipe.close()
