"""Live and replay are one step: the same records give the same bytes in both shells.

The live worker's own stage bodies (`WorkerApp.score_batch`, `decide`, `route`, `profile`,
with its table store over plain dicts instead of Faust tables) and the replay's own loop
(`ReplayRunner._process`) get the same records and the same clock; every output of each
role must be identical, byte for byte, including the dead letters of a record that does
not decode, an event the models cannot score and a rule that raises.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from engage_stream.config.settings import load_settings
from engage_stream.core.processor import EngagementCore
from engage_stream.drafting.draft import Draft, Question
from engage_stream.drafting.drafter import Drafter
from engage_stream.inference.scoring import BatchTiming, Scorer
from engage_stream.kafka.topics import TopicRole, load_topics
from engage_stream.observability.metrics import PipelineMetrics
from engage_stream.policy.experiments import Experiments
from engage_stream.policy.policy_file import Policy, load_policy
from engage_stream.replay.ranges import OffsetRange
from engage_stream.replay.runner import ReplayPlan, ReplayRunner
from engage_stream.samples.generator import SampleConfig, SampleStream
from engage_stream.schemas.events import (
    CartAbandonedEvent,
    ChatMessageEvent,
    CrmEvent,
    OrderPlacedEvent,
    Sender,
)
from engage_stream.schemas.scores import Scores
from engage_stream.serving.models import load_models
from engage_stream.step.outputs import Output
from engage_stream.worker.runtime import Runtime
from engage_stream.worker.tables import TableStore

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
BOOM = "[[scorer-breaks-on-this]]"
RULE_BREAKS = "[[drafter-breaks-on-this]]"
BATCH = 32


class BreakingScorer:
    """The real scorer, except that a batch holding `BOOM` fails as a broken model would."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer

    def score(self, events: Sequence[CrmEvent]) -> tuple[list[Scores | None], BatchTiming]:
        if any(BOOM in json.dumps(e.model_dump(mode="json"), ensure_ascii=False) for e in events):
            raise RuntimeError("onnxruntime: CUDA out of memory")
        return self.scorer.score(events)


class BreakingDrafter:
    """The real drafter, except that a question holding `RULE_BREAKS` raises."""

    def __init__(self, drafter: Drafter) -> None:
        self.drafter = drafter

    def draft(self, question: Question | None, **options: Any) -> Draft:
        if question is not None and RULE_BREAKS in question.text:
            raise ValueError("bank answer a-17 has no text")
        return self.drafter.draft(question, **options)


def _experiments(policy: Policy) -> Experiments:
    """The shipped example experiments, enabled (a fifth of the customers in the global
    control), so that both shells are held to the same arms and holdouts too."""
    shipped = policy.experiments
    assert shipped.global_control is not None
    held = shipped.global_control.model_copy(update={"enabled": True, "share": 20.0})
    rules = {name: e.model_copy(update={"enabled": True}) for name, e in shipped.rules.items()}
    return Experiments(global_control=held, rules=rules)


@pytest.fixture(scope="module")
def shells() -> tuple[Runtime, EngagementCore, BreakingScorer]:
    settings = load_settings(device="cpu")
    policy = load_policy(settings.policy_file)
    # A draft that runs out of its time budget on a busy machine would differ by chance.
    drafting = policy.handoff.drafting.model_copy(update={"budget_ms": 60_000.0})
    handoff = policy.handoff.model_copy(update={"drafting": drafting})
    policy = policy.model_copy(update={"handoff": handoff, "experiments": _experiments(policy)})
    scorer, drafter = load_models(settings, policy, "fp32")
    breaking = BreakingScorer(scorer)
    core = EngagementCore(policy, BreakingDrafter(drafter))
    topics = load_topics(settings.topics_file)
    runtime = Runtime(
        settings,
        topics,
        policy,
        breaking,  # type: ignore[arg-type]
        drafter,
        core,
        PipelineMetrics(),
    )
    return runtime, core, breaking


