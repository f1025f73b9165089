"""Hand-built run records for the evaluation tests: enriched events, actions, run folders.

Everything goes through the pydantic contracts, so a test's run is one the pipeline could
have written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from engage_stream.evaluation.runs import Run
from engage_stream.schemas.actions import (
    ArmStamp,
    ConsentBasis,
    DraftSource,
    HandoffAction,
    HandoffReason,
    ModelStamp,
    NextBestAction,
    Priority,
    Suppression,
    SuppressionReason,
    action_id_for,
)
from engage_stream.schemas.common import Channel
from engage_stream.schemas.customers import Consents, Tier
from engage_stream.schemas.dlq import DlqErrorClass, DlqRecord
from engage_stream.schemas.enriched import (
    Decision,
    DecisionKind,
    EnrichedEvent,
    Predictions,
    PredictionView,
    ProfileSnapshot,
    SourcePosition,
)
from engage_stream.schemas.events import (
    CartAbandoned,
    CartAbandonedEvent,
    ChatMessage,
    ChatMessageEvent,
    CrmEvent,
    EventSource,
    LineItem,
    OrderPlaced,
    OrderPlacedEvent,
    Sender,
)

T0 = datetime(2026, 3, 10, 5, 0, tzinfo=UTC)
INTENT_V1 = ModelStamp(name="intent-ko", version="v1", sha256="1" * 64)
TOXICITY_V1 = ModelStamp(name="toxicity-ko", version="v1", sha256="2" * 64)
POLICY = "test-policy-1"

SNAPSHOT = ProfileSnapshot(
    found=True,
    tier=Tier.BASIC,
    preferred_channel=Channel.EMAIL,
    consents=Consents(),
    has_email=True,
    has_phone=True,
)


def handoff_decision(
    event_id: str,
    reasons: Sequence[str] = ("customer_requested_human",),
    priority: str = "normal",
    queue: str = "general",
) -> Decision:
    return Decision(
        kind=DecisionKind.HANDOFF,
        rule="handoff",
        action_id=action_id_for(event_id, "handoff"),
        reasons=list(reasons),
        detail=f"priority {priority}, queue {queue}",
    )


def message_decision(
    event_id: str, rule: str = "abandoned_cart", channel: str = "email"
) -> Decision:
    return Decision(
        kind=DecisionKind.NEXT_BEST_ACTION,
        rule=rule,
        action_id=action_id_for(event_id, rule),
        detail=f"{channel}, advertising_opt_in, not before 2026-03-10T15:00:00+09:00",
    )


def suppressed_decision(
    event_id: str, rule: str = "abandoned_cart", reason: str = "no_advertising_consent"
) -> Decision:
    return Decision(
        kind=DecisionKind.SUPPRESSED,
        rule=rule,
        action_id=action_id_for(event_id, f"suppressed:{rule}"),
        reasons=[reason],
        detail="no advertising consent on any channel",
    )


def enriched(
    event_id: str,
    text: str | None = "안녕하세요",
    *,
    intent: str | None = "statement",
    toxicity: str | None = "none",
    decisions: Sequence[Decision] = (),
    offset: int = 0,
    latency_ms: float = 50.0,
    timestamp_ms: int | None = None,
    run_id: str = "live",
    duplicate_of: int | None = None,
    minute: int = 0,
    intent_score: float = 0.9,
) -> EnrichedEvent:
    """A customer chat turn (or, with `text=None`, an abandoned cart) and what was decided.

    `processed_at` is `latency_ms` after the record timestamp (`timestamp_ms`, by default
    the event time)."""
    occurred = T0 + timedelta(minutes=minute)
    if text is None:
        event: Any = CartAbandonedEvent(
            event_id=event_id,
            occurred_at=occurred,
            customer_id="cust-1",
            source=EventSource.WEB,
            event_type="cart.abandoned",
            payload=CartAbandoned(
                cart_id=f"cart-{event_id}",
                items=[
                    LineItem(sku="SKU-1", name="무선 이어폰", quantity=1, unit_price_krw=30_000)
                ],
                value_krw=30_000,
            ),
        )
    else:
        event = ChatMessageEvent(
            event_id=event_id,
            occurred_at=occurred,
            customer_id="cust-1",
            source=EventSource.KAKAO,
            conversation_id="conv-1",
            event_type="chat.message",
            payload=ChatMessage(text=text, sender=Sender.CUSTOMER),
        )
    stamp_ms = int(occurred.timestamp() * 1000) if timestamp_ms is None else timestamp_ms
    predictions = Predictions(
        intent=(
            PredictionView(label=intent, score=intent_score, model=INTENT_V1) if intent else None
        ),
        toxicity=(
            PredictionView(label=toxicity, score=0.95, model=TOXICITY_V1) if toxicity else None
        ),
    )
    return EnrichedEvent(
        event=event,
        source=SourcePosition(
            topic="crm.events", partition=0, offset=offset, timestamp_ms=stamp_ms
        ),
        profile=SNAPSHOT,
        predictions=predictions if text is not None else None,
        decisions=list(decisions),
        duplicate_of=(
            SourcePosition(topic="crm.events", partition=0, offset=duplicate_of)
            if duplicate_of is not None
            else None
        ),
        models=[INTENT_V1, TOXICITY_V1] if text is not None else [],
        policy_version=POLICY,
        run_id=run_id,
        processed_at=datetime.fromtimestamp((stamp_ms + latency_ms) / 1000, tz=UTC),
    )


def handoff_action(
    event_id: str,
    reasons: Sequence[HandoffReason] = (HandoffReason.CUSTOMER_REQUESTED_HUMAN,),
    priority: Priority = Priority.NORMAL,
    queue: str = "general",
    draft: DraftSource | None = None,
) -> HandoffAction:
    return HandoffAction(
        action_id=action_id_for(event_id, "handoff"),
        source_event_id=event_id,
        customer_id="cust-1",
        created_at=T0,
        policy_version=POLICY,
        conversation_id="conv-1",
        priority=priority,
        reasons=list(reasons),
        queue=queue,
        transcript=[],
        draft_reply="고객님, 상담원을 연결해 드릴게요.",
        draft=draft or DraftSource(kind="no_answer", fallback="no_question"),
    )


def message(
    event_id: str, rule: str = "abandoned_cart", channel: Channel = Channel.EMAIL
) -> NextBestAction:
    return NextBestAction(
        action_id=action_id_for(event_id, rule),
        source_event_id=event_id,
        customer_id="cust-1",
        created_at=T0,
        policy_version=POLICY,
        channel=channel,
        template_id=f"{rule}.v1",
        subject="(광고) 장바구니에 담긴 상품",
        body="장바구니에 담아 두신 상품이 기다리고 있어요.",
        advertising=True,
        send_not_before=T0,
        consent_basis=ConsentBasis.ADVERTISING_OPT_IN,
    )


def suppression(
    event_id: str,
    rule: str = "abandoned_cart",
    reason: SuppressionReason = SuppressionReason.NO_ADVERTISING_CONSENT,
) -> Suppression:
    return Suppression(
        suppression_id=action_id_for(event_id, f"suppressed:{rule}"),
        rule=rule,
        source_event_id=event_id,
        customer_id="cust-1",
        suppressed_kind="next_best_action",
        reason=reason,
        detail="no advertising consent on any channel",
        policy_version=POLICY,
        created_at=T0,
    )


def dead_letter(offset: int) -> DlqRecord:
    return DlqRecord(
        source_topic="crm.events",
        source_partition=0,
        source_offset=offset,
        value_b64=DlqRecord.encode(b"{not json") or "",
        error_class=DlqErrorClass.INVALID_JSON,
        reason="not JSON",
        failed_at=T0,
    )


def _jsonl(path: Path, records: Iterable[BaseModel]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(record.model_dump_json() + "\n")


def write_run(
    directory: Path,
    events: Iterable[EnrichedEvent],
    handoffs: Iterable[HandoffAction] = (),
    messages: Iterable[NextBestAction] = (),
    suppressions: Iterable[Suppression] = (),
    dlq: Iterable[DlqRecord] | None = None,
    manifest: dict[str, Any] | None = None,
) -> Path:
    """A run directory as replay writes it."""
    directory.mkdir(parents=True, exist_ok=True)
    _jsonl(directory / "enriched.jsonl", events)
    _jsonl(directory / "actions_handoff.jsonl", handoffs)
    _jsonl(directory / "actions_email.jsonl", messages)
    _jsonl(directory / "suppressions.jsonl", suppressions)
    if dlq is not None:
        _jsonl(directory / "dlq.jsonl", dlq)
    if manifest is not None:
        (directory / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    return directory


def write_labels(path: Path, labels: Iterable[dict[str, Any]]) -> Path:
    path.write_text(
        "".join(json.dumps(label, ensure_ascii=False) + "\n" for label in labels), encoding="utf-8"
    )
    return path


PHONE_TEXT = "상담원 연결해 주세요 제 번호는 010-1234-5678 이에요"


def two_runs() -> tuple[Run, Run]:
    """E1..E6 shared, E7 only in the run, E8 only in the baseline.

    E1 handoff removed (and intent differs), E2 handoff added (and intent differs),
    E3 reasons and priority changed, E4 e-mail -> suppression, E5 e-mail -> SMS,
    E6 the same."""
    baseline = Run(run_id="live", source="test")
    run = Run(run_id="r1", source="test")
    high = ["customer_requested_human", "abusive_language"]
    rows = [
        # event id, text, (baseline intent, decisions), (run intent, decisions)
        ("E1", PHONE_TEXT, ("command", [handoff_decision("E1")]), ("statement", [])),
        ("E2", "<b>빨리</b> 답 좀", ("statement", []), ("command", [handoff_decision("E2")])),
        (
            "E3",
            "사람이랑 얘기하고 싶어요",
            ("command", [handoff_decision("E3")]),
            ("command", [handoff_decision("E3", high, "high", "escalations")]),
        ),
        (
            "E4",
            None,
            (None, [message_decision("E4")]),
            (None, [suppressed_decision("E4")]),
        ),
        (
            "E5",
            None,
            (None, [message_decision("E5")]),
            (None, [message_decision("E5", channel="sms")]),
        ),
        ("E6", "감사합니다", ("statement", []), ("statement", [])),
    ]
    for i, (event_id, text, (bi, bd), (ri, rd)) in enumerate(rows):
        baseline.add_enriched(enriched(event_id, text, intent=bi, decisions=bd, minute=i))
        run.add_enriched(enriched(event_id, text, intent=ri, decisions=rd, minute=i, run_id="r1"))
    run.add_enriched(enriched("E7", minute=7, run_id="r1"))
    baseline.add_enriched(enriched("E8", minute=8))
    baseline.add_handoff(handoff_action("E1"))
    baseline.add_handoff(handoff_action("E3"))
    run.add_handoff(handoff_action("E2"))
    run.add_handoff(
        handoff_action(
            "E3",
            [HandoffReason.CUSTOMER_REQUESTED_HUMAN, HandoffReason.ABUSIVE_LANGUAGE],
            Priority.HIGH,
            "escalations",
        )
    )
    baseline.add_message(message("E4"))
    baseline.add_message(message("E5"))
    run.add_message(message("E5", channel=Channel.SMS))
    return baseline, run


# -- experiments ----------------------------------------------------------------------------

CART_TEST = "cart-test"


def stamp(arm: str, minute: int, *, experiment: str = CART_TEST, window: float = 24) -> ArmStamp:
    """The arm of an occasion at T0 + `minute`; an arm named control is the control."""
    return ArmStamp(
        experiment=experiment,
        arm=arm,
        control=arm == "control",
        assigned_at=T0 + timedelta(minutes=minute),
        conversion_window_hours=window,
    )


def record(event: CrmEvent, offset: int, decisions: Sequence[Decision] = ()) -> EnrichedEvent:
    return EnrichedEvent(
        event=event,
        source=SourcePosition(topic="crm.events", partition=0, offset=offset),
        profile=SNAPSHOT,
        decisions=list(decisions),
        policy_version=POLICY,
        processed_at=event.occurred_at,
    )


@dataclass
class ExperimentRun:
    """Carts decided in experiment arms and the orders that follow them, as records."""

    enriched: list[EnrichedEvent] = field(default_factory=list)
    messages: list[NextBestAction] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)

    def cart(self, event_id: str, customer: str, minute: int, arms: list[ArmStamp]) -> None:
        """A cart: a holdout when its last arm is a control, else a message."""
        event = cart_event(event_id, customer, T0 + timedelta(minutes=minute))
        if arms[-1].control:
            held = suppression(event_id, reason=SuppressionReason.HOLDOUT)
            held = held.model_copy(update={"customer_id": customer, "arms": arms})
            self.suppressions.append(held)
            decision = Decision(
                kind=DecisionKind.SUPPRESSED,
                rule="abandoned_cart",
                action_id=held.suppression_id,
                reasons=["holdout"],
                arms=arms,
            )
        else:
            sent = message(event_id).model_copy(update={"customer_id": customer, "arms": arms})
            self.messages.append(sent)
            decision = Decision(
                kind=DecisionKind.NEXT_BEST_ACTION,
                rule="abandoned_cart",
                action_id=sent.action_id,
                arms=arms,
            )
        self.enriched.append(record(event, len(self.enriched), [decision]))

    def win_back(self, customer: str, minute: int, arms: list[ArmStamp]) -> None:
        """A win-back message: it has no enriched record of its own."""
        sent = message(f"winback:{customer}:20260101T000000", rule="win_back")
        self.messages.append(sent.model_copy(update={"customer_id": customer, "arms": arms}))

    def order(self, event_id: str, customer: str, when: datetime) -> None:
        event = OrderPlacedEvent(
            event_id=event_id,
            occurred_at=when,
            customer_id=customer,
            source=EventSource.APP,
            event_type="order.placed",
            payload=OrderPlaced(
                order_id=f"ORD-{event_id}",
                items=[
                    LineItem(sku="SKU-1", name="무선 이어폰", quantity=1, unit_price_krw=30_000)
                ],
                total_krw=30_000,
            ),
        )
        self.enriched.append(record(event, len(self.enriched)))

    def run(self) -> Run:
        run = Run(run_id="r1", source="test")
        for enriched_event in self.enriched:
            run.add_enriched(enriched_event)
        for sent in self.messages:
            run.add_message(sent)
        for held in self.suppressions:
            run.add_suppression(held)
        return run

    def write(self, directory: Path) -> Path:
        return write_run(
            directory,
            self.enriched,
            messages=self.messages,
            suppressions=self.suppressions,
            manifest={"run_id": "r1"},
        )


def cart_event(event_id: str, customer: str, when: datetime) -> CartAbandonedEvent:
    return CartAbandonedEvent(
        event_id=event_id,
        occurred_at=when,
        customer_id=customer,
        source=EventSource.WEB,
        event_type="cart.abandoned",
        payload=CartAbandoned(
            cart_id=f"cart-{event_id}",
            items=[LineItem(sku="SKU-1", name="무선 이어폰", quantity=1, unit_price_krw=30_000)],
            value_krw=30_000,
        ),
    )


def experiment_run() -> ExperimentRun:
    """cart-test, every number by hand: control c1..c4, one of whom buys in time; half-hour
    v1..v5, three of whom do (rates 1/4 and 3/5, lift +35 points).

    c2 buys before its cart (no conversion), c3 a minute after its window closes; v1 buys
    exactly at its window's end (a conversion), v2 has two carts and one order (one
    customer, converted once); v5 has only a win-back message (no enriched record)."""
    built = ExperimentRun()
    for i, customer in enumerate(["c1", "c2", "c3", "c4"]):
        built.cart(f"E-c{i}", customer, minute=i, arms=[stamp("control", i)])
    built.order("O-c1", "c1", T0 + timedelta(hours=2))
    built.order("O-c2", "c2", T0 - timedelta(hours=1))
    built.order("O-c3", "c3", T0 + timedelta(minutes=2, hours=24, seconds=60))
    for i, customer in enumerate(["v1", "v2", "v3", "v4"]):
        built.cart(f"E-v{i}", customer, minute=10 + i, arms=[stamp("half-hour", 10 + i)])
    built.cart("E-v1b", "v2", minute=100, arms=[stamp("half-hour", 100)])
    built.order("O-v1", "v1", T0 + timedelta(minutes=10, hours=24))
    built.order("O-v2", "v2", T0 + timedelta(hours=3))
    built.win_back("v5", 500, arms=[stamp("half-hour", 500)])
    built.order("O-v5", "v5", T0 + timedelta(minutes=600))
    return built
