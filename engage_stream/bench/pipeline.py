"""The live pipeline end to end: sustained events/s and end-to-end latency, per broker.

A worker process (`engage-stream worker`, default settings) on a broker started here.
Phases, each on topics of its own:
- sustained: profiles, then N sample events produced as fast as possible; events/s is N
  over the time from the first event sent to the last enriched record written; once with
  the score cache on (the default) and once with `ENGAGE_SCORE_CACHE_SIZE=0`, each
  checked against the worker's own metrics (`engage_score_cache_size`, and no cache hits
  with the cache off), so a setting that did not reach the worker cannot pass unseen;
- paced: events at a fixed rate well under capacity; latency of each event from its
  Kafka record timestamp on `crm.events` to `processed_at` on its enriched record;
- history: the same number of customers with ~10 and with ~400 prior events each (sent
  and processed first, not timed), then the same number of timed events: an event's cost
  must not grow with the customer's history;
- held and pending: customers holding 20 offers each, coming due among the timed events
  (held) or held past them (pending), against the 10-event history row;
- passthrough: a two-stage Faust app doing nothing but forwarding (`passthrough`), on the
  same broker in the same run, as the anchor the worker's sustained rate is a share of.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from engage_stream.bench.stats import percentile
from engage_stream.brokers import ApacheKafkaBroker, BrokerProcess, TansuBroker
from engage_stream.brokers.process import free_ports
from engage_stream.config.settings import Settings
from engage_stream.harness.worker_process import Scrape, WorkerProcess
from engage_stream.kafka.admin import ensure_topics
from engage_stream.kafka.isolation import isolated_topics_file
from engage_stream.kafka.reader import read_to_end
from engage_stream.kafka.topics import TopicRole, TopicsFile, load_topics
from engage_stream.samples.generator import SampleConfig, SampleStream
from engage_stream.samples.publish import send_event, send_profiles
from engage_stream.schemas.events import CartAbandonedEvent, ChatMessageEvent, OrderDeliveredEvent

BROKERS: dict[str, type[BrokerProcess]] = {"tansu": TansuBroker, "kafka": ApacheKafkaBroker}


@dataclass(frozen=True)
class PhaseResult:
    broker: str
    phase: str
    score_cache: bool
    cache_hits: int
    """Customer texts scored from the cache, by the worker's metrics."""
    cache_misses: int
    events: int
    rate_asked: float | None
    seconds: float
    events_per_s: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    mean_batch: float
    handoffs: int
    messages: int
    suppressions: int
    dlq: int
    held_offers: int = 0
    """Offers the workers held when the timed events were through (`engage_held_offers`)."""


@dataclass(frozen=True)
class PassthroughResult:
    broker: str
    events: int
    seconds: float
    events_per_s: float


@dataclass(frozen=True)
class ReplayResult:
    broker: str
    precision: str
    score_cache: bool
    events: int
    seconds: float
    events_per_s: float
    live_events_per_s: float

    @property
    def ratio(self) -> float:
        return self.events_per_s / self.live_events_per_s if self.live_events_per_s else 0.0


ANCHOR_ROUNDS = 3
"""Passthrough and sustained rows, alternated, per broker."""
SCALED_WORKERS = 2
"""Worker processes in the scaled-out row: one per core here."""
HISTORY_CUSTOMERS = 100
HISTORIES = (10, 400)
HELD = 20
"""Carts per customer held in the state before the `held` row's timed events (the most a
customer holds); their reminders come due while the timed events are read."""


@dataclass
class Results:
    phases: list[PhaseResult]
    replays: list[ReplayResult]
    passthrough: list[PassthroughResult]


