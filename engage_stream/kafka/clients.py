"""Connection settings for kafka-python clients, from `Settings` (SASL and TLS included), and
a first connection that says why a secured broker turned us away.

kafka-python 3.0 keeps retrying a TLS handshake or a SASL login that fails until its
bootstrap times out, then reports only "Unable to bootstrap"; aiokafka logs the cause and
Faust crashes with a traceback. `check_connection` makes the same TLS handshake and SASL
exchange once and names the cause (a certificate for another host, an untrusted one, a wrong
password), for a command or the worker to stop with before its clients start.
"""

from __future__ import annotations

import socket
import ssl
import struct
from typing import Any

from kafka.errors import KafkaError
from kafka.net.sasl import get_sasl_mechanism

from engage_stream.config.settings import Settings

_TLS = frozenset({"SSL", "SASL_SSL"})
# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH (Python checks an
# address against the IP entries): the chain is trusted, the name dialled is not in it.
_NAME_MISMATCH = frozenset({62, 64})
_SASL_HANDSHAKE, _SASL_AUTHENTICATE = 17, 36  # Kafka API keys
_UNSUPPORTED_SASL_MECHANISM = 33  # Kafka error code


def connection_config(settings: Settings, bootstrap: str | None = None) -> dict[str, Any]:
    """kafka-python keyword arguments shared by producers, consumers and the admin client."""
    config: dict[str, Any] = {
        "bootstrap_servers": (bootstrap or settings.kafka_bootstrap).split(","),
        "client_id": settings.kafka_client_id,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_sasl_mechanism is not None:
        config["sasl_mechanism"] = settings.kafka_sasl_mechanism
        config["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            config["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_security_protocol in _TLS:
        config["ssl_check_hostname"] = True
        for option in ("cafile", "certfile", "keyfile"):
            value = getattr(settings, f"kafka_ssl_{option}")
            if value is not None:
                config[f"ssl_{option}"] = str(value)
    return config


class KafkaAccessError(KafkaError):  # type: ignore[misc]  # kafka-python is untyped
    """The broker answered but TLS or SASL failed; the message says which, and what to check.

    A `KafkaError`, so code that reports kafka-python's errors reports this one too."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else type(self).__name__


def _split(server: str) -> tuple[str, int]:
    host, _, port = server.strip().rpartition(":")
    return host.strip("[]"), int(port)


def _tls_context(connection: dict[str, Any]) -> ssl.SSLContext:
    """The verification kafka-python applies with these arguments."""
    context = ssl.create_default_context(cafile=connection.get("ssl_cafile"))
    context.check_hostname = bool(connection.get("ssl_check_hostname", True))
    if connection.get("ssl_certfile"):
        context.load_cert_chain(
            connection["ssl_certfile"],
            connection.get("ssl_keyfile"),
            connection.get("ssl_password"),
        )
    return context


def _open(server: str, connection: dict[str, Any], timeout_s: float) -> socket.socket | None:
    """A connection to `server` as the clients make it (TLS verified where they use TLS), or
    None when nothing answers there."""
    host, port = _split(server)
    try:
        raw = socket.create_connection((host, port), timeout=timeout_s)
    except OSError:
        return None
    if connection.get("security_protocol") not in _TLS:
        return raw
    try:
        return _tls_context(connection).wrap_socket(raw, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        raw.close()
        if exc.verify_code in _NAME_MISMATCH:
            raise KafkaAccessError(
                f"the TLS certificate of {server} does not match the host name {host!r} "
                f"({exc.verify_message}): reach the broker by a name its certificate "
                "holds (ENGAGE_KAFKA_BOOTSTRAP), or give it a certificate for this name"
            ) from None
        raise KafkaAccessError(
            f"the TLS certificate of {server} is not trusted ({exc.verify_message}): "
            "check ENGAGE_KAFKA_SSL_CAFILE names the CA that signed it"
        ) from None
    except (ssl.SSLError, OSError) as exc:
        raw.close()
        raise KafkaAccessError(
            f"the TLS handshake with {server} failed ({exc}): is it a TLS listener? "
            "check ENGAGE_KAFKA_SECURITY_PROTOCOL"
        ) from None


def _request(sock: socket.socket, api_key: int, version: int, body: bytes) -> bytes:
    """One request with header v1 (no tagged fields: SaslHandshake v1 and SaslAuthenticate
    v0 are not flexible versions); the response body after the correlation id."""
    client_id = b"engage-stream-check"
    header = struct.pack(">hhih", api_key, version, 1, len(client_id)) + client_id
    sock.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
    (size,) = struct.unpack(">i", _read(sock, 4))
    return _read(sock, size)[4:]


def _read(sock: socket.socket, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        data.extend(chunk)
    return bytes(data)


def _string(data: bytes, at: int) -> tuple[str | None, int]:
    (length,) = struct.unpack_from(">h", data, at)
    if length < 0:
        return None, at + 2
    return data[at + 2 : at + 2 + length].decode("utf-8", "replace"), at + 2 + length


def _check_sasl(sock: socket.socket, server: str, connection: dict[str, Any]) -> None:
    """SaslHandshake, then SaslAuthenticate rounds driven by kafka-python's own mechanism
    (SCRAM or PLAIN), as its clients authenticate; the broker's refusal, named."""
    mechanism_name = str(connection.get("sasl_mechanism"))
    user = connection.get("sasl_plain_username")
    name = mechanism_name.encode()
    response = _request(sock, _SASL_HANDSHAKE, 1, struct.pack(">h", len(name)) + name)
    (error,) = struct.unpack_from(">h", response, 0)
    if error == _UNSUPPORTED_SASL_MECHANISM:
        (count,) = struct.unpack_from(">i", response, 2)
        offered, at = [], 6
        for _ in range(count):
            value, at = _string(response, at)
            offered.append(value)
        raise KafkaAccessError(
            f"{server} does not offer ENGAGE_KAFKA_SASL_MECHANISM {mechanism_name} "
            f"(it offers {', '.join(str(o) for o in offered) or 'none'})"
        )
    mechanism = get_sasl_mechanism(mechanism_name)(host=_split(server)[0], **connection)
    while not mechanism.is_done():
        token = mechanism.auth_bytes()
        response = _request(sock, _SASL_AUTHENTICATE, 0, struct.pack(">i", len(token)) + token)
        (error,) = struct.unpack_from(">h", response, 0)
        message, at = _string(response, 2)
        if error != 0:
            raise KafkaAccessError(
                f"authentication failed for user {user!r} ({mechanism_name}) at {server}: "
                f"{message or f'error code {error}'}; check ENGAGE_KAFKA_SASL_USERNAME and "
                "ENGAGE_KAFKA_SASL_PASSWORD"
            )
        (length,) = struct.unpack_from(">i", response, at)
        try:
            mechanism.receive(response[at + 4 : at + 4 + max(length, 0)])
        except ValueError as exc:
            raise KafkaAccessError(
                f"the broker at {server} answered {mechanism_name} wrongly ({exc}): "
                "is this the broker you meant?"
            ) from None


def check_connection(connection: dict[str, Any], timeout_s: float = 10.0) -> None:
    """Connect to each bootstrap server once as kafka-python and aiokafka will (TLS, then
    SASL) and raise KafkaAccessError naming the cause when one turns us away: a certificate
    for another host, an untrusted one, a wrong user or password, a mechanism not offered.
    A server that does not answer at all is left to the clients' own errors; PLAINTEXT needs
    no check."""
    protocol = str(connection.get("security_protocol", "PLAINTEXT"))
    if protocol == "PLAINTEXT":
        return
    for server in connection["bootstrap_servers"]:
        sock = _open(server, connection, timeout_s)
        if sock is None:
            continue
        with sock:
            if protocol.startswith("SASL_"):
                try:
                    _check_sasl(sock, server, connection)
                except (OSError, ConnectionError, struct.error) as exc:
                    raise KafkaAccessError(
                        f"the SASL exchange with {server} broke off ({exc}): is it a "
                        f"{protocol} listener? check ENGAGE_KAFKA_SECURITY_PROTOCOL"
                    ) from None
