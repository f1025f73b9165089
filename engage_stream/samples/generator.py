"""A deterministic, realistic Korean CRM stream: profiles with consents, then events.

The same seed (and the same corpus folder) gives the same profiles and events, ids
included, so demos and tests can be compared run to run; `events(n)` is always the first
`n` events of the longer stream.

The stream is a simulated shop seen from its CRM:

- **customers** in realistic tier proportions (basic > silver > gold > VIP), per-channel
  advertising and night-time consents (some none at all, some e-mail only, some SMS/push
  with night-time consent), plausible Korean names, e-mail addresses on reserved example
  domains, 010 mobile numbers, and some customers inactive for 30+ days;
- **sessions** that start at a rate following a Korean shop's day (busiest 20:00-23:00
  KST, quiet before dawn), each one a chat conversation with the shop's bot (normal Q&A,
  a shop question the bot cannot answer, small talk, a customer asking for a person, a
  frustrated customer, an abusive one, a complaint, more often from VIP and gold
  customers), a browsing visit (page views, then an order, an abandoned cart, or nothing),
  an inbound e-mail or a ticket logged by the CRM;
- **orders** that go on after the visit: most are shipped hours later and delivered a day
  or two after that (some returned and refunded days later), some are cancelled within
  the first two hours and refunded, a few wait.

Shop questions in chats and e-mails come from the sample shop's check files
(`shop_lines`), chosen to fit the state of the customer's latest order at the moment they
are asked, since every order's future is scheduled when it is placed. Their topic and
expected answer are the question's label: `labelled(n)` gives them with the events.

Customer chat lines are the built-in CRM lines below, plus, when the shared corpora are
there (`data_dir`, default `../shared/data`), out-of-scope utterances from 3i4K and
small-talk pairs from the chatbot corpus. Without the corpora the built-in lines are used
alone. The files are read directly: nothing here imports the training extra.
"""

from __future__ import annotations

import csv
import functools
import heapq
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Required, TypedDict

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.samples.shop_lines import (
    OrderState,
    ShopLines,
    default_shop_dir,
    load_shop_lines,
)
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
    OrderCancelled,
    OrderCancelledEvent,
    OrderDelivered,
    OrderDeliveredEvent,
    OrderPlaced,
    OrderPlacedEvent,
    OrderShipped,
    OrderShippedEvent,
    PageType,
    PageView,
    PageViewEvent,
    RefundIssued,
    RefundIssuedEvent,
    Sender,
    TicketCategory,
    TicketCreated,
    TicketCreatedEvent,
)

KST = timezone(timedelta(hours=9), "KST")
SHARED_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"
SHOP_URL = "https://shop.example.co.kr"


def default_data_dir() -> Path | None:
    """The repository's ../shared/data when it is there, else None (built-in lines only)."""
    return SHARED_DATA_DIR if SHARED_DATA_DIR.is_dir() else None


def is_night_kst(at: datetime) -> bool:
    """21:00-08:00 KST, when advertising by SMS, push or messenger needs night-time consent."""
    hour = at.astimezone(KST).hour
    return hour >= 21 or hour < 8


# --- people -----------------------------------------------------------------------------

# Surname shares follow the census roughly (김 ~21 %, 이 ~15 %, 박 ~8 %, ...).
_SURNAMES: list[tuple[str, str, int]] = [
    ("김", "kim", 213),
    ("이", "lee", 147),
    ("박", "park", 84),
    ("최", "choi", 47),
    ("정", "jung", 43),
    ("강", "kang", 23),
    ("조", "cho", 21),
    ("윤", "yoon", 20),
    ("장", "jang", 20),
    ("임", "lim", 16),
    ("한", "han", 15),
    ("오", "oh", 15),
    ("서", "seo", 15),
    ("신", "shin", 14),
    ("권", "kwon", 14),
    ("황", "hwang", 14),
    ("안", "ahn", 13),
    ("송", "song", 13),
    ("류", "ryu", 12),
    ("홍", "hong", 11),
    ("전", "jeon", 11),
    ("고", "ko", 9),
    ("문", "moon", 9),
    ("양", "yang", 8),
    ("손", "son", 8),
]
_GIVEN: list[tuple[str, str]] = [
    ("민준", "minjun"),
    ("서연", "seoyeon"),
    ("도윤", "doyun"),
    ("지우", "jiwoo"),
    ("하준", "hajun"),
    ("서윤", "seoyun"),
    ("시우", "siwoo"),
    ("하은", "haeun"),
    ("지호", "jiho"),
    ("수아", "sua"),
    ("예준", "yejun"),
    ("지민", "jimin"),
    ("주원", "juwon"),
    ("지유", "jiyu"),
    ("건우", "gunwoo"),
    ("채원", "chaewon"),
    ("현우", "hyunwoo"),
    ("지윤", "jiyun"),
    ("우진", "woojin"),
    ("다은", "daeun"),
    ("선우", "sunwoo"),
    ("예은", "yeeun"),
    ("민재", "minjae"),
    ("수빈", "subin"),
    ("현준", "hyunjun"),
    ("소율", "soyul"),
    ("연우", "yeonwoo"),
    ("예린", "yerin"),
    ("정우", "jungwoo"),
    ("민서", "minseo"),
    ("영수", "youngsoo"),
    ("영희", "younghee"),
    ("성민", "sungmin"),
    ("미영", "miyoung"),
    ("정훈", "junghoon"),
    ("은지", "eunji"),
    ("상철", "sangchul"),
    ("혜진", "hyejin"),
    ("동현", "donghyun"),
    ("수정", "sujung"),
]
# Reserved example domains (RFC 2606 style): plausible, and nobody's real mailbox.
_EMAIL_DOMAINS = ["example.co.kr", "example.com", "example.net", "mail.example.kr"]

_TIER_WEIGHTS: list[tuple[Tier, int]] = [
    (Tier.BASIC, 62),
    (Tier.SILVER, 23),
    (Tier.GOLD, 10),
    (Tier.VIP, 5),
]
_TIER_ACTIVITY = {Tier.BASIC: 1.0, Tier.SILVER: 1.3, Tier.GOLD: 1.8, Tier.VIP: 2.5}

# Consent archetypes: which channels allow advertising, and where night-time consent is given.
_CONSENT_ARCHETYPES: list[tuple[str, frozenset[Channel], frozenset[Channel], int]] = [
    ("none", frozenset(), frozenset(), 22),
    ("email_only", frozenset({Channel.EMAIL}), frozenset(), 24),
    ("email_kakao", frozenset({Channel.EMAIL, Channel.KAKAO}), frozenset(), 16),
    ("sms_push", frozenset({Channel.SMS, Channel.PUSH}), frozenset(), 8),
    (
        "sms_push_night",
        frozenset({Channel.SMS, Channel.PUSH}),
        frozenset({Channel.SMS, Channel.PUSH}),
        6,
    ),
    ("all", frozenset(Channel), frozenset(), 16),
    ("all_night", frozenset(Channel), frozenset({Channel.SMS, Channel.PUSH, Channel.KAKAO}), 8),
]
_CHANNEL_PREFERENCE = {Channel.KAKAO: 40, Channel.EMAIL: 35, Channel.PUSH: 15, Channel.SMS: 10}

