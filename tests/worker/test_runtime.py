"""What the worker checks on the cluster before it joins the group."""

from __future__ import annotations

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.kafka.admin import TopicLayout
from engage_stream.kafka.topics import TopicRole, load_topics
from engage_stream.worker.runtime import PRODUCER_BATCH_BYTES, broker_problems

TOPICS = load_topics(PROJECT_ROOT / "infra" / "topics.yaml")


def layout(**changed: TopicLayout | None) -> dict[str, TopicLayout | None]:
    found: dict[str, TopicLayout | None] = {
        spec.name: TopicLayout(spec.partitions, 1_048_588) for spec in TOPICS.topics.values()
    }
    found.update({TOPICS.name(TopicRole(role)): value for role, value in changed.items()})
    return found


def test_a_cluster_as_the_topics_file_says_passes() -> None:
    assert broker_problems(TOPICS, layout(), PRODUCER_BATCH_BYTES) == []


def test_a_broker_that_does_not_say_its_limits_passes() -> None:
    found = {name: TopicLayout(t.partitions) for name, t in layout().items() if t is not None}
    assert broker_problems(TOPICS, found, PRODUCER_BATCH_BYTES) == []


def test_profiles_hand_over_on_other_partitions_than_the_scored_one_is_refused() -> None:
    (problem,) = broker_problems(TOPICS, layout(profiles=TopicLayout(2)), PRODUCER_BATCH_BYTES)
    assert problem.startswith("ENGAGE_TOPICS_FILE: on the cluster profiles topic engage.profiles")
    assert "has 2 partitions but engage.scored has 4" in problem


def test_the_producers_topics_may_have_any_partition_count() -> None:
    """Their records are re-keyed by customer id on the way to the stateful stage."""
    found = layout(events=TopicLayout(6, 1_048_588), customers=TopicLayout(1, 1_048_588))
    assert broker_problems(TOPICS, found, PRODUCER_BATCH_BYTES) == []


def test_a_missing_topic_is_named_with_the_command_that_makes_it() -> None:
    (problem,) = broker_problems(TOPICS, layout(dlq=None), PRODUCER_BATCH_BYTES)
    assert "dlq topic engage.dlq does not exist" in problem
    assert "engage-stream topics create" in problem


def test_an_output_topic_limit_below_the_producer_batch_is_refused() -> None:
    small = TopicLayout(4, 100_000)
    (problem,) = broker_problems(TOPICS, layout(enriched=small), PRODUCER_BATCH_BYTES)
    assert "engage.enriched takes records of at most 100,000 bytes" in problem
