"""Mask Korean personal data in free text and in structured records.

Used by the log processor and by anything that leaves as a transcript. What is caught by
pattern: mobile, landline, +82, 050X (virtual) and 080 numbers, e-mail addresses, resident
registration numbers (주민등록번호), payment card numbers (Luhn-checked), bank account numbers,
passport numbers, driver's licence numbers (운전면허번호), business registration numbers
(사업자등록번호) and personal customs codes (개인통관고유부호). Names cannot be found reliably
in free text, so they are masked by field name (`mask_fields`).

The text is matched in a folded copy (full-width digits and letters as ASCII, every hyphen
variant as `-`), one character for one, so what is returned is the original text outside the
masked spans. A number whose shape a shop identifier shares (a bare digit run: an order or a
tracking number, a 4-4-4 group) is read with the word that labels it: the nearest keyword
before it (계좌, 국민은행, 여권, 면허, 사업자, 운송장, 주문번호, 쿠폰 ...), else the nearest
after it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

NAME_FIELDS = frozenset({"name", "customer_name", "full_name", "recipient_name", "sender_name"})
SECRET_FIELDS = frozenset(
    {"password", "sasl_password", "kafka_sasl_password", "sasl_plain_password", "token", "secret"}
)
ADDRESS_FIELDS = frozenset({"address", "street_address", "shipping_address"})

# --- folding: match on ASCII, return the original -------------------------------------------

_HYPHENS = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\u3161"
"""‐ ‑ ‒ – — ― − ﹘ ﹣, and ㅡ (the Hangul vowel many type for a dash on a Korean keyboard)."""
_DOTS = "\u00b7\u2027\u30fb"
_FOLD: dict[int, int] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}  # ０-９ Ａ-Ｚ － ＠
_FOLD |= {ord(ch): ord("-") for ch in _HYPHENS}
_FOLD |= {ord(ch): ord(".") for ch in _DOTS}
_FOLD[0x3000] = ord(" ")  # ideographic space
_NEEDS_FOLD = re.compile(f"[\uff01-\uff5e\u3000{_HYPHENS}{_DOTS}]")
_SIGNAL = re.compile("[0-9@\uff10-\uff19\uff20]")
"""Nothing is masked in a text without a digit or an @: most chat lines end here."""
_CLAIMED = "\x00"
"""What a masked span becomes in the working copy, so that later patterns see a boundary."""

# --- what labels a number -------------------------------------------------------------------

_LABELS: dict[str, str] = {
    "account": "계좌 입금 이체 송금 예금주 통장 은행 account bank 국민 KB 신한 우리은행 "
    "하나은행 농협 NH 기업은행 IBK 카카오뱅크 카뱅 토스뱅크 토스 케이뱅크 K뱅크 케뱅 "
    "SC제일 제일은행 씨티 새마을금고 우체국예금 수협 신협 부산은행 대구은행 iM뱅크 "
    "경남은행 광주은행 전북은행 제주은행 KDB",
    "card": "카드 card 국민카드 KB국민카드 신한카드 삼성카드 현대카드 롯데카드 하나카드 "
    "우리카드 농협카드 NH카드 BC카드 비씨카드",
    "passport": "여권 passport",
    "licence": "면허 driver license licence",
    "business": "사업자 세금계산서",
    "resident": "주민 외국인등록",
    "phone": "전화 연락처 핸드폰 휴대폰 폰 팩스 fax tel",
    "shop": "운송장 송장 주문 택배 배송조회 트래킹 tracking 대한통운 CJ 한진 롯데택배 "
    "우체국택배 로젠 쿠폰 코드 상품번호 품번 모델 SKU order 우편번호 적립금 포인트",
}
"""Words that say what the number next to them is: bank names say account, carriers say
tracking number ("shop": a number of the shop's, never masked when only its shape speaks)."""
_LABEL_OF = {word.lower(): label for label, words in _LABELS.items() for word in words.split()}


def _keyword_pattern(words: list[str]) -> re.Pattern[str]:
    """Longest first; English ones as whole words in any case. The lookahead on the first
    letters lets the engine skip most positions without trying a hundred alternatives."""
    ordered = sorted(words, key=len, reverse=True)
    firsts = "".join(sorted({c for w in ordered for c in (w[0].lower(), w[0].upper())}))
    alternatives = "|".join(
        rf"(?i:(?<![A-Za-z]){re.escape(w)}(?![A-Za-z]))"
        if w.isascii()
        else (rf"(?i:{re.escape(w)})" if re.search("[a-z]", w) else re.escape(w))
        for w in ordered
    )
    return re.compile(f"(?=[{re.escape(firsts)}])(?:{alternatives})")


_KEYWORD = _keyword_pattern(list(_LABEL_OF))
_DIGIT = re.compile(r"\d")
_BEFORE = 40
"""How far back (characters) a keyword still labels a number: 환불 계좌는 국민은행이고요 번호는 …"""
_AFTER = 12
"""How far on, when nothing before labels it: 110-123-456789 신한이요."""


class _Labels:
    """The keywords of one text, found once and only when a number needs them."""

    __slots__ = ("_hits", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._hits: list[tuple[int, int, str]] | None = None

    def of(self, start: int, end: int) -> str | None:
        """What the nearest keyword before the span says it is, else the nearest after it.

        A keyword with digits between it and the span labels those digits, not the span:
        주문번호 ORD-20261128-0042, 배송 전에 0212345678로 연락 주세요.
        """
        if self._hits is None:
            self._hits = [
                (m.start(), m.end(), _LABEL_OF[m.group(0).lower()])
                for m in _KEYWORD.finditer(self._text)
            ]
        text = self._text
        before = [
            (start - e, label)
            for s, e, label in self._hits
            if e <= start < e + _BEFORE and _DIGIT.search(text, e, start) is None
        ]
        if before:
            return min(before)[1]
        after = [
            (s - end, label)
            for s, e, label in self._hits
            if end <= s < end + _AFTER and _DIGIT.search(text, end, s) is None
        ]
        return min(after)[1] if after else None


# --- patterns -------------------------------------------------------------------------------

_START = r"(?<![A-Za-z0-9])(?<![A-Za-z0-9][-.])"
"""Not the tail of a token such as ORD-20261128-0042 or SKU-TEE-01."""
_END = r"(?![A-Za-z0-9])(?![-.][A-Za-z0-9])"
_SEP = r"(?:[ \t]?[-.][ \t]?|\s)"
"""Between digit groups: a hyphen or a dot (spaces around allowed) or one space."""
_GAP = rf"(?:\)[ \t]?|{_SEP})"
"""After an area code also a bracket: (02) 123-4567, 02)123-4567."""
_AREA = r"2|[3-6][1-5]|70|80|50[2-8]|50"
"""Geographic codes (02 Seoul, 031-064), 070 (internet phones), 080 (free calls) and 050X
(personal and virtual "safe" numbers), as the 전기통신번호관리세칙 (the Ministry of Science
and ICT's numbering rules) allots them."""

# The local part may follow Korean directly: 메일은minji@example.com.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
)
# 주민등록번호: YYMMDD-GNNNNNN, G in 1-8 (1-4 citizens, 5-8 foreign residents).
_RRN = re.compile(
    r"(?<!\d)(\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\s?[-–]?\s?([1-8])\d{6}(?!\d)"
)
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_PHONE_REST = rf"{_GAP}?(\d{{3,4}}){_SEP}?(\d{{4}})(?!\d)"
"""After the prefix or area code: the exchange and the last four."""
_MOBILE = re.compile(rf"(?<![\d+])(?:\+82[-.\s]?(?:\(0\))?0?|\(?0)(1[016789]){_PHONE_REST}")
_INTL = re.compile(rf"(?<![\d+])(?:\+82|\(\+82\))[-.\s]?(?:\(0\))?0?({_AREA}){_PHONE_REST}")
_LANDLINE = re.compile(rf"(?<!\d)\(?(0(?:{_AREA}))({_GAP}?)(\d{{3,4}})({_SEP}?)(\d{{4}})(?!\d)")
_DIGIT_GROUPS = re.compile(rf"{_START}\d+(?:(?:[ \t]?-[ \t]?|[ \t]|\.)\d+)*")
# 여권번호: one letter and 8 digits (M12345678), since December 2021 a letter, 3 digits, a
# letter and 4 digits (M123A4567), 외교부's next-generation passport; before 2008 two letters
# and 7 digits. M (multiple journeys), S (single), R (residents abroad), G and D (official
# and diplomatic) are read without a keyword; any letter with 여권 or passport.
_PASSPORT = re.compile(
    rf"{_START}([A-Za-z](?:\d{{8}}|\d{{3}}[A-Za-z]\d{{4}})|[A-Za-z]{{2}}\d{{7}}){_END}"
)
# 운전면허번호: region, year of issue, serial, check (2-2-6-2), the region a two-digit code
# 11-28 since the 2017 change to 도로교통법 시행규칙's licence form, a place name before it.
_LICENCE = re.compile(
    rf"{_START}(1[1-9]|2[0-8])({_SEP}?)(\d{{2}})({_SEP}?)(\d{{6}})({_SEP}?)(\d{{2}}){_END}"
)
_LICENCE_REGIONS = "서울|부산|경기|강원|충북|충남|전북|전남|경북|경남|제주|대구|인천|광주|대전|울산"
_OLD_LICENCE = re.compile(rf"(?:{_LICENCE_REGIONS})[ \t]?(\d{{2}}{_SEP}\d{{6}}{_SEP}\d{{2}}){_END}")
# 개인통관고유부호: P and 12 digits, 관세청's code that overseas purchases are cleared under.
_CUSTOMS = re.compile(rf"{_START}[Pp]\d{{12}}{_END}")
# 사업자등록번호: tax office (3), kind (2), serial and check digit (5), 국세청's numbering.
_BUSINESS = re.compile(rf"{_START}(\d{{3}})({_SEP}?)(\d{{2}})({_SEP}?)(\d{{5}}){_END}")
_BUSINESS_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)

