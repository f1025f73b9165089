"""Which outputs the broker has not yet confirmed, by the input record that made them.

An input's offset may be committed only when every output it made (actions, the enriched
record, DLQ records, table changelog writes) has been acknowledged: otherwise a crash after
the commit loses what was still in flight, silently. The ledger counts each input's open
outputs; the consumer commits no offset at or past the oldest input with one open
(`transport.Consumer`), so a failed delivery holds its partition back until a retry
succeeds, and a restart reprocesses from there (the core makes that idempotent).

Plain Python: the live shell (`worker.sending`) feeds it; nothing here knows Kafka.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from engage_stream.step.outputs import Output

FIRST_RETRY_S = 0.5
LAST_RETRY_S = 30.0

Source = tuple[str, int]
"""An input partition: topic and partition number."""


@dataclass(eq=False, slots=True)
class Ticket:
    """One output on its way, and the input record it is owed to."""

    source: Source
    offset: int
    output: Output | None
    """None for a table's changelog write: only reprocessing writes it again."""
    generation: int = 0
    """The assignment of `source` it was sent under: one from before a revocation is void."""
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    replaced: bool = False
    """The output was too large for its topic and is now its DLQ record."""
    done: bool = False


def backoff_s(attempts: int) -> float:
    """Seconds before the next try after `attempts` failed ones: 0.5, 1, 2, ... 30."""
    return float(min(LAST_RETRY_S, FIRST_RETRY_S * 2 ** max(0, attempts - 1)))


class Deliveries:
    def __init__(self) -> None:
        self._open: dict[Hashable, Counter[int]] = {}
        self._generation: Counter[Hashable] = Counter()
        self._failing: set[Ticket] = set()

    def sent(self, source: Source, offset: int, output: Output | None) -> Ticket:
        """An output handed to the producer for the input at `source`@`offset`."""
        open_here = self._open.get(source)
        if open_here is None:
            open_here = self._open[source] = Counter()
        open_here[offset] += 1
        return Ticket(source, offset, output, self._generation[source])

    def confirmed(self, ticket: Ticket) -> None:
        """The broker acknowledged it (or it was replaced by a DLQ record that was)."""
        if ticket.done:
            return
        ticket.done = True
        self._failing.discard(ticket)
        open_here = self._open.get(ticket.source)
        if open_here is None or not self._current(ticket):
            return  # the partition was revoked meanwhile
        open_here[ticket.offset] -= 1
        if open_here[ticket.offset] <= 0:
            del open_here[ticket.offset]

    def failed(self, ticket: Ticket, error: str) -> float:
        """A try failed: the ticket stays open; the seconds to wait before the next try.
        A ticket of a partition revoked since it was sent is its next owner's to redo: its
        failure does not make this worker unhealthy (a state write refused after the
        revocation would otherwise keep `/ready` at 503 for good)."""
        ticket.attempts += 1
        ticket.errors = [*ticket.errors[-4:], error]
        if self._current(ticket):
            self._failing.add(ticket)
        return backoff_s(ticket.attempts)

    def still_owed(self, ticket: Ticket) -> bool:
        """Whether to try again: not done, and its partition still assigned here."""
        return not ticket.done and self._current(ticket)

    def first_open(self, source: Source) -> int | None:
        """The oldest input of `source` with an output not yet confirmed."""
        open_here = self._open.get(source)
        return min(open_here) if open_here else None

    def forget(self, sources: Iterable[Source]) -> None:
        """Partitions revoked: their next owner reprocesses from the committed offset."""
        for source in sources:
            self._open.pop(source, None)
            self._generation[source] += 1
        self._failing = {t for t in self._failing if self._current(t)}

    def _current(self, ticket: Ticket) -> bool:
        return ticket.generation == self._generation[ticket.source]

    @property
    def failing(self) -> list[Ticket]:
        """Outputs whose last try failed and that are still owed."""
        return [t for t in self._failing if not t.done]

    @property
    def healthy(self) -> bool:
        return not self._failing

    def open_count(self) -> int:
        return sum(sum(c.values()) for c in self._open.values())
