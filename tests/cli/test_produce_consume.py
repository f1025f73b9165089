"""`produce` and `consume` against the real brokers, and their pieces on their own."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.consumer.fetcher import ConsumerRecord
from typer.testing import CliRunner

from engage_stream.brokers import BrokerProcess
from engage_stream.cli import consume as consume_cli
from engage_stream.cli import produce as produce_cli
from engage_stream.cli.app import app
from engage_stream.cli.consume import render
from engage_stream.cli.produce import Pacer, file_lines, key_of
from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.kafka.admin import ensure_topics
from engage_stream.kafka.reader import read_to_end
from engage_stream.kafka.topics import TopicRole, load_topics
from engage_stream.samples.generator import SampleConfig, SampleStream

runner = CliRunner()


@pytest.fixture
def topics_file(
    broker: BrokerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The repo's topics file with fresh names, created on the broker: role -> topic."""
    document = yaml.safe_load((PROJECT_ROOT / "infra" / "topics.yaml").read_text())
    prefix = f"t{uuid.uuid4().hex[:8]}"
    for spec in document["topics"].values():
        spec["name"] = f"{prefix}.{spec['name']}"
    path = tmp_path / "topics.yaml"
    path.write_text(yaml.safe_dump(document))
    monkeypatch.setenv("ENGAGE_TOPICS_FILE", str(path))
    topics = load_topics(path)
    ensure_topics({"bootstrap_servers": [broker.bootstrap]}, topics)
    return {role.value: topics.name(role) for role in TopicRole}


def _create(broker: BrokerProcess, topic: str, partitions: int = 1) -> None:
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    admin.create_topics([NewTopic(topic, partitions, 1)])
    admin.close()


def _read(broker: BrokerProcess, topic: str) -> list[ConsumerRecord]:
    return list(read_to_end({"bootstrap_servers": [broker.bootstrap]}, topic))


def _json_lines(stdout: str) -> list[Any]:
    return [json.loads(line) for line in stdout.splitlines()]


# --- against the brokers ----------------------------------------------------------------


def test_produce_then_consume_returns_the_sample_profiles_and_events(
    broker: BrokerProcess, topics_file: dict[str, str]
) -> None:
    produced = runner.invoke(
        app,
        [
            *("produce", "--count", "300", "--customers", "20", "--seed", "9"),
            "--bootstrap",
            broker.bootstrap,
        ],
    )
    assert produced.exit_code == 0, produced.output
    summary = produced.stdout.strip().splitlines()[-1]
    assert summary.startswith(f"sent 300 events to {topics_file['events']} in ")
    assert "events/s" in summary
    assert f"after 20 profiles to {topics_file['customers']}" in summary

    consumed = runner.invoke(
        app,
        [
            *("consume", "--topic", "events", "--max", "300", "--timeout", "15", "--meta"),
            "--bootstrap",
            broker.bootstrap,
        ],
    )
    assert consumed.exit_code == 0, consumed.output
    lines = _json_lines(consumed.stdout)
    expected = [
        e.model_dump(mode="json")
        for e in SampleStream(SampleConfig(seed=9, customers=20)).events(300)
    ]
    assert sorted((line["value"] for line in lines), key=lambda v: v["event_id"]) == expected
    assert all(line["key"] == line["value"]["customer_id"] for line in lines)
    assert all(line["topic"] == topics_file["events"] for line in lines)
    assert {"topic", "partition", "offset", "timestamp", "key", "value"} == set(lines[0])

    profiles = runner.invoke(
        app,
        [
            "consume",
            "-t",
            topics_file["customers"],
            "--timeout",
            "2",
            "--bootstrap",
            broker.bootstrap,
        ],
    )
    assert profiles.exit_code == 0, profiles.output
    assert sorted(p["customer_id"] for p in _json_lines(profiles.stdout)) == [
        f"C{i:05d}" for i in range(20)
    ]


def test_produce_without_profiles_sends_only_events(
    broker: BrokerProcess, topics_file: dict[str, str]
) -> None:
    result = runner.invoke(
        app, ["produce", "-n", "10", "--no-profiles", "--bootstrap", broker.bootstrap]
    )
    assert result.exit_code == 0, result.output
    assert _read(broker, topics_file["customers"]) == []
    assert len(_read(broker, topics_file["events"])) == 10


