"""A realistic pair of runs for the report: the sample Korean CRM stream through the real
decision core, once as the live run and once as a replay with other models and policy.

The "models" are deterministic stand-ins: a few rules over the text give the truth, and
each model version gets a given share of events wrong (seeded), so the candidate is
measurably better than the baseline and the decisions that hang on the models flip.
"""

from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from engage_stream.core.processor import EngagementCore
from engage_stream.enrichment.state import CustomerState
from engage_stream.samples.generator import SampleConfig, SampleStream
from engage_stream.schemas.actions import ModelStamp
from engage_stream.schemas.customers import CustomerProfile
from engage_stream.schemas.dlq import DlqErrorClass, DlqRecord
from engage_stream.schemas.enriched import SourcePosition
from engage_stream.schemas.events import (
    ChatMessageEvent,
    CrmEvent,
    EmailInboundEvent,
    TicketCreatedEvent,
)
from engage_stream.schemas.scores import Prediction, Scores
from engage_stream.training.corpora import INTENT_LABELS, TOXICITY_LABELS
from tests.core.builders import SHIPPED_POLICY, FakeDrafter, policy_with
from tests.evaluation.builders import write_labels, write_run

_ABUSE = re.compile(r"씨발|시발|개새|꺼져|병신|미친|닥쳐|멍청")
_ANGRY = re.compile(r"짜증|최악|화나|어이없|답답|실망")
_ASKS = re.compile(r"\?|까요|나요|어요\?|인가|언제|어디|얼마|뭐|왜")
_ORDERS = re.compile(r"주세요|해줘|해 줘|하세요|바꿔|연결|취소|환불")

CANDIDATE_POLICY = policy_with(
    {
        "version": "2026.12.01-rc1",
        "outbound.frequency_caps": [
            {"window_hours": 24, "max_messages": 2},
            {"window_hours": 168, "max_messages": 4},
        ],
        "handoff.abusive.min_score": 0.6,
    },
    SHIPPED_POLICY,
)


def _text(event: CrmEvent) -> str | None:
    if isinstance(event, ChatMessageEvent):
        return event.payload.text if event.payload.sender.value == "customer" else None
    if isinstance(event, EmailInboundEvent):
        return event.payload.body
    if isinstance(event, TicketCreatedEvent):
        return event.payload.subject
    return None


def true_intent(text: str) -> str:
    if _ASKS.search(text):
        return "rhetorical_question" if _ANGRY.search(text) else "question"
    if _ORDERS.search(text):
        return "command"
    if len(text) <= 4:
        return "fragment"
    return "statement"


def true_toxicity(text: str) -> str:
    if _ABUSE.search(text):
        return "offensive"
    return "none"


@dataclass(frozen=True)
class StandIn:
    """A model version that gets `error` of the events wrong, the same ones every time."""

    version: str
    error: float

    def stamp(self, name: str) -> ModelStamp:
        digest = f"{zlib.crc32(f'{name}{self.version}'.encode()):08x}" * 8
        return ModelStamp(name=name, version=self.version, sha256=digest)

    def predict(self, name: str, truth: str, labels: tuple[str, ...], key: str) -> Prediction:
        rng = random.Random(f"{name}:{self.version}:{key}")
        label = truth
        if rng.random() < self.error:
            label = rng.choice([x for x in labels if x != truth])
        score = rng.uniform(0.45, 0.99) if label == truth else rng.uniform(0.4, 0.85)
        return Prediction(
            label=label,
            score=score,
            scores={label: score},
            truncated=False,
            model=self.stamp(name),
        )

    def scores(self, event: CrmEvent) -> Scores | None:
        text = _text(event)
        if text is None:
            return None
        return Scores(
            intent=self.predict("intent-ko", true_intent(text), INTENT_LABELS, event.event_id),
            toxicity=self.predict(
                "toxicity-ko", true_toxicity(text), TOXICITY_LABELS, event.event_id
            ),
        )


BASELINE_MODEL = StandIn("2026.11.26", error=0.22)
CANDIDATE_MODEL = StandIn("2026.12.01", error=0.1)


def _partition(customer_id: str) -> int:
    return zlib.crc32(customer_id.encode()) % 4


