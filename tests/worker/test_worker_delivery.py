"""Delivery guarantees of the live worker: crash without loss, and a group that shares work."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from engage_stream.brokers import ApacheKafkaBroker, BrokerProcess
from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.harness.worker_process import json_log_lines
from engage_stream.kafka.reader import read_to_end
from engage_stream.kafka.topics import TopicRole
from engage_stream.policy.policy_file import load_policy
from engage_stream.samples.generator import SampleConfig, SampleStream
from engage_stream.worker.commit_times import decode
from tests.worker.pipeline import Pipeline

pytestmark = pytest.mark.broker

INVALID = [b"{not json", b"\xff\xfe", b'{"event_type": "coupon.used"}']


def _feed(pipe: Pipeline, count: int, seed: int = 7) -> set[str]:
    """Profiles, kept by the running workers before `count` sample events and a few invalid
    records follow (a profile joined later would change a reprocessed draft); the valid ids."""
    stream = SampleStream(SampleConfig(customers=60, seed=seed))
    events = list(stream.events(count))
    pipe.send_samples(stream.profiles)
    pipe.flush()
    pipe.wait_for_profiles(len(stream.profiles))
    pipe.send_samples(events=events)
    ids = {event.event_id for event in events}
    for raw in INVALID:
        pipe.send(TopicRole.EVENTS, raw, b"C-BAD")
    pipe.flush()
    return ids


def _action_ids(pipe: Pipeline) -> dict[str, set[str]]:
    return {
        "handoff": {a["action_id"] for a in pipe.read(TopicRole.ACTIONS_HANDOFF)},
        "email": {a["action_id"] for a in pipe.read(TopicRole.ACTIONS_EMAIL)},
        "suppressed": {s["suppression_id"] for s in pipe.read(TopicRole.SUPPRESSIONS)},
    }


def _one_action_per_id(records: list[dict[str, Any]], key: str) -> None:
    """Redelivery may repeat an action, but never as a different action under the same id."""
    seen: dict[str, dict[str, Any]] = {}
    for record in records:
        record = {k: v for k, v in record.items() if k != "created_at"}
        assert seen.setdefault(record[key], record) == record


@pytest.fixture
def kafka_pipeline(apache_kafka: ApacheKafkaBroker, tmp_path: Path) -> Iterator[Pipeline]:
    pipe = Pipeline(apache_kafka, tmp_path)
    yield pipe
    pipe.close()


def _unhurried_drafts(directory: Path) -> dict[str, str]:
    """The shipped policy with a draft budget no loaded machine misses. The budget is the one
    input of an action that is the clock: a draft over it is retrieved by n-grams alone, so
    on a busy machine a reprocessed handoff could carry another draft under the same id."""
    shipped = (PROJECT_ROOT / "infra" / "policies.yaml").read_text(encoding="utf-8")
    unhurried = re.sub(r"    budget_ms: \d+", "    budget_ms: 10000", shipped)
    assert unhurried != shipped
    path = directory / "policies-unhurried.yaml"
    path.write_text(unhurried, encoding="utf-8")
    return {"ENGAGE_POLICY_FILE": str(path)}


def test_sigkill_mid_stream_loses_no_event(kafka_pipeline: Pipeline, tmp_path: Path) -> None:
    pipe = kafka_pipeline
    # fp32: events scored again after the crash sit in other batches, which move int8 scores.
    policy = {**_unhurried_drafts(tmp_path), "ENGAGE_MODEL_PRECISION": "fp32"}
    first = pipe.worker(**policy).start()
    valid = _feed(pipe, 3_000)
    # Read from the worker's own count (a topic read would take longer than the worker
    # needs to finish on a fast machine, and the crash would come after the last event).
    enriched_out = f"engage_events_out_total{{topic={pipe.name(TopicRole.ENRICHED)}}}"
    deadline = time.monotonic() + 120
    while first.metrics().get(enriched_out, 0.0) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.kill()
    done_before_crash = {r["event"]["event_id"] for r in pipe.read(TopicRole.ENRICHED)}
    assert len(done_before_crash) < len(valid), "the crash came too late to test anything"

    pipe.worker(**policy).start()
    enriched = pipe.wait_for(
        TopicRole.ENRICHED,
        lambda records: {r["event"]["event_id"] for r in records} >= valid,
        timeout_s=240,
    )
    # Every valid input has an enriched record; every invalid one a DLQ record.
    assert {r["event"]["event_id"] for r in enriched} == valid
    dlq = pipe.wait_for_count(TopicRole.DLQ, len(INVALID))
    assert len({(r["source_partition"], r["source_offset"]) for r in dlq}) == len(INVALID)
    # Reprocessing after the crash repeated some work, but no id stands for two actions.
    _one_action_per_id(pipe.read(TopicRole.ACTIONS_HANDOFF), "action_id")
    _one_action_per_id(pipe.read(TopicRole.ACTIONS_EMAIL), "action_id")
    _one_action_per_id(pipe.read(TopicRole.SUPPRESSIONS), "suppression_id")


def test_each_commit_carries_the_stream_time_as_of_its_offset(
    kafka_pipeline: Pipeline,
) -> None:
    """A redo after a crash starts from the stream time of the commit it starts from, so the
    commit must carry exactly the stream time its records made (`worker.commit_times`).
    Apache Kafka only: Tansu 0.6.0 keeps a commit's offset but answers its metadata as
    null, and a worker on it keeps the table's stream time, as before commits carried it."""
    pipe = kafka_pipeline
    with pipe.worker():
        valid = _feed(pipe, 600)
        pipe.wait_for_count(TopicRole.ENRICHED, len(valid), timeout_s=180)
    lateness = load_policy(PROJECT_ROOT / "infra" / "policies.yaml").journeys.lateness
    scored = pipe.name(TopicRole.SCORED)
    happened: dict[int, list[tuple[int, datetime]]] = {}
    for record in read_to_end(pipe.connection, scored):
        value = json.loads(record.value)
        happened.setdefault(record.partition, []).append(
            (record.offset, datetime.fromisoformat(value["event"]["occurred_at"]))
        )
    consumer = KafkaConsumer(**pipe.connection, group_id=pipe.group)
    commits: dict[int, str] = {}
    try:
        for partition, records in happened.items():
            committed = consumer.committed(TopicPartition(scored, partition), metadata=True)
            assert committed is not None, f"partition {partition} never committed"
            read = [at for offset, at in records if offset < committed.offset]
            carried = decode(committed.metadata)
            assert carried is not None, f"partition {partition}: {committed.metadata!r}"
            assert carried.watermark == max(read) - lateness
            commits[partition] = carried.watermark.isoformat()
    finally:
        consumer.close()
    assert len(commits) >= 2
    # The next worker starts each partition from its commit's stream time, read with the
    # offset it seeks to, not from the table's (`ConsumerThread.seek_to_committed`).
    with pipe.worker() as again:
        assert again.log_file is not None
        started = _assigned_stream_times(again.log_file, scored, len(happened))
    assert {p: (s["source"], s["watermark"]) for p, s in started.items() if p in commits} == {
        p: ("commit", watermark) for p, watermark in commits.items()
    }