# Last activity before the stream starts: days ago (low, high) and share of customers.
_ACTIVITY_BUCKETS: list[tuple[tuple[int, int], int]] = [
    ((0, 7), 62),
    ((8, 29), 20),
    ((30, 365), 18),
]
INACTIVE_DAYS = 30

# --- catalogue ----------------------------------------------------------------------------

_PRODUCTS: list[tuple[str, str, int, str]] = [
    ("SKU-TEE-01", "오버핏 반팔 티셔츠", 19_900, "tops"),
    ("SKU-TEE-02", "코튼 긴팔 티셔츠", 24_900, "tops"),
    ("SKU-KNT-04", "울 블렌드 라운드 니트", 49_000, "tops"),
    ("SKU-JKT-07", "경량 패딩 자켓", 89_000, "outer"),
    ("SKU-CAT-02", "캐시미어 블렌드 롱코트", 239_000, "outer"),
    ("SKU-FLC-03", "후리스 집업", 45_900, "outer"),
    ("SKU-PNT-05", "와이드 데님 팬츠", 52_000, "bottoms"),
    ("SKU-SLK-06", "밴딩 슬랙스", 36_900, "bottoms"),
    ("SKU-SNK-03", "러닝화 에어 3", 129_000, "shoes"),
    ("SKU-SNK-08", "캔버스 스니커즈", 59_000, "shoes"),
    ("SKU-BAG-11", "캔버스 토트백", 34_500, "bags"),
    ("SKU-BAG-12", "나일론 백팩", 68_000, "bags"),
    ("SKU-CAP-02", "볼캡 베이직", 15_000, "acc"),
    ("SKU-SCF-09", "램스울 머플러", 29_900, "acc"),
    ("SKU-CRM-05", "수분 크림 50ml", 27_800, "beauty"),
    ("SKU-SUN-06", "데일리 선크림 SPF50+", 18_500, "beauty"),
    ("SKU-SRM-07", "비타민 세럼 30ml", 32_000, "beauty"),
    ("SKU-MSK-10", "시트 마스크 10매", 12_900, "beauty"),
    ("SKU-TMB-13", "스테인리스 텀블러 500ml", 21_000, "living"),
    ("SKU-BLK-14", "극세사 담요", 25_900, "living"),
]
_CATEGORIES = sorted({p[3] for p in _PRODUCTS})
CARRIERS = ["CJ대한통운", "롯데택배", "한진택배", "우체국택배", "로젠택배"]
_CANCEL_REASONS: list[tuple[str, int]] = [
    ("고객 요청", 6),
    ("단순 변심", 2),
    ("다른 옵션으로 재주문", 1),
    ("결제 수단 변경", 1),
    ("재고 부족", 1),
]

# --- lines --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Topic:
    category: TicketCategory
    qa: tuple[tuple[str, str], ...]
    """Customer questions with the bot's right answer."""
    email: tuple[tuple[str, str], ...]
    ticket: tuple[tuple[str, str], ...]

    @property
    def questions(self) -> list[str]:
        return [q for q, _ in self.qa]

    @property
    def answers(self) -> list[str]:
        return [a for _, a in self.qa]


TOPICS: dict[str, _Topic] = {
    "delivery": _Topic(
        TicketCategory.DELIVERY,
        (
            (
                "배송이 언제 오나요?",
                "주문하신 상품은 내일 도착 예정이에요. "
                "배송 조회는 마이페이지 > 주문내역에서 확인하실 수 있어요.",
            ),
            ("주문한 상품이 아직 안 왔어요", "현재 상품이 배송 중이에요. 내일 중 도착 예정이에요."),
            (
                "배송 조회가 안 돼요",
                "송장 등록 후 택배사 시스템에 반영되기까지 반나절 정도 걸려요.",
            ),
            ("오늘 출발하는 거 맞나요?", "오후 2시 이전 결제 건은 당일 출고돼요."),
            ("송장번호가 안 나와요", "송장번호는 출고 당일 저녁에 알림톡으로 보내드려요."),
            ("배송지 변경하고 싶어요", "배송지 변경은 상품 출고 전까지 마이페이지에서 가능해요."),
            (
                "새벽배송 되는 지역인가요?",
                "새벽배송은 서울·경기·인천 일부 지역에서 가능해요. 주문서에서 확인하실 수 있어요.",
            ),
            (
                "택배가 다른 집으로 간 것 같아요",
                "택배사에 배송 위치 확인을 요청해 드릴게요. 주문 번호를 알려주세요.",
            ),
        ),
        (
            (
                "배송 문의",
                "지난주에 주문한 상품이 아직 도착하지 않았습니다. 언제 받을 수 있을까요?",
            ),
            (
                "배송지 변경 요청",
                "이사를 해서 배송지를 바꾸고 싶습니다. 아직 출고 전이면 변경 부탁드립니다.",
            ),
            ("택배 분실", "배송 완료로 나오는데 물건을 받지 못했습니다. 확인 부탁드립니다."),
        ),
        (
            ("배송 지연 문의", "고객이 전화로 배송 지연을 문의함. 출고 여부 확인 요청."),
            ("오배송 접수", "배송 완료 처리됐으나 고객 미수령. 택배사 확인 필요."),
        ),
    ),
    "refund": _Topic(
        TicketCategory.REFUND,
        (
            (
                "환불 받고 싶은데 어떻게 해야 하나요?",
                "마이페이지 > 주문내역에서 반품 신청을 하시면 회수 후 환불돼요.",
            ),
            ("환불 언제 들어와요?", "환불은 반품 상품 회수 후 영업일 기준 3~5일 안에 처리돼요."),
            (
                "주문 취소하면 바로 환불되나요?",
                "출고 전 취소는 바로 환불되고, 출고 후에는 반품 절차로 진행돼요.",
            ),
            (
                "카드 환불은 며칠 걸려요?",
                "카드 결제는 카드사 사정에 따라 3~7영업일이 걸릴 수 있어요.",
            ),
            (
                "결제가 두 번 된 것 같아요",
                "중복 결제는 확인 후 한 건을 바로 취소해 드려요. 주문 번호를 알려주세요.",
            ),
            (
                "반품 접수했는데 회수를 안 해가요",
                "반품 접수 후 1~2영업일 안에 택배 기사님이 방문해요.",
            ),
        ),
        (
            ("환불 요청", "받은 상품이 마음에 들지 않아 환불을 원합니다. 절차를 알려주세요."),
            ("중복 결제 확인", "같은 주문이 두 번 결제된 것 같습니다. 한 건 취소 부탁드립니다."),
            ("환불 지연", "반품한 지 열흘이 지났는데 아직 환불이 되지 않았습니다."),
        ),
        (
            ("환불 처리 요청", "반품 회수 완료 후 환불 미처리 건, 확인 필요."),
            ("중복 결제", "동일 주문 이중 결제 주장. 결제 내역 대조 필요."),
        ),
    ),
    "exchange": _Topic(
        TicketCategory.PRODUCT,
        (
            (
                "사이즈 교환 가능한가요?",
                "교환은 상품 수령 후 7일 이내에 마이페이지 > 교환/반품 신청에서 가능해요.",
            ),
            ("색상 바꾸고 싶어요", "원하시는 색상 재고를 확인한 뒤 교환 접수를 도와드릴게요."),
            (
                "교환 신청은 어디서 하나요?",
                "마이페이지 > 주문내역 > 교환/반품 신청에서 하실 수 있어요.",
            ),
            ("교환 배송비 있나요?", "단순 변심 교환은 왕복 배송비 6,000원이 발생해요."),
        ),
        (
            ("교환 요청", "사이즈가 맞지 않아 교환하고 싶습니다. 절차를 알려주세요."),
            ("색상 교환", "화면과 색이 많이 달라서 다른 색상으로 교환하고 싶어요."),
        ),
        (("교환 접수", "사이즈 교환 요청, 재고 확인 후 회수 예정."),),
    ),
    "account": _Topic(
        TicketCategory.ACCOUNT,
        (
            (
                "쿠폰이 적용이 안 돼요",
                "쿠폰은 최소 주문 금액 이상일 때 적용돼요. 쿠폰함에서 사용 조건을 확인해 주세요.",
            ),
            ("적립금은 언제 들어오나요?", "적립금은 구매 확정 후 다음 날 지급돼요."),
            ("첫 구매 쿠폰 어디서 받아요?", "첫 구매 쿠폰은 회원가입 때 쿠폰함으로 자동 발급돼요."),
            (
                "비밀번호를 잊어버렸어요",
                "비밀번호는 로그인 화면의 '비밀번호 찾기'에서 재설정하실 수 있어요.",
            ),
        ),
        (
            ("쿠폰 문의", "생일 쿠폰이 발급되지 않았습니다. 확인 부탁드립니다."),
            ("로그인 문제", "비밀번호 재설정 메일이 오지 않습니다."),
        ),
        (("로그인 불가", "비밀번호 재설정 메일 미수신."),),
    ),
    "product": _Topic(
        TicketCategory.PRODUCT,
        (
            ("재입고 언제 되나요?", "재입고 알림을 신청하시면 입고되는 대로 알려드릴게요."),
            ("이 패딩 세탁기 돌려도 되나요?", "패딩은 중성세제로 단독 손세탁을 권장해요."),
            (
                "사이즈 추천해 주세요 키 175에 70키로예요",
                "평소 입으시는 사이즈 그대로 고르시면 돼요. "
                "상세페이지 실측 사이즈도 참고해 주세요.",
            ),
            ("정품 맞나요?", "예시쇼핑의 모든 상품은 브랜드 공식 유통 정품이에요."),
            ("선물 포장 되나요?", "선물 포장은 결제 단계에서 2,000원에 추가하실 수 있어요."),
        ),
        (
            ("재입고 문의", "품절된 러닝화 270 사이즈 재입고 예정이 있을까요?"),
            (
                "대량 구매 문의",
                "회사 단체 선물로 50개 정도 구매하려고 합니다. 견적 부탁드립니다.",
            ),
        ),
        (
            ("제품 불량 접수", "수령한 제품 하자(봉제 불량) 사진 첨부 예정."),
            ("대량 구매 견적", "단체 구매 견적 요청, 영업팀 전달."),
        ),
    ),
}

