"""A seeded corpus of Korean customer messages: identifiers to mask and shop numbers to keep.

Every sentence is composed here from templates written for this corpus (chat and e-mail,
polite and casual, with and without a space before the particle) and numbers drawn from
the formats' own structure: valid dates in resident numbers, a Luhn digit on cards, 국세청's
check digit on business numbers, the banks' digit groups on accounts. An identifier is
written the ways customers write it (hyphens, spaces, dots, none, full-width digits, other
dashes); a bare number that shares its shape with a shop number (an account, a licence,
a business number) comes with the words that say what it is, as customers give it.

The numbers to keep are the sample shop's own (engage_stream.samples: ORD-20261128-0042,
ORD-007-000123, the catalogue's SKUs and carriers) and what its customers write around
them: tracking numbers, amounts, dates, times, sizes, quantities, coupon codes, the shop's
1588 number, postal codes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from engage_stream.samples.content import sample_content

SEED = 20261201
PER_FORMAT = 150
PER_KIND = 190

FULL_WIDTH = {cp: cp + 0xFEE0 for cp in range(0x21, 0x7F)}
DASHES = ("\u2010", "\u2013", "\u2014", "\uff0d", "\u3161")
"""‐ – — － and ㅡ, each of which customers type for a hyphen."""


@dataclass(frozen=True, slots=True)
class Identifier:
    """Personal data in a sentence: what must not survive, and what the mask may show."""

    fmt: str
    variant: str
    text: str
    start: int
    end: int
    kept: str
    """The digits the mask may still show, in order: a phone's prefix and last four, a
    card's last four; empty where every digit goes."""
    secret: str = ""
    """For an e-mail address, the part of its local name that must go."""

    @property
    def before(self) -> str:
        return self.text[: self.start]

    @property
    def after(self) -> str:
        return self.text[self.end :]


@dataclass(frozen=True, slots=True)
class Keeper:
    """A shop number or quantity in a sentence that must come back unchanged."""

    kind: str
    text: str
    item: str


# --- writing a number the ways customers do -------------------------------------------------


def full_width(text: str) -> str:
    return text.translate(FULL_WIDTH)


def write(rng: random.Random, groups: Sequence[str], style: str) -> str:
    """Digit groups joined in one customer's style."""
    if style == "hyphen":
        return "-".join(groups)
    if style == "space":
        return " ".join(groups)
    if style == "dot":
        return ".".join(groups)
    if style == "bare":
        return "".join(groups)
    if style == "spaced":
        return " - ".join(groups)
    if style == "dash":
        return rng.choice(DASHES).join(groups)
    if style == "fullwidth":
        return full_width(rng.choice(("-", " ", "")).join(groups))
    raise ValueError(style)


def digits(rng: random.Random, n: int, first: str = "0123456789") -> str:
    return rng.choice(first) + "".join(rng.choice("0123456789") for _ in range(n - 1))


def pick(rng: random.Random, weighted: Sequence[tuple[str, int]]) -> str:
    return rng.choices([w for w, _ in weighted], [n for _, n in weighted])[0]


# --- sentences ------------------------------------------------------------------------------

OPENERS = ("", "", "", "안녕하세요 ", "저기요 ", "문의드립니다. ", "안녕하세요.\n", "네 ", "아 ")
CLOSERS = (
    "",
    "",
    "",
    " 감사합니다",
    " 부탁드려요",
    "!!",
    " ㅠㅠ",
    "\n감사합니다.",
    "~",
    " 확인 부탁드립니다.",
)
NAMES = (
    "김민지",
    "이서준",
    "박지우",
    "최하은",
    "정도윤",
    "강서연",
    "윤시우",
    "한지민",
    "오예준",
    "임수아",
)


def sentence(rng: random.Random, template: str, ident: str, **extra: str) -> tuple[str, int, int]:
    """The template with the identifier in, an opener and a closer around: (text, start, end)."""
    head, tail = template.split("{id}")
    head = rng.choice(OPENERS) + head.format(**extra)
    tail = tail.format(**extra) + rng.choice(CLOSERS)
    return head + ident + tail, len(head), len(head) + len(ident)


