"""Real brokers for the suite: embedded Tansu and Apache Kafka 4.x (KRaft) from Maven jars."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engage_stream.brokers import ApacheKafkaBroker, BrokerProcess, TansuBroker
from engage_stream.brokers.apache_kafka import missing_requirements

REPO = Path(__file__).resolve().parents[1]


def require_apache_kafka() -> None:
    """Skip where Java or the jars are missing; in CI that is a failure, not a skip."""
    problem = missing_requirements()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"Apache Kafka tests cannot run in CI: {problem}")
    pytest.skip(f"Apache Kafka tests skipped: {problem}")


@pytest.fixture(scope="session")
def tansu() -> Iterator[TansuBroker]:
    with TansuBroker() as broker:
        yield broker


@pytest.fixture(scope="session")
def apache_kafka() -> Iterator[ApacheKafkaBroker]:
    require_apache_kafka()
    with ApacheKafkaBroker() as broker:
        yield broker


@pytest.fixture(params=["tansu", "kafka"])
def broker(request: pytest.FixtureRequest) -> BrokerProcess:
    """Each test that takes `broker` runs once against each real broker."""
    name = "tansu" if request.param == "tansu" else "apache_kafka"
    started: BrokerProcess = request.getfixturevalue(name)
    return started


@pytest.fixture
def connection(broker: BrokerProcess) -> dict[str, object]:
    return {"bootstrap_servers": [broker.bootstrap]}


@pytest.fixture
def topic() -> str:
    return f"test.{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def _no_engage_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start from defaults, whatever the developer's shell exports."""
    for name in list(os.environ):
        if name.startswith("ENGAGE_") and name != "ENGAGE_KAFKA_JARS":
            monkeypatch.delenv(name)
