"""When a chat goes to a person: reasons, priority, queue, transcript; once per conversation.

Driven through `EngagementCore` with hand-built scores and a fake drafter, against the
shipped `infra/policies.yaml`.
"""

from __future__ import annotations

import pytest

from engage_stream.enrichment.profile import snapshot
from engage_stream.enrichment.state import Position, Turn
from engage_stream.policy.handoff import handoff_reasons, route
from engage_stream.policy.turns import Streaks, TurnReader
from engage_stream.schemas.actions import HandoffReason, Priority, action_id_for
from engage_stream.schemas.customers import Tier
from engage_stream.schemas.enriched import DecisionKind
from engage_stream.schemas.events import Sender
from engage_stream.schemas.scores import Scores
from tests.core.builders import (
    DRAFT_STAMP,
    INTENT_STAMP,
    NEUTRAL,
    PROCESSED_AT,
    SHIPPED_POLICY,
    TOXICITY_STAMP,
    Feeder,
    at,
    chat,
    order_placed,
    profile,
    scores,
)

R = HandoffReason
HANDOFF = SHIPPED_POLICY.handoff
BOT_FAILURE = "죄송해요, 잘 모르겠어요. 다시 말씀해 주시겠어요?"
BOT_HELPFUL = "주문하신 상품은 내일 도착 예정입니다."
COMPLAINT = scores("statement", 0.9)  # neutral scores; the words make it a complaint


# -- asking for a person --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "상담원 연결해 주세요",
        "상담사랑 통화하고 싶어요",
        "사람이랑 얘기하고 싶어요",
        "직원 좀 불러 주세요",
        "실제 사람과 대화하고 싶어요",
        "담당자 바꿔 주세요",
        "상 담 원 연결 부탁드려요",
        "사람이 필요해요",
        "상담 받고 싶어요",
    ],
)
def test_a_customer_asking_for_a_person_is_handed_off_at_once(text: str) -> None:
    feeder = Feeder()
    outcome = feeder.say("e1", text)
    assert len(outcome.handoffs) == 1
    handoff = outcome.handoffs[0]
    assert handoff.reasons == [R.CUSTOMER_REQUESTED_HUMAN]
    assert handoff.priority is Priority.NORMAL
    assert handoff.queue == "general"


@pytest.mark.parametrize(
    "text",
    [
        "사람이 너무 많아요",
        "배송 직원분이 친절했어요",
        "주문한 상품이 언제 오나요?",
        "사람 많은 시간에도 배송되나요?",
    ],
)
def test_mentioning_people_is_not_asking_for_one(text: str) -> None:
    outcome = Feeder().say("e1", text)
    assert outcome.handoffs == []
    assert outcome.enriched is not None
    assert outcome.enriched.decisions == []


# -- abusive language -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "score", "handed_off"),
    [
        ("offensive", 0.85, True),
        ("hate", 0.70, True),  # the threshold itself counts
        ("offensive", 0.69, False),
        ("none", 0.99, False),
    ],
)
def test_abusive_language_over_the_threshold_goes_to_the_escalations_queue(
    label: str, score: float, handed_off: bool
) -> None:
    outcome = Feeder().say("e1", "이거 뭐 하는 거야", scores("statement", 0.9, label, score))
    if not handed_off:
        assert outcome.handoffs == []
        return
    (handoff,) = outcome.handoffs
    assert handoff.reasons == [R.ABUSIVE_LANGUAGE]
    assert handoff.priority is Priority.HIGH
    assert handoff.queue == "escalations"


# -- negative streak ------------------------------------------------------------------------


def test_three_negative_customer_turns_in_a_row_are_a_negative_streak() -> None:
    feeder = Feeder()
    assert feeder.say("c1", "배송이 너무 늦어서 짜증나요", COMPLAINT).handoffs == []
    feeder.bot("b1", BOT_HELPFUL)
    assert feeder.say("c2", "아직도 안 왔어요 정말 실망이에요", COMPLAINT).handoffs == []
    feeder.bot("b2", BOT_HELPFUL)
    outcome = feeder.say("c3", "그냥 환불해 주세요", COMPLAINT)
    (handoff,) = outcome.handoffs
    assert handoff.reasons == [R.NEGATIVE_STREAK]
    assert handoff.priority is Priority.NORMAL
    assert outcome.enriched is not None
    assert outcome.enriched.context is not None
    assert outcome.enriched.context.negative_streak == 3
    assert outcome.enriched.context.unanswered_streak == 1


def test_a_calm_turn_breaks_the_negative_streak() -> None:
    feeder = Feeder()
    feeder.say("c1", "배송이 너무 늦어서 짜증나요", COMPLAINT)
    feeder.say("c2", "주문 번호는 어디서 보나요?", scores("question", 0.9))
    feeder.bot("b1", BOT_HELPFUL)
    feeder.say("c3", "정말 실망이에요", COMPLAINT)
    outcome = feeder.say("c4", "환불해 주세요", COMPLAINT)
    assert outcome.handoffs == []
    assert outcome.enriched is not None
    assert outcome.enriched.context is not None
    assert outcome.enriched.context.negative_streak == 2


