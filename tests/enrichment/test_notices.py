"""Notices remembered in the customer's state (consent re-confirmations): kept beside the
advertising the caps count, never pushed out by it, bounded, and rewound like the rest."""

from __future__ import annotations

from engage_stream.enrichment.state import (
    MAX_NOTICES,
    MAX_SENT,
    CustomerState,
    Position,
    SentMessage,
)
from engage_stream.policy.outbound import cap_exceeded
from engage_stream.schemas.common import Channel
from tests.core.builders import SHIPPED_POLICY, at


def message(offset: int, *, advertising: bool) -> SentMessage:
    return SentMessage(
        position=Position(source="crm.events/0", offset=offset),
        action_id=f"{'ad' if advertising else 'notice'}-{offset}",
        channel=Channel.EMAIL,
        advertising=advertising,
        send_at=at(days=offset),
    )


def test_a_notice_outlives_any_number_of_advertisements() -> None:
    state = CustomerState(customer_id="cust-1").with_notice(message(0, advertising=False))
    for offset in range(1, MAX_SENT + 20):
        state = state.with_sent(message(offset, advertising=True))
    assert [m.action_id for m in state.sent if not m.advertising] == ["notice-0"]
    assert sum(m.advertising for m in state.sent) == MAX_SENT
    assert state.sent[1].action_id == "ad-20"  # the oldest advertising went, in order


def test_notices_are_bounded_the_oldest_going_first() -> None:
    state = CustomerState(customer_id="cust-1").with_sent(message(0, advertising=True))
    for offset in range(1, MAX_NOTICES + 3):
        state = state.with_notice(message(offset, advertising=False))
    kept = [m.action_id for m in state.sent if not m.advertising]
    assert kept == [f"notice-{n}" for n in range(3, MAX_NOTICES + 3)]
    assert state.sent[0].action_id == "ad-0"


def test_a_notice_counts_toward_no_frequency_cap() -> None:
    state = CustomerState(customer_id="cust-1").with_notice(message(0, advertising=False))
    assert cap_exceeded(at(), state.sent, SHIPPED_POLICY.outbound) is None


def test_a_notice_is_rewound_with_the_record_that_sent_it() -> None:
    state = CustomerState(customer_id="cust-1").with_notice(message(5, advertising=False))
    assert state.as_of(Position(source="crm.events/0", offset=5)).sent == []
    assert state.as_of(Position(source="crm.events/0", offset=6)) is state