# Account digit groups as the banks print them on passbooks and in their apps (the per-bank
# account number layouts 금융결제원 collects for CMS transfers, www.cmsedi.or.kr): KB국민
# 6-2-6 and the older 3-2-4-3, 신한 3-3-6 and the older 3-2-6, 우리 4-3-6, 하나 3-6-5,
# NH농협 3-4-4-2 (지역농축협 and 우체국 6-2-6), IBK기업 3-6-2-3 and 3-2-5-2, 카카오뱅크 4-2-7,
# 토스뱅크 4-4-4, 케이뱅크 and 광주 3-3-6, SC제일 3-2-6, 씨티 3-6-3, 부산 3-2-7, 대구 3-2-6-1,
# 경남 3-2-7-1, 새마을금고 4-4-4-1.
_ACCOUNT_GROUPS = frozenset(
    {
        (6, 2, 6), (3, 2, 4, 3), (3, 3, 6), (3, 2, 6), (4, 3, 6), (3, 6, 5), (3, 4, 4, 2),
        (3, 6, 2, 3), (3, 2, 5, 2), (4, 2, 7), (3, 6, 3), (3, 2, 7), (3, 2, 6, 1),
        (3, 2, 7, 1), (4, 4, 4, 1), (4, 4, 4),
    }
)  # fmt: skip
_GROUPS_NEEDING_A_LABEL = frozenset({(4, 4, 4)})
"""토스뱅크's layout is also how carriers print a tracking number."""
_MOBILE_DIGITS = re.compile(r"01[016789]\d{7,8}")

