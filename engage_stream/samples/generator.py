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

Customer chat lines are the built-in CRM lines (data/*.yaml, shipped with the package),
plus, when the shared corpora are there (`data_dir`, default `../shared/data`),
out-of-scope utterances from 3i4K and small-talk pairs from the chatbot corpus. Without
the corpora the built-in lines are used alone. The files are read directly: nothing here
imports the training extra.

This module schedules sessions and orders; the other modules of the package write them:
`profiles` the customers, `chats` the conversations, `orders` the order book, `makers`
the events, `content` the shipped texts, `corpora` and `shop_lines` the optional files.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Required, TypedDict

from engage_stream.config.data_dir import data_dir
from engage_stream.samples.chats import (
    ABUSIVE,
    BOT_ABUSE_WARNING,
    BOT_APOLOGY,
    BOT_CLOSING,
    BOT_FALLBACK,
    BOT_GREETING,
    BOT_HANDOFF,
    BOT_HELPFUL,
    BOT_LINES,
    COMPLAINTS,
    CUSTOMER_LINES,
    GREETINGS,
    HUMAN_REQUESTS,
    HUMAN_REQUESTS_IMPATIENT,
    ITEM_MENTIONS,
    NEGATIVE,
    ORDER_MENTIONS,
    THANKS,
    TOPICS,
    ChatScenarios,
)
from engage_stream.samples.content import sample_content
from engage_stream.samples.corpora import CorpusLines, load_corpus_lines
from engage_stream.samples.makers import (
    Asked,
    Maker,
    cancelled_maker,
    cart_maker,
    chat_maker,
    delivered_maker,
    email_maker,
    order_maker,
    page_maker,
    refund_maker,
    shipped_maker,
    ticket_maker,
)
from engage_stream.samples.orders import Order, OrderBook
from engage_stream.samples.profiles import INACTIVE_DAYS, make_profiles
from engage_stream.samples.shop_lines import ShopLines, default_shop_dir, load_shop_lines
from engage_stream.schemas.customers import CustomerProfile
from engage_stream.schemas.events import CrmEvent, EventSource, LineItem, PageType, TicketCategory

__all__ = [
    "ABUSIVE",
    "BOT_ABUSE_WARNING",
    "BOT_APOLOGY",
    "BOT_CLOSING",
    "BOT_FALLBACK",
    "BOT_GREETING",
    "BOT_HANDOFF",
    "BOT_HELPFUL",
    "BOT_LINES",
    "CARRIERS",
    "COMPLAINTS",
    "CUSTOMER_LINES",
    "EMAIL_QUESTIONS",
    "GREETINGS",
    "HUMAN_REQUESTS",
    "HUMAN_REQUESTS_IMPATIENT",
    "INACTIVE_DAYS",
    "ITEM_MENTIONS",
    "KST",
    "NEGATIVE",
    "ORDER_MENTIONS",
    "SHOP_URL",
    "THANKS",
    "TOPICS",
    "CorpusLines",
    "QuestionLabel",
    "SampleConfig",
    "SampleStream",
    "default_data_dir",
    "is_night_kst",
    "load_corpus_lines",
]

KST = timezone(timedelta(hours=9), "KST")
SHOP_URL = "https://shop.example.co.kr"


def default_data_dir() -> Path | None:
    """The corpora folder (`ENGAGE_DATA_DIR`, else ../shared/data) when it is there, else
    None (built-in lines only)."""
    folder = data_dir()
    return folder if folder is not None and folder.is_dir() else None


def is_night_kst(at: datetime) -> bool:
    """21:00-08:00 KST, when advertising by SMS, push or messenger needs night-time consent."""
    hour = at.astimezone(KST).hour
    return hour >= 21 or hour < 8


# --- the shipped catalogue, tickets and e-mail frame (data/*.yaml) -------------------------

_CONTENT = sample_content()
_PRODUCTS = _CONTENT.catalogue.products
_CATEGORIES = _CONTENT.catalogue.categories
CARRIERS = _CONTENT.catalogue.carriers
_CANCEL_REASONS = [r.reason for r in _CONTENT.catalogue.cancel_reasons]
_CANCEL_WEIGHTS = [r.weight for r in _CONTENT.catalogue.cancel_reasons]
_TICKETS = _CONTENT.topics.tickets()
"""(subject, description) of the tickets the CRM logs, by category."""
EMAIL_QUESTIONS = [(e.subject, e.body) for topic in TOPICS.values() for e in topic.emails]
_FRAME = _CONTENT.email

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
        self.profiles, self.activity = make_profiles(
            random.Random(f"{self.config.seed}:p"), self.config.customers, self.config.start
        )
        """Relative chance, per profile, that a session is theirs."""

    def events(self, count: int) -> Iterator[CrmEvent]:
        """The first `count` events of this seed's stream, in time order."""
        return (event for event, _ in _Timeline(self).run(count))

    def labelled(self, count: int) -> Iterator[tuple[CrmEvent, QuestionLabel | None]]:
        """The same events as `events(count)`, each with its label when it is a customer
        question from the check files."""
        return _Timeline(self).run(count)


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
        self.orders = OrderBook()
        self.start_epoch = self.config.start.timestamp()
        self.chats = ChatScenarios(self.rng, self.corpus, self.shop.chat, self.orders)

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
        rng, customer_id = self.rng, profile.customer_id
        conversation = self.chats.conversation(at, customer_id, profile.tier)
        conversation_id = self._next_id("CONV")
        source = rng.choices((EventSource.KAKAO, EventSource.APP, EventSource.WEB), (6, 3, 1))[0]
        t = at
        for delay, sender, text, asked in conversation.turns:
            t += delay
            self._push(t, chat_maker(customer_id, source, conversation_id, sender, text), asked)
        if conversation.ticket is not None and rng.random() < 0.5:
            self._ticket(t + rng.uniform(300, 1_800), customer_id, conversation.ticket)

    # -- shopping -----------------------------------------------------------------------

    def _browse(self, at: float, customer_id: str) -> None:
        rng = self.rng
        source = EventSource.WEB if rng.random() < 0.55 else EventSource.APP
        t = at
        if rng.random() < 0.6:
            if rng.random() < 0.5:
                self._push(t, page_maker(customer_id, source, f"{SHOP_URL}/", PageType.HOME))
            else:
                url = f"{SHOP_URL}/category/{rng.choice(_CATEGORIES)}"
                self._push(t, page_maker(customer_id, source, url, PageType.CATEGORY))
            t += rng.uniform(5, 40)
        viewed = rng.sample(_PRODUCTS, k=rng.choices((1, 2, 3), weights=(5, 3, 2))[0])
        for product in viewed:
            url = f"{SHOP_URL}/p/{product.sku}"
            self._push(t, page_maker(customer_id, source, url, PageType.PRODUCT, product.sku))
            t += rng.uniform(15, 120)
        if rng.random() < 0.06:
            self._push(
                t, page_maker(customer_id, source, f"{SHOP_URL}/support/faq", PageType.SUPPORT)
            )
            return
        if rng.random() >= 0.35:
            return
        self._push(t, page_maker(customer_id, source, f"{SHOP_URL}/cart", PageType.CART))
        items = [
            LineItem(
                sku=product.sku,
                name=product.name,
                quantity=1 if rng.random() < 0.85 else 2,
                unit_price_krw=product.price_krw,
            )
            for product in viewed
        ]
        value = sum(i.quantity * i.unit_price_krw for i in items)
        outcome = rng.random()
        if outcome < 0.45:
            order = Order(self._next_id("ORD"), items[0].name, value, t + rng.uniform(60, 300))
            self._push(order.placed, order_maker(customer_id, source, order.order_id, items, value))
            self.orders.add(customer_id, order)
            self._fulfil(customer_id, order)
        elif outcome < 0.85:
            # The shop calls a cart abandoned after 30-60 minutes without checkout.
            t += rng.uniform(1_800, 3_600)
            self._push(t, cart_maker(customer_id, source, self._next_id("CART"), items, value))

    def _fulfil(self, customer_id: str, order: Order) -> None:
        """Schedule what happens to the order next, all at once, so the order book knows
        its state at any later time."""
        rng = self.rng
        fate = rng.random()
        if fate < 0.08:
            order.cancelled = order.placed + rng.uniform(5 * 60, 120 * 60)
            reason = rng.choices(_CANCEL_REASONS, _CANCEL_WEIGHTS)[0]
            self._push(order.cancelled, cancelled_maker(customer_id, order.order_id, reason))
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
                order.shipped, shipped_maker(customer_id, order.order_id, carrier, tracking, eta)
            )
            # 당일/새벽 delivery within hours for some, a day or two for the rest.
            order.delivered = order.shipped + (
                rng.uniform(3 * 3600, 8 * 3600)
                if rng.random() < 0.4
                else rng.uniform(12 * 3600, 36 * 3600)
            )
            self._push(
                order.delivered, delivered_maker(customer_id, order.order_id, carrier, tracking)
            )
            if rng.random() < 0.06:  # returned
                order.refunded = order.delivered + rng.uniform(3 * 86_400, 8 * 86_400)
        if order.refunded is not None:
            self._push(order.refunded, refund_maker(customer_id, order.order_id, order.total_krw))

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
            lines = [_FRAME.greeting, question, _FRAME.closing]
            name_order = order_id is not None and rng.random() < 0.7
        closing = lines.pop() if lines[-1] == _FRAME.closing else None
        if name_order:
            lines.append(_FRAME.order_number.format(order_id=order_id))
        if profile.phone is not None and rng.random() < 0.3:
            lines.append(_FRAME.phone.format(phone=profile.phone))
        if closing is not None:
            lines.append(closing)
        in_reply_to = None
        if rng.random() < 0.2:
            in_reply_to = f"<{self._next_id('MSG').lower()}@mail.example.co.kr>"
            subject = f"RE: {subject}"
        body = "\n\n".join(lines)
        self._push(at, email_maker(profile.customer_id, subject, body, in_reply_to), asked)

    def _ticket(self, at: float, customer_id: str, category: TicketCategory) -> None:
        subject, description = self.rng.choice(_TICKETS[category])
        ticket_id = self._next_id("T")
        self._push(at, ticket_maker(customer_id, ticket_id, category, subject, description))


def _framed(body: str) -> list[str]:
    """A check-file e-mail body in the shop's usual frame, unless it already greets or
    thanks."""
    lines = [body.strip()]
    if not lines[0].startswith(_FRAME.greeted_by):
        lines.insert(0, _FRAME.greeting)
    if _FRAME.thanked_by not in lines[-1][-12:]:
        lines.append(_FRAME.closing)
    return lines


def _accumulate(values: Sequence[float]) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total
