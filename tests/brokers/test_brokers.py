"""The project starts, stops and restarts real brokers itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from engage_stream.brokers import ApacheKafkaBroker, BrokerStartError, TansuBroker
from engage_stream.brokers.apache_kafka import cluster_id
from engage_stream.brokers.process import free_port, free_ports
from engage_stream.brokers.readiness import broker_count
from engage_stream.kafka.reader import read_to_end
from tests.conftest import require_apache_kafka


def _create(bootstrap: str, topic: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        admin.close()


def test_embedded_broker_answers_the_kafka_protocol_then_stops_cleanly() -> None:
    broker = TansuBroker()
    with broker:
        host, port = broker.bootstrap.split(":")
        assert broker.running
        assert broker_count(host, int(port)) == 1
    assert not broker.running
    with pytest.raises(ConnectionRefusedError):
        broker_count(host, int(port), timeout=1.0)


def test_embedded_broker_keeps_nothing_across_a_restart(topic: str) -> None:
    with TansuBroker() as broker:
        _create(broker.bootstrap, topic, 1)
        broker.restart()
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        assert topic not in admin.list_topics()
        admin.close()


def test_a_busy_port_fails_with_a_message_naming_the_broker_and_its_log(
    tansu: TansuBroker,
) -> None:
    clash = TansuBroker(port=int(tansu.bootstrap.split(":")[1]), start_timeout_s=5)
    with pytest.raises(BrokerStartError) as excinfo:
        clash.start()
    message = str(excinfo.value)
    assert "tansu broker" in message
    assert str(clash.log_path) in message
    clash.close()


def test_apache_kafka_restart_loses_no_acknowledged_message(tmp_path: Path, topic: str) -> None:
    require_apache_kafka()
    broker = ApacheKafkaBroker(work_dir=tmp_path / "kafka")
    with broker:
        _create(broker.bootstrap, topic, 3)
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", retries=5)
        acknowledged = []
        for i in range(300):
            value = f"order-{i}".encode()
            producer.send(topic, key=f"C{i % 17}".encode(), value=value).get(timeout=30)
            acknowledged.append(value)
        producer.close()

        broker.restart()

        connection = {"bootstrap_servers": [broker.bootstrap]}
        read_back = [record.value for record in read_to_end(connection, topic)]
        assert sorted(read_back) == sorted(acknowledged)


def test_apache_kafka_survives_a_crash_of_its_process(tmp_path: Path, topic: str) -> None:
    """SIGKILL, not a clean shutdown: acknowledged writes are still there after recovery."""
    require_apache_kafka()
    broker = ApacheKafkaBroker(work_dir=tmp_path / "kafka")
    with broker:
        _create(broker.bootstrap, topic, 1)
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        for i in range(100):
            producer.send(topic, value=str(i).encode())
        producer.flush()
        producer.close()

        broker.kill()
        broker.start()

        connection = {"bootstrap_servers": [broker.bootstrap]}
        values = [int(r.value) for r in read_to_end(connection, topic)]
        assert values == list(range(100))


def test_apache_kafka_without_jars_says_what_to_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ENGAGE_KAFKA_JARS", str(tmp_path / "no-jars"))
    broker = ApacheKafkaBroker(port=free_port())
    with pytest.raises(BrokerStartError, match=r"no Apache Kafka jars in .*make kafka-jars"):
        broker.start()
    broker.close()


def test_ports_picked_together_are_distinct() -> None:
    for _ in range(200):
        client, controller = free_ports(2)
        assert client != controller
    broker = ApacheKafkaBroker()
    assert broker.port != broker.controller_port
    broker.close()


def test_cluster_ids_never_look_like_an_option() -> None:
    ids = [cluster_id() for _ in range(2_000)]
    assert not any(i.startswith("-") for i in ids)
    assert all(len(i) == 22 for i in ids)
