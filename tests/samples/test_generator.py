"""The sample stream: deterministic, valid against the contracts, and realistic enough to
exercise handoffs, consent rules, the night-time rule, order follow-ups and drafted answers
to shop questions that fit the customer's order."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.samples.generator import (
    ABUSIVE,
    BOT_FALLBACK,
    BOT_HELPFUL,
    BOT_LINES,
    CARRIERS,
    COMPLAINTS,
    CUSTOMER_LINES,
    GREETINGS,
    HUMAN_REQUESTS,
    HUMAN_REQUESTS_IMPATIENT,
    INACTIVE_DAYS,
    KST,
    THANKS,
    QuestionLabel,
    SampleConfig,
    SampleStream,
    is_night_kst,
    load_corpus_lines,
)
from engage_stream.samples.shop_lines import SHOP_DATA_DIR, blank_products
from engage_stream.schemas.common import Channel
from engage_stream.schemas.customers import CustomerProfile, Tier
from engage_stream.schemas.events import (
    EVENT_TYPES,
    ChatMessageEvent,
    CrmEvent,
    EmailInboundEvent,
    OrderCancelledEvent,
    OrderDeliveredEvent,
    OrderEvent,
    OrderPlacedEvent,
    OrderShippedEvent,
    RefundIssuedEvent,
    Sender,
)
from engage_stream.schemas.validation import parse_event

EVENTS = 5_000
MS = timedelta(milliseconds=1)
"""Event times are whole milliseconds: a gap between two may be off by one."""
OUR_ORDER_ID = re.compile(r"ORD-\d{3}-\d{6}")
FILE_ORDER_NUMBER = re.compile(r"(?:ORD-)?\d{8}-\d{4}")

needs_shop_files = pytest.mark.skipif(
    not (SHOP_DATA_DIR / "bank-check.jsonl").is_file(), reason="data/sample-shop not present"
)


@pytest.fixture(scope="module")
def stream() -> SampleStream:
    return SampleStream(SampleConfig(seed=11, customers=60))


@pytest.fixture(scope="module")
def events(stream: SampleStream) -> list[CrmEvent]:
    return list(stream.events(EVENTS))


@pytest.fixture(scope="module")
def quiet() -> list[tuple[CrmEvent, QuestionLabel | None]]:
    """A quiet shop (an event every five minutes at average traffic): 5,000 events span
    three weeks, long enough for orders to be delivered (14-68 h after placing) and for
    some to come back as returns days later."""
    stream = SampleStream(SampleConfig(seed=11, customers=60, mean_gap_s=300))
    return list(stream.labelled(EVENTS))


@pytest.fixture(scope="module")
def quiet_events(quiet: list[tuple[CrmEvent, QuestionLabel | None]]) -> list[CrmEvent]:
    return [event for event, _ in quiet]


@pytest.fixture(scope="module")
def labelled(stream: SampleStream) -> list[tuple[CrmEvent, QuestionLabel | None]]:
    return list(stream.labelled(EVENTS))


@pytest.fixture(scope="module")
def bank() -> dict[str, dict[str, Any]]:
    """The knowledge bank's answers by id, read as plain YAML: the generator's view of the
    bank is checked against the file itself."""
    document = yaml.safe_load((SHOP_DATA_DIR / "knowledge-bank.yaml").read_text("utf-8"))
    return {answer["id"]: answer for answer in document["answers"]}


def _check_lines(name: str) -> dict[str, set[str]]:
    """The check file's texts by channel, order numbers blanked."""
    lines: dict[str, set[str]] = defaultdict(set)
    for row in (SHOP_DATA_DIR / name).read_text("utf-8").splitlines():
        document = json.loads(row)
        lines[document["channel"]].add(blank_products(FILE_ORDER_NUMBER.sub("#", document["text"])))
    return lines


def _blank_order_ids(text: str) -> str:
    """Order numbers and products blanked: the stream puts the customer's own in."""
    return blank_products(OUR_ORDER_ID.sub("#", text))


def _chats(events: list[CrmEvent]) -> dict[str, list[ChatMessageEvent]]:
    conversations: dict[str, list[ChatMessageEvent]] = defaultdict(list)
    for event in events:
        if isinstance(event, ChatMessageEvent):
            assert event.conversation_id is not None
            conversations[event.conversation_id].append(event)
    return conversations


