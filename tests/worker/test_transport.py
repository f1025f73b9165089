"""The worker's Faust transport: a flush before an offset commit leaves nothing queued, and
the fetch loop hands every offset to the stream."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any, TypeVar

import faust
import pytest
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.transport.producer import ProducerBuffer
from faust.types import TP, Message

from engage_stream.worker.transport import SCHEME, Consumer, DrainingProducerBuffer

B = TypeVar("B", bound=ProducerBuffer)

SLOW_HAND_OFF_S = 0.25
"""Longer than the 0.1 s after which Faust's own flush stops waiting."""


class SlowChannel:
    """A topic whose client takes a while to accept each message, as on a loaded machine."""

    def __init__(self) -> None:
        self.delivered: list[int] = []

    async def publish_message(self, fut: Any, wait: bool = False) -> None:
        await asyncio.sleep(SLOW_HAND_OFF_S)
        self.delivered.append(fut.number)


def _message(channel: SlowChannel, number: int) -> Any:
    return SimpleNamespace(number=number, message=SimpleNamespace(channel=channel))


def _buffer(buffer: B) -> B:
    buffer.app = SimpleNamespace(conf=SimpleNamespace(producer_threaded=False))  # type: ignore[assignment]
    return buffer


async def _delivered_when_flush_returns(buffer: ProducerBuffer) -> list[int]:
    channel = SlowChannel()
    await _buffer(buffer).start()
    for number in range(3):
        buffer.put(_message(channel, number))
    await buffer.flush()
    delivered = list(channel.delivered)
    await asyncio.sleep(SLOW_HAND_OFF_S * 4)  # let the rest leave, so the buffer can stop
    await buffer.stop()
    return delivered


async def test_fausts_own_flush_returns_with_messages_still_queued() -> None:
    # Why the worker replaces the buffer: this is the window a crash fell into.
    assert len(await _delivered_when_flush_returns(ProducerBuffer())) < 3


async def test_draining_flush_returns_after_every_message_was_handed_over() -> None:
    assert await _delivered_when_flush_returns(DrainingProducerBuffer()) == [0, 1, 2]


async def test_flush_waits_for_the_message_being_handed_over() -> None:
    buffer = _buffer(DrainingProducerBuffer())
    channel = SlowChannel()
    await buffer.start()
    try:
        buffer.put(_message(channel, 0))
        await asyncio.sleep(0.01)  # taken off the queue, not yet accepted by the client
        assert buffer.size == 0
        assert buffer.in_flight == 1
        await buffer.flush()
        assert channel.delivered == [0]
    finally:
        await buffer.stop()


def test_the_engage_scheme_gives_apps_the_draining_buffer() -> None:
    app = faust.App("transport-test", broker=f"{SCHEME}://localhost:9092", autodiscover=False)
    assert isinstance(app.producer.buffer, DrainingProducerBuffer)
    assert app.producer.buffer.app is app


# -- the fetch loop ---------------------------------------------------------------------------

EVENTS = TP("crm.events", 2)
CUSTOMERS = TP("crm.customers", 2)


class LossyFetcher:
    """A partition holding offsets 128-131 whose first fetch after the seek to the committed
    offset lacks 129, as a restarted worker's fetch did; later fetches read from the
    position, which only a seek moves back."""

    def __init__(self, tp: TP = EVENTS) -> None:
        self.tp = tp
        self.log = [128, 129, 130, 131]
        self.first = [128, 130, 131]
        self.position = 128
        self.seeks: list[int] = []
        self._stopped = asyncio.Event()

    def getmany(self, timeout: float) -> Any:
        async def fetch() -> Any:
            batch = self.first or [o for o in self.log if o >= self.position]
            self.first = []
            if not batch:
                self._stopped.set()
                return
            self.position = batch[-1] + 1  # a seek while the batch is handed over resets it
            for offset in batch:
                yield self.tp, SimpleNamespace(offset=offset, topic=self.tp.topic, generation_id=0)

        return fetch()

    async def seek_wait(self, partitions: Mapping[TP, int]) -> None:
        self.position = partitions[self.tp]
        self.seeks.append(self.position)


