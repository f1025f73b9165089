"""Journeys: offers that wait. What the policy says about them and how an event ends one.

A rule's offer due later than the input that triggered it (a cart reminder an hour on, a
review request three days after delivery) is held in the customer's state until a
partition's stream time reaches its due time; an exit event of the rule (`exit_on`) that
comes first takes it back. Time is event time throughout, so a replay holds, releases and
takes back exactly what the live worker did:

- A partition's watermark is the latest `occurred_at` it has processed less the allowed
  lateness: an exit event up to that late still comes before the release.
- A live partition with nothing to read while the whole pipeline is caught up gets a tick
  (`schemas.enriched.StreamTick`) that moves its stream time to the wall clock less the
  lateness, so a quiet partition still sends its reminders; less also how far behind the
  clock its last record was (occurred to reached Kafka), so that a backfill of old events
  moves only by the time it sat idle, never to today, and releases nothing before the
  events after it in the log, exits included, have been read.
- An offer held from an event that reached Kafka late (a backfill) and is behind its
  partition's stream time (live traffic there) counts its delay from that stream time,
  for the same reason. A live event a little out of order is not shifted, so results do
  not depend on how the source partitions interleave.
- A release is placed as of its release time (the watermark, or the due time when later),
  so the night rule and the caps are checked then, not when the offer was made.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from engage_stream.enrichment.state import PendingAction
from engage_stream.policy.rules.rule import ExitOn
from engage_stream.schemas.events import CrmEvent, OrderPlacedEvent


class JourneysSpec(BaseModel):
    """`journeys` in the policy file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allowed_lateness_minutes: float = Field(
        default=5,
        ge=0,
        le=24 * 60,
        description="How late (event time) an exit event may arrive and still come before "
        "the release of the offer it takes back.",
    )

    @property
    def lateness(self) -> timedelta:
        return timedelta(minutes=self.allowed_lateness_minutes)


def exits(exit_on: ExitOn, event: CrmEvent, held: PendingAction) -> bool:
    """Whether `event` takes `held` back: its type, what it is about, and no earlier than
    the trigger (an order placed before the cart was left says nothing about the cart)."""
    if event.event_type != exit_on.event or event.occurred_at < held.triggered_at:
        return False
    if exit_on.match == "cart_items":
        return isinstance(event, OrderPlacedEvent) and any(
            item.sku in held.items for item in event.payload.items
        )
    if exit_on.match == "same_order":
        return getattr(event.payload, "order_id", None) == held.order_id
    return True


def releasable(held: PendingAction, watermark: datetime) -> bool:
    return held.due <= watermark