def run(
    brokers: list[str],
    events: int,
    paced_events: int,
    paced_rate: float,
    topics_source: Path,
    work_dir: Path,
    env: dict[str, str] | None = None,
    history_events: int = 5_000,
) -> Results:
    results: list[PhaseResult] = []
    replays: list[ReplayResult] = []
    anchors: list[PassthroughResult] = []
    for name in brokers:
        with BROKERS[name]() as broker:
            loop = (env or {}).get("ENGAGE_EVENT_LOOP", os.environ.get("ENGAGE_EVENT_LOOP", ""))
            # The anchor and the worker alternate, so that a noisy neighbour on a shared
            # machine weighs on both alike; the medians are compared.
            rounds = []
            for _ in range(ANCHOR_ROUNDS):
                anchors.append(_passthrough(name, broker, events, topics_source, work_dir, loop))
                rounds.append(
                    _phase(
                        name, broker, "sustained", events, None, topics_source, work_dir, env or {}
                    )
                )
            results += [row for row, _ in rounds]
            sustained, topics_file = sorted(rounds, key=lambda r: r[0].events_per_s)[
                len(rounds) // 2
            ]
            scaled, _ = _phase(
                name,
                broker,
                f"sustained, {SCALED_WORKERS} workers",
                events,
                None,
                topics_source,
                work_dir,
                env or {},
                workers=SCALED_WORKERS,
            )
            results.append(scaled)
            uncached, _ = _phase(
                name,
                broker,
                "sustained",
                events,
                None,
                topics_source,
                work_dir,
                {**(env or {}), "ENGAGE_SCORE_CACHE_SIZE": "0"},
            )
            results.append(uncached)
            for precision, cache in (("fp32", True), ("int8", True), ("fp32", False)):
                replays.append(
                    _replay(name, broker, topics_file, precision, cache, sustained, work_dir)
                )
            paced, _ = _phase(
                name, broker, "paced", paced_events, paced_rate, topics_source, work_dir, env or {}
            )
            results.append(paced)
            # Customers with a short and a long history, then ones holding offers.
            priors: list[tuple[str, int, Callable[[int, int], list[Any]] | None]] = [
                (f"history {prior}", prior * HISTORY_CUSTOMERS, None) for prior in HISTORIES
            ]
            priors.append((f"held {HELD}", HELD * HISTORY_CUSTOMERS, _held_carts))
            priors.append((f"pending {HELD}", HELD * HISTORY_CUSTOMERS, _pending_reviews))
            for phase, warm_up, prior_events in priors:
                row, _ = _phase(
                    name,
                    broker,
                    phase,
                    history_events,
                    None,
                    topics_source,
                    work_dir,
                    env or {},
                    customers=HISTORY_CUSTOMERS,
                    warm_up=warm_up,
                    prior=prior_events,
                )
                results.append(row)
    return Results(results, replays, anchors)