_NOT_DIGIT = re.compile(r"\D")
_DIGIT_RUN = re.compile(r"\d+")
_GLUE = re.compile(r"[A-Za-z][-.]?$|[0-9][-.]$")

Masker = Callable[[str, _Labels], Iterator[tuple[int, int, str]]]
"""Finds spans to mask in the folded working text: (start, end, replacement)."""


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_length_ok(digits: str) -> bool:
    """13 digits only on old Visa cards (4), 14 only on Diners Club (30, 36, 38, 39), by the
    issuer ranges of ISO/IEC 7812: a 13 or 14-digit tracking or order number is no card."""
    if len(digits) == 13:
        return digits[0] == "4"
    if len(digits) == 14:
        return digits[0] == "3"
    return True


def _business_number_ok(digits: str) -> bool:
    """국세청's check digit: weighted sum of the first nine, the ninth's ×5 tens carried."""
    d = [int(ch) for ch in digits]
    total = sum(x * w for x, w in zip(d, _BUSINESS_WEIGHTS, strict=False)) + d[8] * 5 // 10
    return (10 - total % 10) % 10 == d[9]


def _stars(text: str) -> str:
    """Every digit as *, separators and letters kept: the shape stays, the number goes."""
    return _DIGIT.sub("*", text)


def _emails(work: str, _: _Labels) -> Iterator[tuple[int, int, str]]:
    if "@" not in work:
        return
    for m in _EMAIL.finditer(work):
        yield m.start(), m.end(), f"{m.group(1)}***@{m.group(2)}"