def _assigned_stream_times(log: Path, topic: str, partitions: int) -> dict[int, dict[str, Any]]:
    """The worker's `stream_time_assigned` lines for `topic`, by partition, once it has
    logged one for each of `partitions`."""
    deadline = time.monotonic() + 60
    found: dict[int, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        for entry in json_log_lines(log):
            if entry.get("event") == "stream_time_assigned" and entry.get("topic") == topic:
                found[entry["partition"]] = entry
        if len(found) >= partitions:
            return found
        time.sleep(0.5)
    raise AssertionError(f"stream times assigned for {sorted(found)} only; log {log}")


def test_two_workers_share_partitions_and_act_like_one(
    broker: BrokerProcess, tmp_path: Path
) -> None:
    # fp32: int8 scores move slightly with batch composition, which differs between runs.
    fp32 = {"ENGAGE_MODEL_PRECISION": "fp32"}
    single = Pipeline(broker, tmp_path / "single")
    pair = Pipeline(broker, tmp_path / "pair")
    try:
        with single.worker(**fp32):
            valid = _feed(single, 800)
            single.wait_for_count(TopicRole.ENRICHED, len(valid), timeout_s=180)
        first = pair.worker(**fp32).start()
        second = pair.worker(**fp32).start()
        first.wait_ready(60)  # the second one's arrival rebalanced the group
        _feed(pair, 800)
        pair.wait_for_count(TopicRole.ENRICHED, len(valid), timeout_s=180)
        scored = f"engage_events_in_total{{topic={pair.name(TopicRole.SCORED)}}}"
        shares = [first.metrics().get(scored, 0.0), second.metrics().get(scored, 0.0)]
        assert all(share > 0 for share in shares), f"one worker got no partitions: {shares}"
        assert _action_ids(pair) == _action_ids(single)
    finally:
        single.close()
        pair.close()
