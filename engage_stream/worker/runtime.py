"""Everything the worker needs, loaded and checked before it joins the consumer group
(the models through `serving.models`, as the replay loads them).

A wrong path, a broken model folder or an invalid policy stops the worker here with a
message naming the setting, not at the first event.
"""

from __future__ import annotations

from dataclasses import dataclass

from engage_stream.config.settings import Settings
from engage_stream.core.processor import EngagementCore
from engage_stream.drafting.drafter import Drafter
from engage_stream.inference.providers import RuntimeChoice
from engage_stream.inference.scoring import Scorer
from engage_stream.kafka.topics import TopicRole, TopicsFile, TopicsFileError, load_topics
from engage_stream.observability.metrics import PipelineMetrics
from engage_stream.policy.policy_file import Policy, PolicyError, load_policy
from engage_stream.schemas.actions import ModelStamp
from engage_stream.serving.models import StartupError, load_models


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

    def close(self) -> None:
        self.scorer.close()
        self.drafter.close()


def _partition_problems(topics: TopicsFile) -> list[str]:
    """State is per customer: the stateful inputs must be copartitioned with the events."""
    events = topics.topics[TopicRole.EVENTS].partitions
    problems = []
    for role in (TopicRole.CUSTOMERS, TopicRole.SCORED):
        spec = topics.topics[role]
        if spec.partitions != events:
            problems.append(
                f"ENGAGE_TOPICS_FILE: {role.value} topic {spec.name} has {spec.partitions} "
                f"partitions but {topics.name(TopicRole.EVENTS)} has {events}; they must match "
                "(customer state is joined by partition)"
            )
    return problems
