"""CustomerState: positions on every entry, `as_of` for reprocessing, bounded growth."""

from __future__ import annotations

import json
import random

import pytest

from engage_stream.core.processor import EngagementCore
from engage_stream.enrichment.state import (
    MAX_CONVERSATIONS,
    MAX_ORDERS,
    MAX_SEEN,
    MAX_SENT,
    MAX_TURNS,
    ClosedMark,
    ConversationState,
    CustomerState,
    HandoffMark,
    HeldOffer,
    OrderFact,
    PendingAction,
    Position,
    SentMessage,
    Turn,
)
from engage_stream.samples.generator import SampleConfig, SampleStream
from engage_stream.schemas.common import Channel
from engage_stream.schemas.enriched import SourcePosition
from engage_stream.schemas.events import Sender
from tests.core.builders import SHIPPED_POLICY, FakeDrafter, at
from tests.evaluation.realistic import BASELINE_MODEL

EVENTS = "crm.events/0"


def pos(offset: int, source: str = EVENTS) -> Position:
    return Position(source=source, offset=offset)


def turn(offset: int, source: str = EVENTS) -> Turn:
    return Turn(
        position=pos(offset, source),
        event_id=f"e{offset}",
        sender=Sender.CUSTOMER,
        text=f"turn {offset}",
        at=at(minutes=offset),
    )


def placed(order_id: str, offset: int) -> OrderFact:
    return OrderFact(order_id=order_id, position=pos(offset), at=at(minutes=offset))


def sent(offset: int, *, days: float = 0, advertising: bool = True) -> SentMessage:
    return SentMessage(
        position=pos(offset),
        action_id=f"a{offset}",
        channel=Channel.EMAIL,
        advertising=advertising,
        send_at=at(days=days),
    )


def busy_state() -> CustomerState:
    """Entries at offsets 1..5 of partition 0, and one from another partition."""
    conversation = ConversationState(
        conversation_id="conv-1",
        turns=[turn(1), turn(3), turn(5), turn(2, "crm.events/1")],
        handoff=HandoffMark(position=pos(3), action_id="h3", at=at(minutes=3)),
    )
    state = CustomerState(customer_id="cust-1", conversations={"conv-1": conversation})
    for offset in range(1, 6):
        state = state.with_seen(f"e{offset}", pos(offset))
    state = state.with_sent(sent(2)).with_sent(sent(4))
    return state.with_order_fact(placed("ORD-2", 2))


# -- positions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "other", "expected"),
    [
        (pos(5), pos(5), True),
        (pos(6), pos(5), True),
        (pos(4), pos(5), False),
        (pos(9, "crm.events/1"), pos(5), False),  # another partition is never "after"
        (pos(9, "crm.customers/0"), pos(5), False),
    ],
)
def test_at_or_after_compares_offsets_within_one_input_partition_only(
    position: Position, other: Position, expected: bool
) -> None:
    assert position.at_or_after(other) is expected


# -- as_of: the state before a record was first processed -----------------------------------


def test_as_of_drops_everything_written_at_or_after_the_position() -> None:
    before = busy_state().as_of(pos(3))
    conversation = before.conversations["conv-1"]
    assert [t.event_id for t in conversation.turns] == ["e1", "e2"]  # e2 is partition 1
    assert conversation.handoff is None
    assert [s.event_id for s in before.seen] == ["e1", "e2"]
    assert [m.action_id for m in before.sent] == ["a2"]
    assert before.last_order_id == "ORD-2"


def test_as_of_keeps_entries_before_the_position() -> None:
    state = busy_state()
    before = state.as_of(pos(4))
    assert before.conversations["conv-1"].handoff == state.conversations["conv-1"].handoff
    assert before.last_order_id == "ORD-2"
    assert [o.position for o in before.orders] == [pos(2)]


def test_as_of_at_the_start_forgets_the_order_and_empty_conversations() -> None:
    state = CustomerState(
        customer_id="cust-1",
        conversations={"conv-1": ConversationState(conversation_id="conv-1", turns=[turn(1)])},
    ).with_order_fact(placed("ORD-1", 1))
    before = state.as_of(pos(1))
    assert before.conversations == {}
    assert before.last_order_id is None
    assert before.orders == []


def test_as_of_a_later_position_changes_nothing() -> None:
    state = busy_state()
    assert state.as_of(pos(100)) == state


def test_as_of_returns_the_state_itself_exactly_when_nothing_is_rewound() -> None:
    # The core stores a new state only then: a rewound state must never be stored.
    state = busy_state()
    assert state.as_of(pos(100)) is state
    assert state.as_of(pos(3)) is not state


def test_as_of_a_position_on_another_input_changes_nothing() -> None:
    state = busy_state()
    assert state.as_of(pos(0, "crm.customers/0")) == state


