"""The whole evaluation of a run, optionally against labels and a baseline run, as data.

`evaluate` gathers what `metrics` and `compare` compute into one tree of dataclasses;
`as_json` turns it into the document written as `eval.json` (keys are the field names, so
they are stable and typed in one place).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engage_stream.evaluation.compare import Comparison, compare
from engage_stream.evaluation.experiments import ExperimentResult, experiment_results
from engage_stream.evaluation.labels import Labels
from engage_stream.evaluation.metrics import (
    MODELS,
    ActionRates,
    BinaryScores,
    Classification,
    DraftScores,
    Latency,
    MessageOutcomes,
    action_rates,
    classification,
    draft_scores,
    handoff_scores,
    latency,
    message_outcomes,
)
from engage_stream.evaluation.runs import Run

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: str
    kind: str
    """"live" or "replay"."""
    source: str
    events: int
    records: int
    duplicate_records: int
    redelivered_records: int
    duplicate_only_events: int
    handoffs: int
    next_best_actions: int
    suppressions: int
    dlq: int | None
    first_event_at: str | None
    last_event_at: str | None
    policy_versions: list[str]
    models: list[str]
    manifest: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class RunEvaluation:
    summary: RunSummary
    classification: dict[str, Classification] | None
    """Per model against the labels; None without labels."""
    handoff: BinaryScores | None
    drafts: DraftScores
    """Draft kinds; hit@k and correct fallbacks when labels judge answers."""
    rates: ActionRates
    message_outcomes: MessageOutcomes | None
    latency: Latency
    experiments: list[ExperimentResult]
    """Per experiment stamped on the run's records: arms, conversions, lift over control."""


@dataclass(frozen=True, slots=True)
class LabelsSummary:
    source: str
    labels: int
    documents: int
    intent: int
    toxicity: int
    topic: int
    answer_id: int
    handoff_needed: int
    email_opened: int
    email_converted: int
    in_run: int
    """Labelled event ids that are events of the evaluated run."""


@dataclass(frozen=True, slots=True)
class Evaluation:
    schema_version: int
    generated_at: str
    labels: LabelsSummary | None
    run: RunEvaluation
    baseline: RunEvaluation | None
    comparison: Comparison | None


def summarize(run: Run) -> RunSummary:
    times = sorted(o.occurred_at for o in run.events.values())
    return RunSummary(
        run_id=run.run_id,
        kind="live" if run.is_live else "replay",
        source=run.source,
        events=len(run.events),
        records=run.records,
        duplicate_records=run.duplicate_records,
        redelivered_records=run.redelivered_records,
        duplicate_only_events=len(run.duplicate_only),
        handoffs=len(run.handoffs),
        next_best_actions=len(run.messages),
        suppressions=len(run.suppressions),
        dlq=len(run.dlq) if run.dlq is not None else None,
        first_event_at=times[0].isoformat() if times else None,
        last_event_at=times[-1].isoformat() if times else None,
        policy_versions=sorted(run.policy_versions),
        models=sorted(run.models),
        manifest=run.manifest,
    )


def evaluate_one(
    run: Run, labels: Labels | None, known: Mapping[str, Sequence[str]] | None = None
) -> RunEvaluation:
    """`known`: role -> the label names of the head serving it, in manifest order."""
    known = known or {}
    return RunEvaluation(
        summary=summarize(run),
        classification=(
            {model: classification(run, labels, model, known.get(model, ())) for model in MODELS}
            if labels is not None
            else None
        ),
        handoff=handoff_scores(run, labels) if labels is not None else None,
        drafts=draft_scores(run, labels),
        rates=action_rates(run),
        message_outcomes=message_outcomes(run, labels) if labels is not None else None,
        latency=latency(run),
        experiments=experiment_results(run, labels),
    )


def summarize_labels(labels: Labels, run: Run) -> LabelsSummary:
    return LabelsSummary(
        source=labels.source,
        labels=len(labels),
        documents=labels.documents,
        intent=labels.count("intent"),
        toxicity=labels.count("toxicity"),
        topic=labels.count("topic"),
        answer_id=sum(1 for label in labels.by_event.values() if label.judges_answer),
        handoff_needed=labels.count("handoff_needed"),
        email_opened=labels.count("email_opened"),
        email_converted=labels.count("email_converted"),
        in_run=len(labels.by_event.keys() & run.events.keys()),
    )


def evaluate(
    run: Run,
    baseline: Run | None = None,
    labels: Labels | None = None,
    examples: int = 5,
    now: datetime | None = None,
    known: Mapping[str, Sequence[str]] | None = None,
) -> Evaluation:
    """`known`: role -> the label names of the head that serves it (manifest order)."""
    return Evaluation(
        schema_version=SCHEMA_VERSION,
        generated_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
        labels=summarize_labels(labels, run) if labels is not None else None,
        run=evaluate_one(run, labels, known),
        baseline=evaluate_one(baseline, labels, known) if baseline is not None else None,
        comparison=compare(baseline, run, examples) if baseline is not None else None,
    )


def as_json(evaluation: Evaluation) -> dict[str, Any]:
    """The evaluation as plain JSON values; keys are the dataclass field names."""
    document: dict[str, Any] = dataclasses.asdict(evaluation)
    return document
