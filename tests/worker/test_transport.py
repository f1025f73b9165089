"""The worker's Faust transport: a flush before an offset commit leaves nothing queued."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, TypeVar

import faust
from faust.transport.producer import ProducerBuffer

from engage_stream.worker.transport import SCHEME, DrainingProducerBuffer

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