def simulate(
    events: list[CrmEvent],
    profiles: dict[str, CustomerProfile],
    core: EngagementCore,
    model: StandIn,
    live: bool,
    repeat_every: int = 0,
) -> dict[str, list[Any]]:
    """Every event through the core, as the worker would, with per-customer state."""
    rng = random.Random(f"latency:{model.version}")
    states: dict[str, CustomerState] = {}
    offsets = [0, 0, 0, 0]
    out: dict[str, list[Any]] = {"enriched": [], "handoffs": [], "messages": [], "suppressions": []}
    replayed_at = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    feed: list[CrmEvent] = []
    for index, event in enumerate(events):
        feed.append(event)
        if repeat_every and index % repeat_every == 7:
            feed.append(event)  # sent again: the core marks it a duplicate
    for event in feed:
        partition = _partition(event.customer_id)
        offset = offsets[partition]
        offsets[partition] += 1
        stamp_ms = int(event.occurred_at.timestamp() * 1000)
        if live:
            processed = event.occurred_at + timedelta(
                milliseconds=rng.lognormvariate(4.0, 0.6) + 15
            )
        else:
            processed = replayed_at
        outcome = core.process(
            event,
            SourcePosition(
                topic="crm.events", partition=partition, offset=offset, timestamp_ms=stamp_ms
            ),
            model.scores(event),
            profiles.get(event.customer_id),
            states.get(event.customer_id),
            processed,
        )
        if outcome.state is not None:
            states[event.customer_id] = outcome.state
        if outcome.enriched is not None:
            out["enriched"].append(outcome.enriched)
        out["handoffs"] += outcome.handoffs
        out["messages"] += outcome.messages
        out["suppressions"] += outcome.suppressions
    return out


@dataclass(frozen=True)
class RealisticRuns:
    baseline: Path
    candidate: Path
    labels: Path


def build(directory: Path, count: int = 1500, seed: int = 11) -> RealisticRuns:
    """A live baseline run folder, a replay candidate folder and a labels file."""
    stream = SampleStream(SampleConfig(seed=seed, customers=80, data_dir=None))
    events = list(stream.events(count))
    profiles = {p.customer_id: p for p in stream.profiles}
    live = simulate(
        events, profiles, EngagementCore(SHIPPED_POLICY, FakeDrafter()), BASELINE_MODEL, True, 97
    )
    replay = simulate(
        events,
        profiles,
        EngagementCore(CANDIDATE_POLICY, FakeDrafter(), run_id="r-2026-12-01-a"),
        CANDIDATE_MODEL,
        False,
    )
    dlq = [
        DlqRecord(
            source_topic="crm.events",
            source_partition=i % 4,
            source_offset=10_000 + i,
            value_b64=DlqRecord.encode(b'{"event_type": "chat.mesage"') or "",
            error_class=DlqErrorClass.INVALID_JSON if i % 2 else DlqErrorClass.SCHEMA_VIOLATION,
            reason="broken record",
            failed_at=datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
        )
        for i in range(5)
    ]
    baseline_dir = write_run(
        directory / "live",
        live["enriched"],
        live["handoffs"],
        live["messages"],
        live["suppressions"],
        dlq,
    )
    candidate_dir = write_run(
        directory / "candidate",
        replay["enriched"],
        replay["handoffs"],
        replay["messages"],
        replay["suppressions"],
        dlq,
        manifest={"run_id": "r-2026-12-01-a", "seconds": 4.2, "events_per_s": count / 4.2},
    )
    rng = random.Random(f"labels:{seed}")
    messaged = {m.source_event_id for m in live["messages"]}
    labels: list[dict[str, Any]] = []
    for event in events:
        text = _text(event)
        label: dict[str, Any] = {"event_id": event.event_id}
        if text is not None:
            label["intent"] = true_intent(text)
            label["toxicity"] = true_toxicity(text)
            asks = bool(re.search(r"상담원|사람|직원", text))
            label["handoff_needed"] = asks or label["toxicity"] != "none"
        if event.event_id in messaged:
            opened = rng.random() < 0.38
            label["email_opened"] = opened
            label["email_converted"] = opened and rng.random() < 0.25
        if len(label) > 1:
            labels.append(label)
    return RealisticRuns(
        baseline=baseline_dir,
        candidate=candidate_dir,
        labels=write_labels(directory / "labels.jsonl", labels),
    )
