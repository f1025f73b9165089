"""The live state store: objects in front of tables of JSON, the state kept in parts, and
a write that sends only the parts that changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engage_stream.enrichment.state import (
    MAX_SEEN,
    ConversationState,
    CustomerState,
    Position,
    Turn,
)
from engage_stream.schemas.events import Sender
from engage_stream.worker.tables import StateCodec, TableStore


class Recording(dict[bytes, bytes]):
    """A table that counts reads and remembers which keys were written."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.written: list[bytes] = []

    def get(self, key: bytes, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        self.reads += 1
        return super().get(key, default)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.written.append(key)
        super().__setitem__(key, value)


def _at(offset: int) -> Position:
    return Position(source="crm.events/0", offset=offset)


def _turn(offset: int, text: str = "배송 언제 와요") -> Turn:
    return Turn(
        position=_at(offset),
        event_id=f"e{offset}",
        sender=Sender.CUSTOMER,
        text=text,
        at=datetime(2026, 11, 27, 9, tzinfo=UTC) + timedelta(minutes=offset),
        intent="question",
        intent_score=0.91,
    )


def _busy(customer: str = "C-한글-1", conversations: int = 12, turns: int = 6) -> CustomerState:
    state = CustomerState(customer_id=customer)
    offset = 0
    for c in range(conversations):
        conversation = ConversationState(conversation_id=f"conv-{c}")
        for _ in range(turns):
            offset += 1
            conversation = conversation.with_turn(_turn(offset, f'{c}번째 문의 "따옴표" {offset}'))
            state = state.with_seen(f"e{offset}", _at(offset))
        state = state.with_conversation(conversation)
    return state


def _next_event(state: CustomerState, offset: int, conversation: str) -> CustomerState:
    changed = state.conversation(conversation).with_turn(_turn(offset, "바뀐 대화"))
    return state.with_conversation(changed).with_seen(f"e{offset}", _at(offset))


def test_a_state_written_in_parts_reads_back_equal() -> None:
    heads, parts = Recording(), Recording()
    state = _busy()
    StateCodec(heads, parts).write("C-한글-1", state)
    assert StateCodec(heads, parts).read("C-한글-1") == state  # a fresh worker, recovered


def test_an_event_rewrites_its_conversation_and_its_seen_chunk_not_the_history() -> None:
    heads, parts = Recording(), Recording()
    codec = StateCodec(heads, parts)
    state = _busy(conversations=12, turns=6)
    codec.write("C-한글-1", state)
    parts.written.clear()
    newer = _next_event(state, 999, "conv-3")
    codec.write("C-한글-1", newer)
    written = [key.decode().split("\x1f", 1)[1] for key in parts.written]
    assert written == ["c\x1fconv-3", "s\x1fcrm.events/0\x1f51"]
    assert StateCodec(heads, parts).read("C-한글-1") == newer


def test_a_full_seen_log_drops_its_oldest_chunk_entry_and_reads_back_equal() -> None:
    heads, parts = Recording(), Recording()
    codec = StateCodec(heads, parts)
    state = CustomerState(customer_id="C-1")
    for offset in range(MAX_SEEN + 30):
        state = state.with_seen(f"e{offset}", _at(offset))
        codec.write("C-1", state)
    parts.written.clear()
    state = state.with_seen("e-last", _at(10_000))
    codec.write("C-1", state)
    assert len(parts.written) <= 2  # the newest chunk and the trimmed oldest one
    recovered = StateCodec(heads, parts).read("C-1")
    assert recovered == state
    assert recovered is not None
    assert len(recovered.seen) == MAX_SEEN
    stale = [k for k in parts if b"\x1fs\x1f" in k and k.endswith(b"\x1f0")]
    assert stale == []  # the chunk that no longer exists was deleted


def test_a_full_seen_log_keeps_its_chunk_names_so_an_event_rewrites_no_head() -> None:
    # Trimming the oldest chunk at its front must not rename it: a renamed chunk costs a
    # delete, a new key and the head listing the parts, on every event of a long history.
    heads, parts = Recording(), Recording()
    codec = StateCodec(heads, parts)
    state = CustomerState(customer_id="C-1")
    for offset in range(MAX_SEEN + 30):
        state = state.with_seen(f"e{offset}", _at(offset))
        codec.write("C-1", state)
    names = set(parts)
    heads.written.clear()
    for offset in range(10_000, 10_010):  # within one chunk: none begins, none ends
        parts.written.clear()
        state = state.with_seen(f"e{offset}", _at(offset))
        codec.write("C-1", state)
        assert len(parts.written) == 2  # the newest chunk and the trimmed oldest
    assert heads.written == []
    assert set(parts) == names
    assert StateCodec(heads, parts).read("C-1") == state


def test_a_state_stored_whole_by_an_earlier_version_is_read_and_then_kept_in_parts() -> None:
    heads, parts = Recording(), Recording()
    state = _busy()
    heads["C-한글-1".encode()] = state.model_dump_json().encode()
    codec = StateCodec(heads, parts)
    assert codec.read("C-한글-1") == state
    newer = _next_event(state, 999, "conv-0")
    codec.write("C-한글-1", newer)
    assert StateCodec(heads, parts).read("C-한글-1") == newer


def test_a_state_is_decoded_once_then_served_as_the_same_object() -> None:
    heads, parts = Recording(), Recording()
    StateCodec(heads, parts).write("C-1", _busy("C-1"))
    store = TableStore({}, heads, parts)
    reads = heads.reads
    first = store.state("C-1")
    assert first is not None
    assert store.state("C-1") is first
    assert heads.reads == reads + 1
    store.forget()  # partitions moved: the tables are the truth again
    assert store.state("C-1") == first
    assert heads.reads == reads + 2


def test_the_cache_is_bounded_and_an_evicted_state_comes_back_from_the_tables() -> None:
    heads, parts = Recording(), Recording()
    store = TableStore({}, heads, parts, cached=2)
    for name in ("A", "B", "C"):
        store.put_state(name, _busy(name, conversations=2, turns=2))
    reads = heads.reads
    assert store.state("A") == _busy("A", conversations=2, turns=2)  # evicted: read again
    assert heads.reads == reads + 1
    assert store.state("C") is not None
    assert heads.reads == reads + 1


def test_profiles_are_kept_dropped_and_cached_the_same_way() -> None:
    from tests.core.builders import profile

    profiles: dict[bytes, bytes] = {}
    store = TableStore(profiles, {}, {})
    customer = profile()
    store.put_profile(customer.customer_id, customer)
    assert store.profile(customer.customer_id) is customer
    store.drop_profile(customer.customer_id)
    assert store.profile(customer.customer_id) is None
    assert profiles == {}


def test_a_part_lost_between_two_writes_reads_as_absent_not_as_an_error() -> None:
    heads, parts = Recording(), Recording()
    state = _busy("C-1", conversations=3, turns=2)
    StateCodec(heads, parts).write("C-1", state)
    del parts[b"C-1\x1fc\x1fconv-1"]
    recovered = StateCodec(heads, parts).read("C-1")
    assert recovered is not None
    assert set(recovered.conversations) == {"conv-0", "conv-2"}
    assert recovered.seen_at("e1") == _at(1)
