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


# -- formats added with the corpus (issue 14) -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("환불은 신한 110-123-456789로 부탁드려요", "환불은 신한 ***-***-******로 부탁드려요"),
        ("국민은행 123456-01-123456 예금주 김민지", "국민은행 ******-**-****** 예금주 김민지"),
        ("카카오뱅크 3333 12 1234567", "카카오뱅크 **** ** *******"),
        ("계좌번호 3021234567811 농협이요", "계좌번호 ************* 농협이요"),
        ("110123456789 신한이요", "************ 신한이요"),
        ("토스뱅크 1000-1234-5678 로 환불", "토스뱅크 ****-****-**** 로 환불"),
        ("입금은 1002-123-456789 로 하면 되나요", "입금은 ****-***-****** 로 하면 되나요"),
    ],
)
def test_bank_accounts_are_masked_by_their_bank_layout_or_the_words_around(
    text: str, masked: str
) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "CJ대한통운 6012-3456-7890 조회가 안 돼요",  # 4-4-4 is also a tracking number
        "주문번호 20261128000123 환불은 국민으로 받을게요",
        "110123456789 이 번호로 조회해도 안 나와요",  # bare, nothing says it is an account
        "89,000원 입금했는데 확인 부탁드려요",
    ],
)
def test_account_shaped_shop_numbers_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("여권번호 M12345678 입니다", "여권번호 M******** 입니다"),
        ("M123A4567 이 번호로 등록해 주세요", "M***A**** 이 번호로 등록해 주세요"),
        ("여권 m12345678 로 등록했어요", "여권 m******** 로 등록했어요"),
        ("passport no. JR1234567", "passport no. JR*******"),
    ],
)
def test_passport_numbers_keep_only_their_letters(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text", ["쿠폰 M12345678 안 먹혀요", "상품 A12345678 재입고", "WINTER20261128"]
)
def test_letter_and_digit_codes_that_are_not_passports_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("운전면허번호 11-12-345678-90 입니다", "운전면허번호 **-**-******-** 입니다"),
        ("28 12 345678 90 이걸로 인증했어요", "** ** ****** ** 이걸로 인증했어요"),
        ("면허번호 131234567890", "면허번호 ************"),
        ("서울 12-345678-90 면허증이요", "서울 **-******-** 면허증이요"),
    ],
)
def test_driver_licence_numbers_are_masked_by_region_code_or_name(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize("text", ["29-12-345678-90", "운송장 131234567890", "10-12-345678-90"])
def test_licence_shaped_numbers_outside_regions_11_to_28_or_unlabelled_are_left_alone(
    text: str,
) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("등록번호 123-45-67891 로 해주세요", "등록번호 ***-**-***** 로 해주세요"),
        ("사업자번호 222-33-44444", "사업자번호 ***-**-*****"),  # wrong check digit, but labelled
        ("사업자 1234567891 입니다", "사업자 ********** 입니다"),
    ],
)
def test_business_registration_numbers_are_masked_by_check_digit_or_label(
    text: str, masked: str
) -> None:
    assert mask_text(text) == masked


def test_a_business_shaped_number_with_a_wrong_check_digit_and_no_label_is_left_alone() -> None:
    assert mask_text("번호 123-45-67890 맞나요") == "번호 123-45-67890 맞나요"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("안심번호 0505-123-4567로 연락 주세요", "안심번호 050-****-4567로 연락 주세요"),
        ("050-1234-5678", "050-****-5678"),
        ("05071234567", "050-****-4567"),
        ("수신거부 080-123-4567", "수신거부 080-****-4567"),
        ("+82 2-123-4567", "02-****-4567"),
        ("+82 (0)31 123 4567", "031-****-4567"),
        ("+8221234567", "02-****-4567"),
        ("집 전화 0212345678 입니다", "집 전화 02-****-5678 입니다"),
        ("0311234567로 연락 바랍니다", "031-****-4567로 연락 바랍니다"),
        ("(02) 123-4567", "02-****-4567"),
        ("02-1234567", "02-****-4567"),
        ("010 - 1234 - 5678", "010-****-5678"),
        ("(010)1234-5678", "010-****-5678"),
    ],
)
def test_virtual_free_international_and_unseparated_numbers_keep_only_their_last_four(
    text: str, masked: str
) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "운송장 0212345678 조회가 안 돼요",
        "고객센터 1588-0000으로 전화했는데",
        "ORD-031-000123 주문 문의",
        "ORD-20261128-0042 건이요",
        "우편번호 06236 맞나요",
    ],
)
def test_unseparated_numbers_that_a_shop_word_labels_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_a_shop_word_labels_the_number_after_it_not_one_further_on() -> None:
    text = "주문번호 ORD-20261128-0042 배송 전에 0212345678로 연락 주세요"
    assert mask_text(text) == "주문번호 ORD-20261128-0042 배송 전에 02-****-5678로 연락 주세요"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("０１０－１２３４－５６７８로 연락주세요", "010-****-5678로 연락주세요"),
        ("번호　０１０ １２３４ ５６７８　입니다", "번호　010-****-5678　입니다"),
        ("010–1234–5678", "010-****-5678"),
        ("010—1234—5678", "010-****-5678"),
        ("010‐1234‐5678", "010-****-5678"),
        ("010ㅡ1234ㅡ5678", "010-****-5678"),
        ("주민번호 ９００１０１－１２３４５６７", "주민번호 ******-*******"),
        ("여권번호 Ｍ１２３４５６７８", "여권번호 M********"),
    ],
)
def test_full_width_digits_and_other_dashes_are_masked_like_ascii(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text", ["２７０ 사이즈 ２개 주세요ㅡㅡ", "ＷＩＮＴＥＲ１０ 쿠폰", "２０２６－１１－２８ 주문"]
)
def test_full_width_text_without_personal_data_comes_back_exactly(text: str) -> None:
    assert mask_text(text) == text


def test_an_email_address_right_after_korean_is_masked() -> None:
    assert mask_text("메일은minji.kim@example.com로 주세요") == "메일은m***@example.com로 주세요"


def test_personal_customs_codes_are_masked() -> None:
    assert (
        mask_text("개인통관고유부호 P123456789012 입니다")
        == "개인통관고유부호 P************ 입니다"
    )


def test_a_card_is_masked_even_where_a_shop_word_comes_before_it() -> None:
    assert mask_text("주문할 때 4111111111111111 카드로 결제했어요") == (
        "주문할 때 ****-****-****-1111 카드로 결제했어요"
    )
    assert mask_text("운송장 4111 1111 1111 1111") == "운송장 ****-****-****-1111"


def test_a_tracking_number_that_happens_to_pass_luhn_is_left_alone() -> None:
    assert mask_text("운송장 6123456789019 조회가 안 돼요") == "운송장 6123456789019 조회가 안 돼요"
