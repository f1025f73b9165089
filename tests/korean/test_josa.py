"""Particles follow the sound of the word before them, whatever the word is: Hangul, digits,
units, letter names, words in Latin letters, and words in brackets or quotes."""

from __future__ import annotations

import pytest

from engage_stream.korean.josa import attach, final_of, particle


@pytest.mark.parametrize(
    ("word", "which", "expected"),
    [
        # Hangul: a final consonant or not
        ("니트 가디건", "을/를", "을"),
        ("머플러", "을/를", "를"),
        ("텀블러", "이/가", "가"),
        ("울 양말", "이/가", "이"),
        ("러닝화", "은/는", "는"),
        ("후리스 집업", "은/는", "은"),
        ("가방", "과/와", "과"),
        ("모자", "과/와", "와"),
        # 으로/로: 로 after a vowel and after ㄹ
        ("CJ대한통운", "으로/로", "으로"),
        ("우체국택배", "으로/로", "로"),
        ("서울", "으로/로", "로"),
        ("지하철", "으로/로", "로"),
        ("현관 앞", "으로/로", "으로"),
        # digits as they are read: 영 일 이 삼 사 오 육 칠 팔 구
        ("0", "을/를", "을"),
        ("1", "을/를", "을"),
        ("2", "을/를", "를"),
        ("3", "을/를", "을"),
        ("4", "을/를", "를"),
        ("5", "이/가", "가"),
        ("6", "이/가", "이"),
        ("7", "으로/로", "로"),  # 칠: ㄹ
        ("8", "으로/로", "로"),
        ("9", "으로/로", "로"),
        ("3", "으로/로", "으로"),  # 삼
        ("10", "으로/로", "으로"),  # 십
        ("100", "을/를", "을"),  # 백
        ("1000", "은/는", "은"),  # 천
        ("12,000", "이/가", "이"),
        ("1.5", "이/가", "가"),  # 일 점 오
        # amounts and counts: the unit is Hangul
        ("12,000원", "을/를", "을"),
        ("사과 2개", "을/를", "를"),
        ("3일", "이/가", "이"),
        # brackets and quotes are skipped to find the word
        ("사과 2개 (합계 12,000원)", "을/를", "을"),
        ("'봄 신상'", "을/를", "을"),
        ('"한정판 머그"', "이/가", "가"),
        ("「베이직 티셔츠」", "은/는", "는"),
        ("쿠션 [L]", "이/가", "이"),  # 엘
        ("에코백 (소)", "을/를", "를"),
        # product names ending in digits or Latin letters
        ("갤럭시 S24", "을/를", "를"),  # 이십사
        ("아이폰 15", "이/가", "가"),  # 십오
        ("에어 3", "은/는", "은"),  # 삼
        ("ORD-1", "이/가", "이"),
        ("ORD-2", "이/가", "가"),
        ("수분 크림 50ml", "을/를", "를"),  # 밀리리터
        ("생수 2L", "을/를", "를"),  # 리터
        ("원두 1kg", "을/를", "을"),  # 킬로그램
        ("충전기 65W", "이/가", "가"),  # 와트
        ("모니터 4K", "이/가", "가"),  # 케이
        ("사이즈 XL", "은/는", "은"),  # 엑스엘
        ("사이즈 M", "이/가", "이"),  # 엠
        ("사이즈 S", "이/가", "가"),  # 에스
        ("USB", "을/를", "를"),  # 유에스비
        ("LED", "이/가", "가"),  # 엘이디
        ("TV", "으로/로", "로"),  # 티브이
        ("USB-C 케이블", "을/를", "을"),
        ("케이블 USB-C", "을/를", "를"),  # 씨
        ("에어팟 Pro", "을/를", "를"),  # 프로
        ("iPhone", "이/가", "이"),  # 폰
        ("Galaxy", "이/가", "가"),
        ("Cream", "을/를", "을"),  # 크림
        ("Mall", "으로/로", "로"),  # 몰
        ("Apple", "을/를", "를"),  # 애플
        ("Gift Set", "을/를", "를"),  # 세트
        ("Black", "이/가", "이"),  # 블랙
        ("Cap", "을/를", "을"),  # 캡
        ("Desk", "을/를", "를"),  # 데스크
        ("Home", "으로/로", "으로"),  # 홈
        ("10%", "이/가", "가"),  # 퍼센트
        ("SPF50+", "과/와", "와"),  # 플러스
    ],
)
def test_the_particle_fits_the_word(word: str, which: str, expected: str) -> None:
    assert particle(word, which) == expected
    assert attach(word, which) == word + expected


@pytest.mark.parametrize("which", ["을/를", "를/을", "을를", "을", "를"])
def test_any_spelling_names_the_same_particle(which: str) -> None:
    assert particle("사과", which) == "를"
    assert particle("수박", which) == "을"


@pytest.mark.parametrize(
    ("word", "which", "expected"),
    [
        ("★", "을/를", "을(를)"),
        ("", "이/가", "이(가)"),
        ("()", "은/는", "은(는)"),
        ("♥", "으로/로", "(으)로"),
        ("…", "과/와", "과(와)"),
    ],
)
def test_a_word_whose_end_cannot_be_read_gets_both_forms(
    word: str, which: str, expected: str
) -> None:
    assert particle(word, which) == expected


def test_every_hangul_syllable_is_read_by_its_final_consonant() -> None:
    for code in range(ord("가"), ord("힣") + 1):
        final = (code - ord("가")) % 28
        syllable = chr(code)
        assert final_of(syllable) == final
        assert particle(syllable, "을/를") == ("을" if final else "를")
        assert particle(syllable, "으로/로") == ("으로" if final not in (0, 8) else "로")


def test_an_unknown_particle_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown particle '의'.*을/를"):
        particle("사과", "의")
