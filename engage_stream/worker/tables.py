"""The live worker's `StateStore`: changelogged Faust tables of bytes, objects in front.

The tables (and so their changelogs, from which a restarted worker recovers) hold each
customer's profile and state as JSON. Decoding a long history for every event made an
event's cost grow with the customer's history, so decoded objects are kept in a bounded
cache and the tables are only read on a miss; a write updates both, and sends the
changelog only the parts of the state that changed (`StateCodec`). The cache is dropped
whenever partitions move (`forget`), so a worker never decides from a state another
worker changed while the partition was away.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter

from engage_stream.enrichment.state import (
    CustomerState,
    OrderFact,
    PendingAction,
    SeenChunk,
    SentMessage,
)
from engage_stream.observability.logs import get_logger
from engage_stream.schemas.customers import CustomerProfile
from engage_stream.schemas.encoding import encoded
from engage_stream.schemas.stored import read_stored
from engage_stream.step.store import DueIndex, StreamTime
from engage_stream.worker.commit_times import Committed

DEFAULT_CACHED_CUSTOMERS = 5_000

log = get_logger("engage.worker")

Document = TypeVar("Document", bound=BaseModel)
Table = MutableMapping[bytes, bytes]


class Changelogged(MutableMapping[bytes, bytes]):
    """A Faust table as a mapping whose writes go to `write` (changelog topic, key, value;
    None for a tombstone), which sends them owed to the current input, so that the input
    is committed only once the broker has them (`worker.sending`). Faust's own
    `table[key] = value` finds the partition from the event being iterated and drops the
    send's future."""

    def __init__(self, table: Any, write: Callable[[str, bytes, bytes | None], None]) -> None:
        self.table = table
        self.write = write
        self._topic: str | None = None

    @property
    def topic(self) -> str:
        if self._topic is None:
            self._topic = self.table.changelog_topic.get_topic_name()
        return self._topic

    def __getitem__(self, key: bytes) -> bytes:
        value: bytes = self.table.data[key]
        return value

    def get(self, key: bytes, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        value: bytes | None = self.table.data.get(key, default)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.table.data[key] = value
        self.write(self.topic, key, value)

    def __delitem__(self, key: bytes) -> None:
        del self.table.data[key]
        self.write(self.topic, key, None)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.table.data)

    def __len__(self) -> int:
        return len(self.table.data)


WATERMARK_EVERY = timedelta(minutes=1)
"""Stream time a partition's watermark may move on before it is written again (it is also
written with every release): after a restart it resumes at most this far behind."""


