"""`engage-stream worker` and `policy check` stop at start on a bad setting, naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engage_stream.brokers import TansuBroker
from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.kafka.admin import ensure_topics
from engage_stream.kafka.isolation import isolated_topics_file
from engage_stream.kafka.topics import load_topics
from tests.cli.test_cli import _run


def test_worker_with_an_invalid_policy_file_stops_naming_the_setting(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\n", encoding="utf-8")
    result = _run("worker", env={"ENGAGE_POLICY_FILE": str(policy)})
    assert result.returncode == 2
    assert "ENGAGE_POLICY_FILE" in result.stderr
    assert str(policy) in result.stderr
    assert "handoff: Field required" in result.stderr
    assert "Traceback" not in result.stderr


def test_worker_with_an_empty_model_dir_stops_naming_the_setting(tmp_path: Path) -> None:
    result = _run("worker", env={"ENGAGE_MODEL_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "ENGAGE_MODEL_DIR" in result.stderr
    assert "multihead-ko" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_topic_model_whose_labels_the_policy_does_not_name_stops_the_worker() -> None:
    """intent-ko as the topic head: its labels are speech acts, not the shop's topics."""
    result = _run("worker", env={"ENGAGE_MODEL_TOPIC": "intent-ko"})
    assert result.returncode == 2
    assert "ENGAGE_POLICY_FILE: handoff.queues[2].topics: ['refund_status'" in result.stderr
    assert "are not topic labels" in result.stderr
    assert "Traceback" not in result.stderr


def test_worker_refuses_hand_over_topics_not_copartitioned(tmp_path: Path) -> None:
    spec = yaml.safe_load((PROJECT_ROOT / "infra" / "topics.yaml").read_text(encoding="utf-8"))
    spec["topics"]["profiles"]["partitions"] = 2
    topics = tmp_path / "topics.yaml"
    topics.write_text(yaml.safe_dump(spec), encoding="utf-8")
    result = _run("worker", env={"ENGAGE_TOPICS_FILE": str(topics)})
    assert result.returncode == 2
    assert "ENGAGE_TOPICS_FILE" in result.stderr
    assert "engage.profiles has 2 partitions but engage.scored has 4" in result.stderr


def test_policy_check_summarises_the_shipped_policy() -> None:
    result = _run("policy", "check")
    assert result.returncode == 0, result.stderr
    assert "valid, version" in result.stdout
    assert "abandoned_cart" in result.stdout


def test_policy_check_names_the_bad_field(tmp_path: Path) -> None:
    document = yaml.safe_load((PROJECT_ROOT / "infra" / "policies.yaml").read_text("utf-8"))
    document["outbound"]["opt_out_footer"] = "no way out"
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    result = _run("policy", "check", str(policy))
    assert result.returncode == 2
    assert "outbound.opt_out_footer" in result.stderr
    assert "수신거부" in result.stderr


# -- checked against the cluster, not only the topics file ----------------------------------


@pytest.mark.broker
def test_worker_refuses_a_cluster_whose_scored_topic_is_not_copartitioned(
    tansu: TansuBroker, tmp_path: Path
) -> None:
    topics = isolated_topics_file(PROJECT_ROOT / "infra" / "topics.yaml", tmp_path)
    on_cluster = yaml.safe_load(topics.read_text(encoding="utf-8"))
    on_cluster["topics"]["scored"]["partitions"] = 2  # made by hand, unlike the file says
    created = tmp_path / "created.yaml"
    created.write_text(yaml.safe_dump(on_cluster), encoding="utf-8")
    ensure_topics({"bootstrap_servers": [tansu.bootstrap]}, load_topics(created))
    result = _run(
        "worker",
        env={"ENGAGE_TOPICS_FILE": str(topics), "ENGAGE_KAFKA_BOOTSTRAP": tansu.bootstrap},
    )
    assert result.returncode == 2, result.stderr
    name = on_cluster["topics"]["scored"]["name"]
    assert "on the cluster profiles topic" in result.stderr
    assert f"{name} has 2" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.broker
def test_worker_refuses_to_start_before_its_topics_exist(
    tansu: TansuBroker, tmp_path: Path
) -> None:
    topics = isolated_topics_file(PROJECT_ROOT / "infra" / "topics.yaml", tmp_path)
    result = _run(
        "worker",
        env={"ENGAGE_TOPICS_FILE": str(topics), "ENGAGE_KAFKA_BOOTSTRAP": tansu.bootstrap},
    )
    assert result.returncode == 2, result.stderr
    assert "does not exist on the cluster; run `engage-stream topics create`" in result.stderr
    assert "Traceback" not in result.stderr
