"""Real brokers for the suite: embedded Tansu and Apache Kafka 4.x (KRaft) from Maven jars;
the public corpora for the tests that read them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engage_stream.brokers import ApacheKafkaBroker, BrokerProcess, TansuBroker
from engage_stream.brokers.apache_kafka import missing_requirements
from engage_stream.config.data_dir import DATA_DIR_ENV

REPO = Path(__file__).resolve().parents[1]


def require_apache_kafka() -> None:
    """Skip where Java or the jars are missing; in CI that is a failure, not a skip."""
    problem = missing_requirements()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"Apache Kafka tests cannot run in CI: {problem}")
    pytest.skip(f"Apache Kafka tests skipped: {problem}")


def require_corpora() -> Path:
    """The public corpora folder (`ENGAGE_DATA_DIR`, else ../shared/data) with every corpus
    in it; where one is missing the test skips with the reason, and in CI that is a failure."""
    from engage_stream.config.data_dir import data_dir
    from engage_stream.training.corpora import CORPORA, CorpusError, corpus_file

    folder = data_dir()
    try:
        for corpus in CORPORA:
            corpus_file(corpus, folder)
    except CorpusError as exc:
        problem = f"public corpora not found: set {DATA_DIR_ENV} (README, Corpora); {exc}"
        if os.environ.get("CI"):
            pytest.fail(f"corpus tests cannot run in CI: {problem}")
        pytest.skip(problem)
    assert folder is not None
    return folder


@pytest.fixture(scope="session")
def corpora() -> Path:
    """The public corpora folder; a test (or fixture) that reads them asks for this."""
    return require_corpora()


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
    """Tests start from defaults, whatever the developer's shell exports, except where the
    jars and the corpora are (`ENGAGE_DATA_DIR` pointed at an empty folder: no corpora)."""
    for name in list(os.environ):
        if name.startswith("ENGAGE_") and name not in ("ENGAGE_KAFKA_JARS", DATA_DIR_ENV):
            monkeypatch.delenv(name)
