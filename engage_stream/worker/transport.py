"""Faust's aiokafka transport with a short fetch wait, as the `engage://` broker scheme.

Faust hard-codes `fetch_max_wait_ms=1500` for its consumer. A broker that holds a fetch
until that wait runs out when little data is there (the embedded Tansu broker does) then
adds up to 1.5 s per hop, and the worker has two hops (events -> scored -> decisions).
Apache Kafka answers a fetch as soon as data arrives, so the shorter wait changes nothing
there but the number of idle fetches.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka

SCHEME = "engage"
FETCH_MAX_WAIT_MS = 100


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    Consumer = Consumer


TRANSPORTS.aliases[SCHEME] = f"{__name__}:Transport"