def _customer_texts(events: list[CrmEvent]) -> list[str]:
    return [
        e.payload.text
        for e in events
        if isinstance(e, ChatMessageEvent) and e.payload.sender == Sender.CUSTOMER
    ]


# --- determinism ---------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_profiles_and_events() -> None:
    first, second = SampleStream(SampleConfig(seed=3)), SampleStream(SampleConfig(seed=3))
    assert [p.model_dump_json() for p in first.profiles] == [
        p.model_dump_json() for p in second.profiles
    ]
    assert [e.model_dump_json() for e in first.events(800)] == [
        e.model_dump_json() for e in second.events(800)
    ]


def test_another_seed_gives_another_stream() -> None:
    a = list(SampleStream(SampleConfig(seed=1)).events(200))
    b = list(SampleStream(SampleConfig(seed=2)).events(200))
    assert [e.payload for e in a] != [e.payload for e in b]
    assert not {e.event_id for e in a} & {e.event_id for e in b}, "event ids carry the seed"


def test_a_short_stream_is_the_start_of_a_longer_one(stream: SampleStream) -> None:
    short = [e.model_dump_json() for e in stream.events(150)]
    long = [e.model_dump_json() for e in stream.events(1_500)]
    assert long[:150] == short


def test_ten_thousand_events_take_well_under_two_seconds() -> None:
    started = time.perf_counter()
    stream = SampleStream(SampleConfig(seed=5, customers=500))
    assert sum(1 for _ in stream.events(10_000)) == 10_000
    assert time.perf_counter() - started < 2.0


# --- contracts ------------------------------------------------------------------------------


def test_every_event_round_trips_through_the_schema(events: list[CrmEvent]) -> None:
    for event in events:
        assert parse_event(event.model_dump_json().encode()) == event


def test_event_ids_are_unique_and_times_aware_and_in_order(events: list[CrmEvent]) -> None:
    assert len({e.event_id for e in events}) == len(events)
    assert all(e.occurred_at.utcoffset() == timedelta(hours=9) for e in events)
    times = [e.occurred_at for e in events]
    assert times == sorted(times)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert max(gaps) < 3_600, "traffic never stops for an hour"


def test_every_event_type_appears(events: list[CrmEvent], quiet_events: list[CrmEvent]) -> None:
    by_type = Counter(e.event_type for e in quiet_events)
    assert set(by_type) == set(EVENT_TYPES)
    assert by_type["chat.message"] > by_type["order.placed"] > by_type["order.shipped"] > 0
    evening = Counter(e.event_type for e in events)
    assert set(evening) == set(EVENT_TYPES), "a busy evening ships, delivers some, cancels"


def test_profiles_validate(stream: SampleStream) -> None:
    for profile in stream.profiles:
        assert CustomerProfile.model_validate_json(profile.model_dump_json()) == profile


# --- realism --------------------------------------------------------------------------------


def test_conversations_interleave_customer_and_bot_turns(events: list[CrmEvent]) -> None:
    conversations = _chats(events)
    assert len(conversations) > 100
    for turns in conversations.values():
        assert len({(t.customer_id, t.source) for t in turns}) == 1, "one customer, one channel"
    with_both = [
        c
        for c in conversations.values()
        if {t.payload.sender for t in c} >= {Sender.CUSTOMER, Sender.BOT}
    ]
    assert len(with_both) > 0.8 * len(conversations)
    bot_texts = {
        t.payload.text for c in conversations.values() for t in c if t.payload.sender == Sender.BOT
    }
    assert bot_texts & set(BOT_LINES)


def test_some_customers_ask_for_a_person(events: list[CrmEvent]) -> None:
    asks = [t for t in _customer_texts(events) if t in HUMAN_REQUESTS + HUMAN_REQUESTS_IMPATIENT]
    assert len(asks) >= 10
    assert {"상담원 연결해 주세요", "사람이랑 얘기하고 싶어요", "직원 바꿔주세요"} <= set(
        HUMAN_REQUESTS
    )


def test_some_customers_are_abusive_and_some_frustrated(events: list[CrmEvent]) -> None:
    assert sum(t in ABUSIVE for t in _customer_texts(events)) >= 5
    runs = []
    for turns in _chats(events).values():
        longest = run = 0
        for turn in turns:
            run = run + 1 if turn.payload.sender == Sender.CUSTOMER else 0
            longest = max(longest, run)
        runs.append(longest)
    assert sum(r >= 3 for r in runs) >= 5, "several unanswered customer turns in a row"