@pytest.mark.parametrize(
    "negative_scores",
    [
        scores("rhetorical_question", 0.9),  # a speech act the policy counts as negative
        scores("statement", 0.9, "offensive", 0.55),  # toxic, but under the abuse threshold
    ],
)
def test_model_signals_alone_make_a_turn_negative(negative_scores: Scores) -> None:
    feeder = Feeder()
    for n in range(1, 4):
        outcome = feeder.say(f"c{n}", "그래서 어쩌라는 건가요", negative_scores)
        feeder.bot(f"b{n}", BOT_HELPFUL)
    assert [h.reasons for h in outcome.handoffs] == [[R.NEGATIVE_STREAK]]


# -- unanswered streak ----------------------------------------------------------------------

QUESTIONS = [
    "배송 조회는 어디서 하나요?",
    "주문 번호를 어디서 찾나요?",
    "포인트는 언제 적립되나요?",
]


def test_bot_failure_replies_do_not_answer_the_customer() -> None:
    feeder = Feeder()
    asked = scores("question", 0.9)
    feeder.say("c1", QUESTIONS[0], asked)
    feeder.bot("b1", BOT_FAILURE)
    feeder.say("c2", QUESTIONS[1], asked)
    feeder.bot("b2", BOT_FAILURE)
    outcome = feeder.say("c3", QUESTIONS[2], asked)
    (handoff,) = outcome.handoffs
    assert handoff.reasons == [R.UNANSWERED_STREAK]
    assert handoff.priority is Priority.HIGH
    assert handoff.queue == "general"


@pytest.mark.parametrize("sender", [Sender.BOT, Sender.AGENT])
def test_a_helpful_reply_ends_the_unanswered_streak(sender: Sender) -> None:
    feeder = Feeder()
    asked = scores("question", 0.9)
    feeder.say("c1", QUESTIONS[0], asked)
    feeder.bot("b1", BOT_FAILURE)
    feeder.say("c2", QUESTIONS[1], asked)
    feeder.feed(chat("r1", BOT_HELPFUL, sender=sender))
    outcome = feeder.say("c3", QUESTIONS[2], asked)
    assert outcome.handoffs == []
    assert outcome.enriched is not None
    assert outcome.enriched.context is not None
    assert outcome.enriched.context.unanswered_streak == 1


# -- VIP complaint --------------------------------------------------------------------------


def test_one_complaint_from_a_vip_goes_to_vip_care_at_urgent_priority() -> None:
    feeder = Feeder(profile=profile(tier=Tier.VIP))
    (handoff,) = feeder.say("c1", "배송이 왜 아직 안 와요? 너무하네요", COMPLAINT).handoffs
    assert handoff.reasons == [R.VIP_COMPLAINT]
    assert handoff.priority is Priority.URGENT  # high, one level up for a VIP
    assert handoff.queue == "vip-care"


@pytest.mark.parametrize("tier", [Tier.BASIC, Tier.SILVER, Tier.GOLD])
def test_one_complaint_from_other_tiers_is_not_yet_a_handoff(tier: Tier) -> None:
    feeder = Feeder(profile=profile(tier=tier))
    assert feeder.say("c1", "배송이 왜 아직 안 와요? 너무하네요", COMPLAINT).handoffs == []


def test_a_calm_vip_is_not_a_complaint() -> None:
    feeder = Feeder(profile=profile(tier=Tier.VIP))
    assert feeder.say("c1", "배송 조회는 어디서 하나요?", scores("question", 0.9)).handoffs == []


# -- low confidence -------------------------------------------------------------------------


def test_three_turns_the_intent_model_is_unsure_of_are_a_low_confidence_handoff() -> None:
    feeder = Feeder()
    unsure = scores("fragment", 0.40)
    for n in range(1, 3):
        assert feeder.say(f"c{n}", "음 그거요 저기", unsure).handoffs == []
        feeder.bot(f"b{n}", BOT_HELPFUL)
    (handoff,) = feeder.say("c3", "그거 있잖아요", unsure).handoffs
    assert handoff.reasons == [R.LOW_CONFIDENCE]
    assert handoff.priority is Priority.LOW
    assert handoff.queue == "general"


def test_an_intent_score_at_the_threshold_is_confident_enough() -> None:
    feeder = Feeder()
    for n in range(1, 4):
        outcome = feeder.say(f"c{n}", "음 그거요", scores("fragment", 0.55))
        feeder.bot(f"b{n}", BOT_HELPFUL)
    assert outcome.handoffs == []


