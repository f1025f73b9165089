"""The worker's sends: queued while a stage runs, handed to the client in order at its
flush, and each input held (in the ledger) until the broker confirmed what it made."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError

from engage_stream.kafka.topics import TopicRole
from engage_stream.observability.metrics import PipelineMetrics
from engage_stream.step.outputs import Output
from engage_stream.worker import deliveries
from engage_stream.worker.sending import Sender

NAMES = {role: f"t.{role.value}" for role in TopicRole}
SOURCE = ("t.scored", 3)


class FakeClient:
    """`AIOKafkaProducer.send` as the sender calls it: each record handed over is logged and
    gets a future the test answers; `refuse` raises at hand-over (the client's own size
    check); `hold` makes the next hand-over wait (a full batch draining)."""

    def __init__(self) -> None:
        self.handed: list[tuple[str, bytes | None, bytes | None, int | None]] = []
        self.futures: list[asyncio.Future[Any]] = []
        self.refuse: set[bytes] = set()
        self.hold: asyncio.Event | None = None

    async def send(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None
    ) -> asyncio.Future[Any]:
        if self.hold is not None:
            hold, self.hold = self.hold, None
            await hold.wait()
        if value in self.refuse:
            raise MessageSizeTooLargeError("The message is 2000000 bytes when serialized")
        self.handed.append((topic, key, value, partition))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(future)
        return future

    def confirm_all(self) -> None:
        for future in self.futures:
            if not future.done():
                future.set_result(None)


def _sender(client: FakeClient) -> Sender:
    return Sender(NAMES, client.send, PipelineMetrics())


def _output(value: bytes, role: TopicRole = TopicRole.ENRICHED) -> Output:
    return Output(role, b"c1", value)


async def test_nothing_leaves_before_the_flush_and_everything_leaves_in_the_order_queued() -> None:
    client = FakeClient()
    sender = _sender(client)
    sender.changelog("state-changelog", b"c1", b"state", 3, SOURCE, 10)
    sender.send(_output(b"enriched"), SOURCE, 10)
    sender.changelog("parts-changelog", b"c1\x1fsent", None, 3, SOURCE, 10)
    assert client.handed == []
    await sender.flush()
    assert client.handed == [
        ("state-changelog", b"c1", b"state", 3),
        (NAMES[TopicRole.ENRICHED], b"c1", b"enriched", None),
        ("parts-changelog", b"c1\x1fsent", None, 3),
    ]


async def test_an_input_stays_open_until_the_broker_confirmed_all_it_made() -> None:
    client = FakeClient()
    sender = _sender(client)
    sender.send(_output(b"a"), SOURCE, 10)
    sender.changelog("state-changelog", b"c1", b"s", 3, SOURCE, 10)
    sender.send(_output(b"b"), SOURCE, 11)
    assert sender.deliveries.first_open(SOURCE) == 10  # queued counts as open
    await sender.flush()
    client.futures[0].set_result(None)
    await asyncio.sleep(0)
    assert sender.deliveries.first_open(SOURCE) == 10  # its changelog write is not yet in
    client.futures[1].set_result(None)
    await asyncio.sleep(0)
    assert sender.deliveries.first_open(SOURCE) == 11
    client.futures[2].set_result(None)
    await asyncio.sleep(0)
    assert sender.deliveries.first_open(SOURCE) is None


async def test_a_flush_that_waits_on_the_client_is_not_overtaken_by_another() -> None:
    client = FakeClient()
    sender = _sender(client)
    client.hold = released = asyncio.Event()
    sender.changelog("parts-changelog", b"c1\x1fs", b"first", 3, SOURCE, 10)
    first = asyncio.ensure_future(sender.flush())
    await asyncio.sleep(0)  # the first flush now waits inside the client with "first"
    sender.changelog("parts-changelog", b"c1\x1fs", b"second", 3, SOURCE, 11)
    second = asyncio.ensure_future(sender.flush())
    await asyncio.sleep(0)
    assert client.handed == []
    released.set()
    await asyncio.gather(first, second)
    assert [value for _, _, value, _ in client.handed] == [b"first", b"second"]


async def test_a_record_the_client_refuses_as_too_large_goes_out_as_its_dead_letter() -> None:
    client = FakeClient()
    sender = _sender(client)
    client.refuse.add(b"x" * 100)
    sender.send(_output(b"x" * 100), SOURCE, 10)
    await sender.flush()
    for _ in range(5):  # the dead letter is queued from the failure's callback
        await asyncio.sleep(0)
    assert len(client.handed) == 1
    topic, key, value, _ = client.handed[0]
    assert topic == NAMES[TopicRole.DLQ]
    assert key == b"c1"
    dead = json.loads(value or b"")
    assert dead["error_class"] == "oversized_record"
    assert (dead["source_topic"], dead["source_partition"], dead["source_offset"]) == (
        "t.scored",
        3,
        10,
    )
    assert sender.deliveries.first_open(SOURCE) == 10
    client.confirm_all()
    await asyncio.sleep(0)
    assert sender.deliveries.first_open(SOURCE) is None


async def test_a_failed_delivery_is_tried_again_and_holds_its_input_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deliveries, "FIRST_RETRY_S", 0.01)
    client = FakeClient()
    sender = _sender(client)
    sender.send(_output(b"enriched"), SOURCE, 10)
    await sender.flush()
    client.futures[0].set_exception(KafkaTimeoutError("no answer from the broker"))
    await asyncio.sleep(0)
    assert not sender.healthy
    assert sender.deliveries.first_open(SOURCE) == 10
    for _ in range(100):
        if len(client.handed) == 2:
            break
        await asyncio.sleep(0.01)
    assert client.handed[1] == client.handed[0]
    client.confirm_all()
    await asyncio.sleep(0)
    assert sender.healthy
    assert sender.deliveries.first_open(SOURCE) is None


async def test_a_failed_changelog_write_holds_its_input_and_is_not_sent_again() -> None:
    client = FakeClient()
    sender = _sender(client)
    sender.changelog("state-changelog", b"c1", b"s", 3, SOURCE, 10)
    await sender.flush()
    client.futures[0].set_exception(KafkaTimeoutError("no answer from the broker"))
    await asyncio.sleep(0.05)
    assert len(client.handed) == 1
    assert sender.deliveries.first_open(SOURCE) == 10