# Templates that say what the number is, and ones that do not (used where the number's own
# shape says it: a hyphenated phone, a grouped card).
MOBILE_T = (
    "제 번호 {id}로 연락 주세요",
    "연락처는 {id} 입니다",
    "{id}으로 문자 주세요",
    "기사님이 {id} 번호로 전화 주시면 돼요",
    "받는 분 번호를 {id}로 바꿔 주세요",
    "핸드폰 {id}",
    "폰번호{id}요",
    "수령인 연락처 변경 요청\n기존 번호 대신 {id}로 변경 부탁드립니다.",
    "{id} 이거 제 번호에요 ㅎㅎ",
    "연락 안되면 {id} 로 해주세요",
    "주문번호 ORD-20261128-0042 배송 전에 {id}로 연락 주세요",
    "{id}",
)
LANDLINE_T = (
    "사무실 번호 {id}로 전화 주세요",
    "집 전화 {id} 입니다",
    "회사로 보내주세요. 회사 번호는 {id}이에요",
    "{id}로 연락 바랍니다",
    "유선 {id} 로 해주세요",
    "부재 시 연락처\n휴대폰이 안 되면 {id}로 연락 부탁드립니다.",
    "경비실 {id} 에 맡겨주세요",
    "주문번호 ORD-20261203-0117 배송 전에 {id}로 연락 주세요",
)
INTERNATIONAL_T = (
    "해외에서 연락드려요. 한국 집 번호는 {id}입니다",
    "Please call {id} (Seoul office)",
    "국제전화로 {id} 로 연락 주세요",
    "{id} 로 전화주시면 됩니다",
    "사무실 {id}",
)
VIRTUAL_T = (
    "안심번호 {id}로 연락 주세요",
    "앱에 뜬 번호가 {id}인데 이걸로 하시면 돼요",
    "{id} 이 번호는 안심번호에요",
    "가상번호 {id} 로 연락 가능합니다",
    "{id}로 전화주세요",
)
FREE_T = (
    "수신거부 {id} 로 했는데 계속 와요",
    "무료 수신거부 {id}",
    "{id}로 전화했는데 안 받아요",
    "광고 문자에 있는 {id} 번호 여기 맞아요?",
)
EMAIL_T = (
    "메일 주소는 {id}입니다",
    "{id} 로 보내주세요",
    "이메일 {id}",
    "영수증은 {id} 으로 부탁드려요",
    "제 메일{id}로 보내줘",
    "계정 이메일이 {id} 이에요",
    "세금계산서 받을 메일: {id}",
)
RESIDENT_T = (
    "주민번호 {id} 입니다",
    "본인확인용 주민등록번호 {id}",
    "{id} 이게 제 주민번호예요",
    "외국인등록번호 {id} 로 확인해 주세요",
    "생년월일 포함해서 {id} 이에요",
    "현금영수증 주민번호로 해주세요 {id}",
)
CARD_T = (
    "카드번호 {id} 로 결제했어요",
    "{id} 카드로 결제된 건 취소해 주세요",
    "결제한 카드가 {id} 인데요",
    "신한카드 {id}",
    "체크카드 {id} 결제 취소요",
    "주문할 때 {id} 카드로 결제했어요",
    "카드 {id} 승인 취소 부탁드립니다",
)
ACCOUNT_T = (
    "환불은 {bank} {id}로 부탁드려요",
    "{bank} {id} 예금주 {name}입니다",
    "환불 계좌 {bank} {id}",
    "계좌번호 {id} ({bank}) 로 입금해 주세요",
    "{id} {bank}이요",
    "환불 계좌 안내\n주문 취소 건 환불은 아래 계좌로 부탁드립니다.\n{bank} {id}\n예금주: {name}",
    "무통장 환불받을 계좌요 {bank}{id}",
    "{bank} 계좌 {id} 로 돌려주세요",
    "돈은 {bank} {id} 여기로 보내줘",
)
PASSPORT_T = (
    "여권번호 {id} 입니다",
    "면세 주문이라 여권번호 필요하다고 해서요. {id}",
    "passport no. {id}",
    "여권 {id} 로 등록했어요",
    "{id} 여권번호 맞는지 확인 부탁드려요",
    "해외배송 통관용으로 여권번호 {id} 보내드립니다",
)
PASSPORT_PLAIN_T = ("{id} 이 번호로 등록해 주세요", "번호는 {id}요")
LICENCE_T = (
    "운전면허번호 {id} 입니다",
    "면허증 번호 {id}",
    "렌탈 예약에 면허번호 {id} 넣었어요",
    "{id} 운전면허 번호예요",
    "본인인증 면허번호{id}로 했습니다",
)
LICENCE_PLAIN_T = ("{id} 이걸로 인증했어요", "인증번호 말고 {id} 이거요")
BUSINESS_T = (
    "사업자등록번호 {id} 로 세금계산서 발행 부탁드려요",
    "세금계산서 발행해 주세요. 사업자번호 {id}",
    "사업자 {id} 상호는 민지상회입니다",
    "{id} 사업자번호로 지출증빙 해주세요",
)
BUSINESS_PLAIN_T = ("등록번호 {id} 로 해주세요", "{id} 이 번호로 계산서 부탁드려요")
CUSTOMS_T = (
    "개인통관고유부호 {id} 입니다",
    "통관부호 {id}",
    "해외직구라 통관번호 {id}로 넣었어요",
    "{id} 통관부호 맞게 들어갔는지 봐주세요",
)

