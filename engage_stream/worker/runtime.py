"""Everything the worker needs, loaded and checked before it joins the consumer group.

A wrong path, a broken model folder or an invalid policy stops the worker here with a
message naming the setting, not at the first event.
"""

from __future__ import annotations

from dataclasses import dataclass

from engage_stream.config.settings import Settings
from engage_stream.core.processor import EngagementCore
from engage_stream.drafting.bank_file import BankError
from engage_stream.drafting.drafter import Drafter
from engage_stream.inference.heads import CLASSIFICATION_ROLES
from engage_stream.inference.model_folder import ModelFolderError, Precision
from engage_stream.inference.providers import DeviceError, RuntimeChoice
from engage_stream.inference.scoring import Scorer
from engage_stream.kafka.topics import TopicRole, TopicsFile, TopicsFileError, load_topics
from engage_stream.observability.metrics import PipelineMetrics
from engage_stream.policy.policy_file import Policy, PolicyError, label_problems, load_policy
from engage_stream.schemas.actions import ModelStamp


class StartupError(Exception):
    """The worker cannot start; `problems` are lines such as 'ENGAGE_X: what is wrong'."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


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


def load_models(
    settings: Settings, policy: Policy, precision: Precision | None = None
) -> tuple[Scorer, Drafter]:
    """The heads the registry names and the drafter over the knowledge bank, checked
    against each other: the policy's and the bank's label names must be the heads' own."""
    if precision is None and settings.model_precision != "auto":
        precision = settings.model_precision
    try:
        scorer = Scorer.load(
            settings.model_bindings(),
            device=settings.device,
            batch_max_size=settings.batch_max_size,
            precision=precision,
            cache_size=settings.score_cache_size,
        )
    except (ModelFolderError, DeviceError) as exc:
        raise StartupError([f"ENGAGE_MODEL_INTENT / _TOXICITY / _TOPIC: {exc}"]) from None
    labels = {role: scorer.labels(role) for role in CLASSIFICATION_ROLES}
    problems = [f"ENGAGE_POLICY_FILE: {p}" for p in label_problems(policy, labels)]
    if problems:
        scorer.close()
        raise StartupError(problems)
    sender = policy.outbound.sender
    try:
        drafter = Drafter.load(
            settings.model_path(settings.knowledge_bank),
            settings.model_path(settings.model_embedding),
            sender={"shop_name": sender.name, "contact": sender.contact},
            zone=policy.zone,
            device=settings.device,
            budget_ms=policy.handoff.drafting.budget_ms,
        )
        drafter.bank.file.check_topics(labels["topic"], f"the topic head ({settings.model_topic})")
    except BankError as exc:
        scorer.close()
        raise StartupError([f"ENGAGE_KNOWLEDGE_BANK: {exc}"]) from None
    except (ModelFolderError, DeviceError) as exc:
        scorer.close()
        raise StartupError([f"ENGAGE_MODEL_EMBEDDING: {exc}"]) from None
    return scorer, drafter


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
