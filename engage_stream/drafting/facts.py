"""What a draft may say about the customer's order, and how each fact reads in Korean.

The core hands the drafter the facts of the one order a question is about (or none);
the drafter never looks further. Dates read as `11월 28일(금)` in the policy's time zone,
amounts as `52,000원`; several items as `경량 패딩 자켓 외 1건`. A fact that is not known
is left out of the field values, so an answer that needs it cannot be chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from engage_stream.drafting.bank_file import OrderNeed

_WEEKDAYS = "월화수목금토일"
FIELD_MAX_CHARS = 40


@dataclass(frozen=True, slots=True)
class OrderFacts:
    order_id: str
    status: OrderNeed
    """placed, shipped, delivered, cancelled or refunded."""
    items: tuple[str, ...] = ()
    total_krw: int | None = None
    placed_at: datetime | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    estimated_delivery: date | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    refund_krw: int | None = None
    refunded_at: datetime | None = None

    def fields(self, zone: ZoneInfo) -> dict[str, str]:
        """Field name -> how it reads in an answer; unknown facts are left out."""
        values = {
            "order_id": self.order_id,
            "item": _items(self.items),
            "order_total": won(self.total_krw),
            "placed_at": day(self.placed_at, zone),
            "carrier": self.carrier,
            "tracking_number": self.tracking_number,
            "eta": day(self.estimated_delivery, zone, weekday=True),
            "delivered_at": day(self.delivered_at, zone),
            "cancelled_at": day(self.cancelled_at, zone),
            "refund_amount": won(self.refund_krw),
            "refunded_at": day(self.refunded_at, zone),
        }
        return {name: clean(value) for name, value in values.items() if value}


def clean(value: str) -> str:
    """One line, no braces or brackets (they are the answer syntax), at most 40 characters."""
    text = " ".join(value.replace("{", "").replace("}", "").replace("[", "").split())
    return text.replace("]", "")[:FIELD_MAX_CHARS].strip()


def won(amount: int | None) -> str | None:
    return None if amount is None else f"{amount:,}원"


def day(value: date | datetime | None, zone: ZoneInfo, weekday: bool = False) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.astimezone(zone).date()
    text = f"{value.month}월 {value.day}일"
    return f"{text}({_WEEKDAYS[value.weekday()]})" if weekday else text


def _items(items: tuple[str, ...]) -> str | None:
    if not items:
        return None
    first = clean(items[0])
    return first if len(items) == 1 else f"{first} 외 {len(items) - 1}건"
