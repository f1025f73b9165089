"""Two runs side by side over the events they share: where the models and decisions differ.

"Baseline" is the reference (usually the live run), "run" the candidate (a replay with a
new model or policy). A **flip** is a decision that differs between the two for one event;
each kind of flip is counted once per event. The examples carry the customer's text masked
with `engage_stream.privacy.mask_text`, never the raw text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from engage_stream.evaluation.metrics import MODELS, prediction_of
from engage_stream.evaluation.runs import EventOutcome, Run
from engage_stream.privacy import mask_text
from engage_stream.schemas.enriched import Decision, DecisionKind

EXAMPLE_TEXT_CHARS = 280


class Flip(StrEnum):
    HANDOFF_ADDED = "handoff_added"
    HANDOFF_REMOVED = "handoff_removed"
    HANDOFF_REASONS_CHANGED = "handoff_reasons_changed"
    HANDOFF_PRIORITY_CHANGED = "handoff_priority_changed"
    HANDOFF_QUEUE_CHANGED = "handoff_queue_changed"
    ALREADY_HANDED_OFF_CHANGED = "already_handed_off_changed"
    MESSAGE_ADDED = "message_added"
    MESSAGE_REMOVED = "message_removed"
    MESSAGE_SUPPRESSED = "message_suppressed"
    SUPPRESSION_LIFTED = "suppression_lifted"
    SUPPRESSION_ADDED = "suppression_added"
    SUPPRESSION_REMOVED = "suppression_removed"
    SUPPRESSION_REASON_CHANGED = "suppression_reason_changed"
    CHANNEL_CHANGED = "channel_changed"
    ACTION_ID_CHANGED = "action_id_changed"


FLIP_DESCRIPTIONS: dict[Flip, str] = {
    Flip.HANDOFF_ADDED: "handed off in the run, not in the baseline",
    Flip.HANDOFF_REMOVED: "handed off in the baseline, not in the run",
    Flip.HANDOFF_REASONS_CHANGED: "handed off in both, for different reasons",
    Flip.HANDOFF_PRIORITY_CHANGED: "handed off in both, at a different priority",
    Flip.HANDOFF_QUEUE_CHANGED: "handed off in both, to a different queue",
    Flip.ALREADY_HANDED_OFF_CHANGED: "'already handed off' in one run only",
    Flip.MESSAGE_ADDED: "a message in the run, nothing for that rule in the baseline",
    Flip.MESSAGE_REMOVED: "a message in the baseline, nothing for that rule in the run",
    Flip.MESSAGE_SUPPRESSED: "a message in the baseline, suppressed in the run",
    Flip.SUPPRESSION_LIFTED: "suppressed in the baseline, a message in the run",
    Flip.SUPPRESSION_ADDED: "suppressed in the run, nothing for that rule in the baseline",
    Flip.SUPPRESSION_REMOVED: "suppressed in the baseline, nothing for that rule in the run",
    Flip.SUPPRESSION_REASON_CHANGED: "suppressed in both, for a different reason",
    Flip.CHANNEL_CHANGED: "a message in both, on a different channel",
    Flip.ACTION_ID_CHANGED: "the same decision with a different action id",
}


@dataclass(frozen=True, slots=True)
class DecisionView:
    kind: str
    rule: str
    action_id: str | None
    reasons: list[str]
    detail: str
    channel: str | None = None
    priority: str | None = None
    queue: str | None = None


@dataclass(frozen=True, slots=True)
class FlipExample:
    event_id: str
    event_type: str
    occurred_at: str
    text: str | None
    """The customer's words, PII-masked and cut to EXAMPLE_TEXT_CHARS."""
    baseline: list[DecisionView]
    run: list[DecisionView]
    baseline_predictions: dict[str, str]
    run_predictions: dict[str, str]


@dataclass(frozen=True, slots=True)
class FlipSummary:
    description: str
    count: int
    per_1000_shared: float
    examples: list[FlipExample] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LabelChange:
    baseline: str
    run: str
    count: int


@dataclass(frozen=True, slots=True)
class Agreement:
    n: int
    """Shared events with a prediction in both runs."""
    agree: int
    rate: float | None
    changes: list[LabelChange]
    """The most frequent (baseline label, run label) disagreements, at most ten."""


