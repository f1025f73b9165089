"""Faust's aiokafka transport, adjusted for this worker, as the `engage://` broker scheme.

Four adjustments:

- A short fetch wait. Faust hard-codes `fetch_max_wait_ms=1500` for its consumer. A broker
  that holds a fetch until that wait runs out when little data is there (the embedded Tansu
  broker does) then adds up to 1.5 s per hop, and the worker has two hops (events -> scored
  -> decisions). Apache Kafka answers a fetch as soon as data arrives, so the shorter wait
  changes nothing there but the number of idle fetches.
- A producer buffer whose flush really drains. Faust flushes that buffer before it commits
  offsets, and its flush gave up when no message left the buffer for 0.1 s, which happens on
  a loaded machine; the commit then went ahead while a state write was still queued. The
  worker's own outputs and table writes no longer pass through the buffer (`sending` hands
  them to the client, `Producer.direct`); what Faust itself sends with `send_soon` still
  does, and still drains before a commit.
- A drain loop that skips no offset (`offsets`). Faust's loop hands over whatever the fetch
  returned and counts a hole in the offsets as acknowledged; after a restart a record could
  go missing that way, and the commit then moved past it (an event never processed, or a
  handoff transcript missing a turn). Here a hole in a delete-retention topic is fetched
  again, and a fetch that a rebalance interrupts is dropped rather than acknowledged.
- No commit past an unsent output. The commit waits for the answers to what is in flight,
  and no offset at or past an input whose outputs the broker has not confirmed is
  committed (`worker.deliveries`); a record the client refuses before sending fails its
  own future instead of stopping the producer buffer.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiokafka.errors import IllegalStateError
from aiokafka.structs import OffsetAndMetadata
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.transport.producer import ProducerBuffer
from faust.types import TP, Message
from faust.types.tuples import ack_lock
from kafka import KafkaConsumer, TopicPartition

from engage_stream.kafka.reader import partition_ends
from engage_stream.observability.logs import get_logger
from engage_stream.worker.commit_times import Committed, decode
from engage_stream.worker.offsets import ContiguousOffsets, Verdict

SCHEME = "engage"
FETCH_MAX_WAIT_MS = 100
DRAIN_POLL_S = 0.005
DRAIN_WARN_EVERY_S = 5.0

log = get_logger("engage.worker")


def hear_heartbeats(coordinator: Any, heard: Callable[[float], None]) -> None:
    """Each heartbeat the group coordinator accepts, by when it was sent (`worker.freezes`:
    after a freeze, the proof that the group still counts this worker in)."""
    beat = coordinator._do_heartbeat  # `aiokafka.consumer.group_coordinator.GroupCoordinator`

    async def heard_beat() -> bool:
        sent = time.monotonic()
        accepted = bool(await beat())
        if accepted:
            heard(sent)
        return accepted

    coordinator._do_heartbeat = heard_beat


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    async def on_start(self) -> None:
        await super().on_start()
        freezes = getattr(self.app, "engage_freezes", None)
        coordinator = getattr(self._consumer, "_coordinator", None)
        if freezes is not None and coordinator is not None:
            hear_heartbeats(coordinator, freezes.heard)

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        """Where each partition ends, from fetch responses as well as ListOffsets. Faust's
        table recovery reads each changelog partition up to this: the embedded Tansu broker
        answers ListOffsets(latest) below the real end when batches hold more than one
        record, and a worker restarted there came back without its tables' last writes
        (`kafka.reader.partition_ends` reads the ends as `read_to_end` does)."""
        listed: Mapping[TP, int] = await super()._highwaters(partitions)
        connection = getattr(self.app, "engage_connection", None)
        if connection is None or not partitions:
            return listed
        loop = asyncio.get_running_loop()
        ends = self.__dict__.get("_ends")
        if ends is None:
            ends = self.__dict__["_ends"] = _FetchedEnds(connection)
        try:
            fetched = await loop.run_in_executor(None, ends.read, partitions)
        except Exception as exc:  # the listed ends, as Faust would have used them
            log.warning("partition_ends_not_fetched", error=str(exc)[:300])
            return listed
        return {tp: max(listed.get(tp) or 0, fetched.get(tp, 0)) for tp in partitions}

    sought: Mapping[TP, tuple[int | None, str]] = {}
    """Per partition of the last seek to committed: the offset it reads from (None: never
    committed) and the commit's metadata (`worker.commit_times`)."""

    async def seek_to_committed(self) -> Mapping[TP, int]:
        """Faust's seek to the committed offsets, from one OffsetFetch that also answers
        each commit's metadata: where a partition is read from and the stream time it starts
        with are one commit's. (aiokafka's own seek drops the metadata. Read apart, through
        another client with a time limit, a failed read left the table's stream time in
        force, which may come from records read after the commit: a redo then held an
        offer until a later time than the first run had.)"""
        sought: Mapping[TP, int] = await self.call_thread(self._seek_to_committed)
        return sought

    async def _seek_to_committed(self) -> Mapping[TP, int | None]:
        consumer = self._ensure_consumer()
        partitions = list(consumer.assignment())
        fetched = await consumer._coordinator.fetch_committed_offsets(partitions)
        offsets: dict[TP, int | None] = {}
        sought: dict[TP, tuple[int | None, str]] = {}
        never: list[Any] = []
        streams = self.app.topics.acks_enabled_for
        for tp in partitions:
            found = fetched.get(tp)
            offset = None if found is None or found.offset < 0 else int(found.offset)
            offsets[tp] = offset
            sought[TP(tp.topic, tp.partition)] = (offset, (found.metadata if found else "") or "")
            if offset is not None:
                consumer._fetcher.seek_to(tp, offset)
            elif streams(tp.topic):
                never.append(tp)
        if never:
            # A stream's partition never committed is read again from its start, as on its
            # first assignment (aiokafka's and Faust's seek leave it where the fetch stood:
            # records held back there were never read again and the stage stood still).
            # Changelogs are the recovery's to place.
            try:
                await consumer.seek_to_beginning(*never)
            except IllegalStateError as exc:  # a rebalance took one: its own seek places them
                log.info("seek_to_beginning_skipped", error=str(exc)[:300])
        self.sought = sought
        return offsets

    async def on_thread_stop(self) -> None:
        ends = self.__dict__.pop("_ends", None)
        if ends is not None:
            ends.close()
        await super().on_thread_stop()

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        commit = consumer.commit

        async def commit_with_metadata(offsets: Any = None) -> None:
            # Faust commits its offsets with empty metadata; ours ride on the offsets.
            if offsets:
                offsets = {
                    tp: OffsetAndMetadata(int(o.offset), getattr(o.offset, "metadata", ""))
                    for tp, o in offsets.items()
                }
            await commit(offsets)

        consumer.commit = commit_with_metadata
        return consumer

    async def behind(self, topics: list[str]) -> int | None:
        """Records of `topics` the group has not committed yet, over every partition (this
        worker's and the others'), or None while the metadata does not know a topic."""
        behind: int | None = await self.call_thread(self._behind, topics)
        return behind

    async def _behind(self, topics: list[str]) -> int | None:
        consumer = self._ensure_consumer()
        tps = []
        for topic in topics:
            count = self.topic_partitions(topic)
            if not count:
                return None
            tps += [TP(topic, partition) for partition in range(count)]
        ends = await self._highwaters(tps)
        behind = 0
        for tp in tps:
            committed = await consumer.committed(tp)
            behind += max(0, ends[tp] - (committed or 0))
        return behind