def test_produce_with_labels_writes_the_labels_of_the_events_it_sent(
    broker: BrokerProcess, topics_file: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "labels.jsonl"
    result = runner.invoke(
        app,
        [
            *("produce", "-n", "400", "--customers", "20", "--seed", "9", "--no-profiles"),
            *("--labels", str(path), "--bootstrap", broker.bootstrap),
        ],
    )
    assert result.exit_code == 0, result.output
    expected = [
        label
        for _, label in SampleStream(SampleConfig(seed=9, customers=20)).labelled(400)
        if label is not None
    ]
    assert expected, "400 sample events hold some customer questions"
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == expected
    assert f"wrote {len(expected)} labels to {path}" in result.stdout
    sent = {json.loads(r.value)["event_id"] for r in _read(broker, topics_file["events"])}
    assert {label["event_id"] for label in expected} <= sent


def test_produce_refuses_labels_for_a_file_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "lines.jsonl"
    path.write_text("{}\n")
    labels = tmp_path / "labels.jsonl"
    result = runner.invoke(
        app, ["produce", "--file", str(path), "--labels", str(labels), "--bootstrap", "127.0.0.1:1"]
    )
    assert result.exit_code == 2, result.output
    assert "only the sample stream has labels" in result.output
    assert "cannot reach Kafka" not in result.output, "refused before connecting"
    assert not labels.exists()


MIXED_LINES: list[bytes] = [
    b'{"event_id": "E1", "customer_id": "C00001", "event_type": "chat.message"}',
    b"",
    b'{"customer_id": 42, "note": "a number is no key"}',
    b'{"event_id": "bad-1", "event_type": "chat.message"',
    b"\xff\xfe not utf-8 \xc3\x28",
    b"[1, 2, 3]",
    b"  padded, not JSON  ",
    '{"customer_id": "C00002", "text": "배송이 언제 오나요?"}'.encode(),
    b"",
    b'{"customer_id": "C00003"}\r',  # a CRLF line: the terminator is \r\n
    b"no newline at the end",
]


def _mixed_file(tmp_path: Path) -> tuple[Path, list[bytes]]:
    path = tmp_path / "mixed.jsonl"
    content = b"\n".join(MIXED_LINES)
    path.write_bytes(content)
    sent = [line.removesuffix(b"\r") for line in MIXED_LINES if line]
    return path, sent


@pytest.mark.parametrize("from_stdin", [False, True], ids=["file", "stdin"])
def test_produce_file_sends_every_non_empty_line_byte_for_byte_with_its_key(
    broker: BrokerProcess, topic: str, tmp_path: Path, from_stdin: bool
) -> None:
    _create(broker, topic)
    path, expected = _mixed_file(tmp_path)
    args = ["produce", "--file", "-" if from_stdin else str(path), "--topic", topic]
    result = runner.invoke(
        app,
        [*args, "--bootstrap", broker.bootstrap],
        input=path.read_bytes() if from_stdin else None,
    )
    assert result.exit_code == 0, result.output
    assert f"sent {len(expected)} lines from " in result.stdout
    assert "skipped 2 empty lines" in result.stdout

    records = _read(broker, topic)
    assert [r.value for r in records] == expected
    assert [r.key for r in records] == [
        b"C00001",
        None,
        None,
        None,
        None,
        None,
        b"C00002",
        b"C00003",
        None,
    ]


def test_produce_file_goes_to_the_events_role_by_default(
    broker: BrokerProcess, topics_file: dict[str, str], tmp_path: Path
) -> None:
    path, expected = _mixed_file(tmp_path)
    result = runner.invoke(app, ["produce", "-f", str(path), "--bootstrap", broker.bootstrap])
    assert result.exit_code == 0, result.output
    assert sorted(r.value for r in _read(broker, topics_file["events"])) == sorted(expected)

    consumed = runner.invoke(
        app, ["consume", "-t", "events", "--timeout", "2", "--bootstrap", broker.bootstrap]
    )
    lines = _json_lines(consumed.stdout)
    assert len(lines) == len(expected)
    assert {"value_b64": base64.b64encode(b"\xff\xfe not utf-8 \xc3\x28").decode()} in lines
    assert {"customer_id": "C00002", "text": "배송이 언제 오나요?"} in lines
    assert "배송이 언제 오나요?" in consumed.stdout, "non-ASCII stays readable"


def test_consume_latest_skips_what_was_there_and_prints_what_comes(
    broker: BrokerProcess, topic: str
) -> None:
    _create(broker, topic, partitions=2)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=50)
    for i in range(20):  # one batch per partition: Tansu's ListOffsets lands inside it
        producer.send(topic, key=f"k{i % 4}".encode(), value=json.dumps({"old": i}).encode())
    producer.flush()

    quiet = runner.invoke(
        app, ["consume", "-t", topic, "--latest", "--timeout", "1", "--bootstrap", broker.bootstrap]
    )
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stdout == ""

    # A separate process (CliRunner swaps sys.stdout, so no thread here); its start-up time
    # is unknown, so new records keep coming until it has printed three of them.
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "engage_stream", "consume", "-t", topic, "--latest"),
            *("--max", "3", "--timeout", "30", "--bootstrap", broker.bootstrap),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=PROJECT_ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        i = 0
        while proc.poll() is None and time.monotonic() < deadline:
            producer.send(topic, key=b"k", value=json.dumps({"new": i}).encode())
            producer.flush()
            i += 1
            time.sleep(0.25)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        producer.close()
    assert proc.returncode == 0, err.decode()
    printed = _json_lines(out.decode())
    assert len(printed) == 3
    assert all("new" in p for p in printed), printed
    numbers = [p["new"] for p in printed]
    assert numbers == list(range(numbers[0], numbers[0] + 3)), "one key, one partition, in order"


