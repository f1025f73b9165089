"""Metrics of one run: models against labels, decisions against labels, rates, latency.

Plain functions over plain data; no Kafka, no files. The definitions, once:

- **Classification** (intent, toxicity, topic) is measured over the events that have both a
  label and a prediction. Precision, recall and F1 of a label that was never predicted (or
  never true) are 0, as scikit-learn's `zero_division=0`. **Macro-F1** is the unweighted
  mean of the per-label F1 over the labels present in the truth or in the predictions (not
  over every label the model knows: a label nobody used would add a meaningless 0).
  Confusion matrices have the truth in rows and the prediction in columns, in the label
  order of the model's manifest (labels outside it follow, sorted).
- **Drafts** are the drafted answers of handoffs and of e-mails answered automatically.
  Grounded: a bank answer filled with the facts of the customer's order; general: a bank
  answer that needs none; fallback: nothing in the bank fit. Against labels with an
  `answer_id`, a question's draft is a **hit@1** when its answer is the labelled one and a
  **hit@3** when the labelled one is among its three best candidates; a question labelled
  with no answer (`answer_id: null`) is a **correct fallback** when the draft says none.
- **Handoff decisions** are positive when the enriched record holds a `handoff` or an
  `already_handed_off` decision (the rules asked for a person; the second means the
  conversation was already with one), measured against `handoff_needed`.
- **Rates** are per 1,000 distinct events of the run (each event id once, see
  `runs.Run`). Actions are counted once per action id, suppressions per suppression id,
  dead letters per input position; win-back messages come from profiles, not events, and
  are counted in the rates with the rest.
- **Percentiles** are nearest-rank: the p-th percentile of n sorted values is the value at
  rank ceil(p/100 · n).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from engage_stream.evaluation.labels import Labels
from engage_stream.evaluation.runs import EventOutcome, Prediction, Run
from engage_stream.schemas.actions import DraftSource, NextBestAction
from engage_stream.schemas.enriched import DecisionKind

MODELS: tuple[str, ...] = ("intent", "toxicity", "topic")
"""The heads an evaluation scores."""

HANDOFF_DECISIONS = frozenset({DecisionKind.HANDOFF, DecisionKind.ALREADY_HANDED_OFF})

PERCENTILES: tuple[float, ...] = (50, 95, 99)


# -- classification -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabelScores:
    label: str
    precision: float
    recall: float
    f1: float
    support: int
    """How often it is the truth."""
    predicted: int
    """How often it was predicted."""


@dataclass(frozen=True, slots=True)
class ConfusionMatrix:
    labels: list[str]
    matrix: list[list[int]]
    """matrix[i][j]: events whose truth is labels[i] and prediction labels[j]."""


@dataclass(frozen=True, slots=True)
class Classification:
    model: str
    n: int
    """Events with both a label and a prediction: what the numbers below are over."""
    labelled: int
    """Events of the run with a label for this model."""
    missing_prediction: int
    """Labelled events without a prediction (model not run on them)."""
    accuracy: float | None
    macro_f1: float | None
    macro_f1_labels: list[str]
    per_label: list[LabelScores]
    confusion: ConfusionMatrix


def label_order(known: Sequence[str], seen: Iterable[str]) -> list[str]:
    """The known labels in their order, then any others seen, sorted."""
    extra = sorted(set(seen) - set(known))
    return [*known, *extra]


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def classify_pairs(
    model: str,
    pairs: Sequence[tuple[str, str]],
    known: Sequence[str] = (),
    labelled: int | None = None,
) -> Classification:
    """Accuracy, macro-F1, per-label scores and the confusion matrix of (truth, predicted)."""
    truth_counts = Counter(t for t, _ in pairs)
    predicted_counts = Counter(p for _, p in pairs)
    hits = Counter(t for t, p in pairs if t == p)
    order = label_order(known, [*truth_counts, *predicted_counts])
    index = {label: i for i, label in enumerate(order)}
    matrix = [[0] * len(order) for _ in order]
    for truth, predicted in pairs:
        matrix[index[truth]][index[predicted]] += 1
    per_label = []
    for label in order:
        precision = _ratio(hits[label], predicted_counts[label])
        recall = _ratio(hits[label], truth_counts[label])
        per_label.append(
            LabelScores(
                label=label,
                precision=precision,
                recall=recall,
                f1=_f1(precision, recall),
                support=truth_counts[label],
                predicted=predicted_counts[label],
            )
        )
    present = [s for s in per_label if s.support or s.predicted]
    n = len(pairs)
    return Classification(
        model=model,
        n=n,
        labelled=n if labelled is None else labelled,
        missing_prediction=0 if labelled is None else labelled - n,
        accuracy=sum(hits.values()) / n if n else None,
        macro_f1=sum(s.f1 for s in present) / len(present) if present else None,
        macro_f1_labels=[s.label for s in present],
        per_label=per_label,
        confusion=ConfusionMatrix(labels=order, matrix=matrix),
    )


def prediction_of(outcome: EventOutcome, model: str) -> Prediction | None:
    if model == "intent":
        return outcome.intent
    if model == "toxicity":
        return outcome.toxicity
    if model == "topic":
        return outcome.topic
    raise ValueError(f"unknown model {model!r}; one of {', '.join(MODELS)}")


def classification(
    run: Run, labels: Labels, model: str, known: Sequence[str] = ()
) -> Classification:
    """One model of `run` against the labels that give it (see the module's definitions);
    `known`: the model's label names, in the order of its manifest."""
    pairs: list[tuple[str, str]] = []
    labelled = 0
    for event_id, outcome in run.events.items():
        label = labels.get(event_id)
        truth = getattr(label, model) if label is not None else None
        if truth is None:
            continue
        labelled += 1
        predicted = prediction_of(outcome, model)
        if predicted is not None:
            pairs.append((truth, predicted.label))
    return classify_pairs(model, pairs, known, labelled)


# -- drafts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DraftScores:
    drafts: int
    grounded: int
    general: int
    fallback: int
    """Drafts with no bank answer (the topic's no-answer line)."""
    judged: int
    """Questions labelled with an answer id that got a draft: what hit@k is over."""
    hit_at_1: float | None
    hit_at_3: float | None
    unanswerable: int
    """Questions labelled `answer_id: null` that got a draft."""
    correct_fallback: float | None
    missing: int
    """Questions labelled with an answer (or none) that got no draft at all."""

    @property
    def grounded_rate(self) -> float | None:
        return self.grounded / self.drafts if self.drafts else None

    @property
    def fallback_rate(self) -> float | None:
        return self.fallback / self.drafts if self.drafts else None


def draft_scores(run: Run, labels: Labels | None) -> DraftScores:
    """Draft kinds over the run; hit@k and correct fallbacks against `labels`."""
    drafts = run.drafts()
    kinds = Counter(d.kind for d in drafts)
    first: dict[str, DraftSource] = {}
    for draft in drafts:
        if draft.question_event_id is not None:
            first.setdefault(draft.question_event_id, draft)
    hits1 = hits3 = judged = unanswerable = fallbacks = missing = 0
    for event_id in run.events:
        label = labels.get(event_id) if labels is not None else None
        if label is None or not label.judges_answer:
            continue
        found = first.get(event_id)
        if found is None:
            missing += 1
        elif label.answer_id is None:
            unanswerable += 1
            fallbacks += found.kind == "no_answer"
        else:
            judged += 1
            hits1 += found.answer_id == label.answer_id
            hits3 += label.answer_id in found.candidates[:3]
    return DraftScores(
        drafts=len(drafts),
        grounded=kinds["grounded"],
        general=kinds["general"],
        fallback=kinds["no_answer"],
        judged=judged,
        hit_at_1=hits1 / judged if judged else None,
        hit_at_3=hits3 / judged if judged else None,
        unanswerable=unanswerable,
        correct_fallback=fallbacks / unanswerable if unanswerable else None,
        missing=missing,
    )


# -- handoff decisions ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BinaryScores:
    n: int
    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int
    precision: float | None
    recall: float | None
    f1: float | None
    predicted_positive: int
    actual_positive: int


def binary_scores(pairs: Iterable[tuple[bool, bool]]) -> BinaryScores:
    """Scores of (truth, predicted) booleans; None where there is nothing to score."""
    tp = fp = fn = tn = 0
    for truth, predicted in pairs:
        if truth and predicted:
            tp += 1
        elif predicted:
            fp += 1
        elif truth:
            fn += 1
        else:
            tn += 1
    n = tp + fp + fn + tn
    precision = _ratio(tp, tp + fp) if n else None
    recall = _ratio(tp, tp + fn) if n else None
    return BinaryScores(
        n=n,
        true_positive=tp,
        false_positive=fp,
        false_negative=fn,
        true_negative=tn,
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall) if precision is not None and recall is not None else None,
        predicted_positive=tp + fp,
        actual_positive=tp + fn,
    )


