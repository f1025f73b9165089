"""The decisions, in one place: event + state + scores in, outputs and new state out.

Plain, synchronous and Kafka-free: the Faust worker and the replay command both feed it,
so live and offline cannot diverge. Decisions use the event's own time (`occurred_at`),
never the clock, and read the state as it was when the event was first processed
(`CustomerState.as_of`), so processing an event again gives the same decisions and the
same action ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from engage_stream.actions import messages
from engage_stream.drafting.draft import Draft, Question, Tone
from engage_stream.drafting.facts import OrderFacts
from engage_stream.enrichment.orders import Order, fact_of, order_in_question, orders_of
from engage_stream.enrichment.profile import snapshot
from engage_stream.enrichment.state import (
    ConversationState,
    CustomerState,
    HandoffMark,
    Position,
    SentMessage,
)
from engage_stream.policy.handoff import HandoffCall, handoff_reasons, route
from engage_stream.policy.outbound import Offer, Placement, place
from engage_stream.policy.policy_file import Policy, RuleSpec
from engage_stream.policy.turns import TurnReader
from engage_stream.privacy import mask_text
from engage_stream.schemas.actions import (
    AnswerSuggestion,
    DraftSource,
    HandoffAction,
    HandoffReason,
    ModelStamp,
    NextBestAction,
    Suppression,
    SuppressionReason,
    TranscriptTurn,
    action_id_for,
)
from engage_stream.schemas.common import Channel
from engage_stream.schemas.customers import CustomerProfile
from engage_stream.schemas.enriched import (
    ContextSnapshot,
    Decision,
    DecisionKind,
    EnrichedEvent,
    ProfileSnapshot,
    SourcePosition,
)
from engage_stream.schemas.events import (
    CartAbandonedEvent,
    ChatMessageEvent,
    CrmEvent,
    EmailInboundEvent,
    OrderCancelledEvent,
    OrderDeliveredEvent,
    OrderPlacedEvent,
    OrderShippedEvent,
    RefundIssuedEvent,
    Sender,
)
from engage_stream.schemas.scores import Scores, text_to_score

ORDER_EVENTS = (
    OrderPlacedEvent,
    OrderShippedEvent,
    OrderDeliveredEvent,
    OrderCancelledEvent,
    RefundIssuedEvent,
)

if TYPE_CHECKING:
    from engage_stream.schemas.scores import Prediction


class DraftWriter(Protocol):
    """What the core needs from `drafting.Drafter`."""

    def draft(
        self,
        question: Question | None,
        *,
        order: OrderFacts | None = None,
        name: str | None = None,
        tone: Tone = "normal",
        budget_ms: float | None = None,
    ) -> Draft: ...


@dataclass(slots=True)
class Outcome:
    """Everything one input produced. `state` is None when the state is unchanged."""

    enriched: EnrichedEvent | None = None
    handoffs: list[HandoffAction] = field(default_factory=list)
    messages: list[NextBestAction] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)
    state: CustomerState | None = None
    duplicate: bool = False


TRANSCRIPT_TEXT_CHARS = 4_000
"""Masking can lengthen a text (01012345678 -> 010-****-5678); a transcript turn is cut."""


def win_back_id(customer_id: str, last_active: datetime) -> str:
    """The synthetic source id of a win-back: one per customer and inactive spell, an
    Identifier (at most 128 characters) whatever the length of the customer id."""
    stamp = f"{last_active:%Y%m%dT%H%M%S}"
    readable = f"winback:{customer_id}:{stamp}"
    if len(readable) <= 128:
        return readable
    digest = hashlib.sha256(customer_id.encode()).hexdigest()[:32]
    return f"winback:{digest}:{stamp}"


def _kept(
    stored: CustomerState, before: CustomerState, decided: CustomerState
) -> CustomerState | None:
    """The state to store after a record: None (unchanged) when the stored state already
    holds this record or a later one of its partition, i.e. when `as_of` had to rewind it.
    Reprocessing decides from the rewound state; storing that would throw away what later
    records wrote, and nothing guarantees that they are all processed again."""
    return decided if before is stored else None


@dataclass(slots=True)
class _Work:
    """One event's decisions while they are being made."""

    source_id: str
    """The event id, or the synthetic id of a profile-driven decision (win-back)."""
    customer_id: str
    at: datetime
    """Event time: every decision is made as of this moment."""
    position: Position
    profile: CustomerProfile | None
    snap: ProfileSnapshot
    state: CustomerState
    now: datetime
    scores: Scores | None
    outcome: Outcome = field(default_factory=Outcome)
    decisions: list[Decision] = field(default_factory=list)
    context: ContextSnapshot | None = None


