"""Hand-built inputs for the decision core: events, profiles, scores, a fake drafter.

Shared by tests/core, tests/policy, tests/enrichment and tests/ingest so that the unit
tests never depend on what a model happens to output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.core.processor import EngagementCore, Outcome
from engage_stream.drafting.draft import Draft, DraftKind, Question, Suggestion, Tone
from engage_stream.drafting.facts import OrderFacts
from engage_stream.enrichment.state import CustomerState, Position
from engage_stream.policy.policy_file import Policy, load_policy
from engage_stream.schemas.actions import ModelStamp
from engage_stream.schemas.common import Channel
from engage_stream.schemas.customers import ChannelConsent, Consents, CustomerProfile, Tier
from engage_stream.schemas.enriched import SourcePosition
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
    OrderDelivered,
    OrderDeliveredEvent,
    OrderPlaced,
    OrderPlacedEvent,
    PageView,
    PageViewEvent,
    Sender,
)
from engage_stream.schemas.scores import Prediction, Scores

KST = timezone(timedelta(hours=9))
POLICY_FILE = PROJECT_ROOT / "infra" / "policies.yaml"
SHIPPED_POLICY: Policy = load_policy(POLICY_FILE)

# A Tuesday afternoon in Seoul: far from the night-time window unless a test moves it.
T0 = datetime(2026, 3, 10, 14, 0, tzinfo=KST)
PROCESSED_AT = datetime(2026, 3, 10, 5, 0, 1, tzinfo=UTC)

EVENTS_TOPIC = "crm.events"
PROFILES_TOPIC = "crm.customers"
STATEFUL_TOPIC = "engage.scored/0"
"""Where the core sees a release come from: the stateful stage's own input partition."""

INTENT_STAMP = ModelStamp(name="intent-ko", version="test", sha256="1" * 64)
TOXICITY_STAMP = ModelStamp(name="toxicity-ko", version="test", sha256="2" * 64)
TOPIC_STAMP = ModelStamp(name="topic-ko", version="test", sha256="5" * 64)
DRAFT_STAMP = ModelStamp(name="sample-shop", version="test", sha256="3" * 64)
"""The knowledge bank's stamp on a draft."""


def at(*, days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours, minutes=minutes)


def kst(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KST)


def source(offset: int, partition: int = 0, topic: str = EVENTS_TOPIC) -> SourcePosition:
    return SourcePosition(topic=topic, partition=partition, offset=offset)


# -- scores ---------------------------------------------------------------------------------


def prediction(label: str, score: float, stamp: ModelStamp) -> Prediction:
    return Prediction(label=label, score=score, scores={label: score}, truncated=False, model=stamp)


def scores(
    intent: str | None = "statement",
    intent_score: float = 0.9,
    toxicity: str | None = "none",
    toxicity_score: float = 0.95,
    topic: str | None = None,
    topic_score: float = 0.9,
) -> Scores:
    """Hand-made predictions: by default a confident, harmless statement, no topic."""
    return Scores(
        intent=(
            None
            if intent is None
            else Prediction(
                label=intent,
                score=intent_score,
                scores={intent: intent_score},
                truncated=False,
                model=INTENT_STAMP,
            )
        ),
        toxicity=(
            None
            if toxicity is None
            else Prediction(
                label=toxicity,
                score=toxicity_score,
                scores={toxicity: toxicity_score},
                truncated=False,
                model=TOXICITY_STAMP,
            )
        ),
        topic=None if topic is None else prediction(topic, topic_score, TOPIC_STAMP),
    )


NEUTRAL = scores()


# -- the fake drafter -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DraftCall:
    question: Question | None
    order: OrderFacts | None
    name: str | None
    tone: str
    budget_ms: float | None


@dataclass
class FakeDrafter:
    """Answers a question with one answer of its topic (`<topic>.fake`), showing what it
    was given, so tests can see it; `answers=False`: nothing in its bank fits."""

    calls: list[DraftCall] = field(default_factory=list)
    answers: bool = True
    auto_send: bool = True
    score: float = 0.9

    def draft(
        self,
        question: Question | None,
        *,
        order: OrderFacts | None = None,
        name: str | None = None,
        tone: Tone = "normal",
        budget_ms: float | None = None,
    ) -> Draft:
        self.calls.append(DraftCall(question, order, name, tone, budget_ms))
        opener = f"{name} 고객님," if name else "고객님,"
        facts = f" 주문번호 {order.order_id} 건 확인해 드릴게요." if order else ""
        text = f"{opener} 도와드릴게요.{facts}"
        suggestions: tuple[Suggestion, ...] = ()
        if self.answers and question is not None and question.topic is not None:
            suggestions = (
                Suggestion(
                    answer_id=f"{question.topic}.fake",
                    topic=question.topic,
                    score=self.score,
                    text=text,
                    grounded=order is not None,
                    auto_send=self.auto_send,
                ),
            )
        kind: DraftKind = (
            "no_answer" if not suggestions else ("grounded" if order is not None else "general")
        )
        return Draft(
            text=text,
            kind=kind,
            suggestions=suggestions,
            models=(DRAFT_STAMP,),
            latency_ms=1.0,
            fallback=None if suggestions else "no_question",
        )