def _customs_codes(work: str, _: _Labels) -> Iterator[tuple[int, int, str]]:
    for m in _CUSTOMS.finditer(work):
        yield m.start(), m.end(), "P" + "*" * 12


def _residents(work: str, labels: _Labels) -> Iterator[tuple[int, int, str]]:
    for m in _RRN.finditer(work):
        bare = m.group(0).isdigit()
        if not (bare and labels.of(m.start(), m.end()) == "shop"):
            yield m.start(), m.end(), "******-*******"


def _accounts(work: str, labels: _Labels) -> Iterator[tuple[int, int, str]]:
    for m in _DIGIT_GROUPS.finditer(work):
        run = m.group(0)
        if len(run) < 10:
            continue  # shorter than any account number: most runs (dates, sizes, amounts)
        all_digits = _NOT_DIGIT.sub("", run)
        if 15 <= len(all_digits) <= 19 and _luhn_ok(all_digits):
            continue  # longer than any account: a card's groups, masked as a card
        groups = [(g.start(), g.end()) for g in _DIGIT_RUN.finditer(run)]
        i = 0
        while i < len(groups):
            found = _account_at(run, groups, i, m.start(), labels)
            if found is None:
                i += 1
                continue
            j, start, end = found
            yield start, end, _stars(work[start:end])
            i = j


def _account_at(
    run: str, groups: list[tuple[int, int]], i: int, offset: int, labels: _Labels
) -> tuple[int, int, int] | None:
    """The longest account number that starts at group i: (next group, start, end)."""
    if i > 0 and not run[groups[i - 1][1] : groups[i][0]].isspace():
        return None  # joined to the group before it by a hyphen or a dot
    for j in range(min(len(groups), i + 4), i, -1):
        if j < len(groups) and not run[groups[j - 1][1] : groups[j][0]].isspace():
            continue
        shape = tuple(e - s for s, e in groups[i:j])
        start, end = offset + groups[i][0], offset + groups[j - 1][1]
        if len(shape) == 1:
            digits = run[groups[i][0] : groups[i][1]]
            if not 10 <= len(digits) <= 14 or _MOBILE_DIGITS.fullmatch(digits):
                continue
            needs_label = True
        elif shape in _ACCOUNT_GROUPS:
            needs_label = shape in _GROUPS_NEEDING_A_LABEL
        else:
            continue
        label = labels.of(start, end)
        if label == "account" or (not needs_label and label != "shop"):
            return j, start, end
    return None


def _passports(work: str, labels: _Labels) -> Iterator[tuple[int, int, str]]:
    for m in _PASSPORT.finditer(work):
        number = m.group(1)
        label = labels.of(m.start(), m.end())
        plain = number[0] in "MSRGD" and number[1].isdigit()
        if label == "passport" or (plain and label != "shop"):
            yield m.start(), m.end(), number[0] + _stars(number[1:])


def _licences(work: str, labels: _Labels) -> Iterator[tuple[int, int, str]]:
    for m in _LICENCE.finditer(work):
        separated = all(m.group(k) for k in (2, 4, 6))
        label = labels.of(m.start(), m.end())
        if label == "licence" or (separated and label != "shop"):
            yield m.start(), m.end(), _stars(m.group(0))


def _old_licences(work: str, _: _Labels) -> Iterator[tuple[int, int, str]]:
    for m in _OLD_LICENCE.finditer(work):
        yield m.start(1), m.end(1), _stars(m.group(1))


def _businesses(work: str, labels: _Labels) -> Iterator[tuple[int, int, str]]:
    for m in _BUSINESS.finditer(work):
        label = labels.of(m.start(), m.end())
        digits = m.group(1) + m.group(3) + m.group(5)
        checked = bool(m.group(2) and m.group(4)) and _business_number_ok(digits)
        if label == "business" or (checked and label != "shop"):
            yield m.start(), m.end(), _stars(m.group(0))


