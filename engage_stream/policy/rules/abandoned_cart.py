"""Abandoned cart: a reminder of what the customer left in the cart, once the policy's delay
has passed and the cart is worth it. Advertising in the shipped policy (it promotes a sale).

Template `abandoned_cart.v1`; values: `items` ("니트 가디건 1개, 울 양말 2개 외 1건": the
first three lines, then how many more), `total` ("48,000원"), `total_krw` (48000),
`first_item` (the first line's product name), `item_count` (lines in the cart).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType

from pydantic import Field

from engage_stream.policy.rules.rule import Moment, Offer, RuleSpec
from engage_stream.policy.templates import MessageTemplates, won
from engage_stream.schemas.events import CartAbandoned, CartAbandonedEvent, LineItem

ITEMS_SHOWN = 3


class AbandonedCartRule(RuleSpec):
    EXIT_MATCHES = frozenset({"any", "cart_items"})

    delay_minutes: float = Field(ge=0, le=60 * 24 * 30)
    min_value_krw: int = Field(default=0, ge=0)


def item_list(items: list[LineItem], shown: int = ITEMS_SHOWN) -> str:
    names = [f"{item.name} {item.quantity}개" for item in items[:shown]]
    more = len(items) - shown
    return ", ".join(names) + (f" 외 {more}건" if more > 0 else "")


def values(cart: CartAbandoned) -> dict[str, object]:
    return {
        "items": item_list(cart.items),
        "total": won(cart.value_krw),
        "total_krw": cart.value_krw,
        "first_item": cart.items[0].name,
        "item_count": len(cart.items),
    }


class AbandonedCart:
    name = "abandoned_cart"
    template = "abandoned_cart.v1"
    sample: Mapping[str, object] = MappingProxyType(
        {
            "items": "니트 가디건 1개, 울 양말 2개, 머플러 1개 외 1건",
            "total": "48,000원",
            "total_krw": 48_000,
            "first_item": "니트 가디건",
            "item_count": 4,
        }
    )

    def occasion(self, spec: AbandonedCartRule, moment: Moment) -> str | None:
        event = moment.event
        if not isinstance(event, CartAbandonedEvent):
            return None
        return event.event_id if event.payload.value_krw >= spec.min_value_krw else None

    def offer(self, spec: AbandonedCartRule, moment: Moment, messages: MessageTemplates) -> Offer:
        event = moment.event
        assert isinstance(event, CartAbandonedEvent)
        message = messages.render(self.template, values(event.payload))
        return Offer(
            rule=self.name,
            template_id=self.template,
            advertising=spec.advertising,
            earliest=event.occurred_at + timedelta(minutes=spec.delay_minutes),
            subject=message.subject,
            body=message.body,
            items=tuple(dict.fromkeys(item.sku for item in event.payload.items)),
        )
