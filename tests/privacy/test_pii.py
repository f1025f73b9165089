"""Personal data is masked wherever text leaves the process; other numbers are left alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engage_stream.privacy import mask_fields, mask_name, mask_text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("연락처는 010-1234-5678입니다", "연락처는 010-****-5678입니다"),
        ("01098765432로 전화주세요", "010-****-5432로 전화주세요"),
        ("010 2345 6789", "010-****-6789"),
        ("010.2345.6789", "010-****-6789"),
        ("+82 10-2345-6789", "010-****-6789"),
        ("+821023456789", "010-****-6789"),
        ("011-234-5678", "011-****-5678"),
        ("사무실 02-123-4567", "사무실 02-****-4567"),
        ("부산 051-234-5678", "부산 051-****-5678"),
    ],
)
def test_phone_numbers_keep_only_their_last_four_digits(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("메일은 minji.kim@example.co.kr 로", "메일은 m***@example.co.kr 로"),
        ("문의: cs+vip@shop-example.com", "문의: c***@shop-example.com"),
    ],
)
def test_email_addresses_keep_only_the_first_letter_and_domain(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "rrn",
    ["900101-1234567", "9001011234567", "010203-4123456", "851231 - 2345678", "880515-5123456"],
)
def test_resident_registration_numbers_are_masked_whole(rrn: str) -> None:
    assert mask_text(f"주민번호 {rrn} 확인") == "주민번호 ******-******* 확인"


@pytest.mark.parametrize(
    "card",
    ["4111 1111 1111 1111", "4111-1111-1111-1111", "5500000000000004", "9410-1234-5678-9010"],
)
def test_card_numbers_that_pass_luhn_keep_their_last_four(card: str) -> None:
    digits = card.replace(" ", "").replace("-", "")
    assert mask_text(f"카드 {card} 결제") == f"카드 ****-****-****-{digits[-4:]} 결제"


@pytest.mark.parametrize(
    "text",
    [
        "주문번호 20261126000123 금액 39,000원",
        "운송장 123456789012",
        "4111 1111 1111 1112",  # fails Luhn: not a card
        "991332-1234567",  # month 13: not a resident registration number
        "2026-11-26 10:15:00",
        "상품 SKU-TEE-01 2개",
    ],
)
def test_order_numbers_dates_and_amounts_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("홍길동", "홍*동"),
        ("김철", "김*"),
        ("남궁민수", "남**수"),
        ("Kim Minji", "K*******i"),
        ("", ""),
    ],
)
def test_names_follow_the_korean_convention(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_records_are_masked_by_field_name_and_by_pattern_at_any_depth() -> None:
    record = {
        "customer_id": "C00042",
        "name": "김민지",
        "contact": {"phone": "010-2345-6789", "emails": ["minji@example.com"]},
        "note": "카드 4111 1111 1111 1111 로 결제, 주문 20261126000123",
        "password": "hunter2",
        "amount": 39000,
    }
    assert mask_fields(record) == {
        "customer_id": "C00042",
        "name": "김*지",
        "contact": {"phone": "010-****-6789", "emails": ["m***@example.com"]},
        "note": "카드 ****-****-****-1111 로 결제, 주문 20261126000123",
        "password": "********",
        "amount": 39000,
    }


@given(
    st.from_regex(r"01[016789]-?[0-9]{4}-?[0-9]{4}", fullmatch=True),
    st.text(alphabet="가나다라마바사 ", max_size=20),
)
def test_no_generated_mobile_number_survives_masking(phone: str, around: str) -> None:
    masked = mask_text(f"{around}{phone}{around}")
    middle = phone.replace("-", "")[3:7]
    assert phone not in masked
    assert f"-{middle}-" not in masked
