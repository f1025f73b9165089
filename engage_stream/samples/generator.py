"""A deterministic, realistic Korean CRM stream: profiles with consents, then events.

The same seed gives the same profiles and events (ids included), so demos and tests
can be compared run to run.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from engage_stream.schemas.common import Channel
from engage_stream.schemas.customers import ChannelConsent, Consents, CustomerProfile, Tier
from engage_stream.schemas.events import (
    CartAbandoned,
    CartAbandonedEvent,
    ChatMessage,
    ChatMessageEvent,
    CrmEvent,
    EmailInbound,
    EmailInboundEvent,
    EventSource,
    LineItem,
    OrderDelivered,
    OrderDeliveredEvent,
    OrderPlaced,
    OrderPlacedEvent,
    PageType,
    PageView,
    PageViewEvent,
    Sender,
    TicketCategory,
    TicketCreated,
    TicketCreatedEvent,
)

_SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
_GIVEN = [
    "민준",
    "서연",
    "도윤",
    "지우",
    "하준",
    "서윤",
    "시우",
    "하은",
    "지호",
    "수아",
    "예준",
    "지민",
]
_PRODUCTS = [
    ("SKU-TEE-01", "오버핏 반팔 티셔츠", 19_900),
    ("SKU-JKT-07", "경량 패딩 자켓", 89_000),
    ("SKU-SNK-03", "러닝화 에어 3", 129_000),
    ("SKU-BAG-11", "캔버스 토트백", 34_500),
    ("SKU-CAP-02", "볼캡 베이직", 15_000),
    ("SKU-CRM-05", "수분 크림 50ml", 27_800),
]
CUSTOMER_LINES = [
    "배송이 언제 오나요?",
    "주문한 상품이 아직 안 왔어요",
    "환불 받고 싶은데 어떻게 해야 하나요?",
    "사이즈 교환 가능한가요?",
    "상담원 연결해 주세요",
    "사람이랑 얘기하고 싶어요",
    "쿠폰이 적용이 안 돼요",
    "결제가 두 번 된 것 같아요",
    "답답하네요 진짜",
    "이거 몇 번째 물어보는 건지 모르겠네",
    "감사합니다 좋은 하루 되세요",
    "재입고 언제 되나요?",
]
BOT_LINES = [
    "안녕하세요, 무엇을 도와드릴까요?",
    "주문 번호를 알려주시면 확인해 드릴게요.",
    "죄송합니다. 질문을 이해하지 못했어요.",
    "배송 조회는 마이페이지에서 가능합니다.",
]
EMAIL_QUESTIONS = [
    ("배송 문의", "지난주에 주문한 상품이 아직 도착하지 않았습니다. 언제 받을 수 있을까요?"),
    ("교환 요청", "사이즈가 맞지 않아 교환하고 싶습니다. 절차를 알려주세요."),
    ("영수증 발급", "현금영수증 발급이 가능한지 궁금합니다."),
]


@dataclass(frozen=True)
class SampleConfig:
    seed: int = 7
    customers: int = 50
    start: datetime = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    mean_gap_s: float = 2.0


class SampleStream:
    def __init__(self, config: SampleConfig | None = None) -> None:
        self.config = config or SampleConfig()
        self._rng = random.Random(self.config.seed)
        self.profiles = [self._profile(i) for i in range(self.config.customers)]

    def _profile(self, index: int) -> CustomerProfile:
        rng = self._rng
        name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
        consented = rng.random() < 0.6
        return CustomerProfile(
            customer_id=f"C{index:05d}",
            name=name,
            email=f"user{index:05d}@example.co.kr",
            phone=f"010-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
            tier=rng.choices(list(Tier), weights=[60, 25, 10, 5])[0],
            preferred_channel=rng.choices(list(Channel), weights=[55, 15, 15, 15])[0],
            consents=Consents(
                email=ChannelConsent(advertising=consented, updated_at=self.config.start),
                sms=ChannelConsent(advertising=consented and rng.random() < 0.5),
                push=ChannelConsent(
                    advertising=consented and rng.random() < 0.5, night_time=rng.random() < 0.2
                ),
                kakao=ChannelConsent(advertising=consented and rng.random() < 0.5),
            ),
            last_active_at=self.config.start - timedelta(days=rng.randint(0, 90)),
            updated_at=self.config.start,
        )

    def events(self, count: int) -> Iterator[CrmEvent]:
        """`count` events in time order, mixed roughly like a shop's real traffic."""
        rng = self._rng
        at = self.config.start
        makers = [
            self._chat,
            self._page_view,
            self._cart,
            self._order,
            self._delivery,
            self._email,
            self._ticket,
        ]
        weights = [45, 20, 10, 8, 7, 5, 5]
        for seq in range(count):
            at += timedelta(seconds=rng.expovariate(1 / self.config.mean_gap_s))
            profile = rng.choice(self.profiles)
            maker = rng.choices(makers, weights=weights)[0]
            yield maker(f"E{self.config.seed:03d}-{seq:07d}", at, profile.customer_id)

    def _items(self) -> list[LineItem]:
        picks = self._rng.sample(_PRODUCTS, k=self._rng.randint(1, 3))
        return [
            LineItem(sku=sku, name=name, quantity=self._rng.randint(1, 2), unit_price_krw=price)
            for sku, name, price in picks
        ]

    def _chat(self, event_id: str, at: datetime, customer_id: str) -> CrmEvent:
        from_customer = self._rng.random() < 0.7
        return ChatMessageEvent(
            event_id=event_id,
            event_type="chat.message",
            occurred_at=at,
            customer_id=customer_id,
            source=self._rng.choice([EventSource.KAKAO, EventSource.APP]),
            conversation_id=f"CONV-{customer_id}-{at:%Y%m%d}",
            payload=ChatMessage(
                text=self._rng.choice(CUSTOMER_LINES if from_customer else BOT_LINES),
                sender=Sender.CUSTOMER if from_customer else Sender.BOT,
            ),
        )

    def _page_view(self, event_id: str, at: datetime, customer_id: str) -> CrmEvent:
        sku = self._rng.choice(_PRODUCTS)[0]
        return PageViewEvent(
            event_id=event_id,
            event_type="page.view",
            occurred_at=at,
            customer_id=customer_id,
            source=EventSource.WEB,
            payload=PageView(
                url=f"https://shop.example.co.kr/p/{sku}",
                page_type=PageType.PRODUCT,
                product_id=sku,
            ),
        )

    def _cart(self, event_id: str, at: datetime, customer_id: str) -> CrmEvent:
        items = self._items()
        return CartAbandonedEvent(
            event_id=event_id,
            event_type="cart.abandoned",
            occurred_at=at,
            customer_id=customer_id,
            source=EventSource.WEB,
            payload=CartAbandoned(
                cart_id=f"CART-{event_id}",
                items=items,
                value_krw=sum(i.quantity * i.unit_price_krw for i in items),
            ),
        )

    def _order(self, event_id: str, at: datetime, customer_id: str) -> CrmEvent:
        items = self._items()
        return OrderPlacedEvent(
            event_id=event_id,
            event_type="order.placed",
            occurred_at=at,
            customer_id=customer_id,
            source=EventSource.APP,
            payload=OrderPlaced(
                order_id=f"ORD-{event_id}",
                items=items,
                total_krw=sum(i.quantity * i.unit_price_krw for i in items),
            ),
        )

    def _delivery(self, event_id: str, at: datetime, customer_id: str) -> CrmEvent:
        return OrderDeliveredEvent(
            event_id=event_id,
            event_type="order.delivered",
            occurred_at=at,
            customer_id=customer_id,
            source=EventSource.CRM,
            payload=OrderDelivered(
                order_id=f"ORD-{event_id}",
                carrier="CJ대한통운",
                tracking_number=f"{self._rng.randint(10**11, 10**12 - 1)}",
            ),
        )

    def _email(self, event_id: str, at: datetime, customer_id: str) -> CrmEvent:
        subject, body = self._rng.choice(EMAIL_QUESTIONS)
        return EmailInboundEvent(
            event_id=event_id,
            event_type="email.inbound",
            occurred_at=at,
            customer_id=customer_id,
            source=EventSource.EMAIL,
            payload=EmailInbound(subject=subject, body=body),
        )

    def _ticket(self, event_id: str, at: datetime, customer_id: str) -> CrmEvent:
        return TicketCreatedEvent(
            event_id=event_id,
            event_type="ticket.created",
            occurred_at=at,
            customer_id=customer_id,
            source=EventSource.CRM,
            payload=TicketCreated(
                ticket_id=f"T-{event_id}",
                category=self._rng.choice(list(TicketCategory)),
                subject="고객 문의",
                description="고객센터 전화 문의 접수",
            ),
        )
