"""Outputs into the producer, each confirmed by the broker before its input counts as done.

`Sender.send` (an output) and `Sender.changelog` (a table write) record the record in the
ledger (`deliveries`) against the input record that made it, and queue it; the stage then
awaits `Sender.flush`, which hands the queue to the Kafka client in order (records still
leave in batches). The consumer commits no offset past an input with a record still open.
The client is called directly, not through Faust's `send_soon` and producer buffer: those
add a queue, a task switch and several callbacks per record, a large share of what an
event costs the worker. When the broker answers with an error:

- a record its topic can never take (too large) is replaced by a DLQ record that always
  fits (the output's first bytes, its size and SHA-256, the reason), so the input can move on;
- anything else (authorization, timeouts, a topic gone) is tried again with backoff, for as
  long as the partition stays assigned here: the worker reports not ready meanwhile, and
  the log names the output, its input's position and what to do.

Nothing is skipped: an output is either confirmed, replaced by its dead letter, or owed to
whichever worker reprocesses its input after a restart or a rebalance.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiokafka.errors import MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError

from engage_stream.kafka.topics import TopicRole
from engage_stream.observability.logs import get_logger
from engage_stream.observability.metrics import PipelineMetrics
from engage_stream.schemas.dlq import DlqErrorClass
from engage_stream.step.outputs import Output, undeliverable
from engage_stream.worker.deliveries import Deliveries, Source, Ticket

log = get_logger("engage.worker")

_TOO_LARGE = (MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError)

Produce = Callable[[str, bytes | None, bytes | None, int | None], Awaitable[asyncio.Future[Any]]]
"""Hands one record (topic, key, value, partition) to the Kafka client; the future it
returns is the broker's answer (`AIOKafkaProducer.send`)."""

Answered = Callable[[Ticket, asyncio.Future[Any]], None]
_Queued = tuple[Ticket, str, bytes | None, bytes | None, int | None, Answered]


def too_large(exc: BaseException) -> bool:
    """Whether the broker or the client refused the record for its size (Faust wraps the
    client's own check in a `ProducerSendError`)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _TOO_LARGE):
            return True
        seen = seen.__cause__
    return False


class Sender:
    def __init__(
        self,
        topics: Mapping[TopicRole, str],
        produce: Produce,
        metrics: PipelineMetrics,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        hold: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """`topics`: each role's topic name; `hold`: awaited before each hand-over (after a
        freeze, until it is known whether this worker still owns what it queued:
        `worker.freezes`)."""
        self.topics = topics
        self.produce = produce
        self.metrics = metrics
        self.clock = clock
        self.hold = hold
        self.deliveries = Deliveries()
        self._queue: deque[_Queued] = deque()
        self._handing_over = asyncio.Lock()
        self._retries: set[asyncio.Future[None]] = set()

    def send(self, output: Output, source: Source, offset: int) -> None:
        """`output`, owed to the input record at `source`@`offset`; leaves at `flush`."""
        ticket = self.deliveries.sent(source, offset, output)
        self._try(ticket)

    def changelog(
        self,
        topic: str,
        key: bytes,
        value: bytes | None,
        partition: int,
        source: Source,
        offset: int,
    ) -> None:
        """A table write (None: a tombstone), owed like an output but not sent again from
        here when it fails: only reprocessing its input writes the state again."""
        ticket = self.deliveries.sent(source, offset, None)
        self._queue.append((ticket, topic, key, value, partition, self._changelog_answered))

    async def flush(self) -> None:
        """Hands every queued record to the client, in the order queued (one hand-over at a
        time, so that a later write of a key never overtakes an earlier one)."""
        if not self._queue:
            return
        if self.hold is not None:
            await self.hold()
        async with self._handing_over:
            queue = self._queue
            while queue:
                ticket, topic, key, value, partition, answered = queue.popleft()
                try:
                    future = await self.produce(topic, key, value, partition)
                except Exception as exc:  # refused before sending (too large, closing)
                    future = asyncio.get_running_loop().create_future()
                    future.set_exception(exc)
                future.add_done_callback(partial(answered, ticket))

    def _try(self, ticket: Ticket) -> None:
        output = ticket.output
        if output is None:
            return
        name = self.topics[output.role]
        self._queue.append(
            (ticket, name, output.key, output.value, output.partition, self._answered)
        )

    def _answered(self, ticket: Ticket, future: asyncio.Future[Any]) -> None:
        error = _error_of(future)
        if error is None:
            self.deliveries.confirmed(ticket)
            return
        output = ticket.output
        if output is None or not self.deliveries.still_owed(ticket):
            return
        name = self.topics[output.role]
        topic, partition = ticket.source
        if too_large(error) and not ticket.replaced:
            reason = (
                f"the {name} record made for this input ({len(output.value):,} bytes) "
                f"does not fit the topic: {error}"
            )
            ticket.output = undeliverable(
                output, topic, partition, ticket.offset, reason, self.clock()
            )
            ticket.replaced = True
            log.error(
                "output_too_large",
                topic=name,
                bytes=len(output.value),
                source=f"{topic}/{partition}@{ticket.offset}",
                action="sent to the DLQ with its first bytes, size and sha256; raise the "
                "topic's max.message.bytes if records this size are expected",
            )
            self.metrics.dlq(DlqErrorClass.OVERSIZED_RECORD.value)
            self._again(ticket)
            return
        delay = self.deliveries.failed(ticket, f"{type(error).__name__}: {error}"[:300])
        log.warning(
            "output_send_failed",
            topic=name,
            source=f"{topic}/{partition}@{ticket.offset}",
            attempts=ticket.attempts,
            retry_in_s=delay,
            error=f"{type(error).__name__}: {error}"[:300],
            action="the input is not committed until this output is sent; check the "
            "broker, the topic and this worker's ACLs",
        )
        self.metrics.send_failed(name)
        asyncio.get_running_loop().call_later(delay, self._again, ticket)

    def _again(self, ticket: Ticket) -> None:
        """Queued again and handed over from a task of its own (this runs in a callback)."""
        if self.deliveries.still_owed(ticket):
            self._try(ticket)
            retry = asyncio.ensure_future(self.flush())
            self._retries.add(retry)
            retry.add_done_callback(self._retries.discard)

    def _changelog_answered(self, ticket: Ticket, future: asyncio.Future[Any]) -> None:
        error = _error_of(future)
        if error is None:
            self.deliveries.confirmed(ticket)
            return
        # A state write that failed is not sent again from here (a later write of the same
        # part may already be on its way): the input stays uncommitted, so a restart
        # reprocesses it and writes the state again.
        self.deliveries.failed(ticket, f"{type(error).__name__}: {error}"[:300])
        topic, partition = ticket.source
        log.error(
            "state_write_failed",
            source=f"{topic}/{partition}@{ticket.offset}",
            error=f"{type(error).__name__}: {error}"[:300],
            action="offsets stop here; restart the worker once the broker takes writes "
            "again, it reprocesses from the last committed offset",
        )
        self.metrics.send_failed("changelog")

    def forget(self, sources: list[Source]) -> None:
        self.deliveries.forget(sources)

    @property
    def healthy(self) -> bool:
        return self.deliveries.healthy


def _error_of(future: asyncio.Future[Any]) -> BaseException | None:
    if future.cancelled():
        return asyncio.CancelledError("the send was cancelled")
    return future.exception()