def _cards(work: str, labels: _Labels) -> Iterator[tuple[int, int, str]]:
    for m in _CARD.finditer(work):
        digits = _NOT_DIGIT.sub("", m.group(0))
        if not (13 <= len(digits) <= 19 and _luhn_ok(digits)) or not _card_length_ok(digits):
            continue
        # Tracking numbers run to 13 digits, bare order numbers to 14: a longer or a grouped
        # number is a card whatever the words around it.
        shop_length = m.group(0).isdigit() and len(digits) <= 14
        if not (shop_length and labels.of(m.start(), m.end()) == "shop"):
            yield m.start(), m.end(), f"****-****-****-{digits[-4:]}"


def _mobiles(work: str, _: _Labels) -> Iterator[tuple[int, int, str]]:
    for m in _MOBILE.finditer(work):
        yield m.start(), m.end(), f"0{m.group(1)}-****-{m.group(3)}"


def _internationals(work: str, _: _Labels) -> Iterator[tuple[int, int, str]]:
    for m in _INTL.finditer(work):
        yield m.start(), m.end(), f"0{m.group(1)}-****-{m.group(3)}"


def _landlines(work: str, labels: _Labels) -> Iterator[tuple[int, int, str]]:
    for m in _LANDLINE.finditer(work):
        bare = not (m.group(2) or m.group(4))
        if bare and (_glued(work, m.start()) or labels.of(m.start(), m.end()) == "shop"):
            continue  # 0212345678 as an order or a tracking number
        # 0505-123-4567 is also written 050-5123-4567: the fourth digit may be the number's.
        area = "050" if m.group(1).startswith("050") else m.group(1)
        yield m.start(), m.end(), f"{area}-****-{m.group(5)}"


def _glued(work: str, start: int) -> bool:
    """The digits continue a token (ORD-0212345678, A0212345678)."""
    return _GLUE.search(work, max(0, start - 2), start) is not None


_MASKERS: tuple[Masker, ...] = (
    _emails,
    _customs_codes,
    _residents,
    _accounts,
    _passports,
    _licences,
    _old_licences,
    _businesses,
    _cards,
    _mobiles,
    _internationals,
    _landlines,
)
"""In this order: a span one masker claims is a boundary for the ones after it."""


def mask_text(text: str) -> str:
    """Free text with personal data masked; everything else left exactly as it was."""
    if not text or not _SIGNAL.search(text):
        return text
    folded = text.translate(_FOLD) if _NEEDS_FOLD.search(text) else text
    labels = _Labels(folded)
    work = folded
    spans: list[tuple[int, int, str]] = []
    for masker in _MASKERS:
        found = list(masker(work, labels))
        if found:
            spans.extend(found)
            work = _claim(work, found)
    if not spans:
        return text
    spans.sort()
    out: list[str] = []
    at = 0
    for start, end, replacement in spans:
        out += (text[at:start], replacement)
        at = end
    out.append(text[at:])
    return "".join(out)


def _claim(work: str, spans: list[tuple[int, int, str]]) -> str:
    pieces: list[str] = []
    at = 0
    for start, end, _ in sorted(spans):
        pieces += (work[at:start], _CLAIMED * (end - start))
        at = end
    pieces.append(work[at:])
    return "".join(pieces)


def mask_name(name: str) -> str:
    """홍길동 → 홍*동, 김철 → 김*, Kim Minji → K*******i, the usual Korean convention."""
    chars = name.strip()
    if len(chars) <= 1:
        return "*" if chars else chars
    if len(chars) == 2:
        return chars[0] + "*"
    return chars[0] + "*" * (len(chars) - 2) + chars[-1]


def mask_value(key: str | None, value: Any) -> Any:
    """Mask one value, using its field name where the name says what it holds."""
    lowered = key.lower() if isinstance(key, str) else None
    if lowered in SECRET_FIELDS and value is not None:
        return "********"
    if isinstance(value, str):
        if lowered in NAME_FIELDS:
            return mask_name(value)
        if lowered in ADDRESS_FIELDS:
            return value.split(" ")[0] + " ***" if value else value
        return mask_text(value)
    if isinstance(value, Mapping):
        return mask_fields(value)
    if isinstance(value, list | tuple):
        return type(value)(mask_value(key, item) for item in value)
    return value


def mask_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a (nested) record with every personal value masked."""
    return {key: mask_value(key, value) for key, value in record.items()}