def asked_for_handoff(outcome: EventOutcome) -> bool:
    return any(d.kind in HANDOFF_DECISIONS for d in outcome.decisions)


def handoff_scores(run: Run, labels: Labels) -> BinaryScores:
    pairs = []
    for event_id, outcome in run.events.items():
        label = labels.get(event_id)
        if label is not None and label.handoff_needed is not None:
            pairs.append((label.handoff_needed, asked_for_handoff(outcome)))
    return binary_scores(pairs)


# -- rates ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rate:
    count: int
    per_1000: float


def rate(count: int, events: int) -> Rate:
    return Rate(count=count, per_1000=round(1000 * count / events, 3) if events else 0.0)


def _rates(counts: Mapping[str, int], events: int) -> dict[str, Rate]:
    return {key: rate(counts[key], events) for key in sorted(counts)}


@dataclass(frozen=True, slots=True)
class Share:
    count: int
    share: float
    """Of all handoffs; a handoff may have several reasons, so shares can add up past 1."""


@dataclass(frozen=True, slots=True)
class ActionRates:
    events: int
    """The denominator: distinct events of the run."""
    handoffs: Rate
    next_best_actions: Rate
    next_best_actions_by_rule: dict[str, Rate]
    next_best_actions_by_channel: dict[str, Rate]
    suppressions: Rate
    suppressions_by_reason: dict[str, Rate]
    suppressions_by_rule: dict[str, Rate]
    duplicates: Rate
    """Enriched records the pipeline marked as a repeated event id."""
    redelivered: Rate
    """Records processed again after a crash (at-least-once), not counted as events."""
    dlq: Rate | None
    """None where the run carries no dead-letter data."""
    dlq_by_error_class: dict[str, Rate]
    handoff_reasons: dict[str, Share]
    handoff_priorities: dict[str, Share]