def test_turns_without_scores_are_not_low_confidence() -> None:
    feeder = Feeder()
    for n in range(1, 4):
        outcome = feeder.say(f"c{n}", "음 그거요", None)
        feeder.bot(f"b{n}", BOT_HELPFUL)
    assert outcome.handoffs == []


# -- priority and routing -------------------------------------------------------------------


def test_reasons_come_in_a_fixed_order_and_the_highest_priority_wins() -> None:
    outcome = Feeder().say("c1", "상담원 불러 이 XX야", scores("command", 0.9, "offensive", 0.9))
    (handoff,) = outcome.handoffs
    assert handoff.reasons == [R.CUSTOMER_REQUESTED_HUMAN, R.ABUSIVE_LANGUAGE]
    assert handoff.priority is Priority.HIGH  # abusive (high) over human request (normal)
    assert handoff.queue == "escalations"  # the first queue rule that matches


@pytest.mark.parametrize(
    ("reasons", "tier", "priority", "queue"),
    [
        ([R.CUSTOMER_REQUESTED_HUMAN], Tier.BASIC, Priority.NORMAL, "general"),
        ([R.CUSTOMER_REQUESTED_HUMAN], Tier.VIP, Priority.HIGH, "vip-care"),
        ([R.LOW_CONFIDENCE], Tier.GOLD, Priority.LOW, "general"),
        ([R.LOW_CONFIDENCE], Tier.VIP, Priority.NORMAL, "vip-care"),
        ([R.LOW_CONFIDENCE, R.UNANSWERED_STREAK], Tier.BASIC, Priority.HIGH, "general"),
        ([R.ABUSIVE_LANGUAGE], Tier.VIP, Priority.URGENT, "escalations"),
        ([R.VIP_COMPLAINT, R.ABUSIVE_LANGUAGE], Tier.VIP, Priority.URGENT, "escalations"),
    ],
)
def test_route_picks_the_highest_priority_bumps_vips_and_takes_the_first_matching_queue(
    reasons: list[HandoffReason], tier: Tier, priority: Priority, queue: str
) -> None:
    call = route(HANDOFF, reasons, snapshot(profile(tier=tier)))
    assert call.priority is priority
    assert call.queue == queue
    assert call.reasons == reasons


def test_urgent_is_the_ceiling_even_for_a_vip() -> None:
    policy = HANDOFF.model_copy(
        update={"priority": {**HANDOFF.priority, R.ABUSIVE_LANGUAGE: Priority.URGENT}}
    )
    call = route(policy, [R.ABUSIVE_LANGUAGE], snapshot(profile(tier=Tier.VIP)))
    assert call.priority is Priority.URGENT


def test_handoff_reasons_read_only_the_given_turn_and_streaks() -> None:
    reader = TurnReader(HANDOFF)
    turn = Turn(
        position=Position(source="crm.events/0", offset=1),
        event_id="e1",
        sender=Sender.CUSTOMER,
        text="안녕하세요",
        at=at(),
    )
    none = Streaks(negative=0, unanswered=0, low_confidence=0)
    assert handoff_reasons(reader, turn, "안녕하세요", none, snapshot(None)) == []
    full = Streaks(negative=3, unanswered=3, low_confidence=3)
    assert handoff_reasons(reader, turn, "안녕하세요", full, snapshot(None)) == [
        R.NEGATIVE_STREAK,
        R.UNANSWERED_STREAK,
        R.LOW_CONFIDENCE,
    ]


# -- the handoff action ---------------------------------------------------------------------


def test_the_handoff_carries_ids_models_draft_and_policy_version() -> None:
    feeder = Feeder(profile=profile(name="김민지"))
    feeder.feed(order_placed("o1", "ORD-77"))
    outcome = feeder.say("c1", "상담원 연결해 주세요", scores("command", 0.8))
    (handoff,) = outcome.handoffs
    assert handoff.action_id == action_id_for("c1", "handoff")
    assert handoff.source_event_id == "c1"
    assert handoff.customer_id == "cust-1"
    assert handoff.conversation_id == "conv-1"
    assert handoff.created_at == PROCESSED_AT
    assert handoff.policy_version == SHIPPED_POLICY.version
    assert handoff.models == [INTENT_STAMP, TOXICITY_STAMP, DRAFT_STAMP]
    assert handoff.draft_reply == "김민지 고객님, 도와드릴게요. 주문번호 ORD-77 건 확인해 드릴게요."
    assert handoff.draft is not None
    assert handoff.draft.kind == "no_answer"  # no topic head: nothing to answer from
    (call,) = feeder.drafter.calls
    assert call.question is not None
    assert call.question.text == "상담원 연결해 주세요"  # no earlier question: this one
    assert call.order is not None
    assert call.order.order_id == "ORD-77"
    assert call.name == "김민지"
    assert call.tone == "normal"
    assert call.budget_ms == HANDOFF.drafting.budget_ms
    assert outcome.enriched is not None
    (decision,) = outcome.enriched.decisions
    assert decision.kind is DecisionKind.HANDOFF
    assert decision.action_id == handoff.action_id
    assert decision.reasons == ["customer_requested_human"]