def test_as_of_does_not_modify_the_state_it_reads() -> None:
    state = busy_state()
    copy = state.model_copy(deep=True)
    state.as_of(pos(1))
    assert state == copy


# -- dedupe ---------------------------------------------------------------------------------


def test_seen_at_says_where_an_event_id_was_first_processed() -> None:
    state = busy_state()
    assert state.seen_at("e4") == pos(4)
    assert state.seen_at("nope") is None


# -- bounded growth -------------------------------------------------------------------------


def test_the_seen_list_keeps_only_the_latest_event_ids() -> None:
    state = CustomerState(customer_id="cust-1")
    for offset in range(MAX_SEEN + 100):
        state = state.with_seen(f"e{offset}", pos(offset))
    assert len(state.seen) == MAX_SEEN
    assert state.seen[0].event_id == "e100"
    assert state.seen[-1].event_id == f"e{MAX_SEEN + 99}"


def test_a_conversation_keeps_only_its_latest_turns() -> None:
    conversation = ConversationState(conversation_id="conv-1")
    for offset in range(MAX_TURNS + 7):
        conversation = conversation.with_turn(turn(offset))
    assert len(conversation.turns) == MAX_TURNS
    assert conversation.turns[0].event_id == "e7"


def test_the_least_recently_used_conversation_is_dropped_first() -> None:
    state = CustomerState(customer_id="cust-1")
    for n in range(MAX_CONVERSATIONS):
        state = state.with_conversation(ConversationState(conversation_id=f"conv-{n}"))
    state = state.with_conversation(ConversationState(conversation_id="conv-0", turns=[turn(1)]))
    state = state.with_conversation(ConversationState(conversation_id="conv-new"))
    assert len(state.conversations) == MAX_CONVERSATIONS
    assert "conv-1" not in state.conversations  # the oldest untouched one
    assert "conv-0" in state.conversations
    assert list(state.conversations)[-2:] == ["conv-0", "conv-new"]


def test_sent_advertising_is_kept_by_count_not_age() -> None:
    state = CustomerState(customer_id="cust-1")
    for n in range(MAX_SENT + 5):
        state = state.with_sent(sent(n, days=n * 30))
    assert [m.action_id for m in state.sent] == [f"a{n}" for n in range(5, MAX_SENT + 5)]


def test_transactional_messages_are_not_kept_for_the_caps() -> None:
    state = CustomerState(customer_id="cust-1").with_sent(sent(1, advertising=False))
    assert state.sent == []


def test_as_of_restores_the_order_a_later_order_replaced() -> None:
    state = CustomerState(customer_id="cust-1").with_order_fact(placed("ORD-1", 1))
    state = state.with_order_fact(placed("ORD-2", 3))
    assert state.last_order_id == "ORD-2"
    assert state.as_of(pos(2)).last_order_id == "ORD-1"


def test_conversation_returns_an_empty_one_for_a_new_id() -> None:
    conversation = busy_state().conversation("conv-unknown")
    assert conversation.conversation_id == "conv-unknown"
    assert conversation.turns == []
    assert conversation.handoff is None


# -- the changelog form ---------------------------------------------------------------------


def test_the_state_round_trips_through_json_as_the_changelog_stores_it() -> None:
    state = busy_state()
    assert CustomerState.model_validate_json(state.model_dump_json()) == state


def test_state_is_immutable() -> None:
    state = busy_state()
    with pytest.raises(ValueError, match="frozen"):
        state.customer_id = "other"  # type: ignore[misc]


def test_a_state_written_before_order_facts_reads_as_placed_orders() -> None:
    old = (
        '{"customer_id": "cust-1", "orders": '
        '[{"position": {"source": "crm.events/0", "offset": 7}, "order_id": "ORD-7"}]}'
    )
    state = CustomerState.model_validate_json(old)
    assert state.orders == [OrderFact(order_id="ORD-7", position=pos(7))]
    assert state.orders[0].kind == "placed"


def test_facts_of_the_orders_mentioned_last_are_kept() -> None:
    state = CustomerState(customer_id="cust-1")
    for offset in range(MAX_ORDERS):
        state = state.with_order_fact(placed(f"ORD-{offset}", offset))
    shipped = OrderFact(order_id="ORD-1", kind="shipped", position=pos(98), carrier="CJ대한통운")
    state = state.with_order_fact(shipped).with_order_fact(placed("ORD-new", 99))
    kept = {fact.order_id for fact in state.orders}
    assert len(kept) == MAX_ORDERS
    assert "ORD-0" not in kept
    assert "ORD-1" in kept  # mentioned again last, so kept with both of its facts
    assert [f.kind for f in state.orders if f.order_id == "ORD-1"] == ["placed", "shipped"]