# -- events ---------------------------------------------------------------------------------


def chat(
    event_id: str,
    text: str,
    *,
    sender: Sender = Sender.CUSTOMER,
    when: datetime = T0,
    customer_id: str = "cust-1",
    conversation_id: str | None = "conv-1",
) -> ChatMessageEvent:
    return ChatMessageEvent(
        event_id=event_id,
        occurred_at=when,
        customer_id=customer_id,
        source=EventSource.KAKAO,
        conversation_id=conversation_id,
        event_type="chat.message",
        payload=ChatMessage(text=text, sender=sender),
    )


def email_in(
    event_id: str,
    body: str = "주문한 상품이 언제 도착하나요?",
    *,
    subject: str = "배송 문의",
    when: datetime = T0,
    customer_id: str = "cust-1",
) -> EmailInboundEvent:
    return EmailInboundEvent(
        event_id=event_id,
        occurred_at=when,
        customer_id=customer_id,
        source=EventSource.EMAIL,
        event_type="email.inbound",
        payload=EmailInbound(subject=subject, body=body),
    )


def items(price: int = 15_000, quantity: int = 2) -> list[LineItem]:
    return [LineItem(sku="SKU-1", name="무선 이어폰", quantity=quantity, unit_price_krw=price)]


def cart(
    event_id: str,
    *,
    value_krw: int = 30_000,
    when: datetime = T0,
    customer_id: str = "cust-1",
) -> CartAbandonedEvent:
    return CartAbandonedEvent(
        event_id=event_id,
        occurred_at=when,
        customer_id=customer_id,
        source=EventSource.WEB,
        event_type="cart.abandoned",
        payload=CartAbandoned(cart_id=f"cart-{event_id}", items=items(), value_krw=value_krw),
    )


def order_placed(
    event_id: str, order_id: str, *, when: datetime = T0, customer_id: str = "cust-1"
) -> OrderPlacedEvent:
    return OrderPlacedEvent(
        event_id=event_id,
        occurred_at=when,
        customer_id=customer_id,
        source=EventSource.APP,
        event_type="order.placed",
        payload=OrderPlaced(order_id=order_id, items=items(), total_krw=30_000),
    )


def delivered(
    event_id: str, order_id: str = "ORD-1", *, when: datetime = T0, customer_id: str = "cust-1"
) -> OrderDeliveredEvent:
    return OrderDeliveredEvent(
        event_id=event_id,
        occurred_at=when,
        customer_id=customer_id,
        source=EventSource.CRM,
        event_type="order.delivered",
        payload=OrderDelivered(order_id=order_id, carrier="CJ대한통운"),
    )


def page_view(event_id: str, *, when: datetime = T0, customer_id: str = "cust-1") -> PageViewEvent:
    return PageViewEvent(
        event_id=event_id,
        occurred_at=when,
        customer_id=customer_id,
        source=EventSource.WEB,
        event_type="page.view",
        payload=PageView(url="https://shop.example/p/1"),
    )


# -- profiles -------------------------------------------------------------------------------


def consents(**channels: tuple[bool, bool]) -> Consents:
    """`consents(email=(True, False))`: (advertising, night_time) per channel."""
    given: dict[str, Any] = {
        name: ChannelConsent(advertising=ad, night_time=night)
        for name, (ad, night) in channels.items()
    }
    return Consents(**given)


def profile(
    *,
    customer_id: str = "cust-1",
    name: str | None = "김민지",
    email: str | None = "minji@example.com",
    phone: str | None = "010-1234-5678",
    tier: Tier = Tier.BASIC,
    preferred: Channel = Channel.EMAIL,
    consent: Consents | None = None,
    kakao_friend: bool = False,
    last_active_at: datetime | None = None,
    updated_at: datetime = T0,
) -> CustomerProfile:
    return CustomerProfile(
        customer_id=customer_id,
        name=name,
        email=email,
        phone=phone,
        tier=tier,
        preferred_channel=preferred,
        consents=consent if consent is not None else Consents(),
        kakao_friend=kakao_friend,
        last_active_at=last_active_at,
        updated_at=updated_at,
    )


