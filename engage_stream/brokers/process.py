"""A broker child process the project starts, waits for, and stops cleanly."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

import structlog

from engage_stream.brokers.readiness import wait_until_serving

log = structlog.get_logger(__name__)


class BrokerStartError(RuntimeError):
    """The broker could not be started; the message says why and where its log is."""


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` distinct free ports: all sockets stay bound until every port is chosen."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port(host: str = "127.0.0.1") -> int:
    return free_ports(1, host)[0]


def port_in_use(host: str, port: int) -> bool:
    """Whether another server listens on `port`. SO_REUSEADDR, as the brokers' own listeners
    set it (Java's ServerSocketChannel and Rust's TcpListener on Unix): a broker killed with
    clients connected leaves its port in TIME_WAIT for a minute, which a restart on the same
    port may reuse; only a listening socket stops it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
        return False


def tail(path: Path, lines: int = 15) -> str:
    if not path.exists():
        return "(no log written)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class BrokerProcess(ABC):
    """Start/stop/kill/restart one single-node broker; usable as a context manager.

    Ports and the data directory are fixed at construction, so a restart comes back at
    the same bootstrap address with the same data (where the implementation keeps any).
    """

    impl: ClassVar[str]

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        advertised_host: str | None = None,
        work_dir: Path | None = None,
        start_timeout_s: float = 60.0,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.advertised_host = advertised_host or host
        self._owns_work_dir = work_dir is None
        self.work_dir = work_dir or Path(tempfile.mkdtemp(prefix=f"engage-{self.impl}-"))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.start_timeout_s = start_timeout_s
        self.log_path = self.work_dir / "broker.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.advertised_host}:{self.port}"

    @property
    def pid(self) -> int:
        """The broker's own process (for its CPU time), while it runs."""
        if self._proc is None:
            raise BrokerStartError(f"{self.impl} broker at {self.bootstrap} is not running")
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @abstractmethod
    def command(self) -> list[str]:
        """The argv that serves the broker in the foreground."""

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """Work to do before each start (for example formatting storage once)."""

    def start(self) -> Self:
        if self.running:
            return self
        if port_in_use(self.host, self.port):
            raise BrokerStartError(
                f"{self.impl} broker cannot listen on {self.host}:{self.port}: the port is in use "
                f"(another broker?). Pick another port, or 0 for a free one. Log: {self.log_path}"
            )
        self.prepare()
        log_file = self.log_path.open("ab")
        try:
            self._proc = subprocess.Popen(
                self.command(),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.work_dir,
                start_new_session=True,
            )
        finally:
            log_file.close()
        try:
            wait_until_serving(
                self.host, self.port, self.start_timeout_s, still_running=lambda: self.running
            )
        except (TimeoutError, RuntimeError) as exc:
            self.kill()
            raise BrokerStartError(
                f"{self.impl} broker on {self.bootstrap} did not start: {exc}. "
                f"Last lines of {self.log_path}:\n{tail(self.log_path)}"
            ) from None
        log.info("broker_started", impl=self.impl, bootstrap=self.bootstrap, pid=self._proc.pid)
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        """Graceful stop (SIGTERM), then SIGKILL if it does not exit in time."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("broker_stop_timeout", impl=self.impl, pid=self._proc.pid)
                self._proc.kill()
                self._proc.wait()
        log.info("broker_stopped", impl=self.impl, bootstrap=self.bootstrap)
        self._proc = None

    def kill(self) -> None:
        """Abrupt stop (SIGKILL), as a crash would."""
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
        self._proc = None

    def restart(self) -> Self:
        self.stop()
        return self.start()

    def wait(self) -> int:
        """Block until the broker exits by itself (foreground use)."""
        assert self._proc is not None
        return self._proc.wait()

    def close(self) -> None:
        self.stop()
        if self._owns_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
