"""The drafter answers the customer's question from the shop's bank with the facts of the
order it is about, and never says what it does not know."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from engage_stream.drafting.bank_file import BankError
from engage_stream.drafting.draft import Question
from engage_stream.drafting.drafter import Drafter
from engage_stream.drafting.facts import OrderFacts
from engage_stream.drafting.knowledge import KnowledgeBank
from engage_stream.drafting.politeness import is_polite
from engage_stream.inference.vectors import RecentVectors
from engage_stream.schemas.actions import ModelStamp
from tests.drafting.conftest import SENDER, SEOUL, HashEncoder

PLACED = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SHIPPED = OrderFacts(
    order_id="ORD-20261128-0042",
    status="shipped",
    items=("경량 패딩 자켓",),
    total_krw=89_000,
    placed_at=PLACED,
    carrier="CJ대한통운",
    tracking_number="612345678901",
    estimated_delivery=date(2026, 11, 30),
)
REFUNDED = OrderFacts(
    order_id="ORD-20261120-0017",
    status="refunded",
    items=("와이드 데님 팬츠", "볼캡 베이직"),
    total_krw=67_000,
    placed_at=PLACED,
    cancelled_at=PLACED,
    refund_krw=67_000,
    refunded_at=datetime(2026, 11, 29, 5, 0, tzinfo=UTC),
)
DELIVERY = Question("주문한 패딩 언제 와요?", "delivery_status", 0.93, "E1")
DIGITS = re.compile(r"\d{6,}")


def test_a_shipped_order_s_question_is_answered_with_its_facts(drafter: Drafter) -> None:
    draft = drafter.draft(DELIVERY, order=SHIPPED, name="김하준")
    assert draft.kind == "grounded"
    assert draft.text.startswith("김하준 고객님, 안녕하세요.")
    for fact in ("경량 패딩 자켓", "CJ대한통운", "612345678901", "11월 30일(월)"):
        assert fact in draft.text
    assert draft.suggestions[0].answer_id == "delivery_status.shipped"
    assert draft.suggestions[0].grounded
    assert draft.answer == draft.suggestions[0]


def test_without_an_order_nothing_about_one_is_invented(drafter: Drafter) -> None:
    draft = drafter.draft(DELIVERY, order=None)
    assert not any(s.grounded for s in draft.suggestions)
    assert not DIGITS.search(draft.text)
    for invented in ("CJ대한통운", "송장번호는", "{", "}", "["):
        assert invented not in draft.text
    assert draft.kind in ("general", "no_answer")


def test_an_answer_about_another_order_state_is_never_said(drafter: Drafter) -> None:
    """With a refunded order, no suggestion may speak of shipping it."""
    draft = drafter.draft(DELIVERY, order=REFUNDED)
    ids = {s.answer_id for s in draft.suggestions}
    assert "delivery_status.shipped" not in ids
    assert "612345678901" not in draft.text


def test_a_refund_question_after_the_refund_names_the_amount(drafter: Drafter) -> None:
    question = Question("환불 얼마 처리됐는지 알려주세요", "refund_status", 0.9, "E2")
    draft = drafter.draft(question, order=REFUNDED)
    assert draft.kind == "grounded"
    assert "67,000원" in draft.text
    assert draft.answer is not None
    assert draft.answer.topic == "refund_status"


def test_several_items_read_as_the_first_and_how_many_more(drafter: Drafter) -> None:
    question = Question("환불 금액 확인 부탁드려요", "refund_status", 0.9, "E3")
    text = " ".join(s.text for s in drafter.draft(question, order=REFUNDED).suggestions)
    assert "와이드 데님 팬츠 외 1건" in text or "67,000원" in text


def test_an_abusive_turn_gets_an_apology_and_a_calm_line(drafter: Drafter) -> None:
    draft = drafter.draft(DELIVERY, order=SHIPPED, name="김하준", tone="abusive")
    assert draft.text.startswith("김하준 고객님, 불편을 드려 정말 죄송합니다.")
    assert "충분히 이해합니다" in draft.text
    assert "612345678901" in draft.text  # the question is still answered


def test_an_upset_customer_gets_an_apology_instead_of_a_greeting(drafter: Drafter) -> None:
    draft = drafter.draft(DELIVERY, order=SHIPPED, tone="upset")
    assert draft.text.startswith("고객님, 불편을 드려 정말 죄송합니다.")
    assert "충분히 이해합니다" not in draft.text


def test_no_question_gets_the_default_line_and_no_suggestions(drafter: Drafter) -> None:
    draft = drafter.draft(None, name="김하준")
    assert draft.kind == "no_answer"
    assert draft.fallback == "no_question"
    assert draft.suggestions == ()
    assert draft.text == (
        "김하준 고객님, 안녕하세요. 문의하신 내용을 확인해서 바로 안내해 드릴게요. "
        "더 궁금하신 점이 있으면 편하게 말씀해 주세요."
    )


def test_a_question_nothing_fits_gets_its_topic_s_no_answer_line(bank: KnowledgeBank) -> None:
    strict = bank.retrieval.model_copy(update={"min_score": 2.9})
    picky = KnowledgeBank(bank.path, bank.manifest, bank.file, bank.vectors, bank.stamp)
    picky.retrieval = strict
    with Drafter(picky, HashEncoder(), sender=SENDER, zone=SEOUL, budget_ms=2_000) as drafter:
        draft = drafter.draft(DELIVERY, order=SHIPPED)
    assert draft.kind == "no_answer"
    assert draft.fallback == "low_score"
    assert "배송 상황을 택배사와 함께 확인해서" in draft.text
    assert draft.suggestions  # the agent still sees the closest answers


@pytest.mark.parametrize(
    ("question", "tone"),
    [
        (DELIVERY, "normal"),
        (Question("쿠폰 적용이 안돼요", "coupon_points", 0.8), "upset"),
        (Question("불량이에요 바느질이 다 뜯어졌어요", "defect_claim", 0.9), "abusive"),
        (Question("ㅋㅋㅋㅋ", "other", 0.6), "normal"),
        (Question("배송" * 900, "delivery_status", 0.5), "normal"),
    ],
)
def test_every_draft_is_polite_and_bounded(drafter: Drafter, question: Question, tone: str) -> None:
    draft = drafter.draft(question, order=SHIPPED, tone=tone)  # type: ignore[arg-type]
    assert len(draft.text) <= drafter.max_chars
    assert is_polite(draft.text)
    assert "{" not in draft.text
    assert len(draft.suggestions) <= 3


def test_a_slow_encoder_leaves_retrieval_to_the_n_grams(bank: KnowledgeBank) -> None:
    slow = HashEncoder(delay_s=0.5)
    with Drafter(bank, slow, sender=SENDER, zone=SEOUL, budget_ms=20) as drafter:
        draft = drafter.draft(DELIVERY, order=SHIPPED)
    assert draft.fallback == "deadline"
    assert draft.latency_ms < 400
    assert draft.kind == "grounded"  # n-grams alone still find it
    assert [m.name for m in draft.models] == ["sample-shop"]


def test_a_text_without_hangul_is_not_searched(drafter: Drafter) -> None:
    draft = drafter.draft(Question("where is my order??", "delivery_status", 0.4))
    assert draft.fallback == "not_korean"
    assert draft.kind == "no_answer"


def test_the_sender_comes_from_the_policy_not_the_bank(bank: KnowledgeBank) -> None:
    sender = {"shop_name": "다른 샵", "contact": "고객센터 02-000-0000"}
    with Drafter(bank, HashEncoder(), sender=sender, zone=SEOUL, budget_ms=2_000) as drafter:
        question = Question("고객센터 전화번호 알려주세요", "contact_hours", 0.9)
        texts = " ".join(s.text for s in drafter.draft(question).suggestions)
    assert "02-000-0000" in texts
    assert "1588-0000" not in texts


def test_a_bank_built_with_an_encoder_cannot_be_served_without_one(bank_dir: Path) -> None:
    with pytest.raises(BankError, match="name its model folder"):
        Drafter.load(bank_dir, None, sender=SENDER, zone=SEOUL)


# -- the question's vector from the scoring pass ------------------------------------------


def test_a_vector_the_scorer_made_is_used_instead_of_running_the_encoder(
    bank: KnowledgeBank,
) -> None:
    encoder = HashEncoder()
    asked = "주문한 패딩\n언제  와요?"  # as written; the drafter reads it with single spaces
    vectors = RecentVectors(encoder.stamp, spaces_free=True)
    vectors.keep([asked], encoder.embed([asked]).vectors)
    encoder.calls.clear()
    with Drafter(bank, encoder, sender=SENDER, zone=SEOUL, budget_ms=2_000) as drafter:
        assert drafter.read_vectors(vectors)
        draft = drafter.draft(Question(asked, "delivery_status", 0.93, "E1"), order=SHIPPED)
        alone = Drafter(bank, HashEncoder(), sender=SENDER, zone=SEOUL, budget_ms=2_000)
        with alone:
            same = alone.draft(Question(asked, "delivery_status", 0.93, "E1"), order=SHIPPED)
    assert encoder.calls == []
    assert draft.text == same.text
    assert [s.answer_id for s in draft.suggestions] == [s.answer_id for s in same.suggestions]
    assert [m.name for m in draft.models] == ["sample-shop", "hash-encoder"]


def test_a_question_the_scorer_has_no_vector_for_is_encoded(bank: KnowledgeBank) -> None:
    encoder = HashEncoder()
    with Drafter(bank, encoder, sender=SENDER, zone=SEOUL, budget_ms=2_000) as drafter:
        drafter.read_vectors(RecentVectors(encoder.stamp))
        drafter.draft(DELIVERY, order=SHIPPED)
    assert encoder.calls == [DELIVERY.text]


def test_a_tokenizer_that_reads_spaces_gets_no_vector_of_the_text_as_written(
    bank: KnowledgeBank,
) -> None:
    encoder = HashEncoder()
    asked = "주문한 패딩\n언제 와요?"
    vectors = RecentVectors(encoder.stamp, spaces_free=False)
    vectors.keep([asked], encoder.embed([asked]).vectors)
    encoder.calls.clear()
    with Drafter(bank, encoder, sender=SENDER, zone=SEOUL, budget_ms=2_000) as drafter:
        drafter.read_vectors(vectors)
        drafter.draft(Question(asked, "delivery_status", 0.93, "E1"), order=SHIPPED)
    assert encoder.calls == ["주문한 패딩 언제 와요?"]


def test_vectors_of_another_model_are_refused(bank: KnowledgeBank) -> None:
    other = ModelStamp(name="another-encoder", version="1", sha256="5" * 64)
    with Drafter(bank, HashEncoder(), sender=SENDER, zone=SEOUL, budget_ms=2_000) as drafter:
        assert not drafter.read_vectors(RecentVectors(other))
        assert drafter.vectors is None