class TableStore:
    def __init__(
        self,
        profiles: Table,
        states: Table,
        parts: Table,
        cached: int = DEFAULT_CACHED_CUSTOMERS,
        partitions: int = 1,
    ) -> None:
        self._profiles = _Cached(
            cached,
            read=lambda key: _decoded(CustomerProfile, profiles.get(key.encode())),
            write=lambda key, profile: profiles.__setitem__(key.encode(), encoded(profile)),
            drop=lambda key: profiles.pop(key.encode(), None),
        )
        self.codec = StateCodec(states, parts)
        self._states = _Cached(
            cached, read=self.codec.read, write=self.codec.write, evicted=self.codec.forget
        )
        self._parts = parts
        self.index = DueIndex(partitions)
        self._indexed = False
        self._stream_times: dict[int, tuple[StreamTime, datetime | None]] = {}
        """Per partition: its stream time, and the watermark last written to the table."""
        self._committed: dict[int, Committed] = {}
        """Per partition assigned: what the group committed, the stream time it starts from."""

    def profile(self, customer_id: str) -> CustomerProfile | None:
        return self._profiles.get(customer_id)

    def state(self, customer_id: str) -> CustomerState | None:
        return self._states.get(customer_id)

    def put_profile(self, customer_id: str, profile: CustomerProfile) -> None:
        self._profiles.put(customer_id, profile)

    def drop_profile(self, customer_id: str) -> None:
        self._profiles.drop(customer_id)

    def put_state(self, customer_id: str, state: CustomerState) -> None:
        self._states.put(customer_id, state)
        if self._indexed:
            self.index.add(customer_id, state)

    def stream_time(self, partition: int) -> StreamTime | None:
        known = self._stream_times.get(partition)
        if known is not None:
            return known[0]
        committed = self._committed.get(partition)
        if committed is not None and committed.offset is None:
            return None  # read from its start: the table's is from records read again
        if committed is not None and committed.time is not None:
            self._stream_times[partition] = (committed.time, None)
            return committed.time
        stored = self._parts.get(stream_time_key(partition))
        if not stored:
            return None
        time = StreamTime.from_json(json.loads(stored))
        self._stream_times[partition] = (time, time.watermark)
        return time

    def put_stream_time(self, partition: int, time: StreamTime, *, durable: bool = False) -> None:
        _, written = self._stream_times.get(partition, (time, None))
        if durable or written is None or time.watermark - written >= WATERMARK_EVERY:
            self._parts[stream_time_key(partition)] = json.dumps(time.as_json()).encode()
            written = time.watermark
        self._stream_times[partition] = (time, written)

    def assigned(self, partition: int, committed: Committed) -> None:
        """The partition is read again from its commit: its stream time is the commit's
        (`worker.commit_times`), not the table's, which may come from records read after it."""
        self._committed[partition] = committed
        self._stream_times.pop(partition, None)

    def due(self, partition: int, until: datetime) -> list[str]:
        if not self._indexed:
            self._rebuild_index()
        return self.index.take(partition, until)

    def keep_due(self, customer_id: str, state: CustomerState) -> None:
        self.index.add(customer_id, state)

    def _rebuild_index(self) -> None:
        """From the tables (a restart or a rebalance): every customer with a held offer
        part, offers already ended included, so that inputs processed again release again."""
        suffix = f"{SEP}pending".encode()
        customers = [key[: -len(suffix)].decode() for key in self._parts if key.endswith(suffix)]
        self.index.rebuilt(
            (customer, state)
            for customer in customers
            if (state := self.state(customer)) is not None
        )
        self._indexed = True
        log.info("held_offers_indexed", customers=len(customers))

    def forget(self) -> None:
        """Drop every decoded object: the tables are the truth after a rebalance."""
        self._profiles.objects.clear()
        self._states.objects.clear()
        self.codec.written.clear()
        self.codec.extra.clear()
        self._stream_times.clear()
        self.index.rebuilt(())
        self._indexed = False


class _Cached(Generic[Document]):
    """The most recently used values of a table, as objects, in front of it."""

    def __init__(
        self,
        size: int,
        read: Callable[[str], Document | None],
        write: Callable[[str, Document], object],
        drop: Callable[[str], object] | None = None,
        evicted: Callable[[str], None] | None = None,
    ) -> None:
        self.size = size
        self.read = read
        self.write = write
        self.remove = drop
        self.evicted = evicted or (lambda _: None)
        self.objects: OrderedDict[str, Document | None] = OrderedDict()

    def get(self, key: str) -> Document | None:
        if key in self.objects:
            self.objects.move_to_end(key)
            return self.objects[key]
        document = self.read(key)
        self._remember(key, document)
        return document

    def put(self, key: str, document: Document) -> None:
        self.write(key, document)
        self._remember(key, document)

    def drop(self, key: str) -> None:
        if self.remove is not None:
            self.remove(key)
        self.objects.pop(key, None)
        self.evicted(key)

    def _remember(self, key: str, document: Document | None) -> None:
        self.objects[key] = document
        self.objects.move_to_end(key)
        while len(self.objects) > self.size:
            old, _ = self.objects.popitem(last=False)
            self.evicted(old)


def _decoded(kind: type[Document], stored: bytes | None) -> Document | None:
    return read_stored(kind, stored) if stored else None


