"""Metric functions against numbers worked out by hand on small fixed examples."""

from __future__ import annotations

import pytest

from engage_stream.evaluation.labels import Label, labels_from
from engage_stream.evaluation.metrics import (
    REPLAY_NOTE,
    action_rates,
    binary_scores,
    classification,
    classify_pairs,
    draft_scores,
    handoff_scores,
    histogram,
    latency,
    latency_stats,
    message_outcomes,
    percentile,
)
from engage_stream.evaluation.runs import Run
from engage_stream.schemas.actions import DraftKind, DraftSource, HandoffReason, Priority
from engage_stream.schemas.common import Channel
from engage_stream.training.corpora import INTENT_LABELS
from tests.evaluation.builders import (
    dead_letter,
    enriched,
    handoff_action,
    handoff_decision,
    message,
    suppression,
)

# Six intent pairs (truth, predicted); worked out by hand:
#   accuracy 3/6
#   question:  TP 1, predicted 3, true 2 -> P 1/3, R 1/2, F1 = 2(1/6)/(5/6) = 0.4
#   statement: TP 1, predicted 1, true 2 -> P 1,   R 1/2, F1 = 2/3
#   command:   TP 1, predicted 2, true 2 -> P 1/2, R 1/2, F1 = 1/2
#   macro-F1 over the three present labels = (0.4 + 2/3 + 0.5) / 3 = 0.522...
INTENT_PAIRS = [
    ("question", "question"),
    ("question", "command"),
    ("statement", "statement"),
    ("command", "command"),
    ("command", "question"),
    ("statement", "question"),
]


def test_accuracy_macro_f1_and_per_label_scores() -> None:
    result = classify_pairs("intent", INTENT_PAIRS, INTENT_LABELS)

    assert result.n == 6
    assert result.accuracy == pytest.approx(0.5)
    assert result.macro_f1 == pytest.approx((0.4 + 2 / 3 + 0.5) / 3)
    assert result.macro_f1_labels == ["statement", "question", "command"]  # 3i4K order
    scores = {s.label: s for s in result.per_label}
    assert (scores["question"].precision, scores["question"].recall) == pytest.approx((1 / 3, 0.5))
    assert scores["question"].f1 == pytest.approx(0.4)
    assert scores["statement"].f1 == pytest.approx(2 / 3)
    assert scores["command"].f1 == pytest.approx(0.5)
    assert (scores["command"].support, scores["command"].predicted) == (2, 2)
    assert scores["fragment"].f1 == 0.0
    assert scores["fragment"].support == 0


def test_confusion_matrix_has_truth_in_rows_in_label_order() -> None:
    matrix = classify_pairs("intent", INTENT_PAIRS, INTENT_LABELS).confusion

    assert matrix.labels == list(INTENT_LABELS)
    at = {
        (t, p): matrix.matrix[i][j]
        for i, t in enumerate(matrix.labels)
        for j, p in enumerate(matrix.labels)
    }
    assert at[("statement", "statement")] == 1
    assert at[("statement", "question")] == 1
    assert at[("question", "question")] == 1
    assert at[("question", "command")] == 1
    assert at[("command", "command")] == 1
    assert at[("command", "question")] == 1
    assert sum(map(sum, matrix.matrix)) == 6
    assert sum(matrix.matrix[INTENT_LABELS.index("fragment")]) == 0


def test_macro_f1_counts_a_label_that_was_only_predicted() -> None:
    # none: P 1/1, R 1/2 -> F1 2/3; offensive: predicted once, never true -> F1 0; hate: 1.
    result = classify_pairs(
        "toxicity",
        [("none", "none"), ("none", "offensive"), ("hate", "hate")],
        ("none", "offensive", "hate"),
    )

    assert result.accuracy == pytest.approx(2 / 3)
    assert result.macro_f1 == pytest.approx((2 / 3 + 0 + 1) / 3)
    assert result.macro_f1_labels == ["none", "offensive", "hate"]


def test_labels_outside_the_known_order_follow_it_sorted() -> None:
    result = classify_pairs("toxicity", [("none", "zzz"), ("none", "aaa")], ("none", "hate"))

    assert result.confusion.labels == ["none", "hate", "aaa", "zzz"]
    assert result.accuracy == 0.0


def test_no_pairs_gives_no_accuracy() -> None:
    result = classify_pairs("intent", [], INTENT_LABELS)
    assert result.accuracy is None
    assert result.macro_f1 is None


def test_classification_of_a_run_counts_labelled_events_without_prediction() -> None:
    run = Run(run_id="live", source="test")
    run.add_enriched(enriched("E1", intent="question"))
    run.add_enriched(enriched("E2", intent="command"))
    run.add_enriched(enriched("E3", text=None))  # a cart: no prediction
    run.add_enriched(enriched("E4", intent="statement"))  # no intent label
    labels = labels_from(
        [
            Label(event_id="E1", intent="question"),
            Label(event_id="E2", intent="question"),
            Label(event_id="E3", intent="statement"),
            Label(event_id="E4", toxicity="none"),
            Label(event_id="E9", intent="question"),  # not in the run
        ],
        "test",
    )

    result = classification(run, labels, "intent")

    assert (result.n, result.labelled, result.missing_prediction) == (2, 3, 1)
    assert result.accuracy == pytest.approx(0.5)