def _records(topics: Any) -> tuple[list[SimpleNamespace], list[SimpleNamespace]]:
    """Profiles, then events with bad ones among them, as Kafka records (ms timestamps)."""
    stream = SampleStream(SampleConfig(customers=40, seed=5))
    events = list(stream.events(260))
    values: list[tuple[bytes | None, bytes | None]] = [
        (e.customer_id.encode(), e.model_dump_json().encode()) for e in events
    ]
    chat = next(
        e for e in events if isinstance(e, ChatMessageEvent) and e.payload.sender is Sender.CUSTOMER
    )
    broken_rule = chat.model_copy(
        update={
            "event_id": "evt-rule-breaks",
            "conversation_id": "conv-rule-breaks",
            "payload": chat.payload.model_copy(
                update={"text": f"주문한 가습기 언제 오나요? 상담원 연결해 주세요 {RULE_BREAKS}"}
            ),
        }
    )
    broken_batch = chat.model_copy(
        update={
            "event_id": "evt-scorer-breaks",
            "payload": chat.payload.model_copy(update={"text": f"배송 언제 와요 {BOOM}"}),
        }
    )
    values[40:40] = [(b"C-bad", b"{not json"), (b"C-bad", b'{"event_type": "chat_message"}')]
    values[100:100] = [(None, None)]
    values[150:150] = [(broken_rule.customer_id.encode(), broken_rule.model_dump_json().encode())]
    values[200:200] = [(broken_batch.customer_id.encode(), broken_batch.model_dump_json().encode())]
    values += [(e.customer_id.encode(), e.model_dump_json().encode()) for e in _journeys(stream)]
    start_ms = 1_764_151_200_123
    event_records = [
        SimpleNamespace(
            topic=topics.name(TopicRole.EVENTS),
            partition=0,
            offset=i,
            timestamp=start_ms + 997 * i,
            key=key,
            value=value,
        )
        for i, (key, value) in enumerate(values)
    ]
    profile_records = [
        SimpleNamespace(
            topic=topics.name(TopicRole.CUSTOMERS),
            partition=0,
            offset=i,
            timestamp=start_ms - 1000 + i,
            key=p.customer_id.encode(),
            value=p.model_dump_json().encode(),
        )
        for i, p in enumerate(stream.profiles)
    ]
    return profile_records, event_records


CARTS = ("evt-cart-1", "evt-cart-2", "evt-cart-3")
TICKED_AT = datetime(2026, 11, 26, 11, 30, tzinfo=UTC)
"""When the idle partitions are ticked (20:30 KST), after the carts' reminders are due."""


def _journeys(stream: SampleStream) -> list[CrmEvent]:
    """Three carts after the sample's chats; the first customer orders from the cart
    before the reminder is due (an exit), the others do not (released by the tick)."""
    customers = [p.customer_id for p in stream.profiles[:3]]
    at = datetime(2026, 11, 26, 10, 25, tzinfo=UTC)
    carts = [
        CartAbandonedEvent.model_validate(
            {
                "event_id": event_id,
                "event_type": "cart.abandoned",
                "occurred_at": at.isoformat(),
                "customer_id": customer,
                "source": "web",
                "payload": {
                    "cart_id": f"cart-{event_id}",
                    "items": [
                        {
                            "sku": "SKU-KNIT",
                            "name": "니트 가디건",
                            "quantity": 1,
                            "unit_price_krw": 39_000,
                        }
                    ],
                    "value_krw": 39_000,
                },
            }
        )
        for event_id, customer in zip(CARTS, customers, strict=True)
    ]
    order = OrderPlacedEvent.model_validate(
        {
            "event_id": "evt-order-from-cart",
            "event_type": "order.placed",
            "occurred_at": (at + timedelta(minutes=20)).isoformat(),
            "customer_id": customers[0],
            "source": "web",
            "payload": {
                "order_id": "ORD-CART-1",
                "items": [
                    {
                        "sku": "SKU-KNIT",
                        "name": "니트 가디건",
                        "quantity": 1,
                        "unit_price_krw": 39_000,
                    }
                ],
                "total_krw": 39_000,
            },
        }
    )
    return [*carts, order]


def _faust_event(record: SimpleNamespace) -> SimpleNamespace:
    """What Faust hands an agent: the record's coordinates, its timestamp in seconds."""
    return SimpleNamespace(
        message=SimpleNamespace(**{**vars(record), "timestamp": record.timestamp / 1000})
    )


def _live(runtime: Runtime, profiles: list[Any], events: list[Any]) -> list[Output]:
    from engage_stream.worker.app import WorkerApp

    worker = WorkerApp(runtime)
    worker.step.clock = lambda: NOW
    partitions = runtime.topics.topics[TopicRole.SCORED].partitions
    worker.store = TableStore({}, {}, {}, partitions=partitions)
    sent: list[Output] = []
    worker._send = sent.append  # type: ignore[method-assign,assignment]

    def handed_over(start: int, role: TopicRole, timestamp_s: float) -> list[SimpleNamespace]:
        """The hand-over records sent since `start`, as the next stage reads them."""
        return [
            SimpleNamespace(
                message=SimpleNamespace(
                    topic=runtime.topics.name(role),
                    partition=output.partition,
                    offset=offset,
                    timestamp=timestamp_s,
                    key=output.key,
                    value=output.value,
                )
            )
            for offset, output in enumerate(o for o in sent[start:] if o.role is role)
        ]

    async def run() -> None:
        for record in profiles:
            start = len(sent)
            await worker.route(_faust_event(record))
            for keyed in handed_over(start, TopicRole.PROFILES, record.timestamp / 1000):
                await worker.profile(keyed)
        for i in range(0, len(events), BATCH):
            start = len(sent)
            await worker.score_batch([_faust_event(r) for r in events[i : i + BATCH]])
            for scored in handed_over(start, TopicRole.SCORED, events[i].timestamp / 1000):
                await worker.decide(scored)
        start = len(sent)
        for partition in range(partitions):
            sent.append(worker.step.ticked(partition, TICKED_AT))
        for tick in handed_over(start, TopicRole.SCORED, TICKED_AT.timestamp()):
            await worker.decide(tick)

    asyncio.run(run())
    return [o for o in sent if o.role not in (TopicRole.SCORED, TopicRole.PROFILES)]


