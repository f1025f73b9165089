"""`topics create` applies infra/topics.yaml idempotently on both real brokers."""

from __future__ import annotations

import uuid

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic

from engage_stream.brokers import ApacheKafkaBroker, BrokerProcess
from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.kafka.admin import ensure_topics
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
    response = admin.describe_configs(
        [
            ConfigResource(ConfigResourceType.TOPIC, customers),
            ConfigResource(ConfigResourceType.TOPIC, dlq),
        ]
    )
    admin.close()
    configs = response["topic"]
    assert configs[customers]["cleanup.policy"]["value"] == "compact"
    assert configs[dlq]["retention.ms"]["value"] == "2592000000"