def test_a_chat_without_a_conversation_id_is_one_conversation_per_customer() -> None:
    feeder = Feeder()
    feeder.say("c1", "안녕하세요", conversation_id=None)
    (handoff,) = feeder.say("c2", "상담원 연결해 주세요", conversation_id=None).handoffs
    assert handoff.conversation_id == "cust-1"
    assert len(handoff.transcript) == 2


def test_the_transcript_is_masked_in_the_handoff_and_in_the_stored_state() -> None:
    feeder = Feeder()
    feeder.say("c1", "제 번호는 010-9876-5432 이고 메일은 minji.kim@example.com 입니다")
    feeder.bot("b1", BOT_HELPFUL)
    (handoff,) = feeder.say("c2", "상담원 연결해 주세요, 01055554444로 전화 주세요").handoffs
    text = "\n".join(t.text for t in handoff.transcript)
    assert "9876" not in text
    assert "minji.kim" not in text
    assert "5555" not in text
    assert "010-****-5432" in text
    assert "m***@example.com" in text
    assert "010-****-4444" in text
    assert [t.sender for t in handoff.transcript] == [Sender.CUSTOMER, Sender.BOT, Sender.CUSTOMER]
    assert feeder.state is not None
    stored = feeder.state.model_dump_json()
    assert "9876" not in stored
    assert "minji.kim" not in stored
    assert "5555" not in stored
    assert "010-****-5432" in stored


def test_the_transcript_is_the_last_turns_of_the_conversation() -> None:
    feeder = Feeder()
    for n in range(15):
        feeder.say(f"c{n}", f"{n}번째 질문이에요", scores("question", 0.9))
        feeder.bot(f"b{n}", f"{n}번째 답변입니다")
    (handoff,) = feeder.say("ask", "상담원 연결해 주세요").handoffs
    assert len(handoff.transcript) == HANDOFF.transcript_turns
    assert handoff.transcript[-1].text == "상담원 연결해 주세요"
    assert handoff.transcript[0].text == "10번째 답변입니다"


# -- once per conversation ------------------------------------------------------------------


def test_a_conversation_is_handed_off_only_once() -> None:
    feeder = Feeder()
    (first,) = feeder.say("c1", "상담원 연결해 주세요").handoffs
    outcome = feeder.say("c2", "상담원 아직이에요? 빨리 연결해 주세요")
    assert outcome.handoffs == []
    assert outcome.enriched is not None
    assert outcome.enriched.context is not None
    assert outcome.enriched.context.handoff_open is True
    (decision,) = outcome.enriched.decisions
    assert decision.kind is DecisionKind.ALREADY_HANDED_OFF
    assert decision.action_id == first.action_id
    assert decision.reasons == ["customer_requested_human"]


def test_another_conversation_of_the_same_customer_can_be_handed_off() -> None:
    feeder = Feeder()
    (first,) = feeder.say("c1", "상담원 연결해 주세요", conversation_id="conv-1").handoffs
    (second,) = feeder.say("c2", "상담원 연결해 주세요", conversation_id="conv-2").handoffs
    assert first.action_id != second.action_id
    assert second.conversation_id == "conv-2"
    assert second.transcript[0].text == "상담원 연결해 주세요"
    assert len(second.transcript) == 1


# -- bot and agent turns --------------------------------------------------------------------


@pytest.mark.parametrize("sender", [Sender.BOT, Sender.AGENT])
def test_bot_and_agent_turns_never_trigger_a_handoff(sender: Sender) -> None:
    feeder = Feeder(profile=profile(tier=Tier.VIP))
    toxic = scores("rhetorical_question", 0.1, "hate", 0.99)
    for n, text in enumerate(
        ["상담원 연결해 드릴게요", "정말 짜증나고 실망이네요", BOT_FAILURE] * 2
    ):
        outcome = feeder.feed(chat(f"x{n}", text, sender=sender), toxic)
        assert outcome.handoffs == []
        assert outcome.enriched is not None
        assert outcome.enriched.decisions == []


def test_bot_turns_between_customer_turns_do_not_count_toward_the_customer_streaks() -> None:
    feeder = Feeder()
    for n in range(5):
        feeder.bot(f"b{n}", BOT_FAILURE)
    outcome = feeder.say("c1", "배송 조회는 어디서 하나요?", NEUTRAL)
    assert outcome.handoffs == []
    assert outcome.enriched is not None
    assert outcome.enriched.context is not None
    assert outcome.enriched.context.unanswered_streak == 1
    assert outcome.enriched.context.turns == 6
