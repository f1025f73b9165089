"""The index of held offers' due times: every customer with something due is found, and a
customer who keeps writing while holding an offer costs the index nothing more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from engage_stream.step.store import DueIndex

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _holding(*dues: datetime, closed: bool = False) -> Any:
    """A state as the index reads it: only its held offers' due times and ends."""
    return SimpleNamespace(
        pending=[SimpleNamespace(due=due, closed=object() if closed else None) for due in dues]
    )


def test_a_customer_holding_one_offer_is_indexed_once_however_often_it_writes() -> None:
    index = DueIndex(partitions=1)
    for _ in range(100):  # a chatty customer with a cart reminder waiting
        index.add("c1", _holding(T0 + timedelta(hours=1)))
    assert len(index) == 1
    assert index.take(0, T0) == []
    assert index.take(0, T0 + timedelta(hours=1)) == ["c1"]
    assert len(index) == 0


def test_an_entry_left_by_an_earlier_due_time_is_passed_over() -> None:
    index = DueIndex(partitions=1)
    index.add("c1", _holding(T0 + timedelta(minutes=10)))
    index.add("c1", _holding(T0 + timedelta(hours=2)))  # the first offer exited
    assert index.take(0, T0 + timedelta(hours=1)) == []
    assert index.take(0, T0 + timedelta(hours=2)) == ["c1"]


def test_an_offer_due_sooner_is_found_at_its_own_time() -> None:
    index = DueIndex(partitions=1)
    index.add("c1", _holding(T0 + timedelta(hours=2)))
    index.add("c1", _holding(T0 + timedelta(minutes=10), T0 + timedelta(hours=2)))
    assert index.take(0, T0 + timedelta(minutes=10)) == ["c1"]
    index.add("c1", _holding(T0 + timedelta(hours=2)))  # kept: the later one still waits
    assert index.take(0, T0 + timedelta(hours=2)) == ["c1"]


def test_a_customer_found_and_kept_again_is_found_again() -> None:
    index = DueIndex(partitions=1)
    index.add("c1", _holding(T0))
    assert index.take(0, T0) == ["c1"]
    index.add("c1", _holding(T0))  # `keep_due`: nothing was released after all
    assert index.take(0, T0) == ["c1"]


def test_ended_offers_count_only_when_the_index_is_rebuilt() -> None:
    index = DueIndex(partitions=1)
    index.add("c1", _holding(T0, closed=True))
    assert index.take(0, T0) == []
    index.rebuilt([("c1", _holding(T0, closed=True))])
    assert index.take(0, T0) == ["c1"]


def test_held_counts_the_offers_still_waiting_over_every_customer() -> None:
    index = DueIndex(partitions=2)
    index.add("c1", _holding(T0 + timedelta(hours=1), T0 + timedelta(hours=3)))
    index.add("c2", _holding(T0 + timedelta(hours=2)))
    assert index.held == 3
    index.add("c1", _holding(T0 + timedelta(hours=3)))  # one exited: the count follows
    assert index.held == 2
    for partition in range(2):  # being released: no longer held
        index.take(partition, T0 + timedelta(hours=2))
    assert index.held == 1
    index.add("c1", _holding(T0 + timedelta(hours=3), closed=True))  # all ended
    assert index.held == 0


def test_after_a_rebuild_ended_offers_are_indexed_but_not_counted_as_held() -> None:
    index = DueIndex(partitions=1)
    index.rebuilt([("c1", _holding(T0, closed=True)), ("c2", _holding(T0))])
    assert len(index) == 2
    assert index.held == 1