@dataclass(frozen=True, slots=True)
class Comparison:
    baseline_run_id: str
    run_id: str
    shared: int
    only_in_run: int
    only_in_baseline: int
    only_in_run_examples: list[str]
    only_in_baseline_examples: list[str]
    agreement: dict[str, Agreement]
    events_with_flips: int
    flips: dict[str, FlipSummary]


def _channel(decision: Decision, run: Run) -> str | None:
    message = run.messages.get(decision.action_id or "")
    if message is not None:
        return message.channel.value
    head = decision.detail.split(",", 1)[0].strip()
    return head or None


def _priority_queue(decision: Decision, run: Run) -> tuple[str | None, str | None]:
    handoff = run.handoffs.get(decision.action_id or "")
    if handoff is not None:
        return handoff.priority.value, handoff.queue
    priority = queue = None
    for part in decision.detail.split(","):  # "priority normal, queue general"
        words = part.split()
        if len(words) == 2 and words[0] == "priority":
            priority = words[1]
        elif len(words) == 2 and words[0] == "queue":
            queue = words[1]
    return priority, queue


def view(decision: Decision, run: Run) -> DecisionView:
    channel = priority = queue = None
    if decision.kind is DecisionKind.NEXT_BEST_ACTION:
        channel = _channel(decision, run)
    elif decision.kind is DecisionKind.HANDOFF:
        priority, queue = _priority_queue(decision, run)
    return DecisionView(
        kind=decision.kind.value,
        rule=decision.rule,
        action_id=decision.action_id,
        reasons=list(decision.reasons),
        detail=decision.detail,
        channel=channel,
        priority=priority,
        queue=queue,
    )


def _first(views: Iterable[DecisionView], kind: DecisionKind) -> DecisionView | None:
    return next((v for v in views if v.kind == kind.value), None)


def _by_rule(views: Iterable[DecisionView], kind: DecisionKind) -> dict[str, DecisionView]:
    found: dict[str, DecisionView] = {}
    for v in views:
        if v.kind == kind.value:
            found.setdefault(v.rule, v)
    return found


def flips_between(baseline: list[DecisionView], run: list[DecisionView]) -> set[Flip]:
    """Every kind of flip between one event's decisions in the baseline and in the run."""
    flips: set[Flip] = set()
    hb, hr = _first(baseline, DecisionKind.HANDOFF), _first(run, DecisionKind.HANDOFF)
    if hr and not hb:
        flips.add(Flip.HANDOFF_ADDED)
    elif hb and not hr:
        flips.add(Flip.HANDOFF_REMOVED)
    elif hb and hr:
        if set(hb.reasons) != set(hr.reasons):
            flips.add(Flip.HANDOFF_REASONS_CHANGED)
        if hb.priority != hr.priority:
            flips.add(Flip.HANDOFF_PRIORITY_CHANGED)
        if hb.queue != hr.queue:
            flips.add(Flip.HANDOFF_QUEUE_CHANGED)
        if hb.action_id != hr.action_id:
            flips.add(Flip.ACTION_ID_CHANGED)
    ab = _first(baseline, DecisionKind.ALREADY_HANDED_OFF)
    ar = _first(run, DecisionKind.ALREADY_HANDED_OFF)
    if (ab is None) != (ar is None):
        flips.add(Flip.ALREADY_HANDED_OFF_CHANGED)
    mb, mr = (
        _by_rule(baseline, DecisionKind.NEXT_BEST_ACTION),
        _by_rule(run, DecisionKind.NEXT_BEST_ACTION),
    )
    sb, sr = _by_rule(baseline, DecisionKind.SUPPRESSED), _by_rule(run, DecisionKind.SUPPRESSED)
    for rule in sorted({*mb, *mr, *sb, *sr}):
        flips |= _rule_flips(mb.get(rule), sb.get(rule), mr.get(rule), sr.get(rule))
    return flips