def _passthrough(
    name: str,
    broker: BrokerProcess,
    count: int,
    topics_source: Path,
    work_dir: Path,
    loop: str = "",
) -> PassthroughResult:
    """The anchor: the sample events through `passthrough`, timed like the sustained phase
    once a first event has come out (the app is in its group), on the worker's event loop."""
    topics_file = isolated_topics_file(topics_source, work_dir)
    topics = load_topics(topics_file)
    connection: dict[str, Any] = {"bootstrap_servers": [broker.bootstrap]}
    ensure_topics(connection, topics)
    source, middle, sink = (
        topics.name(role) for role in (TopicRole.EVENTS, TopicRole.SCORED, TopicRole.ENRICHED)
    )
    command = [
        sys.executable, "-m", "engage_stream.bench.passthrough",
        broker.bootstrap, f"bench-{topics_file.stem}", source, middle, sink,
        loop or Settings.model_fields["event_loop"].default,
    ]  # fmt: skip
    log = (work_dir / f"{topics_file.stem}-passthrough.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        sample = list(SampleStream(SampleConfig(customers=500, seed=11)).events(count + 1))
        producer = KafkaProducer(**connection, acks="all", linger_ms=5)
        passed, sent = _Counter(connection, sink), _Counter(connection, source)
        _send(producer, topics, sample[:1], None)
        passed.until(1, process, timeout_s=180)
        started_ms = time.time() * 1000
        _send(producer, topics, sample[1:], None)
        sent.until(count + 1, process, timeout_s=120)
        passed.until(count + 1, process, timeout_s=600)
        # To the last record's timestamp (the app's send), as the worker's to its last
        # `processed_at`.
        seconds = (passed.last_ms - started_ms) / 1000
        producer.close()
        passed.close()
        sent.close()
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()
    return PassthroughResult(name, count, round(seconds, 2), round(count / seconds, 1))


class _Counter:
    """Records of a topic counted by reading them: Tansu's end offsets lag behind the
    records of the last batch, so only the records themselves are proof."""

    def __init__(self, connection: dict[str, Any], topic: str) -> None:
        self.consumer = KafkaConsumer(
            **connection, enable_auto_commit=False, group_id=None, auto_offset_reset="earliest"
        )
        deadline = time.monotonic() + 60
        while not (ids := self.consumer.partitions_for_topic(topic)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{topic}: no partitions")
            time.sleep(0.1)
        self.consumer.assign([TopicPartition(topic, p) for p in sorted(ids)])
        self.consumer.seek_to_beginning()
        self.topic = topic
        self.seen = 0
        self.last_ms = 0.0
        """The latest record timestamp read (epoch ms)."""

    def until(self, count: int, process: subprocess.Popen[bytes], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.seen < count:
            if process.poll() is not None:
                raise RuntimeError(f"the passthrough app stopped (exit {process.returncode})")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.topic}: {self.seen} of {count} records after {timeout_s:.0f} s"
                )
            polled = self.consumer.poll(timeout_ms=100, max_records=10_000)
            for records in polled.values():
                self.seen += len(records)
                self.last_ms = max([self.last_ms, *(record.timestamp for record in records)])

    def close(self) -> None:
        self.consumer.close()


def _replay(
    name: str,
    broker: BrokerProcess,
    topics_file: Path,
    precision: str,
    cache: bool,
    live: PhaseResult,
    work_dir: Path,
) -> ReplayResult:
    """`engage-stream replay` of the sustained phase's whole topic, to files, as users run it."""
    suffix = "" if cache else "-nocache"
    run_id = f"bench-{topics_file.stem.removeprefix('topics-')}-{precision}{suffix}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGE_")}
    env["ENGAGE_TOPICS_FILE"] = str(topics_file)
    if not cache:
        env["ENGAGE_SCORE_CACHE_SIZE"] = "0"
    command = [
        sys.executable, "-m", "engage_stream", "replay", "--run-id", run_id,
        "--runs-dir", str(work_dir / "runs"), "--bootstrap", broker.bootstrap,
        "--precision", precision,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"replay failed: {done.stderr[-2000:]}")
    manifest = json.loads((work_dir / "runs" / run_id / "run.json").read_text(encoding="utf-8"))
    return ReplayResult(
        broker=name,
        precision=precision,
        score_cache=cache,
        events=int(manifest["events"]),
        seconds=float(manifest["seconds"]),
        events_per_s=float(manifest["events_per_s"]),
        live_events_per_s=live.events_per_s,
    )