class _FetchedEnds:
    """Partition ends read by fetching (`kafka.reader.partition_ends`), through one
    kafka-python consumer kept open: the idle tick asks every few seconds."""

    def __init__(self, connection: dict[str, Any]) -> None:
        self.connection = connection
        self._consumer: KafkaConsumer | None = None
        self._lock = threading.Lock()

    def read(self, partitions: list[TP]) -> dict[TP, int]:
        with self._lock:
            if self._consumer is None:
                self._consumer = KafkaConsumer(
                    **self.connection, enable_auto_commit=False, group_id=None
                )
            try:
                ends = partition_ends(
                    self._consumer, [TopicPartition(tp.topic, tp.partition) for tp in partitions]
                )
            except Exception:  # a fresh connection next time
                self._close()
                raise
        return {TP(tp.topic, tp.partition): end for tp, end in ends.items()}

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            consumer.close()


class Consumer(faust_aiokafka.Consumer):
    YIELD_EVERY = 100
    """Records handed over between two yields to the event loop (as in Faust)."""

    def _reset_state(self) -> None:
        super()._reset_state()
        self._offsets = ContiguousOffsets()
        self._contiguous: dict[str, bool] = {}
        self._fetches = 0
        self.sought_generation: int | None = None
        """The group generation of the last seek to the committed offsets (`streams_open`)."""

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def behind(self, topics: list[str]) -> int | None:
        """Records of `topics` the whole group has not committed yet (`ConsumerThread.behind`)."""
        thread = self._thread
        assert isinstance(thread, ConsumerThread)
        return await thread.behind(topics)

    def is_contiguous(self, topic: str) -> bool:
        """A topic an agent reads whose offsets have no holes: acknowledged, not compacted."""
        known = self._contiguous.get(topic)
        if known is None:
            channels = [channel for channel in self.app.topics if topic in channel.topics]
            known = (
                bool(channels)
                and self.app.topics.acks_enabled_for(topic)
                and not any(getattr(channel, "compacting", False) for channel in channels)
            )
            self._contiguous[topic] = known
        return known

    def standing(self, tp: TP) -> dict[str, Any]:
        """Where consuming `tp` stands, for the person on call (`WorkerApp.log_consumer_state`):
        what the group has committed, what was handed to the stream, what the fetch loop
        expects next, the offsets acknowledged but not yet committed, and the oldest input
        whose outputs the broker has not confirmed (an offset commit waits for it)."""
        acked = self._acked.get(tp) or []
        return {
            "committed": self._committed_offset.get(tp),
            "handed_over": self._read_offset.get(tp),
            "expected": self._offsets.expected(tp),
            "acked": len(acked),
            "acked_from": acked[0] if acked else None,
            "acked_to": acked[-1] if acked else None,
            "gaps": len(self._gap.get(tp) or ()),
            "first_unconfirmed": self._first_open(tp),
            "highwater": self.highwater(tp),
        }

    async def perform_seek(self) -> None:
        # The offsets and their stream times come from one OffsetFetch and are taken
        # together, nothing awaited in between: no record of the new assignment is decided
        # without them, and none starts from a stream time of another commit.
        generation = self.app.consumer_generation_id
        await super().perform_seek()
        for tp in self.assignment():
            # Read again from its commit: anything acknowledged before is a past generation's.
            self._acked.pop(tp, None)
            self._acked_index.pop(tp, None)
            if self.is_contiguous(tp.topic):
                self._offsets.reset(tp, self._read_offset.get(tp))
        hooks = getattr(self.app, "engage_commits", None)
        thread = self._thread
        if hooks is not None and isinstance(thread, ConsumerThread):
            hooks.assigned(
                {
                    tp.partition: Committed(offset=offset, time=decode(metadata))
                    for tp, (offset, metadata) in thread.sought.items()
                    if tp.topic == hooks.topic
                }
            )
        self.sought_generation = generation

    def ack(self, message: Message) -> bool:
        """Faust's acknowledgement, less those of records fetched under an earlier group
        generation. Each rebalance seeks every partition back to its commit, so such a record
        is fetched and handed over again; Faust still acks the old copy once the stream
        lets it go (it skips it, or the stage was mid-way), and of a partition not assigned
        here then, with nothing committed to compare it with, the offset stayed in the acked
        list. Given the partition back later, Faust's commit reads the first run of
        consecutive acked offsets: a stale run below the commit held it there for good, one
        above it committed records nobody had processed (found by `bench chaos`: a stalled
        partition, and inputs never enriched). So are acks while the flow is suspended (a
        rebalance under way): the stream lets records go unprocessed then."""
        if (
            message.generation_id == self.app.consumer_generation_id
            and self.app.flow_control.is_active()
        ):
            acked: bool = super().ack(message)
            return acked
        with ack_lock:
            message.acked = True
            self._unacked_messages.discard(message)
        return False

    async def _commit(self, offsets: Mapping[TP, int]) -> bool:
        hooks = getattr(self.app, "engage_commits", None)
        if hooks is not None:
            offsets = {
                tp: _Offset(offset, hooks.metadata(tp.partition, offset))
                if tp.topic == hooks.topic
                else offset
                for tp, offset in offsets.items()
            }
        committed: bool = await super()._commit(offsets)
        return committed

    async def seek(self, partition: TP, offset: int) -> None:
        await super().seek(partition, offset)
        self._offsets.reset(partition, offset)

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        for tp in revoked:
            self._offsets.forget(tp)
        await super().on_partitions_revoked(revoked)

    async def _drain_messages(self, fetcher: Any) -> None:
        """Faust's fetch loop (faust-streaming 0.15.3), with `ContiguousOffsets` deciding
        which record of a checked topic to hand over, and no record marked read unless the
        stream took it."""
        callback = self.callback
        stopping: tuple[type[BaseException], ...] = (
            asyncio.CancelledError,
            *self.consumer_stopped_errors,
        )
        read_offset = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        since_yield = 0
        held_back = False
        try:
            while not (self._stopped.is_set() or fetcher._stopped.is_set()):
                if held_back and self.streams_open():
                    # Records held back come again from the commit (nothing of theirs was
                    # acknowledged meanwhile).
                    held_back = False
                    await self.perform_seek()
                self.diag.set_flag(CONSUMER_FETCHING)
                records = self.getmany(timeout=1.0)
                self._fetches += 1
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in records:
                        since_yield += 1
                        if since_yield > self.YIELD_EVERY:
                            await asyncio.sleep(0)
                            since_yield = 0
                        if message.generation_id != self.app.consumer_generation_id:
                            # Fetched before a rebalance, which sought back to the commit:
                            # it comes again. Handed over, Faust's stream would let it go
                            # unprocessed, and the offset counted as read.
                            continue
                        if acks_enabled_for(tp.topic) and (held_back or not self.streams_open()):
                            # A stream's record while the flow is suspended, or fetched
                            # before this generation's seek to the commit has finished: held
                            # back (`streams_open`), and with it the rest of the batch, so
                            # that nothing reaches a stream before the seek that reads them
                            # again (a record handed over before it would be read again
                            # after records that followed it). Tables' changelogs go on.
                            held_back = True
                            continue
                        offset = message.offset
                        checked = self.is_contiguous(tp.topic)
                        if checked:
                            if not await self._in_order(tp, offset):
                                continue
                        else:
                            last = read_offset[tp]
                            if last is not None and offset < last:
                                continue
                            if last and offset - last > 1 and acks_enabled_for(tp.topic):
                                await self._add_gap(tp, last + 1, offset)
                        if self._commit_every is not None and self._n_acked >= self._commit_every:
                            self._n_acked = 0
                            await self.commit()
                        delivery = callback(message)
                        waited = await self.wait_first(delivery, self.suspend_flow.wait())
                        if delivery not in waited.done:
                            break  # a rebalance stopped the flow; it seeks to committed offsets
                        read_offset[tp] = offset
                        if checked:
                            self._offsets.delivered(tp, offset)
                self.diag.unset_flag(CONSUMER_FETCHING)
        except stopping:
            if self.transport.app.should_stop:
                return  # stopping: the consumer was closed under the loop
            raise
        except Exception as exc:
            log.exception("fetch_loop_failed", error=str(exc)[:300])
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)

    def streams_open(self) -> bool:
        """Whether a stream's record may go to its stream now, which is also whether no
        rebalance is under way (`worker.freezes` reads it): only once the rebalance has
        ended (Faust marks its end after the last seek of it) with a seek to the committed
        offsets of this generation, and the flow running. During a rebalance Faust seeks
        more than once (its fetch while the flow is stopped, the recovery's resume) and
        resumes the flow and the stream partitions before the last seek: a record handed
        over in between was decided before that seek reset the partition, its stream time
        and its acknowledgements, and read again after it, out of order (found by the
        SIGKILL test: a redo released a held offer at once, at a stream time from after the
        commit; and by `bench chaos`: records handed over whose acks were dropped, a commit
        that stopped, inputs scored once and their turns missing from a chat). While the
        flow is suspended the stream would let a record go unprocessed."""
        app = self.app
        return (
            app.flow_control.is_active()
            and not app.rebalancing
            and self.sought_generation == app.consumer_generation_id
        )

    def _new_offset(self, tp: TP) -> int | None:
        """Faust's next offset to commit, held before the oldest input whose outputs the
        broker has not confirmed (`worker.deliveries`)."""
        open_at = self._first_open(tp)
        acked = self._acked[tp]
        held = [] if open_at is None else [offset for offset in acked if offset >= open_at]
        if open_at is None or not held:
            result: int | None = super()._new_offset(tp)
            return result
        acked[:] = [offset for offset in acked if offset < open_at]
        try:
            result = super()._new_offset(tp) if acked else None
        finally:
            acked.extend(held)
            acked.sort()
        return result

    def _first_open(self, tp: TP) -> int | None:
        deliveries = getattr(self.app, "engage_deliveries", None)
        return None if deliveries is None else deliveries.first_open((tp.topic, tp.partition))

    async def _commit_tps(self, tps: Any, start_new_transaction: bool) -> bool:
        # What is in flight gets its answer first, so that the offsets held back are
        # only those of outputs that really failed, not of the last milliseconds' sends.
        await self.app.producer.flush()
        await asyncio.sleep(0)
        did_commit: bool = await super()._commit_tps(tps, start_new_transaction)
        return did_commit

    async def _in_order(self, tp: TP, offset: int) -> bool:
        """Whether to hand over the record at `offset`; asks for a re-fetch at a hole."""
        verdict = self._offsets.check(tp, offset, self._fetches)
        expected = self._offsets.expected(tp)
        if verdict is Verdict.REFETCH and expected is not None:
            log.warning(
                "fetch_skipped_offsets",
                topic=tp.topic,
                partition=tp.partition,
                expected=expected,
                fetched=offset,
                action="fetching again from the expected offset; nothing to do",
            )
            try:
                await self.seek_wait({tp: expected})
            except Exception as exc:  # revoked meanwhile: the rebalance seeks it anyway
                log.warning(
                    "refetch_failed", topic=tp.topic, partition=tp.partition, error=str(exc)
                )
            return False
        if verdict is Verdict.ACCEPT_GAP and expected is not None:
            log.warning(
                "offsets_missing_from_topic",
                topic=tp.topic,
                partition=tp.partition,
                first_missing=expected,
                next_present=offset,
                action="records deleted by retention before they were read; if not, "
                "check the topic's producers (transactions) and retention",
            )
            await self._add_gap(tp, expected, offset - 1)
        return verdict is not Verdict.SKIP


