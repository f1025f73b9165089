"""A pipeline under test: isolated topics on a real broker, workers, inputs and outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from engage_stream.brokers import BrokerProcess
from engage_stream.brokers.process import free_ports
from engage_stream.harness.worker_process import WorkerProcess
from engage_stream.kafka.admin import ensure_topics
from engage_stream.kafka.isolation import isolated_topics_file
from engage_stream.kafka.partitioner import partition_for
from engage_stream.kafka.reader import read_to_end
from engage_stream.kafka.topics import TopicRole, TopicsFile, load_topics
from engage_stream.samples.publish import send_event, send_profiles
from engage_stream.schemas.customers import CustomerProfile
from engage_stream.schemas.events import CrmEvent

REPO = Path(__file__).resolve().parents[2]
KST = timezone(timedelta(hours=9))


def isolated_topics(directory: Path) -> Path:
    """A copy of infra/topics.yaml whose topic names are unique to this test."""
    return isolated_topics_file(REPO / "infra" / "topics.yaml", directory)


class Pipeline:
    def __init__(self, broker: BrokerProcess, directory: Path) -> None:
        self.broker = broker
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.topics_file = isolated_topics(directory)
        self.topics: TopicsFile = load_topics(self.topics_file)
        self.group = f"engage-test-{uuid.uuid4().hex[:8]}"
        self.connection: dict[str, Any] = {"bootstrap_servers": [broker.bootstrap]}
        ensure_topics(self.connection, self.topics)
        self._producer = KafkaProducer(**self.connection, acks="all", linger_ms=5)
        self.workers: list[WorkerProcess] = []

    def name(self, role: TopicRole) -> str:
        return self.topics.name(role)

    def worker(self, **overrides: str) -> WorkerProcess:
        port = free_ports(1)[0]
        settings = {
            "ENGAGE_KAFKA_BOOTSTRAP": self.broker.bootstrap,
            "ENGAGE_TOPICS_FILE": str(self.topics_file),
            "ENGAGE_GROUP_ID": self.group,
            "ENGAGE_WEB_PORT": str(port),
            "ENGAGE_SESSION_TIMEOUT_S": "6",
            "ENGAGE_DEVICE": "cpu",
            # No idle ticks unless a test asks: a tick releases as of the wall clock, and
            # the tests' events are at fixed times; `advance_stream_time` moves stream time.
            "ENGAGE_IDLE_RELEASE_S": "0",
            **overrides,
        }
        log = self.directory / f"worker-{len(self.workers)}.log"
        worker = WorkerProcess(settings, log_file=log)
        self.workers.append(worker)
        return worker

    def send(
        self,
        role: TopicRole,
        value: bytes | None,
        key: bytes | None = None,
        timestamp_ms: int | None = None,
    ) -> None:
        self._producer.send(self.name(role), key=key, value=value, timestamp_ms=timestamp_ms)

    def send_samples(
        self, profiles: Iterable[CustomerProfile] = (), events: Iterable[CrmEvent] = ()
    ) -> None:
        """Typed sample documents, keyed and encoded as the producer command sends them,
        each event stamped with its own time (`send_event`)."""
        send_profiles(self._producer, self.name(TopicRole.CUSTOMERS), profiles, at_event_time=True)
        for crm_event in events:
            send_event(self._producer, self.name(TopicRole.EVENTS), crm_event, at_event_time=True)

    def send_profile(self, profile: dict[str, Any]) -> None:
        """Stamped with its `updated_at`, as `send_event` stamps events."""
        updated = datetime.fromisoformat(profile["updated_at"])
        self.send(
            TopicRole.CUSTOMERS,
            json.dumps(profile, ensure_ascii=False).encode(),
            profile["customer_id"].encode(),
            round(updated.timestamp() * 1000),
        )

    def send_event(self, event: dict[str, Any]) -> None:
        """An event as the CRM sends it when it happens: its record timestamp is its time,
        so the worker's stream time runs with the clock as it would live (an event produced
        days after it happened is a backfill, whose held offers wait for stream time)."""
        occurred = datetime.fromisoformat(event["occurred_at"])
        self.send(
            TopicRole.EVENTS,
            json.dumps(event, ensure_ascii=False).encode(),
            event["customer_id"].encode(),
            round(occurred.timestamp() * 1000),
        )

    def flush(self) -> None:
        self._producer.flush()

    def advance_stream_time(self, to: datetime) -> list[str]:
        """Stream time of every stateful partition moved to `to`: a page view at `to` from
        a customer of each partition (no profile, so no rule acts on it). Held offers due
        by then, less the allowed lateness, are released. The page views' event ids."""
        partitions = self.topics.topics[TopicRole.SCORED].partitions
        clocks: dict[int, str] = {}
        n = 0
        while len(clocks) < partitions:
            clocks.setdefault(partition_for(f"CLOCK-{n}", partitions), f"CLOCK-{n}")
            n += 1
        ids = []
        for partition, customer in sorted(clocks.items()):
            event_id = f"clock-{partition}-{to:%Y%m%dT%H%M%S}"
            self.send_event(
                event(event_id, customer, "page.view", {"url": "https://shop.example/"}, to)
            )
            ids.append(event_id)
        self.flush()
        return ids

    def read(self, role: TopicRole) -> list[dict[str, Any]]:
        return [json.loads(r.value) for r in read_to_end(self.connection, self.name(role))]

    def wait_for(
        self,
        role: TopicRole,
        done: Callable[[list[dict[str, Any]]], bool],
        timeout_s: float = 60.0,
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        records = self.read(role)
        while not done(records):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name(role)}: condition not met after {timeout_s:.0f} s; "
                    f"{len(records)} records; worker logs in {self.directory}"
                )
            time.sleep(0.5)
            records = self.read(role)
        return records

    def wait_for_count(
        self, role: TopicRole, count: int, timeout_s: float = 60.0
    ) -> list[dict[str, Any]]:
        return self.wait_for(role, lambda records: len(records) >= count, timeout_s)

    def wait_for_profiles(self, count: int, timeout_s: float = 90.0) -> None:
        """Until the running workers have kept `count` profiles (read from engage.profiles,
        after the re-keying hop): events sent before then may meet no profile yet."""
        key = f"engage_events_in_total{{topic={self.name(TopicRole.PROFILES)}}}"
        deadline = time.monotonic() + timeout_s
        while sum(w.metrics().get(key, 0.0) for w in self.workers if w.running()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{count} profiles not kept after {timeout_s:.0f} s; logs in {self.directory}"
                )
            time.sleep(0.3)

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self._producer.close()


