"""Where a shell keeps each customer's profile and state between records.

`StateStore` is what the step reads and writes. The replay keeps objects in dicts
(`MemoryStore`); the live worker keeps bytes in changelogged Faust tables and objects in
front of them (`worker.tables.TableStore`), so an event costs no decode of the customer's
history, only the encode the changelog needs.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from engage_stream.enrichment.state import CustomerState
from engage_stream.kafka.partitioner import partition_for
from engage_stream.schemas.customers import CustomerProfile
from engage_stream.schemas.stored import read_stored


@dataclass(frozen=True, slots=True)
class StreamTime:
    """A stateful partition's stream time (`policy.journeys`)."""

    watermark: datetime
    """The latest `occurred_at` read, less the allowed lateness."""
    behind: timedelta = timedelta(0)
    """How long the last record read took from happening to reaching Kafka: an idle tick
    moves a partition that far behind the clock by no more than the time it sat idle."""

    def as_json(self) -> dict[str, Any]:
        return {"watermark": self.watermark.isoformat(), "behind_s": self.behind.total_seconds()}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> StreamTime:
        return cls(
            datetime.fromisoformat(document["watermark"]),
            timedelta(seconds=float(document.get("behind_s", 0))),
        )


class StateStore(Protocol):
    def profile(self, customer_id: str) -> CustomerProfile | None: ...

    def state(self, customer_id: str) -> CustomerState | None: ...

    def put_profile(self, customer_id: str, profile: CustomerProfile) -> None: ...

    def drop_profile(self, customer_id: str) -> None: ...

    def put_state(self, customer_id: str, state: CustomerState) -> None:
        """Keep the state, and the due time of the first offer it holds (`due`)."""
        ...

    def stream_time(self, partition: int) -> StreamTime | None:
        """The stateful partition's stream time, as last put (`step.Step` journeys)."""
        ...

    def put_stream_time(self, partition: int, time: StreamTime, *, durable: bool = False) -> None:
        """`durable`: written through now (a release rests on it); else when convenient."""
        ...

    def due(self, partition: int, until: datetime) -> list[str]:
        """The partition's customers that may hold an offer due by `until`; each is
        forgotten until its state is put (or `keep_due`) again."""
        ...

    def keep_due(self, customer_id: str, state: CustomerState) -> None:
        """`due` returned the customer but nothing was released: remember its offers."""
        ...


class DueIndex:
    """Per stateful partition, customers by the due time of the first offer they hold: a
    release looks only at customers with something due, not at every state. A customer is
    pushed again only when that first due time changes, so a customer who holds an offer
    and keeps writing (a chat) does not grow the heap with every event; an entry left from
    an earlier due time is passed over when it comes up."""

    def __init__(self, partitions: int) -> None:
        self.partitions = partitions
        self._heaps: dict[int, list[tuple[datetime, str]]] = {}
        self._first: dict[str, datetime] = {}
        """Per customer, the due time of its live entry in the heap."""
        self._open: dict[str, int] = {}
        """Per customer with a live entry, the offers it holds that are neither released
        nor exited."""

    def add(self, customer_id: str, state: CustomerState, *, closed_too: bool = False) -> None:
        """`closed_too`: also offers released or exited (after a restart, so that an input
        processed again releases again what it released before the crash)."""
        dues = [p.due for p in state.pending if closed_too or p.closed is None]
        if not dues:
            self._open.pop(customer_id, None)
            return
        held = sum(1 for p in state.pending if p.closed is None) if closed_too else len(dues)
        self._open[customer_id] = held
        first = min(dues)
        if self._first.get(customer_id) == first:
            return
        self._first[customer_id] = first
        heap = self._heaps.setdefault(partition_for(customer_id, self.partitions), [])
        heapq.heappush(heap, (first, customer_id))

    def take(self, partition: int, until: datetime) -> list[str]:
        heap = self._heaps.get(partition)
        found: dict[str, None] = {}
        while heap and heap[0][0] <= until:
            due, customer_id = heapq.heappop(heap)
            if self._first.get(customer_id) == due:
                del self._first[customer_id]
                self._open.pop(customer_id, None)
                found[customer_id] = None
        return list(found)

    def __len__(self) -> int:
        """Entries in the heaps, live and passed-over ones."""
        return sum(len(heap) for heap in self._heaps.values())

    @property
    def held(self) -> int:
        """Offers waiting for their release (neither released nor exited), over every
        partition; those being released at the moment are not counted."""
        return sum(self._open.values())

    def rebuilt(self, states: Iterable[tuple[str, CustomerState]]) -> None:
        self._heaps.clear()
        self._first.clear()
        self._open.clear()
        for customer_id, state in states:
            self.add(customer_id, state, closed_too=True)


class MemoryStore:
    """Objects in dicts: a replay's whole state, saved in its checkpoints."""

    def __init__(self, partitions: int = 1) -> None:
        self.profiles: dict[str, CustomerProfile] = {}
        self.states: dict[str, CustomerState] = {}
        self.stream_times: dict[int, StreamTime] = {}
        self.index = DueIndex(partitions)

    def profile(self, customer_id: str) -> CustomerProfile | None:
        return self.profiles.get(customer_id)

    def state(self, customer_id: str) -> CustomerState | None:
        return self.states.get(customer_id)

    def put_profile(self, customer_id: str, profile: CustomerProfile) -> None:
        self.profiles[customer_id] = profile

    def drop_profile(self, customer_id: str) -> None:
        self.profiles.pop(customer_id, None)

    def put_state(self, customer_id: str, state: CustomerState) -> None:
        self.states[customer_id] = state
        self.index.add(customer_id, state)

    def stream_time(self, partition: int) -> StreamTime | None:
        return self.stream_times.get(partition)

    def put_stream_time(self, partition: int, time: StreamTime, *, durable: bool = False) -> None:
        self.stream_times[partition] = time

    def due(self, partition: int, until: datetime) -> list[str]:
        return self.index.take(partition, until)

    def keep_due(self, customer_id: str, state: CustomerState) -> None:
        self.index.add(customer_id, state)

    def dump(self) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, Any]]]:
        """Profiles, states and stream times as JSON, for a checkpoint."""
        profiles = {k: v.model_dump_json() for k, v in self.profiles.items()}
        states = {k: v.model_dump_json() for k, v in self.states.items()}
        return profiles, states, {str(p): t.as_json() for p, t in self.stream_times.items()}

    @classmethod
    def load(
        cls,
        profiles: dict[str, str],
        states: dict[str, str],
        stream_times: dict[str, dict[str, Any]] | None = None,
        partitions: int = 1,
    ) -> MemoryStore:
        store = cls(partitions)
        store.profiles = {k: read_stored(CustomerProfile, v) for k, v in profiles.items()}
        store.states = {k: read_stored(CustomerState, v) for k, v in states.items()}
        store.stream_times = {
            int(p): StreamTime.from_json(t) for p, t in (stream_times or {}).items()
        }
        store.index.rebuilt(store.states.items())
        return store
