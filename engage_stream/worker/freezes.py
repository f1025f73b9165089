"""Whether this process was frozen past its session timeout, and what it does once awake.

A process stopped that long (SIGSTOP, a stalled VM, an event loop blocked) is evicted from
the group while it sleeps, and another worker moves its partitions' state on. Whatever it
had made before the freeze and not yet sent is then a zombie's: a state write its producer
sends once it wakes lands in the changelog after the new owner's, and whoever recovers the
partition next reads the older state back (found by `bench chaos`). Kafka fences such a
producer only with transactions, which this worker does not use. So on waking nothing more
leaves: the client's sender (each round and each request) and the stages' hand-overs
wait in `hold` until the group shows what happened. A rebalance beginning means this worker was
evicted: it exits (`EVICTED_EXIT`) without sending anything, to be started again by its
supervisor and read its state back from the changelog (dropping the writes and staying up
would leave its tables ahead of the changelog). A heartbeat sent after the wake and
accepted by the group coordinator means it was not (the broker stalled with it): it goes on
as if nothing happened. Time alone proves nothing: while the broker is unreachable (killed
and restarting) a worker hears neither, and it waits (found by `bench chaos`: a worker that
woke while the broker was down went on after twice the session timeout, and its held
writes came after the new owner's).

Plain Python over a clock; the worker ticks it from its event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from engage_stream.observability.logs import get_logger

log = get_logger("engage.worker")

EVICTED_EXIT = 75
"""The exit status of a worker that found itself evicted while frozen (EX_TEMPFAIL: started
again, it works)."""

POLL_S = 0.25
"""How often a held caller looks at the group again."""


@dataclass(frozen=True, slots=True)
class Wake:
    at: float
    """The clock when the freeze was noticed."""
    frozen_s: float
    moves: int
    """Partition moves seen before it: one more is a rebalance since."""


class Freezes:
    def __init__(
        self,
        session_timeout_s: float,
        rebalancing: Callable[[], bool],
        evicted: Callable[[Wake], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`rebalancing`: whether the group is moving partitions now; `evicted`: what to do
        once a wake turns out to be a zombie's (the worker exits; it must not return)."""
        self.session_timeout_s = session_timeout_s
        self.rebalancing = rebalancing
        self.evicted = evicted
        self.clock = clock
        self.watching = False
        """Only once the worker is up (`start_watching`): before that nothing was made that
        could be stale."""
        self.woke: Wake | None = None
        """A wake whose verdict is still open."""
        self._seen = clock()
        self._moves = 0
        self._heard = float("-inf")

    def start_watching(self) -> None:
        """From now on, a gap is a freeze. Faust starts the worker's timers only once the
        tables are recovered: the time until then (models loading, the first recovery) is
        no gap between two ticks."""
        self._seen = self.clock()
        self.watching = True

    def tick(self) -> None:
        """The event loop ran: a gap since the last tick longer than the session timeout
        is a freeze (every caller ticks first, so the first one to run after it notices)."""
        now = self.clock()
        gap = now - self._seen
        self._seen = now
        if self.watching and self.woke is None and gap > self.session_timeout_s:
            self.woke = Wake(at=now, frozen_s=gap, moves=self._moves)
            log.warning(
                "worker_was_frozen",
                seconds=round(gap, 1),
                action="nothing more is sent until the group shows whether it moved this "
                "worker's partitions: exits if it did, goes on once a heartbeat is accepted",
            )

    def moved(self) -> None:
        """Partitions were revoked or assigned here."""
        self._moves += 1

    def heard(self, sent_at: float) -> None:
        """The group coordinator accepted a heartbeat sent at `sent_at` (this clock): the
        group still counts this worker in, in the generation it holds. Called from the
        consumer's thread."""
        self._heard = max(self._heard, sent_at)

    async def hold(self) -> None:
        """Returns at once, unless the process has just woken from a freeze: then once a
        heartbeat sent after the wake is accepted, or never (`evicted`) when the group
        moves partitions first. A heartbeat sent before the freeze and answered after it
        proves nothing (the eviction may have come in between)."""
        self.tick()
        while (wake := self.woke) is not None:
            if self.rebalancing() or self._moves != wake.moves:
                self.evicted(wake)
                return  # only where `evicted` returns (tests)
            if self._heard > wake.at:
                self.woke = None
                log.info(
                    "worker_not_evicted",
                    seconds=round(wake.frozen_s, 1),
                    waited_s=round(self.clock() - wake.at, 1),
                    action="none: the group still counts it in; it goes on with what it holds",
                )
                return
            await asyncio.sleep(POLL_S)
            self.tick()