# --- identifiers ----------------------------------------------------------------------------

AREAS = (
    "02", "031", "032", "033", "041", "042", "043", "044",
    "051", "052", "053", "054", "055", "061", "062", "063", "064", "070",
)  # fmt: skip
BANKS: tuple[tuple[tuple[str, ...], tuple[tuple[int, ...], ...], str], ...] = (
    (("국민은행", "KB국민은행", "국민"), ((6, 2, 6), (3, 2, 4, 3)), "0123456789"),
    (("신한은행", "신한"), ((3, 3, 6), (3, 2, 6)), "1"),
    (("우리은행",), ((4, 3, 6),), "1"),
    (("하나은행",), ((3, 6, 5),), "123456789"),
    (("농협", "NH농협은행", "농협은행"), ((3, 4, 4, 2), (6, 2, 6)), "3"),
    (("기업은행", "IBK기업은행"), ((3, 6, 2, 3),), "0"),
    (("카카오뱅크", "카뱅"), ((4, 2, 7),), "3"),
    (("토스뱅크", "토스"), ((4, 4, 4),), "1"),
    (("케이뱅크",), ((3, 3, 6),), "1"),
    (("SC제일은행",), ((3, 2, 6),), "123456789"),
    (("씨티은행",), ((3, 6, 3),), "123456789"),
    (("부산은행",), ((3, 2, 7), (3, 4, 4, 2)), "1"),
    (("대구은행", "iM뱅크"), ((3, 2, 6, 1),), "5"),
    (("새마을금고",), ((4, 4, 4, 1),), "9"),
)
LICENCE_CODES = tuple(f"{n}" for n in (*range(11, 27), 28))
LICENCE_REGIONS = ("서울", "부산", "경기", "강원", "충북", "충남", "전북", "전남", "경북", "경남")
EMAIL_DOMAINS = ("naver.com", "daum.net", "hanmail.net", "gmail.com", "kakao.com", "nate.com")
SYLLABLES = ("min", "ji", "seo", "jun", "ha", "eun", "do", "yun", "kim", "lee", "park", "soo")

Generated = tuple[str, str, str]
"""(written identifier, style, digits the mask may keep)."""

MOBILE_STYLES = (
    ("hyphen", 30), ("bare", 15), ("space", 10), ("dot", 8), ("spaced", 5), ("dash", 8),
    ("fullwidth", 10), ("intl", 10), ("paren", 4),
)  # fmt: skip