_TOPIC_NAMES = list(TOPICS)
_TICKETS: dict[TicketCategory, list[tuple[str, str]]] = {
    TicketCategory.OTHER: [
        ("기타 문의", "대량 구매 및 법인 결제 관련 문의, 영업팀 전달."),
        ("매장 문의", "오프라인 매장 위치와 영업시간 문의."),
    ],
}
for _topic in TOPICS.values():
    _TICKETS.setdefault(_topic.category, []).extend(_topic.ticket)

GREETINGS = ["안녕하세요", "문의 좀 할게요", "저기요", "안녕하세요 질문 있어요"]
ORDER_MENTIONS = ["주문번호 {order_id} 건이요", "{order_id} 주문 관련 문의예요"]
ITEM_MENTIONS = ["{item} 주문한 건이요", "지난번에 주문한 {item} 관련해서요"]
"""A customer naming the order before asking about it."""
HUMAN_REQUESTS = [
    "상담원 연결해 주세요",
    "사람이랑 얘기하고 싶어요",
    "직원 바꿔주세요",
    "상담사 연결 부탁드립니다",
    "봇 말고 사람 없어요?",
    "사람이랑 통화하고 싶어요",
    "담당자 바꿔 주세요",
    "그냥 상담원이랑 얘기할게요",
]
HUMAN_REQUESTS_IMPATIENT = [
    "상담원 연결해 달라고요",
    "사람 연결 언제 돼요?",
    "빨리 직원 연결해 주세요",
]
COMPLAINTS = [
    "받은 제품이 불량이에요. 박음질이 다 터져 있어요",
    "일주일째 배송이 안 오는데 이게 말이 되나요?",
    "환불 요청한 지 2주가 넘었는데 아직도 처리가 안 됐어요",
    "주문한 거랑 다른 상품이 왔어요",
    "포장이 다 찢어져서 왔네요",
    "VIP 회원인데 응대가 너무 늦네요",
    "이번이 세 번째 문의입니다. 제대로 처리해 주세요",
    "매번 살 때마다 문제가 생기네요. 실망입니다",
]
NEGATIVE = [
    "답답하네요 진짜",
    "이거 몇 번째 물어보는 건지 모르겠네",
    "그래서 언제 된다는 거예요?",
    "대답이 왜 없어요?",
    "똑같은 말만 반복하네",
    "아니 그게 아니라고요",
    "제 말 이해 못 하시는 거죠?",
    "하 진짜",
    "아무도 안 읽나요?",
    "너무 불편하네요",
]
ABUSIVE = [
    "아 진짜 짜증나네 장난해?",
    "이딴 식으로 할 거면 장사 접어라",
    "너네 일 제대로 안 하냐?",
    "미친 거 아니야? 돈 받고 이딴 걸 보내?",
    "개념 없는 회사네 진짜",
    "씨발 환불 언제 해주냐고",
    "야 대답 똑바로 해라",
    "멍청한 봇이랑 얘기하기 싫다고",
    "사기꾼들 아니야 이거",
]
THANKS = [
    "감사합니다 좋은 하루 되세요",
    "네 알겠습니다 감사해요",
    "확인했어요 고마워요",
    "빠른 답변 감사합니다 :)",
    "해결됐어요 감사합니다",
    "아 그렇군요 감사합니다",
]
CUSTOMER_LINES = [
    *(q for topic in TOPICS.values() for q in topic.questions),
    *HUMAN_REQUESTS,
    *COMPLAINTS,
    *NEGATIVE,
    *ABUSIVE,
    *THANKS,
]
"""Every built-in customer line (the corpora add more when they are there)."""