class EngagementCore:
    def __init__(self, policy: Policy, drafter: DraftWriter, run_id: str = "live") -> None:
        self.policy = policy
        self.drafter = drafter
        self.run_id = run_id
        self.reader = TurnReader(policy.handoff)
        self.zone = policy.zone

    # -- events ---------------------------------------------------------------------------

    def process(
        self,
        event: CrmEvent,
        source: SourcePosition,
        scores: Scores | None,
        profile: CustomerProfile | None,
        state: CustomerState | None,
        processed_at: datetime,
    ) -> Outcome:
        position = Position.of(source)
        stored = state or CustomerState(customer_id=event.customer_id)
        before = stored.as_of(position)
        work = _Work(
            source_id=event.event_id,
            customer_id=event.customer_id,
            at=event.occurred_at,
            position=position,
            profile=profile,
            snap=snapshot(profile),
            state=before,
            now=processed_at,
            scores=scores,
        )
        first = before.seen_at(event.event_id)
        if first is not None:
            work.decisions.append(
                Decision(
                    kind=DecisionKind.DUPLICATE,
                    rule="dedupe",
                    detail=f"event id already processed at {first.source}@{first.offset}",
                )
            )
            work.outcome.duplicate = True
            work.outcome.enriched = self._enriched(work, event, source, duplicate_of=first)
            return work.outcome
        work.state = before.with_seen(event.event_id, position)
        if isinstance(event, ChatMessageEvent):
            self._chat(work, event)
        elif isinstance(event, EmailInboundEvent):
            self._inbound_email(work, event)
        elif isinstance(event, CartAbandonedEvent):
            self._abandoned_cart(work, event)
        if isinstance(event, ORDER_EVENTS):
            work.state = work.state.with_order_fact(fact_of(event, position))
        if isinstance(event, OrderDeliveredEvent):
            self._review_request(work, event)
        work.outcome.state = _kept(stored, before, work.state)
        work.outcome.enriched = self._enriched(work, event, source)
        return work.outcome

    def process_profile(
        self,
        profile: CustomerProfile,
        source: SourcePosition,
        state: CustomerState | None,
        processed_at: datetime,
    ) -> Outcome:
        """Win-back: a profile snapshot showing the customer inactive for the policy's
        number of days. One message per inactive spell (its id comes from the last-active
        time), so re-published snapshots do not send again."""
        rule = self.policy.outbound.rules.win_back
        last = profile.last_active_at
        if last is None or profile.updated_at - last < timedelta(days=rule.inactive_days):
            return Outcome()
        position = Position.of(source)
        stored = state or CustomerState(customer_id=profile.customer_id)
        before = stored.as_of(position)
        source_id = win_back_id(profile.customer_id, last.astimezone(self.zone))
        if any(m.action_id == action_id_for(source_id, "win_back") for m in before.sent):
            return Outcome()
        work = _Work(
            source_id=source_id,
            customer_id=profile.customer_id,
            at=profile.updated_at,
            position=position,
            profile=profile,
            snap=snapshot(profile),
            state=before,
            now=processed_at,
            scores=None,
        )
        if self._enabled(work, "win_back", rule):
            subject, body = messages.win_back((profile.updated_at - last).days)
            offer = Offer(
                rule="win_back",
                template_id="win_back.v1",
                advertising=rule.advertising,
                earliest=profile.updated_at,
                subject=subject,
                body=body,
            )
            self._offer(work, offer, models=[])
        work.outcome.state = _kept(stored, before, work.state)
        return work.outcome

    def _enriched(
        self,
        work: _Work,
        event: CrmEvent,
        source: SourcePosition,
        duplicate_of: Position | None = None,
    ) -> EnrichedEvent:
        first = duplicate_of.to_source() if duplicate_of is not None else None
        scores = work.scores
        return EnrichedEvent(
            event=event,
            source=source,
            profile=work.snap,
            context=work.context,
            predictions=scores.view() if scores else None,
            decisions=work.decisions,
            duplicate_of=first,
            models=_stamps(scores),
            policy_version=self.policy.version,
            run_id=self.run_id,
            processed_at=work.now,
        )

    # -- chat: handoff ---------------------------------------------------------------------

    def _chat(self, work: _Work, event: ChatMessageEvent) -> None:
        key = event.conversation_id or event.customer_id  # one open chat per customer
        conversation = work.state.conversation(key)
        turn = self.reader.turn(event, work.scores, work.position)
        conversation = conversation.with_turn(turn)
        streaks = self.reader.streaks(conversation)
        work.context = ContextSnapshot(
            conversation_id=key,
            turns=len(conversation.turns),
            negative_streak=streaks.negative,
            unanswered_streak=streaks.unanswered,
            low_confidence_streak=streaks.low_confidence,
            handoff_open=conversation.handoff is not None,
        )
        if event.payload.sender is Sender.CUSTOMER:
            reasons = handoff_reasons(self.reader, turn, event.payload.text, streaks, work.snap)
            if reasons and conversation.handoff is not None:
                work.decisions.append(
                    Decision(
                        kind=DecisionKind.ALREADY_HANDED_OFF,
                        rule="handoff",
                        action_id=conversation.handoff.action_id,
                        reasons=[r.value for r in reasons],
                        detail="conversation already with a person; not handed off again",
                    )
                )
            elif reasons:
                conversation = self._handoff(work, event, key, conversation, reasons)
        work.state = work.state.with_conversation(conversation)

    def _handoff(
        self,
        work: _Work,
        event: ChatMessageEvent,
        key: str,
        conversation: ConversationState,
        reasons: list[HandoffReason],
    ) -> ConversationState:
        spec = self.policy.handoff
        question = self._open_question(event, conversation)
        draft = self._draft(work, question, event.payload.text, _tone(reasons, conversation))
        topic = question.topic if question else conversation.turns[-1].topic
        call = route(spec, reasons, work.snap, topic)
        action_id = action_id_for(event.event_id, "handoff")
        transcript = [
            TranscriptTurn(sender=t.sender, text=t.text[:TRANSCRIPT_TEXT_CHARS], at=t.at)
            for t in conversation.turns[-spec.transcript_turns :]
        ]
        self._hand_over(work, action_id, key, call, transcript, question, draft, "handoff")
        mark = HandoffMark(position=work.position, action_id=action_id, at=event.occurred_at)
        return conversation.model_copy(update={"handoff": mark})

    def _open_question(
        self, event: ChatMessageEvent, conversation: ConversationState
    ) -> Question | None:
        """The question a person taking over should answer first (the reader finds the
        turn; the current turn's own text is used unmasked, earlier turns as stored)."""
        turn = self.reader.open_question(conversation.turns)
        if turn is None:
            return None
        text = event.payload.text if turn.event_id == event.event_id else turn.text
        return Question(text, turn.topic, turn.topic_score, turn.event_id)

    def _draft(self, work: _Work, question: Question | None, text: str, tone: Tone) -> Draft:
        """A draft from the facts of the order the question is about, if the customer has one."""
        order = order_in_question(question.text if question else text, orders_of(work.state.orders))
        name = work.profile.name if work.profile is not None else None
        return self.drafter.draft(
            question,
            order=None if order is None else _facts(order),
            name=name,
            tone=tone,
            budget_ms=self.policy.handoff.drafting.budget_ms,
        )

    def _hand_over(
        self,
        work: _Work,
        action_id: str,
        conversation_id: str,
        call: HandoffCall,
        transcript: list[TranscriptTurn],
        question: Question | None,
        draft: Draft,
        rule: str,
        why: str = "",
    ) -> None:
        """`why`: appended to the decision's detail (why an e-mail was not answered)."""
        work.outcome.handoffs.append(
            HandoffAction(
                action_id=action_id,
                source_event_id=work.source_id,
                customer_id=work.customer_id,
                created_at=work.now,
                models=[*_stamps(work.scores), *draft.models],
                policy_version=self.policy.version,
                conversation_id=conversation_id,
                priority=call.priority,
                reasons=call.reasons,
                queue=call.queue,
                transcript=transcript,
                draft_reply=draft.text,
                draft=_source(question, draft),
                suggestions=[
                    AnswerSuggestion(
                        answer_id=s.answer_id,
                        topic=s.topic,
                        score=s.score,
                        text=s.text,
                        grounded=s.grounded,
                    )
                    for s in draft.suggestions
                ],
            )
        )
        answered = f", answer {draft.answer.answer_id}" if draft.answer else ""
        work.decisions.append(
            Decision(
                kind=DecisionKind.HANDOFF,
                rule=rule,
                action_id=action_id,
                reasons=[r.value for r in call.reasons],
                detail=f"priority {call.priority.value}, queue {call.queue}, "
                f"draft {draft.kind}{answered}{why}",
            )
        )

    # -- next-best-action --------------------------------------------------------------------

    def _inbound_email(self, work: _Work, event: EmailInboundEvent) -> None:
        """A question by e-mail is answered by e-mail only when the answer is sure to answer
        it: a confident topic the policy lets answer itself, a bank answer that may go out
        without a person, all its facts known. Anything less goes to a person, with the
        suggestions, rather than sending the customer an answer that answers nothing."""
        rule = self.policy.outbound.rules.inbound_answer
        scores = work.scores
        intent = scores.intent.label if scores and scores.intent else None
        topic = scores.topic if scores else None
        small_talk = self.policy.handoff.drafting.small_talk_topics
        asks = topic.label not in small_talk if topic is not None else intent in rule.intents
        if not asks:
            return
        if not self._enabled(work, "inbound_answer", rule):
            return
        text = text_to_score(event) or event.payload.body
        question = Question(
            text, topic.label if topic else None, topic.score if topic else None, event.event_id
        )
        negative = scores is not None and self.reader.negative(text, scores)
        draft = self._draft(work, question, text, "upset" if negative else "normal")
        unsure = self._unsure(draft, topic)
        if unsure is None:
            answer = draft.answer
            assert answer is not None
            offer = Offer(
                rule="inbound_answer",
                template_id=f"inbound_answer.{answer.answer_id}",
                advertising=rule.advertising,
                earliest=event.occurred_at,
                subject=messages.inbound_answer_subject(event.payload.subject),
                body=messages.inbound_answer_body(draft.text),
                channel=Channel.EMAIL,
            )
            self._offer(
                work,
                offer,
                models=[*_stamps(scores), *draft.models],
                draft=_source(question, draft),
            )
            return
        reasons = [HandoffReason.EMAIL_NEEDS_AGENT]
        call = route(self.policy.handoff, reasons, work.snap, question.topic)
        transcript = [
            TranscriptTurn(
                sender=Sender.CUSTOMER,
                text=mask_text(text)[:TRANSCRIPT_TEXT_CHARS],
                at=event.occurred_at,
            )
        ]
        action_id = action_id_for(event.event_id, "handoff")
        conversation_id = event.conversation_id or event.event_id
        self._hand_over(
            work,
            action_id,
            conversation_id,
            call,
            transcript,
            question,
            draft,
            "inbound_answer",
            why=f"; not sent: {unsure}",
        )

    def _unsure(self, draft: Draft, topic: Prediction | None) -> str | None:
        """Why the draft may not go to the customer by itself, or None when it may."""
        rule = self.policy.outbound.rules.inbound_answer
        answer = draft.answer
        if topic is None or topic.label not in rule.auto_answer_topics:
            return f"topic {topic.label if topic else 'unknown'} is not answered automatically"
        if topic.score < rule.min_topic_score:
            return f"topic {topic.label} only {topic.score:.2f} sure"
        if answer is None:
            return f"no answer in the bank fits ({draft.fallback or 'no_answer'})"
        if answer.topic != topic.label:
            return f"the best answer ({answer.answer_id}) is about {answer.topic}"
        if not answer.auto_send:
            return f"answer {answer.answer_id} needs a person"
        if answer.score < rule.min_answer_score:
            return f"answer {answer.answer_id} scores only {answer.score:.2f}"
        return None

    def _abandoned_cart(self, work: _Work, event: CartAbandonedEvent) -> None:
        rule = self.policy.outbound.rules.abandoned_cart
        if event.payload.value_krw < rule.min_value_krw:
            return
        if not self._enabled(work, "abandoned_cart", rule):
            return
        subject, body = messages.abandoned_cart(event.payload)
        offer = Offer(
            rule="abandoned_cart",
            template_id="abandoned_cart.v1",
            advertising=rule.advertising,
            earliest=event.occurred_at + timedelta(minutes=rule.delay_minutes),
            subject=subject,
            body=body,
        )
        self._offer(work, offer, models=[])

    def _review_request(self, work: _Work, event: OrderDeliveredEvent) -> None:
        rule = self.policy.outbound.rules.review_request
        if not self._enabled(work, "review_request", rule):
            return
        subject, body = messages.review_request(event.payload)
        offer = Offer(
            rule="review_request",
            template_id="review_request.v1",
            advertising=rule.advertising,
            earliest=event.occurred_at + timedelta(hours=rule.delay_hours),
            subject=subject,
            body=body,
        )
        self._offer(work, offer, models=[])

    def _enabled(self, work: _Work, name: str, rule: RuleSpec) -> bool:
        if rule.enabled:
            return True
        self._suppress(work, name, SuppressionReason.RULE_DISABLED, "rule disabled in policy")
        return False

    def _offer(
        self,
        work: _Work,
        offer: Offer,
        models: list[ModelStamp],
        draft: DraftSource | None = None,
    ) -> None:
        result = place(offer, work.snap, work.state.sent, self.policy.outbound, self.zone)
        if not isinstance(result, Placement):
            self._suppress(work, offer.rule, result.reason, result.detail)
            return
        action_id = action_id_for(work.source_id, offer.rule)
        work.outcome.messages.append(
            NextBestAction(
                action_id=action_id,
                source_event_id=work.source_id,
                customer_id=work.customer_id,
                created_at=work.now,
                models=models,
                policy_version=self.policy.version,
                channel=result.channel,
                template_id=offer.template_id,
                subject=result.subject,
                body=result.body,
                advertising=offer.advertising,
                send_not_before=result.send_not_before,
                consent_basis=result.consent_basis,
                draft=draft,
            )
        )
        work.decisions.append(
            Decision(
                kind=DecisionKind.NEXT_BEST_ACTION,
                rule=offer.rule,
                action_id=action_id,
                detail=f"{result.channel.value}, {result.consent_basis.value}, "
                f"not before {result.send_not_before.isoformat()}",
            )
        )
        sent = SentMessage(
            position=work.position,
            action_id=action_id,
            channel=result.channel,
            advertising=offer.advertising,
            send_at=result.send_not_before,
        )
        work.state = work.state.with_sent(sent)

    def _suppress(self, work: _Work, rule: str, reason: SuppressionReason, detail: str) -> None:
        suppression_id = action_id_for(work.source_id, f"suppressed:{rule}")
        work.outcome.suppressions.append(
            Suppression(
                suppression_id=suppression_id,
                rule=rule,
                source_event_id=work.source_id,
                customer_id=work.customer_id,
                suppressed_kind="next_best_action",
                reason=reason,
                detail=detail,
                policy_version=self.policy.version,
                created_at=work.now,
            )
        )
        work.decisions.append(
            Decision(
                kind=DecisionKind.SUPPRESSED,
                rule=rule,
                action_id=suppression_id,
                reasons=[reason.value],
                detail=detail,
            )
        )


