"""Faust's aiokafka transport, adjusted for this worker, as the `engage://` broker scheme.

Two adjustments:

- A short fetch wait. Faust hard-codes `fetch_max_wait_ms=1500` for its consumer. A broker
  that holds a fetch until that wait runs out when little data is there (the embedded Tansu
  broker does) then adds up to 1.5 s per hop, and the worker has two hops (events -> scored
  -> decisions). Apache Kafka answers a fetch as soon as data arrives, so the shorter wait
  changes nothing there but the number of idle fetches.
- A producer buffer whose flush really drains. Table writes (the customer state and
  profiles) reach their changelog through Faust's producer buffer, and Faust flushes that
  buffer before it commits offsets. Faust's flush gives up when no message leaves the buffer
  for 0.1 s, which happens on a loaded machine; the commit then went ahead while a state
  write was still queued, and a crash at that moment restored a state older than the
  committed offsets (a handoff transcript missing a turn after a restart).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.transport.producer import ProducerBuffer

from engage_stream.observability.logs import get_logger

SCHEME = "engage"
FETCH_MAX_WAIT_MS = 100
DRAIN_POLL_S = 0.005
DRAIN_WARN_EVERY_S = 5.0

log = get_logger("engage.worker")


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


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


class Producer(faust_aiokafka.Producer):
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
