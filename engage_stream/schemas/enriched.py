"""`engage.enriched`: every valid input event with what the worker knew and decided.

One record per input event (duplicates included, marked), so that a replay or an analyst
can see the profile snapshot, the predictions, the model and policy versions and every
decision, including suppressions, next to the event itself.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from engage_stream.schemas.actions import ArmStamp, ModelStamp, arms_field
from engage_stream.schemas.common import Channel, Contract
from engage_stream.schemas.customers import Consents, CustomerProfile, Tier
from engage_stream.schemas.events import CrmEvent


class SourcePosition(Contract):
    topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    timestamp_ms: int | None = Field(
        default=None, description="Kafka record timestamp: the start of end-to-end latency."
    )


class PredictionView(Contract):
    label: str
    score: float = Field(ge=0, le=1)
    truncated: bool = False
    model: ModelStamp


class Predictions(Contract):
    intent: PredictionView | None = None
    toxicity: PredictionView | None = None
    topic: PredictionView | None = Field(
        default=None, description="The shop topic (business intent) of the customer's text."
    )


class ProfileSnapshot(Contract):
    """What the decisions used; contact details are reduced to whether they exist."""

    found: bool = Field(description="False: no profile yet, defaults used (no consents).")
    tier: Tier
    preferred_channel: Channel
    consents: Consents
    has_email: bool
    has_phone: bool
    kakao_friend: bool = Field(
        default=False, description="A friend of the shop's Kakao channel (friendtalk)."
    )
    last_active_at: AwareDatetime | None = None


class ContextSnapshot(Contract):
    conversation_id: str
    turns: int = Field(ge=0, description="Turns in the conversation including this one.")
    negative_streak: int = Field(ge=0)
    unanswered_streak: int = Field(ge=0)
    low_confidence_streak: int = Field(ge=0)
    handoff_open: bool = Field(description="Already handed to a person before this event.")


class DecisionKind(StrEnum):
    HANDOFF = "handoff"
    NEXT_BEST_ACTION = "next_best_action"
    SUPPRESSED = "suppressed"
    DUPLICATE = "duplicate"
    ALREADY_HANDED_OFF = "already_handed_off"
    HELD = "held"
    """A delayed offer kept in the customer's state until its due time (a journey step)."""


class Decision(Contract):
    kind: DecisionKind
    rule: str = Field(description="handoff, abandoned_cart, review_request, ...")
    action_id: str | None = None
    reasons: list[str] = Field(default_factory=list)
    detail: str = ""
    arms: list[ArmStamp] = arms_field()


class EnrichedEvent(Contract):
    event: CrmEvent
    source: SourcePosition
    profile: ProfileSnapshot
    context: ContextSnapshot | None = None
    predictions: Predictions | None = None
    decisions: list[Decision] = Field(default_factory=list)
    duplicate_of: SourcePosition | None = Field(
        default=None, description="Set when this event id was already processed there."
    )
    models: list[ModelStamp] = Field(default_factory=list)
    policy_version: str
    run_id: str = Field(default="live", description='"live", or the id of a replay run.')
    processed_at: AwareDatetime


class ScoredEvent(Contract):
    """Internal hand-over from the batching stage to the stateful stage (`engage.scored`)."""

    event: CrmEvent
    source: SourcePosition
    predictions: Predictions | None = None


class KeyedProfile(Contract):
    """Internal hand-over of a `crm.customers` record, re-keyed by customer id, to the
    stateful stage (`engage.profiles`); `source` is where the producer wrote it."""

    customer_id: str
    source: SourcePosition
    profile: CustomerProfile | None = Field(
        default=None, description="None: the profile was deleted (a tombstone)."
    )


class StreamTick(Contract):
    """Internal, unkeyed `engage.scored` record: the whole pipeline was caught up at
    `caught_up_at` (wall clock) while this partition was idle, so its held offers due by
    then (less the allowed lateness) may be released (`step.journeys`)."""

    partition: int = Field(ge=0)
    caught_up_at: AwareDatetime