def _mobile(rng: random.Random) -> Generated:
    prefix = "010" if rng.random() < 0.8 else rng.choice(("011", "016", "017", "018", "019"))
    middle = digits(rng, 4 if prefix == "010" or rng.random() < 0.5 else 3, "23456789")
    last = digits(rng, 4)
    style = pick(rng, MOBILE_STYLES)
    if style == "intl":
        shape = rng.choice(
            ("+82 {p}-{m}-{l}", "+82-{p}-{m}-{l}", "+82 (0){p} {m} {l}", "+82{p}{m}{l}")
        )
        text = shape.format(p=prefix[1:], m=middle, l=last)
    elif style == "paren":
        text = f"({prefix}){middle}-{last}"
    else:
        text = write(rng, (prefix, middle, last), style)
    return text, style, prefix + last


def _landline(rng: random.Random) -> Generated:
    area = rng.choice(AREAS)
    middle = digits(rng, 4 if area == "070" or rng.random() < 0.5 else 3, "23456789")
    last = digits(rng, 4)
    style = pick(
        rng,
        (("hyphen", 35), ("space", 10), ("dot", 10), ("paren", 10), ("half", 10), ("spaced", 5),
         ("dash", 10), ("fullwidth", 10)),
    )  # fmt: skip
    if style == "paren":
        text = rng.choice(("({a}) {m}-{l}", "{a}){m}-{l}", "({a}){m}-{l}")).format(
            a=area, m=middle, l=last
        )
    elif style == "half":
        text = f"{area}-{middle}{last}"
    else:
        text = write(rng, (area, middle, last), style)
    return text, style, area + last


def _landline_bare(rng: random.Random) -> Generated:
    area = rng.choice(AREAS)
    middle = digits(rng, 4 if area == "070" or rng.random() < 0.5 else 3, "23456789")
    last = digits(rng, 4)
    style = pick(rng, (("bare", 85), ("fullwidth", 15)))
    text = area + middle + last
    return (full_width(text) if style == "fullwidth" else text), style, area + last


def _international(rng: random.Random) -> Generated:
    area = rng.choice(AREAS)[1:]
    middle = digits(rng, 4 if area == "70" or rng.random() < 0.5 else 3, "23456789")
    last = digits(rng, 4)
    shape = rng.choice(
        ("+82 {a}-{m}-{l}", "+82-{a}-{m}-{l}", "+82 (0){a} {m} {l}", "+82{a}{m}{l}",
         "+82 {a} {m} {l}", "(+82) {a}-{m}-{l}", "+82.{a}.{m}.{l}")
    )  # fmt: skip
    text = shape.format(a=area, m=middle, l=last)
    style = "fullwidth" if rng.random() < 0.12 else "ascii"
    return (full_width(text) if style == "fullwidth" else text), style, "0" + area + last


def _virtual(rng: random.Random) -> Generated:
    area = rng.choice(("0505", "0505", "0504", "0507", "0508", "0502", "050"))
    middle = digits(rng, 4 if area == "050" or rng.random() < 0.5 else 3, "123456789")
    last = digits(rng, 4)
    style = pick(
        rng, (("hyphen", 50), ("bare", 15), ("space", 10), ("dash", 10), ("fullwidth", 15))
    )
    return write(rng, (area, middle, last), style), style, "050" + last


def _free(rng: random.Random) -> Generated:
    middle = digits(rng, 3 if rng.random() < 0.7 else 4, "23456789")
    last = digits(rng, 4)
    style = pick(
        rng, (("hyphen", 50), ("bare", 15), ("space", 10), ("dash", 10), ("fullwidth", 15))
    )
    return write(rng, ("080", middle, last), style), style, "080" + last


def _email(rng: random.Random) -> Generated:
    local = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
    if rng.random() < 0.5:
        local += rng.choice(("", ".", "_")) + digits(rng, rng.randint(2, 4))
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}", "ascii", ""


