"""A single-node Apache Kafka 4.x broker in KRaft mode, run from Maven Central jars.

`make kafka-jars` (mvn on infra/kafka/pom.xml) puts the jars in infra/kafka/lib; this module
formats the storage once and runs `kafka.Kafka` with Java 17. Data lives in `work_dir`, so a
restart keeps every acknowledged message.

With `security` the broker also serves SASL_SSL listeners (a certificate each, from
`brokers.tls`), SCRAM-SHA-512 users written into the storage at format time, and ACLs
enforced by KRaft's StandardAuthorizer. The PLAINTEXT listener stays on `host` for the
readiness probe, the controller and inter-broker traffic: its principal, User:ANONYMOUS, is
a super user, because the StandardAuthorizer also authorizes the broker's own requests on
the controller listener. Clients under test use the SASL_SSL listeners.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from kafka.admin import ACL, KafkaAdminClient

from engage_stream.brokers.process import BrokerProcess, BrokerStartError, free_ports
from engage_stream.brokers.tls import Certificate
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


SCRAM_MECHANISM = "SCRAM-SHA-512"
_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
_SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
# What `kafka-storage format --add-scram 'SCRAM-SHA-512=[name=N,password=P]'` reads without
# quoting; anything else would need the tool's own escaping, so it is refused instead.
_PLAIN_TOKEN = re.compile(r"^[A-Za-z0-9._~-]{1,200}$")
_LISTENER_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,39}$")
_RESERVED_LISTENERS = frozenset({"PLAINTEXT", "CONTROLLER"})


class BrokerAdminError(RuntimeError):
    """The broker refused an admin change (ACLs); the message lists what failed."""


@dataclass(frozen=True)
class ScramUser:
    name: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        if not _PLAIN_TOKEN.match(self.name):
            raise ValueError(f"SCRAM user name {self.name!r}: use A-Z a-z 0-9 . _ ~ -")
        if not _PLAIN_TOKEN.match(self.password) or len(self.password) < 8:
            raise ValueError(
                f"password of SCRAM user {self.name}: 8 or more of A-Z a-z 0-9 . _ ~ -"
            )


@dataclass(frozen=True)
class SaslSslListener:
    """One SASL_SSL listener and the certificate it presents."""

    name: str
    certificate: Certificate

    def __post_init__(self) -> None:
        if not _LISTENER_NAME.match(self.name) or self.name in _RESERVED_LISTENERS:
            raise ValueError(
                f"listener name {self.name!r}: upper case, digits and _; "
                "not PLAINTEXT or CONTROLLER, which the broker keeps for itself"
            )


@dataclass(frozen=True)
class BrokerSecurity:
    """SASL_SSL listeners, SCRAM-SHA-512 users and which of them are super users; every
    other user can do only what an ACL allows (`ApacheKafkaBroker.create_acls`)."""

    listeners: tuple[SaslSslListener, ...]
    users: tuple[ScramUser, ...]
    super_users: tuple[str, ...] = ("admin",)

    def __post_init__(self) -> None:
        if not self.listeners:
            raise ValueError("BrokerSecurity needs at least one SASL_SSL listener")
        names = [listener.name for listener in self.listeners]
        if len(set(names)) != len(names):
            raise ValueError(f"listener names repeat: {names}")
        known = {user.name for user in self.users}
        if len(known) != len(self.users):
            raise ValueError("SCRAM user names repeat")
        unknown = sorted(set(self.super_users) - known)
        if unknown:
            raise ValueError(f"super users {unknown} are not among the SCRAM users")

    def user(self, name: str) -> ScramUser:
        for user in self.users:
            if user.name == name:
                return user
        raise KeyError(f"no SCRAM user {name!r} on this broker")


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
        security: BrokerSecurity | None = None,
    ) -> None:
        if port is None and controller_port is None:
            port, controller_port = free_ports(2, host)
        super().__init__(port, host, advertised_host, work_dir, start_timeout_s)
        self.controller_port = controller_port or next(
            p for p in free_ports(2, host) if p != self.port
        )
        self.config_path = self.work_dir / "server.properties"
        self.data_dir = self.work_dir / "data"
        self.security = security
        taken = {self.port, self.controller_port}
        self.listener_ports: dict[str, int] = {}
        if security is not None:
            spare = [p for p in free_ports(len(security.listeners) + 2, host) if p not in taken]
            self.listener_ports = {
                listener.name: port
                for listener, port in zip(security.listeners, spare, strict=False)
            }

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
        properties = self._plaintext_properties()
        if self.security is not None:
            properties.update(self._security_properties(self.security))
        return properties

    def _plaintext_properties(self) -> dict[str, str]:
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

    def _security_properties(self, security: BrokerSecurity) -> dict[str, str]:
        base = self._plaintext_properties()
        listeners = [base["listeners"]]
        advertised = [base["advertised.listeners"]]
        protocols = [base["listener.security.protocol.map"]]
        properties: dict[str, str] = {}
        for listener in security.listeners:
            port = self.listener_ports[listener.name]
            listeners.append(f"{listener.name}://{self.host}:{port}")
            advertised.append(f"{listener.name}://{self.advertised_host}:{port}")
            protocols.append(f"{listener.name}:SASL_SSL")
            prefix = f"listener.name.{listener.name.lower()}"
            properties[f"{prefix}.ssl.keystore.type"] = "PEM"
            properties[f"{prefix}.ssl.keystore.location"] = str(listener.certificate.keystore)
            properties[f"{prefix}.{SCRAM_MECHANISM.lower()}.sasl.jaas.config"] = _SCRAM_LOGIN
        supers = ";".join(["User:ANONYMOUS", *(f"User:{name}" for name in security.super_users)])
        return {
            "listeners": ",".join(listeners),
            "advertised.listeners": ",".join(advertised),
            "listener.security.protocol.map": ",".join(protocols),
            "sasl.enabled.mechanisms": SCRAM_MECHANISM,
            "authorizer.class.name": _AUTHORIZER,
            "allow.everyone.if.no.acl.found": "false",
            "super.users": supers,
            **properties,
        }

    def bootstrap_of(self, listener: str) -> str:
        """host:port of a SASL_SSL listener."""
        return f"{self.advertised_host}:{self.listener_ports[listener]}"

    def _secure(self) -> BrokerSecurity:
        if self.security is None:
            raise ValueError("this broker was started without security (no SASL_SSL listener)")
        return self.security

    def _listener(self, name: str | None) -> SaslSslListener:
        listeners = self._secure().listeners
        if name is None:
            return listeners[0]
        for listener in listeners:
            if listener.name == name:
                return listener
        raise KeyError(f"no SASL_SSL listener {name!r} on this broker")

    def client_config(
        self, user: str, listener: str | None = None, password: str | None = None
    ) -> dict[str, Any]:
        """kafka-python keyword arguments for `user` on a SASL_SSL listener (the first by
        default); `password` overrides the user's, for tests of a wrong one."""
        chosen = self._listener(listener)
        scram = self._secure().user(user)
        return {
            "bootstrap_servers": [self.bootstrap_of(chosen.name)],
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": SCRAM_MECHANISM,
            "sasl_plain_username": scram.name,
            "sasl_plain_password": scram.password if password is None else password,
            "ssl_cafile": str(chosen.certificate.ca),
            "ssl_check_hostname": True,
        }

    def settings_env(
        self, user: str, listener: str | None = None, password: str | None = None
    ) -> dict[str, str]:
        """The `ENGAGE_*` variables that point engage-stream at `user` on a SASL_SSL
        listener, as an operator would set them."""
        config = self.client_config(user, listener, password)
        return {
            "ENGAGE_KAFKA_BOOTSTRAP": ",".join(config["bootstrap_servers"]),
            "ENGAGE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "ENGAGE_KAFKA_SASL_MECHANISM": SCRAM_MECHANISM,
            "ENGAGE_KAFKA_SASL_USERNAME": config["sasl_plain_username"],
            "ENGAGE_KAFKA_SASL_PASSWORD": config["sasl_plain_password"],
            "ENGAGE_KAFKA_SSL_CAFILE": config["ssl_cafile"],
        }

    def create_acls(self, acls: Sequence[ACL]) -> None:
        """Add ACL bindings as the first super user; BrokerAdminError if any is refused."""
        if not acls:
            return
        admin = KafkaAdminClient(
            **self.client_config(self._secure().super_users[0]), request_timeout_ms=30_000
        )
        try:
            result = admin.create_acls(list(acls))
        finally:
            admin.close()
        if result["failed"]:
            raise BrokerAdminError(f"the broker refused ACLs: {result['failed']}")

    def _format_arguments(self) -> list[str]:
        if self.security is None:
            return []
        return [
            f"--add-scram={SCRAM_MECHANISM}=[name={user.name},password={user.password}]"
            for user in self.security.users
        ]

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
                *self._format_arguments(),
            ),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip()[-2000:]
            for user in self.security.users if self.security else ():
                output = output.replace(user.password, "********")
            raise BrokerStartError(
                f"formatting Kafka storage in {self.data_dir} failed "
                f"(exit {result.returncode}): {output}"
            )

    def command(self) -> list[str]:
        return self._java("kafka.Kafka", str(self.config_path))
