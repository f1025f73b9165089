"""Answer text with fields: filled, particles that fit the value, optional parts."""

from __future__ import annotations

import pytest

from engage_stream.drafting.fields import FieldError, parse, particle_for

SHIPPED = parse(
    "주문하신 {item:은} {carrier:으로} 발송되었고, 송장번호는 {tracking_number}입니다. "
    "[{eta} 도착 예정이에요.]"
)


def test_every_field_is_filled_and_the_optional_part_kept_when_known() -> None:
    text = SHIPPED.render(
        {
            "item": "경량 패딩 자켓",
            "carrier": "CJ대한통운",
            "tracking_number": "612345678901",
            "eta": "11월 30일(월)",
        }
    )
    assert text == (
        "주문하신 경량 패딩 자켓은 CJ대한통운으로 발송되었고, 송장번호는 612345678901입니다. "
        "11월 30일(월) 도착 예정이에요."
    )


def test_an_unknown_optional_field_drops_its_part_only() -> None:
    text = SHIPPED.render({"item": "볼캡 베이직", "carrier": "롯데택배", "tracking_number": "1"})
    assert text == "주문하신 볼캡 베이직은 롯데택배로 발송되었고, 송장번호는 1입니다."


@pytest.mark.parametrize("missing", ["item", "carrier", "tracking_number"])
def test_an_unknown_required_field_makes_the_text_unusable(missing: str) -> None:
    values = {"item": "니트", "carrier": "CJ대한통운", "tracking_number": "1"}
    values[missing] = ""
    assert SHIPPED.render(values) is None


def test_fields_and_required_fields_are_known_before_rendering() -> None:
    assert SHIPPED.fields == {"item", "carrier", "tracking_number", "eta"}
    assert SHIPPED.required == {"item", "carrier", "tracking_number"}


def test_a_value_that_looks_like_a_field_is_not_expanded_again() -> None:
    text = parse("{item:을} 보냈어요.").render({"item": "{carrier}", "carrier": "CJ대한통운"})
    assert text is not None
    assert text.startswith("{carrier}")
    assert "CJ대한통운" not in text


@pytest.mark.parametrize(
    ("word", "particle", "expected"),
    [
        ("경량 패딩 자켓", "은", "은"),
        ("러닝화", "은", "는"),
        ("러닝화", "이", "가"),
        ("후리스 집업", "을", "을"),
        ("텀블러", "를", "를"),  # either spelling picks the right form
        ("CJ대한통운", "으로", "으로"),
        ("롯데택배", "으로", "로"),
        ("우체국택배", "으로", "로"),
        ("서울", "으로", "로"),  # ㄹ takes 로
        ("러닝화 에어 3", "은", "은"),  # 삼
        ("수분 크림 50ml", "이에요", "예요"),  # 밀리리터
        ("사이즈 XL", "은", "은"),  # 엑스엘
        ("USB", "은", "는"),  # 유에스비
        ("10%", "이", "가"),  # 퍼센트
        ("SPF50+", "과", "와"),  # 플러스
        ("ORD-1", "이", "이"),  # 일
        ("ORD-2", "이", "가"),  # 이
    ],
)
def test_particles_follow_the_sound_of_the_value(word: str, particle: str, expected: str) -> None:
    assert particle_for(word, particle) == expected


def test_a_value_whose_end_cannot_be_read_gets_the_form_that_reads_either_way() -> None:
    assert particle_for("★", "은") == "(은)는"
    assert particle_for("★", "으로") == "(으)로"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{item", "unbalanced braces"),
        ("{Item}", "is not a field"),
        ("{item:의}", "unknown particle"),
        ("[도착 예정이에요.]", "needs a field"),
        ("[{eta} [{eta}]]", "cannot nest"),
        ("{eta} 도착]", "without"),
        ("[{eta} 도착", "without"),
    ],
)
def test_a_malformed_text_is_refused_saying_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(FieldError, match=problem):
        parse(text)
