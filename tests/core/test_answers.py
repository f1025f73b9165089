"""What the core asks the drafter, and what it does with the draft: the customer's open
question with the facts of the order it is about; e-mails answered by e-mail only when the
answer is sure, otherwise handed to a person with the suggestions."""

from __future__ import annotations

from datetime import date

import pytest

from engage_stream.schemas.actions import HandoffReason, action_id_for
from engage_stream.schemas.enriched import DecisionKind
from engage_stream.schemas.events import (
    EventSource,
    OrderShipped,
    OrderShippedEvent,
    RefundIssued,
    RefundIssuedEvent,
    Sender,
)
from tests.core.builders import (
    DRAFT_STAMP,
    T0,
    FakeDrafter,
    Feeder,
    at,
    email_in,
    order_placed,
    policy_with,
    profile,
    scores,
)

ASKS_DELIVERY = scores("question", 0.9, topic="delivery_status", topic_score=0.92)
ASKS_REFUND = scores("question", 0.9, topic="refund_status", topic_score=0.9)
CLAIM = scores("statement", 0.9, topic="defect_claim", topic_score=0.95)
WANTS_PERSON = scores("command", 0.9, topic="other", topic_score=0.8)
BOT_FAILS = "죄송합니다. 질문을 이해하지 못했어요."


def shipped(event_id: str, order_id: str, minutes: float = 1) -> OrderShippedEvent:
    return OrderShippedEvent(
        event_id=event_id,
        occurred_at=at(minutes=minutes),
        customer_id="cust-1",
        source=EventSource.CRM,
        event_type="order.shipped",
        payload=OrderShipped(
            order_id=order_id,
            carrier="CJ대한통운",
            tracking_number="612345678901",
            estimated_delivery=date(2026, 3, 12),
        ),
    )


def refunded(event_id: str, order_id: str, amount: int) -> RefundIssuedEvent:
    return RefundIssuedEvent(
        event_id=event_id,
        occurred_at=at(minutes=2),
        customer_id="cust-1",
        source=EventSource.CRM,
        event_type="refund.issued",
        payload=RefundIssued(order_id=order_id, amount_krw=amount),
    )


def with_shipped_jacket(**options: object) -> Feeder:
    feeder = Feeder(profile=profile(name="김하준"), **options)  # type: ignore[arg-type]
    feeder.feed(order_placed("o1", "ORD-G1"))
    feeder.feed(shipped("s1", "ORD-G1"))
    return feeder


# -- chat handoffs --------------------------------------------------------------------------


def test_a_handoff_drafts_the_question_asked_before_the_request_for_a_person() -> None:
    feeder = with_shipped_jacket()
    feeder.say("c1", "주문한 패딩 언제 와요?", ASKS_DELIVERY)
    feeder.bot("c2", BOT_FAILS)
    outcome = feeder.say("c3", "상담원 연결해 주세요", WANTS_PERSON)
    (handoff,) = outcome.handoffs
    call = feeder.drafter.calls[-1]
    assert call.question is not None
    assert (call.question.text, call.question.event_id) == ("주문한 패딩 언제 와요?", "c1")
    assert (call.question.topic, call.question.topic_score) == ("delivery_status", 0.92)
    assert call.order is not None
    assert call.order.status == "shipped"
    assert (call.order.carrier, call.order.tracking_number) == ("CJ대한통운", "612345678901")
    assert call.order.estimated_delivery == date(2026, 3, 12)
    assert call.name == "김하준"
    assert handoff.draft is not None
    assert handoff.draft.question_event_id == "c1"
    assert handoff.draft.topic == "delivery_status"
    assert handoff.draft.kind == "grounded"
    assert handoff.draft.answer_id == "delivery_status.fake"
    assert [s.answer_id for s in handoff.suggestions] == ["delivery_status.fake"]
    assert handoff.suggestions[0].grounded
    assert DRAFT_STAMP in handoff.models


def test_a_question_the_bot_answered_is_not_drafted_again() -> None:
    feeder = with_shipped_jacket()
    feeder.say("c1", "주문한 패딩 언제 와요?", ASKS_DELIVERY)
    feeder.bot("c2", "내일 도착 예정이에요.")
    feeder.say("c3", "상담원 연결해 주세요", WANTS_PERSON)
    assert feeder.drafter.calls[-1].question is None


def test_without_an_order_the_drafter_gets_no_facts() -> None:
    feeder = Feeder(profile=profile())
    feeder.say("c1", "주문한 패딩 언제 와요?", ASKS_DELIVERY)
    feeder.say("c2", "상담원 연결해 주세요", WANTS_PERSON)
    assert feeder.drafter.calls[-1].order is None


def test_the_order_the_question_names_is_the_one_whose_facts_are_given() -> None:
    feeder = with_shipped_jacket()
    feeder.feed(order_placed("o2", "ORD-H2"))  # a later order, not shipped
    feeder.say("c1", "ORD-G1 언제 와요? 상담원 연결해 주세요", ASKS_DELIVERY)
    order = feeder.drafter.calls[-1].order
    assert order is not None
    assert (order.order_id, order.status) == ("ORD-G1", "shipped")


def test_an_abusive_turn_asks_for_a_calm_draft_and_a_negative_one_for_an_apology() -> None:
    abusive = scores("statement", 0.9, "offensive", 0.95, topic="other")
    feeder = with_shipped_jacket()
    feeder.say("c1", "야 대답 똑바로 해라", abusive)
    assert feeder.drafter.calls[-1].tone == "abusive"
    upset = Feeder()
    for n in range(3):
        upset.say(f"u{n}", "너무 짜증나요 왜 아직도 안 와요", ASKS_DELIVERY)
    assert upset.drafter.calls[-1].tone == "upset"


