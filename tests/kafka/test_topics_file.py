"""infra/topics.yaml is the one source of topic names, and a bad file is refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.kafka.topics import TopicRole, TopicsFileError, load_topics

SHIPPED = PROJECT_ROOT / "infra" / "topics.yaml"


def _write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "topics.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_shipped_file_declares_every_role_with_the_design_names() -> None:
    topics = load_topics(SHIPPED)
    assert {role: topics.name(role) for role in TopicRole} == {
        TopicRole.EVENTS: "crm.events",
        TopicRole.CUSTOMERS: "crm.customers",
        TopicRole.SCORED: "engage.scored",
        TopicRole.PROFILES: "engage.profiles",
        TopicRole.ENRICHED: "engage.enriched",
        TopicRole.ACTIONS_HANDOFF: "engage.actions.handoff",
        TopicRole.ACTIONS_EMAIL: "engage.actions.email",
        TopicRole.SUPPRESSIONS: "engage.suppressions",
        TopicRole.DLQ: "engage.dlq",
    }
    assert topics.topics[TopicRole.CUSTOMERS].kafka_configs()["cleanup.policy"] == "compact"
    assert topics.topics[TopicRole.EVENTS].kafka_configs()["retention.ms"] == "604800000"


def test_a_missing_role_is_named(tmp_path: Path) -> None:
    document = yaml.safe_load(SHIPPED.read_text())
    del document["topics"]["dlq"]
    with pytest.raises(TopicsFileError, match="roles missing: dlq"):
        load_topics(_write(tmp_path, document))


def test_an_illegal_topic_name_and_bad_partitions_are_named(tmp_path: Path) -> None:
    document = yaml.safe_load(SHIPPED.read_text())
    document["topics"]["events"]["name"] = "crm events!"
    document["topics"]["dlq"]["partitions"] = 0
    with pytest.raises(TopicsFileError) as excinfo:
        load_topics(_write(tmp_path, document))
    message = str(excinfo.value)
    assert "topics.events.name" in message
    assert "topics.dlq.partitions" in message
    assert str(tmp_path / "topics.yaml") in message


def test_two_roles_on_one_topic_are_refused(tmp_path: Path) -> None:
    document = yaml.safe_load(SHIPPED.read_text())
    document["topics"]["enriched"]["name"] = "crm.events"
    with pytest.raises(TopicsFileError, match=r"one topic serves two roles: crm\.events"):
        load_topics(_write(tmp_path, document))


def test_unreadable_and_malformed_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(TopicsFileError, match="cannot read"):
        load_topics(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("topics: [unclosed", encoding="utf-8")
    with pytest.raises(TopicsFileError, match="not valid YAML"):
        load_topics(bad)
