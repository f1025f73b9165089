"""Held offers in the shared step: each stateful partition's stream time releases what it
made due, for every customer of the partition, the same with either shell's store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engage_stream.core.processor import EngagementCore
from engage_stream.enrichment.state import Position
from engage_stream.kafka.partitioner import partition_for
from engage_stream.kafka.topics import TopicRole
from engage_stream.schemas.enriched import ScoredEvent, SourcePosition, StreamTick
from engage_stream.schemas.events import CrmEvent
from engage_stream.step.step import Decided, Step
from engage_stream.step.store import MemoryStore, StateStore
from engage_stream.worker.tables import TableStore
from tests.core.builders import SHIPPED_POLICY, FakeDrafter, cart, kst, opted_in, order_placed

PARTITIONS = 4
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
LATENESS = SHIPPED_POLICY.journeys.lateness


def customer_in(partition: int, index: int = 0) -> str:
    found = [
        f"cust-{n}" for n in range(1_000) if partition_for(f"cust-{n}", PARTITIONS) == partition
    ]
    return found[index]


def memory_store() -> StateStore:
    return MemoryStore(PARTITIONS)


def table_store() -> StateStore:
    return TableStore({}, {}, {}, partitions=PARTITIONS)


STORES = pytest.mark.parametrize("new_store", [memory_store, table_store], ids=["replay", "live"])


class Partitions:
    """The stateful stage: events into their customers' partitions, at consecutive offsets."""

    def __init__(self, store: StateStore) -> None:
        self.step = Step(
            EngagementCore(SHIPPED_POLICY, FakeDrafter()),
            scorer=None,  # type: ignore[arg-type]  # decide scores nothing
            clock=lambda: NOW,
            partitions=PARTITIONS,
        )
        self.store = store
        self.offsets = dict.fromkeys(range(PARTITIONS), 0)
        self.log: list[tuple[str, Decided]] = []

    def profiles(self, *customers: str) -> None:
        for customer in customers:
            self.store.put_profile(customer, opted_in(customer_id=customer))

    def feed(
        self, event: CrmEvent, logged_ms: int | None = None, copy_of: int | None = None
    ) -> Decided:
        """`logged_ms`: when the event reached Kafka; by default a second after it happened.
        `copy_of`: the input's offset in crm.events when this is a copy of one fed before
        (a restarted scoring stage sends its input's scored record again)."""
        if logged_ms is None:
            logged_ms = int(event.occurred_at.timestamp() * 1000) + 1_000
        partition = partition_for(event.customer_id, PARTITIONS)
        offset = self.offsets[partition]
        self.offsets[partition] += 1
        source_offset = len(self.log) if copy_of is None else copy_of
        source = SourcePosition(topic="crm.events", partition=0, offset=source_offset)
        scored = ScoredEvent(
            event=event, source=source.model_copy(update={"timestamp_ms": logged_ms})
        )
        decided = self.step.decide(scored, self.store, self._at(partition, offset))
        self.log.append((event.event_id, decided))
        return decided

    def tick(self, partition: int, caught_up_at: datetime) -> Decided:
        offset = self.offsets[partition]
        self.offsets[partition] += 1
        tick = StreamTick(partition=partition, caught_up_at=caught_up_at)
        decided = self.step.tick(tick, self._at(partition, offset), self.store)
        self.log.append((f"tick-{partition}", decided))
        return decided

    @staticmethod
    def _at(partition: int, offset: int) -> Position:
        return Position(source=f"engage.scored/{partition}", offset=offset)


def sent(decided: Decided) -> list[str]:
    return [m.source_event_id for o in decided.released for m in o.messages]


def reasons(decided: Decided) -> list[tuple[str, str]]:
    outcomes = [*([decided.outcome] if decided.outcome else []), *decided.released]
    return [(s.source_event_id, s.reason.value) for o in outcomes for s in o.suppressions]


