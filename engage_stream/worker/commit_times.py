"""Each engage.scored partition's stream time carried in its offset commits.

Stream time decides when a held offer is due and when it goes (`policy.journeys`). After
a crash the stateful stage redoes the records past the last commit, and must redo them
with the stream time they first saw: the one written to the changelog table may come from
records read after that commit, and a redo that started from it released an offer before
the exit event it had first seen, or placed it at another time (same action id, another
body). So the stream time as of each commit travels in the commit's metadata, as Kafka
Streams keeps partition time, and a partition assigned comes back to the commit's stream
time, whatever the table holds. A commit without it (no record read yet, or a worker of
an earlier version) leaves the table's value in force.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from dataclasses import dataclass
from typing import Protocol

from engage_stream.observability.logs import get_logger
from engage_stream.step.store import StreamTime

log = get_logger(__name__)

KEY = "engage_stream_time"


@dataclass(frozen=True, slots=True)
class Committed:
    """What the group committed for one partition: the next offset to read (None: nothing
    committed yet) and the stream time as of it (None: the commit did not carry one)."""

    offset: int | None
    time: StreamTime | None


def encode(time: StreamTime) -> str:
    return json.dumps({KEY: time.as_json()}, separators=(",", ":"))


def decode(metadata: str | None) -> StreamTime | None:
    """The stream time in a commit's metadata; None for metadata that is not ours."""
    if not metadata:
        return None
    try:
        document = json.loads(metadata)
        return StreamTime.from_json(document[KEY]) if isinstance(document, dict) else None
    except (ValueError, KeyError, TypeError) as exc:
        log.warning(
            "commit_metadata_unreadable",
            metadata=metadata[:200],
            error=str(exc)[:200],
            action="the table's stream time is used; nothing to do unless it repeats",
        )
        return None


class StreamTimeMarks:
    """Per partition, the stream time after each record read since the last commit that
    moved it (`read`), so that a commit at any offset knows the stream time as of it."""

    def __init__(self) -> None:
        self._offsets: dict[int, list[int]] = {}
        self._times: dict[int, list[StreamTime]] = {}

    def read(self, partition: int, offset: int, time: StreamTime | None) -> None:
        """The stream time after the record at `offset` (kept only where it changed)."""
        if time is None:
            return
        times = self._times.get(partition)
        if times is None:
            self._offsets[partition], self._times[partition] = [offset], [time]
        elif times[-1] != time:
            self._offsets[partition].append(offset)
            times.append(time)

    def at_commit(self, partition: int, offset: int) -> StreamTime | None:
        """The stream time once every record before `offset` was read; the marks before it
        are dropped, but the one in force is kept for the next commit."""
        offsets = self._offsets.get(partition)
        if not offsets:
            return None
        index = bisect_left(offsets, offset) - 1
        if index < 0:
            return None
        time = self._times[partition][index]
        if index:
            del offsets[:index]
            del self._times[partition][:index]
        return time

    def assigned(self, partition: int, committed: Committed) -> None:
        """Marks start again from the commit the partition is read from."""
        self._offsets.pop(partition, None)
        self._times.pop(partition, None)
        if committed.offset is not None and committed.time is not None:
            self.read(partition, committed.offset - 1, committed.time)

    def forget(self, partition: int) -> None:
        self._offsets.pop(partition, None)
        self._times.pop(partition, None)


class _Store(Protocol):
    def stream_time(self, partition: int) -> StreamTime | None: ...

    def assigned(self, partition: int, committed: Committed) -> None: ...


class CommitTimes:
    """What the consumer asks at each commit and assignment of `topic` (engage.scored)."""

    def __init__(self, topic: str, store: _Store) -> None:
        self.topic = topic
        self.store = store
        self.marks = StreamTimeMarks()

    def read(self, partition: int, offset: int) -> None:
        """The record at `offset` was decided: the partition's stream time after it."""
        self.marks.read(partition, offset, self.store.stream_time(partition))

    def metadata(self, partition: int, offset: int) -> str:
        time = self.marks.at_commit(partition, offset)
        return "" if time is None else encode(time)

    def assigned(self, committed: dict[int, Committed]) -> None:
        for partition, found in committed.items():
            self.store.assigned(partition, found)
            self.marks.assigned(partition, found)
            log.info(
                "stream_time_assigned",
                topic=self.topic,
                partition=partition,
                offset=found.offset,
                watermark=None if found.time is None else found.time.watermark.isoformat(),
                source=_source(found),
            )


def _source(found: Committed) -> str:
    """Where an assigned partition's stream time comes from, for the person on call."""
    if found.offset is None:
        return "none: read from the start"
    return "commit" if found.time is not None else "table: the commit carried none"