def profile(
    customer_id: str,
    *,
    tier: str = "basic",
    channel: str = "email",
    consents: dict[str, dict[str, bool]] | None = None,
    updated_at: datetime | None = None,
    last_active_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "name": "김민수",
        "email": f"{customer_id.lower()}@example.com",
        "phone": "010-1234-5678",
        "tier": tier,
        "preferred_channel": channel,
        "consents": consents or {},
        "last_active_at": last_active_at.isoformat() if last_active_at else None,
        "updated_at": (updated_at or datetime(2026, 11, 1, tzinfo=KST)).isoformat(),
    }


def event(
    event_id: str,
    customer_id: str,
    event_type: str,
    payload: dict[str, Any],
    at: datetime,
    conversation_id: str | None = None,
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": at.isoformat(),
        "customer_id": customer_id,
        "source": "kakao" if event_type == "chat.message" else "web",
        "conversation_id": conversation_id,
        "payload": payload,
    }


def chat(
    event_id: str, customer_id: str, text: str, at: datetime, sender: str = "customer"
) -> dict[str, Any]:
    return event(
        event_id,
        customer_id,
        "chat.message",
        {"text": text, "sender": sender},
        at,
        conversation_id=f"conv-{customer_id}",
    )


def cart(event_id: str, customer_id: str, at: datetime, value: int = 39_000) -> dict[str, Any]:
    item = {"sku": "SKU-1", "name": "캐시미어 니트", "quantity": 1, "unit_price_krw": value}
    return event(
        event_id,
        customer_id,
        "cart.abandoned",
        {"cart_id": f"cart-{event_id}", "items": [item], "value_krw": value},
        at,
    )


def by_source(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(record["source_event_id"], []).append(record)
    return grouped


def replay_command(
    pipe: Pipeline, runs: Path, run_id: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """`engage-stream replay` of the pipeline's topics into `runs`, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGE_")}
    env |= {"ENGAGE_TOPICS_FILE": str(pipe.topics_file), "ENGAGE_DEVICE": "cpu"}
    return subprocess.run(
        [sys.executable, "-m", "engage_stream", "replay", "--run-id", run_id,
         "--runs-dir", str(runs), "--bootstrap", pipe.broker.bootstrap, *args],
        capture_output=True, text=True, env=env, timeout=300, check=False, cwd=REPO,
    )  # fmt: skip


def json_lines(path: Path) -> list[dict[str, Any]]:
    """A run folder's output file, one document per line (none when it was not written)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
