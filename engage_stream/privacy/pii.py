"""Mask Korean personal data in free text and in structured records.

Used by the log processor and by anything that leaves as a transcript. What is caught by
pattern: mobile and landline numbers, e-mail addresses, resident registration numbers
(주민등록번호) and payment card numbers (Luhn-checked). Names cannot be found reliably in
free text, so they are masked by field name (`mask_fields`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_EMAIL = re.compile(
    r"(?<![\w.+-])([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
)
# 주민등록번호: YYMMDD-GNNNNNN, G in 1-8 (1-4 citizens, 5-8 foreign residents).
_RRN = re.compile(
    r"(?<!\d)(\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\s?[-–]?\s?([1-8])\d{6}(?!\d)"
)
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_MOBILE = re.compile(
    r"(?<![\d+])(?:\+82[-.\s]?(?:\(0\))?|0)(1[016789])[-.\s]?(\d{3,4})[-.\s]?(\d{4})(?!\d)"
)
# Landlines need separators, so that order numbers and amounts are left alone.
_LANDLINE = re.compile(r"(?<!\d)(0(?:2|[3-6][1-5]|70))[-.)\s](\d{3,4})[-.\s](\d{4})(?!\d)")

NAME_FIELDS = frozenset({"name", "customer_name", "full_name", "recipient_name", "sender_name"})
SECRET_FIELDS = frozenset({"password", "sasl_password", "kafka_sasl_password", "token", "secret"})
ADDRESS_FIELDS = frozenset({"address", "street_address", "shipping_address"})


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if not 13 <= len(digits) <= 19 or not _luhn_ok(digits):
        return match.group(0)
    return f"****-****-****-{digits[-4:]}"


def mask_text(text: str) -> str:
    """Free text with personal data masked; everything else left exactly as it was."""
    if not text:
        return text
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    text = _RRN.sub("******-*******", text)
    text = _CARD.sub(_mask_card, text)
    text = _MOBILE.sub(lambda m: f"0{m.group(1)}-****-{m.group(3)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}-****-{m.group(3)}", text)


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