def message_rule(message: NextBestAction, rules: Mapping[str, str]) -> str:
    """The rule of a message: from its enriched decision (`rules`: action id -> rule), else
    from its template id (`abandoned_cart.v1`; win-backs have no enriched record)."""
    return rules.get(message.action_id) or message.template_id.split(".", 1)[0]


def _decision_rules(run: Run) -> dict[str, str]:
    return {
        d.action_id: d.rule
        for outcome in run.events.values()
        for d in outcome.decisions
        if d.action_id is not None and d.kind is DecisionKind.NEXT_BEST_ACTION
    }


def action_rates(run: Run) -> ActionRates:
    events = len(run.events)
    rules = _decision_rules(run)
    by_rule = Counter(message_rule(m, rules) for m in run.messages.values())
    by_channel = Counter(m.channel.value for m in run.messages.values())
    by_reason = Counter(s.reason.value for s in run.suppressions.values())
    by_suppressed_rule = Counter(s.rule for s in run.suppressions.values())
    reasons = Counter(r.value for h in run.handoffs.values() for r in set(h.reasons))
    priorities = Counter(h.priority.value for h in run.handoffs.values())
    handoffs = len(run.handoffs)
    dlq_classes = Counter(d.error_class.value for d in run.dlq or [])
    return ActionRates(
        events=events,
        handoffs=rate(handoffs, events),
        next_best_actions=rate(len(run.messages), events),
        next_best_actions_by_rule=_rates(by_rule, events),
        next_best_actions_by_channel=_rates(by_channel, events),
        suppressions=rate(len(run.suppressions), events),
        suppressions_by_reason=_rates(by_reason, events),
        suppressions_by_rule=_rates(by_suppressed_rule, events),
        duplicates=rate(run.duplicate_records, events),
        redelivered=rate(run.redelivered_records, events),
        dlq=rate(len(run.dlq), events) if run.dlq is not None else None,
        dlq_by_error_class=_rates(dlq_classes, events),
        handoff_reasons={
            k: Share(reasons[k], round(_ratio(reasons[k], handoffs), 4)) for k in sorted(reasons)
        },
        handoff_priorities={
            k: Share(priorities[k], round(_ratio(priorities[k], handoffs), 4))
            for k in sorted(priorities)
        },
    )


# -- message outcomes -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcomes:
    messaged: int
    """Events (or win-back ids) that got a next-best-action message."""
    open_labelled: int
    opened: int
    open_rate: float | None
    convert_labelled: int
    converted: int
    convert_rate: float | None


@dataclass(frozen=True, slots=True)
class MessageOutcomes:
    overall: Outcomes
    by_channel: dict[str, Outcomes] = field(default_factory=dict)
    by_rule: dict[str, Outcomes] = field(default_factory=dict)


def _outcomes(source_ids: Iterable[str], labels: Labels) -> Outcomes:
    ids = set(source_ids)
    opens = [
        lab.email_opened for i in ids if (lab := labels.get(i)) and lab.email_opened is not None
    ]
    converts = [
        lab.email_converted
        for i in ids
        if (lab := labels.get(i)) and lab.email_converted is not None
    ]
    return Outcomes(
        messaged=len(ids),
        open_labelled=len(opens),
        opened=sum(opens),
        open_rate=sum(opens) / len(opens) if opens else None,
        convert_labelled=len(converts),
        converted=sum(converts),
        convert_rate=sum(converts) / len(converts) if converts else None,
    )


