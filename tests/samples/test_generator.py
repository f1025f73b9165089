"""The sample stream: deterministic, valid against the contracts, and realistic enough to
exercise handoffs, consent rules, the night-time rule and delivery follow-ups."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest

from engage_stream.samples.generator import (
    ABUSIVE,
    BOT_LINES,
    COMPLAINTS,
    CUSTOMER_LINES,
    GREETINGS,
    HUMAN_REQUESTS,
    HUMAN_REQUESTS_IMPATIENT,
    INACTIVE_DAYS,
    SHARED_DATA_DIR,
    SampleConfig,
    SampleStream,
    is_night_kst,
    load_corpus_lines,
)
from engage_stream.schemas.common import Channel
from engage_stream.schemas.customers import CustomerProfile, Tier
from engage_stream.schemas.events import (
    ChatMessageEvent,
    CrmEvent,
    OrderDeliveredEvent,
    OrderPlacedEvent,
    Sender,
)
from engage_stream.schemas.validation import parse_event

EVENTS = 5_000


@pytest.fixture(scope="module")
def stream() -> SampleStream:
    return SampleStream(SampleConfig(seed=11, customers=60))


@pytest.fixture(scope="module")
def events(stream: SampleStream) -> list[CrmEvent]:
    return list(stream.events(EVENTS))


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


def test_every_event_type_appears(events: list[CrmEvent]) -> None:
    by_type = Counter(e.event_type for e in events)
    assert set(by_type) == {
        "chat.message",
        "email.inbound",
        "cart.abandoned",
        "order.placed",
        "order.delivered",
        "page.view",
        "ticket.created",
    }
    assert by_type["chat.message"] > by_type["order.placed"] > 0


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


def test_a_delivery_follows_its_order_for_the_same_customer(events: list[CrmEvent]) -> None:
    placed = {e.payload.order_id: e for e in events if isinstance(e, OrderPlacedEvent)}
    delivered = [e for e in events if isinstance(e, OrderDeliveredEvent)]
    assert delivered
    for event in delivered:
        order = placed[event.payload.order_id]
        assert order.customer_id == event.customer_id
        assert order.occurred_at < event.occurred_at


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


# --- corpora --------------------------------------------------------------------------------


def test_without_corpora_the_built_in_lines_are_used(tmp_path: Path) -> None:
    none = SampleStream(SampleConfig(seed=4, data_dir=None))
    missing = SampleStream(SampleConfig(seed=4, data_dir=tmp_path / "nowhere"))
    events = list(none.events(1_000))
    assert [e.model_dump_json() for e in missing.events(1_000)] == [
        e.model_dump_json() for e in events
    ]
    built_in = set(CUSTOMER_LINES + GREETINGS + HUMAN_REQUESTS_IMPATIENT)
    assert set(_customer_texts(events)) <= built_in


@pytest.mark.skipif(
    not (SHARED_DATA_DIR / "3i4k" / "train.tsv").is_file(), reason="../shared/data not present"
)
def test_with_the_shared_corpora_some_customer_lines_come_from_them() -> None:
    corpus = load_corpus_lines(SHARED_DATA_DIR)
    assert corpus.out_of_scope
    assert corpus.small_talk
    events = list(SampleStream(SampleConfig(seed=4, data_dir=SHARED_DATA_DIR)).events(3_000))
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
