"""The decisions, in one place: event + state + scores in, outputs and new state out.

Plain, synchronous and Kafka-free: the Faust worker and the replay command both feed it,
so live and offline cannot diverge. Decisions use the event's own time (`occurred_at`),
never the clock, and read the state as it was when the event was first processed
(`CustomerState.as_of`), so processing an event again gives the same decisions and the
same action ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from engage_stream.drafting.draft import Draft, Question, Tone
from engage_stream.drafting.facts import OrderFacts
from engage_stream.enrichment.orders import Order, fact_of, order_in_question, orders_of
from engage_stream.enrichment.profile import reachable, snapshot
from engage_stream.enrichment.state import (
    ClosedMark,
    ConversationState,
    CustomerState,
    HandoffMark,
    HeldOffer,
    PendingAction,
    Position,
    SentMessage,
)
from engage_stream.policy.experiments import Experimentation
from engage_stream.policy.handoff import HandoffCall, handoff_reasons, route
from engage_stream.policy.journeys import exits, releasable
from engage_stream.policy.outbound import Offer, Placement, place
from engage_stream.policy.policy_file import Policy
from engage_stream.policy.rules import CONSENT_RECONFIRMATION, NEXT_BEST_ACTIONS
from engage_stream.policy.rules.consent_reconfirmation import (
    DueConsent,
    due_consents,
    notice_channel,
)
from engage_stream.policy.rules.rule import Moment, NextBestActionRule, Referral, RuleSpec, no_draft
from engage_stream.policy.turns import TurnReader
from engage_stream.privacy import mask_text
from engage_stream.schemas.actions import (
    AnswerSuggestion,
    ArmStamp,
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
    decisions: list[Decision] = field(default_factory=list)
    """A release's decisions: made at no event of the customer, so on no enriched record."""


TRANSCRIPT_TEXT_CHARS = 4_000
"""Masking can lengthen a text (01012345678 -> 010-****-5678); a transcript turn is cut."""


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
    stream_time: datetime | None = None
    """The partition's watermark when the input was read (None: not known)."""
    first_dues: dict[str, datetime] = field(default_factory=dict)
    """A redo's held offers as its first processing placed them (action id to due): the
    stream time read now may have moved on since (a copy of the input sent again by a
    restarted scoring stage is read after later records), and the redo must not move them."""


class _EmailQuestion:
    """The question an inbound e-mail asks, drafted once, when a rule asks for the draft."""

    def __init__(
        self,
        event: EmailInboundEvent,
        scores: Scores | None,
        reader: TurnReader,
        draft: Callable[[Question, str, Tone], Draft],
    ) -> None:
        self.event = event
        self.scores = scores
        self.reader = reader
        self.draft = draft
        self.drafted: tuple[Question, Draft] | None = None

    def ask(self) -> tuple[Question, Draft]:
        if self.drafted is None:
            scores, event = self.scores, self.event
            text = text_to_score(event) or event.payload.body
            topic = scores.topic if scores else None
            question = Question(
                text, topic.label if topic else None, topic.score if topic else None, event.event_id
            )
            negative = scores is not None and self.reader.negative(text, scores)
            self.drafted = question, self.draft(question, text, "upset" if negative else "normal")
        return self.drafted

    def __call__(self) -> Draft:
        return self.ask()[1]