def _phase(
    name: str,
    broker: BrokerProcess,
    phase: str,
    count: int,
    rate: float | None,
    topics_source: Path,
    work_dir: Path,
    env: dict[str, str],
    customers: int = 500,
    warm_up: int = 0,
    prior: Callable[[int, int], list[Any]] | None = None,
    workers: int = 1,
) -> tuple[PhaseResult, Path]:
    """`warm_up` prior events (`prior`, by default `_history`) are sent and processed before
    the `count` timed ones; the row's counts are those of the timed events alone.
    `workers`: worker processes in one group, as a machine with more cores runs them."""
    topics_file = isolated_topics_file(topics_source, work_dir)
    topics = load_topics(topics_file)
    connection: dict[str, Any] = {"bootstrap_servers": [broker.bootstrap]}
    ensure_topics(connection, topics)
    group = [
        WorkerProcess.on(
            broker.bootstrap,
            topics_file,
            f"bench-{topics_file.stem}",
            port,
            log_file=work_dir / f"{topics_file.stem}-{index}.log",
            ENGAGE_LOG_LEVEL="WARNING",
            **env,
        )
        for index, port in enumerate(free_ports(workers))
    ]
    stream = SampleStream(SampleConfig(customers=customers, seed=11))
    enriched = topics.name(TopicRole.ENRICHED)
    with contextlib.ExitStack() as running:
        for worker in group:
            running.enter_context(worker)
        for worker in group:  # the group settled: every member ready after the rebalance
            worker.wait_ready(timeout_s=120)
        producer = KafkaProducer(**connection, acks="all", linger_ms=5)
        send_profiles(producer, topics.name(TopicRole.CUSTOMERS), stream.profiles)
        producer.flush()
        sample = list(stream.events(count))
        before = Scrape([])
        priors = (prior or _history)(customers, warm_up) if warm_up else []
        if priors:
            _send(producer, topics, priors, None)
            _until(group, enriched, len(priors))
            before = _scrape(group)
        started_ms = time.time() * 1000
        sender = threading.Thread(target=_send, args=(producer, topics, sample, rate))
        sender.start()
        _until(group, enriched, len(priors) + count)
        sender.join()
        producer.close()
        after = _scrape(group)
        cache = all(_cache_in_force(worker.scrape(), env) for worker in group)
    latencies, last_ms = _latencies(connection, topics, since_ms=started_ms if warm_up else 0)
    # Timed to the last enriched record's `processed_at`, not to when `_until` saw it: the
    # poll can then be slow (each read of /metrics costs the worker what it measures).
    seconds = (last_ms - started_ms) / 1000

    def total(name: str, **labels: str) -> float:
        return after.total(name, **labels) - before.total(name, **labels)

    batches = total("engage_batch_size_count")

    result = PhaseResult(
        broker=name,
        phase=phase,
        score_cache=cache,
        cache_hits=int(total("engage_score_cache_texts_total", result="hit")),
        cache_misses=int(total("engage_score_cache_texts_total", result="miss")),
        events=count,
        rate_asked=rate,
        seconds=round(seconds, 2),
        events_per_s=round(count / seconds, 1),
        latency_p50_ms=round(percentile(latencies, 50), 1),
        latency_p95_ms=round(percentile(latencies, 95), 1),
        latency_p99_ms=round(percentile(latencies, 99), 1),
        mean_batch=round(total("engage_batch_size_sum") / batches, 1) if batches else 0,
        handoffs=int(total("engage_actions_total", kind="handoff")),
        messages=int(total("engage_actions_total", kind="next_best_action")),
        suppressions=int(total("engage_suppressions_total")),
        dlq=int(total("engage_dlq_total")),
        held_offers=int(after.total("engage_held_offers")),
    )
    return result, topics_file


def _history(customers: int, events: int) -> list[Any]:
    """Prior events for the same customers, from another seed and a month earlier, so
    that every history row times the very same events after it; then, a week after the
    last of them, one thank-you chat per customer. Those move every partition's stream
    time past what the history holds (its carts' reminders), so those offers are released
    and their caps' windows have passed before the timed events: the timed events then
    make the same decisions after a short or a long history, and the row measures what
    the history itself costs (without the chats, the 400-event row released the history's
    carts among the timed events and sent 3x the messages, 77x the suppressions)."""
    start = SampleConfig().start - timedelta(days=30)
    stream = SampleStream(SampleConfig(customers=customers, seed=12, start=start))
    prior = list(stream.events(events))
    settled = max(e.occurred_at for e in prior) + SETTLE_AFTER
    return prior + [
        ChatMessageEvent.model_validate(
            {
                "event_id": f"settle-{index}",
                "event_type": "chat.message",
                "occurred_at": settled.isoformat(),
                "customer_id": profile.customer_id,
                "source": "kakao",
                "conversation_id": f"settle-{index}",
                "payload": {"text": "네 감사합니다, 잘 받았어요", "sender": "customer"},
            }
        )
        for index, profile in enumerate(stream.profiles)
    ]


SETTLE_AFTER = timedelta(days=7)
"""From the last prior event to the settling chats: longer than a cart's or a review's
delay. The timed events come about three weeks after them, past every cap's window."""


