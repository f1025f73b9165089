"""Everything the worker needs, loaded and checked before it joins the consumer group.

A wrong path, a broken model folder or an invalid policy stops the worker here with a
message naming the setting, not at the first event.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engage_stream.config.settings import Settings
from engage_stream.core.processor import EngagementCore
from engage_stream.drafting.bank import DrafterError
from engage_stream.drafting.drafter import Drafter
from engage_stream.inference.model_folder import ModelFolderError, Precision
from engage_stream.inference.providers import DeviceError
from engage_stream.inference.scoring import Scorer
from engage_stream.kafka.topics import TopicRole, TopicsFile, TopicsFileError, load_topics
from engage_stream.observability.metrics import PipelineMetrics
from engage_stream.policy.policy_file import Policy, PolicyError, load_policy

DRAFTER_MODEL = "drafter-ko"


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
        scorer, drafter = load_models(settings)
        metrics = metrics or PipelineMetrics()
        choices = [scorer.intent.runtime, scorer.toxicity.runtime, drafter.runtime]
        stamps = [*scorer.stamps, drafter.stamp]
        for stamp, choice in zip(stamps, choices, strict=True):
            metrics.model_loaded(
                model=stamp.name,
                version=stamp.version,
                sha256=stamp.sha256,
                device=choice.device if choice else "unknown",
                precision=choice.precision if choice else "unknown",
            )
        core = EngagementCore(policy, drafter)
        return cls(settings, topics, policy, scorer, drafter, core, metrics)

    def close(self) -> None:
        self.scorer.close()
        self.drafter.close()


def load_models(settings: Settings) -> tuple[Scorer, Drafter]:
    precision: Precision | None = (
        None if settings.model_precision == "auto" else settings.model_precision
    )
    model_dir = Path(settings.model_dir)
    try:
        scorer = Scorer.load(
            model_dir,
            device=settings.device,
            batch_max_size=settings.batch_max_size,
            precision=precision,
            cache_size=settings.score_cache_size,
        )
    except (ModelFolderError, DeviceError) as exc:
        raise StartupError([f"ENGAGE_MODEL_DIR / ENGAGE_DEVICE: {exc}"]) from None
    try:
        drafter = Drafter.load(model_dir / DRAFTER_MODEL, device=settings.device)
    except (DrafterError, ModelFolderError, DeviceError) as exc:
        scorer.close()
        raise StartupError([f"ENGAGE_MODEL_DIR: {exc}"]) from None
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
