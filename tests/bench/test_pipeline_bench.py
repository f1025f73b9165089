"""The pipeline benchmark's report: the anchor compared round by round and by medians."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from engage_stream.bench.pipeline import (
    SETTLE_AFTER,
    PassthroughResult,
    PhaseResult,
    Results,
    _history,
    markdown,
)
from engage_stream.samples.generator import SampleConfig


def _row(broker: str, phase: str, rate: float) -> PhaseResult:
    return PhaseResult(
        broker=broker,
        phase=phase,
        score_cache=True,
        cache_hits=10,
        cache_misses=5,
        events=5000,
        rate_asked=None,
        seconds=round(5000 / rate, 2),
        events_per_s=rate,
        latency_p50_ms=100.0,
        latency_p95_ms=200.0,
        latency_p99_ms=300.0,
        mean_batch=20.0,
        handoffs=3,
        messages=2,
        suppressions=1,
        dlq=0,
    )


def test_the_worker_share_is_the_median_worker_over_the_median_passthrough() -> None:
    anchors = [PassthroughResult("kafka", 5000, 2.0, rate) for rate in (2000, 1000, 2400)]
    phases = [_row("kafka", "sustained", rate) for rate in (900, 400, 1000)]
    phases.append(_row("kafka", "sustained, 2 workers", 1350))
    report = markdown(
        Results(phases, [], anchors),
        {"date": "2026-12-02", "cpu": "test", "cores": 2, "command": "pytest"},
    )
    assert "| kafka | 2 | 1,000 | 400 | 40% |" in report  # each round beside its anchor
    assert "| kafka | median | 2,000 | 900 | **45%** |" in report
    assert "Median share over brokers: 45%." in report
    assert "2 worker processes in one group reach 1,350 events/s, 1.50x the median" in report


def test_a_history_ends_with_every_customer_settled_past_its_caps_windows() -> None:
    # Its held carts then go out before the timed events, which make the same decisions
    # after a short or a long history.
    prior = _history(5, 200)
    settling = prior[200:]
    assert len({e.customer_id for e in settling}) == len(settling) == 5
    last = max(e.occurred_at for e in prior[:200])
    assert all(e.occurred_at - last == SETTLE_AFTER for e in settling)
    widest = timedelta(hours=max(c.window_hours for c in _caps()))
    assert SampleConfig().start - max(e.occurred_at for e in settling) > widest


def _caps() -> list[Any]:
    from engage_stream.config.settings import load_settings
    from engage_stream.policy.policy_file import load_policy

    return list(load_policy(load_settings().policy_file).outbound.frequency_caps)