@STORES
def test_another_customers_event_in_the_partition_releases_a_due_cart(
    new_store: Callable[[], StateStore],
) -> None:
    shopper, neighbour, elsewhere = customer_in(0), customer_in(0, 1), customer_in(1)
    stage = Partitions(new_store())
    stage.profiles(shopper)
    stage.feed(cart("c1", customer_id=shopper, when=kst(2026, 11, 30, 10, 0)))
    later = kst(2026, 11, 30, 11, 10)
    assert sent(stage.feed(cart("x1", customer_id=elsewhere, when=later))) == [], "partition 1"
    not_yet = stage.feed(cart("n1", customer_id=neighbour, when=kst(2026, 11, 30, 11, 4)))
    assert sent(not_yet) == [], "due 11:00, but stream time is 11:04 less the lateness"
    released = stage.feed(cart("n2", customer_id=neighbour, when=kst(2026, 11, 30, 11, 5)))
    assert sent(released) == ["c1"]
    (output,) = [o for o in released.outputs if o.role is TopicRole.ACTIONS_EMAIL]
    assert output.key == shopper.encode()
    late = stage.feed(cart("n3", customer_id=neighbour, when=kst(2026, 11, 30, 9, 0)))
    assert sent(late) == [], "a late event moves stream time neither back nor forth"


@STORES
def test_a_backfill_of_a_day_releases_nothing_before_the_exits_that_precede_it(
    new_store: Callable[[], StateStore],
) -> None:
    """A day of old events read in order long after they happened: each reminder goes when
    the stream reaches its due time, so an order placed before that always wins."""
    buyer, browser, clock = customer_in(2), customer_in(2, 1), customer_in(2, 2)
    stage = Partitions(new_store())
    stage.profiles(buyer, browser)
    day = kst(2026, 11, 20, 8, 0)
    events: list[CrmEvent] = []
    for minutes in range(0, 24 * 60, 10):  # another customer's traffic all day
        events.append(cart(f"t{minutes}", customer_id=clock, when=day + timedelta(minutes=minutes)))
    events.append(cart("buyer-cart", customer_id=buyer, when=day + timedelta(hours=2)))
    events.append(
        order_placed(
            "buyer-order", "ORD-1", customer_id=buyer, when=day + timedelta(hours=2, minutes=55)
        )
    )
    events.append(cart("browser-cart", customer_id=browser, when=day + timedelta(hours=2)))
    events.sort(key=lambda e: e.occurred_at)
    for event in events:
        stage.feed(event)

    released_at = {i: e for e, d in stage.log for i in sent(d)}
    exited = [(e, r) for e, d in stage.log for r in reasons(d) if r[1] == "exited"]
    assert exited == [("buyer-order", ("buyer-cart", "exited"))]
    assert "buyer-cart" not in released_at
    assert released_at["browser-cart"] == "t190", "the first event at 11:10, past 10:00 + 65 min"
    order_index = [e for e, _ in stage.log].index("buyer-order")
    assert all(
        not sent(d) or e == "t200" or i > order_index
        for i, (e, d) in enumerate(stage.log)
        if "browser-cart" in sent(d)
    )


@STORES
def test_a_backfilled_input_read_again_after_later_records_keeps_its_first_due(
    new_store: Callable[[], StateStore],
) -> None:
    """A scoring stage that restarted sends a copy of its input after records that moved
    stream time on: the copy decides as the first read did, held until the same time."""
    shopper, neighbour = customer_in(3), customer_in(3, 1)
    stage = Partitions(new_store())
    stage.profiles(shopper)
    logged = int(kst(2026, 11, 27, 10, 0).timestamp() * 1000)  # a week late: a backfill
    stage.feed(cart("t1", customer_id=neighbour, when=kst(2026, 11, 20, 10, 30)), logged)
    trigger = cart("c1", customer_id=shopper, when=kst(2026, 11, 20, 10, 0))
    first = stage.feed(trigger, logged)
    stage.feed(cart("t2", customer_id=neighbour, when=kst(2026, 11, 20, 10, 50)), logged)
    again = stage.feed(trigger, logged, copy_of=1)

    def held(decided: Decided) -> list[str]:
        assert decided.outcome is not None
        assert decided.outcome.enriched is not None
        return [d.detail for d in decided.outcome.enriched.decisions if d.kind.value == "held"]

    stream_due = (kst(2026, 11, 20, 10, 30) - LATENESS + timedelta(hours=1)).isoformat()
    (first_held,) = held(first)
    assert first_held.startswith(f"held until {stream_due};")
    assert held(again) == held(first)
    state = stage.store.state(shopper)
    assert state is not None
    assert [p.due.isoformat() for p in state.held] == [stream_due]