class EngagementCore:
    def __init__(self, policy: Policy, drafter: DraftWriter, run_id: str = "live") -> None:
        self.policy = policy
        self.drafter = drafter
        self.run_id = run_id
        self.reader = TurnReader(policy.handoff)
        self.zone = policy.zone
        self.experiments = Experimentation(policy.experiments, policy.messages)

    # -- events ---------------------------------------------------------------------------

    def process(
        self,
        event: CrmEvent,
        source: SourcePosition,
        scores: Scores | None,
        profile: CustomerProfile | None,
        state: CustomerState | None,
        processed_at: datetime,
        stream_time: datetime | None = None,
    ) -> Outcome:
        """`stream_time`: for an event that reached Kafka late (a backfill), the stateful
        partition's watermark before it, which its held offers' delays count from (`_hold`)."""
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
            stream_time=stream_time,
            first_dues={}
            if before is stored
            else {p.action_id: p.due for p in stored.pending if p.position == position},
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
        self._exits(work, event)
        if isinstance(event, ChatMessageEvent):
            self._chat(work, event)
        if isinstance(event, ORDER_EVENTS):
            work.state = work.state.with_order_fact(fact_of(event, position))
        question = None
        if isinstance(event, EmailInboundEvent):
            question = _EmailQuestion(event, scores, self.reader, partial(self._draft, work))
        moment = Moment(
            event=event,
            profile=profile,
            at=event.occurred_at,
            zone=self.zone,
            scores=scores,
            small_talk_topics=self.policy.handoff.drafting.small_talk_topics,
            draft=no_draft if question is None else question,
        )
        self._reconfirm(work, self._notices_due(profile, event.occurred_at))
        for rule in NEXT_BEST_ACTIONS:
            spec = self.policy.outbound.rules.spec(rule.name)
            if rule.occasion(spec, moment) is not None:
                self._apply(work, rule, spec, moment, question)
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
        """Profile-driven rules (win-back) and consent re-confirmation notices. Each acts
        once per occasion: a rule whose action for this occasion is already in the state is
        not applied again, so re-published snapshots do not send again."""
        moment = Moment(event=None, profile=profile, at=profile.updated_at, zone=self.zone)
        due = []
        for rule in NEXT_BEST_ACTIONS:
            spec = self.policy.outbound.rules.spec(rule.name)
            occasion = rule.occasion(spec, moment)
            if occasion is not None:
                due.append((rule, spec, occasion))
        notices = self._notices_due(profile, profile.updated_at)
        if not due and not notices:
            return Outcome()
        position = Position.of(source)
        stored = state or CustomerState(customer_id=profile.customer_id)
        before = stored.as_of(position)
        outcome = Outcome()
        current: CustomerState | None = None
        if notices:
            current = self._reconfirm(
                _Work(
                    source_id=notices[0].source_id,
                    customer_id=profile.customer_id,
                    at=profile.updated_at,
                    position=position,
                    profile=profile,
                    snap=snapshot(profile),
                    state=before,
                    now=processed_at,
                    scores=None,
                    outcome=outcome,
                ),
                notices,
            )
        for rule, spec, occasion in due:
            decided = current or before
            action_id = action_id_for(occasion, rule.name)
            if any(m.action_id == action_id for m in decided.sent) or any(
                p.action_id == action_id for p in decided.pending
            ):
                continue
            work = _Work(
                source_id=occasion,
                customer_id=profile.customer_id,
                at=profile.updated_at,
                position=position,
                profile=profile,
                snap=snapshot(profile),
                state=decided,
                now=processed_at,
                scores=None,
                outcome=outcome,
            )
            self._apply(work, rule, spec, moment, None)
            current = work.state
        if current is not None:
            outcome.state = _kept(stored, before, current)
        return outcome

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

    # -- consent re-confirmation -------------------------------------------------------------

    def _notices_due(self, profile: CustomerProfile | None, at: datetime) -> list[DueConsent]:
        """The advertising consents whose re-confirmation notice is owed as of `at`."""
        if profile is None:
            return []
        spec = self.policy.outbound.consent_reconfirmation
        return due_consents(spec, profile.consents, profile.customer_id, at, self.zone)

    def _reconfirm(self, work: _Work, notices: list[DueConsent]) -> CustomerState | None:
        """Each due consent's notice, unless its period's is in the state already (sent
        once per period); the new state, or None when none was sent. A notice that cannot
        go out is a suppression, looked at again with the customer's next input."""
        start = work.state
        rule, outbound = CONSENT_RECONFIRMATION, self.policy.outbound
        for due in notices:
            action_id = action_id_for(due.source_id, rule.name)
            if any(m.action_id == action_id for m in work.state.sent):
                continue
            notice = replace(work, source_id=due.source_id)
            channel = notice_channel(due.channel)
            if not reachable(work.snap, channel):
                detail = f"no address on file for {channel.value} ({due.channel.value} consent)"
                self._suppress(notice, rule.name, SuppressionReason.NO_CONTACT_ADDRESS, detail)
                continue
            sender = (outbound.sender.name, outbound.sender.contact)
            spec, messages = outbound.consent_reconfirmation, self.policy.messages
            offer = rule.offer(spec, due, work.at, sender, messages, self.zone)
            self._offer(notice, offer, models=[])
            work.state = notice.state
        return work.state if work.state is not start else None

    # -- next-best-action --------------------------------------------------------------------

    def _apply(
        self,
        work: _Work,
        rule: NextBestActionRule[Any],
        spec: RuleSpec,
        moment: Moment,
        question: _EmailQuestion | None,
    ) -> None:
        """A rule that applies: suppressed when the policy disables it or an experiment
        holds the customer out, else its offer (as the customer's arm sends it) is placed,
        or its referral handed to a person."""
        if not self._enabled(work, rule.name, spec):
            return
        arm = self.experiments.assign(rule, spec.advertising, work.customer_id, moment.at)
        if arm.holdout is not None:
            self._suppress(work, rule.name, SuppressionReason.HOLDOUT, arm.holdout, arm.arms)
            return
        result = rule.offer(spec, moment, arm.messages)
        drafted = question.drafted if question is not None else None
        if isinstance(result, Referral):
            assert question is not None, f"{rule.name}: only a question can be referred"
            self._refer(work, rule.name, result, question)
            return
        result = arm.applied(result, moment.at)
        if result.earliest > moment.at and drafted is None:
            self._hold(work, result)
            return
        if drafted is None:
            self._offer(work, result, models=[])
            return
        asked, draft = drafted
        self._offer(
            work,
            result,
            models=[*_stamps(work.scores), *draft.models],
            draft=_source(asked, draft),
        )

    # -- journeys: held offers, their exits and their release ------------------------------

    def _hold(self, work: _Work, offer: Offer) -> None:
        """An offer due later than its input: kept in the state until released or exited.
        An input read when the partition's stream time had passed it (a backfill behind
        live traffic) has its delay counted from that stream time: its exit events come
        after it in the log, and stream time must move on by the delay before it goes.
        Processed again, it keeps the due its first processing gave it."""
        action_id = action_id_for(work.source_id, offer.rule)
        due = offer.earliest
        if work.stream_time is not None and work.stream_time > work.at:
            due = max(due, work.stream_time + (offer.earliest - work.at))
        held = PendingAction(
            position=work.position,
            action_id=action_id,
            rule=offer.rule,
            source_event_id=work.source_id,
            due=work.first_dues.get(action_id, due),
            triggered_at=work.at,
            offer=HeldOffer(
                template_id=offer.template_id,
                advertising=offer.advertising,
                subject=offer.subject,
                body=offer.body,
                channel=offer.channel,
                arms=list(offer.arms),
                remembered=offer.remembered,
            ),
            models=_stamps(work.scores),
            order_id=offer.order_id,
            items=list(offer.items),
        )
        work.state, dropped = work.state.with_pending(held)
        spec = self.policy.outbound.rules.spec(offer.rule)
        exits_on = ", ".join(
            e.event if e.match == "any" else f"{e.event} ({e.match})" for e in spec.exit_on
        )
        work.decisions.append(
            Decision(
                kind=DecisionKind.HELD,
                rule=offer.rule,
                action_id=held.action_id,
                detail=f"held until {held.due.isoformat()}; exits on {exits_on or 'nothing'}",
                arms=list(offer.arms),
            )
        )
        if dropped is not None:
            self._suppress(
                replace(work, source_id=dropped.source_event_id),
                dropped.rule,
                SuppressionReason.PENDING_LIMIT,
                f"dropped to hold {held.action_id}: the customer held too many offers "
                f"(this one was due {dropped.due.isoformat()})",
                tuple(dropped.offer.arms),
            )

    def _exits(self, work: _Work, event: CrmEvent) -> None:
        """Held offers this event takes back (their rule's `exit_on`), each a suppression
        (`exited`) naming the event."""
        rules = self.policy.outbound.rules
        for held in work.state.held:
            spec = rules.spec(held.rule)
            if not any(exits(exit_on, event, held) for exit_on in spec.exit_on):
                continue
            work.state = work.state.with_closed(
                held.action_id, ClosedMark(position=work.position, how="exited")
            )
            self._suppress(
                replace(work, source_id=held.source_event_id),
                held.rule,
                SuppressionReason.EXITED,
                f"exited: {event.event_type} {event.event_id} at {event.occurred_at.isoformat()}"
                f", before the release due {held.due.isoformat()}",
                tuple(held.offer.arms),
            )

    def release(
        self,
        customer_id: str,
        profile: CustomerProfile | None,
        state: CustomerState,
        watermark: datetime,
        position: Position,
        processed_at: datetime,
    ) -> Outcome:
        """The customer's held offers due by `watermark` (a partition's stream time, or an
        idle tick's, `policy.journeys`), placed as of their release: the consent, night
        rule and caps as they are then, at the due time or, when the release came more
        than the allowed lateness after it, at the watermark. Several due at once go by
        the rules' `priority`, so the caps keep the more important one. `position`: the
        input that released them (processed again, it releases them again, same ids)."""
        before = state.as_of(position)
        due = [p for p in before.held if releasable(p, watermark)]
        if not due:
            return Outcome()
        rules = self.policy.outbound.rules
        due.sort(key=lambda p: (rules.spec(p.rule).priority, p.due, p.action_id))
        outcome = Outcome()
        current = before
        mark = ClosedMark(position=position, how="released")
        snap = snapshot(profile)
        lateness = self.policy.journeys.lateness
        for held in due:
            # Within the lateness of its due time (a stream that keeps moving) an offer is
            # placed at its due time, whichever event happened to release it; released later
            # (a quiet partition's tick, stream time jumping over a night) at its release.
            at = held.due if watermark - held.due <= lateness else watermark
            work = _Work(
                source_id=held.source_event_id,
                customer_id=customer_id,
                at=at,
                position=position,
                profile=profile,
                snap=snap,
                state=current,
                now=processed_at,
                scores=None,
                outcome=outcome,
            )
            if self._enabled(work, held.rule, rules.spec(held.rule)):
                self._offer(work, _released(held, at), models=list(held.models))
            outcome.decisions += work.decisions
            current = work.state.with_closed(held.action_id, mark)
        outcome.state = _kept(state, before, current)
        return outcome

    def _refer(self, work: _Work, rule: str, referral: Referral, question: _EmailQuestion) -> None:
        """An e-mail the rule will not answer by itself goes to a person, with the draft."""
        asked, draft = question.drafted or question.ask()
        event = question.event
        call = route(self.policy.handoff, [referral.reason], work.snap, asked.topic)
        transcript = [
            TranscriptTurn(
                sender=Sender.CUSTOMER,
                text=mask_text(asked.text)[:TRANSCRIPT_TEXT_CHARS],
                at=event.occurred_at,
            )
        ]
        self._hand_over(
            work,
            action_id_for(event.event_id, "handoff"),
            event.conversation_id or event.event_id,
            call,
            transcript,
            asked,
            draft,
            rule,
            why=f"; not sent: {referral.why}",
        )

    def _enabled(self, work: _Work, name: str, spec: RuleSpec) -> bool:
        if spec.enabled:
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
            self._suppress(work, offer.rule, result.reason, result.detail, offer.arms)
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
                arms=list(offer.arms),
                send_window=result.send_window,
                kakao_template_code=result.template_code,
            )
        )
        passed = f" (passed over {result.passed_over})" if result.passed_over else ""
        work.decisions.append(
            Decision(
                kind=DecisionKind.NEXT_BEST_ACTION,
                rule=offer.rule,
                action_id=action_id,
                detail=f"{result.channel.value}, {result.consent_basis.value}, "
                f"not before {result.send_not_before.isoformat()}{passed}",
                arms=list(offer.arms),
            )
        )
        sent = SentMessage(
            position=work.position,
            action_id=action_id,
            channel=result.channel,
            advertising=offer.advertising,
            send_at=result.send_not_before,
        )
        remembered = offer.remembered and not offer.advertising
        work.state = work.state.with_notice(sent) if remembered else work.state.with_sent(sent)

    def _suppress(
        self,
        work: _Work,
        rule: str,
        reason: SuppressionReason,
        detail: str,
        arms: tuple[ArmStamp, ...] = (),
    ) -> None:
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
                arms=list(arms),
            )
        )
        work.decisions.append(
            Decision(
                kind=DecisionKind.SUPPRESSED,
                rule=rule,
                action_id=suppression_id,
                reasons=[reason.value],
                detail=detail,
                arms=list(arms),
            )
        )


def _released(held: PendingAction, at: datetime) -> Offer:
    """A held offer as offered again at its release time `at`."""
    offer = held.offer
    return Offer(
        rule=held.rule,
        template_id=offer.template_id,
        advertising=offer.advertising,
        earliest=at,
        subject=offer.subject,
        body=offer.body,
        channel=offer.channel,
        arms=tuple(offer.arms),
        remembered=offer.remembered,
        order_id=held.order_id,
        items=tuple(held.items),
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
