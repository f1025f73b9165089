"""Is a Kafka-protocol broker really serving? Ask it, rather than trusting an open port."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable

_API_VERSIONS_KEY = 18
_METADATA_KEY = 3


def _request(
    host: str, port: int, api_key: int, version: int, body: bytes, timeout: float
) -> bytes:
    client_id = b"engage-stream-probe"
    header = struct.pack(">hhih", api_key, version, 1, len(client_id)) + client_id
    message = header + body
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(message)) + message)
        size_bytes = _recv_exactly(sock, 4)
        (size,) = struct.unpack(">i", size_bytes)
        return _recv_exactly(sock, size)


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise ConnectionError("broker closed the connection mid-response")
        chunks.extend(chunk)
    return bytes(chunks)


def broker_count(host: str, port: int, timeout: float = 2.0) -> int:
    """Brokers listed in a Metadata v0 response; 0 until the broker has registered itself."""
    _request(host, port, _API_VERSIONS_KEY, 0, b"", timeout)
    response = _request(host, port, _METADATA_KEY, 0, struct.pack(">i", 0), timeout)
    (count,) = struct.unpack_from(">i", response, 4)  # after the correlation id
    return int(count)


def wait_until_serving(
    host: str, port: int, timeout_s: float, still_running: Callable[[], bool] | None = None
) -> None:
    """Block until the broker answers ApiVersions and lists itself in Metadata."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if still_running is not None and not still_running():
            raise RuntimeError("broker process exited while starting")
        try:
            if broker_count(host, port) > 0:
                return
        except (OSError, ConnectionError, struct.error) as exc:
            last_error = exc
        time.sleep(0.2)
    raise TimeoutError(f"broker at {host}:{port} not serving after {timeout_s:.0f}s ({last_error})")
