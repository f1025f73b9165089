"""Events made when their time comes: a session schedules each of its events as a maker,
and the timeline gives it its id and time once every earlier event has been emitted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from engage_stream.schemas.events import (
    CartAbandoned,
    CartAbandonedEvent,
    ChatMessage,
    ChatMessageEvent,
    CrmEvent,
    EmailInbound,
    EmailInboundEvent,
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
    PageType,
    PageView,
    PageViewEvent,
    RefundIssued,
    RefundIssuedEvent,
    Sender,
    TicketCategory,
    TicketCreated,
    TicketCreatedEvent,
)

Maker = Callable[[str, datetime], CrmEvent]
"""Builds the event once the timeline knows its id and time."""
Asked = tuple[str, str | None, bool]
"""A check-file question's topic, its answer id, and whether that answer id is a judgement
(bank-check) rather than nobody's (topic-check): the question's label."""


def chat_maker(
    customer_id: str, source: EventSource, conversation_id: str, sender: Sender, text: str
) -> Maker:
    def make(event_id: str, occurred_at: datetime) -> CrmEvent:
        return ChatMessageEvent(
            event_id=event_id,
            event_type="chat.message",
            occurred_at=occurred_at,
            customer_id=customer_id,
            source=source,
            conversation_id=conversation_id,
            payload=ChatMessage(text=text, sender=sender),
        )

    return make


def page_maker(
    customer_id: str, source: EventSource, url: str, page_type: PageType, sku: str | None = None
) -> Maker:
    def make(event_id: str, occurred_at: datetime) -> CrmEvent:
        return PageViewEvent(
            event_id=event_id,
            event_type="page.view",
            occurred_at=occurred_at,
            customer_id=customer_id,
            source=source,
            payload=PageView(url=url, page_type=page_type, product_id=sku),
        )

    return make


def order_maker(
    customer_id: str, source: EventSource, order_id: str, items: list[LineItem], total: int
) -> Maker:
    def make(event_id: str, occurred_at: datetime) -> CrmEvent:
        return OrderPlacedEvent(
            event_id=event_id,
            event_type="order.placed",
            occurred_at=occurred_at,
            customer_id=customer_id,
            source=source,
            payload=OrderPlaced(order_id=order_id, items=items, total_krw=total),
        )

    return make


def delivered_maker(customer_id: str, order_id: str, carrier: str, tracking: str) -> Maker:
    def make(event_id: str, occurred_at: datetime) -> CrmEvent:
        return OrderDeliveredEvent(
            event_id=event_id,
            event_type="order.delivered",
            occurred_at=occurred_at,
            customer_id=customer_id,
            source=EventSource.CRM,
            payload=OrderDelivered(order_id=order_id, carrier=carrier, tracking_number=tracking),
        )

    return make


def shipped_maker(customer_id: str, order_id: str, carrier: str, tracking: str, eta: date) -> Maker:
    def make(event_id: str, occurred_at: datetime) -> CrmEvent:
        return OrderShippedEvent(
            event_id=event_id,
            event_type="order.shipped",
            occurred_at=occurred_at,
            customer_id=customer_id,
            source=EventSource.CRM,
            payload=OrderShipped(
                order_id=order_id,
                carrier=carrier,
                tracking_number=tracking,
                estimated_delivery=eta,
            ),
        )

    return make


def cancelled_maker(customer_id: str, order_id: str, reason: str) -> Maker:
    def make(event_id: str, occurred_at: datetime) -> CrmEvent:
        return OrderCancelledEvent(
            event_id=event_id,
            event_type="order.cancelled",
            occurred_at=occurred_at,
            customer_id=customer_id,
            source=EventSource.CRM,
            payload=OrderCancelled(order_id=order_id, reason=reason),
        )

    return make


def refund_maker(customer_id: str, order_id: str, amount: int) -> Maker:
    def make(event_id: str, occurred_at: datetime) -> CrmEvent:
        return RefundIssuedEvent(
            event_id=event_id,
            event_type="refund.issued",
            occurred_at=occurred_at,
            customer_id=customer_id,
            source=EventSource.CRM,
            payload=RefundIssued(order_id=order_id, amount_krw=amount),
        )

    return make


def cart_maker(
    customer_id: str, source: EventSource, cart_id: str, items: list[LineItem], value: int
) -> Maker:
    def make(event_id: str, occurred_at: datetime) -> CrmEvent:
        return CartAbandonedEvent(
            event_id=event_id,
            event_type="cart.abandoned",
            occurred_at=occurred_at,
            customer_id=customer_id,
            source=source,
            payload=CartAbandoned(cart_id=cart_id, items=items, value_krw=value),
        )

    return make


def email_maker(customer_id: str, subject: str, body: str, in_reply_to: str | None) -> Maker:
    def make(event_id: str, occurred_at: datetime) -> CrmEvent:
        return EmailInboundEvent(
            event_id=event_id,
            event_type="email.inbound",
            occurred_at=occurred_at,
            customer_id=customer_id,
            source=EventSource.EMAIL,
            payload=EmailInbound(subject=subject, body=body, in_reply_to=in_reply_to),
        )

    return make


def ticket_maker(
    customer_id: str, ticket_id: str, category: TicketCategory, subject: str, description: str
) -> Maker:
    def make(event_id: str, occurred_at: datetime) -> CrmEvent:
        return TicketCreatedEvent(
            event_id=event_id,
            event_type="ticket.created",
            occurred_at=occurred_at,
            customer_id=customer_id,
            source=EventSource.CRM,
            payload=TicketCreated(
                ticket_id=ticket_id, category=category, subject=subject, description=description
            ),
        )

    return make
