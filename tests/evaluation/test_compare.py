"""Two runs compared: model agreement, decision flips by type, examples with masked text."""

from __future__ import annotations

from engage_stream.evaluation.compare import Flip, compare, flips_between, view
from engage_stream.evaluation.runs import Run
from engage_stream.schemas.enriched import Decision
from tests.evaluation.builders import message_decision, suppressed_decision, two_runs


def test_flips_are_counted_by_type_once_per_event() -> None:
    baseline, run = two_runs()

    result = compare(baseline, run, examples=5)

    counts = {k: s.count for k, s in result.flips.items() if s.count}
    assert counts == {
        "handoff_added": 1,
        "handoff_removed": 1,
        "handoff_reasons_changed": 1,
        "handoff_priority_changed": 1,
        "handoff_queue_changed": 1,
        "message_suppressed": 1,
        "channel_changed": 1,
    }
    assert set(result.flips) == {flip.value for flip in Flip}  # stable keys, zeros included
    assert result.events_with_flips == 5
    assert result.flips["handoff_added"].per_1000_shared == round(1000 / 6, 3)


def test_shared_and_one_sided_events() -> None:
    baseline, run = two_runs()
    result = compare(baseline, run)
    assert (result.shared, result.only_in_run, result.only_in_baseline) == (6, 1, 1)
    assert result.only_in_run_examples == ["E7"]
    assert result.only_in_baseline_examples == ["E8"]


def test_model_agreement_over_shared_events_with_predictions() -> None:
    baseline, run = two_runs()
    agreement = compare(baseline, run).agreement

    # E4, E5 are carts (no predictions); of E1, E2, E3, E6 two agree.
    intent = agreement["intent"]
    assert (intent.n, intent.agree, intent.rate) == (4, 2, 0.5)
    assert {(c.baseline, c.run, c.count) for c in intent.changes} == {
        ("command", "statement", 1),
        ("statement", "command", 1),
    }
    assert agreement["toxicity"].rate == 1.0


def test_examples_show_masked_text_and_both_decisions() -> None:
    baseline, run = two_runs()

    example = compare(baseline, run).flips["handoff_removed"].examples[0]

    assert example.event_id == "E1"
    assert example.text is not None
    assert "010-****-5678" in example.text
    assert "1234" not in example.text
    assert [d.kind for d in example.baseline] == ["handoff"]
    assert example.run == []
    assert example.baseline_predictions["intent"].startswith("command")
    assert example.run_predictions["intent"].startswith("statement")


def test_examples_are_capped() -> None:
    baseline, run = two_runs()
    result = compare(baseline, run, examples=0)
    assert all(not s.examples for s in result.flips.values())
    assert result.only_in_run_examples == []


def test_each_kind_of_message_flip() -> None:
    run = Run(run_id="r", source="t")

    def flips(before: list[Decision], after: list[Decision]) -> set[Flip]:
        return flips_between([view(d, run) for d in before], [view(d, run) for d in after])

    m, s = message_decision("E1"), suppressed_decision("E1")
    assert flips([], [m]) == {Flip.MESSAGE_ADDED}
    assert flips([m], []) == {Flip.MESSAGE_REMOVED}
    assert flips([s], [m]) == {Flip.SUPPRESSION_LIFTED}
    assert flips([], [s]) == {Flip.SUPPRESSION_ADDED}
    assert flips([s], []) == {Flip.SUPPRESSION_REMOVED}
    assert flips([s], [suppressed_decision("E1", reason="frequency_cap")]) == {
        Flip.SUPPRESSION_REASON_CHANGED
    }
    assert flips([m], [message_decision("E2")]) == {Flip.ACTION_ID_CHANGED}
    assert flips([m], [m]) == set()
    # different rules are different decisions: a cart message and a review suppression
    assert flips([m], [m, suppressed_decision("E1", "review_request")]) == {Flip.SUPPRESSION_ADDED}
