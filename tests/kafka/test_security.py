"""The worker's Faust credentials follow the settings and always verify the broker; the
worker's ACLs grant what it does with each topic and nothing more."""

from __future__ import annotations

import ssl
from pathlib import Path

import faust
import pytest
from kafka.admin import ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourceType

from engage_stream.brokers.tls import CertificateAuthority
from engage_stream.config.settings import PROJECT_ROOT, Settings, load_settings
from engage_stream.kafka.clients import connection_config
from engage_stream.kafka.security import faust_credentials, ssl_context, worker_acls
from engage_stream.kafka.topics import TopicRole, load_topics


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority.create(tmp_path_factory.mktemp("ca"), name="engage test CA")


def _settings(**env: str) -> Settings:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        return load_settings()


def _scram(ca: CertificateAuthority, protocol: str = "SASL_SSL") -> Settings:
    tls = {"ENGAGE_KAFKA_SSL_CAFILE": str(ca.cert)} if protocol == "SASL_SSL" else {}
    return _settings(
        ENGAGE_KAFKA_SECURITY_PROTOCOL=protocol,
        ENGAGE_KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
        ENGAGE_KAFKA_SASL_USERNAME="engage-worker",
        ENGAGE_KAFKA_SASL_PASSWORD="s3cret-pass",
        **tls,
    )


def test_plaintext_needs_no_credentials() -> None:
    assert faust_credentials(load_settings()) is None
    assert ssl_context(load_settings()) is None


def test_sasl_ssl_with_scram_gives_faust_sasl_over_a_verifying_tls_context(
    ca: CertificateAuthority,
) -> None:
    credentials = faust_credentials(_scram(ca))
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert (credentials.username, credentials.password) == ("engage-worker", "s3cret-pass")
    context = credentials.ssl_context
    assert context is not None
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    trusted = [c["subject"] for c in context.get_ca_certs()]
    assert ((("commonName", "engage test CA"),),) in trusted
    assert "s3cret-pass" not in repr(credentials)


def test_sasl_plaintext_sends_credentials_without_tls(ca: CertificateAuthority) -> None:
    credentials = faust_credentials(_scram(ca, "SASL_PLAINTEXT"))
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_PLAINTEXT"
    assert credentials.ssl_context is None


def test_ssl_alone_gives_faust_tls_credentials_with_a_client_certificate(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    client = ca.issue(tmp_path, "client", ("engage-worker",))
    settings = _settings(
        ENGAGE_KAFKA_SECURITY_PROTOCOL="SSL",
        ENGAGE_KAFKA_SSL_CAFILE=str(ca.cert),
        ENGAGE_KAFKA_SSL_CERTFILE=str(client.cert),
        ENGAGE_KAFKA_SSL_KEYFILE=str(client.key),
    )
    credentials = faust_credentials(settings)
    assert isinstance(credentials, faust.SSLCredentials)
    assert credentials.protocol.value == "SSL"
    assert connection_config(settings)["ssl_certfile"] == str(client.cert)
    assert connection_config(settings)["ssl_keyfile"] == str(client.key)


def test_kafka_python_gets_the_same_scram_and_ca_and_checks_the_host_name(
    ca: CertificateAuthority,
) -> None:
    config = connection_config(_scram(ca))
    assert config["security_protocol"] == "SASL_SSL"
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert config["ssl_cafile"] == str(ca.cert)
    assert config["ssl_check_hostname"] is True


def _granted(group: str = "engage-stream") -> dict[tuple[ResourceType, str], set[ACLOperation]]:
    topics = load_topics(PROJECT_ROOT / "infra" / "topics.yaml")
    granted: dict[tuple[ResourceType, str], set[ACLOperation]] = {}
    for acl in worker_acls(topics, group, "engage-worker"):
        assert acl.principal == "User:engage-worker"
        assert acl.permission_type is ACLPermissionType.ALLOW
        pattern = acl.resource_pattern
        name = pattern.resource_name
        if pattern.pattern_type is ACLResourcePatternType.PREFIXED:
            name += "*"
        granted.setdefault((pattern.resource_type, name), set()).add(acl.operation)
    return granted


def test_the_worker_reads_its_inputs_and_never_writes_them() -> None:
    topics = load_topics(PROJECT_ROOT / "infra" / "topics.yaml")
    granted = _granted()
    for role in (TopicRole.EVENTS, TopicRole.CUSTOMERS):
        assert granted[(ResourceType.TOPIC, topics.name(role))] == {
            ACLOperation.READ,
            ACLOperation.DESCRIBE,
            ACLOperation.DESCRIBE_CONFIGS,
        }


def test_the_worker_writes_its_outputs_and_never_reads_them() -> None:
    topics = load_topics(PROJECT_ROOT / "infra" / "topics.yaml")
    granted = _granted()
    for role in (TopicRole.ENRICHED, TopicRole.ACTIONS_EMAIL, TopicRole.DLQ):
        assert granted[(ResourceType.TOPIC, topics.name(role))] == {
            ACLOperation.WRITE,
            ACLOperation.DESCRIBE,
            ACLOperation.DESCRIBE_CONFIGS,
        }
    scored = granted[(ResourceType.TOPIC, topics.name(TopicRole.SCORED))]
    assert {ACLOperation.READ, ACLOperation.WRITE} <= scored


def test_the_worker_joins_only_its_group_and_makes_only_topics_named_after_it() -> None:
    granted = _granted("engage-prod")
    assert granted[(ResourceType.GROUP, "engage-prod")] == {
        ACLOperation.READ,
        ACLOperation.DESCRIBE,
    }
    assert ACLOperation.CREATE in granted[(ResourceType.TOPIC, "engage-prod-*")]
    assert not any(kind is ResourceType.CLUSTER for kind, _ in granted)
    assert all(ACLOperation.ALL not in operations for operations in granted.values())
