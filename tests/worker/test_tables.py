"""The live state store: objects in front of tables of JSON, and a codec that re-uses
the bytes of what did not change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engage_stream.enrichment.state import (
    ConversationState,
    CustomerState,
    Position,
    Turn,
)
from engage_stream.schemas.events import Sender
from engage_stream.worker.tables import StateCodec, TableStore


class CountingTable(dict[bytes, bytes]):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, key: bytes, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        self.reads += 1
        return super().get(key, default)


def _turn(offset: int, text: str = "배송 언제 와요") -> Turn:
    return Turn(
        position=Position(source="crm.events/0", offset=offset),
        event_id=f"e{offset}",
        sender=Sender.CUSTOMER,
        text=text,
        at=datetime(2026, 11, 27, 9, tzinfo=UTC) + timedelta(minutes=offset),
        intent="question",
        intent_score=0.91,
    )


def _busy(conversations: int = 12, turns: int = 6) -> CustomerState:
    state = CustomerState(customer_id="C-한글-1")
    offset = 0
    for c in range(conversations):
        conversation = ConversationState(conversation_id=f"conv-{c}")
        for _ in range(turns):
            offset += 1
            conversation = conversation.with_turn(_turn(offset, f'{c}번째 문의 "따옴표" {offset}'))
            state = state.with_seen(f"e{offset}", Position(source="crm.events/0", offset=offset))
        state = state.with_conversation(conversation)
    return state


def test_the_codec_writes_what_the_model_reads_back_equal() -> None:
    codec = StateCodec()
    state = _busy()
    assert CustomerState.model_validate_json(codec.encode("C-한글-1", state)) == state


def test_after_one_conversation_changes_the_bytes_are_still_the_whole_new_state() -> None:
    codec = StateCodec()
    state = _busy()
    codec.encode("C-한글-1", state)
    changed = state.conversation("conv-3").with_turn(_turn(999, "바뀐 대화"))
    newer = state.with_conversation(changed).with_seen(
        "e999", Position(source="crm.events/0", offset=999)
    )
    decoded = CustomerState.model_validate_json(codec.encode("C-한글-1", newer))
    assert decoded == newer
    assert decoded.conversation("conv-3").turns[-1].text == "바뀐 대화"
    assert decoded.seen_at("e999") == Position(source="crm.events/0", offset=999)


def test_a_state_is_decoded_once_then_served_as_the_same_object() -> None:
    states = CountingTable()
    states[b"C-1"] = _busy().model_copy(update={"customer_id": "C-1"}).model_dump_json().encode()
    store = TableStore({}, states)
    first = store.state("C-1")
    assert first is not None
    assert store.state("C-1") is first
    assert states.reads == 1
    store.forget()  # partitions moved: the table is the truth again
    assert store.state("C-1") == first
    assert states.reads == 2


def test_a_write_goes_to_the_table_and_the_cache_together() -> None:
    states: dict[bytes, bytes] = {}
    store = TableStore({}, states)
    state = _busy()
    store.put_state("C-한글-1", state)
    assert store.state("C-한글-1") is state
    assert CustomerState.model_validate_json(states["C-한글-1".encode()]) == state


def test_the_cache_is_bounded_and_an_evicted_state_comes_back_from_the_table() -> None:
    states = CountingTable()
    store = TableStore({}, states, cached=2)
    for name in ("A", "B", "C"):
        store.put_state(name, CustomerState(customer_id=name))
    assert states.reads == 0
    assert store.state("A") == CustomerState(customer_id="A")  # evicted: read again
    assert states.reads == 1
    assert store.state("C") is not None
    assert states.reads == 1
