"""ContiguousOffsets: every offset of a partition is handed over once, in order."""

from __future__ import annotations

from engage_stream.worker.offsets import (
    REFETCHES_BEFORE_ACCEPTING_A_GAP,
    ContiguousOffsets,
    Verdict,
)

TP = ("crm.events", 0)


def cursor_at(offset: int | None) -> ContiguousOffsets:
    offsets = ContiguousOffsets()
    offsets.reset(TP, offset)
    return offsets


def test_the_expected_record_is_handed_over_and_the_next_one_expected() -> None:
    offsets = cursor_at(128)
    assert offsets.check(TP, 128, batch=1) is Verdict.DELIVER
    offsets.delivered(TP, 128)
    assert offsets.expected(TP) == 129


def test_without_a_known_position_the_first_record_is_handed_over() -> None:
    offsets = cursor_at(None)
    assert offsets.check(TP, 40, batch=1) is Verdict.DELIVER
    assert ContiguousOffsets().check(TP, 7, batch=1) is Verdict.DELIVER


def test_a_record_handed_over_already_is_skipped() -> None:
    # A fetch from before a seek back to the committed offset comes in late.
    offsets = cursor_at(749)
    assert offsets.check(TP, 128, batch=5) is Verdict.SKIP
    assert offsets.check(TP, 748, batch=5) is Verdict.SKIP


def test_a_hole_asks_for_a_refetch_and_the_rest_of_that_fetch_is_skipped() -> None:
    offsets = cursor_at(129)
    assert offsets.check(TP, 130, batch=1) is Verdict.REFETCH
    assert offsets.check(TP, 131, batch=1) is Verdict.SKIP
    assert offsets.expected(TP) == 129
    assert offsets.check(TP, 129, batch=2) is Verdict.DELIVER


def test_a_hole_that_every_refetch_shows_again_is_accepted() -> None:
    # Retention deleted 129-139 before they were read: after a few tries, move on.
    offsets = cursor_at(129)
    verdicts = [
        offsets.check(TP, 140, batch=batch)
        for batch in range(1, REFETCHES_BEFORE_ACCEPTING_A_GAP + 2)
    ]
    assert verdicts == [Verdict.REFETCH] * REFETCHES_BEFORE_ACCEPTING_A_GAP + [Verdict.ACCEPT_GAP]
    offsets.delivered(TP, 140)
    assert offsets.check(TP, 141, batch=9) is Verdict.DELIVER


def test_a_refetch_that_fills_the_hole_starts_the_count_again() -> None:
    offsets = cursor_at(129)
    assert offsets.check(TP, 130, batch=1) is Verdict.REFETCH
    assert offsets.check(TP, 129, batch=2) is Verdict.DELIVER
    offsets.delivered(TP, 129)
    offsets.delivered(TP, 130)
    assert offsets.check(TP, 133, batch=3) is Verdict.REFETCH


def test_a_seek_or_a_revoked_partition_starts_over() -> None:
    offsets = cursor_at(500)
    offsets.reset(TP, 128)
    assert offsets.check(TP, 128, batch=1) is Verdict.DELIVER
    offsets.forget(TP)
    assert offsets.expected(TP) is None


def test_partitions_are_independent() -> None:
    offsets = cursor_at(10)
    other = ("crm.events", 1)
    offsets.reset(other, 3)
    assert offsets.check(TP, 12, batch=1) is Verdict.REFETCH
    assert offsets.check(other, 3, batch=1) is Verdict.DELIVER