class _Offset(int):
    """An offset to commit with its metadata (`worker.commit_times`), through Faust's commit."""

    metadata: str

    def __new__(cls, offset: int, metadata: str) -> _Offset:
        made = super().__new__(cls, offset)
        made.metadata = metadata
        return made


class DrainingProducerBuffer(ProducerBuffer):
    """Faust's producer buffer, with a flush that returns only when every queued message has
    been handed to the Kafka client (whose own flush then waits for the broker)."""

    in_flight = 0
    """Messages taken off the queue whose hand-off to the client has not finished."""

    async def _send_pending(self, fut: Any) -> None:
        # Runs in the same step as the queue `get` that dequeued `fut`, so no flush can
        # see the queue empty before this count includes it.
        self.in_flight += 1
        try:
            await super()._send_pending(fut)
        except Exception as exc:
            # The client refused the record before sending it (too large for the request,
            # producer closing): the message's own future carries the error to its sender,
            # instead of the exception ending the buffer's task and every send after it.
            if not fut.done():
                fut.set_exception(exc)
        finally:
            self.in_flight -= 1

    async def flush(self) -> None:
        started = last_warning = time.monotonic()
        while self.size or self.in_flight:
            await asyncio.sleep(DRAIN_POLL_S)
            now = time.monotonic()
            if now - last_warning >= DRAIN_WARN_EVERY_S:
                last_warning = now
                log.warning(
                    "producer_buffer_slow_to_drain",
                    queued=self.size,
                    in_flight=self.in_flight,
                    waited_s=round(now - started, 1),
                    hint="offsets are not committed until the table changelog writes leave; "
                    "check that the broker is reachable",
                )


