"""What `ApacheKafkaBroker` writes into server.properties with and without security, and the
users it accepts (no broker started: the SASL_SSL module starts one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engage_stream.brokers.apache_kafka import (
    ApacheKafkaBroker,
    BrokerSecurity,
    SaslSslListener,
    ScramUser,
)
from engage_stream.brokers.tls import Certificate

CERT = Certificate(Path("/certs/b.pem"), Path("/certs/b.key"), Path("/certs/ca.pem"), ("h",))


def _security(**overrides: object) -> BrokerSecurity:
    fields: dict[str, object] = {
        "listeners": (SaslSslListener("SECURE", CERT),),
        "users": (ScramUser("admin", "admin-pass-1"), ScramUser("worker", "worker-pass-1")),
    }
    return BrokerSecurity(**(fields | overrides))  # type: ignore[arg-type]


def test_without_security_the_broker_is_plaintext_only(tmp_path: Path) -> None:
    properties = ApacheKafkaBroker(work_dir=tmp_path).server_properties()
    assert (
        properties["listener.security.protocol.map"] == "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    )
    assert not any("sasl" in key or "ssl" in key or "authorizer" in key for key in properties)


def test_with_security_every_request_is_authorized_and_denied_without_an_acl(
    tmp_path: Path,
) -> None:
    broker = ApacheKafkaBroker(work_dir=tmp_path, security=_security())
    properties = broker.server_properties()
    port = broker.listener_ports["SECURE"]
    assert f"SECURE://127.0.0.1:{port}" in properties["listeners"]
    assert "SECURE:SASL_SSL" in properties["listener.security.protocol.map"]
    assert properties["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert properties["authorizer.class.name"].endswith("StandardAuthorizer")
    assert properties["allow.everyone.if.no.acl.found"] == "false"
    assert properties["super.users"] == "User:ANONYMOUS;User:admin"
    assert properties["listener.name.secure.ssl.keystore.location"] == str(CERT.keystore)
    assert len({broker.port, broker.controller_port, port}) == 3


def test_the_client_settings_name_the_listener_user_and_ca(tmp_path: Path) -> None:
    broker = ApacheKafkaBroker(work_dir=tmp_path, security=_security())
    env = broker.settings_env("worker")
    assert env["ENGAGE_KAFKA_BOOTSTRAP"] == broker.bootstrap_of("SECURE")
    assert env["ENGAGE_KAFKA_SASL_USERNAME"] == "worker"
    assert env["ENGAGE_KAFKA_SASL_PASSWORD"] == "worker-pass-1"
    assert env["ENGAGE_KAFKA_SSL_CAFILE"] == str(CERT.ca)
    assert broker.client_config("worker", password="other-pass")["sasl_plain_password"] == (
        "other-pass"
    )


def test_a_password_never_shows_in_a_repr() -> None:
    assert "admin-pass-1" not in repr(_security())


@pytest.mark.parametrize("password", ["short", "has space in it", 'quote"d-password', "a,b=c]d-e"])
def test_a_password_the_storage_tool_would_misread_is_refused(password: str) -> None:
    with pytest.raises(ValueError, match="password of SCRAM user admin"):
        ScramUser("admin", password)


def test_super_users_must_be_users() -> None:
    with pytest.raises(ValueError, match=r"super users \['root'\]"):
        _security(super_users=("root",))


def test_the_brokers_own_listener_names_are_kept_for_it() -> None:
    with pytest.raises(ValueError, match="not PLAINTEXT or CONTROLLER"):
        SaslSslListener("CONTROLLER", CERT)
