"""The tests' certificate authority makes certificates a TLS client accepts for the hosts they
name, and only for those."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest

from engage_stream.brokers.tls import Certificate, CertificateAuthority, subject_alt_names


def _handshake(certificate: Certificate, dial: str) -> None:
    """A TLS handshake with a server presenting `certificate`, the client checking `dial`."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(certificate.cert, certificate.key)
    client_context = ssl.create_default_context(cafile=str(certificate.ca))
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            conn, _ = listener.accept()
            try:
                with server_context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass  # the client refused us: that is what some tests want

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
                client_context.wrap_socket(raw, server_hostname=dial),
            ):
                pass
        finally:
            server.join(timeout=5)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority.create(tmp_path_factory.mktemp("ca"))


def test_a_certificate_is_accepted_for_the_address_and_name_it_was_made_for(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    certificate = ca.issue(tmp_path, "broker", ("127.0.0.1", "kafka.test"))
    _handshake(certificate, "127.0.0.1")
    _handshake(certificate, "kafka.test")


def test_a_certificate_for_another_host_is_refused_as_a_mismatch(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    certificate = ca.issue(tmp_path, "elsewhere", ("kafka.elsewhere.invalid",))
    with pytest.raises(ssl.SSLCertVerificationError, match="IP address mismatch"):
        _handshake(certificate, "127.0.0.1")
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        _handshake(certificate, "kafka.test")


def test_a_certificate_from_another_authority_is_not_trusted(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    stranger = CertificateAuthority.create(tmp_path / "stranger")
    issued = stranger.issue(tmp_path, "broker", ("127.0.0.1",))
    trusting_ours = Certificate(issued.cert, issued.key, ca.cert, issued.hosts)
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        _handshake(trusting_ours, "127.0.0.1")


def test_the_keystore_holds_the_key_then_the_certificate(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    certificate = ca.issue(tmp_path, "broker", ("127.0.0.1",))
    keystore = certificate.keystore.read_text(encoding="ascii")
    assert keystore.index("BEGIN PRIVATE KEY") < keystore.index("BEGIN CERTIFICATE")


def test_addresses_become_ip_entries_and_names_dns_entries() -> None:
    assert (
        subject_alt_names(("127.0.0.1", "::1", "localhost")) == "IP:127.0.0.1,IP:::1,DNS:localhost"
    )
