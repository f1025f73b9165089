"""The live worker on real brokers: each rule, end to end, from Kafka records to Kafka records."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from engage_stream.brokers import BrokerProcess
from engage_stream.drafting.politeness import is_polite
from engage_stream.kafka.topics import TopicRole
from tests.worker.pipeline import (
    KST,
    Pipeline,
    by_source,
    cart,
    chat,
    event,
    profile,
)

pytestmark = pytest.mark.broker

AFTERNOON = datetime(2026, 11, 26, 14, 0, tzinfo=KST)
EVENING = datetime(2026, 11, 26, 21, 0, tzinfo=KST)

INVALID: list[tuple[bytes, str]] = [
    (b'{"event_id": "bad-1", "event_type": "chat.message"', "invalid_json"),
    (b"\xff\xfe not utf-8", "invalid_utf8"),
    (
        b'{"event_id": "bad-3", "event_type": "coupon.used", "customer_id": "C-X"}',
        "unknown_event_type",
    ),
    (
        json.dumps(
            {
                "event_id": "bad-4",
                "event_type": "cart.abandoned",
                "occurred_at": "2026-11-26T09:00:00",
                "customer_id": "C-X",
                "source": "web",
                "payload": {"cart_id": "c", "items": [], "value_krw": -5},
            }
        ).encode(),
        "schema_violation",
    ),
    (b'{"pad": "' + b"x" * 300_000 + b'"}', "oversized_record"),
]


@pytest.fixture
def pipeline(broker: BrokerProcess, tmp_path: Path) -> Iterator[Pipeline]:
    pipe = Pipeline(broker, tmp_path)
    yield pipe
    pipe.close()


def test_each_rule_end_to_end(pipeline: Pipeline) -> None:
    consenting = {"email": {"advertising": True}}
    sms_no_night = {"sms": {"advertising": True}}
    for p in (
        profile("C-ADS", consents=consenting),
        profile("C-NOADS"),
        profile("C-SMS", channel="sms", consents=sms_no_night),
        profile("C-ABUSE"),
    ):
        pipeline.send_profile(p)
    pipeline.flush()
    with pipeline.worker():
        pipeline.wait_for_profiles(4)
        asks = chat("E-ASK", "C-ADS", "상담원 연결해 주세요", AFTERNOON)
        events = [
            chat("E-Q", "C-ADS", "배송이 언제 오나요?", AFTERNOON),
            asks,
            asks,  # redelivered: the same event again
            chat("E-ASK2", "C-ADS", "사람이랑 얘기하고 싶어요 빨리요", AFTERNOON),
            chat("E-ABUSE", "C-ABUSE", "개새끼들아 환불해", AFTERNOON),
            cart("E-CART-OK", "C-ADS", AFTERNOON),
            cart("E-CART-NO", "C-NOADS", AFTERNOON),
            cart("E-CART-SMS", "C-SMS", EVENING),  # + 60 min delay = 22:00 KST
        ]
        for e in events:
            pipeline.send_event(e)
        for raw, _ in INVALID:
            pipeline.send(TopicRole.EVENTS, raw, b"C-X")
        pipeline.flush()

        enriched = pipeline.wait_for_count(TopicRole.ENRICHED, len(events))
        dlq = pipeline.wait_for_count(TopicRole.DLQ, len(INVALID))
        # The carts' reminders are held until stream time reaches them (journeys).
        pipeline.advance_stream_time(datetime(2026, 11, 27, 0, 5, tzinfo=KST))
        pipeline.wait_for(
            TopicRole.ACTIONS_EMAIL,
            lambda r: {"E-CART-OK", "E-CART-SMS"} <= {m["source_event_id"] for m in r},
        )
        pipeline.wait_for(
            TopicRole.SUPPRESSIONS, lambda r: any(s["source_event_id"] == "E-CART-NO" for s in r)
        )
        handoffs = by_source(pipeline.read(TopicRole.ACTIONS_HANDOFF))
        emails = by_source(pipeline.read(TopicRole.ACTIONS_EMAIL))
        suppressed = by_source(pipeline.read(TopicRole.SUPPRESSIONS))

    # A request for a person: exactly one handoff, with a polite Korean draft.
    assert len(handoffs["E-ASK"]) == 1
    handoff = handoffs["E-ASK"][0]
    assert handoff["reasons"] == ["customer_requested_human"]
    assert is_polite(handoff["draft_reply"])
    assert [t["text"] for t in handoff["transcript"]][-1] == "상담원 연결해 주세요"
    # ... and not again for the same conversation, nor for the redelivered event.
    assert "E-ASK2" not in handoffs
    decisions = {r["event"]["event_id"]: r["decisions"] for r in enriched if not r["duplicate_of"]}
    assert decisions["E-ASK2"][0]["kind"] == "already_handed_off"
    duplicates = [r for r in enriched if r["duplicate_of"]]
    assert [r["event"]["event_id"] for r in duplicates] == ["E-ASK"]
    # The worker writes nothing into the folder it runs from: its tables live in memory.
    assert not (Path.cwd() / f"{pipeline.group}-data").exists()

    # Abuse escalates.
    abuse = handoffs["E-ABUSE"][0]
    assert "abusive_language" in abuse["reasons"]
    assert abuse["priority"] in {"high", "urgent"}
    assert abuse["queue"] == "escalations"

    # Abandoned cart: consenting customer gets one (광고) e-mail ...
    assert len(emails["E-CART-OK"]) == 1
    mail = emails["E-CART-OK"][0]
    assert mail["channel"] == "email"
    assert mail["subject"].startswith("(광고)")
    assert "수신거부" in mail["body"]
    assert mail["advertising"] is True
    # ... the other one a recorded suppression, not silence.
    assert "E-CART-NO" not in emails
    assert suppressed["E-CART-NO"][0]["reason"] == "no_advertising_consent"

    # SMS advertising due at 22:00 KST without night-time consent waits for 08:00.
    sms = emails["E-CART-SMS"][0]
    assert sms["channel"] == "sms"
    assert sms["body"].startswith("(광고)")
    assert datetime.fromisoformat(sms["send_not_before"]) == datetime(
        2026, 11, 27, 8, 0, tzinfo=KST
    )

    # Every action names the policy and (where a model was used) the model files.
    assert handoff["policy_version"]
    assert {m["name"] for m in handoff["models"]} >= {"multihead-ko", "sample-shop"}

    # Invalid records: in the DLQ with their reason and their bytes, exactly as sent.
    by_class = {r["error_class"]: r for r in dlq}
    for raw, error_class in INVALID:
        record = by_class[error_class]
        assert base64.b64decode(record["value_b64"]) == raw
        assert record["reason"]
        assert record["source_topic"] == pipeline.name(TopicRole.EVENTS)


def test_frequency_cap_holds_across_a_worker_restart(pipeline: Pipeline) -> None:
    pipeline.send_profile(profile("C-CAP", consents={"email": {"advertising": True}}))
    pipeline.flush()
    with pipeline.worker():
        pipeline.wait_for_profiles(1)
        pipeline.send_event(cart("E-CAP-1", "C-CAP", AFTERNOON))
        pipeline.advance_stream_time(AFTERNOON.replace(hour=15, minute=10))
        pipeline.wait_for_count(TopicRole.ACTIONS_EMAIL, 1)

    later = AFTERNOON.replace(hour=18)  # four hours later: inside the 24 h cap
    with pipeline.worker():
        pipeline.send_event(cart("E-CAP-2", "C-CAP", later))
        pipeline.advance_stream_time(later.replace(hour=19, minute=10))
        suppressed = pipeline.wait_for_count(TopicRole.SUPPRESSIONS, 1)
    assert suppressed[0]["source_event_id"] == "E-CAP-2"
    assert suppressed[0]["reason"] == "frequency_cap"
    assert len(pipeline.read(TopicRole.ACTIONS_EMAIL)) == 1


def test_random_bytes_and_odd_valid_events_are_all_accounted_for(pipeline: Pipeline) -> None:
    """Nothing the worker is fed is lost or stops it: every record ends enriched or in the DLQ."""
    rng = random.Random(20261126)
    garbage = [rng.randbytes(rng.randint(0, 300)) for _ in range(40)]
    garbage += [
        b"",
        b"null",
        b"[]",
        b"{}",
        b'"text"',
        b"1e999",
        '{"é": "\ud800"}'.encode("utf-8", "surrogatepass"),
    ]
    odd = [
        chat("E-EMOJI", "C-ODD", "😀" * 50, AFTERNOON),
        chat("E-LONG", "C-ODD", "가" * 4_000, AFTERNOON),
        chat("E-LATIN", "C-ODD", "where is my order???", AFTERNOON),
        chat("E-NIGHT", "C-ODD", "상담원", AFTERNOON.replace(hour=3)),
        cart("E-ZERO", "C-ODD", AFTERNOON, value=0),
        chat("E-BOT", "C-ODD", "상담원 연결해 드릴게요", AFTERNOON, sender="bot"),
        event("E-ID", "x" * 128, "chat.message", {"text": "환불", "sender": "customer"}, AFTERNOON),
    ]
    with pipeline.worker() as worker:
        for raw in garbage:
            pipeline.send(TopicRole.EVENTS, raw, None)
        pipeline.send(TopicRole.EVENTS, None, b"C-NULL")  # a tombstone on the events topic
        for e in odd:
            pipeline.send_event(e)
        pipeline.flush()
        enriched = pipeline.wait_for_count(TopicRole.ENRICHED, len(odd))
        dlq = pipeline.wait_for_count(TopicRole.DLQ, len(garbage) + 1)
        assert worker.running()
    assert {r["event"]["event_id"] for r in enriched} == {e["event_id"] for e in odd}
    assert len(dlq) == len(garbage) + 1
    assert all(r["reason"] for r in dlq)
    # The original bytes of each, exactly (the null value has none: it shows as empty).
    assert sorted(base64.b64decode(r["value_b64"]) for r in dlq) == sorted([*garbage, b""])