class ListSink:
    def __init__(self) -> None:
        self.outputs: list[Output] = []

    def write(self, output: Output) -> None:
        self.outputs.append(output)

    def checkpoint(self) -> dict[str, int]:
        return {}

    def restore(self, marks: dict[str, int]) -> None:
        pass

    def close(self) -> None:
        pass


def _replay(
    runtime: Runtime,
    core: EngagementCore,
    scorer: BreakingScorer,
    profiles: list[Any],
    events: list[Any],
    tmp: Path,
) -> list[Output]:
    topics = runtime.topics
    plan = ReplayPlan(
        events_topic=topics.name(TopicRole.EVENTS),
        customers_topic=topics.name(TopicRole.CUSTOMERS),
        ranges={0: OffsetRange(0, len(events))},
        warm_up_from={0: 0},
        customers_ends={0: len(profiles)},
    )
    sink = ListSink()
    runner = ReplayRunner(
        {},
        plan,
        scorer,
        core,
        sink,
        tmp,
        run_id="live",
        clock=lambda: NOW,
        partitions=topics.topics[TopicRole.SCORED].partitions,
    )
    runner._live[0] = True  # profiles before the first event are part of the range here
    runner._process(profiles)
    for i in range(0, len(events), BATCH):
        runner._process(events[i : i + BATCH])
    runner.advance_to = TICKED_AT  # the range read: as the idle live partitions were ticked
    runner._advance()
    return sink.outputs


def _by_role(outputs: list[Output]) -> dict[TopicRole, list[tuple[bytes | None, bytes]]]:
    roles: dict[TopicRole, list[tuple[bytes | None, bytes]]] = {}
    for output in outputs:
        roles.setdefault(output.role, []).append((output.key, output.value))
    return {role: sorted(records, key=repr) for role, records in roles.items()}


def test_live_and_replay_give_the_same_bytes_for_the_same_records(
    shells: tuple[Runtime, EngagementCore, BreakingScorer], tmp_path: Path
) -> None:
    runtime, core, scorer = shells
    profiles, events = _records(runtime.topics)
    live = _by_role(_live(runtime, profiles, events))
    replayed = _by_role(_replay(runtime, core, scorer, profiles, events, tmp_path))

    assert set(live) == set(replayed)
    for role in live:
        assert live[role] == replayed[role], role
    # The comparison covers the decisions and every failure, not an empty stream.
    assert len(live[TopicRole.ENRICHED]) > 150
    assert live.get(TopicRole.ACTIONS_HANDOFF)
    assert live.get(TopicRole.ACTIONS_EMAIL)
    journeys = {
        (document["source_event_id"], document.get("reason", "sent"))
        for role in (TopicRole.ACTIONS_EMAIL, TopicRole.SUPPRESSIONS)
        for _, value in live.get(role, [])
        if (document := json.loads(value))["source_event_id"] in CARTS
    }
    assert ("evt-cart-1", "exited") in journeys
    assert {cart for cart, _ in journeys} == set(CARTS), "the other two released by the tick"
    arms = [
        (arm["experiment"], arm["arm"])
        for role in (TopicRole.ACTIONS_EMAIL, TopicRole.SUPPRESSIONS)
        for _, value in live.get(role, [])
        for arm in json.loads(value).get("arms", [])
    ]
    assert ("global-control-2026", "control") in arms
    assert ("global-control-2026", "treatment") in arms
    reasons = [json.loads(value)["reason"] for _, value in live[TopicRole.DLQ]]

    assert any("decision failed: bank answer a-17 has no text" in r for r in reasons)
    scoring = [r for r in reasons if r.startswith("scoring failed: onnxruntime")]
    assert len(scoring) == 1  # the event the models fail on, not its batch
    assert sum("JSON" in r or "json" in r for r in reasons) >= 1
    assert len(reasons) == len(scoring) + 4  # + bad JSON, schema, null value, the rule


def test_a_rule_that_raises_is_a_dead_letter_with_the_event_not_a_stopped_replay(
    shells: tuple[Runtime, EngagementCore, BreakingScorer], tmp_path: Path
) -> None:
    runtime, core, scorer = shells
    profiles, events = _records(runtime.topics)
    outputs = _replay(runtime, core, scorer, profiles, events, tmp_path)
    dead = [json.loads(o.value) for o in outputs if o.role is TopicRole.DLQ]
    rule = next(d for d in dead if d["reason"].startswith("decision failed"))
    assert rule["source_offset"] == 150
    assert rule["error_class"] == "processing_error"
    enriched_after = [
        json.loads(o.value)["source"]["offset"] for o in outputs if o.role is TopicRole.ENRICHED
    ]
    assert max(enriched_after) == len(events) - 1  # the replay went on to the end