def test_a_question_s_topic_routes_the_handoff_to_its_queue() -> None:
    feeder = Feeder()
    feeder.say("c1", "환불 언제 들어와요?", ASKS_REFUND)
    (handoff,) = feeder.say("c2", "상담원 연결해 주세요", WANTS_PERSON).handoffs
    assert handoff.queue == "claims"
    assert handoff.draft is not None
    assert handoff.draft.topic == "refund_status"


def test_abuse_goes_to_escalations_before_any_topic_queue() -> None:
    feeder = Feeder()
    feeder.say("c1", "환불 언제 들어와요?", ASKS_REFUND)
    abusive = scores("statement", 0.9, "hate", 0.95, topic="refund_status")
    (handoff,) = feeder.say("c2", "환불 안 해주면 가만 안 둔다", abusive).handoffs
    assert handoff.queue == "escalations"


# -- e-mail questions -----------------------------------------------------------------------


def test_a_refund_question_after_the_refund_is_answered_by_e_mail() -> None:
    feeder = Feeder(profile=profile(name="김민지"))
    feeder.feed(order_placed("o1", "ORD-R1"))
    feeder.feed(refunded("r1", "ORD-R1", 52_000))
    outcome = feeder.feed(email_in("q1", "환불 요청했는데 언제 처리되나요?"), ASKS_REFUND)
    assert outcome.handoffs == []
    (message,) = outcome.messages
    assert message.action_id == action_id_for("q1", "inbound_answer")
    assert message.draft is not None
    assert message.draft.answer_id == "refund_status.fake"
    assert message.draft.kind == "grounded"
    call = feeder.drafter.calls[-1]
    assert call.order is not None
    assert (call.order.status, call.order.refund_krw) == ("refunded", 52_000)


def test_a_defect_e_mail_goes_to_a_person_with_the_suggestions() -> None:
    feeder = Feeder(profile=profile())
    body = "받은 니트에 구멍이 나 있어요. 010-1234-5678로 연락 주세요"
    event = email_in("q1", body, subject="불량")
    outcome = feeder.feed(event, CLAIM)
    assert outcome.messages == []
    (handoff,) = outcome.handoffs
    assert handoff.reasons == [HandoffReason.EMAIL_NEEDS_AGENT]
    assert handoff.queue == "claims"
    assert handoff.action_id == action_id_for("q1", "handoff")
    assert handoff.conversation_id == "q1"
    assert handoff.suggestions[0].answer_id == "defect_claim.fake"
    (turn,) = handoff.transcript
    assert turn.sender is Sender.CUSTOMER
    assert "010-****-5678" in turn.text
    assert "1234" not in turn.text
    assert outcome.enriched is not None
    (decision,) = outcome.enriched.decisions
    assert decision.kind is DecisionKind.HANDOFF
    assert decision.rule == "inbound_answer"
    assert "not sent: topic defect_claim is not answered automatically" in decision.detail


@pytest.mark.parametrize(
    ("drafter", "event_scores", "why"),
    [
        (FakeDrafter(), scores("question", 0.9, topic="delivery_status", topic_score=0.5), "sure"),
        (FakeDrafter(auto_send=False), ASKS_DELIVERY, "needs a person"),
        (FakeDrafter(score=0.2), ASKS_DELIVERY, "scores only"),
        (FakeDrafter(answers=False), ASKS_DELIVERY, "no answer in the bank fits"),
        (FakeDrafter(), scores("question", 0.9), "topic unknown"),
    ],
)
def test_an_e_mail_is_not_answered_unless_the_answer_is_sure(
    drafter: FakeDrafter, event_scores: object, why: str
) -> None:
    feeder = Feeder(drafter=drafter, profile=profile())
    outcome = feeder.feed(email_in("q1"), event_scores)  # type: ignore[arg-type]
    assert outcome.messages == []
    (handoff,) = outcome.handoffs
    assert handoff.reasons == [HandoffReason.EMAIL_NEEDS_AGENT]
    assert outcome.enriched is not None
    assert why in outcome.enriched.decisions[-1].detail


def test_a_thank_you_e_mail_gets_neither_answer_nor_handoff() -> None:
    feeder = Feeder(profile=profile())
    thanks = scores("statement", 0.9, topic="other")
    outcome = feeder.feed(email_in("q1", "잘 받았습니다 감사합니다"), thanks)
    assert outcome.messages == []
    assert outcome.handoffs == []
    assert feeder.drafter.calls == []


def test_the_policy_decides_which_topics_may_answer_themselves() -> None:
    strict = policy_with({"outbound.rules.inbound_answer.auto_answer_topics": ["shipping_fee"]})
    feeder = Feeder(strict, profile=profile())
    outcome = feeder.feed(email_in("q1"), ASKS_DELIVERY)
    assert outcome.messages == []
    assert len(outcome.handoffs) == 1


def test_an_e_mail_decided_again_gives_the_same_handoff() -> None:
    feeder = Feeder(profile=profile())
    first = feeder.feed(email_in("q1", when=T0), CLAIM, offset=0)
    again = feeder.feed(email_in("q1", when=T0), CLAIM, offset=0)
    assert again.handoffs == first.handoffs
    assert again.state is None, "the stored state already holds the e-mail"
