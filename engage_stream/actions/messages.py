"""The Korean text of next-best-action messages (합니다체), before advertising marks.

Marks required by law ("(광고)", sender, opt-out) are added by `policy.outbound`, so the
wording here can change without touching compliance.
"""

from __future__ import annotations

from engage_stream.schemas.events import CartAbandoned, LineItem, OrderDelivered


def won(amount: int) -> str:
    return f"{amount:,}원"


def _items(items: list[LineItem], shown: int = 3) -> str:
    names = [f"{item.name} {item.quantity}개" for item in items[:shown]]
    more = len(items) - shown
    return ", ".join(names) + (f" 외 {more}건" if more > 0 else "")


def abandoned_cart(cart: CartAbandoned) -> tuple[str, str]:
    subject = "장바구니에 담아 두신 상품이 기다리고 있습니다"
    body = (
        "고객님, 안녕하세요.\n"
        f"장바구니에 담아 두신 {_items(cart.items)} (합계 {won(cart.value_krw)})을 "
        "아직 구매하지 않으셨습니다.\n"
        "재고가 남아 있을 때 주문을 마무리해 보세요. 궁금한 점이 있으시면 언제든 문의해 주세요."
    )
    return subject, body


def review_request(delivery: OrderDelivered) -> tuple[str, str]:
    subject = "주문하신 상품은 잘 받으셨나요? 후기를 남겨 주세요"
    body = (
        "고객님, 안녕하세요.\n"
        f"주문번호 {delivery.order_id} 상품이 배송 완료되었습니다.\n"
        "상품은 마음에 드셨나요? 솔직한 후기를 남겨 주시면 다른 고객님께 큰 도움이 됩니다."
    )
    return subject, body


def win_back(days_inactive: int) -> tuple[str, str]:
    subject = "오랜만입니다, 고객님을 위한 새 소식을 준비했습니다"
    body = (
        "고객님, 안녕하세요.\n"
        f"마지막 방문 후 {days_inactive}일이 지났습니다. 그동안 새로 들어온 상품과 "
        "혜택을 확인해 보세요.\n"
        "언제든 다시 찾아 주시면 정성껏 모시겠습니다."
    )
    return subject, body


def inbound_answer_subject(subject: str) -> str:
    subject = subject.strip()
    if not subject:
        return "문의하신 내용에 대한 답변입니다"
    return (subject if subject.lower().startswith("re:") else f"Re: {subject}")[:200]


def inbound_answer_body(draft: str) -> str:
    return f"{draft}\n\n추가로 궁금하신 점은 이 메일에 회신해 주시면 확인 후 안내해 드리겠습니다."
