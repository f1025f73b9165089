"""The hand-over between the stages re-keys by customer id, whatever the producer did."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from engage_stream.config.settings import load_settings
from engage_stream.core.processor import EngagementCore
from engage_stream.ingest.records import RawRecord
from engage_stream.kafka.partitioner import partition_for
from engage_stream.kafka.topics import TopicRole
from engage_stream.policy.policy_file import load_policy
from engage_stream.samples.generator import SampleConfig, SampleStream
from engage_stream.schemas.enriched import KeyedProfile, ScoredEvent
from engage_stream.serving.models import load_models
from engage_stream.step.outputs import Output
from engage_stream.step.step import Step
from engage_stream.step.store import MemoryStore

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PARTITIONS = 6


@pytest.fixture(scope="module")
def step() -> Step:
    settings = load_settings(device="cpu")
    policy = load_policy(settings.policy_file)
    scorer, drafter = load_models(settings, policy, "fp32")
    return Step(EngagementCore(policy, drafter), scorer, clock=lambda: NOW, partitions=PARTITIONS)


def _record(topic: str, value: bytes | None, key: bytes | None, partition: int = 3) -> RawRecord:
    return RawRecord(topic, partition, 41, 1_764_500_000_000, key, value)


def test_events_go_to_their_customers_partition_whatever_key_or_partition_they_came_with(
    step: Step,
) -> None:
    stream = SampleStream(SampleConfig(customers=30, seed=9))
    events = list(stream.events(60))
    keys = [None, b"wrong-key", b"", None]
    records = [
        _record("crm.events", e.model_dump_json().encode(), keys[i % 4], partition=i % 4)
        for i, e in enumerate(events)
    ]
    for item, event in zip(step.ingest(records).items, events, strict=True):
        assert isinstance(item, ScoredEvent)
        out = step.forward(item)
        assert out.role is TopicRole.SCORED
        assert out.key == event.customer_id.encode()
        assert out.partition == partition_for(event.customer_id, PARTITIONS)
        assert step.received(_record("engage.scored", out.value, out.key)) == item


def test_a_profile_is_re_keyed_and_kept_with_where_its_producer_wrote_it(step: Step) -> None:
    profile = SampleStream(SampleConfig(customers=3, seed=2)).profiles[0]
    original = _record("crm.customers", profile.model_dump_json().encode(), b"mis-keyed", 2)
    out = step.route_profile(original)

    assert out.role is TopicRole.PROFILES
    assert out.key == profile.customer_id.encode()
    assert out.partition == partition_for(profile.customer_id, PARTITIONS)
    keyed = step.received_profile(_record("engage.profiles", out.value, out.key))
    assert keyed == KeyedProfile(
        customer_id=profile.customer_id, source=original.position, profile=profile
    )
    store = MemoryStore()
    step.keep_profile(keyed, store)
    assert store.profile(profile.customer_id) == profile
    # The replay's one-hop path keeps the same.
    replayed = MemoryStore()
    step.profile(original, replayed)
    assert replayed.profiles == store.profiles


def test_a_tombstone_is_re_keyed_by_its_record_key_and_drops_the_profile(step: Step) -> None:
    profile = SampleStream(SampleConfig(customers=3, seed=2)).profiles[1]
    customer = profile.customer_id
    store = MemoryStore()
    store.put_profile(customer, profile)
    out = step.route_profile(_record("crm.customers", None, customer.encode()))

    assert out.partition == partition_for(customer, PARTITIONS)
    keyed = step.received_profile(_record("engage.profiles", out.value, out.key))
    assert isinstance(keyed, KeyedProfile)
    assert keyed.profile is None
    step.keep_profile(keyed, store)
    assert store.profile(customer) is None


def test_a_profile_that_does_not_decode_is_a_dead_letter_not_a_hand_over(step: Step) -> None:
    out = step.route_profile(_record("crm.customers", b'{"customer_id": 7}', b"C-1"))
    assert out.role is TopicRole.DLQ
    assert json.loads(out.value)["error_class"] == "schema_violation"


def test_a_broken_internal_record_is_a_dead_letter_naming_the_hand_over(step: Step) -> None:
    for received in (step.received, step.received_profile):
        out = received(_record("engage.profiles", b"{half", b"C-1"))
        assert isinstance(out, Output)
        letter = json.loads(out.value)
        assert letter["reason"].startswith("internal record:")
        assert letter["source_topic"] == "engage.profiles"


def test_a_profile_older_than_the_one_kept_changes_nothing(step: Step) -> None:
    """Latest by `updated_at` wins, whatever order the snapshots arrive in."""
    newer = SampleStream(SampleConfig(customers=3, seed=2)).profiles[2]
    older = newer.model_copy(
        update={"updated_at": newer.updated_at - timedelta(days=3), "name": "예전이름"}
    )
    store = MemoryStore()
    for profile in (newer, older):
        record = _record("crm.customers", profile.model_dump_json().encode(), b"k")
        decided = step.profile(record, store)
    assert store.profile(newer.customer_id) == newer
    assert decided.outputs == []
