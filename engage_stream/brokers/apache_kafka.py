"""A single-node Apache Kafka 4.x broker in KRaft mode, run from Maven Central jars.

`make kafka-jars` (mvn on infra/kafka/pom.xml) puts the jars in infra/kafka/lib; this module
formats the storage once and runs `kafka.Kafka` with Java 17. Data lives in `work_dir`, so a
restart keeps every acknowledged message.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import ClassVar

from engage_stream.brokers.process import BrokerProcess, BrokerStartError, free_ports
from engage_stream.config.settings import PROJECT_ROOT

DEFAULT_JARS_DIR = PROJECT_ROOT / "infra" / "kafka" / "lib"
JARS_ENV = "ENGAGE_KAFKA_JARS"

_LOG4J2 = """\
Configuration:
  status: warn
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: info
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.request.logger
        level: warn
      - name: org.apache.kafka.controller
        level: warn
      - name: state.change.logger
        level: warn
"""


def jars_dir() -> Path:
    return Path(os.environ.get(JARS_ENV, DEFAULT_JARS_DIR))


def missing_requirements() -> str | None:
    """Why Apache Kafka cannot run here, or None when Java and the jars are in place."""
    if shutil.which("java") is None:
        return "Java is not on PATH (Apache Kafka 4.x needs Java 17+)"
    jars = jars_dir()
    if not any(jars.glob("kafka_2.13-*.jar")):
        hint = (
            "run `make kafka-jars`"
            if shutil.which("mvn")
            else "install Maven, then `make kafka-jars`"
        )
        return f"no Apache Kafka jars in {jars}: {hint}"
    return None


def cluster_id() -> str:
    """A Kafka cluster id (base64url of a random UUID), never starting with "-": like Kafka's
    own Uuid.randomUuid, because the storage tool would read such an id as an option."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not candidate.startswith("-"):
            return candidate


class ApacheKafkaBroker(BrokerProcess):
    impl: ClassVar[str] = "kafka"
    heap: ClassVar[str] = "-Xmx768m"

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        advertised_host: str | None = None,
        work_dir: Path | None = None,
        start_timeout_s: float = 90.0,
        controller_port: int | None = None,
    ) -> None:
        if port is None and controller_port is None:
            port, controller_port = free_ports(2, host)
        super().__init__(port, host, advertised_host, work_dir, start_timeout_s)
        self.controller_port = controller_port or next(
            p for p in free_ports(2, host) if p != self.port
        )
        self.config_path = self.work_dir / "server.properties"
        self.data_dir = self.work_dir / "data"

    def _java(self, main_class: str, *args: str) -> list[str]:
        return [
            "java",
            "-Xms256m",
            self.heap,
            "-XX:+UseG1GC",
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.work_dir / 'log4j2.yaml'}",
            "-cp",
            f"{jars_dir()}/*",
            main_class,
            *args,
        ]

    def server_properties(self) -> dict[str, str]:
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.advertised_host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
        }

    def prepare(self) -> None:
        problem = missing_requirements()
        if problem:
            raise BrokerStartError(problem)
        self.config_path.write_text(
            "".join(f"{k}={v}\n" for k, v in self.server_properties().items()), encoding="utf-8"
        )
        (self.work_dir / "log4j2.yaml").write_text(_LOG4J2, encoding="utf-8")
        if (self.data_dir / "meta.properties").exists():
            return
        result = subprocess.run(
            self._java(
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={cluster_id()}",
                f"--config={self.config_path}",
            ),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerStartError(
                f"formatting Kafka storage in {self.data_dir} failed "
                f"(exit {result.returncode}): {(result.stderr or result.stdout).strip()[-2000:]}"
            )

    def command(self) -> list[str]:
        return self._java("kafka.Kafka", str(self.config_path))
