"""A worker whose process was frozen past its session timeout (a zombie once woken): nothing
it made before the freeze leaves until the group shows whether it was evicted; evicted, it
exits without sending; not evicted, it goes on. It never waits for a rebalance that itself
waits for the worker."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from engage_stream.kafka.topics import TopicRole
from engage_stream.observability.metrics import PipelineMetrics
from engage_stream.step.outputs import Output
from engage_stream.worker.freezes import Freezes, Wake
from engage_stream.worker.sending import Sender
from engage_stream.worker.transport import hear_heartbeats, hold_sends

TIMEOUT_S = 10.0


class EvictedError(Exception):
    """Stands for the exit in tests."""


class Group:
    """A clock the test moves, and whether the group is moving partitions."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.rebalancing = False
        self.evicted: list[Wake] = []

    def clock(self) -> float:
        return self.now

    def exit(self, wake: Wake) -> None:
        self.evicted.append(wake)
        raise EvictedError


def watched(group: Group) -> Freezes:
    freezes = Freezes(TIMEOUT_S, lambda: group.rebalancing, group.exit, clock=group.clock)
    freezes.start_watching()
    return freezes


def frozen(group: Group, freezes: Freezes, seconds: float) -> None:
    freezes.tick()
    group.now += seconds


async def woken_and_held(group: Group) -> tuple[Freezes, asyncio.Future[None]]:
    """A worker frozen 13 s past a 10 s timeout, and a caller held since it woke."""
    freezes = watched(group)
    frozen(group, freezes, TIMEOUT_S + 3)
    held = asyncio.ensure_future(freezes.hold())
    await asyncio.sleep(0.6)
    assert not held.done()  # nothing moved yet: it waits
    return freezes, held


async def test_a_worker_that_was_not_frozen_goes_on_at_once() -> None:
    group = Group()
    freezes = watched(group)
    frozen(group, freezes, TIMEOUT_S - 1)

    await asyncio.wait_for(freezes.hold(), timeout=1)

    assert freezes.woke is None


async def test_a_gap_before_the_worker_is_up_is_not_a_freeze() -> None:
    """Model loading and the first recovery block the loop; nothing was made before them."""
    group = Group()
    freezes = Freezes(TIMEOUT_S, lambda: True, group.exit, clock=group.clock)
    frozen(group, freezes, 3 * TIMEOUT_S)

    await asyncio.wait_for(freezes.hold(), timeout=1)

    assert group.evicted == []


async def test_the_time_before_the_first_tick_is_no_freeze() -> None:
    """Faust starts the timers only after the first recovery: 20 s of start-up before the
    worker's first tick once it is up (found by `bench chaos`: a joining worker exited)."""
    group = Group()
    freezes = Freezes(TIMEOUT_S, lambda: True, group.exit, clock=group.clock)
    group.now += 2 * TIMEOUT_S
    freezes.start_watching()
    group.now += 0.25

    await asyncio.wait_for(freezes.hold(), timeout=1)

    assert group.evicted == []


async def test_a_woken_zombie_exits_once_the_rebalance_begins_not_when_it_ends() -> None:
    group = Group()
    _, held = await woken_and_held(group)

    group.rebalancing = True  # and stays so: the rebalance waits for this worker's records
    with pytest.raises(EvictedError):
        await asyncio.wait_for(held, timeout=2)

    assert [round(w.frozen_s) for w in group.evicted] == [13]


async def test_a_rebalance_that_began_and_ended_between_two_looks_still_counts() -> None:
    group = Group()
    freezes, held = await woken_and_held(group)

    freezes.moved()  # partitions revoked and assigned again; `rebalancing` is False again
    with pytest.raises(EvictedError):
        await asyncio.wait_for(held, timeout=2)


async def test_a_worker_frozen_but_not_evicted_goes_on_once_a_heartbeat_is_accepted() -> None:
    """The broker stalled with it: the group still counts it in, and nothing is lost."""
    group = Group()
    freezes, held = await woken_and_held(group)

    group.now += 0.5
    freezes.heard(group.now)  # a heartbeat sent after the wake, accepted
    await asyncio.wait_for(held, timeout=2)

    assert group.evicted == []
    assert freezes.woke is None
    await asyncio.wait_for(freezes.hold(), timeout=1)  # the next caller passes at once


async def test_time_alone_releases_nothing_while_the_broker_cannot_be_reached() -> None:
    """Found by `bench chaos`: woken while the broker was down, a worker heard neither a
    rebalance nor a heartbeat, went on after twice the session timeout, and its held
    writes landed after the new owner's."""
    group = Group()
    _, held = await woken_and_held(group)

    group.now += 10 * TIMEOUT_S
    await asyncio.sleep(0.6)
    assert not held.done()

    group.rebalancing = True  # the broker back: the group had moved on without it
    with pytest.raises(EvictedError):
        await asyncio.wait_for(held, timeout=2)


async def test_a_heartbeat_sent_before_the_freeze_and_answered_after_it_proves_nothing() -> None:
    group = Group()
    sent_before = group.now
    freezes, held = await woken_and_held(group)

    freezes.heard(sent_before)
    await asyncio.sleep(0.6)

    assert not held.done()
    held.cancel()


async def test_the_first_caller_after_the_freeze_notices_it_before_the_loops_tick() -> None:
    """The client's sender can run before the worker's own tick: `hold` looks itself."""
    group = Group()
    freezes = watched(group)
    frozen(group, freezes, TIMEOUT_S + 3)
    group.rebalancing = True

    with pytest.raises(EvictedError):
        await asyncio.wait_for(freezes.hold(), timeout=1)


async def test_the_worker_sender_hands_nothing_over_while_held() -> None:
    produced: list[str] = []
    released = asyncio.Event()

    async def held() -> None:
        await released.wait()

    async def produce(topic: str, key: Any, value: Any, partition: Any) -> asyncio.Future[Any]:
        produced.append(topic)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    sender = Sender(
        {TopicRole.ENRICHED: "engage.enriched"},
        produce,
        PipelineMetrics(),
        hold=held,
    )
    sender.send(Output(TopicRole.ENRICHED, b"C1", b"{}"), ("engage.scored", 0), 5)
    sender.changelog("state-changelog", b"C1\x1fsent", b"[]", 0, ("engage.scored", 0), 5)
    flushing = asyncio.ensure_future(sender.flush())
    await asyncio.sleep(0.1)
    assert produced == []

    released.set()
    await asyncio.wait_for(flushing, timeout=1)

    assert produced == ["engage.enriched", "state-changelog"]


async def test_the_kafka_clients_own_sender_waits_before_each_round_and_each_request() -> None:
    """Batches the client held from before the freeze are where the stale write came from."""
    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:9")  # never started
    waited: list[str] = []

    async def hold() -> None:
        waited.append("hold")
        raise EvictedError

    hold_sends(producer, hold)
    sender: Any = producer._sender

    with pytest.raises(EvictedError):
        await sender._maybe_wait_for_pid()
    with pytest.raises(EvictedError):
        await sender._send_produce_req(1, {})

    assert waited == ["hold", "hold"]


async def test_the_consumers_accepted_heartbeats_are_heard_by_when_they_were_sent() -> None:
    heard: list[float] = []
    answers = iter([False, True])

    async def beat() -> bool:
        return next(answers)

    coordinator: Any = SimpleNamespace(_do_heartbeat=beat)
    hear_heartbeats(coordinator, heard.append)

    assert await coordinator._do_heartbeat() is False
    assert heard == []
    before = time.monotonic()
    assert await coordinator._do_heartbeat() is True
    assert len(heard) == 1
    assert before <= heard[0] <= time.monotonic()
