"""The customer's orders from the shop's records, and which one a message is about."""

from __future__ import annotations

from datetime import date

import pytest

from engage_stream.enrichment.orders import Order, fact_of, order_in_question, orders_of
from engage_stream.enrichment.state import CustomerState, OrderFact, Position
from engage_stream.schemas.events import (
    EventSource,
    LineItem,
    OrderCancelled,
    OrderCancelledEvent,
    OrderDelivered,
    OrderDeliveredEvent,
    OrderPlaced,
    OrderPlacedEvent,
    OrderShipped,
    OrderShippedEvent,
    RefundIssued,
    RefundIssuedEvent,
)
from tests.core.builders import at

JACKET = LineItem(sku="SKU-JKT-07", name="경량 패딩 자켓", quantity=1, unit_price_krw=89_000)
TEE = LineItem(sku="SKU-TEE-01", name="오버핏 반팔 티셔츠", quantity=2, unit_price_krw=19_900)


def pos(offset: int) -> Position:
    return Position(source="crm.events/0", offset=offset)


def envelope(offset: int) -> dict[str, object]:
    return {
        "event_id": f"e{offset}",
        "occurred_at": at(hours=offset),
        "customer_id": "C1",
        "source": EventSource.CRM,
    }


def placed(order_id: str, offset: int, *items: LineItem) -> OrderFact:
    event = OrderPlacedEvent(
        **envelope(offset),
        event_type="order.placed",
        payload=OrderPlaced(order_id=order_id, items=list(items or [JACKET]), total_krw=89_000),
    )
    return fact_of(event, pos(offset))


def shipped(order_id: str, offset: int, eta: date | None = None) -> OrderFact:
    event = OrderShippedEvent(
        **envelope(offset),
        event_type="order.shipped",
        payload=OrderShipped(
            order_id=order_id,
            carrier="CJ대한통운",
            tracking_number="612345678901",
            estimated_delivery=eta,
        ),
    )
    return fact_of(event, pos(offset))


def delivered(order_id: str, offset: int) -> OrderFact:
    event = OrderDeliveredEvent(
        **envelope(offset),
        event_type="order.delivered",
        payload=OrderDelivered(order_id=order_id),
    )
    return fact_of(event, pos(offset))


def cancelled(order_id: str, offset: int) -> OrderFact:
    event = OrderCancelledEvent(
        **envelope(offset),
        event_type="order.cancelled",
        payload=OrderCancelled(order_id=order_id, reason="고객 요청"),
    )
    return fact_of(event, pos(offset))


def refunded(order_id: str, offset: int, amount: int) -> OrderFact:
    event = RefundIssuedEvent(
        **envelope(offset),
        event_type="refund.issued",
        payload=RefundIssued(order_id=order_id, amount_krw=amount),
    )
    return fact_of(event, pos(offset))


def test_facts_of_one_order_fold_into_its_latest_status_with_every_known_fact() -> None:
    [order] = orders_of(
        [placed("ORD-1", 1), shipped("ORD-1", 2, date(2026, 11, 28)), delivered("ORD-1", 3)]
    )
    assert order.status == "delivered"
    assert order.items == ("경량 패딩 자켓",)
    assert order.total_krw == 89_000
    assert (order.carrier, order.tracking_number) == ("CJ대한통운", "612345678901")
    assert order.estimated_delivery == date(2026, 11, 28)
    assert order.placed_at == at(hours=1)
    assert order.delivered_at == at(hours=3)


def test_a_delivery_without_carrier_does_not_erase_the_shipment_s() -> None:
    [order] = orders_of([shipped("ORD-1", 2), delivered("ORD-1", 3)])
    assert order.carrier == "CJ대한통운"


def test_a_late_shipment_record_does_not_undo_the_delivery() -> None:
    [order] = orders_of([delivered("ORD-1", 3), shipped("ORD-1", 2)])
    assert order.status == "delivered"


def test_a_refund_closes_a_cancelled_order_with_its_amount() -> None:
    [order] = orders_of([placed("ORD-1", 1), cancelled("ORD-1", 2), refunded("ORD-1", 3, 52_000)])
    assert order.status == "refunded"
    assert order.refund_krw == 52_000
    assert order.cancelled_at == at(hours=2)


def test_orders_come_most_recently_mentioned_first() -> None:
    orders = orders_of([placed("ORD-1", 1), placed("ORD-2", 2), shipped("ORD-1", 3)])
    assert [o.order_id for o in orders] == ["ORD-1", "ORD-2"]


def test_the_state_keeps_the_facts_and_as_of_forgets_later_ones() -> None:
    state = CustomerState(customer_id="C1")
    for fact in (placed("ORD-1", 1), shipped("ORD-1", 2)):
        state = state.with_order_fact(fact)
    assert orders_of(state.orders)[0].status == "shipped"
    assert orders_of(state.as_of(pos(2)).orders)[0].status == "placed"


def order(order_id: str, *items: str) -> Order:
    return Order(order_id=order_id, status="placed", items=items)


ORDERS = [
    order("ORD-20261128-0042", "경량 패딩 자켓"),
    order("ORD-20261120-0017", "오버핏 반팔 티셔츠", "볼캡 베이직"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ORD-20261120-0017 언제 와요?", "ORD-20261120-0017"),
        ("주문번호 ord-2026 1120-0017 확인 부탁드려요", "ORD-20261120-0017"),
        ("0017번 주문 언제 와요", "ORD-20261120-0017"),
        ("티셔츠 언제 와요?", "ORD-20261120-0017"),
        ("주문한 패딩 언제 와요?", "ORD-20261128-0042"),
        ("택배 언제 와요?", "ORD-20261128-0042"),  # nothing named: the order mentioned last
        ("패딩이랑 티셔츠 언제 와요?", "ORD-20261128-0042"),  # both named: the last one
    ],
)
def test_the_order_in_question(text: str, expected: str) -> None:
    chosen = order_in_question(text, ORDERS)
    assert chosen is not None
    assert chosen.order_id == expected


def test_no_order_on_record_means_no_order_in_question() -> None:
    assert order_in_question("주문한 패딩 언제 와요?", []) is None