def _rule_flips(
    message_b: DecisionView | None,
    suppressed_b: DecisionView | None,
    message_r: DecisionView | None,
    suppressed_r: DecisionView | None,
) -> set[Flip]:
    flips: set[Flip] = set()
    if message_b and message_r:
        if message_b.channel != message_r.channel:
            flips.add(Flip.CHANNEL_CHANGED)
        if message_b.action_id != message_r.action_id:
            flips.add(Flip.ACTION_ID_CHANGED)
    elif message_b:
        flips.add(Flip.MESSAGE_SUPPRESSED if suppressed_r else Flip.MESSAGE_REMOVED)
    elif message_r:
        flips.add(Flip.SUPPRESSION_LIFTED if suppressed_b else Flip.MESSAGE_ADDED)
    elif suppressed_b and suppressed_r:
        if set(suppressed_b.reasons) != set(suppressed_r.reasons):
            flips.add(Flip.SUPPRESSION_REASON_CHANGED)
    elif suppressed_b:
        flips.add(Flip.SUPPRESSION_REMOVED)
    elif suppressed_r:
        flips.add(Flip.SUPPRESSION_ADDED)
    return flips


def _predictions(outcome: EventOutcome) -> dict[str, str]:
    shown = {}
    for model in MODELS:
        p = prediction_of(outcome, model)
        if p is not None:
            shown[model] = f"{p.label} {p.score:.2f}"
    return shown


def masked_text(text: str | None) -> str | None:
    if text is None:
        return None
    masked = mask_text(text)
    if len(masked) > EXAMPLE_TEXT_CHARS:
        return masked[: EXAMPLE_TEXT_CHARS - 1] + "…"
    return masked


def _agreement(pairs: list[tuple[str, str]]) -> Agreement:
    agree = sum(1 for a, b in pairs if a == b)
    changes = Counter((a, b) for a, b in pairs if a != b)
    top = sorted(changes.items(), key=lambda item: (-item[1], item[0]))[:10]
    return Agreement(
        n=len(pairs),
        agree=agree,
        rate=agree / len(pairs) if pairs else None,
        changes=[LabelChange(baseline=a, run=b, count=c) for (a, b), c in top],
    )


def _ordered(run: Run, ids: Iterable[str]) -> list[str]:
    return sorted(ids, key=lambda i: (run.events[i].occurred_at, i))


def compare(baseline: Run, run: Run, examples: int = 5) -> Comparison:
    """Agreement and flips over the shared events; up to `examples` examples per flip."""
    shared = _ordered(run, run.events.keys() & baseline.events.keys())
    only_run = _ordered(run, run.events.keys() - baseline.events.keys())
    only_baseline = _ordered(baseline, baseline.events.keys() - run.events.keys())
    counts: Counter[Flip] = Counter()
    chosen: dict[Flip, list[FlipExample]] = {flip: [] for flip in Flip}
    pairs: dict[str, list[tuple[str, str]]] = {model: [] for model in MODELS}
    flipped = 0
    for event_id in shared:
        b, r = baseline.events[event_id], run.events[event_id]
        for model in MODELS:
            pb, pr = prediction_of(b, model), prediction_of(r, model)
            if pb is not None and pr is not None:
                pairs[model].append((pb.label, pr.label))
        views_b = [view(d, baseline) for d in b.decisions]
        views_r = [view(d, run) for d in r.decisions]
        flips = flips_between(views_b, views_r)
        if not flips:
            continue
        flipped += 1
        counts.update(flips)
        for flip in flips:
            if len(chosen[flip]) < examples:
                chosen[flip].append(
                    FlipExample(
                        event_id=event_id,
                        event_type=r.event_type,
                        occurred_at=r.occurred_at.isoformat(),
                        text=masked_text(r.customer_text),
                        baseline=views_b,
                        run=views_r,
                        baseline_predictions=_predictions(b),
                        run_predictions=_predictions(r),
                    )
                )
    n = len(shared)
    return Comparison(
        baseline_run_id=baseline.run_id,
        run_id=run.run_id,
        shared=n,
        only_in_run=len(only_run),
        only_in_baseline=len(only_baseline),
        only_in_run_examples=only_run[:examples],
        only_in_baseline_examples=only_baseline[:examples],
        agreement={model: _agreement(p) for model, p in pairs.items()},
        events_with_flips=flipped,
        flips={
            flip.value: FlipSummary(
                description=FLIP_DESCRIPTIONS[flip],
                count=counts[flip],
                per_1000_shared=round(1000 * counts[flip] / n, 3) if n else 0.0,
                examples=chosen[flip],
            )
            for flip in Flip
        },
    )
