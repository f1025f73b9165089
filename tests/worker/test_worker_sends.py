"""No commit past an unsent output: a record its topic refuses as too large is dead-lettered
as a bounded copy that fits, and the input's offset moves on only once that is sent."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from engage_stream.brokers import ApacheKafkaBroker
from engage_stream.kafka.topics import TopicRole
from engage_stream.samples.generator import SampleConfig, SampleStream
from tests.worker.pipeline import Pipeline

pytestmark = pytest.mark.broker

LIMIT = 600
"""max.message.bytes of the enriched topic in this test: no enriched record fits."""


def _committed_to_the_end(pipe: Pipeline, role: TopicRole) -> bool:
    admin = KafkaAdminClient(**pipe.connection)
    consumer = KafkaConsumer(**pipe.connection)
    try:
        name = pipe.name(role)
        partitions = [TopicPartition(name, p) for p in range(pipe.topics.topics[role].partitions)]
        ends = consumer.end_offsets(partitions)
        committed = admin.list_group_offsets(pipe.group).get(pipe.group, {})
        return all(
            ends[tp] == 0 or (tp in committed and committed[tp].offset == ends[tp])
            for tp in partitions
        )
    finally:
        admin.close()
        consumer.close()


def test_an_output_too_large_for_its_topic_is_dead_lettered_and_its_input_committed(
    apache_kafka: ApacheKafkaBroker, tmp_path: Path
) -> None:
    pipe = Pipeline(apache_kafka, tmp_path)
    enriched = pipe.name(TopicRole.ENRICHED)
    stream = SampleStream(SampleConfig(customers=10, seed=4))
    events = list(stream.events(40))
    with pipe.worker() as worker:
        # The limit is lowered under the running worker (at start it refuses a topic whose
        # limit is below its producer batch).
        admin = KafkaAdminClient(**pipe.connection)
        limit = {"max.message.bytes": str(LIMIT)}
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, enriched, configs=limit)])
        admin.close()
        pipe.send_samples(stream.profiles, events)
        pipe.flush()
        dead = pipe.wait_for(
            TopicRole.DLQ,
            lambda records: len([r for r in records if enriched in r["reason"]]) >= len(events),
            timeout_s=120,
        )
        deadline = time.monotonic() + 60
        while not _committed_to_the_end(pipe, TopicRole.SCORED):
            assert time.monotonic() < deadline, "the scored inputs were never committed"
            time.sleep(0.5)
        assert worker.ready()
        assert worker.running()
    oversized = [r for r in dead if enriched in r["reason"]]
    by_event = {}
    for record in oversized:
        assert record["error_class"] == "oversized_record"
        assert record["source_topic"] == pipe.name(TopicRole.SCORED)
        copy = base64.b64decode(record["value_b64"])
        assert not record["value_truncated"]  # an enriched record is far below the bound
        assert record["value_size"] == len(copy) > LIMIT
        assert record["value_sha256"] == hashlib.sha256(copy).hexdigest()
        by_event[json.loads(copy)["event"]["event_id"]] = record
    assert set(by_event) == {event.event_id for event in events}  # each one, none lost
    assert pipe.read(TopicRole.ENRICHED) == []
    handoffs = pipe.read(TopicRole.ACTIONS_HANDOFF)  # the other outputs are not held up
    assert all(h["source_event_id"] in by_event for h in handoffs)
    pipe.close()
