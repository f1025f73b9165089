"""The customer's recent orders as the shop's records describe them, and which one a
customer's message is about.

Order events (`order.placed`, `order.shipped`, `order.delivered`, `order.cancelled`,
`refund.issued`) each leave an `OrderFact` in the customer's state; `orders_of` folds
them into one `Order` per order id. A draft may only use the facts of the single order
the message is about (`order_in_question`), so it never mixes in another order's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from engage_stream.enrichment.state import OrderFact, OrderFactKind, Position
from engage_stream.schemas.events import (
    OrderCancelledEvent,
    OrderDeliveredEvent,
    OrderEvent,
    OrderPlacedEvent,
    OrderShippedEvent,
    RefundIssuedEvent,
)

# A later fact of a stronger kind wins whatever the arrival order (a refund after delivery
# leaves the order refunded; a late "shipped" does not undo "delivered").
_RANK: dict[OrderFactKind, int] = {
    "placed": 0,
    "shipped": 1,
    "delivered": 2,
    "cancelled": 3,
    "refunded": 4,
}
_DIGITS = re.compile(r"\d{4,}")
_HANGUL_WORD = re.compile(r"[가-힣A-Za-z0-9]{2,}")


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    status: OrderFactKind
    items: tuple[str, ...] = ()
    total_krw: int | None = None
    placed_at: datetime | None = None
    shipped_at: datetime | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    estimated_delivery: date | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    refund_krw: int | None = None
    refunded_at: datetime | None = None


def fact_of(event: OrderEvent, position: Position) -> OrderFact:
    """The fact an order event states, as the state keeps it."""
    at = event.occurred_at
    payload = event.payload
    base = {"position": position, "order_id": payload.order_id, "at": at}
    if isinstance(event, OrderPlacedEvent):
        return OrderFact(
            **base,
            kind="placed",
            items=[item.name for item in event.payload.items],
            total_krw=event.payload.total_krw,
        )
    if isinstance(event, OrderShippedEvent):
        return OrderFact(
            **base,
            kind="shipped",
            carrier=event.payload.carrier,
            tracking_number=event.payload.tracking_number,
            estimated_delivery=event.payload.estimated_delivery,
        )
    if isinstance(event, OrderDeliveredEvent):
        return OrderFact(
            **base,
            kind="delivered",
            carrier=event.payload.carrier,
            tracking_number=event.payload.tracking_number,
        )
    if isinstance(event, OrderCancelledEvent):
        return OrderFact(**base, kind="cancelled")
    if isinstance(event, RefundIssuedEvent):
        return OrderFact(**base, kind="refunded", amount_krw=event.payload.amount_krw)
    raise TypeError(f"not an order event: {type(event).__name__}")


def orders_of(facts: Sequence[OrderFact]) -> list[Order]:
    """One `Order` per order id, the one mentioned last first."""
    by_id: dict[str, Order] = {}
    for fact in facts:
        order = by_id.get(fact.order_id) or Order(order_id=fact.order_id, status="placed")
        by_id[fact.order_id] = replace(
            order,
            status=fact.kind if _RANK[fact.kind] >= _RANK[order.status] else order.status,
            **_known(_stated(fact)),
        )
    latest = {fact.order_id: i for i, fact in enumerate(facts)}
    return sorted(by_id.values(), key=lambda o: latest[o.order_id], reverse=True)


def _stated(fact: OrderFact) -> dict[str, Any]:
    """The `Order` fields a fact states."""
    if fact.kind == "placed":
        return {
            "items": tuple(fact.items) or None,
            "total_krw": fact.total_krw,
            "placed_at": fact.at,
        }
    if fact.kind == "shipped":
        return {
            "carrier": fact.carrier,
            "tracking_number": fact.tracking_number,
            "shipped_at": fact.at,
            "estimated_delivery": fact.estimated_delivery,
        }
    if fact.kind == "delivered":
        return {
            "carrier": fact.carrier,
            "tracking_number": fact.tracking_number,
            "delivered_at": fact.at,
        }
    if fact.kind == "cancelled":
        return {"cancelled_at": fact.at}
    return {"refund_krw": fact.amount_krw, "refunded_at": fact.at}


def _known(values: dict[str, Any]) -> dict[str, Any]:
    """A later fact replaces earlier values, but an unknown (None) never erases a known one."""
    return {name: value for name, value in values.items() if value is not None}


def order_in_question(text: str, orders: Sequence[Order]) -> Order | None:
    """The order a message is about: the one whose id it quotes (in full or by its last
    four or more digits), else the only one whose item it names, else the one mentioned
    last. None when the customer has no orders on record."""
    if not orders:
        return None
    squeezed = re.sub(r"\s+", "", text).upper()
    quoted = [o for o in orders if o.order_id.upper() in squeezed]
    if not quoted:
        numbers = set(_DIGITS.findall(squeezed))
        quoted = [o for o in orders if any(_ends_with_digits(o.order_id, n) for n in numbers)]
    if len(quoted) == 1:
        return quoted[0]
    named = [o for o in orders if _names_an_item(squeezed, o)]
    if len(named) == 1:
        return named[0]
    return orders[0]


def _ends_with_digits(order_id: str, number: str) -> bool:
    digits = re.sub(r"\D", "", order_id)
    return len(number) >= 4 and digits.endswith(number)


def _names_an_item(squeezed_text: str, order: Order) -> bool:
    return any(word in squeezed_text for word in _item_words(order.items))


@lru_cache(maxsize=4_096)
def _item_words(items: tuple[str, ...]) -> frozenset[str]:
    """The words of an order's item names a message may quote (found once per order: a
    draft looks through every order on record)."""
    words = {w.upper() for item in items for w in _HANGUL_WORD.findall(item)}
    return frozenset(word for word in words if not word.isdigit())