def test_binary_scores_by_hand() -> None:
    # TP 2, FP 1, FN 1, TN 3 -> P 2/3, R 2/3, F1 2/3
    pairs = [(True, True)] * 2 + [(False, True)] + [(True, False)] + [(False, False)] * 3
    s = binary_scores(pairs)

    assert (s.true_positive, s.false_positive, s.false_negative, s.true_negative) == (2, 1, 1, 3)
    assert s.precision == pytest.approx(2 / 3)
    assert s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 / 3)
    assert binary_scores([]).f1 is None


def test_handoff_decisions_against_labels() -> None:
    run = Run(run_id="live", source="test")
    run.add_enriched(enriched("E1", decisions=[handoff_decision("E1")]))  # TP
    run.add_enriched(enriched("E2", decisions=[handoff_decision("E2")]))  # FP
    run.add_enriched(enriched("E3"))  # FN
    run.add_enriched(enriched("E4"))  # TN
    run.add_enriched(enriched("E5"))  # unlabelled
    labels = labels_from(
        [
            Label(event_id="E1", handoff_needed=True),
            Label(event_id="E2", handoff_needed=False),
            Label(event_id="E3", handoff_needed=True),
            Label(event_id="E4", handoff_needed=False),
        ],
        "test",
    )

    s = handoff_scores(run, labels)

    assert (s.n, s.true_positive, s.false_positive, s.false_negative) == (4, 1, 1, 1)
    assert s.precision == pytest.approx(0.5)
    assert s.recall == pytest.approx(0.5)


def _rated_run() -> Run:
    """8 events; 2 handoffs, 3 messages (2 e-mail carts, 1 SMS review), 1 suppression,
    1 duplicate record, 2 dead letters (one written twice)."""
    run = Run(run_id="live", source="test")
    for i in range(8):
        run.add_enriched(enriched(f"E{i}", offset=i))
    run.add_enriched(enriched("E0", offset=20, duplicate_of=0))
    run.add_handoff(
        handoff_action(
            "E1",
            [HandoffReason.CUSTOMER_REQUESTED_HUMAN, HandoffReason.ABUSIVE_LANGUAGE],
            Priority.HIGH,
        )
    )
    run.add_handoff(handoff_action("E2"))
    run.add_handoff(handoff_action("E2"))  # redelivered: same action id
    run.add_message(message("E3"))
    run.add_message(message("E4"))
    run.add_message(message("E5", "review_request", Channel.SMS))
    run.add_suppression(suppression("E6"))
    run.add_dead_letters([dead_letter(100), dead_letter(101), dead_letter(100)])
    return run


def test_rates_per_thousand_events() -> None:
    rates = action_rates(_rated_run())

    assert rates.events == 8
    assert (rates.handoffs.count, rates.handoffs.per_1000) == (2, 250.0)
    assert rates.next_best_actions.per_1000 == 375.0
    assert {k: v.per_1000 for k, v in rates.next_best_actions_by_rule.items()} == {
        "abandoned_cart": 250.0,
        "review_request": 125.0,
    }
    assert {k: v.count for k, v in rates.next_best_actions_by_channel.items()} == {
        "email": 2,
        "sms": 1,
    }
    assert rates.suppressions_by_reason["no_advertising_consent"].per_1000 == 125.0
    assert (rates.duplicates.count, rates.duplicates.per_1000) == (1, 125.0)
    assert rates.dlq is not None
    assert (rates.dlq.count, rates.dlq.per_1000) == (2, 250.0)
    assert rates.handoff_reasons["customer_requested_human"].count == 2
    assert rates.handoff_reasons["abusive_language"].share == 0.5
    assert {k: v.count for k, v in rates.handoff_priorities.items()} == {"high": 1, "normal": 1}


def test_no_dead_letter_data_is_not_zero_dead_letters() -> None:
    run = Run(run_id="live", source="test")
    run.add_enriched(enriched("E1"))
    assert action_rates(run).dlq is None


