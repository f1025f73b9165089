"""`PipelineMetrics.outcome`: handoffs by queue and reason, drafts by kind and fallback,
counted from what the core decided, with label values that stay bounded."""

from __future__ import annotations

from typing import get_args

from prometheus_client.parser import text_string_to_metric_families

from engage_stream.core.processor import Outcome
from engage_stream.drafting.draft import DraftKind, Fallback
from engage_stream.observability.metrics import (
    DRAFT_FALLBACKS,
    DRAFT_KINDS,
    OTHER_FALLBACK,
    PipelineMetrics,
)
from engage_stream.schemas.actions import DraftSource, HandoffReason
from tests.core.builders import Feeder
from tests.observability.exported import answer, handoff

GROUNDED = DraftSource(kind="grounded", answer_id="delivery_status.eta")
GENERAL_LATE = DraftSource(kind="general", answer_id="shipping_fee.policy", fallback="deadline")
NO_ANSWER = DraftSource(kind="no_answer", fallback="low_score")


def _series(m: PipelineMetrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    body, _ = m.render()
    return {
        tuple(sorted(s.labels.items())): s.value
        for f in text_string_to_metric_families(body.decode())
        for s in f.samples
        if s.name == name
    }


def _handoffs(m: PipelineMetrics) -> dict[tuple[str, str], float]:
    return {
        (dict(k)["queue"], dict(k)["reason"]): v
        for k, v in _series(m, "engage_handoffs_total").items()
    }


def _drafts(m: PipelineMetrics) -> dict[tuple[str, str], float]:
    return {
        (dict(k)["kind"], dict(k)["fallback"]): v
        for k, v in _series(m, "engage_drafts_total").items()
        if v
    }


def test_each_handoff_counts_once_per_reason_under_its_queue() -> None:
    m = PipelineMetrics()
    m.outcome(
        Outcome(
            handoffs=[
                handoff(
                    "e1",
                    queue="escalations",
                    reasons=(HandoffReason.ABUSIVE_LANGUAGE, HandoffReason.NEGATIVE_STREAK),
                ),
                handoff("e2", queue="general"),
            ]
        )
    )
    m.outcome(Outcome(handoffs=[handoff("e3", queue="general")]))
    assert _handoffs(m) == {
        ("escalations", "abusive_language"): 1,
        ("escalations", "negative_streak"): 1,
        ("general", "customer_requested_human"): 2,
    }


def test_drafts_on_handoffs_and_answers_count_by_kind_and_fallback() -> None:
    m = PipelineMetrics()
    m.outcome(
        Outcome(
            handoffs=[handoff("e1", draft=GROUNDED), handoff("e2", draft=NO_ANSWER)],
            messages=[answer("e3", GENERAL_LATE), answer("e4", GROUNDED)],
        )
    )
    assert _drafts(m) == {
        ("grounded", "none"): 2,
        ("general", "deadline"): 1,
        ("no_answer", "low_score"): 1,
    }


def test_actions_without_a_draft_count_no_draft() -> None:
    m = PipelineMetrics()
    m.outcome(Outcome(handoffs=[handoff("e1", draft=None)], messages=[answer("e2", None)]))
    assert _drafts(m) == {}
    assert _handoffs(m) == {("general", "customer_requested_human"): 1}


def test_an_outcome_with_nothing_decided_counts_nothing() -> None:
    m = PipelineMetrics()
    before = m.snapshot()
    m.outcome(Outcome())
    assert m.snapshot() == before


def test_every_draft_kind_and_fallback_is_exposed_at_zero_before_the_first_draft() -> None:
    series = _series(PipelineMetrics(), "engage_drafts_total")
    assert len(series) == len(DRAFT_KINDS) * len(DRAFT_FALLBACKS) == 15
    assert set(series.values()) == {0.0}


def test_the_labels_are_the_drafters_own_kinds_and_fallbacks() -> None:
    assert set(DRAFT_KINDS) == set(get_args(DraftKind))
    assert set(DRAFT_FALLBACKS) == {"none", *get_args(Fallback)}


def test_a_fallback_this_release_does_not_know_gets_one_bounded_label() -> None:
    m = PipelineMetrics()
    for n in range(5):
        m.outcome(
            Outcome(
                handoffs=[handoff(f"e{n}", draft=DraftSource(kind="general", fallback=f"new_{n}"))]
            )
        )
    assert _drafts(m) == {("general", OTHER_FALLBACK): 5}


def test_grounded_and_fallback_rates_come_out_of_the_counters() -> None:
    m = PipelineMetrics()
    drafts = [GROUNDED, GROUNDED, GROUNDED, GENERAL_LATE, NO_ANSWER]
    m.outcome(Outcome(messages=[answer(f"e{i}", d) for i, d in enumerate(drafts)]))
    counts = _drafts(m)
    total = sum(counts.values())
    grounded = sum(v for (kind, _), v in counts.items() if kind == "grounded")
    fell_back = sum(v for (_, fallback), v in counts.items() if fallback != "none")
    assert (grounded / total, fell_back / total) == (0.6, 0.4)


def test_a_handoff_the_real_core_decides_is_counted_with_its_queue_reason_and_draft() -> None:
    feeder = Feeder()
    outcome = feeder.say("c1", "상담원 연결해 주세요")
    (decided,) = outcome.handoffs
    assert decided.draft is not None
    m = PipelineMetrics()
    m.outcome(outcome)
    assert _handoffs(m) == {(decided.queue, r.value): 1 for r in decided.reasons}
    assert (decided.queue, "customer_requested_human") in _handoffs(m)
    fallback = decided.draft.fallback or "none"
    assert _drafts(m) == {(decided.draft.kind, fallback): 1}


def test_failed_sends_count_per_topic() -> None:
    m = PipelineMetrics()
    m.send_failed("engage.actions.email")
    m.send_failed("engage.actions.email")
    m.send_failed("changelog")
    assert {dict(k)["topic"]: v for k, v in _series(m, "engage_send_failures_total").items()} == {
        "engage.actions.email": 2,
        "changelog": 1,
    }
