"""CRM actions the worker publishes, and the suppressions it records instead.

Every action carries a deterministic `action_id` (see `action_id_for`) so downstream
senders can drop duplicates after a redelivery.
"""

from __future__ import annotations

import uuid
from datetime import time
from enum import StrEnum
from functools import lru_cache
from typing import Any, Literal

from pydantic import AwareDatetime, Field, model_validator

from engage_stream.schemas.common import Channel, Contract, Identifier
from engage_stream.schemas.events import Sender

_ACTION_NAMESPACE = uuid.UUID("7d0f3a52-3b8e-4c0e-9d1e-5e6b2a9c4f10")


@lru_cache(maxsize=4096)
def action_id_for(source_event_id: str, action_kind: str) -> str:
    """Same event and kind give the same id on every run, live or replayed. Kept for the
    ids asked again and again (a notice owed checks the messages sent with every input)."""
    return str(uuid.uuid5(_ACTION_NAMESPACE, f"{action_kind}:{source_event_id}"))


class ModelStamp(Contract):
    """Which model files produced a prediction: traceable to the exact bytes."""

    name: str = Field(min_length=1, max_length=100)
    version: str = Field(min_length=1, max_length=100)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ArmStamp(Contract):
    """The experiment arm a decision was made in (`policy.experiments`): who was compared
    with whom, and what `eval` needs to count conversions without the policy file."""

    experiment: Identifier = Field(description="The experiment's id in the policy file.")
    arm: Identifier = Field(
        description="The arm's name; the global control's are control and treatment."
    )
    control: bool = Field(description="The arm that gets nothing (a holdout).")
    assigned_at: AwareDatetime = Field(
        description="Event time of the occasion the arm was assigned at (not the send time)."
    )
    conversion_window_hours: float = Field(
        gt=0, description="An order this long after `assigned_at` counts as a conversion."
    )


def arms_field() -> Any:
    """`arms` on actions, suppressions and decisions: absent on records before experiments."""
    return Field(
        default_factory=list,
        max_length=4,
        description="Experiment arms the decision was made in (global control, the rule's).",
    )


class _Action(Contract):
    action_id: str = Field(description="uuid5 of action kind and source event id.")
    source_event_id: Identifier
    customer_id: Identifier
    created_at: AwareDatetime
    models: list[ModelStamp] = Field(default_factory=list)
    policy_version: str = Field(min_length=1, max_length=100)


class HandoffReason(StrEnum):
    CUSTOMER_REQUESTED_HUMAN = "customer_requested_human"
    ABUSIVE_LANGUAGE = "abusive_language"
    NEGATIVE_STREAK = "negative_streak"
    UNANSWERED_STREAK = "unanswered_streak"
    VIP_COMPLAINT = "vip_complaint"
    LOW_CONFIDENCE = "low_confidence"
    EMAIL_NEEDS_AGENT = "email_needs_agent"
    """An inbound e-mail the bank cannot answer for sure: a person answers it."""


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TranscriptTurn(Contract):
    """One turn of a handoff transcript; `text` is already PII-masked."""

    sender: Sender
    text: str = Field(max_length=4_000)
    at: AwareDatetime


class AnswerSuggestion(Contract):
    """One of the shop's answers, filled for this customer, for the agent to pick."""

    answer_id: str = Field(min_length=1, max_length=64, description="Id in the knowledge bank.")
    topic: str = Field(min_length=1, max_length=64)
    score: float = Field(description="Retrieval score; the bank's min_score is the bar.")
    text: str = Field(min_length=1, max_length=1_000)
    grounded: bool = Field(description="Filled with the facts of the customer's order.")


DraftKind = Literal["grounded", "general", "no_answer"]


class DraftSource(Contract):
    """Where a drafted text came from: the question it answers and the bank's answer."""

    kind: DraftKind = Field(
        description="grounded: a bank answer filled with the facts of the customer's order; "
        "general: a bank answer that needs no order; no_answer: nothing in the bank fits."
    )
    question_event_id: Identifier | None = Field(
        default=None, description="The customer turn (or e-mail) whose question is answered."
    )
    topic: str | None = Field(default=None, description="Its topic, by the topic head.")
    answer_id: str | None = Field(default=None, description="The bank answer the text says.")
    candidates: list[str] = Field(
        default_factory=list, max_length=3, description="Answer ids ranked best, best first."
    )
    fallback: str | None = Field(
        default=None, description="Why retrieval fell short: deadline, low_score, ..."
    )