def test_vip_customers_complain(stream: SampleStream, events: list[CrmEvent]) -> None:
    vips = {p.customer_id for p in stream.profiles if p.tier == Tier.VIP}
    vip_complaints = [
        e
        for e in events
        if isinstance(e, ChatMessageEvent)
        and e.customer_id in vips
        and e.payload.text in COMPLAINTS
    ]
    assert vip_complaints


def test_there_are_night_time_events_and_daytime_ones(events: list[CrmEvent]) -> None:
    night = sum(is_night_kst(e.occurred_at) for e in events)
    assert 0 < night < len(events)


def test_a_delivery_follows_its_order_for_the_same_customer(quiet_events: list[CrmEvent]) -> None:
    placed = {e.payload.order_id: e for e in quiet_events if isinstance(e, OrderPlacedEvent)}
    delivered = [e for e in quiet_events if isinstance(e, OrderDeliveredEvent)]
    assert delivered
    for event in delivered:
        order = placed[event.payload.order_id]
        assert order.customer_id == event.customer_id
        assert order.occurred_at < event.occurred_at


# --- the order lifecycle ------------------------------------------------------------------


def _by_order(events: list[CrmEvent], kind: type[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for event in events:
        if isinstance(event, kind):
            assert event.payload.order_id not in found, f"one {event.event_type} per order"
            found[event.payload.order_id] = event
    return found


def test_most_orders_are_shipped_the_same_evening_or_the_next_day(
    quiet_events: list[CrmEvent],
) -> None:
    placed = _by_order(quiet_events, OrderPlacedEvent)
    shipped = _by_order(quiet_events, OrderShippedEvent)
    assert shipped.keys() <= placed.keys(), "nothing ships that was not ordered in the stream"
    for order_id, event in shipped.items():
        order = placed[order_id]
        assert event.customer_id == order.customer_id
        gap = event.occurred_at - order.occurred_at
        assert timedelta(minutes=30) - MS <= gap <= timedelta(hours=20) + MS
        assert event.payload.carrier in CARRIERS
        assert re.fullmatch(r"\d{12}", event.payload.tracking_number)
        shipped_on = event.occurred_at.astimezone(KST).date()
        assert event.payload.estimated_delivery is not None
        assert (event.payload.estimated_delivery - shipped_on).days in (1, 2)
    end = quiet_events[-1].occurred_at
    settled = [o for o in placed if end - placed[o].occurred_at > timedelta(hours=20)]
    assert 0.75 < sum(o in shipped for o in settled) / len(settled) < 0.95, "about 85 %"


def test_a_delivery_follows_its_shipment_with_the_same_carrier_and_tracking_number(
    quiet_events: list[CrmEvent],
) -> None:
    shipped = _by_order(quiet_events, OrderShippedEvent)
    delivered = _by_order(quiet_events, OrderDeliveredEvent)
    assert len(delivered) > 50
    for order_id, event in delivered.items():
        shipment = shipped[order_id]
        assert event.customer_id == shipment.customer_id
        assert timedelta(hours=3) - MS <= event.occurred_at - shipment.occurred_at
        assert event.occurred_at - shipment.occurred_at <= timedelta(hours=36) + MS
        assert (event.payload.carrier, event.payload.tracking_number) == (
            shipment.payload.carrier,
            shipment.payload.tracking_number,
        )


def test_a_cancelled_order_is_never_shipped_and_is_refunded_its_total(
    quiet_events: list[CrmEvent],
) -> None:
    placed = _by_order(quiet_events, OrderPlacedEvent)
    shipped = _by_order(quiet_events, OrderShippedEvent)
    cancelled = _by_order(quiet_events, OrderCancelledEvent)
    refunds = _by_order(quiet_events, RefundIssuedEvent)
    assert cancelled
    for order_id, event in cancelled.items():
        order = placed[order_id]
        assert event.customer_id == order.customer_id
        assert event.payload.reason
        gap = event.occurred_at - order.occurred_at
        assert timedelta(minutes=5) - MS <= gap <= timedelta(minutes=120) + MS
        assert order_id not in shipped
        refund = refunds[order_id]
        assert refund.customer_id == order.customer_id
        assert refund.payload.amount_krw == order.payload.total_krw
        gap = refund.occurred_at - event.occurred_at
        assert timedelta(minutes=10) - MS <= gap <= timedelta(minutes=180) + MS


def test_some_delivered_orders_come_back_and_are_refunded_days_later(
    quiet_events: list[CrmEvent],
) -> None:
    placed = _by_order(quiet_events, OrderPlacedEvent)
    delivered = _by_order(quiet_events, OrderDeliveredEvent)
    cancelled = _by_order(quiet_events, OrderCancelledEvent)
    refunds = _by_order(quiet_events, RefundIssuedEvent)
    returns = {o: r for o, r in refunds.items() if o not in cancelled}
    assert returns
    assert len(returns) < 0.15 * len(delivered)
    for order_id, refund in returns.items():
        gap = refund.occurred_at - delivered[order_id].occurred_at
        assert timedelta(days=3) - MS <= gap <= timedelta(days=8) + MS
        assert refund.payload.amount_krw == placed[order_id].payload.total_krw


def test_profiles_have_realistic_tiers(stream: SampleStream) -> None:
    tiers = Counter(p.tier for p in stream.profiles)
    assert tiers[Tier.BASIC] > tiers[Tier.SILVER] > tiers[Tier.GOLD] >= tiers[Tier.VIP] >= 1


def test_profiles_have_mixed_consents(stream: SampleStream) -> None:
    def advertising(p: CustomerProfile) -> set[Channel]:
        return {c for c in Channel if p.consents.for_channel(c).advertising}

    kinds = [advertising(p) for p in stream.profiles]
    assert set() in kinds, "some customers consent to nothing"
    assert {Channel.EMAIL} in kinds, "some to e-mail only"
    assert any(p.consents.sms.night_time or p.consents.push.night_time for p in stream.profiles), (
        "some SMS/push customers also consent at night"
    )
    assert any(
        advertising(p) and not any(p.consents.for_channel(c).night_time for c in Channel)
        for p in stream.profiles
    ), "and some consent by day only"
    for p in stream.profiles:
        for channel in Channel:
            consent = p.consents.for_channel(channel)
            assert not consent.night_time or consent.advertising


def test_profiles_look_korean_and_some_are_inactive(stream: SampleStream) -> None:
    start = SampleConfig().start
    emails = [p.email for p in stream.profiles]
    assert len(set(emails)) == len(emails)
    for p in stream.profiles:
        assert p.name is not None
        assert 2 <= len(p.name) <= 4
        assert all("가" <= ch <= "힣" for ch in p.name)
        assert p.email is not None
        assert p.email.split("@")[1].endswith(
            ("example.co.kr", "example.com", "example.net", "example.kr")
        )
        assert p.phone is None or p.phone.startswith("010-")
    inactive = [
        p
        for p in stream.profiles
        if p.last_active_at and start - p.last_active_at > timedelta(days=INACTIVE_DAYS)
    ]
    assert 0 < len(inactive) < len(stream.profiles) / 2
    assert Counter(p.preferred_channel for p in stream.profiles).most_common(1)[0][1] < len(
        stream.profiles
    )


# --- shop questions and their labels -----------------------------------------------------


def _order_states(
    pairs: list[tuple[CrmEvent, QuestionLabel | None]],
) -> list[tuple[CrmEvent, QuestionLabel | None, str | None, str | None]]:
    """Each event with its label, and the customer's latest order and its state just then,
    as the stream so far tells them."""
    after = {
        "order.placed": "placed",
        "order.shipped": "shipped",
        "order.delivered": "delivered",
        "order.cancelled": "cancelled",
        "refund.issued": "refunded",
    }
    latest: dict[str, str] = {}
    states: dict[str, str] = {}
    walked: list[tuple[CrmEvent, QuestionLabel | None, str | None, str | None]] = []
    for event, label in pairs:
        if isinstance(event, OrderEvent):
            states[event.payload.order_id] = after[event.event_type]
            if isinstance(event, OrderPlacedEvent):
                latest[event.customer_id] = event.payload.order_id
        order_id = latest.get(event.customer_id)
        walked.append((event, label, order_id, states.get(order_id) if order_id else None))
    return walked


@needs_shop_files
def test_questions_fit_the_customers_order_when_they_are_asked(
    quiet: list[tuple[CrmEvent, QuestionLabel | None]], bank: dict[str, dict[str, Any]]
) -> None:
    asked: Counter[str | None] = Counter()
    for _, label, order_id, state in _order_states(quiet):
        if label is None:
            continue
        answer = label.get("answer_id")
        need = bank[answer].get("order") if answer else None
        asked[need] += 1
        if need == "shipped":
            assert state == "shipped", "asked while the order is on its way, not yet delivered"
        elif need == "any":
            assert order_id is not None
        elif need is not None:
            assert state == need, (label, state)
        if order_id is None:
            assert need is None, "without an order, only general questions"
    assert {"placed", "shipped", "delivered", None} <= set(asked)
    assert asked["delivered"] + asked["shipped"] + asked["placed"] > 0.1 * sum(asked.values())


@needs_shop_files
def test_a_customer_naming_an_order_names_their_latest_one(
    quiet: list[tuple[CrmEvent, QuestionLabel | None]],
) -> None:
    named = 0
    for event, _, order_id, _ in _order_states(quiet):
        if isinstance(event, ChatMessageEvent) and event.payload.sender == Sender.CUSTOMER:
            text = event.payload.text
        elif isinstance(event, EmailInboundEvent):
            text = f"{event.payload.subject}\n{event.payload.body}"
        else:
            continue
        for mentioned in OUR_ORDER_ID.findall(text):
            assert mentioned == order_id
            named += 1
    assert named > 20


@needs_shop_files
def test_labels_point_at_customer_questions_from_the_check_files(
    labelled: list[tuple[CrmEvent, QuestionLabel | None]], bank: dict[str, dict[str, Any]]
) -> None:
    taxonomy = {answer["topic"] for answer in bank.values()}
    bank_lines, topic_lines = _check_lines("bank-check.jsonl"), _check_lines("topic-check.jsonl")
    labels = [(event, label) for event, label in labelled if label is not None]
    assert len(labels) > 100
    assert any("answer_id" in label and label["answer_id"] is None for _, label in labels)
    assert any("answer_id" not in label for _, label in labels), "topic-check: not judged"
    for event, label in labels:
        assert label["event_id"] == event.event_id
        assert label["topic"] in taxonomy
        answer = label.get("answer_id")
        if answer is not None:
            assert bank[answer]["topic"] == label["topic"]
        channel = "chat" if isinstance(event, ChatMessageEvent) else "email"
        lines = topic_lines[channel] if "answer_id" not in label else bank_lines[channel]
        if isinstance(event, ChatMessageEvent):
            assert event.payload.sender == Sender.CUSTOMER
            assert _blank_order_ids(event.payload.text) in lines
        else:
            assert isinstance(event, EmailInboundEvent)
            subject = event.payload.subject.removeprefix("RE: ")
            assert any(
                _blank_order_ids(f"{subject}\n{part}") in lines
                for part in event.payload.body.split("\n\n")
            ), event.payload


def test_labels_are_deterministic_and_leave_the_events_as_they_are() -> None:
    def run(count: int) -> list[tuple[str, QuestionLabel | None]]:
        stream = SampleStream(SampleConfig(seed=3))
        return [(event.model_dump_json(), label) for event, label in stream.labelled(count)]

    first = run(1_500)
    assert first == run(1_500)
    assert run(150) == first[:150]
    events = [e.model_dump_json() for e in SampleStream(SampleConfig(seed=3)).events(1_500)]
    assert [event for event, _ in first] == events
    assert any(label for _, label in first)


def _bot_failure_patterns() -> list[re.Pattern[str]]:
    policy = yaml.safe_load((PROJECT_ROOT / "infra" / "policies.yaml").read_text("utf-8"))
    return [re.compile(p) for p in policy["handoff"]["bot_failure_patterns"]]


@needs_shop_files
def test_a_shop_question_stumps_the_bot_and_most_customers_then_ask_for_a_person(
    labelled: list[tuple[CrmEvent, QuestionLabel | None]],
) -> None:
    questions = {label["event_id"] for _, label in labelled if label is not None}
    conversations = _chats([event for event, _ in labelled])
    shop = {
        cid: turns
        for cid, turns in conversations.items()
        if {t.event_id for t in turns} & questions
    }
    assert 0.2 < len(shop) / len(conversations) < 0.4, "roughly 30 % of chats"
    failures = _bot_failure_patterns()
    assert all(any(p.search(line) for p in failures) for line in BOT_FALLBACK[:2])
    assert not any(p.search(line) for p in failures for line in BOT_HELPFUL)
    stumped = helped = 0
    for turns in shop.values():
        asked = next(i for i, t in enumerate(turns) if t.event_id in questions)
        after = [(t.payload.sender, t.payload.text) for t in turns[asked + 1 :]]
        if not after:
            continue  # the stream ended mid-conversation
        sender, reply = after[0]
        assert sender == Sender.BOT
        if any(p.search(reply) for p in failures):
            assert reply in BOT_FALLBACK
            if len(after) > 1:
                assert after[1] == (Sender.CUSTOMER, after[1][1])
                assert after[1][1] in HUMAN_REQUESTS
            stumped += 1
        else:
            assert reply in BOT_HELPFUL
            if len(after) > 1:
                assert after[1][1] in THANKS
            helped += 1
    assert 0.55 < stumped / (stumped + helped) < 0.85, "about 70 % want a person"


@needs_shop_files
def test_most_e_mails_are_shop_questions_from_the_check_files(
    labelled: list[tuple[CrmEvent, QuestionLabel | None]],
) -> None:
    emails = [(e, label) for e, label in labelled if isinstance(e, EmailInboundEvent)]
    share = sum(label is not None for _, label in emails) / len(emails)
    assert 0.45 < share < 0.75, "about 60 %"
    for event, label in emails:
        if label is not None:
            assert event.payload.body.startswith("안녕")


# --- corpora --------------------------------------------------------------------------------


def test_without_corpora_the_built_in_lines_are_used(tmp_path: Path) -> None:
    none = SampleStream(SampleConfig(seed=4, data_dir=None, shop_dir=None))
    missing = SampleStream(
        SampleConfig(seed=4, data_dir=tmp_path / "nowhere", shop_dir=tmp_path / "nowhere")
    )
    pairs = list(none.labelled(1_000))
    events = [event for event, _ in pairs]
    assert [e.model_dump_json() for e in missing.events(1_000)] == [
        e.model_dump_json() for e in events
    ]
    built_in = set(CUSTOMER_LINES + GREETINGS + HUMAN_REQUESTS_IMPATIENT)
    assert set(_customer_texts(events)) <= built_in
    assert not any(label for _, label in pairs), "without the shop's files, nothing to label"


@needs_shop_files
def test_customer_lines_are_built_in_or_from_the_check_files_or_name_the_order() -> None:
    stream = SampleStream(SampleConfig(seed=11, customers=60, data_dir=None))
    built_in = set(CUSTOMER_LINES + GREETINGS + HUMAN_REQUESTS_IMPATIENT)
    files = _check_lines("bank-check.jsonl")["chat"] | _check_lines("topic-check.jsonl")["chat"]
    for event, label in stream.labelled(3_000):
        if not isinstance(event, ChatMessageEvent) or event.payload.sender != Sender.CUSTOMER:
            continue
        text = event.payload.text
        if label is not None:
            assert _blank_order_ids(text) in files
        else:
            assert text in built_in or "주문" in text, text


def test_with_the_shared_corpora_some_customer_lines_come_from_them(corpora: Path) -> None:
    corpus = load_corpus_lines(corpora)
    assert corpus.out_of_scope
    assert corpus.small_talk
    events = list(SampleStream(SampleConfig(seed=4, data_dir=corpora)).events(3_000))
    from_corpora = set(_customer_texts(events)) - set(CUSTOMER_LINES + GREETINGS)
    assert from_corpora & (set(corpus.out_of_scope) | {q for q, _ in corpus.small_talk})


def test_bad_configurations_are_refused() -> None:
    with pytest.raises(ValueError, match="customers"):
        SampleConfig(customers=0)
    with pytest.raises(ValueError, match="mean_gap_s"):
        SampleConfig(mean_gap_s=0)


def test_the_generator_needs_none_of_the_training_extra() -> None:
    code = (
        "import sys, engage_stream.samples.generator, engage_stream.cli.produce; "
        "print(sorted({'torch', 'transformers', 'sklearn', 'optimum'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
