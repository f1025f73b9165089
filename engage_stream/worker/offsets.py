"""Which fetched record to hand to the stream next, so that no offset is skipped.

Faust's consumer trusts each fetch: after a seek (at start, after a rebalance) a record can
be missing from what the fetcher hands back, and Faust then records the hole as a "gap"
that counts as acknowledged, so the commit moves past a record that nobody processed. After
a worker crash this lost events outright, or made the scoring stage skip one re-sent event.

Here every partition of a delete-retention topic has an expected next offset. A record
past it means a hole: the partition is fetched again from the expected offset, and only
when the re-fetches start past it too is the hole accepted as real (retention deleted the
records, or they were transaction markers). Records before the expected offset were
handed over already (a fetch from before a seek) and are skipped. Compacted topics have
holes by design and are not checked here.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    DELIVER = "deliver"
    """The expected record, or the first one after a reset: hand it over."""
    SKIP = "skip"
    """Handed over already, or part of a fetch that a re-fetch replaces."""
    REFETCH = "refetch"
    """A hole: seek the partition back to `expected` and fetch again."""
    ACCEPT_GAP = "accept_gap"
    """Re-fetches start past `expected` too: the records are gone; hand this one over."""


REFETCHES_BEFORE_ACCEPTING_A_GAP = 3
"""A fetch that was under way at the seek can still come back once or twice after it."""


@dataclass(slots=True)
class _Partition:
    expected: int | None
    refetch_batch: int | None = None
    """The fetch batch in which the last re-fetch was asked for; its later records are stale."""
    refetches: int = 0


class ContiguousOffsets:
    """Per partition: the next offset to hand over, and any re-fetch in progress."""

    def __init__(self) -> None:
        self._partitions: dict[Hashable, _Partition] = {}

    def reset(self, tp: Hashable, next_offset: int | None) -> None:
        """After a seek: `next_offset` is where reading resumes (None: wherever it does)."""
        self._partitions[tp] = _Partition(expected=next_offset)

    def forget(self, tp: Hashable) -> None:
        self._partitions.pop(tp, None)

    def expected(self, tp: Hashable) -> int | None:
        state = self._partitions.get(tp)
        return state.expected if state else None

    def check(self, tp: Hashable, offset: int, batch: int) -> Verdict:
        """What to do with the record at `offset`, fetched in fetch batch number `batch`."""
        state = self._partitions.setdefault(tp, _Partition(expected=None))
        if state.expected is None or offset == state.expected:
            state.refetch_batch, state.refetches = None, 0
            return Verdict.DELIVER
        if offset < state.expected:
            return Verdict.SKIP
        if batch == state.refetch_batch:
            return Verdict.SKIP
        if state.refetches < REFETCHES_BEFORE_ACCEPTING_A_GAP:
            state.refetch_batch = batch
            state.refetches += 1
            return Verdict.REFETCH
        state.refetch_batch, state.refetches = None, 0
        return Verdict.ACCEPT_GAP

    def delivered(self, tp: Hashable, offset: int) -> None:
        self._partitions.setdefault(tp, _Partition(expected=None)).expected = offset + 1