def _consumer_of(topic: str, compacted: bool = False) -> Consumer:
    """The consumer of an app whose agent reads `topic` (acknowledging its records)."""
    app = faust.App("fetch-test", broker=f"{SCHEME}://localhost:9092", autodiscover=False)
    app.topics.add(app.topic(topic, compacting=compacted or None))
    app.topics.acking_topics.add(topic)
    app.flow_control.resume()  # as after a recovery; a new app starts suspended
    consumer = app.consumer
    assert isinstance(consumer, Consumer)
    consumer.sought_generation = app.consumer_generation_id  # its seek to the commit done
    return consumer


async def _drained(drain: Any, fetcher: LossyFetcher, compacted: bool = False) -> list[int]:
    consumer = _consumer_of(fetcher.tp.topic, compacted)
    handed: list[int] = []

    async def to_stream(message: Any) -> None:
        handed.append(message.offset)

    consumer.callback = to_stream
    consumer.getmany = fetcher.getmany  # type: ignore[method-assign]
    consumer.seek_wait = fetcher.seek_wait  # type: ignore[method-assign]
    await asyncio.wait_for(drain(consumer, fetcher), timeout=5)
    return handed


async def test_fausts_own_fetch_loop_passes_over_a_record_missing_from_a_fetch() -> None:
    # Why the worker replaces the loop: 129 never reaches the stream, and Faust counts it
    # as a gap, so the next commit moves past it.
    assert await _drained(faust_aiokafka.Consumer._drain_messages, LossyFetcher()) == [
        128,
        130,
        131,
    ]


async def test_the_fetch_loop_fetches_a_hole_again_and_hands_over_every_offset() -> None:
    fetcher = LossyFetcher()
    assert await _drained(Consumer._drain_messages, fetcher) == [128, 129, 130, 131]
    assert fetcher.seeks == [129]


class RebalancedFetcher(LossyFetcher):
    """A partition read again from its commit after a rebalance: the first batch is the
    copy fetched before it (stamped with the previous generation), then 128-131 again."""

    def __init__(self) -> None:
        super().__init__()
        self.first = []
        self.stale = [128, 129]

    def getmany(self, timeout: float) -> Any:
        if not self.stale:
            return super().getmany(timeout)

        async def fetch() -> Any:
            stale, self.stale = self.stale, []
            for offset in stale:
                yield self.tp, SimpleNamespace(offset=offset, topic=self.tp.topic, generation_id=-1)

        return fetch()


async def test_a_record_fetched_before_the_rebalance_waits_for_its_new_copy() -> None:
    """Faust's stream would let the old copy go unprocessed; here it is not handed over,
    and the copy fetched after the seek to the commit is, each offset once."""
    fetcher = RebalancedFetcher()
    consumer = _consumer_of(fetcher.tp.topic)
    handed: list[tuple[int, int]] = []

    async def to_stream(message: Any) -> None:
        handed.append((message.offset, message.generation_id))

    consumer.callback = to_stream
    consumer.getmany = fetcher.getmany  # type: ignore[method-assign]
    consumer.seek_wait = fetcher.seek_wait  # type: ignore[method-assign]
    await asyncio.wait_for(Consumer._drain_messages(consumer, fetcher), timeout=5)
    assert handed == [(128, 0), (129, 0), (130, 0), (131, 0)]


async def test_a_compacted_topic_keeps_its_holes() -> None:
    fetcher = LossyFetcher(CUSTOMERS)
    assert await _drained(Consumer._drain_messages, fetcher, compacted=True) == [128, 130, 131]
    assert fetcher.seeks == []


@pytest.mark.parametrize("compacted", [False, True])
def test_the_consumer_checks_only_acknowledged_topics_without_compaction(
    compacted: bool,
) -> None:
    consumer = _consumer_of("some.topic", compacted)
    assert consumer.is_contiguous("some.topic") is not compacted
    assert consumer.is_contiguous("not.read.by.any.agent") is False


async def test_a_refetch_that_fails_skips_the_record_instead_of_stopping_the_loop() -> None:
    class RevokedMeanwhile(LossyFetcher):
        async def seek_wait(self, partitions: Mapping[TP, int]) -> None:
            raise RuntimeError("partition is not assigned")

    assert await _drained(Consumer._drain_messages, RevokedMeanwhile()) == [128]