def test_consume_of_a_missing_topic_says_so(broker: BrokerProcess, topic: str) -> None:
    result = runner.invoke(app, ["consume", "-t", topic, "--bootstrap", broker.bootstrap])
    assert result.exit_code == 1
    assert f"topic {topic} does not exist on {broker.bootstrap}" in result.stderr


@pytest.mark.parametrize("command", [["produce", "-n", "5"], ["consume", "-t", "dlq"]])
def test_an_unreachable_broker_is_one_line_naming_it_and_exit_1(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consume_cli, "CONNECT_TIMEOUT_MS", 1_000)
    monkeypatch.setattr(produce_cli, "CONNECT_TIMEOUT_MS", 1_000)
    result = runner.invoke(app, [*command, "--bootstrap", "127.0.0.1:1"])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("engage-stream:")]
    assert len(errors) == 1
    assert "cannot reach Kafka at 127.0.0.1:1" in errors[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""


# --- the pieces -----------------------------------------------------------------------------


def test_key_is_the_string_customer_id_of_a_json_object_only() -> None:
    assert key_of(b'{"customer_id": "C00007", "x": 1}') == b"C00007"
    assert key_of('{"customer_id": "고객-1"}'.encode()) == "고객-1".encode()
    assert key_of(b'{"customer_id": 7}') is None
    assert key_of(b'[{"customer_id": "C1"}]') is None
    assert key_of(b'{"customer_id": "C1"') is None
    assert key_of(b'\xff{"customer_id": "C1"}') is None
    assert key_of(b"[" * 100_000) is None


def test_file_lines_drop_only_the_terminator() -> None:
    import io

    data = b"a\r\n\n  b \n\r\nc\rd\n\xff\nlast"
    assert list(file_lines(io.BytesIO(data))) == [
        b"a",
        b"",
        b"  b ",
        b"",
        b"c\rd",
        b"\xff",
        b"last",
    ]


def test_the_pacer_holds_the_rate_without_drift() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds + 0.004  # every sleep overshoots a little

    pacer = Pacer(100.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(1_001):
        pacer.wait()
        now[0] += 0.0001  # sending takes a moment
    assert now[0] == pytest.approx(10.0, abs=0.02), "1,000 intervals at 100/s: ten seconds"

    unpaced = Pacer(0.0, clock=lambda: pytest.fail("rate 0 never looks at the clock"))
    unpaced.wait()


def _record(value: bytes | None, key: bytes | None = None) -> ConsumerRecord:
    return ConsumerRecord(
        topic="t", partition=2, leader_epoch=0, offset=7, timestamp=1_700_000_000_000,
        timestamp_type=0, key=key, value=value, headers=[], checksum=None,
        serialized_key_size=-1, serialized_value_size=-1, serialized_header_size=-1,
    )  # fmt: skip


def test_render_prints_json_values_and_base64_for_everything_else() -> None:
    assert json.loads(render(_record(b'{"a": "\xea\xb0\x80"}'), meta=False)) == {"a": "가"}
    assert render(_record('{"a": "가"}'.encode()), meta=False) == '{"a": "가"}'
    for raw in (b"not json", b"\xff\xfe", b'{"x": NaN}', b""):
        assert json.loads(render(_record(raw), meta=False)) == {
            "value_b64": base64.b64encode(raw).decode()
        }
    assert render(_record(None), meta=False) == "null"
    lone = render(_record(b'{"s": "\\ud800"}'), meta=False)
    assert lone.encode("utf-8")
    assert json.loads(lone) == {"s": "\ud800"}


def test_render_with_meta_says_where_the_record_lay() -> None:
    line = json.loads(render(_record(b"[1]", key=b"C00001"), meta=True))
    assert line == {
        "topic": "t",
        "partition": 2,
        "offset": 7,
        "timestamp": 1_700_000_000_000,
        "key": "C00001",
        "value": [1],
    }
    binary_key = json.loads(render(_record(b"1", key=b"\xff"), meta=True))
    assert binary_key["key"] == {"key_b64": "/w=="}