_SENT = TypeAdapter(list[SentMessage])
_ORDERS = TypeAdapter(list[OrderFact])
_PENDING = TypeAdapter(list[PendingAction])
ENCODED_FIELDS = ("customer_id", "conversations", "sent", "seen_log", "orders", "pending")
SEP = "\x1f"
"""Between a customer id and a part name in a part's table key (ids never hold it)."""

Part = tuple[str, object]
"""A part's name and the object it is (compared by identity; encoded by `_encoded`)."""


class StateCodec:
    """A customer state kept as parts, each its own table entry: the sent messages, the
    order facts, each conversation and each chunk of the seen log, and a small head
    listing the parts. A write sends only the parts that changed since the customer's last
    write (an event touches one conversation and one or two chunks), so what an event
    costs the changelog does not grow with the customer's history."""

    def __init__(self, heads: Table, parts: Table) -> None:
        self.heads = heads
        self.table = parts
        self.written: dict[str, dict[str, object]] = {}
        """Per customer, the part objects last written or read, by part name."""
        self.extra: dict[str, dict[str, object]] = {}
        """Per customer, head fields a newer release wrote (kept as they are)."""

    def read(self, customer_id: str) -> CustomerState | None:
        stored = self.heads.get(customer_id.encode())
        if not stored:
            return None
        head = json.loads(stored)
        if "parts" not in head:  # written whole, before states were kept in parts
            state = read_stored(CustomerState, stored)
            self.written.pop(customer_id, None)
            return state
        values = {name: self.table.get(_key(customer_id, name)) for name in head["parts"]}
        # Parts and head fields of a newer release (read after a rollback) are kept as
        # they are: this release neither reads nor deletes them.
        self.extra[customer_id] = {k: v for k, v in head.items() if k not in _HEAD}
        missing = [name for name, value in values.items() if value is None]
        if missing:  # a crash between two writes: reprocessing the events rebuilds them
            log.warning(
                "state_parts_missing",
                customer_id=customer_id,
                parts=missing,
                action="none needed if the worker restarted; the uncommitted events redo them",
            )
        state = read_stored(CustomerState, _assembled(customer_id, values))
        # What is stored under which name: a part this release names otherwise (an earlier
        # release's name) counts as not written, and its old name as one to delete.
        computed = dict(_parts(state))
        kept: dict[str, object] = {}
        for name, value in values.items():
            if not _understood(name):
                kept[name] = _FOREIGN
            elif value is not None:
                kept[name] = computed.get(name, _STALE)
        self.written[customer_id] = kept
        return state

    def write(self, customer_id: str, state: CustomerState) -> None:
        before = self.written.get(customer_id)
        if before is None:
            before = {
                name: None if _understood(name) else _FOREIGN
                for name in self._stored_names(customer_id)
            }
        after: dict[str, object] = {}
        for name, part in _parts(state):
            after[name] = part
            if before.get(name) is not part:
                self.table[_key(customer_id, name)] = _encoded(name, part)
        for name, part in before.items():
            if part is _FOREIGN:
                after[name] = _FOREIGN
        for name in before.keys() - after.keys():
            self.table.pop(_key(customer_id, name), None)
        if list(before) != list(after):
            extra = self.extra.get(customer_id, {})
            head = {**extra, "customer_id": customer_id, "parts": list(after)}
            self.heads[customer_id.encode()] = json.dumps(head, ensure_ascii=False).encode()
        self.written[customer_id] = after

    def forget(self, customer_id: str) -> None:
        self.written.pop(customer_id, None)
        self.extra.pop(customer_id, None)

    def _stored_names(self, customer_id: str) -> list[str]:
        stored = self.heads.get(customer_id.encode())
        head = json.loads(stored) if stored else {}
        return list(head.get("parts", ()))