def test_message_outcomes_among_the_messaged() -> None:
    run = _rated_run()
    labels = labels_from(
        [
            Label(event_id="E3", email_opened=True, email_converted=True),
            Label(event_id="E4", email_opened=False),
            Label(event_id="E5", email_opened=True, email_converted=False),
            Label(event_id="E7", email_opened=True),  # no message: not counted
        ],
        "test",
    )

    outcomes = message_outcomes(run, labels)

    assert outcomes is not None
    assert (outcomes.overall.messaged, outcomes.overall.opened, outcomes.overall.open_labelled) == (
        3,
        2,
        3,
    )
    assert outcomes.overall.open_rate == pytest.approx(2 / 3)
    assert outcomes.overall.convert_rate == pytest.approx(1 / 2)
    email = outcomes.by_channel["email"]
    assert (email.messaged, email.opened, email.open_rate) == (2, 1, 0.5)
    assert (
        message_outcomes(run, labels_from([Label(event_id="E3", intent="question")], "t")) is None
    )


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(20, 0, -1)]  # 1..20, any order
    # rank = ceil(p/100 * 20): p50 -> 10, p95 -> 19, p99 -> ceil(19.8) = 20
    assert percentile(values, 50) == 10
    assert percentile(values, 95) == 19
    assert percentile(values, 99) == 20
    assert percentile([7.0], 50) == 7.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_latency_of_a_live_run_from_record_timestamps() -> None:
    run = Run(run_id="live", source="test")
    for i in range(1, 21):
        run.add_enriched(enriched(f"E{i}", offset=i, latency_ms=10.0 * i))  # 10, 20, ... 200 ms
    run.add_enriched(enriched("E1", offset=99, latency_ms=5000))  # redelivered: not counted

    result = latency(run)

    assert result.end_to_end
    assert result.n == 20
    assert (result.p50_ms, result.p95_ms, result.p99_ms, result.max_ms) == (
        100.0,
        190.0,
        200.0,
        200.0,
    )
    assert result.mean_ms == pytest.approx(105.0)
    assert sum(b.count for b in result.histogram) == 20
    assert result.cdf[-1].ms == 200.0


def test_a_replay_reports_throughput_not_latency() -> None:
    run = Run(
        run_id="r1", source="test", manifest={"run_id": "r1", "events_per_s": 812.5, "seconds": 4}
    )
    run.add_enriched(enriched("E1", run_id="r1", latency_ms=86_400_000))

    result = latency(run)

    assert not result.end_to_end
    assert result.p50_ms is None
    assert result.n == 0
    assert (result.events_per_s, result.seconds) == (812.5, 4.0)
    assert result.note == REPLAY_NOTE


def test_histogram_bins_cover_every_value() -> None:
    values = [1.0, 2.0, 3.0, 50.0, 99.0, 1000.0]
    bins = histogram(values, bins=10)
    assert sum(b.count for b in bins) == len(values)
    assert bins[0].low_ms == 0.0
    assert latency_stats([]).n == 0


def test_equal_latencies_fall_in_a_regular_bin() -> None:
    bins = histogram([5.0, 5.0, 5.0], bins=10)
    assert all(b.high_ms is not None for b in bins)
    assert bins[-1].count == 3


# -- drafts ---------------------------------------------------------------------------------


def _draft(event_id: str, kind: DraftKind, answer: str | None, *candidates: str) -> DraftSource:
    return DraftSource(
        kind=kind,
        question_event_id=event_id,
        topic="delivery_status",
        answer_id=answer,
        candidates=list(candidates),
    )


def test_draft_kinds_and_hits_against_answer_labels() -> None:
    """Four judged questions: hit@1 on Q1 only, hit@3 on Q1 and Q2, Q3's draft said another
    answer, Q4 got no draft; N1 (no answer fits) got none said, N2 got one said."""
    run = Run(run_id="live", source="test")
    for event_id in ("Q1", "Q2", "Q3", "Q4", "N1", "N2", "X"):
        run.add_enriched(enriched(event_id))
    drafts = [
        _draft("Q1", "grounded", "a.ship", "a.ship", "a.fee"),
        _draft("Q2", "general", "a.fee", "a.fee", "a.ship"),
        _draft("Q3", "general", "a.fee", "a.fee"),
        _draft("N1", "no_answer", None, "a.fee"),
        _draft("N2", "general", "a.fee", "a.fee"),
        _draft("X", "no_answer", None),
    ]
    for i, draft in enumerate(drafts):
        run.add_handoff(handoff_action(f"H{i}", draft=draft))
    labels = labels_from(
        [
            Label(event_id="Q1", answer_id="a.ship"),
            Label(event_id="Q2", answer_id="a.ship"),
            Label(event_id="Q3", answer_id="a.ship"),
            Label(event_id="Q4", answer_id="a.ship"),
            Label(event_id="N1", answer_id=None),
            Label(event_id="N2", answer_id=None),
            Label(event_id="X", topic="payment"),  # judges no answer
        ],
        "test",
    )
    scores = draft_scores(run, labels)
    assert (scores.drafts, scores.grounded, scores.general, scores.fallback) == (6, 1, 3, 2)
    assert scores.grounded_rate == pytest.approx(1 / 6)
    assert scores.fallback_rate == pytest.approx(2 / 6)
    assert scores.judged == 3
    assert scores.hit_at_1 == pytest.approx(1 / 3)
    assert scores.hit_at_3 == pytest.approx(2 / 3)
    assert (scores.unanswerable, scores.correct_fallback) == (2, 0.5)
    assert scores.missing == 1


def test_draft_scores_without_labels_count_kinds_only() -> None:
    run = Run(run_id="live", source="test")
    run.add_handoff(handoff_action("H1", draft=_draft("Q1", "grounded", "a.ship", "a.ship")))
    scores = draft_scores(run, None)
    assert (scores.drafts, scores.grounded, scores.judged) == (1, 1, 0)
    assert scores.hit_at_1 is None