# -- acknowledgements across rebalances -------------------------------------------------------


def _record(offset: int, generation: int) -> Message:
    return Message(
        EVENTS.topic, EVENTS.partition, offset, 0.0, 0, None, None, b"{}", None,
        tp=EVENTS, generation_id=generation,
    )  # fmt: skip


def test_a_record_fetched_under_an_earlier_generation_is_not_counted_as_acknowledged() -> None:
    """After a rebalance every partition is read again from its commit, so the old copy's
    ack must not count: of a partition not assigned here then, Faust kept it, and a later
    assignment of that partition committed past records nobody processed, or never moved."""
    consumer = _consumer_of(EVENTS.topic)
    consumer.app.consumer_generation_id = 7
    stale, fresh = _record(140, generation=6), _record(128, generation=7)
    assert consumer.ack(stale) is False
    assert stale.acked, "let go: a later ack of it does nothing either"
    assert consumer.ack(fresh) is True
    assert list(consumer._acked[EVENTS]) == [128]
    assert 140 not in consumer._acked_index[EVENTS]


def test_the_commit_stops_at_the_first_record_not_processed_in_this_generation() -> None:
    """Records 155-156 were let go by a stream after the partition came back (their old
    copies): counted, the commit would pass them before their new copies are processed."""
    consumer = _consumer_of(EVENTS.topic)
    consumer.app.consumer_generation_id = 7
    consumer._committed_offset[EVENTS] = 150
    for offset in (155, 156):
        consumer.ack(_record(offset, generation=6))
    for offset in range(150, 155):
        consumer.ack(_record(offset, generation=7))
    assert consumer._new_offset(EVENTS) == 155


def test_an_ack_while_the_flow_is_suspended_is_not_counted() -> None:
    """A rebalance under way: the stream lets records go unprocessed; they come again."""
    consumer = _consumer_of(EVENTS.topic)
    consumer.app.flow_control.suspend()
    assert consumer.ack(_record(128, generation=0)) is False
    assert not consumer._acked[EVENTS]


async def _drained_across(consumer: Consumer, after_first_fetch: Callable[[], None]) -> Any:
    """The fetch loop over `LossyFetcher`'s 128-131 (no hole), where `after_first_fetch`
    runs once the first batch is handed out (a recovery's resume, Faust's seek ending, the
    rebalance marked ended); the seeks back to the commit it made, and the offsets the
    stream got with `consumer.app` as it stood at each."""
    fetcher = LossyFetcher()
    fetcher.first = []
    handed: list[tuple[int, bool, int | None]] = []
    sought: list[int] = []
    fetches = 0

    def getmany(timeout: float) -> Any:
        nonlocal fetches
        fetches += 1
        batch = fetcher.getmany(timeout)
        if fetches > 1:
            return batch

        async def then() -> Any:
            async for found in batch:
                yield found
            after_first_fetch()

        return then()

    async def perform_seek() -> None:
        sought.append(128)
        fetcher.position = 128
        consumer._offsets.reset(fetcher.tp, 128)

    async def to_stream(message: Any) -> None:
        app = consumer.app
        handed.append((message.offset, app.rebalancing, consumer.sought_generation))

    consumer.callback = to_stream
    consumer.getmany = getmany  # type: ignore[method-assign]
    consumer.seek_wait = fetcher.seek_wait  # type: ignore[method-assign]
    consumer.perform_seek = perform_seek  # type: ignore[method-assign]
    await asyncio.wait_for(Consumer._drain_messages(consumer, fetcher), timeout=5)
    return SimpleNamespace(handed=handed, sought=sought)


async def test_records_fetched_while_the_flow_is_suspended_are_read_again_once_it_resumes() -> None:
    """Between a recovery's seek and its resume the stream would drop what it is handed
    (and the resume clears its queues): the loop holds those records back and, resumed,
    seeks back to the commit, so each offset reaches the stream once."""
    consumer = _consumer_of(EVENTS.topic)
    consumer.app.flow_control.suspend()
    drained = await _drained_across(consumer, consumer.app.flow_control.resume)
    assert [offset for offset, _, _ in drained.handed] == [128, 129, 130, 131]
    assert drained.sought == [128]


