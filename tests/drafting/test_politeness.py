"""Polite means 해요체 or 합니다체 at the end of the last sentence, whatever trails it."""

from __future__ import annotations

import pytest

from engage_stream.drafting.politeness import is_polite, sentence_final


@pytest.mark.parametrize(
    "text",
    [
        "하루가 또 가네요.",  # 네요
        "여행은 언제나 좋죠.",  # 죠
        "다시 새로 사는 게 마음 편해요.",  # 해요
        "맛있게 드세요.",  # 세요
        "잘할 수 있을 거예요.",  # 예요
        "자연스러운 현상이에요.",  # 이에요
        "같이 가 볼까요?",  # 까요
        "많이 힘들었겠어요 ㅠㅠ",  # 어요 + crying jamo
        "좋은 선택이에요 ㅋㅋㅋ",  # laughter
        "확인해 드렸습니다!!",  # 니다
        "주문하신 상품이 맞습니까?",  # 니까
        "잠시만 기다려 주십시오.",  # 시오
        "정말 축하드려요 🎉",  # emoji
        "네.",
    ],
)
def test_polite_endings_pass(text: str) -> None:
    assert is_polite(text)


@pytest.mark.parametrize(
    "text",
    [
        "내 꿈 꿔!",  # 반말
        "나도 아프다.",  # 해라체
        "안녕!",
        "당신의 이야기.",  # a noun phrase
        "노래 불러 드릴까요? 북치기박치기 헥헥",  # polite first sentence, not the last
        "그게 정말 필요",  # ends in 요 but a noun
        "산책 좀 해야겠네여.",  # spelled 여, not 요
        "결혼합시다.",  # 청유 -ㅂ시다 is not 해요체/합니다체
        "",
        "ㅋㅋㅋ",
        "Where is my order?",
    ],
)
def test_other_endings_fail(text: str) -> None:
    assert not is_polite(text)


def test_what_trails_the_last_word_is_stripped() -> None:
    assert sentence_final("괜찮아요~ ^^ ㅎㅎ") == "괜찮아요"
