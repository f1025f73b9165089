"""`engage_consumer_lag`: per input partition, records not yet through the stage reading it;
and `consumer_state` (SIGUSR2), where each partition's reading and committing stand."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP
from prometheus_client.parser import text_string_to_metric_families

from engage_stream.brokers import TansuBroker
from engage_stream.harness.worker_process import WorkerProcess
from engage_stream.kafka.topics import TopicRole
from engage_stream.observability.metrics import PipelineMetrics
from engage_stream.samples.generator import SampleConfig, SampleStream
from engage_stream.worker.app import WorkerApp
from tests.worker.pipeline import Pipeline

pytestmark = pytest.mark.broker


def test_lag_rises_with_a_backlog_and_falls_to_zero_when_it_is_done(
    tansu: TansuBroker, tmp_path: Path
) -> None:
    pipe = Pipeline(tansu, tmp_path)
    stream = SampleStream(SampleConfig(customers=80, seed=3))
    events = list(stream.events(2_500))
    pipe.send_samples(stream.profiles, events)  # a backlog before the worker starts
    pipe.send(TopicRole.EVENTS, b"{not json", b"C-BAD")  # the last record is a dead letter
    pipe.flush()
    inputs = [pipe.name(role) for role in (TopicRole.EVENTS, TopicRole.SCORED)]
    partitions = pipe.topics.topics[TopicRole.EVENTS].partitions
    highest = 0.0
    with pipe.worker() as worker:
        deadline = time.monotonic() + 300
        while True:
            scrape = worker.scrape()
            lag = {
                (found["topic"], found["partition"]): value
                for name, found, value in scrape.samples
                if name == "engage_consumer_lag"
            }
            highest = max(highest, sum(lag.values()))
            done = scrape.total("engage_events_out_total", topic=pipe.name(TopicRole.ENRICHED))
            measured = {topic for topic, _ in lag}
            if done >= len(events) and set(inputs) <= measured and sum(lag.values()) == 0:
                break
            assert time.monotonic() < deadline, f"lag {lag} after {done} enriched"
            time.sleep(0.2)
        for topic in inputs:  # both stages' inputs, every partition
            assert sum(1 for t, _ in lag if t == topic) == partitions
            assert scrape.total("engage_consumer_lag", topic=topic) == 0
        states = _committed_to_the_end(worker, inputs)
        assert worker.ready(), "SIGUSR2 logs the state; it does not stop the worker"
    assert highest > 0
    for topic in inputs:
        for partition in range(partitions):
            state = states[(topic, partition)]
            assert state["handed_over"] == state["highwater"] - 1
            assert state["first_unconfirmed"] is None
            assert state["expected"] == state["highwater"]
    pipe.close()


def _committed_to_the_end(
    worker: WorkerProcess, topics: list[str]
) -> dict[tuple[str, int], dict[str, Any]]:
    """Each partition's `consumer_state` (SIGUSR2) once every one of `topics` is committed
    to its end (the commit follows the last record within a second or two)."""
    deadline = time.monotonic() + 60
    while True:
        states = {(s["topic"], s["partition"]): s for s in worker.consumer_state()}
        mine = [s for (topic, _), s in states.items() if topic in topics]
        if mine and all(s["committed"] == s["highwater"] for s in mine):
            return states
        assert time.monotonic() < deadline, f"not committed to the end: {mine}"
        time.sleep(0.5)


async def test_a_partition_taken_while_its_position_was_asked_leaves_no_lag_behind() -> None:
    """Found by `bench chaos`: a worker reported a partition's lag (123) long after a
    rebalance had given the partition to another worker, which reported it too."""
    events, scored = TP("crm.events", 3), TP("engage.scored", 3)
    assigned = {events, scored}
    metrics = PipelineMetrics()

    class Consumer:
        def assignment(self) -> set[TP]:
            return set(assigned)

        def highwater(self, tp: TP) -> int:
            return 200

        async def position(self, tp: TP) -> int:
            if tp == events:
                assigned.discard(events)  # revoked meanwhile: its series removed
                metrics.lag_gone(tp.topic, tp.partition)
            return 77

    worker: Any = SimpleNamespace(
        app=SimpleNamespace(consumer=Consumer()),
        _inputs={events.topic, scored.topic},
        _done={},
        metrics=metrics,
    )
    await WorkerApp.measure_lag(worker)
    body, _ = metrics.render()
    lags = {
        (s.labels["topic"], s.labels["partition"]): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == "engage_consumer_lag"
    }
    assert lags == {("engage.scored", "3"): 123.0}