BOT_GREETING = "안녕하세요, 예시쇼핑 챗봇이에요. 무엇을 도와드릴까요?"
BOT_FALLBACK = [
    "죄송합니다. 질문을 이해하지 못했어요. 다시 한 번 말씀해 주시겠어요?",
    "죄송해요, 그 질문에는 아직 답변드리기 어렵네요. "
    "주문·배송·교환·환불 문의를 도와드릴 수 있어요.",
    "주문 번호를 알려주시면 확인해 드릴게요.",
]
"""The first two say the bot did not understand, in words the policy's
bot_failure_patterns recognise; the last asks for the order number."""
BOT_HANDOFF = [
    "상담원을 연결해 드릴게요. 잠시만 기다려 주세요.",
    "상담 가능한 직원을 찾고 있어요. 평균 대기 시간은 3분이에요.",
]
BOT_APOLOGY = [
    "불편을 드려 정말 죄송합니다. 확인 후 빠르게 도와드릴게요.",
    "이용에 불편을 드려 죄송합니다. 주문 번호를 알려주시면 바로 확인할게요.",
]
BOT_ABUSE_WARNING = [
    "원활한 상담을 위해 욕설이나 비방은 삼가 부탁드립니다.",
    "상담원 보호를 위해 폭언이 계속되면 상담이 종료될 수 있어요.",
]
BOT_CLOSING = [
    "이용해 주셔서 감사합니다. 좋은 하루 보내세요!",
    "더 궁금한 점 있으시면 언제든 말씀해 주세요.",
]
BOT_HELPFUL = [
    "확인해 드렸어요. 자세한 내용은 마이페이지 > 주문내역에서도 보실 수 있어요.",
    "문의하신 내용 안내해 드릴게요. 자세한 기준은 고객센터 > 자주 묻는 질문에 정리되어 있어요.",
    "네, 확인했어요. 필요한 처리는 제가 바로 접수해 둘게요.",
]
"""A generic reply that still answers: what the bot says when it does understand."""
BOT_LINES = [
    BOT_GREETING,
    *(a for topic in TOPICS.values() for a in topic.answers),
    *BOT_FALLBACK,
    *BOT_HANDOFF,
    *BOT_APOLOGY,
    *BOT_ABUSE_WARNING,
    *BOT_CLOSING,
    *BOT_HELPFUL,
]
EMAIL_QUESTIONS = [pair for topic in TOPICS.values() for pair in topic.email]

# --- corpora ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorpusLines:
    """Customer lines from the shared corpora; empty when the folder or files are missing."""

    out_of_scope: tuple[str, ...] = ()
    """3i4K questions and commands: what people also type to a shop's bot (weather, music)."""
    small_talk: tuple[tuple[str, str], ...] = ()
    """Chatbot corpus everyday (label 0) question/answer pairs: the bot's small talk."""

    def __bool__(self) -> bool:
        return bool(self.out_of_scope or self.small_talk)


_3I4K_QUESTION_COMMAND = {"2", "3"}


@functools.lru_cache(maxsize=4)
def load_corpus_lines(data_dir: Path | None) -> CorpusLines:
    """Read what the stream uses from `data_dir`; a missing or unreadable file adds nothing."""
    if data_dir is None:
        return CorpusLines()
    out_of_scope: list[str] = []
    try:
        text = (data_dir / "3i4k" / "train.tsv").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    # split("\n"), not splitlines(): some texts hold U+2028 or \x1c, which are not line ends.
    for line in text.split("\n"):
        label, _, utterance = line.partition("\t")
        utterance = utterance.strip()
        if label in _3I4K_QUESTION_COMMAND and 6 <= len(utterance) <= 60:
            out_of_scope.append(utterance)
    small_talk: list[tuple[str, str]] = []
    try:
        with (data_dir / "chatbot" / "train.csv").open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                question, answer = (row.get("Q") or "").strip(), (row.get("A") or "").strip()
                if row.get("label") == "0" and question and answer:
                    small_talk.append((question, answer))
    except (OSError, UnicodeDecodeError, csv.Error):
        small_talk = []
    return CorpusLines(tuple(out_of_scope), tuple(small_talk))


# --- configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleConfig:
    seed: int = 7
    customers: int = 50
    start: datetime = datetime(2026, 11, 26, 19, 0, tzinfo=KST)
    """When the stream starts; an evening, so even short streams reach the night."""
    mean_gap_s: float = 5.0
    """Mean gap between events at the day's average traffic; nights are quieter."""
    data_dir: Path | None = field(default_factory=default_data_dir)
    """Shared corpora folder (3i4k/, chatbot/); None: built-in lines only."""
    shop_dir: Path | None = field(default_factory=default_shop_dir)
    """The sample shop's check files and bank (data/sample-shop); None: no shop questions."""

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError("customers must be at least 1")
        if not self.mean_gap_s > 0:
            raise ValueError("mean_gap_s must be positive")
        if self.start.tzinfo is None:
            raise ValueError("start needs a timezone")


# Relative session rate by KST hour: quiet before dawn, peaks at lunch and 20:00-23:00.
_HOURLY_TRAFFIC = (
    0.7, 0.4, 0.22, 0.14, 0.1, 0.12, 0.25, 0.5, 0.8, 1.0, 1.1, 1.1,
    1.25, 1.15, 1.0, 1.0, 1.0, 0.95, 1.0, 1.15, 1.35, 1.5, 1.55, 1.2,
)  # fmt: skip
_EVENTS_PER_SESSION = 4.0  # roughly, over the session mix below


