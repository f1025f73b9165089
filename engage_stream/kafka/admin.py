"""Apply `infra/topics.yaml` to a cluster: create what is missing, report what is there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from engage_stream.kafka.topics import TopicsFile, TopicSpec


class TopicAdminError(RuntimeError):
    """The cluster could not be reached or refused the change; the message says which."""


@dataclass(frozen=True)
class TopicOutcome:
    name: str
    status: Literal["created", "exists", "differs"]
    partitions: int
    detail: str = ""


def _admin(connection: dict[str, Any], bootstrap_timeout_ms: int) -> KafkaAdminClient:
    try:
        return KafkaAdminClient(
            **connection, request_timeout_ms=30_000, bootstrap_timeout_ms=bootstrap_timeout_ms
        )
    except KafkaError as exc:
        servers = ",".join(connection["bootstrap_servers"])
        raise TopicAdminError(
            f"cannot reach Kafka at {servers} ({type(exc).__name__}: {exc}); check "
            "ENGAGE_KAFKA_BOOTSTRAP (or --bootstrap) and that the broker is up"
        ) from None


def _partition_counts(admin: KafkaAdminClient, names: list[str]) -> dict[str, int]:
    if not names:
        return {}
    return {d["name"]: len(d["partitions"]) for d in admin.describe_topics(names)}


def ensure_topics(
    connection: dict[str, Any],
    topics: TopicsFile,
    replication_factor: int | None = None,
    bootstrap_timeout_ms: int = 15_000,
    specs: Sequence[TopicSpec] | None = None,
) -> list[TopicOutcome]:
    """Create missing topics (`specs`, default all of the file); never alter existing ones,
    but say where they differ."""
    servers = ",".join(connection["bootstrap_servers"])
    admin = _admin(connection, bootstrap_timeout_ms)
    try:
        specs = list(topics.topics.values()) if specs is None else list(specs)
        existing = set(admin.list_topics())
        to_create = [spec for spec in specs if spec.name not in existing]
        created: set[str] = set()
        for spec in to_create:
            new = NewTopic(
                name=spec.name,
                num_partitions=spec.partitions,
                replication_factor=replication_factor or topics.replication_of(spec),
                topic_configs=spec.kafka_configs(),
            )
            try:
                admin.create_topics([new], timeout_ms=30_000)
                created.add(spec.name)
            except TopicAlreadyExistsError:
                pass  # created by someone else since list_topics: report it as found
        counts = _partition_counts(admin, [s.name for s in specs if s.name not in created])
        return [_outcome(spec, spec.name in created, counts.get(spec.name)) for spec in specs]
    except KafkaError as exc:
        raise TopicAdminError(
            f"topic creation on {servers} failed: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        admin.close()


def _outcome(spec: TopicSpec, created: bool, partitions: int | None) -> TopicOutcome:
    if created:
        return TopicOutcome(spec.name, "created", spec.partitions)
    actual = partitions if partitions is not None else spec.partitions
    if actual != spec.partitions:
        return TopicOutcome(
            spec.name,
            "differs",
            actual,
            f"has {actual} partitions, topics file says {spec.partitions}; not changed",
        )
    return TopicOutcome(spec.name, "exists", actual)


@dataclass(frozen=True)
class TopicLayout:
    """What the cluster says of one topic (None: the broker did not say)."""

    partitions: int
    max_message_bytes: int | None = None


LIMIT_CONFIG = "max.message.bytes"


def describe_topics(
    connection: dict[str, Any], names: Sequence[str], bootstrap_timeout_ms: int = 30_000
) -> dict[str, TopicLayout | None]:
    """Partitions and `max.message.bytes` of each named topic on the cluster (None for a
    topic that does not exist)."""
    servers = ",".join(connection["bootstrap_servers"])
    admin = _admin(connection, bootstrap_timeout_ms)
    try:
        existing = set(admin.list_topics())
        present = [name for name in names if name in existing]
        counts = _partition_counts(admin, present)
        limits = _max_message_bytes(admin, present)
        return {
            name: TopicLayout(counts[name], limits.get(name)) if name in counts else None
            for name in names
        }
    except KafkaError as exc:
        raise TopicAdminError(
            f"describing topics on {servers} failed: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        admin.close()


def _max_message_bytes(admin: KafkaAdminClient, names: list[str]) -> dict[str, int]:
    """Per topic, its `max.message.bytes` (the broker's default included: kafka-python 3
    answers only settings changed from the defaults unless asked for all). A broker that
    cannot describe configs, or a topic it says nothing of yet, has no entry."""
    if not names:
        return {}
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    try:
        answer = admin.describe_configs(resources, config_filter="all")
    except KafkaError:
        return {}
    topics = answer.get("topic", {}) if isinstance(answer, dict) else {}
    limits: dict[str, int] = {}
    for name, configs in topics.items():
        value = (configs.get(LIMIT_CONFIG) or {}).get("value")
        if value is not None:
            limits[name] = int(value)
    return limits
