"""SASL_SSL with SCRAM-SHA-512 and ACLs on a real Apache Kafka broker.

Every command and the worker connect with the settings an operator would set
(`ENGAGE_KAFKA_*`); a wrong password or a certificate made out to another host fails within
30 s and says which; no password reaches a log line or `config show`. One broker serves the
module: a CA made here, a listener whose certificate names 127.0.0.1, a second listener whose
certificate names another host, an admin (super user) and a worker user with only the ACLs
`kafka.security.worker_acls` grants.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ResourcePattern,
    ResourceType,
)

from engage_stream.brokers.apache_kafka import (
    ApacheKafkaBroker,
    BrokerSecurity,
    SaslSslListener,
    ScramUser,
)
from engage_stream.brokers.process import free_port
from engage_stream.brokers.tls import CertificateAuthority
from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.harness.worker_process import WorkerProcess, WorkerProcessError
from engage_stream.kafka.admin import ensure_topics
from engage_stream.kafka.clients import KafkaAccessError, check_connection
from engage_stream.kafka.isolation import isolated_topics_file
from engage_stream.kafka.reader import read_to_end
from engage_stream.kafka.security import worker_acls
from engage_stream.kafka.topics import TopicRole, TopicsFile, load_topics
from engage_stream.samples.generator import SampleConfig, SampleStream
from engage_stream.samples.publish import send_event, send_profiles
from tests.conftest import require_apache_kafka

pytestmark = [pytest.mark.broker, pytest.mark.apache_kafka]

FAIL_WITHIN_S = 30.0
EVENTS = 60
CUSTOMERS = 20
GOOD, OTHER_NAME = "SECURE", "OTHERNAME"
AUTH_FAILED = re.compile(r"authentication failed", re.IGNORECASE)
HOST_MISMATCH = re.compile(r"certificate.*(mismatch|does not match)", re.IGNORECASE)


@dataclass(frozen=True)
class Secured:
    broker: ApacheKafkaBroker
    root: Path

    @property
    def passwords(self) -> list[str]:
        assert self.broker.security is not None
        return [user.password for user in self.broker.security.users]

    def env(self, user: str = "admin", **options: Any) -> dict[str, str]:
        return self.broker.settings_env(user, **options)

    def assert_no_secret(self, text: str, where: str) -> None:
        for password in self.passwords:
            assert password not in text, f"a SCRAM password appears in {where}"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    require_apache_kafka()
    root = tmp_path_factory.mktemp("sasl-ssl")
    ca = CertificateAuthority.create(root / "ca")
    security = BrokerSecurity(
        listeners=(
            SaslSslListener(GOOD, ca.issue(root / "certs", "broker", ("127.0.0.1",))),
            SaslSslListener(
                OTHER_NAME, ca.issue(root / "certs", "elsewhere", ("kafka.elsewhere.invalid",))
            ),
        ),
        users=(
            ScramUser("admin", secrets.token_urlsafe(18)),
            ScramUser("worker", secrets.token_urlsafe(18)),
        ),
    )
    with ApacheKafkaBroker(work_dir=root / "kafka", security=security) as broker:
        yield Secured(broker, root)


def _cli(
    secured: Secured, *args: str, env: dict[str, str], timeout_s: float = 180
) -> tuple[subprocess.CompletedProcess[str], float]:
    """`engage-stream ARGS` with exactly the given settings; its output never holds a password."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGE_")}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "engage_stream", *args],
        env={**base, "ENGAGE_DEVICE": "cpu", **env},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        cwd=PROJECT_ROOT,
    )
    secured.assert_no_secret(result.stdout + result.stderr, f"`engage-stream {' '.join(args)}`")
    return result, time.monotonic() - started