@STORES
def test_an_idle_tick_releases_by_the_wall_clock_but_does_not_move_stream_time(
    new_store: Callable[[], StateStore],
) -> None:
    shopper, backfilled = customer_in(3), customer_in(3, 1)
    stage = Partitions(new_store())
    stage.profiles(shopper, backfilled)
    stage.feed(cart("c1", customer_id=shopper, when=kst(2026, 11, 30, 10, 0)))
    assert sent(stage.tick(3, kst(2026, 11, 30, 11, 4))) == [], "due 11:00; 11:04 less 5 min"
    assert sent(stage.tick(3, kst(2026, 11, 30, 11, 6))) == ["c1"]
    assert sent(stage.tick(3, kst(2026, 11, 30, 12, 0))) == [], "released once"

    # A backfill after the tick: its reminder waits for its own stream time and its exit.
    old = kst(2026, 11, 29, 10, 0)
    logged = int(kst(2026, 11, 30, 12, 1).timestamp() * 1000)
    assert sent(stage.feed(cart("old", customer_id=backfilled, when=old), logged)) == []
    order = order_placed(
        "old-order", "ORD-2", customer_id=backfilled, when=old + timedelta(minutes=30)
    )
    assert reasons(stage.feed(order, logged)) == [("old", "exited")]


@STORES
def test_a_tick_moves_a_backfilled_partition_only_by_the_time_it_sat_idle(
    new_store: Callable[[], StateStore],
) -> None:
    """The last record read happened a week before it reached Kafka: the tick at the
    clock cannot mean the backfill is over, so its stream time moves by the idle time."""
    shopper = customer_in(1)
    stage = Partitions(new_store())
    stage.profiles(shopper)
    old = kst(2026, 11, 20, 10, 0)
    logged_at = kst(2026, 11, 27, 10, 0)
    stage.feed(cart("old", customer_id=shopper, when=old), int(logged_at.timestamp() * 1000))
    idle = timedelta(minutes=30)
    assert sent(stage.tick(1, logged_at + idle)) == [], "10:25 on the 20th: not due (11:00)"
    assert sent(stage.tick(1, logged_at + timedelta(minutes=70))) == ["old"]


@STORES
def test_the_end_of_a_replay_ticks_every_partition(new_store: Callable[[], StateStore]) -> None:
    customers = [customer_in(p) for p in range(PARTITIONS)]
    stage = Partitions(new_store())
    stage.profiles(*customers)
    for i, customer in enumerate(customers):
        stage.feed(cart(f"c{i}", customer_id=customer, when=kst(2026, 11, 30, 9, i)))
    end = stage.step.advance_to(
        kst(2026, 11, 30, 12, 0), Position(source="replay:end", offset=0), stage.store
    )
    assert sorted(sent(end)) == ["c0", "c1", "c2", "c3"]


def _restartable(shopper: str) -> Callable[[], Partitions]:
    """A live stateful stage that can be restarted: each call is a new process over the
    same tables (all a restart keeps), the shopper's profile kept."""
    profiles: dict[bytes, bytes] = {}
    states: dict[bytes, bytes] = {}
    parts: dict[bytes, bytes] = {}

    def restarted() -> Partitions:
        stage = Partitions(TableStore(profiles, states, parts, partitions=PARTITIONS))
        stage.profiles(shopper)
        return stage

    return restarted


