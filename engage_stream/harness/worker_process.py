"""A worker in its own process, for the demo, the benchmarks and the integration tests.

Starts `engage-stream worker` with the given settings, waits for `/ready`, reads
`/metrics`, and stops it politely (SIGTERM) or not at all (SIGKILL, for crash tests), or
freezes it (SIGSTOP) and lets it go on (SIGCONT), as a stalled process would. SIGUSR2 asks
it where each partition's consumption stands (`consumer_state`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from prometheus_client.parser import text_string_to_metric_families


class WorkerProcessError(RuntimeError):
    pass


@dataclass(frozen=True)
class Scrape:
    """One read of a worker's /metrics: (name, labels, value) per sample."""

    samples: list[tuple[str, dict[str, str], float]]

    def total(self, name: str, **labels: str) -> float:
        """Sum of the samples of `name` whose labels include `labels`."""
        return sum(
            value
            for sample, found, value in self.samples
            if sample == name and all(found.get(k) == v for k, v in labels.items())
        )

    def by_label(self, name: str, label: str) -> dict[str, float]:
        return {found[label]: value for sample, found, value in self.samples if sample == name}

    def histogram_bound(self, name: str, q: float) -> float | None:
        """The upper bound of the bucket holding quantile `q` of histogram `name`."""
        count = self.total(f"{name}_count")
        if not count:
            return None
        buckets = sorted(
            (float(found["le"]), value)
            for sample, found, value in self.samples
            if sample == f"{name}_bucket" and found.get("le") != "+Inf"
        )
        return next((bound for bound, seen in buckets if seen >= q * count), None)

    def as_keys(self) -> dict[str, float]:
        """Samples by `name{label=value,...}` (labels sorted)."""
        keys: dict[str, float] = {}
        for name, found, value in self.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(found.items()))
            keys[f"{name}{{{labels}}}" if labels else name] = value
        return keys


class WorkerProcess:
    def __init__(
        self,
        settings: dict[str, str],
        *,
        log_file: Path | None = None,
        python: str = sys.executable,
    ) -> None:
        """`settings`: ENGAGE_* variables (ENGAGE_WEB_PORT is required, to find /ready)."""
        if "ENGAGE_WEB_PORT" not in settings:
            raise ValueError("ENGAGE_WEB_PORT is required")
        self.settings = settings
        self.port = int(settings["ENGAGE_WEB_PORT"])
        self.log_file = log_file
        self.python = python
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @classmethod
    def on(
        cls,
        bootstrap: str,
        topics_file: Path,
        group: str,
        web_port: int,
        *,
        log_file: Path | None = None,
        **settings: str,
    ) -> Self:
        """A worker of `group` on the broker at `bootstrap`, reading `topics_file`, its web
        server on `web_port`; `settings`: more ENGAGE_* variables."""
        base = {
            "ENGAGE_KAFKA_BOOTSTRAP": bootstrap,
            "ENGAGE_TOPICS_FILE": str(topics_file),
            "ENGAGE_GROUP_ID": group,
            "ENGAGE_WEB_PORT": str(web_port),
        }
        return cls({**base, **settings}, log_file=log_file)

    def start(self, ready_timeout_s: float = 90.0) -> Self:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGE_")}
        env.update(self.settings)
        env.setdefault("ENGAGE_LOG_FORMAT", "json")
        if self.log_file is not None:
            self._log = self.log_file.open("ab")
        self._process = subprocess.Popen(
            [self.python, "-m", "engage_stream", "worker"],
            env=env,
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready(ready_timeout_s)
        return self

    @property
    def pid(self) -> int:
        if self._process is None:
            raise WorkerProcessError("worker not started")
        return self._process.pid

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def ready(self) -> bool:
        """Whether `/ready` answers 200 now (503: rebalancing, recovering, or an output
        failing to send)."""
        return self._get("/ready") is not None

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.running():
                code = self._process.returncode if self._process else None
                raise WorkerProcessError(
                    f"worker exited with code {code} before it was ready; log: {self.log_file}"
                )
            if self._get("/ready") is not None:
                return
            time.sleep(0.2)
        raise WorkerProcessError(f"worker not ready after {timeout_s:.0f} s; log: {self.log_file}")

    def _get(self, path: str) -> bytes | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as r:
                body: bytes = r.read()
                return body
        except (urllib.error.URLError, OSError, TimeoutError):
            return None

    def scrape(self) -> Scrape:
        """The worker's /metrics now (no samples while it does not answer)."""
        text = self._get("/metrics")
        if text is None:
            return Scrape([])
        return Scrape(
            [
                (sample.name, dict(sample.labels), sample.value)
                for family in text_string_to_metric_families(text.decode())
                for sample in family.samples
            ]
        )

    def metrics(self) -> dict[str, float]:
        """Samples by `name{label=value,...}` (labels sorted), from the worker's /metrics."""
        return self.scrape().as_keys()

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM, then wait; Faust commits offsets and leaves the group."""
        if self._process is None:
            return None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
        return self._finish()

    def kill(self) -> int | None:
        """SIGKILL: no commit, no goodbye: what a crash looks like to the group."""
        if self._process is None:
            return None
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(10)
        return self._finish()

    def pause(self) -> None:
        """SIGSTOP: the process stalls as a long GC pause or a frozen VM would. It neither
        heartbeats nor sends; held past the session timeout, the group moves its partitions
        to the others, and after `resume` it is a zombie until it learns so."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT: a paused worker goes on from where it stopped."""
        self._signal(signal.SIGCONT)

    def consumer_state(self, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """SIGUSR2: the `consumer_state` line the worker logs for each partition it holds."""
        if self.log_file is None:
            raise WorkerProcessError("consumer_state reads the worker's log: give it a log file")
        start = self.log_file.stat().st_size
        self._signal(signal.SIGUSR2)
        deadline = time.monotonic() + timeout_s
        while True:
            found = json_log_lines(self.log_file, start)
            asked = [
                i for i, line in enumerate(found) if line.get("event") == "consumer_state_asked"
            ]
            if asked:
                first = asked[0]
                partitions = int(found[first].get("partitions", 0))
                states = [s for s in found[first:] if s.get("event") == "consumer_state"]
                if len(states) >= partitions:
                    return states[:partitions]
            if time.monotonic() > deadline:
                raise WorkerProcessError(f"no consumer_state after SIGUSR2; log: {self.log_file}")
            time.sleep(0.1)

    def _signal(self, signum: signal.Signals) -> None:
        if not self.running():
            raise WorkerProcessError(f"worker not running; log: {self.log_file}")
        assert self._process is not None
        os.killpg(self._process.pid, signum)

    def _finish(self) -> int | None:
        code = self._process.returncode if self._process else None
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def json_log_lines(path: Path, start: int = 0) -> list[dict[str, Any]]:
    """A worker's JSON log lines written to `path` from byte `start` on (Faust's own plain
    lines and stack dumps skipped)."""
    with path.open("rb") as handle:
        handle.seek(start)
        text = handle.read().decode("utf-8", errors="replace")
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found