def _parts(state: CustomerState) -> list[Part]:
    """The state's parts in order: the order of conversations and chunks is kept."""
    parts: list[Part] = [("sent", state.sent), ("orders", state.orders)]
    if state.pending:  # most customers never hold an offer: no part for them
        parts.append(("pending", state.pending))
    parts += [(f"c{SEP}{key}", c) for key, c in state.conversations.items()]
    for source, chunks in state.seen_log.chunks.items():
        prefix = f"s{SEP}{source}{SEP}"
        parts += [(f"{prefix}{_chunk_name(chunks, i)}", c) for i, c in enumerate(chunks)]
    return parts


_LISTS: dict[str, TypeAdapter[Any]] = {"sent": _SENT, "orders": _ORDERS, "pending": _PENDING}


def _encoded(name: str, part: object) -> bytes:
    """A part's stored JSON: the three lists through their adapters, a conversation or a
    seen-log chunk as its model."""
    adapter = _LISTS.get(name)
    if adapter is not None:
        return adapter.dump_json(part)
    assert isinstance(part, BaseModel)
    return encoded(part)


def _chunk_name(chunks: list[SeenChunk], index: int) -> int:
    """A name that stays as the log grows: the newest chunk grows at its end, so it is
    named by its first offset; a full log is trimmed at the front of its oldest chunk, so
    that one (when it is not also the newest) is named by its last. Each event then
    re-writes one or two chunks under the names they had, and the head is re-written only
    when a chunk begins or ends."""
    chunk = chunks[index]
    return chunk.offsets[-1] if index == 0 and len(chunks) > 1 else chunk.offsets[0]


def _assembled(customer_id: str, values: dict[str, bytes | None]) -> bytes:
    """The whole state's JSON from its parts' (a part missing after a crash between two
    writes is left out: its entries come back when the events are processed again)."""
    conversations: list[bytes] = []
    chunks: dict[str, list[bytes]] = {}
    sent = orders = pending = b"[]"
    for name, value in values.items():
        if value is None:
            continue
        kind, _, rest = name.partition(SEP)
        if name == "sent":
            sent = value
        elif name == "orders":
            orders = value
        elif name == "pending":
            pending = value
        elif kind == "c":
            conversations.append(_string(rest) + b":" + value)
        elif kind == "s":
            chunks.setdefault(rest.rpartition(SEP)[0], []).append(value)
    seen = b",".join(_string(source) + b":[" + b",".join(c) + b"]" for source, c in chunks.items())
    return b"".join(
        (
            b'{"customer_id":',
            _string(customer_id),
            b',"conversations":{',
            b",".join(conversations),
            b'},"sent":',
            sent,
            b',"seen_log":{"chunks":{',
            seen,
            b'}},"orders":',
            orders,
            b',"pending":',
            pending,
            b"}",
        )
    )


_HEAD = ("customer_id", "parts")
_FOREIGN = object()
"""Stands for a part of a newer release in `written`: never equal to a part of this one."""
_STALE = object()
"""Stands for a part stored under a name this release does not give it: deleted on write."""


def _understood(name: str) -> bool:
    """A part this release writes: the sent messages, the order facts, the held offers, a
    conversation, a chunk of the seen log."""
    return name in ("sent", "orders", "pending") or name.partition(SEP)[0] in ("c", "s")


def stream_time_key(partition: int) -> bytes:
    """A partition's stream time in the parts table (no customer id starts with SEP)."""
    return f"{SEP}stream-time{SEP}{partition}".encode()


def customer_of(key: bytes) -> str | None:
    """The customer a parts-table key belongs to; None for a partition's own entries."""
    customer, sep, _ = key.decode("utf-8", "replace").partition(SEP)
    return None if sep and not customer else customer


def _key(customer_id: str, name: str) -> bytes:
    return f"{customer_id}{SEP}{name}".encode()


def _string(text: str) -> bytes:
    return json.dumps(text, ensure_ascii=False).encode()


if tuple(CustomerState.model_fields) != ENCODED_FIELDS:  # pragma: no cover - a new field
    raise RuntimeError(
        f"CustomerState fields {tuple(CustomerState.model_fields)} changed: update StateCodec"
    )