def hold_sends(producer: Any, hold: Callable[[], Awaitable[None]]) -> None:
    """Every round of the client's produce requests waits for `hold` first, and so does each
    request already drained when it starts (`worker.freezes`: after a freeze, batches the
    client held from before it must not go out before the verdict). The client's sender asks
    for its producer id at the top of each round, which is where it waits."""
    sender = producer._sender  # `aiokafka.producer.sender.Sender`
    ask_for_pid = sender._maybe_wait_for_pid
    send_request = sender._send_produce_req

    async def held_round() -> None:
        await hold()
        await ask_for_pid()

    async def held_request(node_id: int, batches: Any) -> Any:
        await hold()
        return await send_request(node_id, batches)

    sender._maybe_wait_for_pid = held_round
    sender._send_produce_req = held_request


class Producer(faust_aiokafka.Producer):
    def _new_producer(self, transactional_id: str | None = None) -> Any:
        """The client, its sends held after a freeze where the worker judges them
        (`engage_freezes`; the passthrough benchmark has none)."""
        producer = super()._new_producer(transactional_id)
        freezes = getattr(self.app, "engage_freezes", None)
        if freezes is not None:
            hold_sends(producer, freezes.hold)
        return producer

    def direct(self) -> Any:
        """The Kafka client itself (`AIOKafkaProducer`), for the worker's own sends
        (`worker.sending`); Faust's `flush` before a commit waits for them too."""
        return self._ensure_producer()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        buffer = DrainingProducerBuffer(loop=self.loop, beacon=self.beacon)
        buffer.app = self.app
        if self.threaded_producer is not None:
            buffer.threaded_producer = self.threaded_producer
        self.buffer = buffer


class Transport(faust_aiokafka.Transport):
    Consumer = Consumer
    Producer = Producer


TRANSPORTS.aliases[SCHEME] = f"{__name__}:Transport"
