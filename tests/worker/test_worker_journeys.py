"""Journeys on real brokers: held offers taken back by an exit, released by stream time or by
an idle partition's tick, once, across a worker killed in between; the replay of the range
holds, releases and takes back the same, with the same ids."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from engage_stream.brokers import ApacheKafkaBroker, BrokerProcess
from engage_stream.kafka.partitioner import partition_for
from engage_stream.kafka.topics import TopicRole
from tests.worker.pipeline import (
    KST,
    Pipeline,
    by_source,
    cart,
    event,
    json_lines,
    profile,
    replay_command,
)

pytestmark = pytest.mark.broker

AFTERNOON = datetime(2026, 11, 26, 14, 0, tzinfo=KST)
EMAIL = {"email": {"advertising": True}}
SMS = {"sms": {"advertising": True}}


@pytest.fixture
def pipeline(broker: BrokerProcess, tmp_path: Path) -> Iterator[Pipeline]:
    pipe = Pipeline(broker, tmp_path)
    yield pipe
    pipe.close()


def order(event_id: str, customer_id: str, at: datetime) -> dict[str, Any]:
    item = {"sku": "SKU-1", "name": "캐시미어 니트", "quantity": 1, "unit_price_krw": 39_000}
    payload = {"order_id": f"ORD-{event_id}", "items": [item], "total_krw": 39_000}
    return event(event_id, customer_id, "order.placed", payload, at)


def emails_for(pipe: Pipeline, source_event_id: str) -> list[dict[str, Any]]:
    return by_source(pipe.read(TopicRole.ACTIONS_EMAIL)).get(source_event_id, [])


def test_held_offers_exit_release_and_survive_a_kill_then_replay_alike(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    partitions = pipeline.topics.topics[TopicRole.SCORED].partitions
    backfilled = next(  # a customer whose partition E-IDLE's idle tick does not depend on
        f"C-BACK-{n}"
        for n in range(100)
        if partition_for(f"C-BACK-{n}", partitions) != partition_for("C-IDLE", partitions)
    )
    for customer, consents, channel in (
        ("C-BUY", EMAIL, "email"),
        ("C-WAIT", EMAIL, "email"),
        ("C-SMS", SMS, "sms"),
        ("C-IDLE", EMAIL, "email"),
        (backfilled, EMAIL, "email"),
    ):
        pipeline.send_profile(profile(customer, channel=channel, consents=consents))
    pipeline.flush()

    # Ticks off: stream time moves only with events (fixed times, so placements are exact).
    worker = pipeline.worker().start()
    pipeline.wait_for_profiles(5)
    for e in (
        cart("E-BUY", "C-BUY", AFTERNOON),
        order("E-BUY-ORDER", "C-BUY", AFTERNOON + timedelta(minutes=30)),  # inside the hour
        cart("E-WAIT", "C-WAIT", AFTERNOON),
        cart("E-SMS", "C-SMS", AFTERNOON.replace(hour=19, minute=30)),  # due 20:30
    ):
        pipeline.send_event(e)
    pipeline.flush()
    clocks = pipeline.advance_stream_time(AFTERNOON.replace(hour=23, minute=5))
    pipeline.wait_for(TopicRole.ACTIONS_EMAIL, lambda r: len(r) >= 2)
    # A backfill of the day before, produced now behind live stream time: its reminder
    # waits as long again from that stream time, so the order after it in the log wins.
    day_before = AFTERNOON - timedelta(days=1)
    for e in (
        cart("E-BACK", backfilled, day_before),
        order("E-BACK-ORDER", backfilled, day_before + timedelta(minutes=20)),
    ):
        pipeline.send(TopicRole.EVENTS, json.dumps(e).encode(), backfilled.encode())
    pipeline.flush()
    pipeline.wait_for(
        TopicRole.SUPPRESSIONS, lambda r: any(s["source_event_id"] == "E-BACK" for s in r)
    )
    pipeline.send_event(cart("E-IDLE", "C-IDLE", AFTERNOON.replace(hour=23, minute=10)))
    pipeline.flush()
    held = pipeline.wait_for(
        TopicRole.ENRICHED,
        lambda records: any(r["event"]["event_id"] == "E-IDLE" for r in records),
    )
    assert [
        d["kind"] for r in held if r["event"]["event_id"] == "E-IDLE" for d in r["decisions"]
    ] == ["held"]
    time.sleep(2)  # the inputs before it committed (every second)
    assert worker.scrape().total("engage_held_offers") == 1  # E-IDLE's, the others ended
    worker.kill()  # between holding E-IDLE and its release

    (exited,) = by_source(pipeline.read(TopicRole.SUPPRESSIONS))["E-BUY"]
    assert exited["reason"] == "exited"
    assert "order.placed E-BUY-ORDER" in exited["detail"]
    assert emails_for(pipeline, "E-BUY") == []
    (back,) = by_source(pipeline.read(TopicRole.SUPPRESSIONS))["E-BACK"]
    assert back["reason"] == "exited"
    (sms,) = emails_for(pipeline, "E-SMS")
    assert sms["channel"] == "sms"
    assert datetime.fromisoformat(sms["send_not_before"]) == datetime(2026, 11, 27, 8, tzinfo=KST)
    assert sms["send_window"] == {"start": "08:00:00", "end": "21:00:00", "timezone": "Asia/Seoul"}
    (waited,) = emails_for(pipeline, "E-WAIT")
    released_at = datetime.fromisoformat(waited["send_not_before"])
    assert AFTERNOON + timedelta(hours=1) <= released_at <= AFTERNOON.replace(hour=23)

    # A new worker, ticks on: the idle partition releases E-IDLE by the clock, exactly once.
    with pipeline.worker(ENGAGE_IDLE_RELEASE_S="1") as after_kill:
        pipeline.wait_for(
            TopicRole.ACTIONS_EMAIL, lambda r: any(m["source_event_id"] == "E-IDLE" for m in r)
        )
        time.sleep(4)  # more ticks come and go
        assert after_kill.scrape().total("engage_held_offers") == 0
    sent = pipeline.read(TopicRole.ACTIONS_EMAIL)
    assert {m["source_event_id"] for m in sent} == {"E-IDLE", "E-SMS", "E-WAIT"}, "no E-BACK"
    (idle,) = emails_for(pipeline, "E-IDLE")  # once, by the worker after the kill
    by_id: dict[str, set[str]] = {}
    for message in sent:  # the kill may make the new worker redo a release: same id, same body
        by_id.setdefault(message["action_id"], set()).add(message["body"])
    assert all(len(bodies) == 1 for bodies in by_id.values())
    assert datetime.fromisoformat(idle["send_not_before"]) > datetime.now(UTC) - timedelta(hours=1)

    # The replay of the range, advanced to when the live ticks ran: the same ids.
    runs = tmp_path / "runs"
    result = replay_command(
        pipeline, runs, "journeys", "--advance-to", datetime.now(UTC).isoformat()
    )
    assert result.returncode == 0, result.stderr[-3000:]
    replayed = json_lines(runs / "journeys" / "actions_email.jsonl")
    assert {(m["source_event_id"], m["action_id"]) for m in replayed} == {
        (m["source_event_id"], m["action_id"]) for m in sent
    }, result.stderr[-2000:]
    suppressions = json_lines(runs / "journeys" / "suppressions.jsonl")
    assert {s["suppression_id"] for s in suppressions} == {
        s["suppression_id"] for s in pipeline.read(TopicRole.SUPPRESSIONS)
    }
    assert clocks, "every partition's stream time was moved"


def test_a_worker_restarted_takes_the_commits_stream_time_not_one_written_after_it(
    apache_kafka: ApacheKafkaBroker, tmp_path: Path
) -> None:
    """Records read after the last commit may have written a later stream time to the table
    before the crash; those records are read again, and must meet the stream time they
    first met. Here the table is given a stream time three days on (as records past the
    commit would have written it): the restarted worker starts from the commit's, so the
    held cart still waits for its hour and goes at its due time, not three days later."""
    pipe = Pipeline(apache_kafka, tmp_path)
    try:
        pipe.send_profile(profile("C-REDO", consents=EMAIL))
        pipe.flush()
        with pipe.worker():
            pipe.wait_for_profiles(1)
            pipe.send_event(cart("E-REDO", "C-REDO", AFTERNOON))
            pipe.flush()
            pipe.wait_for_count(TopicRole.ENRICHED, 1, timeout_s=60)
        partitions = pipe.topics.topics[TopicRole.SCORED].partitions
        partition = partition_for("C-REDO", partitions)
        parts = f"{pipe.group}-customer-state-parts-changelog"
        producer = KafkaProducer(**pipe.connection, acks="all")
        later = {"watermark": (AFTERNOON + timedelta(days=3)).isoformat(), "behind_s": 0}
        producer.send(
            parts,
            key=f"\x1fstream-time\x1f{partition}".encode(),
            value=json.dumps(later).encode(),
            partition=partition,
        )
        producer.flush()
        producer.close()

        with pipe.worker():
            pipe.send_event(
                event(
                    "E-LOOK",
                    "C-REDO",
                    "page.view",
                    {"url": "https://shop.example/"},
                    AFTERNOON + timedelta(minutes=10),
                )
            )
            pipe.flush()
            pipe.wait_for_count(TopicRole.ENRICHED, 2, timeout_s=90)
            assert emails_for(pipe, "E-REDO") == []  # 14:10: not due before 15:00
            pipe.advance_stream_time(AFTERNOON + timedelta(minutes=65))  # past the due time
            (email,) = pipe.wait_for(
                TopicRole.ACTIONS_EMAIL, lambda records: len(records) >= 1, timeout_s=90
            )
        assert email["source_event_id"] == "E-REDO"
        assert datetime.fromisoformat(email["send_not_before"]) == AFTERNOON + timedelta(hours=1)
    finally:
        pipe.close()