def test_a_state_stored_before_the_seen_log_reads_the_same() -> None:
    """Changelogs written by earlier versions hold `seen` as a list of entries."""
    old = {
        "customer_id": "cust-1",
        "seen": [
            {"position": {"source": "crm.events/0", "offset": 3}, "event_id": "e3"},
            {"position": {"source": "crm.events/0", "offset": 9}, "event_id": "e9"},
        ],
    }
    state = CustomerState.model_validate_json(json.dumps(old))
    assert state.seen_at("e9") == Position(source="crm.events/0", offset=9)
    assert [s.event_id for s in state.as_of(Position(source="crm.events/0", offset=9)).seen] == [
        "e3"
    ]
    again = CustomerState.model_validate_json(state.model_dump_json())
    assert again == state
    assert '"seen_log"' in state.model_dump_json()


# -- as_of on states the core wrote: the seen log answers for conversations -----------------


def _written_at_or_after(state: CustomerState, position: Position) -> bool:
    """The oracle: any entry of any list at or after `position`, by a full scan."""
    entries: list[Position] = [e.position for e in state.seen]
    entries += [m.position for m in state.sent] + [o.position for o in state.orders]
    for conversation in state.conversations.values():
        entries += [t.position for t in conversation.turns]
        if conversation.handoff is not None:
            entries.append(conversation.handoff.position)
    return any(entry.at_or_after(position) for entry in entries)


def test_as_of_rewinds_a_core_written_state_exactly_when_an_entry_is_at_or_after() -> None:
    # Events on two partitions per customer (a producer that mis-keys) and profile updates
    # between them, which write messages sent at positions of another topic.
    rng = random.Random(5)
    stream = SampleStream(SampleConfig(customers=12, seed=5))
    profiles = {p.customer_id: p for p in stream.profiles}
    core = EngagementCore(SHIPPED_POLICY, FakeDrafter())
    states: dict[str, CustomerState] = {}
    offsets = {"crm.events": [0, 0], "crm.customers": [0, 0]}

    def position_on(topic: str) -> SourcePosition:
        partition = rng.randrange(2)
        offsets[topic][partition] += 1
        return SourcePosition(topic=topic, partition=partition, offset=offsets[topic][partition])

    for event in stream.events(1_500):
        customer = event.customer_id
        outcome = core.process(
            event,
            position_on("crm.events"),
            BASELINE_MODEL.scores(event),
            profiles.get(customer),
            states.get(customer),
            at(days=30),
        )
        if outcome.state is not None:
            states[customer] = outcome.state
        if rng.random() < 0.05 and customer in profiles:
            outcome = core.process_profile(
                profiles[customer], position_on("crm.customers"), states.get(customer), at(days=30)
            )
            if outcome.state is not None:
                states[customer] = outcome.state
    checked = 0
    for state in states.values():
        for topic, partitions in offsets.items():
            for partition, last in enumerate(partitions):
                for offset in range(0, last + 2, 7):
                    position = pos(offset, f"{topic}/{partition}")
                    assert (state.as_of(position) is not state) is _written_at_or_after(
                        state, position
                    ), (state.customer_id, position)
                    checked += 1
    assert checked > 1_000
    assert any(state.sent for state in states.values())


def test_an_id_is_found_in_any_chunk_of_a_long_seen_log() -> None:
    state = CustomerState(customer_id="cust-1")
    for offset in range(MAX_SEEN + 30):
        state = state.with_seen(f"e{offset}", pos(offset))
    assert state.seen_at("e29") is None  # trimmed with the oldest
    assert state.seen_at("e30") == pos(30)
    assert state.seen_at(f"e{MAX_SEEN + 29}") == pos(MAX_SEEN + 29)
    assert state.seen_at("e-unknown") is None


def _offer(action_id: str, made: int, closed: int | None = None) -> PendingAction:
    return PendingAction(
        position=pos(made),
        action_id=action_id,
        rule="abandoned_cart",
        source_event_id=f"E{made}",
        due=at(hours=2),
        triggered_at=at(hours=1),
        offer=HeldOffer(template_id="abandoned_cart.v1", advertising=True, subject="s", body="b"),
        closed=None if closed is None else ClosedMark(position=pos(closed), how="released"),
    )


def test_an_offer_ended_by_a_later_input_is_open_again_as_of_that_input() -> None:
    # The offer made first was released by input 12, after the offer made at 8: the state as
    # of input 10 has it open, though nothing else in it was written at or after 10.
    state = CustomerState(customer_id="C1", pending=[_offer("a", 5, closed=12), _offer("b", 8)])
    before = state.as_of(pos(10))
    assert before is not state
    assert [(p.action_id, p.closed) for p in before.pending] == [("a", None), ("b", None)]
    assert state.as_of(pos(13)) is state
    assert state.as_of(pos(12, source="crm.customers/0")) is state  # another partition's
