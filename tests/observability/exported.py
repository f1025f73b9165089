"""What a real worker's /metrics exports, with every `PipelineMetrics` method called once,
and the `engage_*` names a PromQL expression reads: the dashboard and the alert rules are
held to the one by the other."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from engage_stream.core.processor import Outcome
from engage_stream.observability.metrics import PipelineMetrics
from engage_stream.schemas.actions import (
    ConsentBasis,
    DraftSource,
    HandoffAction,
    HandoffReason,
    NextBestAction,
    Priority,
)
from engage_stream.schemas.common import Channel

METRIC_NAME = re.compile(r"\bengage_[A-Za-z0-9_]*[A-Za-z0-9]")
AT = datetime(2026, 3, 10, 5, 0, tzinfo=UTC)
SHA = "0f" * 32


def handoff(
    event_id: str,
    *,
    queue: str = "general",
    reasons: tuple[HandoffReason, ...] = (HandoffReason.CUSTOMER_REQUESTED_HUMAN,),
    draft: DraftSource | None = None,
) -> HandoffAction:
    return HandoffAction(
        action_id=f"h-{event_id}",
        source_event_id=event_id,
        customer_id="cust-1",
        created_at=AT,
        policy_version="test",
        conversation_id="conv-1",
        priority=Priority.NORMAL,
        reasons=list(reasons),
        queue=queue,
        transcript=[],
        draft_reply="고객님, 상담원이 곧 연결됩니다.",
        draft=draft,
    )


def answer(event_id: str, draft: DraftSource | None) -> NextBestAction:
    return NextBestAction(
        action_id=f"m-{event_id}",
        source_event_id=event_id,
        customer_id="cust-1",
        created_at=AT,
        policy_version="test",
        channel=Channel.EMAIL,
        template_id="inbound_answer",
        body="문의하신 주문은 내일 도착 예정입니다.",
        advertising=False,
        send_not_before=AT,
        consent_basis=ConsentBasis.TRANSACTIONAL,
        draft=draft,
    )


def exercise_every_method(m: PipelineMetrics) -> set[str]:
    """Call each public method of `m` once; returns the names called."""
    grounded = DraftSource(kind="grounded", answer_id="delivery_status.eta")
    calls: dict[str, Callable[[], object]] = {
        "event_in": lambda: m.event_in("crm.events"),
        "event_out": lambda: m.event_out("engage.enriched"),
        "dlq": lambda: m.dlq("invalid_json"),
        "batch": lambda: m.batch(8),
        "model_time": lambda: m.model_time("intent-ko", 0.004),
        "end_to_end": lambda: m.end_to_end(0.2),
        "end_to_end_since": lambda: m.end_to_end_since(1_700_000_000_000, now=1_700_000_000.1),
        "action": lambda: m.action("handoff"),
        "suppression": lambda: m.suppression("frequency_cap"),
        "duplicate": m.duplicate,
        "score_cache_size": lambda: m.score_cache_size(1000),
        "scored": lambda: m.scored(hits=3, misses=5),
        "outcome": lambda: m.outcome(
            Outcome(handoffs=[handoff("e1", draft=grounded)], messages=[answer("e2", grounded)])
        ),
        "send_failed": lambda: m.send_failed("engage.enriched"),
        "lag": lambda: m.lag("crm.events", 0, 12),
        "lag_gone": lambda: _measured_then_gone(m),
        "set_ready": lambda: m.set_ready(True),
        "held_offers": lambda: m.held_offers(3),
        "model_loaded": lambda: m.model_loaded(
            model="intent-ko", version="2", sha256=SHA, device="cpu", precision="int8"
        ),
        "render": m.render,
        "snapshot": m.snapshot,
    }
    for call in calls.values():
        call()
    return set(calls)


def public_methods() -> set[str]:
    return {
        name
        for name, _ in inspect.getmembers(PipelineMetrics, inspect.isfunction)
        if not name.startswith("_")
    }


def exported_names() -> set[str]:
    """Sample names (`engage_dlq_total`, `engage_end_to_end_seconds_bucket`, ...) of a
    worker's /metrics after every method has been called."""
    m = PipelineMetrics()
    exercise_every_method(m)
    body, _ = m.render()
    return {s.name for f in text_string_to_metric_families(body.decode()) for s in f.samples}


def metric_names(expr: str) -> set[str]:
    return set(METRIC_NAME.findall(expr))


def _measured_then_gone(m: PipelineMetrics) -> None:
    """A partition measured, then moved to another worker (partition 0 stays exported)."""
    m.lag("crm.events", 1, 3)
    m.lag_gone("crm.events", 1)
