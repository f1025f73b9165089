"""The stateful stage after its process was frozen past the session timeout (a zombie):
it leaves the record it holds once the group starts moving partitions, and never waits
for a rebalance that itself waits for that record."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

from engage_stream.ingest.records import RawRecord
from engage_stream.worker.app import WorkerApp
from engage_stream.worker.transport import Consumer

SESSION_TIMEOUT_S = 0.5
RECORD = RawRecord(
    topic="engage.scored", partition=2, offset=609, timestamp_ms=None, key=b"C1", value=b"{}"
)


def _frozen_worker(session_timeout_s: float = SESSION_TIMEOUT_S) -> Any:
    """The parts of a worker `_still_ours` reads, just woken from a freeze."""
    flow = SimpleNamespace(active=True)
    flow.is_active = lambda: flow.active
    worker: Any = SimpleNamespace(
        _started=True,
        _alive=time.monotonic() - 3 * session_timeout_s,
        _frozen=False,
        _moves=0,
        runtime=SimpleNamespace(settings=SimpleNamespace(session_timeout_s=session_timeout_s)),
        app=SimpleNamespace(rebalancing=False, flow_control=flow, consumer_generation_id=0),
    )
    consumer: Any = SimpleNamespace(app=worker.app, sought_generation=0)
    consumer.streams_open = lambda: Consumer.streams_open(consumer)
    worker.app.consumer = consumer
    worker._rebalanced_since = lambda moves: WorkerApp._rebalanced_since(worker, moves)
    return worker


async def test_a_woken_zombie_leaves_its_record_once_the_rebalance_begins() -> None:
    """Faust's revocation waits for the record the stage holds before it signals anything:
    the stage must let go as soon as the rebalance is marked, not when it ends."""
    # A session timeout far past the wait below: let go by then, it did not wait it out.
    worker = _frozen_worker(session_timeout_s=60)

    async def evicted() -> None:
        await asyncio.sleep(0.1)
        worker.app.rebalancing = True  # and it stays so while this record is held
        worker.app.flow_control.active = False

    eviction = asyncio.ensure_future(evicted())
    ours = await asyncio.wait_for(WorkerApp._still_ours(worker, RECORD), timeout=10)
    await eviction
    assert ours is False


async def test_a_worker_frozen_but_not_evicted_goes_on_with_its_record() -> None:
    worker = _frozen_worker()
    assert await asyncio.wait_for(WorkerApp._still_ours(worker, RECORD), timeout=5) is True
    assert worker._alive > time.monotonic() - SESSION_TIMEOUT_S


async def test_a_worker_that_was_not_frozen_acts_at_once() -> None:
    worker = _frozen_worker()
    worker._alive = time.monotonic()
    assert await WorkerApp._still_ours(worker, RECORD) is True