def test_a_restarted_live_store_releases_from_its_tables_and_again_for_an_input_redone() -> None:
    """After a restart the tables are all there is: held offers come back from them, and an
    input processed again (its offset was not committed) releases again what it released."""
    shopper, neighbour = customer_in(0), customer_in(0, 1)
    restarted = _restartable(shopper)

    stage = restarted()
    stage.feed(cart("c1", customer_id=shopper, when=kst(2026, 11, 30, 10, 0)))

    stage = restarted()  # killed between holding and releasing
    stage.offsets[0] = 1
    first = stage.feed(cart("n1", customer_id=neighbour, when=kst(2026, 11, 30, 11, 30)))
    assert sent(first) == ["c1"]

    stage = restarted()  # killed before that input's offset was committed
    stage.offsets[0] = 1
    again = stage.feed(cart("n1", customer_id=neighbour, when=kst(2026, 11, 30, 11, 30)))
    assert sent(again) == ["c1"]
    assert _emails(again) == _emails(first), "the same id and body"

    stage = restarted()  # committed: the next input finds it released
    stage.offsets[0] = 2
    assert sent(stage.feed(cart("n2", customer_id=neighbour, when=kst(2026, 11, 30, 11, 40)))) == []


def test_a_redo_after_a_restart_releases_again_what_went_out_after_the_commit() -> None:
    """The shopper holds an offer that ended before the commit (exited by an order) and
    one released after it, whose e-mail the crash lost while the state write got out. The
    restarted stage first meets the shopper at an input where only the ended offer is
    due: the other, reopened as of that input, must stay waiting for the input that
    released it, which releases it again."""
    shopper, neighbour = customer_in(0), customer_in(0, 1)
    restarted = _restartable(shopper)

    stage = restarted()
    stage.feed(cart("c1", customer_id=shopper, when=kst(2026, 11, 30, 10, 0)))
    stage.feed(order_placed("o1", "ORD-1", customer_id=shopper, when=kst(2026, 11, 30, 10, 20)))
    stage.feed(cart("c2", customer_id=shopper, when=kst(2026, 11, 30, 10, 30)))
    assert sent(stage.feed(cart("n1", customer_id=neighbour, when=kst(2026, 11, 30, 11, 10)))) == []
    first = stage.feed(cart("n2", customer_id=neighbour, when=kst(2026, 11, 30, 11, 40)))
    assert sent(first) == ["c2"]

    stage = restarted()  # committed up to n1: n1 and n2 are processed again
    stage.offsets[0] = 3
    stage.feed(cart("n1", customer_id=neighbour, when=kst(2026, 11, 30, 11, 10)))
    again = stage.feed(cart("n2", customer_id=neighbour, when=kst(2026, 11, 30, 11, 40)))
    assert sent(again) == ["c2"]
    assert _emails(again) == _emails(first), "the same id and body"


def _emails(decided: Decided) -> list[Any]:
    return [o.value for o in decided.outputs if o.role is TopicRole.ACTIONS_EMAIL]


@STORES
def test_a_shell_with_no_positions_of_its_own_releases_an_offer_once(
    new_store: Callable[[], StateStore],
) -> None:
    """The replay passes no position for releases: the customer's own later events release
    the cart once, not again with each event."""
    stage = Partitions(new_store())
    shopper = customer_in(0)
    stage.profiles(shopper)
    sent_ids = []
    for offset, (event_id, when) in enumerate(
        (("c1", kst(2026, 11, 30, 10, 0)), ("v1", kst(2026, 11, 30, 11, 10)),
         ("v2", kst(2026, 11, 30, 11, 20)), ("v3", kst(2026, 11, 30, 11, 30)))
    ):  # fmt: skip
        event = cart(
            event_id, customer_id=shopper, when=when, value_krw=5_000 if offset else 30_000
        )
        source = SourcePosition(topic="crm.events", partition=0, offset=offset)
        decided = stage.step.decide(ScoredEvent(event=event, source=source), stage.store)
        sent_ids += sent(decided)
    assert sent_ids == ["c1"]