def message_outcomes(run: Run, labels: Labels) -> MessageOutcomes | None:
    """Open and conversion rates among the events that got a message; None without labels
    for them. The `email` row of `by_channel` is the events that got an e-mail."""
    if not labels.count("email_opened") and not labels.count("email_converted"):
        return None
    rules = _decision_rules(run)
    channels: dict[str, list[str]] = {}
    by_rule: dict[str, list[str]] = {}
    for message in run.messages.values():
        channels.setdefault(message.channel.value, []).append(message.source_event_id)
        by_rule.setdefault(message_rule(message, rules), []).append(message.source_event_id)
    return MessageOutcomes(
        overall=_outcomes((m.source_event_id for m in run.messages.values()), labels),
        by_channel={k: _outcomes(v, labels) for k, v in sorted(channels.items())},
        by_rule={k: _outcomes(v, labels) for k, v in sorted(by_rule.items())},
    )


# -- latency --------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of `values` (any order); p in (0, 100]."""
    if not values:
        raise ValueError("no values")
    if not 0 < p <= 100:
        raise ValueError("p must be in (0, 100]")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Bin:
    low_ms: float
    high_ms: float | None
    """None: the overflow bin, everything above `low_ms`. Bins hold [low, high), the last
    regular bin also its upper edge."""
    count: int


@dataclass(frozen=True, slots=True)
class CdfPoint:
    percentile: float
    ms: float


@dataclass(frozen=True, slots=True)
class Latency:
    end_to_end: bool
    note: str
    n: int
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    mean_ms: float | None = None
    histogram: list[Bin] = field(default_factory=list)
    cdf: list[CdfPoint] = field(default_factory=list)
    events_per_s: float | None = None
    seconds: float | None = None


def _nice_ceiling(value: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten, at or above `value` (> 0)."""
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return float(candidate)
    return float(10 ** (exponent + 1))


def histogram(values: Sequence[float], bins: int = 20) -> list[Bin]:
    """`bins` equal bins from 0 (or the minimum, if negative) to a round number at or above
    the 99th percentile, plus an overflow bin when anything lies above it."""
    if not values:
        return []
    low = min(0.0, min(values))
    top = percentile(values, 99)
    high = _nice_ceiling(top - low) + low if top > low else low + 1.0
    width = (high - low) / bins
    counts = [0] * bins
    overflow = 0
    for value in values:
        if value > high:
            overflow += 1
        else:
            counts[min(bins - 1, int((value - low) // width))] += 1
    result = [
        Bin(low_ms=round(low + i * width, 3), high_ms=round(low + (i + 1) * width, 3), count=c)
        for i, c in enumerate(counts)
    ]
    if overflow:
        result.append(Bin(low_ms=round(high, 3), high_ms=None, count=overflow))
    return result


LIVE_NOTE = (
    "end-to-end: processed_at minus the Kafka timestamp of the input record "
    "(producer or broker time to outputs decided)"
)
REPLAY_NOTE = (
    "replay run: processed_at minus the input record's timestamp is the time since the "
    "event was first produced, not an end-to-end latency; throughput is from run.json"
)


def latency_stats(
    values: Sequence[float], end_to_end: bool = True, note: str = LIVE_NOTE
) -> Latency:
    if not values:
        return Latency(end_to_end=end_to_end, note=note, n=0)
    ordered = sorted(values)
    return Latency(
        end_to_end=end_to_end,
        note=note,
        n=len(ordered),
        p50_ms=round(percentile(ordered, 50), 3),
        p95_ms=round(percentile(ordered, 95), 3),
        p99_ms=round(percentile(ordered, 99), 3),
        max_ms=round(ordered[-1], 3),
        mean_ms=round(sum(ordered) / len(ordered), 3),
        histogram=histogram(ordered),
        cdf=[
            CdfPoint(percentile=float(p), ms=round(percentile(ordered, p), 3))
            for p in range(1, 101)
        ],
    )


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def latency(run: Run) -> Latency:
    """End-to-end percentiles for the live run; for a replay, its throughput instead."""
    if run.is_live:
        values = [v for o in run.events.values() if (v := o.latency_ms()) is not None]
        note = LIVE_NOTE if values else "no input record timestamps in the enriched records"
        return latency_stats(values, end_to_end=True, note=note)
    manifest = run.manifest or {}
    return Latency(
        end_to_end=False,
        note=REPLAY_NOTE,
        n=0,
        events_per_s=_number(manifest.get("events_per_s")),
        seconds=_number(manifest.get("seconds")),
    )
