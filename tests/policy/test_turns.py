"""Chat turns as the handoff rules see them, and the streaks derived from stored turns."""

from __future__ import annotations

import pytest

from engage_stream.enrichment.state import ConversationState, Position, Turn
from engage_stream.policy.turns import TurnReader, squeeze, streaks
from engage_stream.schemas.events import Sender
from engage_stream.schemas.scores import Scores
from tests.core.builders import SHIPPED_POLICY, at, chat, scores

READER = TurnReader(SHIPPED_POLICY.handoff)
HERE = Position(source="crm.events/0", offset=7)
LOW = SHIPPED_POLICY.handoff.low_confidence.max_intent_score


def customer_turn(
    *, negative: bool = False, intent_score: float | None = 0.9, offset: int = 0
) -> Turn:
    return Turn(
        position=Position(source="crm.events/0", offset=offset),
        event_id=f"c{offset}",
        sender=Sender.CUSTOMER,
        text="질문",
        at=at(minutes=offset),
        intent="question",
        intent_score=intent_score,
        negative=negative,
    )


def reply(*, helpful: bool = True, sender: Sender = Sender.BOT, offset: int = 0) -> Turn:
    return Turn(
        position=Position(source="crm.events/0", offset=offset),
        event_id=f"r{offset}",
        sender=sender,
        text="답변",
        at=at(minutes=offset),
        helpful=helpful,
    )


# -- reading a turn -------------------------------------------------------------------------


def test_squeeze_removes_every_kind_of_space() -> None:
    assert squeeze(" 상담 원\t연결\n해 주세요\u3000") == "상담원연결해주세요"


def test_a_customer_turn_carries_the_scores_and_the_masked_text() -> None:
    event = chat("e1", "제 번호 010-2222-3333 으로 연락 주세요")
    turn = READER.turn(event, scores("command", 0.8, "none", 0.97), HERE)
    assert turn.text == "제 번호 010-****-3333 으로 연락 주세요"
    assert turn.position == HERE
    assert turn.event_id == "e1"
    assert turn.at == event.occurred_at
    assert (turn.intent, turn.intent_score) == ("command", 0.8)
    assert (turn.toxicity, turn.toxicity_score) == ("none", 0.97)
    assert turn.negative is False


def test_a_customer_turn_without_scores_has_none() -> None:
    turn = READER.turn(chat("e1", "안녕하세요"), None, HERE)
    assert turn.intent is None
    assert turn.intent_score is None
    assert turn.toxicity is None
    assert turn.negative is False


@pytest.mark.parametrize(
    ("text", "turn_scores", "negative"),
    [
        ("안녕하세요", scores("statement", 0.9, "offensive", 0.5), True),
        ("안녕하세요", scores("statement", 0.9, "hate", 0.49), False),
        ("안녕하세요", scores("statement", 0.9, "none", 0.99), False),
        ("안녕하세요", scores("rhetorical_command", 0.3), True),
        ("안녕하세요", scores("rhetorical_question", 0.9), True),
        ("진짜 짜 증 나네요", None, True),  # matched without spaces
        ("배송이 왜 아직 안 와요", scores(), True),
        ("언제까지 기다려야 하나요", scores(), True),
        ("환불 가능한가요?", scores(), True),
        ("감사합니다", scores(), False),
    ],
)
def test_a_turn_is_negative_by_toxicity_speech_act_or_complaint_words(
    text: str, turn_scores: Scores | None, negative: bool
) -> None:
    assert READER.turn(chat("e1", text), turn_scores, HERE).negative is negative


@pytest.mark.parametrize("sender", [Sender.BOT, Sender.AGENT])
def test_a_reply_turn_ignores_scores_and_is_helpful_unless_it_admits_failure(
    sender: Sender,
) -> None:
    toxic = scores("rhetorical_question", 0.1, "hate", 0.99)
    helpful = READER.turn(chat("b1", "내일 도착 예정입니다", sender=sender), toxic, HERE)
    assert helpful.helpful is True
    assert helpful.negative is False
    assert helpful.intent is None
    assert helpful.toxicity is None
    for failure in ["죄송해요, 잘 모르겠어요", "질문을 이해하지 못했어요", "다시 말씀해 주세요"]:
        assert READER.turn(chat("b2", failure, sender=sender), None, HERE).helpful is False


def test_reply_text_is_masked_too() -> None:
    turn = READER.turn(chat("b1", "a.b@shop.co.kr 로 보내 주세요", sender=Sender.AGENT), None, HERE)
    assert turn.text == "a***@shop.co.kr 로 보내 주세요"


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("상담원 연결해 주세요", True),
        ("상담사분 계신가요", True),
        ("매니저한테 연결해 줘요", True),
        ("진짜 사람이랑 얘기하고 싶어", True),
        ("사람을 원해요", True),
        ("사람이 너무 많아요", False),
        ("사람들이 좋아하는 상품 추천해 주세요", False),
        ("상품 상세가 궁금해요", False),
    ],
)
def test_asks_for_human(text: str, asks: bool) -> None:
    assert READER.asks_for_human(text) is asks


# -- streaks --------------------------------------------------------------------------------


def test_no_turns_no_streaks() -> None:
    result = streaks([], LOW)
    assert (result.negative, result.unanswered, result.low_confidence) == (0, 0, 0)


def test_negative_streak_counts_the_customers_own_consecutive_negative_turns() -> None:
    turns = [
        customer_turn(negative=True),
        customer_turn(negative=False),
        customer_turn(negative=True),
        reply(),
        customer_turn(negative=True),
        reply(helpful=False),
        customer_turn(negative=True),
    ]
    assert streaks(turns, LOW).negative == 3


def test_unanswered_streak_ends_at_the_last_helpful_reply_only() -> None:
    turns = [
        customer_turn(),
        reply(helpful=True),
        customer_turn(),
        reply(helpful=False),
        customer_turn(),
        reply(helpful=False, sender=Sender.AGENT),
        customer_turn(),
    ]
    assert streaks(turns, LOW).unanswered == 3
    assert streaks([*turns, reply(sender=Sender.AGENT)], LOW).unanswered == 0


def test_low_confidence_streak_needs_a_score_below_the_threshold() -> None:
    turns = [
        customer_turn(intent_score=0.1),
        customer_turn(intent_score=LOW),  # at the threshold: confident enough
        customer_turn(intent_score=0.2),
        reply(),
        customer_turn(intent_score=0.3),
    ]
    assert streaks(turns, LOW).low_confidence == 2
    assert streaks([*turns, customer_turn(intent_score=None)], LOW).low_confidence == 0


def test_the_reader_computes_streaks_from_a_stored_conversation() -> None:
    conversation = ConversationState(
        conversation_id="conv-1",
        turns=[customer_turn(negative=True, intent_score=0.2, offset=n) for n in range(4)],
    )
    result = READER.streaks(conversation)
    assert (result.negative, result.unanswered, result.low_confidence) == (4, 4, 4)
