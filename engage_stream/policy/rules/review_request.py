"""Review request: some days after an order is delivered, ask how it was. Treated as
advertising in the shipped policy (a review request promotes the shop).

Template `review_request.v1`; values: `order_id`, `carrier` (empty when the delivery did
not say).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType

from pydantic import Field

from engage_stream.policy.rules.rule import Moment, Offer, RuleSpec
from engage_stream.policy.templates import MessageTemplates
from engage_stream.schemas.events import OrderDeliveredEvent


class ReviewRequestRule(RuleSpec):
    EXIT_MATCHES = frozenset({"any", "same_order"})

    delay_hours: float = Field(ge=0, le=24 * 90)


class ReviewRequest:
    name = "review_request"
    template = "review_request.v1"
    sample: Mapping[str, object] = MappingProxyType(
        {"order_id": "ORD-20260310-0042", "carrier": "CJ대한통운"}
    )

    def occasion(self, spec: ReviewRequestRule, moment: Moment) -> str | None:
        event = moment.event
        return event.event_id if isinstance(event, OrderDeliveredEvent) else None

    def offer(self, spec: ReviewRequestRule, moment: Moment, messages: MessageTemplates) -> Offer:
        event = moment.event
        assert isinstance(event, OrderDeliveredEvent)
        delivery = event.payload
        message = messages.render(
            self.template, {"order_id": delivery.order_id, "carrier": delivery.carrier or ""}
        )
        return Offer(
            rule=self.name,
            template_id=self.template,
            advertising=spec.advertising,
            earliest=event.occurred_at + timedelta(hours=spec.delay_hours),
            subject=message.subject,
            body=message.body,
            order_id=delivery.order_id,
        )
