"""Stream time carried in offset commits: a redo after a crash starts from the commit's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engage_stream.step.store import StreamTime
from engage_stream.worker.commit_times import (
    Committed,
    CommitTimes,
    StreamTimeMarks,
    decode,
    encode,
)
from engage_stream.worker.tables import TableStore

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _at(minutes: int) -> StreamTime:
    return StreamTime(T0 + timedelta(minutes=minutes), timedelta(seconds=30))


def _store() -> TableStore:
    return TableStore({}, {}, {}, partitions=4)


def test_a_commit_carries_the_stream_time_once_every_record_before_it_was_read() -> None:
    marks = StreamTimeMarks()
    for offset, minutes in [(10, 1), (11, 1), (12, 5), (13, 5), (14, 7)]:
        marks.read(0, offset, _at(minutes))
    assert marks.at_commit(0, 12) == _at(1)  # records 10 and 11 read, 12 not yet
    assert marks.at_commit(0, 14) == _at(5)
    assert marks.at_commit(0, 15) == _at(7)
    assert marks.at_commit(1, 15) is None  # nothing read there


def test_marks_dropped_at_a_commit_keep_the_one_still_in_force() -> None:
    marks = StreamTimeMarks()
    marks.read(0, 10, _at(1))
    marks.read(0, 20, _at(2))
    assert marks.at_commit(0, 21) == _at(2)
    assert marks.at_commit(0, 21) == _at(2)  # committed again at the same place
    marks.read(0, 21, _at(2))  # unchanged: no new mark
    assert marks.at_commit(0, 30) == _at(2)


def test_an_assigned_partition_starts_its_marks_from_the_commit() -> None:
    marks = StreamTimeMarks()
    marks.read(0, 50, _at(9))  # read before a rebalance, not committed
    marks.assigned(0, Committed(offset=41, time=_at(4)))
    assert marks.at_commit(0, 41) == _at(4)
    marks.assigned(0, Committed(offset=None, time=None))
    assert marks.at_commit(0, 41) is None


def test_metadata_round_trips_and_foreign_metadata_is_ignored() -> None:
    assert decode(encode(_at(3))) == _at(3)
    assert len(encode(_at(3))) < 200  # far below a broker's offset.metadata.max.bytes
    for foreign in ["", "faust", "[1, 2]", '{"other": 1}', '{"engage_stream_time": {}}']:
        assert decode(foreign) is None


def test_the_commits_stream_time_wins_over_a_table_written_past_it() -> None:
    store = _store()
    store.put_stream_time(2, _at(60), durable=True)  # written by records after the commit
    store.forget()  # the restart: tables recovered, nothing decoded
    store.assigned(2, Committed(offset=100, time=_at(10)))
    assert store.stream_time(2) == _at(10)
    store.forget()  # the assigned signal after the seek: still the commit's
    assert store.stream_time(2) == _at(10)


def test_a_partition_never_committed_starts_without_stream_time() -> None:
    store = _store()
    store.put_stream_time(1, _at(60), durable=True)
    store.forget()
    store.assigned(1, Committed(offset=None, time=None))
    assert store.stream_time(1) is None  # read again from its first record


def test_a_commit_without_our_metadata_leaves_the_tables_stream_time() -> None:
    store = _store()
    store.put_stream_time(3, _at(60), durable=True)
    store.forget()
    store.assigned(3, Committed(offset=100, time=None))
    assert store.stream_time(3) == _at(60)


def test_the_consumers_hooks_read_the_store_after_each_record() -> None:
    store = _store()
    commits = CommitTimes("engage.scored", store)
    store.put_stream_time(0, _at(1))
    commits.read(0, 7)
    store.put_stream_time(0, _at(2))
    commits.read(0, 8)
    assert decode(commits.metadata(0, 8)) == _at(1)
    assert decode(commits.metadata(0, 9)) == _at(2)
    assert commits.metadata(3, 9) == ""
    commits.assigned({0: Committed(offset=5, time=_at(0))})
    assert store.stream_time(0) == _at(0)