def _resident(rng: random.Random) -> Generated:
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
    century = "12" if born.year < 2000 else "34"
    sex = rng.choice(century) if rng.random() < 0.9 else rng.choice("5678")
    groups = (born.strftime("%y%m%d"), sex + digits(rng, 6))
    style = pick(
        rng,
        (
            ("hyphen", 45),
            ("bare", 15),
            ("space", 10),
            ("spaced", 5),
            ("dash", 10),
            ("fullwidth", 15),
        ),
    )
    return write(rng, groups, style), style, ""


def luhn_complete(body: str) -> str:
    """The body with the check digit that makes it pass Luhn."""
    for last in "0123456789":
        number = body + last
        total = 0
        for i, ch in enumerate(reversed(number)):
            d = int(ch)
            if i % 2 == 1:
                d = d * 2 - 9 if d > 4 else d * 2
            total += d
        if total % 10 == 0:
            return number
    raise AssertionError("unreachable")


def _card(rng: random.Random) -> Generated:
    kind = rng.choices(("visa", "master", "domestic", "amex", "diners"), (35, 25, 25, 10, 5))[0]
    if kind == "amex":
        number = luhn_complete(rng.choice(("34", "37")) + digits(rng, 12))
        groups: tuple[str, ...] = (number[:4], number[4:10], number[10:])
    elif kind == "diners":
        number = luhn_complete("36" + digits(rng, 11))
        groups = (number[:4], number[4:10], number[10:])
    else:
        head = {"visa": "4", "master": rng.choice(("51", "52", "53", "54", "55")), "domestic": "94"}
        number = luhn_complete(head[kind] + digits(rng, 15 - len(head[kind])))
        groups = tuple(number[i : i + 4] for i in range(0, 16, 4))
    style = pick(
        rng, (("hyphen", 40), ("space", 20), ("bare", 15), ("dash", 10), ("fullwidth", 15))
    )
    return write(rng, groups, style), style, number[-4:]


def _account(rng: random.Random) -> tuple[str, str, str, str]:
    names, shapes, first = rng.choice(BANKS)
    shape = rng.choice(shapes)
    number = digits(rng, sum(shape), first)
    groups, at = [], 0
    for n in shape:
        groups.append(number[at : at + n])
        at += n
    style = pick(rng, (("hyphen", 45), ("bare", 25), ("space", 10), ("dash", 8), ("fullwidth", 12)))
    return write(rng, groups, style), style, "", rng.choice(names)


def _passport(rng: random.Random) -> tuple[str, str, str, bool]:
    letter = rng.choices("MSRGD", (70, 10, 8, 6, 6))[0]
    kind = rng.choices(("classic", "new", "old", "lower"), (50, 35, 5, 10))[0]
    if kind == "new":
        text = letter + digits(rng, 3) + rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + digits(rng, 4)
    elif kind == "old":
        text = rng.choice(("JR", "SC", "DG", "MT")) + digits(rng, 7)
    else:
        text = letter + digits(rng, 8)
    if kind == "lower":
        text = text.lower()
    style = "fullwidth" if rng.random() < 0.12 else kind
    plain = kind in ("classic", "new") and style != "fullwidth"
    return (full_width(text) if style == "fullwidth" else text), style, "", plain


def _licence(rng: random.Random) -> tuple[str, str, str, bool]:
    style = pick(
        rng,
        (
            ("hyphen", 45),
            ("space", 10),
            ("bare", 15),
            ("dash", 10),
            ("fullwidth", 10),
            ("region", 10),
        ),
    )
    year, serial, check = digits(rng, 2), digits(rng, 6), digits(rng, 2)
    if style == "region":
        return f"{rng.choice(LICENCE_REGIONS)} {year}-{serial}-{check}", style, "", True
    text = write(rng, (rng.choice(LICENCE_CODES), year, serial, check), style)
    return text, style, "", style in ("hyphen", "space", "dash")