async def test_records_fetched_before_the_seek_to_the_commit_wait_for_it() -> None:
    """Faust resumes a recovered partition and only then seeks it to its commit: a record
    fetched in between and decided would take its stream time from the changelog table,
    which may come from records after the commit (a redo after a crash released a held
    offer at once, under its id but at another time). Held back, each offset reaches the
    stream once, after the seek."""
    consumer = _consumer_of(EVENTS.topic)
    consumer.sought_generation = -1  # the seek of the generation before

    def sought() -> None:
        consumer.sought_generation = 0  # Faust's seek finishes after this fetch

    drained = await _drained_across(consumer, sought)
    assert drained.handed == [(128, False, 0), (129, False, 0), (130, False, 0), (131, False, 0)]
    assert drained.sought == [128]


async def test_the_seek_to_the_commit_opens_the_generation_it_began_under(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rebalance during the seek leaves the new generation closed until its own seek."""
    consumer = _consumer_of(EVENTS.topic)
    consumer.app.consumer_generation_id = 4
    consumer.sought_generation = None

    async def seek_meanwhile_rebalanced(self: Any) -> None:
        if rebalance:
            self.app.consumer_generation_id += 1

    monkeypatch.setattr(faust_aiokafka.Consumer, "perform_seek", seek_meanwhile_rebalanced)
    monkeypatch.setattr(consumer, "assignment", set)
    rebalance = False
    await consumer.perform_seek()
    assert consumer.sought_generation == 4
    assert consumer.streams_open()
    rebalance = True
    await consumer.perform_seek()
    assert consumer.sought_generation == 4
    assert not consumer.streams_open()


async def test_nothing_of_a_batch_with_a_record_held_back_reaches_a_stream_before_the_seek() -> (
    None
):
    """The seek ends in the middle of a batch: the next partition's record in it waits too.
    Handed over then, it would be read again after the seek, behind the records that
    followed it, and its stateful stage would redo it with a later stream time."""
    consumer = _consumer_of(EVENTS.topic)
    consumer.sought_generation = -1
    other = TP(EVENTS.topic, EVENTS.partition + 1)
    handed: list[tuple[TP, int, int]] = []
    sought: list[int] = []
    fetches = 0

    def record(tp: TP, offset: int) -> tuple[TP, Any]:
        return tp, SimpleNamespace(offset=offset, topic=tp.topic, generation_id=0)

    def getmany(timeout: float) -> Any:
        nonlocal fetches
        fetches += 1

        async def fetch() -> Any:
            if fetches == 1:
                yield record(EVENTS, 128)
                consumer.sought_generation = 0  # Faust's seek ends here
                yield record(other, 5)
            elif fetches == 2:
                yield record(EVENTS, 128)
                yield record(other, 5)
            else:
                consumer._stopped.set()

        return fetch()

    async def perform_seek() -> None:
        sought.append(fetches)
        for tp, offset in ((EVENTS, 128), (other, 5)):
            consumer._offsets.reset(tp, offset)

    async def to_stream(message: Any) -> None:
        handed.append((TP(message.topic, 0), message.offset, len(sought)))

    consumer.callback = to_stream
    consumer.getmany = getmany  # type: ignore[method-assign]
    consumer.perform_seek = perform_seek  # type: ignore[method-assign]
    await asyncio.wait_for(
        Consumer._drain_messages(consumer, SimpleNamespace(_stopped=asyncio.Event())), timeout=5
    )
    assert sought == [1]
    assert [(offset, seeks) for _, offset, seeks in handed] == [(128, 1), (5, 1)]


async def test_records_wait_for_the_end_of_the_rebalance_not_only_for_its_first_seek() -> None:
    """Faust seeks more than once in one rebalance and resumes the flow before its last
    seek: a record handed over after the first was decided, then its partition was reset
    under it. Until the rebalance is marked ended nothing goes; then it is read again from
    the commit, once."""
    consumer = _consumer_of(EVENTS.topic)
    consumer.app.rebalancing = True
    drained = await _drained_across(consumer, consumer.app.on_rebalance_end)
    assert drained.handed == [(128, False, 0), (129, False, 0), (130, False, 0), (131, False, 0)]
    assert drained.sought == [128]