def _held_carts(customers: int, events: int) -> list[Any]:
    """`events` carts over the sample's customers in the hour before its start: held when
    read, their reminders due while the timed events move stream time past them."""
    profiles = SampleStream(SampleConfig(customers=customers, seed=11)).profiles
    start = SampleConfig().start - timedelta(hours=1)
    step = timedelta(hours=1) / max(1, events)
    carts = []
    for index in range(events):
        customer = profiles[index % len(profiles)].customer_id
        item = {"sku": f"SKU-HELD-{index % 7}", "name": "울 머플러", "quantity": 1}
        carts.append(
            CartAbandonedEvent.model_validate(
                {
                    "event_id": f"held-{index}",
                    "event_type": "cart.abandoned",
                    "occurred_at": (start + step * index).isoformat(),
                    "customer_id": customer,
                    "source": "web",
                    "payload": {
                        "cart_id": f"held-cart-{index}",
                        "items": [{**item, "unit_price_krw": 29_000}],
                        "value_krw": 29_000,
                    },
                }
            )
        )
    return carts


def _pending_reviews(customers: int, events: int) -> list[Any]:
    """`events` deliveries over the sample's customers in the hour before its start: each
    holds a review request for its 72 hours, longer than the timed events span, so every
    customer carries that many pending offers through them and none comes due among them
    (the row measures what pending state costs, not what releasing it does)."""
    profiles = SampleStream(SampleConfig(customers=customers, seed=11)).profiles
    start = SampleConfig().start - timedelta(hours=1)
    step = timedelta(hours=1) / max(1, events)
    return [
        OrderDeliveredEvent.model_validate(
            {
                "event_id": f"pending-{index}",
                "event_type": "order.delivered",
                "occurred_at": (start + step * index).isoformat(),
                "customer_id": profiles[index % len(profiles)].customer_id,
                "source": "web",
                "payload": {"order_id": f"ORD-PENDING-{index:05d}", "carrier": "CJ대한통운"},
            }
        )
        for index in range(events)
    ]


UNTIL_POLL_S = 0.5


def _scrape(group: list[WorkerProcess]) -> Scrape:
    """The group's metrics as one scrape: counters add up over its workers."""
    return Scrape([sample for worker in group for sample in worker.scrape().samples])


def _until(group: list[WorkerProcess], enriched: str, count: int, timeout_s: float = 900) -> None:
    deadline = time.monotonic() + timeout_s
    while (done := _scrape(group).total("engage_events_out_total", topic=enriched)) < count:
        for worker in group:
            if not worker.running():
                raise RuntimeError(f"worker stopped; see {worker.log_file}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{done:.0f} of {count} events enriched after {timeout_s:.0f} s")
        time.sleep(UNTIL_POLL_S)


def _cache_in_force(metrics: Scrape, env: dict[str, str]) -> bool:
    """Whether the worker ran with its score cache, proven by its own metrics. Hits are
    not proof against: a text repeated inside one batch is scored once, cache or not."""
    wanted = int(
        env.get("ENGAGE_SCORE_CACHE_SIZE", Settings.model_fields["score_cache_size"].default)
    )
    served = metrics.total("engage_score_cache_size")
    if served != wanted:
        raise RuntimeError(
            f"the worker ran with a score cache of {served:g} texts; the benchmark asked for "
            f"{wanted}"
        )
    return wanted > 0


def _send(
    producer: KafkaProducer, topics: TopicsFile, events: list[Any], rate: float | None
) -> None:
    start = time.monotonic()
    name = topics.name(TopicRole.EVENTS)
    for index, event in enumerate(events):
        if rate:
            due = start + index / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        send_event(producer, name, event)
    producer.flush()


def _latencies(
    connection: dict[str, Any], topics: TopicsFile, since_ms: float = 0
) -> tuple[list[float], float]:
    """Per enriched record of the events sent from `since_ms` (the timed ones) on, and the
    last of their `processed_at` (epoch ms)."""
    sent = {
        (r.partition, r.offset): r.timestamp
        for r in read_to_end(connection, topics.name(TopicRole.EVENTS))
        if r.timestamp >= since_ms
    }
    latencies = []
    last = 0.0
    for record in read_to_end(connection, topics.name(TopicRole.ENRICHED)):
        value = json.loads(record.value)
        source = value["source"]
        at = sent.get((source["partition"], source["offset"]))
        if at is not None:
            processed = datetime.fromisoformat(value["processed_at"]).timestamp() * 1000
            latencies.append(processed - at)
            last = max(last, processed)
    return latencies, last


