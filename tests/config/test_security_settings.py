"""Security settings that cannot work stop the program at start, naming the setting: TLS
files without TLS, credentials without SASL, a key without its certificate; and the web
server's address is a setting, this machine only unless told otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engage_stream.config.settings import PROJECT_ROOT, SettingsError, load_settings

PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"


def _problems(**env: str) -> list[str]:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        with pytest.raises(SettingsError) as excinfo:
            load_settings()
    return excinfo.value.problems


@pytest.fixture
def pem(tmp_path: Path) -> dict[str, Path]:
    files = {
        "ca": tmp_path / "ca.pem",
        "cert": tmp_path / "client.pem",
        "key": tmp_path / "client.key",
        "both": tmp_path / "client-with-key.pem",
    }
    files["ca"].write_text(PEM_CERT)
    files["cert"].write_text(PEM_CERT)
    files["key"].write_text(PEM_KEY)
    files["both"].write_text(PEM_KEY + PEM_CERT)
    return files


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SASL_PLAINTEXT"])
def test_tls_files_without_tls_are_an_error_naming_every_file(
    protocol: str, pem: dict[str, Path]
) -> None:
    sasl = (
        {
            "ENGAGE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "ENGAGE_KAFKA_SASL_USERNAME": "engage",
            "ENGAGE_KAFKA_SASL_PASSWORD": "s3cret-pass",
        }
        if protocol == "SASL_PLAINTEXT"
        else {}
    )
    problems = _problems(
        ENGAGE_KAFKA_SECURITY_PROTOCOL=protocol,
        ENGAGE_KAFKA_SSL_CAFILE=str(pem["ca"]),
        ENGAGE_KAFKA_SSL_CERTFILE=str(pem["cert"]),
        ENGAGE_KAFKA_SSL_KEYFILE=str(pem["key"]),
        **sasl,
    )
    assert [p.split(":")[0] for p in problems] == [
        "ENGAGE_KAFKA_SSL_CAFILE",
        "ENGAGE_KAFKA_SSL_CERTFILE",
        "ENGAGE_KAFKA_SSL_KEYFILE",
    ]
    assert all(f"ENGAGE_KAFKA_SECURITY_PROTOCOL is {protocol}" in p for p in problems)
    assert all("use SSL or SASL_SSL" in p for p in problems)


def test_the_default_protocol_with_a_ca_file_is_an_error_too(pem: dict[str, Path]) -> None:
    (problem,) = _problems(ENGAGE_KAFKA_SSL_CAFILE=str(pem["ca"]))
    assert problem.startswith("ENGAGE_KAFKA_SSL_CAFILE: a TLS file is set but")


def test_a_client_key_without_its_certificate_is_an_error(pem: dict[str, Path]) -> None:
    (problem,) = _problems(
        ENGAGE_KAFKA_SECURITY_PROTOCOL="SSL", ENGAGE_KAFKA_SSL_KEYFILE=str(pem["key"])
    )
    assert problem == (
        "ENGAGE_KAFKA_SSL_KEYFILE: a client key needs its certificate: "
        "set ENGAGE_KAFKA_SSL_CERTFILE"
    )


def test_a_client_certificate_needs_a_key_file_unless_it_holds_the_key(
    pem: dict[str, Path],
) -> None:
    (problem,) = _problems(
        ENGAGE_KAFKA_SECURITY_PROTOCOL="SSL", ENGAGE_KAFKA_SSL_CERTFILE=str(pem["cert"])
    )
    assert problem.startswith("ENGAGE_KAFKA_SSL_KEYFILE: required:")
    assert "holds no private key" in problem
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENGAGE_KAFKA_SECURITY_PROTOCOL", "SSL")
        mp.setenv("ENGAGE_KAFKA_SSL_CERTFILE", str(pem["both"]))
        assert load_settings().kafka_ssl_certfile == pem["both"]


def test_tls_files_with_tls_protocols_are_accepted(pem: dict[str, Path]) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENGAGE_KAFKA_SECURITY_PROTOCOL", "SSL")
        mp.setenv("ENGAGE_KAFKA_SSL_CAFILE", str(pem["ca"]))
        mp.setenv("ENGAGE_KAFKA_SSL_CERTFILE", str(pem["cert"]))
        mp.setenv("ENGAGE_KAFKA_SSL_KEYFILE", str(pem["key"]))
        settings = load_settings()
    assert (settings.kafka_ssl_cafile, settings.kafka_ssl_keyfile) == (pem["ca"], pem["key"])


def test_sasl_credentials_without_sasl_are_an_error() -> None:
    problems = _problems(
        ENGAGE_KAFKA_SECURITY_PROTOCOL="SSL",
        ENGAGE_KAFKA_SASL_USERNAME="engage",
        ENGAGE_KAFKA_SASL_PASSWORD="s3cret-pass",
    )
    assert [p.split(":")[0] for p in problems] == [
        "ENGAGE_KAFKA_SASL_USERNAME",
        "ENGAGE_KAFKA_SASL_PASSWORD",
    ]
    assert all("ENGAGE_KAFKA_SECURITY_PROTOCOL is SSL" in p for p in problems)
    assert not any("s3cret-pass" in p for p in problems)


def test_the_web_server_listens_on_this_machine_only_by_default() -> None:
    assert load_settings().web_bind == "127.0.0.1"


@pytest.mark.parametrize("bind", ["0.0.0.0", "::", "10.1.2.3", "worker.internal", "localhost"])
def test_the_web_bind_takes_an_address_or_a_host_name(bind: str) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENGAGE_WEB_BIND", bind)
        assert load_settings().web_bind == bind


@pytest.mark.parametrize("bind", ["", "every interface", "0.0.0.0:6066", "-bad.example"])
def test_a_web_bind_that_is_no_address_is_named(bind: str) -> None:
    (problem,) = _problems(ENGAGE_WEB_BIND=bind)
    assert problem.startswith("ENGAGE_WEB_BIND: ")
    assert "neither an IP address nor a host name" in problem


def test_a_command_with_tls_files_and_plaintext_stops_at_start_with_exit_2(
    pem: dict[str, Path],
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGE_")}
    env |= {"ENGAGE_KAFKA_SSL_CAFILE": str(pem["ca"])}
    result = subprocess.run(
        [sys.executable, "-m", "engage_stream", "topics", "create"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 2
    assert "engage-stream: invalid configuration" in result.stderr
    assert "ENGAGE_KAFKA_SSL_CAFILE: a TLS file is set but" in result.stderr
    assert "Traceback" not in result.stderr
