"""`topics create` applies infra/topics.yaml idempotently on both real brokers."""

from __future__ import annotations

import time
import uuid

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic

from engage_stream.brokers import ApacheKafkaBroker, BrokerProcess
from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.kafka.admin import describe_topics, ensure_topics
from engage_stream.kafka.topics import TopicsFile, load_topics


def _unique(topics: TopicsFile) -> TopicsFile:
    """The shipped file with a per-test suffix, so tests on a shared broker do not collide."""
    suffix = uuid.uuid4().hex[:8]
    return topics.model_copy(
        update={
            "topics": {
                role: spec.model_copy(update={"name": f"{spec.name}.{suffix}"})
                for role, spec in topics.topics.items()
            }
        }
    )


def test_creates_every_topic_then_finds_them_all(
    broker: BrokerProcess, connection: dict[str, object]
) -> None:
    topics = _unique(load_topics(PROJECT_ROOT / "infra" / "topics.yaml"))

    first = ensure_topics(connection, topics)
    second = ensure_topics(connection, topics)

    assert {o.name: o.status for o in first} == {s.name: "created" for s in topics.topics.values()}
    assert {o.name: o.status for o in second} == {s.name: "exists" for s in topics.topics.values()}
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    described = {
        d["name"]: len(d["partitions"])
        for d in admin.describe_topics([s.name for s in topics.topics.values()])
    }
    admin.close()
    assert described == {s.name: s.partitions for s in topics.topics.values()}


def test_an_existing_topic_with_other_partitions_is_reported_not_altered(
    broker: BrokerProcess, connection: dict[str, object]
) -> None:
    topics = _unique(load_topics(PROJECT_ROOT / "infra" / "topics.yaml"))
    events = topics.topics[next(iter(topics.topics))]
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    admin.create_topics([NewTopic(events.name, 1, 1)])
    admin.close()

    outcomes = {o.name: o for o in ensure_topics(connection, topics)}

    assert outcomes[events.name].status == "differs"
    assert outcomes[events.name].partitions == 1
    assert "topics file says 4" in outcomes[events.name].detail


def test_compaction_and_retention_reach_apache_kafka(apache_kafka: ApacheKafkaBroker) -> None:
    topics = _unique(load_topics(PROJECT_ROOT / "infra" / "topics.yaml"))
    ensure_topics({"bootstrap_servers": [apache_kafka.bootstrap]}, topics)
    admin = KafkaAdminClient(bootstrap_servers=apache_kafka.bootstrap)
    customers = next(s.name for s in topics.topics.values() if s.name.startswith("crm.customers"))
    dlq = next(s.name for s in topics.topics.values() if s.name.startswith("engage.dlq"))
    resources = [
        ConfigResource(ConfigResourceType.TOPIC, customers),
        ConfigResource(ConfigResourceType.TOPIC, dlq),
    ]
    # A loaded broker can answer for a topic just made before its settings are in: ask again.
    deadline = time.monotonic() + 15
    configs = admin.describe_configs(resources)["topic"]
    while "retention.ms" not in configs.get(dlq, {}) and time.monotonic() < deadline:
        time.sleep(0.5)
        configs = admin.describe_configs(resources)["topic"]
    admin.close()
    assert configs[customers]["cleanup.policy"]["value"] == "compact"
    assert configs[dlq]["retention.ms"]["value"] == "2592000000"


def test_describe_topics_reads_each_topics_record_limit_default_included(
    apache_kafka: ApacheKafkaBroker,
) -> None:
    """The start-up check compares these with the producer batch; kafka-python 3 answers only
    changed settings unless asked for all, which left every limit unread."""
    topics = _unique(load_topics(PROJECT_ROOT / "infra" / "topics.yaml"))
    connection = {"bootstrap_servers": [apache_kafka.bootstrap]}
    ensure_topics(connection, topics)
    dlq = next(s.name for s in topics.topics.values() if s.name.startswith("engage.dlq"))
    events = next(s.name for s in topics.topics.values() if s.name.startswith("crm.events"))
    admin = KafkaAdminClient(bootstrap_servers=apache_kafka.bootstrap)
    limit = {"max.message.bytes": "100000"}
    deadline = time.monotonic() + 30
    while True:  # a topic made a moment ago has no configs to alter yet
        try:
            admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, dlq, configs=limit)])
            break
        except ValueError:
            assert time.monotonic() < deadline
            time.sleep(0.5)
    admin.close()
    while True:
        layout = describe_topics(connection, [dlq, events])
        found = {name: t.max_message_bytes for name, t in layout.items() if t is not None}
        if found.get(dlq) == 100_000 and found.get(events) is not None:
            break
        assert time.monotonic() < deadline, found
        time.sleep(0.5)
    assert found[events] == 1_048_588  # Apache Kafka's default, not set on the topic