def _spread(rng: random.Random, n: int, weights: Sequence[int]) -> list[int]:
    """n category indices in the given proportions (largest remainder), shuffled."""
    total = sum(weights)
    exact = [n * w / total for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    picks = [i for i, c in enumerate(counts) for _ in range(c)]
    rng.shuffle(picks)
    return picks


# --- the stream ---------------------------------------------------------------------------


class QuestionLabel(TypedDict, total=False):
    """What a customer question from the check files asks: the ground truth for the topic
    model and the drafter. `answer_id` is None where the bank has no answer, and absent
    where nobody judged which answer fits (a topic-check line)."""

    event_id: Required[str]
    topic: Required[str]
    answer_id: str | None


class SampleStream:
    def __init__(self, config: SampleConfig | None = None) -> None:
        self.config = config or SampleConfig()
        self.corpus = load_corpus_lines(self.config.data_dir)
        self.shop = load_shop_lines(self.config.shop_dir)
        self.profiles, self.activity = self._profiles(random.Random(f"{self.config.seed}:p"))
        """Relative chance, per profile, that a session is theirs."""

    def _profiles(self, rng: random.Random) -> tuple[list[CustomerProfile], list[float]]:
        n, start = self.config.customers, self.config.start
        tiers = _spread(rng, n, [w for _, w in _TIER_WEIGHTS])
        consents = _spread(rng, n, [a[3] for a in _CONSENT_ARCHETYPES])
        activity = _spread(rng, n, [w for _, w in _ACTIVITY_BUCKETS])
        surnames, surname_weights = _SURNAMES, [s[2] for s in _SURNAMES]
        emails: set[str] = set()
        profiles: list[CustomerProfile] = []
        weights: list[float] = []
        for index in range(n):
            surname, surname_roman, _ = rng.choices(surnames, weights=surname_weights)[0]
            given, given_roman = rng.choice(_GIVEN)
            email = self._email(rng, given_roman, surname_roman, emails)
            tier = _TIER_WEIGHTS[tiers[index]][0]
            _, advertising, night, _ = _CONSENT_ARCHETYPES[consents[index]]
            signed_up = start - timedelta(days=rng.randint(30, 1_500), minutes=rng.randint(0, 1439))
            decided = (signed_up + (start - signed_up) * rng.random() * 0.9).replace(microsecond=0)
            has_phone = bool(advertising & {Channel.SMS, Channel.KAKAO}) or rng.random() < 0.9
            low, high = _ACTIVITY_BUCKETS[activity[index]][0]
            last_active = start - timedelta(
                days=rng.randint(low, high), seconds=rng.randint(0, 86_399)
            )
            preferred = self._preferred_channel(rng, advertising)
            profiles.append(
                CustomerProfile(
                    customer_id=f"C{index:05d}",
                    name=surname + given,
                    email=email,
                    phone=(
                        f"010-{rng.randint(2000, 9999)}-{rng.randint(0, 9999):04d}"
                        if has_phone
                        else None
                    ),
                    tier=tier,
                    preferred_channel=preferred,
                    consents=Consents(
                        **{
                            channel.value: ChannelConsent(
                                advertising=channel in advertising,
                                night_time=channel in night,
                                updated_at=decided if channel in advertising else signed_up,
                            )
                            for channel in Channel
                        }
                    ),
                    last_active_at=max(last_active, signed_up),
                    updated_at=start - timedelta(seconds=rng.randint(60, 3 * 86_400)),
                )
            )
            weight = rng.lognormvariate(0, 0.6) * _TIER_ACTIVITY[tier]
            if low >= INACTIVE_DAYS:
                weight *= 0.03  # now and then one comes back
            weights.append(weight)
        return profiles, weights

    @staticmethod
    def _email(rng: random.Random, given: str, surname: str, taken: set[str]) -> str:
        while True:
            style = rng.random()
            if style < 0.4:
                local = (
                    f"{given}{rng.randint(70, 99) if rng.random() < 0.6 else rng.randint(1, 999)}"
                )
            elif style < 0.75:
                local = f"{given}.{surname}"
            else:
                local = f"{surname}{given[:3]}{rng.randint(0, 99):02d}"
            email = f"{local}@{rng.choice(_EMAIL_DOMAINS)}"
            if email not in taken:
                taken.add(email)
                return email

    @staticmethod
    def _preferred_channel(rng: random.Random, advertising: frozenset[Channel]) -> Channel:
        candidates = [c for c in _CHANNEL_PREFERENCE if c in advertising] or list(
            _CHANNEL_PREFERENCE
        )
        return rng.choices(candidates, weights=[_CHANNEL_PREFERENCE[c] for c in candidates])[0]

    def events(self, count: int) -> Iterator[CrmEvent]:
        """The first `count` events of this seed's stream, in time order."""
        return (event for event, _ in _Timeline(self).run(count))

    def labelled(self, count: int) -> Iterator[tuple[CrmEvent, QuestionLabel | None]]:
        """The same events as `events(count)`, each with its label when it is a customer
        question from the check files."""
        return _Timeline(self).run(count)


Maker = Callable[[str, datetime], CrmEvent]
Asked = tuple[str, str | None, bool]
"""A question's topic, its answer id, and whether that answer id is a judgement."""
"""A question's topic and expected answer id, from its check file."""


@dataclass
class _Conversation:
    """Turns of one chat: (seconds after the previous turn, sender, text, label)."""

    turns: list[tuple[float, Sender, str, Asked | None]] = field(default_factory=list)
    ticket: TicketCategory | None = None

    @property
    def elapsed(self) -> float:
        return sum(turn[0] for turn in self.turns)

    def customer(self, delay: float, text: str, asked: Asked | None = None) -> None:
        self.turns.append((delay, Sender.CUSTOMER, text, asked))

    def bot(self, delay: float, text: str) -> None:
        self.turns.append((delay, Sender.BOT, text, None))


@dataclass
class _Order:
    """An order with its whole future: when each step happens (None: never)."""

    order_id: str
    item: str
    total_krw: int
    placed: float
    shipped: float | None = None
    delivered: float | None = None
    cancelled: float | None = None
    refunded: float | None = None

    def state(self, at: float) -> OrderState:
        """The last step reached by `at` (the order is placed by then)."""
        steps: tuple[tuple[OrderState, float | None], ...] = (
            ("refunded", self.refunded),
            ("cancelled", self.cancelled),
            ("delivered", self.delivered),
            ("shipped", self.shipped),
        )
        return next((name for name, when in steps if when is not None and when <= at), "placed")


class _OrderBook:
    """Every customer's orders as scheduled, so a session knows the state of an order at
    its own time although the order's later events still wait in the heap."""

    def __init__(self) -> None:
        self._orders: dict[str, list[_Order]] = {}

    def add(self, customer_id: str, order: _Order) -> None:
        self._orders.setdefault(customer_id, []).append(order)

    def latest(self, customer_id: str, at: float) -> _Order | None:
        """The customer's most recently placed order by `at`."""
        placed = (o for o in self._orders.get(customer_id, ()) if o.placed <= at)
        return max(placed, key=lambda o: o.placed, default=None)


class _Timeline:
    """Sessions start at the day's rate; their events wait in a heap until their time."""

    def __init__(self, stream: SampleStream) -> None:
        self.config = stream.config
        self.seed = stream.config.seed
        self.rng = random.Random(f"{self.seed}:events")
        self.profiles = stream.profiles
        self.corpus = stream.corpus
        self.shop: ShopLines = stream.shop
        self.cum_activity = list(_accumulate(stream.activity))
        self.heap: list[tuple[float, int, Maker, Asked | None]] = []
        self.pushed = 0
        self.counters: dict[str, int] = {}
        self.orders = _OrderBook()
        self.start_epoch = self.config.start.timestamp()
        self._scenarios: dict[str, Callable[[], _Conversation]] = {
            "qa": self._scenario_qa,
            "small_talk": self._scenario_small_talk,
            "human": self._scenario_human,
            "frustrated": self._scenario_frustrated,
            "abusive": self._scenario_abusive,
            "complaint": self._scenario_complaint,
        }

    # -- scheduling ---------------------------------------------------------------------

    def run(self, count: int) -> Iterator[tuple[CrmEvent, QuestionLabel | None]]:
        start = self.config.start
        next_session = 0.0
        emitted = 0
        while emitted < count:
            if not self.heap or next_session <= self.heap[0][0]:
                self._session(next_session)
                next_session += self._session_gap(next_session)
                continue
            at, _, make, asked = heapq.heappop(self.heap)
            event_id = f"E{self.seed:03d}-{emitted:07d}"
            event = make(event_id, start + timedelta(milliseconds=round(at * 1000)))
            label = None
            if asked is not None:
                label = QuestionLabel(event_id=event_id, topic=asked[0])
                if asked[2]:
                    label["answer_id"] = asked[1]
            yield event, label
            emitted += 1

    def _push(self, at: float, make: Maker, asked: Asked | None = None) -> None:
        heapq.heappush(self.heap, (at, self.pushed, make, asked))
        self.pushed += 1

    def _session_gap(self, at: float) -> float:
        hour = int((self.start_epoch + at + 9 * 3600) // 3600) % 24
        rate = _HOURLY_TRAFFIC[hour] / (self.config.mean_gap_s * _EVENTS_PER_SESSION)
        return self.rng.expovariate(rate)

    def _next_id(self, kind: str) -> str:
        number = self.counters.get(kind, 0)
        self.counters[kind] = number + 1
        return f"{kind}-{self.seed:03d}-{number:06d}"

    def _session(self, at: float) -> None:
        rng = self.rng
        profile = rng.choices(self.profiles, cum_weights=self.cum_activity)[0]
        kind = rng.choices(("chat", "browse", "email", "ticket"), weights=(36, 50, 8, 3))[0]
        if kind == "chat":
            self._chat(at, profile)
        elif kind == "browse":
            self._browse(at, profile.customer_id)
        elif kind == "email":
            self._email(at, profile)
        else:
            self._ticket(at, profile.customer_id, rng.choice(list(_TICKETS)))

    # -- chat ---------------------------------------------------------------------------

    def _chat(self, at: float, profile: CustomerProfile) -> None:
        rng = self.rng
        weights = {
            "qa": 44,
            "shop_question": 40 if self.shop.chat else 0,
            "small_talk": 10 if self.corpus else 0,
            "human": 14,
            "frustrated": 12,
            "abusive": 6,
            "complaint": {Tier.VIP: 60, Tier.GOLD: 25}.get(profile.tier, 10),
        }
        scenario = rng.choices(list(weights), weights=list(weights.values()))[0]
        customer_id = profile.customer_id
        if scenario == "shop_question":
            conversation = self._scenario_shop_question(at, customer_id)
        else:
            conversation = self._scenarios[scenario]()
        conversation_id = self._next_id("CONV")
        source = rng.choices((EventSource.KAKAO, EventSource.APP, EventSource.WEB), (6, 3, 1))[0]
        t = at
        for delay, sender, text, asked in conversation.turns:
            t += delay
            self._push(t, _chat_maker(customer_id, source, conversation_id, sender, text), asked)
        if conversation.ticket is not None and rng.random() < 0.5:
            self._ticket(t + rng.uniform(300, 1_800), customer_id, conversation.ticket)

    def _typing(self) -> float:
        return self.rng.uniform(6, 45)

    def _bot_delay(self) -> float:
        return self.rng.uniform(0.6, 2.5)

    def _opening(self, c: _Conversation) -> None:
        if self.rng.random() < 0.3:
            c.customer(0.0, self.rng.choice(GREETINGS))
            c.bot(self._bot_delay(), BOT_GREETING)

    def _ask(self, c: _Conversation, topic: _Topic, answered: bool = True) -> None:
        rng = self.rng
        question, answer = rng.choice(topic.qa)
        if not answered:
            answer = rng.choice(BOT_FALLBACK)
        elif rng.random() < 0.08:  # the bot misreads now and then
            answer = rng.choice(topic.answers)
        c.customer(self._typing() if c.turns else 0.0, question)
        c.bot(self._bot_delay(), answer)

    def _scenario_qa(self) -> _Conversation:
        rng, c = self.rng, _Conversation()
        topic = TOPICS[rng.choice(_TOPIC_NAMES)]
        self._opening(c)
        self._ask(c, topic)
        if rng.random() < 0.4:
            self._ask(c, topic)
        if rng.random() < 0.6:
            c.customer(self._typing(), rng.choice(THANKS))
            if rng.random() < 0.7:
                c.bot(self._bot_delay(), rng.choice(BOT_CLOSING))
        return c

    def _scenario_shop_question(self, at: float, customer_id: str) -> _Conversation:
        """A question from the check files that fits the customer's order when it is asked.
        Mostly the bot does not understand it and the customer wants a person: the handoff
        whose draft the knowledge bank must answer; otherwise the bot helps."""
        rng, c = self.rng, _Conversation()
        self._opening(c)
        typing, follow_up = self._typing() if c.turns else 0.0, rng.uniform(3, 15)
        asked_at = at + c.elapsed + typing + follow_up
        order = self.orders.latest(customer_id, asked_at)
        line = self.shop.chat.choose(rng, order.state(asked_at) if order else None)
        text = line.text_for(order.order_id, order.item) if order else line.text_for(None)
        if order is not None and line.need is not None and rng.random() < 0.4:
            c.customer(typing, self._mention(order))
            c.customer(follow_up, text, (line.topic, line.answer_id, line.judged))
        else:
            c.customer(typing + follow_up, text, (line.topic, line.answer_id, line.judged))
        if rng.random() < 0.7:
            c.bot(self._bot_delay(), rng.choice(BOT_FALLBACK[:2]))
            c.customer(self._typing(), rng.choice(HUMAN_REQUESTS))
            if rng.random() < 0.7:
                c.bot(self._bot_delay(), rng.choice(BOT_HANDOFF))
            c.ticket = _TOPIC_TICKETS.get(line.topic, TicketCategory.OTHER)
        else:
            c.bot(self._bot_delay(), rng.choice(BOT_HELPFUL))
            c.customer(self._typing(), rng.choice(THANKS))
        return c

    def _mention(self, order: _Order) -> str:
        if self.rng.random() < 0.6:
            return self.rng.choice(ORDER_MENTIONS).format(order_id=order.order_id)
        return self.rng.choice(ITEM_MENTIONS).format(item=order.item)

    def _scenario_small_talk(self) -> _Conversation:
        rng, c = self.rng, _Conversation()
        for _ in range(rng.randint(1, 3)):
            delay = self._typing() if c.turns else 0.0
            if self.corpus.small_talk and (not self.corpus.out_of_scope or rng.random() < 0.5):
                question, answer = rng.choice(self.corpus.small_talk)
                c.customer(delay, question)
                c.bot(self._bot_delay(), answer)
            else:
                c.customer(delay, rng.choice(self.corpus.out_of_scope))
                c.bot(self._bot_delay(), rng.choice(BOT_FALLBACK[:2]))
        if rng.random() < 0.3:
            self._ask(c, TOPICS[rng.choice(_TOPIC_NAMES)])
        return c

    def _off_topic_or_question(self, c: _Conversation) -> None:
        """A first line the bot does not understand: out of scope, or a question it misreads."""
        rng = self.rng
        delay = self._typing() if c.turns else 0.0
        if self.corpus.out_of_scope and rng.random() < 0.3:
            c.customer(delay, rng.choice(self.corpus.out_of_scope))
            c.bot(self._bot_delay(), rng.choice(BOT_FALLBACK[:2]))
        else:
            c.customer(delay, rng.choice(TOPICS[rng.choice(_TOPIC_NAMES)].questions))
            c.bot(self._bot_delay(), rng.choice(BOT_FALLBACK))

    def _scenario_human(self) -> _Conversation:
        rng, c = self.rng, _Conversation()
        self._opening(c)
        topic = TOPICS[rng.choice(_TOPIC_NAMES)]
        if rng.random() < 0.5:
            self._ask(c, topic)
        else:
            self._off_topic_or_question(c)
        c.customer(self._typing(), rng.choice(HUMAN_REQUESTS))
        if rng.random() < 0.35:
            c.customer(rng.uniform(20, 90), rng.choice(HUMAN_REQUESTS_IMPATIENT))
        if rng.random() < 0.7:
            c.bot(self._bot_delay(), rng.choice(BOT_HANDOFF))
        c.ticket = topic.category
        return c

    def _scenario_frustrated(self) -> _Conversation:
        rng, c = self.rng, _Conversation()
        self._off_topic_or_question(c)
        first, *more = rng.sample(NEGATIVE, k=rng.randint(3, 4))
        c.customer(self._typing(), first)
        if rng.random() < 0.5:
            c.bot(self._bot_delay(), rng.choice(BOT_FALLBACK[:2]))
        for line in more:  # unanswered, in a row
            c.customer(rng.uniform(4, 30), line)
        return c

    def _scenario_abusive(self) -> _Conversation:
        rng, c = self.rng, _Conversation()
        topic = TOPICS[rng.choice(_TOPIC_NAMES)]
        self._ask(c, topic, answered=rng.random() < 0.5)
        c.customer(self._typing(), rng.choice(ABUSIVE))
        if rng.random() < 0.6:
            c.bot(self._bot_delay(), rng.choice(BOT_ABUSE_WARNING))
        if rng.random() < 0.5:
            c.customer(rng.uniform(3, 20), rng.choice(ABUSIVE))
        c.ticket = topic.category
        return c

    def _scenario_complaint(self) -> _Conversation:
        rng, c = self.rng, _Conversation()
        c.customer(0.0, rng.choice(COMPLAINTS))
        c.bot(self._bot_delay(), rng.choice(BOT_APOLOGY))
        if rng.random() < 0.6:
            c.customer(self._typing(), rng.choice(COMPLAINTS + NEGATIVE))
        if rng.random() < 0.3:
            c.customer(self._typing(), rng.choice(HUMAN_REQUESTS))
        c.ticket = rng.choice(
            [TicketCategory.DELIVERY, TicketCategory.REFUND, TicketCategory.PRODUCT]
        )
        return c

    # -- shopping -----------------------------------------------------------------------

    def _browse(self, at: float, customer_id: str) -> None:
        rng = self.rng
        source = EventSource.WEB if rng.random() < 0.55 else EventSource.APP
        t = at
        if rng.random() < 0.6:
            if rng.random() < 0.5:
                self._push(t, _page_maker(customer_id, source, f"{SHOP_URL}/", PageType.HOME))
            else:
                url = f"{SHOP_URL}/category/{rng.choice(_CATEGORIES)}"
                self._push(t, _page_maker(customer_id, source, url, PageType.CATEGORY))
            t += rng.uniform(5, 40)
        viewed = rng.sample(_PRODUCTS, k=rng.choices((1, 2, 3), weights=(5, 3, 2))[0])
        for sku, *_ in viewed:
            self._push(
                t, _page_maker(customer_id, source, f"{SHOP_URL}/p/{sku}", PageType.PRODUCT, sku)
            )
            t += rng.uniform(15, 120)
        if rng.random() < 0.06:
            self._push(
                t, _page_maker(customer_id, source, f"{SHOP_URL}/support/faq", PageType.SUPPORT)
            )
            return
        if rng.random() >= 0.35:
            return
        self._push(t, _page_maker(customer_id, source, f"{SHOP_URL}/cart", PageType.CART))
        items = [
            LineItem(
                sku=sku, name=name, quantity=1 if rng.random() < 0.85 else 2, unit_price_krw=price
            )
            for sku, name, price, _ in viewed
        ]
        value = sum(i.quantity * i.unit_price_krw for i in items)
        outcome = rng.random()
        if outcome < 0.45:
            order = _Order(self._next_id("ORD"), items[0].name, value, t + rng.uniform(60, 300))
            self._push(
                order.placed, _order_maker(customer_id, source, order.order_id, items, value)
            )
            self.orders.add(customer_id, order)
            self._fulfil(customer_id, order)
        elif outcome < 0.85:
            # The shop calls a cart abandoned after 30-60 minutes without checkout.
            t += rng.uniform(1_800, 3_600)
            self._push(t, _cart_maker(customer_id, source, self._next_id("CART"), items, value))

    def _fulfil(self, customer_id: str, order: _Order) -> None:
        """Schedule what happens to the order next, all at once, so the order book knows
        its state at any later time."""
        rng = self.rng
        fate = rng.random()
        if fate < 0.08:
            order.cancelled = order.placed + rng.uniform(5 * 60, 120 * 60)
            reasons, weights = zip(*_CANCEL_REASONS, strict=True)
            reason = rng.choices(reasons, weights)[0]
            self._push(order.cancelled, _cancelled_maker(customer_id, order.order_id, reason))
            order.refunded = order.cancelled + rng.uniform(10 * 60, 180 * 60)
        elif fate < 0.93:
            # Same-evening dispatch for some (당일 출고), else the next working day.
            quick = rng.random() < 0.45
            order.shipped = order.placed + (
                rng.uniform(0.5 * 3600, 3 * 3600) if quick else rng.uniform(10 * 3600, 20 * 3600)
            )
            carrier = rng.choice(CARRIERS)
            tracking = f"{rng.randint(10**11, 10**12 - 1)}"
            shipped_on = (self.config.start + timedelta(seconds=order.shipped)).astimezone(KST)
            eta = shipped_on.date() + timedelta(days=rng.randint(1, 2))
            self._push(
                order.shipped, _shipped_maker(customer_id, order.order_id, carrier, tracking, eta)
            )
            # 당일/새벽 delivery within hours for some, a day or two for the rest.
            order.delivered = order.shipped + (
                rng.uniform(3 * 3600, 8 * 3600)
                if rng.random() < 0.4
                else rng.uniform(12 * 3600, 36 * 3600)
            )
            self._push(
                order.delivered, _delivered_maker(customer_id, order.order_id, carrier, tracking)
            )
            if rng.random() < 0.06:  # returned
                order.refunded = order.delivered + rng.uniform(3 * 86_400, 8 * 86_400)
        if order.refunded is not None:
            self._push(order.refunded, _refund_maker(customer_id, order.order_id, order.total_krw))

    # -- e-mail and tickets -------------------------------------------------------------

    def _email(self, at: float, profile: CustomerProfile) -> None:
        rng = self.rng
        order = self.orders.latest(profile.customer_id, at)
        order_id = order.order_id if order else None
        asked: Asked | None = None
        if self.shop.email and rng.random() < 0.6:
            line = self.shop.email.choose(rng, order.state(at) if order else None)
            text = line.text_for(order_id, order.item if order else None)
            subject, _, question = text.partition("\n")
            asked = (line.topic, line.answer_id, line.judged)
            lines = _framed(question)
            name_order = order_id is not None and order_id not in text and rng.random() < 0.5
        else:
            subject, question = rng.choice(EMAIL_QUESTIONS)
            lines = ["안녕하세요.", question, "감사합니다."]
            name_order = order_id is not None and rng.random() < 0.7
        closing = lines.pop() if lines[-1] == "감사합니다." else None
        if name_order:
            lines.append(f"주문번호는 {order_id}입니다.")
        if profile.phone is not None and rng.random() < 0.3:
            lines.append(f"급하면 {profile.phone}로 연락 주세요.")
        if closing is not None:
            lines.append(closing)
        in_reply_to = None
        if rng.random() < 0.2:
            in_reply_to = f"<{self._next_id('MSG').lower()}@mail.example.co.kr>"
            subject = f"RE: {subject}"
        body = "\n\n".join(lines)
        customer_id = profile.customer_id

        def make(event_id: str, occurred_at: datetime) -> CrmEvent:
            return EmailInboundEvent(
                event_id=event_id,
                event_type="email.inbound",
                occurred_at=occurred_at,
                customer_id=customer_id,
                source=EventSource.EMAIL,
                payload=EmailInbound(subject=subject, body=body, in_reply_to=in_reply_to),
            )

        self._push(at, make, asked)

    def _ticket(self, at: float, customer_id: str, category: TicketCategory) -> None:
        subject, description = self.rng.choice(_TICKETS[category])
        ticket_id = self._next_id("T")

        def make(event_id: str, occurred_at: datetime) -> CrmEvent:
            return TicketCreatedEvent(
                event_id=event_id,
                event_type="ticket.created",
                occurred_at=occurred_at,
                customer_id=customer_id,
                source=EventSource.CRM,
                payload=TicketCreated(
                    ticket_id=ticket_id, category=category, subject=subject, description=description
                ),
            )

        self._push(at, make)


_TOPIC_TICKETS: dict[str, TicketCategory] = {
    "delivery_status": TicketCategory.DELIVERY,
    "delivery_address": TicketCategory.DELIVERY,
    "shipping_fee": TicketCategory.DELIVERY,
    "order_cancel": TicketCategory.REFUND,
    "refund_status": TicketCategory.REFUND,
    "return_request": TicketCategory.REFUND,
    "exchange_request": TicketCategory.PRODUCT,
    "defect_claim": TicketCategory.PRODUCT,
    "product_info": TicketCategory.PRODUCT,
    "restock": TicketCategory.PRODUCT,
    "account": TicketCategory.ACCOUNT,
    "coupon_points": TicketCategory.ACCOUNT,
}
"""The ticket a handed-off shop question becomes; other topics are OTHER."""


def _framed(body: str) -> list[str]:
    """A check-file e-mail body in the shop's usual frame, unless it already greets or
    thanks."""
    lines = [body.strip()]
    if not lines[0].startswith("안녕"):
        lines.insert(0, "안녕하세요.")
    if "감사합니다" not in lines[-1][-12:]:
        lines.append("감사합니다.")
    return lines


def _accumulate(values: Sequence[float]) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


def _chat_maker(
    customer_id: str, source: EventSource, conversation_id: str, sender: Sender, text: str
) -> Maker:
    def make(event_id: str, occurred_at: datetime) -> CrmEvent:
        return ChatMessageEvent(
            event_id=event_id,
            event_type="chat.message",
            occurred_at=occurred_at,
            customer_id=customer_id,
            source=source,
            conversation_id=conversation_id,
            payload=ChatMessage(text=text, sender=sender),
        )

    return make


def _page_maker(
    customer_id: str, source: EventSource, url: str, page_type: PageType, sku: str | None = None
) -> Maker:
    def make(event_id: str, occurred_at: datetime) -> CrmEvent:
        return PageViewEvent(
            event_id=event_id,
            event_type="page.view",
            occurred_at=occurred_at,
            customer_id=customer_id,
            source=source,
            payload=PageView(url=url, page_type=page_type, product_id=sku),
        )

    return make


def _order_maker(
    customer_id: str, source: EventSource, order_id: str, items: list[LineItem], total: int
) -> Maker:
    def make(event_id: str, occurred_at: datetime) -> CrmEvent:
        return OrderPlacedEvent(
            event_id=event_id,
            event_type="order.placed",
            occurred_at=occurred_at,
            customer_id=customer_id,
            source=source,
            payload=OrderPlaced(order_id=order_id, items=items, total_krw=total),
        )

    return make


def _delivered_maker(customer_id: str, order_id: str, carrier: str, tracking: str) -> Maker:
    def make(event_id: str, occurred_at: datetime) -> CrmEvent:
        return OrderDeliveredEvent(
            event_id=event_id,
            event_type="order.delivered",
            occurred_at=occurred_at,
            customer_id=customer_id,
            source=EventSource.CRM,
            payload=OrderDelivered(order_id=order_id, carrier=carrier, tracking_number=tracking),
        )

    return make


def _shipped_maker(
    customer_id: str, order_id: str, carrier: str, tracking: str, eta: date
) -> Maker:
    def make(event_id: str, occurred_at: datetime) -> CrmEvent:
        return OrderShippedEvent(
            event_id=event_id,
            event_type="order.shipped",
            occurred_at=occurred_at,
            customer_id=customer_id,
            source=EventSource.CRM,
            payload=OrderShipped(
                order_id=order_id,
                carrier=carrier,
                tracking_number=tracking,
                estimated_delivery=eta,
            ),
        )

    return make


def _cancelled_maker(customer_id: str, order_id: str, reason: str) -> Maker:
    def make(event_id: str, occurred_at: datetime) -> CrmEvent:
        return OrderCancelledEvent(
            event_id=event_id,
            event_type="order.cancelled",
            occurred_at=occurred_at,
            customer_id=customer_id,
            source=EventSource.CRM,
            payload=OrderCancelled(order_id=order_id, reason=reason),
        )

    return make


def _refund_maker(customer_id: str, order_id: str, amount: int) -> Maker:
    def make(event_id: str, occurred_at: datetime) -> CrmEvent:
        return RefundIssuedEvent(
            event_id=event_id,
            event_type="refund.issued",
            occurred_at=occurred_at,
            customer_id=customer_id,
            source=EventSource.CRM,
            payload=RefundIssued(order_id=order_id, amount_krw=amount),
        )

    return make


def _cart_maker(
    customer_id: str, source: EventSource, cart_id: str, items: list[LineItem], value: int
) -> Maker:
    def make(event_id: str, occurred_at: datetime) -> CrmEvent:
        return CartAbandonedEvent(
            event_id=event_id,
            event_type="cart.abandoned",
            occurred_at=occurred_at,
            customer_id=customer_id,
            source=source,
            payload=CartAbandoned(cart_id=cart_id, items=items, value_krw=value),
        )

    return make
