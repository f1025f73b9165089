"""Loading runs: a run directory, duplicates counted once, clear errors; topics on Tansu."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from pydantic import BaseModel

from engage_stream.brokers import TansuBroker
from engage_stream.evaluation.runs import RunLoadError, load_run_dir, load_run_topics, shadow_topic
from engage_stream.kafka.admin import ensure_topics
from engage_stream.kafka.topics import TopicRole, load_topics
from tests.evaluation.builders import (
    dead_letter,
    enriched,
    handoff_action,
    handoff_decision,
    message,
    suppression,
    write_run,
)
from tests.worker.pipeline import isolated_topics


def test_a_run_directory_loads_into_typed_records(tmp_path: Path) -> None:
    directory = write_run(
        tmp_path / "run",
        [
            enriched(
                "E1",
                "상담원 연결해 주세요",
                intent="command",
                decisions=[handoff_decision("E1")],
                run_id="r7",
            ),
            enriched("E2", text=None, offset=1, run_id="r7"),
        ],
        handoffs=[handoff_action("E1")],
        messages=[message("E2")],
        suppressions=[suppression("E2", "review_request")],
        dlq=[dead_letter(5)],
        manifest={"run_id": "r7", "events_per_s": 100.0},
    )

    run = load_run_dir(directory)

    assert run.run_id == "r7"
    assert not run.is_live
    assert run.manifest == {"run_id": "r7", "events_per_s": 100.0}
    assert set(run.events) == {"E1", "E2"}
    e1 = run.events["E1"]
    assert e1.customer_text == "상담원 연결해 주세요"
    assert e1.sender == "customer"
    assert e1.intent is not None
    assert e1.intent.label == "command"
    assert e1.intent.model == "intent-ko v1"
    assert [d.kind.value for d in e1.decisions] == ["handoff"]
    assert e1.source_timestamp_ms is not None
    assert e1.latency_ms() == pytest.approx(50.0)
    assert run.events["E2"].intent is None
    assert run.events["E2"].customer_text is None
    assert (len(run.handoffs), len(run.messages), len(run.suppressions)) == (1, 1, 1)
    assert run.dlq is not None
    assert len(run.dlq) == 1
    assert run.policy_versions == {"test-policy-1"}


def test_the_run_id_comes_from_the_records_without_a_manifest(tmp_path: Path) -> None:
    directory = write_run(tmp_path / "folder", [enriched("E1", run_id="live")])
    run = load_run_dir(directory)
    assert run.run_id == "live"
    assert run.is_live
    assert run.manifest is None
    assert run.dlq is None


def test_duplicates_and_redeliveries_are_counted_once(tmp_path: Path) -> None:
    directory = write_run(
        tmp_path / "run",
        [
            enriched("E1", "첫 번째", offset=0, decisions=[handoff_decision("E1")]),
            enriched("E2", offset=1),
            enriched("E1", "첫 번째", offset=0, decisions=[handoff_decision("E1")]),  # redelivery
            enriched("E1", "첫 번째", offset=7, duplicate_of=0),  # the same id sent again
            enriched("E9", offset=8, duplicate_of=3),  # first seen before this run
        ],
        handoffs=[handoff_action("E1"), handoff_action("E1")],
    )

    run = load_run_dir(directory)

    assert set(run.events) == {"E1", "E2"}
    assert run.records == 5
    assert (run.duplicate_records, run.redelivered_records) == (2, 1)
    assert run.duplicate_only == {"E9"}
    assert run.events["E1"].duplicate
    assert not run.events["E2"].duplicate
    assert [d.kind.value for d in run.events["E1"].decisions] == ["handoff"]
    assert len(run.handoffs) == 1


def test_a_duplicate_seen_before_its_first_record_is_not_lost(tmp_path: Path) -> None:
    directory = write_run(
        tmp_path / "run", [enriched("E1", offset=7, duplicate_of=0), enriched("E1", offset=0)]
    )
    run = load_run_dir(directory)
    assert set(run.events) == {"E1"}
    assert run.events["E1"].duplicate
    assert run.duplicate_only == set()


def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RunLoadError, match="does not exist"):
        load_run_dir(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunLoadError, match=r"not a run directory: it has no enriched\.jsonl"):
        load_run_dir(tmp_path / "empty")


def test_a_bad_line_names_the_file_and_line(tmp_path: Path) -> None:
    directory = write_run(tmp_path / "run", [enriched("E1")])
    with (directory / "enriched.jsonl").open("a", encoding="utf-8") as handle:
        handle.write("\n{not json\n")
    with pytest.raises(RunLoadError, match=r"enriched\.jsonl, line 3: not JSON"):
        load_run_dir(directory)

    (directory / "enriched.jsonl").write_text('{"event": {}}\n', encoding="utf-8")
    with pytest.raises(RunLoadError, match=r"line 1: not a valid EnrichedEvent"):
        load_run_dir(directory)

    (directory / "enriched.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(RunLoadError, match="holds no records"):
        load_run_dir(directory)


def test_a_bad_manifest_is_a_clear_error(tmp_path: Path) -> None:
    directory = write_run(tmp_path / "run", [enriched("E1")])
    (directory / "run.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(RunLoadError, match="manifest is not a JSON object"):
        load_run_dir(directory)


# -- from topics, on a real broker ----------------------------------------------------------


def _send(producer: KafkaProducer, topic: str, records: list[BaseModel]) -> None:
    for record in records:
        producer.send(topic, json.dumps(record.model_dump(mode="json")).encode())


@pytest.mark.broker
def test_runs_load_from_live_and_shadow_topics(tansu: TansuBroker, tmp_path: Path) -> None:
    topics = load_topics(isolated_topics(tmp_path))
    connection = {"bootstrap_servers": [tansu.bootstrap]}
    ensure_topics(connection, topics)
    admin = KafkaAdminClient(**connection)
    admin.create_topics(
        [
            NewTopic(shadow_topic(topics, "r1", role), 1, 1)
            for role in (TopicRole.ENRICHED, TopicRole.ACTIONS_HANDOFF)
        ]
    )
    admin.close()
    producer = KafkaProducer(**connection, acks="all")
    live = topics.name
    _send(
        producer,
        live(TopicRole.ENRICHED),
        [
            enriched("E1", decisions=[handoff_decision("E1")]),
            enriched("E2", offset=1),
            enriched("E2", offset=1),  # redelivered
            enriched("E1", offset=5, duplicate_of=0),
        ],
    )
    _send(producer, live(TopicRole.ACTIONS_HANDOFF), [handoff_action("E1")])
    _send(producer, live(TopicRole.DLQ), [dead_letter(3)])
    _send(producer, shadow_topic(topics, "r1", TopicRole.ENRICHED), [enriched("E1", run_id="r1")])
    producer.flush()
    producer.close()

    run = load_run_topics(topics, connection, timeout_s=20)
    assert run.run_id == "live"
    assert set(run.events) == {"E1", "E2"}
    assert (run.duplicate_records, run.redelivered_records) == (1, 1)
    assert len(run.handoffs) == 1
    assert run.dlq is not None
    assert len(run.dlq) == 1

    replay = load_run_topics(topics, connection, run_id="r1", timeout_s=20)
    assert replay.run_id == "r1"
    assert set(replay.events) == {"E1"}
    assert replay.handoffs == {}
    assert replay.dlq is None

    with pytest.raises(RunLoadError, match="unknown run id 'r2'"):
        load_run_topics(topics, connection, run_id="r2", timeout_s=20)