@dataclass
class Deployment:
    """A topic set and a consumer group of its own, the worker user granted what it needs."""

    topics_file: Path
    topics: TopicsFile
    group: str

    @classmethod
    def make(cls, secured: Secured, directory: Path) -> Deployment:
        topics_file = isolated_topics_file(PROJECT_ROOT / "infra" / "topics.yaml", directory)
        topics = load_topics(topics_file)
        group = f"engage-secure-{uuid.uuid4().hex[:8]}"
        secured.broker.create_acls(worker_acls(topics, group, "worker"))
        return cls(topics_file, topics, group)

    def env(self, secured: Secured, user: str = "admin", **options: Any) -> dict[str, str]:
        return {
            **secured.env(user, **options),
            "ENGAGE_TOPICS_FILE": str(self.topics_file),
            "ENGAGE_GROUP_ID": self.group,
        }


@pytest.fixture(scope="module")
def deployed(secured: Secured, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    return Deployment.make(secured, tmp_path_factory.mktemp("deploy"))


@pytest.fixture(scope="module")
def created(secured: Secured, deployed: Deployment) -> subprocess.CompletedProcess[str]:
    """`engage-stream topics create` run by the admin over SASL_SSL."""
    result, _ = _cli(secured, "topics", "create", env=deployed.env(secured))
    return result


@pytest.fixture(scope="module")
def produced(
    secured: Secured, deployed: Deployment, created: subprocess.CompletedProcess[str]
) -> subprocess.CompletedProcess[str]:
    assert created.returncode == 0, created.stderr[-3000:]
    result, _ = _cli(
        secured,
        "produce",
        "--count", str(EVENTS), "--customers", str(CUSTOMERS), "--seed", "14",
        env=deployed.env(secured),
    )  # fmt: skip
    return result


@dataclass(frozen=True)
class Lived:
    enriched: list[dict[str, Any]]
    log: str
    pages: dict[str, int]
    other_loopback_refused: bool


def _status(port: int, path: str, host: str = "127.0.0.1") -> int:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=3) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _refused(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return False
    except OSError:
        return True


@pytest.fixture(scope="module")
def lived(
    secured: Secured,
    deployed: Deployment,
    produced: subprocess.CompletedProcess[str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Lived:
    """The sample stream processed by a worker logged in as `worker`, logging at DEBUG."""
    assert produced.returncode == 0, produced.stderr[-3000:]
    log_file = tmp_path_factory.mktemp("worker") / "worker.log"
    port = free_port()
    settings = {
        **deployed.env(secured, "worker"),
        "ENGAGE_WEB_PORT": str(port),
        "ENGAGE_SESSION_TIMEOUT_S": "6",
        "ENGAGE_DEVICE": "cpu",
        "ENGAGE_MODEL_PRECISION": "fp32",
        "ENGAGE_LOG_LEVEL": "DEBUG",
    }
    admin = secured.broker.client_config("admin")
    enriched_topic = deployed.topics.name(TopicRole.ENRICHED)
    with WorkerProcess(settings, log_file=log_file) as worker:
        deadline = time.monotonic() + 180
        records = []
        while time.monotonic() < deadline:
            records = [json.loads(r.value) for r in read_to_end(admin, enriched_topic)]
            if len(records) >= EVENTS:
                break
            time.sleep(1)
        pages = {path: _status(port, path) for path in ("/metrics", "/health", "/ready")}
        pages |= {path: _status(port, path) for path in ("/router/", "/table/", "/graph/")}
        refused = _refused("127.0.0.2", worker.port)
    return Lived(records, log_file.read_text(encoding="utf-8"), pages, refused)


# -- it works for the right users -----------------------------------------------------------


def test_topics_create_makes_every_topic_over_sasl_ssl(
    deployed: Deployment, created: subprocess.CompletedProcess[str]
) -> None:
    assert created.returncode == 0, created.stderr[-3000:]
    statuses = {line.split("\t")[1]: line.split("\t")[0] for line in created.stdout.splitlines()}
    assert statuses == {spec.name: "created" for spec in deployed.topics.topics.values()}


def test_produce_and_consume_work_for_a_user_allowed_to(
    secured: Secured, deployed: Deployment, produced: subprocess.CompletedProcess[str]
) -> None:
    assert produced.returncode == 0, produced.stderr[-3000:]
    result, _ = _cli(
        secured, "consume", "--topic", "events", "--timeout", "3", env=deployed.env(secured)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(events) == EVENTS
    assert len({e["customer_id"] for e in events}) <= CUSTOMERS


def test_a_worker_with_only_its_acls_processes_every_event(lived: Lived) -> None:
    assert len(lived.enriched) == EVENTS, lived.log[-3000:]
    assert all(r["event"]["event_id"] for r in lived.enriched)


def test_the_worker_serves_its_pages_but_not_fausts_router_table_or_graph(lived: Lived) -> None:
    assert lived.pages == {
        "/metrics": 200,
        "/health": 200,
        "/ready": 200,
        "/router/": 404,
        "/table/": 404,
        "/graph/": 404,
    }


def test_the_worker_web_server_listens_on_this_machine_only_by_default(lived: Lived) -> None:
    # 127.0.0.2 is this machine too, but not the address bound (127.0.0.1): refused.
    assert lived.other_loopback_refused


def test_replay_reads_the_events_over_sasl_ssl(
    secured: Secured, deployed: Deployment, lived: Lived, tmp_path: Path
) -> None:
    result, _ = _cli(
        secured,
        "replay", "--run-id", "secure", "--runs-dir", str(tmp_path),
        env=deployed.env(secured),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    replayed = (tmp_path / "secure" / "enriched.jsonl").read_text(encoding="utf-8").splitlines()
    assert {json.loads(line)["event"]["event_id"] for line in replayed} == {
        r["event"]["event_id"] for r in lived.enriched
    }


def test_eval_reads_the_live_run_over_sasl_ssl(
    secured: Secured, deployed: Deployment, lived: Lived, tmp_path: Path
) -> None:
    out = tmp_path / "eval"
    result, _ = _cli(secured, "eval", "--run", "live", "--out", str(out), env=deployed.env(secured))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "eval.json").read_text(encoding="utf-8"))
    assert report["run"]["summary"]["events"] == len(
        {r["event"]["event_id"] for r in lived.enriched}
    )


# -- and fails fast, saying why, for the wrong ones -----------------------------------------


def test_the_first_connection_passes_for_the_right_user(secured: Secured) -> None:
    check_connection(secured.broker.client_config("worker"))


def test_the_first_connection_names_a_wrong_password(secured: Secured) -> None:
    started = time.monotonic()
    with pytest.raises(KafkaAccessError, match=r"authentication failed for user 'worker'") as exc:
        check_connection(secured.broker.client_config("worker", password="wrong-password-1"))
    assert time.monotonic() - started < FAIL_WITHIN_S
    assert "ENGAGE_KAFKA_SASL_PASSWORD" in str(exc.value)
    assert "wrong-password-1" not in str(exc.value)


def test_the_first_connection_names_a_certificate_for_another_host(secured: Secured) -> None:
    config = secured.broker.client_config("worker", listener=OTHER_NAME)
    with pytest.raises(KafkaAccessError, match=r"does not match the host name '127.0.0.1'"):
        check_connection(config)


def test_the_first_connection_names_a_certificate_signed_by_another_ca(
    secured: Secured, tmp_path: Path
) -> None:
    stranger = CertificateAuthority.create(tmp_path / "stranger")
    config = {**secured.broker.client_config("worker"), "ssl_cafile": str(stranger.cert)}
    with pytest.raises(KafkaAccessError, match=r"not trusted .*ENGAGE_KAFKA_SSL_CAFILE"):
        check_connection(config)


# kafka-python 3.0 retries a refused login or handshake until its bootstrap times out and
# then says only "Unable to bootstrap": the commands and the worker make one connection
# first (`cli/startup.kafka_connection` -> `kafka.clients.check_connection`) that says which.

COMMANDS = {
    "topics create": ("topics", "create"),
    "produce": ("produce", "--count", "1", "--customers", "1"),
    "consume": ("consume", "--topic", "events", "--timeout", "1"),
    "replay": ("replay", "--run-id", "never", "--runs-dir", "{tmp}"),
    "eval": ("eval", "--run", "live", "--out", "{tmp}/eval"),
}


def _args(command: str, tmp_path: Path) -> list[str]:
    return [arg.replace("{tmp}", str(tmp_path)) for arg in COMMANDS[command]]


def _stopped_with(output: str) -> str:
    """What a command stops with (its last `engage-stream...` line and the indented lines
    under it), not the libraries' log lines before it."""
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("engage-stream")]
    return "\n".join(lines[starts[-1] :]) if starts else ""


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_wrong_password_fails_within_30s_saying_authentication_failed(
    secured: Secured, deployed: Deployment, command: str, tmp_path: Path
) -> None:
    env = deployed.env(secured, password="not-" + secrets.token_urlsafe(12))
    result, took = _cli(secured, *_args(command, tmp_path), env=env, timeout_s=120)
    assert result.returncode != 0
    assert took < FAIL_WITHIN_S, f"{command} took {took:.1f} s to fail"
    assert AUTH_FAILED.search(_stopped_with(result.stderr)), result.stderr[-2000:]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_certificate_for_another_host_fails_within_30s_saying_it_does_not_match(
    secured: Secured, deployed: Deployment, command: str, tmp_path: Path
) -> None:
    env = deployed.env(secured, listener=OTHER_NAME)
    result, took = _cli(secured, *_args(command, tmp_path), env=env, timeout_s=120)
    assert result.returncode != 0
    assert took < FAIL_WITHIN_S, f"{command} took {took:.1f} s to fail"
    assert HOST_MISMATCH.search(_stopped_with(result.stderr)), result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def _failed_worker(secured: Secured, deployed: Deployment, directory: Path, **env: Any) -> str:
    log_file = directory / "worker.log"
    settings = {
        **deployed.env(secured, "worker", **env),
        "ENGAGE_GROUP_ID": f"{deployed.group}-refused",
        "ENGAGE_WEB_PORT": str(free_port()),
        "ENGAGE_DEVICE": "cpu",
    }
    worker = WorkerProcess(settings, log_file=log_file)
    started = time.monotonic()
    try:
        with pytest.raises(WorkerProcessError, match="exited with code"):
            worker.start(ready_timeout_s=90)
    finally:
        worker.kill()
    took = time.monotonic() - started
    log = log_file.read_text(encoding="utf-8")
    secured.assert_no_secret(log, "the refused worker's log")
    assert took < FAIL_WITHIN_S, f"the worker took {took:.1f} s to give up"
    assert "Traceback" not in log
    return log


def test_a_worker_with_a_wrong_password_stops_saying_authentication_failed(
    secured: Secured, deployed: Deployment, tmp_path: Path
) -> None:
    log = _failed_worker(secured, deployed, tmp_path, password="not-" + secrets.token_urlsafe(12))
    assert AUTH_FAILED.search(_stopped_with(log)), log[-3000:]


def test_a_worker_shown_a_certificate_for_another_host_stops_saying_so(
    secured: Secured, deployed: Deployment, tmp_path: Path
) -> None:
    log = _failed_worker(secured, deployed, tmp_path, listener=OTHER_NAME)
    assert HOST_MISMATCH.search(_stopped_with(log)), log[-3000:]


# -- secrets --------------------------------------------------------------------------------


def test_config_show_masks_the_password(secured: Secured, deployed: Deployment) -> None:
    result, _ = _cli(secured, "config", "show", env=deployed.env(secured))
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["kafka_sasl_username"] == "admin"
    assert shown["kafka_sasl_password"] == "**********"


def test_no_log_line_of_the_worker_or_the_broker_holds_a_password(
    secured: Secured, lived: Lived
) -> None:
    assert lived.log.count("\n") > 20  # DEBUG: a real log, not an empty file
    secured.assert_no_secret(lived.log, "the worker's DEBUG log")
    secured.assert_no_secret(secured.broker.log_path.read_text(errors="replace"), "broker.log")


# -- an ACL denial on an output topic ---------------------------------------------------------


def _committed(admin_config: dict[str, Any], group: str, topic: str) -> int:
    admin = KafkaAdminClient(**admin_config)
    try:
        offsets = admin.list_group_offsets(group)[group]
    finally:
        admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset > 0)


def test_a_denied_write_holds_the_commit_and_readiness_until_the_acl_is_lifted(
    secured: Secured, tmp_path: Path
) -> None:
    """An ACL that denies the worker WRITE on `engage.enriched`: aiokafka fails each send
    with TopicAuthorizationFailedError (error 29, not retriable); the worker logs it, keeps
    the input uncommitted and answers 503 on /ready while it retries with backoff. Once the
    ACL is lifted the retries deliver every record and the inputs are committed."""
    deployment = Deployment.make(secured, tmp_path)
    topics = deployment.topics
    admin = secured.broker.client_config("admin")
    ensure_topics(admin, topics)
    denied = topics.name(TopicRole.ENRICHED)
    deny = ACL(
        principal="User:worker",
        host="*",
        operation=ACLOperation.WRITE,
        permission_type=ACLPermissionType.DENY,
        resource_pattern=ResourcePattern(ResourceType.TOPIC, denied),
    )
    secured.broker.create_acls([deny])
    log_file = tmp_path / "worker.log"
    port = free_port()
    settings = {
        **deployment.env(secured, "worker"),
        "ENGAGE_WEB_PORT": str(port),
        "ENGAGE_SESSION_TIMEOUT_S": "6",
        "ENGAGE_DEVICE": "cpu",
    }
    scored = topics.name(TopicRole.SCORED)
    stream = SampleStream(SampleConfig(customers=5, seed=3))
    with WorkerProcess(settings, log_file=log_file):
        ready_before = _status(port, "/ready")
        producer = KafkaProducer(**admin, acks="all")
        send_profiles(producer, topics.name(TopicRole.CUSTOMERS), stream.profiles)
        for crm_event in stream.events(10):
            send_event(producer, topics.name(TopicRole.EVENTS), crm_event)
        producer.flush()
        producer.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and "TopicAuthorizationFailed" not in log_file.read_text(
            encoding="utf-8"
        ):
            time.sleep(1)
        time.sleep(3)  # commits happen every second
        ready = _status(port, "/ready")
        committed = _committed(admin, deployment.group, scored)
        # The ACL is lifted: the retries deliver what was owed, and the inputs move on.
        client = KafkaAdminClient(**admin)
        try:
            client.delete_acls(
                [
                    ACLFilter(
                        principal=deny.principal,
                        host=deny.host,
                        operation=deny.operation,
                        permission_type=deny.permission_type,
                        resource_pattern=deny.resource_pattern,
                    )
                ]
            )
        finally:
            client.close()
        deadline = time.monotonic() + 120
        enriched: list[Any] = []
        while time.monotonic() < deadline:
            enriched = list(read_to_end(admin, denied))
            if len(enriched) >= 10 and _committed(admin, deployment.group, scored) >= 10:
                break
            time.sleep(1)
        ready_after = _status(port, "/ready")
    log = log_file.read_text(encoding="utf-8")
    assert "TopicAuthorizationFailed" in log, log[-3000:]
    assert "output_send_failed" in log
    assert committed == 0, f"{committed} records of {scored} committed past refused outputs"
    assert (ready_before, ready, ready_after) == (200, 503, 200)
    assert len({json.loads(r.value)["event"]["event_id"] for r in enriched}) == 10
    assert _committed(admin, deployment.group, scored) == 10