def markdown(run: Results, machine: dict[str, object]) -> str:
    results, replays = run.phases, run.replays
    lines = [
        "# Live pipeline: events/s and end-to-end latency",
        "",
        f"{machine['date']} · {machine['cpu']} · {machine['cores']} cores · `{machine['command']}`",
        "",
        "| broker | phase | score cache (hits / misses) | events | asked rate | events/s "
        "| p50 ms | p95 ms | p99 ms | mean batch | handoffs | messages | suppressed |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        asked = f"{r.rate_asked:g}/s" if r.rate_asked else "max"
        cache = f"{'on' if r.score_cache else 'off'} ({r.cache_hits:,} / {r.cache_misses:,})"
        lines.append(
            f"| {r.broker} | {r.phase} | {cache} | {r.events:,} | {asked} "
            f"| {r.events_per_s:,.0f} | {r.latency_p50_ms:,.0f} | {r.latency_p95_ms:,.0f} "
            f"| {r.latency_p99_ms:,.0f} | {r.mean_batch} | {r.handoffs} | {r.messages} "
            f"| {r.suppressions} |"
        )
    sustained = [r.events_per_s for r in results if r.phase == "sustained" and r.score_cache]
    uncached = [r.events_per_s for r in results if r.phase == "sustained" and not r.score_cache]
    lines += _anchor_lines(run)
    lines += _history_lines(results)
    if replays:
        lines += [
            "",
            "## Replay of the sustained phase's events (`engage-stream replay`, to files)",
            "",
            "| broker | precision | score cache | events | seconds | events/s | live events/s "
            "| replay / live |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for replay in replays:
            lines.append(
                f"| {replay.broker} | {replay.precision} | {'on' if replay.score_cache else 'off'} "
                f"| {replay.events:,} | {replay.seconds} "
                f"| {replay.events_per_s:,.0f} | {replay.live_events_per_s:,.0f} "
                f"| {replay.ratio:.2f}x |"
            )
    lines += [
        "",
        "One worker process (default settings: CPU int8 models, batches of up to 32 within 10"
        " ms, score cache on, uvloop), the broker and the load generator on the same machine,"
        f" except the `{SCALED_WORKERS} workers` rows. "
        "Sustained: events produced as fast as possible, events/s from the first send to the "
        "last enriched record's `processed_at`. Latency: Kafka record timestamp of the event "
        "to `processed_at` of its enriched record (sustained rows include queueing behind "
        "the backlog; the paced rows are the latency under a load the worker keeps up with).",
        "",
        f"Median sustained rate over brokers: {statistics.median(sustained):,.0f} events/s "
        f"with the score cache, {statistics.median(uncached):,.0f} without "
        f"({statistics.median(sustained) / statistics.median(uncached):.2f}x)."
        if sustained and uncached
        else "",
        "",
        "The score cache keeps model scores per exact customer text. The sample stream repeats "
        "texts more than most real streams (about 80 % of its customer texts are repeats), so "
        "the rows with the cache off show the cost when every text is new.",
        "",
    ]
    return "\n".join(lines)


def _anchor_lines(run: Results) -> list[str]:
    if not run.passthrough:
        return []
    lines = [
        "",
        f"## Against a two-stage Faust passthrough (same broker, same run, {ANCHOR_ROUNDS} "
        "rounds alternated)",
        "",
        "| broker | round | passthrough events/s | worker sustained events/s (cache on) | "
        "worker / passthrough |",
        "| --- | --- | --- | --- | --- |",
    ]
    shares = []
    for broker in dict.fromkeys(anchor.broker for anchor in run.passthrough):
        anchors = [a.events_per_s for a in run.passthrough if a.broker == broker]
        live = [
            r.events_per_s
            for r in run.phases
            if r.broker == broker and r.phase == "sustained" and r.score_cache
        ]
        for index, (anchor, worker) in enumerate(zip(anchors, live, strict=False), start=1):
            share = worker / anchor if anchor else 0.0
            lines.append(f"| {broker} | {index} | {anchor:,.0f} | {worker:,.0f} | {share:.0%} |")
        median_anchor, median_live = statistics.median(anchors), statistics.median(live)
        share = median_live / median_anchor if median_anchor else 0.0
        shares.append(share)
        lines.append(
            f"| {broker} | median | {median_anchor:,.0f} | {median_live:,.0f} | **{share:.0%}** |"
        )
    lines += ["", f"Median share over brokers: {statistics.median(shares):.0%}."]
    scaled = [r for r in run.phases if r.phase == f"sustained, {SCALED_WORKERS} workers"]
    for row in scaled:
        one = [
            r.events_per_s
            for r in run.phases
            if r.broker == row.broker and r.phase == "sustained" and r.score_cache
        ]
        lines.append(
            f"{row.broker}: {SCALED_WORKERS} worker processes in one group reach "
            f"{row.events_per_s:,.0f} events/s, {row.events_per_s / statistics.median(one):.2f}x "
            "the median of one."
        )
    return lines


def _history_lines(results: list[PhaseResult]) -> list[str]:
    rows = [r for r in results if r.phase.startswith("history ")]
    if not rows:
        return []
    lines = [
        "",
        f"## Customers with short and long histories ({HISTORY_CUSTOMERS} customers, prior "
        "events sent and processed first, then the timed events)",
        "",
        "| broker | prior events per customer | events/s | p50 ms | long / short |",
        "| --- | --- | --- | --- | --- |",
    ]
    ratios = []
    for broker in dict.fromkeys(r.broker for r in rows):
        short, long = (
            next(r for r in rows if r.broker == broker and r.phase == f"history {n}")
            for n in HISTORIES
        )
        ratio = long.events_per_s / short.events_per_s if short.events_per_s else 0.0
        ratios.append(ratio)
        for row, shown in ((short, ""), (long, f"{ratio:.2f}")):
            prior = row.phase.removeprefix("history ")
            lines.append(
                f"| {broker} | {prior} | {row.events_per_s:,.0f} | {row.latency_p50_ms:,.0f} "
                f"| {shown} |"
            )
    lines += ["", f"Median long / short: {statistics.median(ratios):.2f}."]
    held = [r for r in results if r.phase in (f"held {HELD}", f"pending {HELD}")]
    if held:
        lines += [
            "",
            f"Customers holding offers, against the 10-event history row. `held {HELD}`: "
            f"{HELD} carts per customer read just before the timed events, their reminders "
            f"coming due among them (a release for about every timed event). `pending {HELD}`: "
            f"{HELD} deliveries per customer, their review requests held for 72 hours, past "
            "every timed event (pending state carried, nothing released). Held at the end: "
            "the workers' `engage_held_offers`.",
            "",
            "| broker | phase | events/s | p50 ms | / history 10 | messages | suppressed "
            "| held at the end |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for row in held:
            base = next(r for r in rows if r.broker == row.broker and r.phase == "history 10")
            ratio = row.events_per_s / base.events_per_s if base.events_per_s else 0.0
            lines.append(
                f"| {row.broker} | {row.phase} | {row.events_per_s:,.0f} | "
                f"{row.latency_p50_ms:,.0f} | {ratio:.2f} | {row.messages:,} | "
                f"{row.suppressions:,} | {row.held_offers:,} |"
            )
    return lines


def as_json(run: Results, machine: dict[str, object]) -> str:
    return json.dumps(
        {
            "machine": machine,
            "results": [asdict(r) for r in run.phases],
            "replays": [asdict(r) | {"ratio": round(r.ratio, 2)} for r in run.replays],
            "passthrough": [asdict(r) for r in run.passthrough],
        },
        indent=2,
        ensure_ascii=False,
    )
