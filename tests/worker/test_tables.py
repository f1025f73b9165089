"""The live state store: objects in front of tables of JSON, the state kept in parts, and
a write that sends only the parts that changed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from engage_stream.enrichment.state import (
    MAX_SEEN,
    ConversationState,
    CustomerState,
    Position,
    Turn,
)
from engage_stream.schemas.customers import CustomerProfile
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


def _full_seen_log() -> tuple[Recording, Recording, StateCodec, CustomerState]:
    """A customer whose seen log has overflowed, written event by event."""
    heads, parts = Recording(), Recording()
    codec = StateCodec(heads, parts)
    state = CustomerState(customer_id="C-1")
    for offset in range(MAX_SEEN + 30):
        state = state.with_seen(f"e{offset}", _at(offset))
        codec.write("C-1", state)
    return heads, parts, codec, state


def test_a_full_seen_log_drops_its_oldest_chunk_entry_and_reads_back_equal() -> None:
    heads, parts, codec, state = _full_seen_log()
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
    heads, parts, codec, state = _full_seen_log()
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


# -- state across releases: the previous one's, and a newer one's after a rollback --------

FIXTURES = Path(__file__).parent / "fixtures"


def _stored(name: str) -> tuple[Recording, Recording, CustomerState]:
    document = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    heads, parts = Recording(), Recording()
    heads.update({k.encode(): v.encode() for k, v in document["heads"].items()})
    parts.update({k.encode(): v.encode() for k, v in document["parts"].items()})
    return heads, parts, CustomerState.model_validate(document["state"])


def test_a_state_the_previous_release_wrote_reads_back_and_takes_the_next_event() -> None:
    heads, parts, written = _stored("state-16bcba7.json")  # chunks named by first offset
    codec = StateCodec(heads, parts)
    state = codec.read("C-롤백-1")
    assert state == written
    newer = state.with_seen("E-0999", Position(source="crm.events/2", offset=999))
    newer = newer.with_conversation(ConversationState(conversation_id="CONV-9"))  # a new head
    codec.write("C-롤백-1", newer)
    listed = json.loads(heads["C-롤백-1".encode()])["parts"]
    assert all(f"C-롤백-1\x1f{name}".encode() in parts for name in listed)
    assert len(parts) == len(listed)  # the chunk stored under its old name is gone
    assert StateCodec(heads, parts).read("C-롤백-1") == newer


def test_fields_and_parts_a_newer_release_added_are_ignored_and_kept() -> None:
    heads, parts, written = _stored("state-16bcba7.json")
    head_key = "C-롤백-1".encode()
    head = json.loads(heads[head_key])
    pending = "C-롤백-1\x1fp\x1fcart-reminder"  # a part kind this release does not know
    head["parts"].append("p\x1fcart-reminder")
    head["stream_time"] = "2026-11-28T03:00:00Z"
    heads[head_key] = json.dumps(head, ensure_ascii=False).encode()
    parts[pending.encode()] = b'{"due_at": "2026-11-28T04:00:00Z"}'
    conversation_key = "C-롤백-1\x1fc\x1fCONV-1".encode()
    conversation = json.loads(parts[conversation_key])
    conversation["turns"][0]["language"] = "ko"  # a field added to a turn
    conversation["experiment_arm"] = "control"
    parts[conversation_key] = json.dumps(conversation, ensure_ascii=False).encode()

    codec = StateCodec(heads, parts)
    state = codec.read("C-롤백-1")
    assert state == written
    for offset in (200, 201):  # the next events, the second one adding a conversation
        state = state.with_seen(f"E-{offset}", Position(source="crm.events/2", offset=offset))
    state = state.with_conversation(ConversationState(conversation_id="CONV-2"))
    codec.write("C-롤백-1", state)
    assert parts[pending.encode()] == b'{"due_at": "2026-11-28T04:00:00Z"}'
    rewritten = json.loads(heads[head_key])
    assert "p\x1fcart-reminder" in rewritten["parts"]
    assert rewritten["stream_time"] == "2026-11-28T03:00:00Z"
    assert StateCodec(heads, parts).read("C-롤백-1") == state


def test_a_profile_a_newer_release_stored_with_more_fields_is_read() -> None:
    profile = CustomerProfile.model_validate(
        {
            "customer_id": "C-1",
            "name": "김민지",
            "updated_at": "2026-11-28T03:00:00+09:00",
        }
    )
    stored = json.loads(profile.model_dump_json())
    stored["kakao_channel_friend"] = True
    stored["consents"]["email"]["reconfirmed_at"] = "2026-11-01T00:00:00+09:00"
    profiles = Recording()
    profiles[b"C-1"] = json.dumps(stored, ensure_ascii=False).encode()
    store = TableStore(profiles, Recording(), Recording())
    assert store.profile("C-1") == profile