def _stamps(scores: Scores | None) -> list[ModelStamp]:
    return scores.stamps if scores is not None else []


def _source(question: Question | None, draft: Draft) -> DraftSource:
    answer = draft.answer
    return DraftSource(
        kind=draft.kind,
        question_event_id=question.event_id if question else None,
        topic=question.topic if question else None,
        answer_id=answer.answer_id if answer else None,
        candidates=[s.answer_id for s in draft.suggestions],
        fallback=draft.fallback,
    )


def _tone(reasons: list[HandoffReason], conversation: ConversationState) -> Tone:
    if HandoffReason.ABUSIVE_LANGUAGE in reasons:
        return "abusive"
    upset = {HandoffReason.NEGATIVE_STREAK, HandoffReason.VIP_COMPLAINT}
    if upset.intersection(reasons) or conversation.turns[-1].negative:
        return "upset"
    return "normal"


def _facts(order: Order) -> OrderFacts:
    """What the drafter may say about the order: the shop's records, nothing else."""
    return OrderFacts(
        order_id=order.order_id,
        status=order.status,
        items=order.items,
        total_krw=order.total_krw,
        placed_at=order.placed_at,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        estimated_delivery=order.estimated_delivery,
        delivered_at=order.delivered_at,
        cancelled_at=order.cancelled_at,
        refund_krw=order.refund_krw,
        refunded_at=order.refunded_at,
    )
