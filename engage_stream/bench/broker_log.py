"""Does a broker's cost per record grow with what a partition already holds?

`bench pipeline`'s long-history row differs from the short one by the records its topics
already hold when the timed events arrive (a customer's history is 40 times longer, and so
is every topic the worker reads and writes). This measures the broker alone, with nothing
of the worker in the way: one partition already holding `prior` records, stored in
batches of `batch` records, then `records` more produced one at a time (each awaited, as
a worker's small sends are) while a consumer reads them at the end of the log. Reported:
the broker process's CPU per record (user + system, from /proc) and the wall time.

Rows with the same `prior` count stored in many small batches and in a few large ones
tell whether a cost grows with the records a partition holds or with its batches.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from engage_stream.brokers import ApacheKafkaBroker, BrokerProcess, TansuBroker

BROKERS: dict[str, type[BrokerProcess]] = {"tansu": TansuBroker, "kafka": ApacheKafkaBroker}
VALUE = b"x" * 300
"""About an enriched record's size, without the cost of making one."""


@dataclass(frozen=True)
class Layout:
    """What the partition holds before the timed records: `prior` in batches of `batch`."""

    prior: int
    batch: int

    def __post_init__(self) -> None:
        if self.prior < 0 or self.batch < 1:
            raise ValueError(f"a layout needs prior >= 0 and batch >= 1, not {self}")

    @property
    def batches(self) -> int:
        return -(-self.prior // self.batch) if self.prior else 0


LAYOUTS = (Layout(0, 10), Layout(20_000, 2_000), Layout(20_000, 10))


@dataclass(frozen=True)
class GrowthRow:
    broker: str
    prior: int
    prior_batches: int
    records: int
    seconds: float
    broker_cpu_ms_per_record: float
    fetches: int


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(broker: BrokerProcess, name: str, layout: Layout, records: int) -> GrowthRow:
    """One row on a topic of its own, so that rows on one broker do not see each other."""
    return asyncio.run(_measure(broker, name, layout, records))


async def _measure(broker: BrokerProcess, name: str, layout: Layout, records: int) -> GrowthRow:
    topic = f"broker-log-{layout.prior}-{layout.batch}-{time.monotonic_ns()}"
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=0)
    await producer.start()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=5
    )
    await consumer.start()
    try:
        for start in range(0, layout.prior, layout.batch):
            count = min(layout.batch, layout.prior - start)
            sent = [await producer.send(topic, VALUE) for _ in range(count)]
            await asyncio.gather(*sent)  # one produce request, one stored batch
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek(partition, layout.prior)
        fetches = 0

        async def read() -> None:
            nonlocal fetches
            read = 0
            while read < records:
                for batch in (await consumer.getmany(partition, timeout_ms=1_000)).values():
                    read += len(batch)
                    fetches += 1

        cpu, started = cpu_seconds(broker.pid), time.perf_counter()
        reading = asyncio.create_task(read())
        for _ in range(records):
            await (await producer.send(topic, VALUE))
        await asyncio.wait_for(reading, timeout=120)
        seconds = time.perf_counter() - started
        used = cpu_seconds(broker.pid) - cpu
    finally:
        await consumer.stop()
        await producer.stop()
    return GrowthRow(
        broker=name,
        prior=layout.prior,
        prior_batches=layout.batches,
        records=records,
        seconds=round(seconds, 2),
        broker_cpu_ms_per_record=round(used * 1000 / records, 3),
        fetches=fetches,
    )


def run(
    brokers: Sequence[str],
    layouts: Sequence[Layout] = LAYOUTS,
    records: int = 2_000,
    rounds: int = 3,
    on_row: Callable[[GrowthRow], None] | None = None,
) -> list[GrowthRow]:
    """Every layout `rounds` times per broker, the layouts alternating within a round so
    that a noisy neighbour weighs on all of them alike; the report takes medians."""
    rows = []
    for name in brokers:
        with BROKERS[name]() as broker:
            for _ in range(rounds):
                for layout in layouts:
                    row = measure(broker, name, layout, records)
                    rows.append(row)
                    if on_row is not None:
                        on_row(row)
    return rows


def medians(rows: Sequence[GrowthRow]) -> list[GrowthRow]:
    """One row per broker and layout: the median round by broker CPU per record."""
    groups: dict[tuple[str, int, int], list[GrowthRow]] = {}
    for row in rows:
        groups.setdefault((row.broker, row.prior, row.prior_batches), []).append(row)
    chosen = []
    for group in groups.values():
        ordered = sorted(group, key=lambda r: r.broker_cpu_ms_per_record)
        chosen.append(ordered[(len(ordered) - 1) // 2])
    return chosen


def as_json(rows: Sequence[GrowthRow], machine: dict[str, object]) -> str:
    return json.dumps({"machine": machine, "rows": [asdict(r) for r in rows]}, indent=2)


def markdown(rows: Sequence[GrowthRow], machine: dict[str, object]) -> str:
    lines = [
        "# Broker cost per record against what a partition already holds",
        "",
        f"{machine['date']} · {machine['cpu']} · {machine['cores']} cores · `{machine['command']}`",
        "",
        "One partition holding `prior` records (in `batches` produce requests), then records "
        "produced one at a time, each awaited, while a consumer reads them at the end of the "
        "log. Medians over the rounds (broker CPU per record); `x empty` is against the "
        "same broker's empty partition.",
        "",
        "| broker | prior records | prior batches | records | broker CPU ms/record | x empty "
        "| seconds | fetches | rounds |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    rounds: dict[tuple[str, int, int], int] = {}
    for row in rows:
        key = (row.broker, row.prior, row.prior_batches)
        rounds[key] = rounds.get(key, 0) + 1
    chosen = medians(rows)
    for row in chosen:
        empty = next((r for r in chosen if r.broker == row.broker and r.prior == 0), None)
        ratio = (
            f"{row.broker_cpu_ms_per_record / empty.broker_cpu_ms_per_record:.2f}"
            if empty is not None and empty.broker_cpu_ms_per_record > 0
            else "-"
        )
        lines.append(
            f"| {row.broker} | {row.prior:,} | {row.prior_batches:,} | {row.records:,} "
            f"| {row.broker_cpu_ms_per_record:.3f} | {ratio} | {row.seconds:.2f} "
            f"| {row.fetches:,} | {rounds[(row.broker, row.prior, row.prior_batches)]} |"
        )
    spread = _spread(rows)
    if spread:
        lines += ["", spread]
    return "\n".join(lines) + "\n"


def _spread(rows: Sequence[GrowthRow]) -> str:
    """The rounds' range per row, so a reader sees how noisy the machine was."""
    groups: dict[tuple[str, int, int], list[float]] = {}
    for row in rows:
        groups.setdefault((row.broker, row.prior, row.prior_batches), []).append(
            row.broker_cpu_ms_per_record
        )
    parts = [
        f"{broker} {prior:,}/{batches:,}: {min(v):.2f}-{max(v):.2f} "
        f"(median {statistics.median(v):.2f})"
        for (broker, prior, batches), v in groups.items()
        if len(v) > 1
    ]
    return ("Range over the rounds, ms/record: " + "; ".join(parts) + ".") if parts else ""