def business_number(rng: random.Random) -> str:
    """Ten digits with 국세청's check digit: weighted sum of nine, the ninth's ×5 tens carried."""
    body = digits(rng, 3, "123456789") + rng.choice(("01", "05", "10", "23", "81", "86", "87"))
    body += digits(rng, 4)
    weights = (1, 3, 7, 1, 3, 7, 1, 3, 5)
    total = sum(int(d) * w for d, w in zip(body, weights, strict=True)) + int(body[8]) * 5 // 10
    return body + str((10 - total % 10) % 10)


def _business(rng: random.Random) -> tuple[str, str, str, bool]:
    number = business_number(rng)
    style = pick(rng, (("hyphen", 60), ("bare", 15), ("space", 10), ("dash", 5), ("fullwidth", 10)))
    text = write(rng, (number[:3], number[3:5], number[5:]), style)
    return text, style, "", style in ("hyphen", "space", "dash")


def _customs(rng: random.Random) -> Generated:
    text = "P" + digits(rng, 12)
    style = "fullwidth" if rng.random() < 0.12 else "ascii"
    return (full_width(text) if style == "fullwidth" else text), style, ""


FORMATS = (
    "mobile", "landline", "landline_bare", "international", "virtual_050", "free_080", "email",
    "resident", "card", "customs_code", "bank_account", "passport", "driver_licence",
    "business_registration",
)  # fmt: skip


def identifiers(seed: int = SEED, per_format: int = PER_FORMAT) -> list[Identifier]:
    """Personal data of every format the masker knows, written into customer sentences."""
    rng = random.Random(seed)
    out: list[Identifier] = []

    def add(fmt: str, templates: Sequence[str], made: Generated, **extra: str) -> None:
        ident, style, kept = made
        text, start, end = sentence(rng, rng.choice(templates), ident, **extra)
        secret = ident.split("@")[0][1:] if fmt == "email" else ""
        out.append(Identifier(fmt, style, text, start, end, kept, secret))

    simple: tuple[tuple[str, Sequence[str], Callable[[random.Random], Generated]], ...] = (
        ("mobile", MOBILE_T, _mobile),
        ("landline", LANDLINE_T, _landline),
        ("landline_bare", LANDLINE_T, _landline_bare),
        ("international", INTERNATIONAL_T, _international),
        ("virtual_050", VIRTUAL_T, _virtual),
        ("free_080", FREE_T, _free),
        ("email", EMAIL_T, _email),
        ("resident", RESIDENT_T, _resident),
        ("card", CARD_T, _card),
        ("customs_code", CUSTOMS_T, _customs),
    )
    for fmt, templates, make in simple:
        for _ in range(per_format):
            add(fmt, templates, make(rng))
    for _ in range(per_format):
        ident, style, kept, bank = _account(rng)
        add("bank_account", ACCOUNT_T, (ident, style, kept), bank=bank, name=rng.choice(NAMES))
    labelled: tuple[tuple[str, Sequence[str], Sequence[str], Callable[..., Any]], ...] = (
        ("passport", PASSPORT_T, PASSPORT_PLAIN_T, _passport),
        ("driver_licence", LICENCE_T, LICENCE_PLAIN_T, _licence),
        ("business_registration", BUSINESS_T, BUSINESS_PLAIN_T, _business),
    )
    for fmt, with_label, plain_templates, make_labelled in labelled:
        for _ in range(per_format):
            ident, style, kept, plain = make_labelled(rng)
            # A number only its shape identifies is written bare of words a quarter of times.
            templates = plain_templates if plain and rng.random() < 0.25 else with_label
            add(fmt, templates, (ident, style, kept))
    return out


# --- what must stay -------------------------------------------------------------------------

_CONTENT = sample_content()
SKUS = tuple(p.sku for p in _CONTENT.catalogue.products)
CARRIERS = _CONTENT.catalogue.carriers
PRODUCTS = tuple(p.name for p in _CONTENT.catalogue.products)