class HandoffAction(_Action):
    action_kind: Literal["handoff"] = "handoff"
    conversation_id: Identifier
    priority: Priority
    reasons: list[HandoffReason] = Field(min_length=1)
    queue: str = Field(min_length=1, max_length=100)
    transcript: list[TranscriptTurn] = Field(max_length=50)
    draft_reply: str = Field(min_length=1, max_length=1_000)
    draft: DraftSource | None = Field(
        default=None, description="Where the draft came from; absent on records of 0.1 before it."
    )
    suggestions: list[AnswerSuggestion] = Field(default_factory=list, max_length=3)


class ConsentBasis(StrEnum):
    ADVERTISING_OPT_IN = "advertising_opt_in"
    NIGHT_TIME_OPT_IN = "night_time_opt_in"
    TRANSACTIONAL = "transactional"


class SendWindow(Contract):
    """Daily local hours [start, end) in `timezone` (across midnight when start > end)."""

    start: time
    end: time
    timezone: str = Field(min_length=1, max_length=64)


class NextBestAction(_Action):
    """An outbound message on the chosen channel (`engage.actions.email`)."""

    action_kind: Literal["next_best_action"] = "next_best_action"
    channel: Channel
    template_id: str = Field(min_length=1, max_length=100)
    subject: str | None = Field(default=None, max_length=200)
    body: str = Field(min_length=1, max_length=4_000)
    advertising: bool
    send_not_before: AwareDatetime
    consent_basis: ConsentBasis
    draft: DraftSource | None = Field(
        default=None, description="For an answer to the customer's question: its source."
    )
    arms: list[ArmStamp] = arms_field()
    send_window: SendWindow | None = Field(
        default=None,
        description="The local hours this message may be sent in, beside send_not_before: "
        "a sender holds it outside them (to the next opening) even when send_not_before has "
        "passed. None: any hour (transactional, e-mail, or a night-time opt-in).",
    )
    kakao_template_code: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="kakao_alimtalk only, and always there: the code Kakao registered the "
        "message's template under (`outbound.kakao.alimtalk_template_codes`).",
    )

    @model_validator(mode="after")
    def _template_code_with_alimtalk(self) -> NextBestAction:
        alimtalk = self.channel is Channel.KAKAO_ALIMTALK
        if alimtalk and self.advertising:
            raise ValueError("kakao_alimtalk never carries advertising")
        if alimtalk != (self.kakao_template_code is not None):
            raise ValueError("kakao_template_code goes with kakao_alimtalk, and only with it")
        return self


class SuppressionReason(StrEnum):
    NO_ADVERTISING_CONSENT = "no_advertising_consent"
    NO_CONTACT_ADDRESS = "no_contact_address"
    FREQUENCY_CAP = "frequency_cap"
    DUPLICATE_EVENT = "duplicate_event"
    RULE_DISABLED = "rule_disabled"
    HOLDOUT = "holdout"
    """The customer is in an experiment's control arm or the global control group."""
    NO_ALIMTALK_TEMPLATE = "no_alimtalk_template"
    """A kakao_alimtalk message whose template has no code registered with Kakao."""
    CONSENT_NOT_RECONFIRMED = "consent_not_reconfirmed"
    """Advertising that waits for a two-year-old consent to be re-confirmed (art. 50(8))."""
    EXITED = "exited"
    """A held offer taken back: an exit event of its rule (`exit_on`) came before its due time."""
    PENDING_LIMIT = "pending_limit"
    """A held offer dropped because the customer holds too many (the one due first goes)."""


class Suppression(Contract):
    """An action the policy decided not to send, kept so nothing disappears silently."""

    suppression_id: str = Field(description="uuid5 of the rule and source event id.")
    rule: str = Field(min_length=1, max_length=100, description="The rule that was held back.")
    source_event_id: Identifier
    customer_id: Identifier
    suppressed_kind: Literal["handoff", "next_best_action"]
    reason: SuppressionReason
    detail: str = Field(max_length=500)
    policy_version: str = Field(min_length=1, max_length=100)
    created_at: AwareDatetime
    arms: list[ArmStamp] = arms_field()
