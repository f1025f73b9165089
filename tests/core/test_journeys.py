"""Journeys in the core: a delayed offer is held, taken back by an exit event, or released
once stream time reaches its due time, and placed as of its release."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from engage_stream.enrichment.state import MAX_PENDING, Position
from engage_stream.schemas.actions import ConsentBasis, SuppressionReason, action_id_for
from engage_stream.schemas.common import Channel
from engage_stream.schemas.customers import CustomerProfile
from engage_stream.schemas.enriched import DecisionKind
from engage_stream.schemas.events import (
    EventSource,
    LineItem,
    OrderPlaced,
    OrderPlacedEvent,
    RefundIssued,
    RefundIssuedEvent,
)
from tests.core.builders import (
    PROCESSED_AT,
    STATEFUL_TOPIC,
    Feeder,
    at,
    cart,
    consents,
    delivered,
    kst,
    opted_in,
    policy_with,
    profile,
)

CART_DUE = at(minutes=60)


def held_feeder(customer: CustomerProfile | None = None) -> Feeder:
    """A feeder that leaves held offers held: the test moves stream time itself."""
    return Feeder(profile=customer or opted_in(), release_at_due=False)


def at_input(offset: int) -> Position:
    return Position(source=STATEFUL_TOPIC, offset=offset)


def order(
    event_id: str, *, sku: str = "SKU-1", when: datetime, order_id: str = "ORD-9"
) -> OrderPlacedEvent:
    return OrderPlacedEvent(
        event_id=event_id,
        occurred_at=when,
        customer_id="cust-1",
        source=EventSource.APP,
        event_type="order.placed",
        payload=OrderPlaced(
            order_id=order_id,
            items=[LineItem(sku=sku, name="무선 이어폰", quantity=1, unit_price_krw=15_000)],
            total_krw=15_000,
        ),
    )


def refund(event_id: str, order_id: str, *, when: datetime) -> RefundIssuedEvent:
    return RefundIssuedEvent(
        event_id=event_id,
        occurred_at=when,
        customer_id="cust-1",
        source=EventSource.CRM,
        event_type="refund.issued",
        payload=RefundIssued(order_id=order_id, amount_krw=30_000),
    )


# -- held, exited, released -----------------------------------------------------------------


def test_a_cart_is_held_until_its_due_time_not_sent_when_it_is_read() -> None:
    feeder = held_feeder()
    outcome = feeder.feed(cart("e1"))
    assert outcome.messages == []
    assert outcome.suppressions == []
    assert outcome.enriched is not None
    (decision,) = outcome.enriched.decisions
    assert decision.kind is DecisionKind.HELD
    assert decision.action_id == action_id_for("e1", "abandoned_cart")
    assert CART_DUE.isoformat() in decision.detail
    assert "order.placed (cart_items)" in decision.detail
    assert feeder.state is not None
    (held,) = feeder.state.held
    assert (held.due, held.items) == (CART_DUE, ["SKU-1"])

    assert feeder.release(CART_DUE - timedelta(seconds=1), offset=1).messages == []
    (message,) = feeder.release(CART_DUE, offset=2).messages
    assert message.action_id == action_id_for("e1", "abandoned_cart")
    assert message.send_not_before == CART_DUE
    assert feeder.state.held == []
    assert feeder.release(CART_DUE + timedelta(days=1), offset=3).messages == [], "once"


def test_an_order_from_the_cart_before_the_reminder_is_due_takes_it_back() -> None:
    feeder = held_feeder()
    feeder.feed(cart("e1"))
    outcome = feeder.feed(order("o1", when=at(minutes=25)))
    (exited,) = outcome.suppressions
    assert exited.reason is SuppressionReason.EXITED
    assert exited.source_event_id == "e1"
    assert exited.suppression_id == action_id_for("e1", "suppressed:abandoned_cart")
    assert "order.placed o1" in exited.detail
    assert feeder.release(CART_DUE + timedelta(hours=1), offset=2).messages == []


def test_an_order_of_other_items_or_from_before_the_cart_leaves_the_reminder() -> None:
    feeder = held_feeder()
    feeder.feed(cart("e1"))
    assert feeder.feed(order("o1", sku="SKU-OTHER", when=at(minutes=10))).suppressions == []
    assert feeder.feed(order("o0", when=at(minutes=-5))).suppressions == [], "came before it"
    (message,) = feeder.release(CART_DUE, offset=3).messages
    assert message.template_id == "abandoned_cart.v1"


def test_any_order_exits_when_the_policy_says_any() -> None:
    policy = policy_with({"outbound.rules.abandoned_cart.exit_on": [{"event": "order.placed"}]})
    feeder = Feeder(policy, profile=opted_in(), release_at_due=False)
    feeder.feed(cart("e1"))
    (exited,) = feeder.feed(order("o1", sku="SKU-OTHER", when=at(minutes=10))).suppressions
    assert exited.reason is SuppressionReason.EXITED


def test_a_review_request_exits_on_a_refund_of_its_own_order_only() -> None:
    feeder = held_feeder()
    feeder.feed(delivered("d1", "ORD-1"))
    assert feeder.feed(refund("r0", "ORD-OTHER", when=at(hours=5))).suppressions == []
    (exited,) = feeder.feed(refund("r1", "ORD-1", when=at(hours=6))).suppressions
    assert (exited.rule, exited.reason) == ("review_request", SuppressionReason.EXITED)
    assert feeder.release(at(days=10), offset=9).messages == []


# -- placed at release ------------------------------------------------------------------------


def test_a_release_soon_after_the_due_time_is_placed_at_the_due_time_whatever_released_it() -> None:
    """In a stream that keeps moving, which event first passes the due time depends on how
    the source partitions interleave: the message must not."""
    bodies = []
    for late_by in (timedelta(seconds=1), timedelta(minutes=4)):
        feeder = held_feeder()
        feeder.feed(cart("e1"))
        (message,) = feeder.release(CART_DUE + late_by, offset=1).messages
        assert message.send_not_before == CART_DUE
        bodies.append(message)
    assert bodies[0] == bodies[1]
    feeder = held_feeder()
    feeder.feed(cart("e1"))
    (late,) = feeder.release(CART_DUE + timedelta(minutes=30), offset=1).messages
    assert late.send_not_before == CART_DUE + timedelta(minutes=30), "a jump: placed at release"


def test_a_release_at_night_holds_an_sms_advertisement_to_eight_with_its_window() -> None:
    customer = profile(preferred=Channel.SMS, consent=consents(sms=(True, False)))
    feeder = held_feeder(customer=customer)
    feeder.feed(cart("e1", when=kst(2026, 3, 10, 18, 30)))  # due 19:30, a daytime reminder
    (message,) = feeder.release(kst(2026, 3, 10, 23, 0), offset=1).messages
    assert message.channel is Channel.SMS
    assert message.send_not_before == kst(2026, 3, 11, 8, 0)
    assert message.consent_basis is ConsentBasis.ADVERTISING_OPT_IN
    window = message.send_window
    assert window is not None
    assert (window.start, window.end, window.timezone) == (time(8), time(21), "Asia/Seoul")


def test_friendtalk_carries_kakaos_narrower_window_and_email_none() -> None:
    friend = profile(
        preferred=Channel.KAKAO_FRIENDTALK,
        kakao_friend=True,
        consent=consents(kakao_friendtalk=(True, True)),
    )
    (message,) = Feeder(profile=friend).feed(cart("e1")).messages
    assert message.channel is Channel.KAKAO_FRIENDTALK
    assert message.send_window is not None
    assert (message.send_window.start, message.send_window.end) == (time(8), time(20))
    (email,) = Feeder(profile=opted_in()).feed(cart("e2")).messages
    assert email.send_window is None, "e-mail is exempt from the night rule"


def test_consent_withdrawn_before_the_release_suppresses_it_then() -> None:
    feeder = held_feeder()
    feeder.feed(cart("e1"))
    withdrawn = opted_in(consent=consents(email=(False, False)))
    released = feeder.release(CART_DUE, offset=1, profile=withdrawn)
    (suppression,) = released.suppressions
    assert suppression.reason is SuppressionReason.NO_ADVERTISING_CONSENT
    assert released.messages == []


def test_a_rule_disabled_before_the_release_sends_nothing() -> None:
    feeder = held_feeder()
    feeder.feed(cart("e1"))
    off = policy_with({"outbound.rules.abandoned_cart.enabled": False})
    feeder.core = type(feeder.core)(off, feeder.drafter)
    (suppression,) = feeder.release(CART_DUE, offset=1).suppressions
    assert suppression.reason is SuppressionReason.RULE_DISABLED


def test_offers_due_together_compete_by_priority_under_the_daily_cap() -> None:
    feeder = held_feeder()
    feeder.feed(delivered("d1", "ORD-1", when=at(days=-3)))  # review request due now
    feeder.feed(cart("e1", when=at(minutes=-60)))  # reminder due now
    released = feeder.release(at(minutes=1), offset=2)
    (sent,) = released.messages
    assert sent.template_id == "abandoned_cart.v1", "priority 10 before the review's 30"
    (capped,) = released.suppressions
    assert (capped.rule, capped.reason) == ("review_request", SuppressionReason.FREQUENCY_CAP)


# -- stream time, idle ticks, crashes -----------------------------------------------------------


def test_a_release_processed_again_after_a_crash_releases_again_with_the_same_id() -> None:
    feeder = held_feeder()
    feeder.feed(cart("e1"))
    (first,) = feeder.release(CART_DUE, offset=5).messages
    assert feeder.state is not None
    stored = feeder.state
    again = feeder.core.release(
        "cust-1", feeder.profile, stored, CART_DUE, at_input(5), PROCESSED_AT
    )
    assert [m.action_id for m in again.messages] == [first.action_id]
    assert again.state is None, "the stored state already holds the release"
    later = feeder.core.release(
        "cust-1", feeder.profile, stored, CART_DUE, at_input(6), PROCESSED_AT
    )
    assert later.messages == [], "an input after the release finds it done"


def test_a_customer_holding_too_many_offers_loses_the_one_due_first() -> None:
    feeder = held_feeder()
    for i in range(MAX_PENDING):
        feeder.feed(cart(f"c{i}", when=at(minutes=i)))
    (dropped,) = feeder.feed(cart("c-last", when=at(minutes=MAX_PENDING))).suppressions
    assert dropped.reason is SuppressionReason.PENDING_LIMIT
    assert dropped.source_event_id == "c0"
    assert feeder.state is not None
    assert len(feeder.state.held) == MAX_PENDING