KEEP_T: dict[str, tuple[str, ...]] = {
    "order_number": (
        "주문번호 {id} 건이요",
        "{id} 주문 관련 문의예요",
        "{id} 취소해 주세요",
        "[배송 문의] {id}\n언제 받을 수 있을까요?",
        "주문 {id} 환불 언제 되나요",
        "{id}번 주문 배송지 바꿀 수 있나요?",
        "주문번호: {id} / {product}",
    ),
    "tracking": (
        "운송장 번호 {id} 조회가 안 돼요",
        "{carrier} {id} 로 조회하면 되나요?",
        "송장번호 {id} 맞나요",
        "{carrier} 송장 {id}",
        "택배 {id} 아직 집하 전이래요",
        "[배송 문의]\n{carrier} 운송장 {id} 확인 부탁드립니다.",
        "{id} 이 번호로 조회해도 안 나와요",
    ),
    "sku": (
        "{id} 재입고 언제 돼요?",
        "{id} 사이즈 교환 원해요",
        "상품번호 {id} 품절인가요",
        "{product} ({id}) 색상 문의요",
    ),
    "amount": (
        "결제 금액이 {id}인데 맞나요?",
        "{id} 환불 언제 들어와요?",
        "{id} 입금했는데 확인 부탁드려요",
        "{product} {id} 맞죠?",
        "배송비 {id} 따로 내야 해요?",
    ),
    "date": (
        "{id}에 주문했어요",
        "{id}까지 받을 수 있나요?",
        "배송 예정일이 {id}로 나와요",
        "{id} 결제 건 영수증 주세요",
    ),
    "time": (
        "{id}쯤 도착하나요?",
        "상담 가능 시간이 {id} 맞죠?",
        "{id}에 전화드렸는데 안 받으셨어요",
    ),
    "size": ("{id}로 교환하고 싶어요", "{id} 재고 있나요?", "{product} {id} 주문했는데 작아요"),
    "quantity": ("{product} {id} 주문했어요", "수량 {id}로 바꿔 주세요", "{id} 더 살게요"),
    "coupon": (
        "쿠폰코드 {id} 안 먹혀요",
        "{id} 적용이 안 돼요",
        "프로모션 코드 {id} 입력했는데 오류나요",
        "{id} 쿠폰 아직 쓸 수 있나요",
    ),
    "shop_number": (
        "고객센터 {id}로 전화했는데 연결이 안 돼요",
        "{id} 번호 맞아요?",
        "{id} 상담 몇 시까지예요?",
    ),
    "postal_code": ("우편번호 {id} 맞게 들어갔나요", "{id} 서울 강남구 주소로 바꿔주세요"),
}


def _order_number(rng: random.Random) -> str:
    day = date(2026, 1, 1) + timedelta(days=rng.randrange(365))
    style = rng.choices(("ord", "dated", "generator", "bare"), (45, 25, 15, 15))[0]
    if style == "ord":
        return f"ORD-{day:%Y%m%d}-{rng.randint(1, 500):04d}"
    if style == "dated":
        return f"{day:%Y%m%d}-{rng.randint(1, 500):04d}"
    if style == "generator":
        return f"ORD-{rng.randint(0, 999):03d}-{rng.randint(0, 999_999):06d}"
    return f"{day:%Y%m%d}{rng.randint(1, 999_999):06d}"


def _tracking(rng: random.Random) -> str:
    n = rng.choice((10, 11, 12, 12, 12, 13))
    number = digits(rng, n, "123456789")
    if n == 12 and rng.random() < 0.4:
        return rng.choice(("-", " ")).join(number[i : i + 4] for i in range(0, 12, 4))
    return number


def _sku(rng: random.Random) -> str:
    sku = rng.choice(SKUS)
    return rng.choice(
        (
            sku,
            f"{sku}-{rng.choice(('BLK', 'WHT', 'NVY'))}-{rng.choice('SML')}",
            f"{sku}-{rng.randint(230, 290)}",
        )
    )


