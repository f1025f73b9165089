"""CRM events on `crm.events`: one envelope, a payload typed by `event_type`.

Events are keyed by `customer_id` so one customer's events stay in order on one partition.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from engage_stream.schemas.common import Contract, Identifier, Krw

CURRENT_SCHEMA_VERSION = 1
MAX_TEXT_CHARS = 4_000
"""Longer chat or e-mail text is rejected at ingest rather than silently truncated."""


class EventSource(StrEnum):
    KAKAO = "kakao"
    WEB = "web"
    APP = "app"
    EMAIL = "email"
    CRM = "crm"


class Sender(StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"


class LineItem(Contract):
    sku: Identifier
    name: str = Field(min_length=1, max_length=200)
    quantity: int = Field(ge=1, le=10_000)
    unit_price_krw: Krw


class ChatMessage(Contract):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    sender: Sender


class EmailInbound(Contract):
    subject: str = Field(max_length=500)
    body: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    in_reply_to: str | None = Field(default=None, max_length=500)


class CartAbandoned(Contract):
    cart_id: Identifier
    items: list[LineItem] = Field(min_length=1, max_length=200)
    value_krw: Krw


class OrderPlaced(Contract):
    order_id: Identifier
    items: list[LineItem] = Field(min_length=1, max_length=200)
    total_krw: Krw


class OrderShipped(Contract):
    order_id: Identifier
    carrier: str = Field(min_length=1, max_length=100)
    tracking_number: str = Field(min_length=1, max_length=100)
    estimated_delivery: date | None = Field(
        default=None, description="The carrier's expected delivery date, when it gives one."
    )


class OrderDelivered(Contract):
    order_id: Identifier
    carrier: str | None = Field(default=None, max_length=100)
    tracking_number: str | None = Field(default=None, max_length=100)


class OrderCancelled(Contract):
    order_id: Identifier
    reason: str | None = Field(default=None, max_length=500)


class RefundIssued(Contract):
    order_id: Identifier
    amount_krw: Krw


class PageType(StrEnum):
    HOME = "home"
    CATEGORY = "category"
    PRODUCT = "product"
    CART = "cart"
    SUPPORT = "support"
    OTHER = "other"


class PageView(Contract):
    url: str = Field(min_length=1, max_length=2_000)
    page_type: PageType = PageType.OTHER
    product_id: Identifier | None = None


class TicketCategory(StrEnum):
    DELIVERY = "delivery"
    REFUND = "refund"
    PRODUCT = "product"
    ACCOUNT = "account"
    OTHER = "other"


class TicketCreated(Contract):
    ticket_id: Identifier
    category: TicketCategory
    subject: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=MAX_TEXT_CHARS)


class _Envelope(Contract):
    event_id: Identifier = Field(description="Unique per event; the dedupe and action-id key.")
    occurred_at: AwareDatetime = Field(description="When it happened, with a UTC offset.")
    customer_id: Identifier = Field(description="Kafka key; keeps one customer's events ordered.")
    source: EventSource
    conversation_id: Identifier | None = None
    schema_version: int = Field(default=CURRENT_SCHEMA_VERSION, ge=1, le=CURRENT_SCHEMA_VERSION)


class ChatMessageEvent(_Envelope):
    event_type: Literal["chat.message"]
    payload: ChatMessage


class EmailInboundEvent(_Envelope):
    event_type: Literal["email.inbound"]
    payload: EmailInbound


class CartAbandonedEvent(_Envelope):
    event_type: Literal["cart.abandoned"]
    payload: CartAbandoned


class OrderPlacedEvent(_Envelope):
    event_type: Literal["order.placed"]
    payload: OrderPlaced


class OrderShippedEvent(_Envelope):
    event_type: Literal["order.shipped"]
    payload: OrderShipped


class OrderDeliveredEvent(_Envelope):
    event_type: Literal["order.delivered"]
    payload: OrderDelivered


class OrderCancelledEvent(_Envelope):
    event_type: Literal["order.cancelled"]
    payload: OrderCancelled


class RefundIssuedEvent(_Envelope):
    event_type: Literal["refund.issued"]
    payload: RefundIssued


class PageViewEvent(_Envelope):
    event_type: Literal["page.view"]
    payload: PageView


class TicketCreatedEvent(_Envelope):
    event_type: Literal["ticket.created"]
    payload: TicketCreated


CrmEvent = Annotated[
    ChatMessageEvent
    | EmailInboundEvent
    | CartAbandonedEvent
    | OrderPlacedEvent
    | OrderShippedEvent
    | OrderDeliveredEvent
    | OrderCancelledEvent
    | RefundIssuedEvent
    | PageViewEvent
    | TicketCreatedEvent,
    Field(discriminator="event_type"),
]

EVENT_TYPES: tuple[str, ...] = (
    "chat.message",
    "email.inbound",
    "cart.abandoned",
    "order.placed",
    "order.shipped",
    "order.delivered",
    "order.cancelled",
    "refund.issued",
    "page.view",
    "ticket.created",
)

crm_event_adapter: TypeAdapter[CrmEvent] = TypeAdapter(CrmEvent)

OrderEvent = (
    OrderPlacedEvent
    | OrderShippedEvent
    | OrderDeliveredEvent
    | OrderCancelledEvent
    | RefundIssuedEvent
)
"""What the shop's records say about an order; the customer's state keeps these facts so a
draft can answer with them."""
