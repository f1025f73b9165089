"""Everything the worker needs, loaded and checked before it joins the consumer group
(the models through `serving.models`, as the replay loads them).

A wrong path, a broken model folder or an invalid policy stops the worker here with a
message naming the setting, not at the first event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engage_stream.config.settings import Settings
from engage_stream.core.processor import EngagementCore
from engage_stream.drafting.drafter import Drafter
from engage_stream.inference.providers import RuntimeChoice
from engage_stream.inference.scoring import Scorer
from engage_stream.kafka.admin import TopicAdminError, TopicLayout, describe_topics
from engage_stream.kafka.clients import connection_config
from engage_stream.kafka.topics import TopicRole, TopicsFile, TopicsFileError, load_topics
from engage_stream.observability.metrics import PipelineMetrics
from engage_stream.policy.policy_file import Policy, PolicyError, load_policy
from engage_stream.schemas.actions import ModelStamp
from engage_stream.serving.models import StartupError, load_models

PRODUCER_LINGER_S = 0.005
PRODUCER_BATCH_BYTES = 256 * 1024
"""Outputs and changelog writes leave in batches of up to this, not one request each."""


@dataclass
class Runtime:
    settings: Settings
    topics: TopicsFile
    policy: Policy
    scorer: Scorer
    drafter: Drafter
    core: EngagementCore
    metrics: PipelineMetrics

    @classmethod
    def load(cls, settings: Settings, metrics: PipelineMetrics | None = None) -> Runtime:
        problems: list[str] = []
        topics = policy = None
        try:
            topics = load_topics(settings.topics_file)
        except TopicsFileError as exc:
            problems.append(f"ENGAGE_TOPICS_FILE: {exc}")
        try:
            policy = load_policy(settings.policy_file)
        except PolicyError as exc:
            problems.append(f"ENGAGE_POLICY_FILE: {exc}")
        if topics is not None:
            problems += _partition_problems(topics)
        if problems or topics is None or policy is None:
            raise StartupError(problems)
        scorer, drafter = load_models(settings, policy)
        metrics = metrics or PipelineMetrics()
        served: list[tuple[ModelStamp, RuntimeChoice | None]] = [
            *zip(scorer.stamps, scorer.runtimes, strict=True),
            (drafter.bank.stamp, None),
        ]
        if drafter.encoder is not None:
            served.append((drafter.encoder.stamp, drafter.runtime))
        for stamp, choice in served:
            metrics.model_loaded(
                model=stamp.name,
                version=stamp.version,
                sha256=stamp.sha256,
                device=choice.device if choice else "none",
                precision=choice.precision if choice else "none",
            )
        metrics.score_cache_size(settings.score_cache_size)
        core = EngagementCore(policy, drafter)
        return cls(settings, topics, policy, scorer, drafter, core, metrics)

    def check_cluster(self) -> None:
        """The topics as the cluster has them (`broker_problems`); StartupError if wrong."""
        names = [spec.name for spec in self.topics.topics.values()]
        try:
            layout = describe_topics(connection_config(self.settings), names)
        except TopicAdminError as exc:
            raise StartupError([f"ENGAGE_KAFKA_BOOTSTRAP: {exc}"]) from None
        problems = broker_problems(self.topics, layout, PRODUCER_BATCH_BYTES)
        if problems:
            raise StartupError(problems)

    def close(self) -> None:
        self.scorer.close()
        self.drafter.close()


def _partition_problems(topics: TopicsFile) -> list[str]:
    """State is per customer: the stateful stage's inputs must be copartitioned. The
    producers' topics may have any count: their records are re-keyed on the way in."""
    scored = topics.topics[TopicRole.SCORED].partitions
    spec = topics.topics[TopicRole.PROFILES]
    if spec.partitions == scored:
        return []
    return [
        f"ENGAGE_TOPICS_FILE: {TopicRole.PROFILES.value} topic {spec.name} has "
        f"{spec.partitions} partitions but {topics.name(TopicRole.SCORED)} has {scored}; "
        "they must match (customer state is joined by partition)"
    ]


def broker_problems(
    topics: TopicsFile, layout: Mapping[str, TopicLayout | None], batch_bytes: int
) -> list[str]:
    """What the cluster's topics break, as the topics file cannot tell: a topic missing, the
    stateful stage's inputs not copartitioned on the broker (a customer's events and profile
    would meet on different workers), or an output topic whose record limit is
    below the producer's batch (small records sent together would be refused as one)."""
    problems = []
    for role, spec in topics.topics.items():
        if layout.get(spec.name) is None:
            problems.append(
                f"ENGAGE_TOPICS_FILE: {role.value} topic {spec.name} does not exist on the "
                "cluster; run `engage-stream topics create`"
            )
    scored = layout.get(topics.name(TopicRole.SCORED))
    profiles = layout.get(topics.name(TopicRole.PROFILES))
    if scored is not None and profiles is not None and profiles.partitions != scored.partitions:
        problems.append(
            f"ENGAGE_TOPICS_FILE: on the cluster {TopicRole.PROFILES.value} topic "
            f"{topics.name(TopicRole.PROFILES)} has {profiles.partitions} partitions but "
            f"{topics.name(TopicRole.SCORED)} has {scored.partitions}; they must match "
            "(customer state is joined by partition): recreate the topic or add partitions "
            "to match"
        )
    for role in OUTPUT_ROLES:
        name = topics.name(role)
        found = layout.get(name)
        limit = found.max_message_bytes if found is not None else None
        if limit is not None and limit < batch_bytes:
            problems.append(
                f"ENGAGE_TOPICS_FILE: {role.value} topic {name} takes records of at most "
                f"{limit:,} bytes (max.message.bytes), less than the worker's producer "
                f"batch of {batch_bytes:,}: raise it to at least that"
            )
    return problems


OUTPUT_ROLES = (
    TopicRole.SCORED,
    TopicRole.PROFILES,
    TopicRole.ENRICHED,
    TopicRole.ACTIONS_HANDOFF,
    TopicRole.ACTIONS_EMAIL,
    TopicRole.SUPPRESSIONS,
    TopicRole.DLQ,
)