def opted_in(**overrides: Any) -> CustomerProfile:
    """A profile that opted in to advertising by e-mail (daytime only)."""
    overrides.setdefault("consent", consents(email=(True, False)))
    return profile(**overrides)


# -- driving the core -----------------------------------------------------------------------


def policy_with(changes: Mapping[str, Any], base: Policy = SHIPPED_POLICY) -> Policy:
    """The shipped policy with dotted-path changes, validated like the file would be."""
    document = base.model_dump(mode="json")
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = document
        for part in parents:
            node = node[part]
        node[last] = value
    return Policy.model_validate(document)


class Feeder:
    """Feeds one customer's events through a core at consecutive offsets, keeping state.

    `release_at_due`: an offer held for later (a journey step) is released at its due time
    right after the input that made it, as if stream time reached it with no exit event in
    between, and what it sends joins that input's outcome: tests of what a rule sends need
    not move stream time. Tests of journeys themselves turn it off."""

    def __init__(
        self,
        policy: Policy = SHIPPED_POLICY,
        drafter: FakeDrafter | None = None,
        *,
        profile: CustomerProfile | None = None,
        release_at_due: bool = True,
    ) -> None:
        self.drafter = drafter or FakeDrafter()
        self.core = EngagementCore(policy, self.drafter)
        self.profile = profile
        self.state: CustomerState | None = None
        self.offset = 0
        self.outcomes: list[Outcome] = []
        self.release_at_due = release_at_due

    def feed(
        self,
        event: CrmEvent,
        event_scores: Scores | None = None,
        *,
        offset: int | None = None,
        profile: CustomerProfile | None = None,
    ) -> Outcome:
        if offset is None:
            offset = self.offset
            self.offset += 1
        outcome = self.core.process(
            event,
            source(offset),
            event_scores,
            profile if profile is not None else self.profile,
            self.state,
            PROCESSED_AT,
        )
        if outcome.state is not None:
            self.state = outcome.state
        self._released_into(outcome, profile if profile is not None else self.profile, offset)
        self.outcomes.append(outcome)
        return outcome

    def release(
        self, watermark: datetime, *, offset: int, profile: CustomerProfile | None = None
    ) -> Outcome:
        """Stream time at `watermark`: what the customer holds due by then, released by the
        input at `offset` of the stateful partition."""
        assert self.state is not None, "nothing fed yet"
        released = self.core.release(
            self.state.customer_id,
            profile if profile is not None else self.profile,
            self.state,
            watermark,
            Position(source=STATEFUL_TOPIC, offset=offset),
            PROCESSED_AT,
        )
        if released.state is not None:
            self.state = released.state
        return released

    def again(
        self, event: CrmEvent, event_scores: Scores | None, offset: int, state: CustomerState
    ) -> Outcome:
        """`event`, fed at `offset` before, processed again against `state` (after a crash):
        the event, then the release its own held offers had at that offset."""
        outcome = self.core.process(
            event, source(offset), event_scores, self.profile, state, PROCESSED_AT
        )
        for held in [p for p in state.pending if p.source_event_id == event.event_id]:
            released = self.core.release(
                state.customer_id,
                self.profile,
                state,
                held.due,
                Position(source=STATEFUL_TOPIC, offset=offset),
                PROCESSED_AT,
            )
            outcome.messages += released.messages
            outcome.suppressions += released.suppressions
            outcome.decisions += released.decisions
        return outcome

    def _released_into(
        self, outcome: Outcome, profile: CustomerProfile | None, offset: int
    ) -> None:
        if not self.release_at_due or self.state is None:
            return
        for due in sorted({p.due for p in self.state.held}):
            released = self.release(due, offset=offset, profile=profile)
            outcome.messages += released.messages
            outcome.suppressions += released.suppressions
            outcome.decisions += released.decisions
            if released.state is not None:
                outcome.state = released.state

    def say(
        self, event_id: str, text: str, event_scores: Scores | None = NEUTRAL, **kw: Any
    ) -> Outcome:
        """A customer chat turn (neutral scores unless given)."""
        return self.feed(chat(event_id, text, **kw), event_scores)

    def bot(self, event_id: str, text: str, **kw: Any) -> Outcome:
        return self.feed(chat(event_id, text, sender=Sender.BOT, **kw))

    def profile_update(self, updated: CustomerProfile, offset: int) -> Outcome:
        outcome = self.core.process_profile(
            updated, source(offset, topic=PROFILES_TOPIC), self.state, PROCESSED_AT
        )
        if outcome.state is not None:
            self.state = outcome.state
        self._released_into(outcome, updated, offset)
        return outcome