def _amount(rng: random.Random) -> str:
    won = rng.randrange(1_000, 2_000_000, 100)
    return rng.choice(
        (
            f"{won:,}원",
            f"{won:,} 원",
            f"₩{won:,}",
            f"{won}원",
            f"KRW {won:,}",
            f"{won / 10_000:.1f}만원",
        )
    )


def _date(rng: random.Random) -> str:
    day = date(2026, 1, 1) + timedelta(days=rng.randrange(365))
    return day.strftime(
        rng.choice(
            (
                "%Y-%m-%d",
                "%Y.%m.%d",
                "%Y/%m/%d",
                "%m/%d",
                "%m월 %d일",
                "%Y%m%d",
                "%y.%m.%d",
                "%Y-%m-%d 14:30",
                "%Y.%m.%d(토)",
                "%Y년 %m월 %d일",
            )
        )
    )


def _time(rng: random.Random) -> str:
    h, m = rng.randint(0, 23), rng.randrange(0, 60, 5)
    return rng.choice(
        (
            f"{h:02d}:{m:02d}",
            f"오후 {h % 12 + 1}시 {m}분",
            f"{h:02d}:{m:02d}:00",
            "09:00~18:00",
            f"{h}시 {m}분",
        )
    )


def _size(rng: random.Random) -> str:
    return rng.choice(
        (f"{rng.randrange(220, 300, 5)} 사이즈", f"사이즈 {rng.randrange(220, 300, 5)}",
         f"{rng.choice((90, 95, 100, 105))}(M)", f"{rng.randint(26, 36)}인치", "XL",
         f"{rng.randrange(220, 300, 5)}mm", f"허리 {rng.randint(26, 36)}", "FREE 사이즈")
    )  # fmt: skip


def _quantity(rng: random.Random) -> str:
    n = rng.randint(1, 20)
    return rng.choice((f"{n}개", f"{n}장", f"{n}세트", f"{n}켤레", f"x{n}", "2+1", f"{n} 개"))


def _coupon(rng: random.Random) -> str:
    word = rng.choice(("WINTER", "WELCOME", "BDAY", "SALE", "VIP", "HELLO", "NEW"))
    code = "".join(
        rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(rng.randint(6, 10))
    )
    return rng.choice(
        (f"{word}{rng.choice((5, 10, 15, 20, 30))}", f"{word}{rng.choice((3000, 5000, 10000))}",
         f"{word}-2026", code, f"{word}-{code[:4]}-{rng.randint(1000, 9999)}", f"{word}2026DEC")
    )  # fmt: skip


def _shop_number(rng: random.Random) -> str:
    head, tail = rng.choice(("1588", "1644", "1577", "1600", "1899")), digits(rng, 4)
    return rng.choice((f"{head}-{tail}", f"{head} {tail}", f"{head}{tail}"))


def _postal_code(rng: random.Random) -> str:
    code = f"{rng.randint(1000, 63999):05d}"
    return rng.choice((code, f"({code})"))


KEEP_MAKERS: dict[str, Callable[[random.Random], str]] = {
    "order_number": _order_number,
    "tracking": _tracking,
    "sku": _sku,
    "amount": _amount,
    "date": _date,
    "time": _time,
    "size": _size,
    "quantity": _quantity,
    "coupon": _coupon,
    "shop_number": _shop_number,
    "postal_code": _postal_code,
}


KINDS = tuple(KEEP_MAKERS)


def keepers(seed: int = SEED, per_kind: int = PER_KIND) -> list[Keeper]:
    """Shop numbers and quantities in customer sentences, none of them personal."""
    rng = random.Random(seed + 1)
    out: list[Keeper] = []
    for kind, make in KEEP_MAKERS.items():
        for _ in range(per_kind):
            item = make(rng)
            extra = {"carrier": rng.choice(CARRIERS), "product": rng.choice(PRODUCTS)}
            text, _, _ = sentence(rng, rng.choice(KEEP_T[kind]), item, **extra)
            out.append(Keeper(kind, text, item))
    return out
