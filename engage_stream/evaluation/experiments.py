"""Experiments in a run: per arm, the customers it decided for, how many of them bought, and
what the arm adds over its control. Plain functions over a `runs.Run`; the definitions, once:

- An **occasion** is one rule applying to one input (its source event id and rule), whatever
  became of it: a message, a holdout, another suppression (no consent, a cap, an exit). Its
  arms are the `ArmStamp`s on its records: messages, suppressions and enriched decisions
  (an offer still waiting at the end of the run has only the last).
- The unit is the **customer**, whom the hash assigned, not the message: an arm's customers
  are those with an occasion in it. A customer **converted** when an `order.placed` of theirs
  in the run falls after one of their occasions' `assigned_at` and at most the experiment's
  `conversion_window_hours` later. Where the labels give `email_converted` for the source
  events of an experiment's occasions, the labels decide instead, over the labelled
  occasions only (`conversion_source`: "labels" or "orders").
- **Conversion rate**: converted customers / customers, with the Wilson score interval (95 %).
- **Lift**: an arm's rate minus the control's, with Newcombe's hybrid score interval for a
  difference of two independent proportions (method 10 of Newcombe 1998, made of the two
  Wilson intervals; it stays inside [-1, 1] and behaves at rates near 0, where the plain
  Wald interval does not). Relative lift: the ratio of the rates minus one, no interval.

An occasion near the end of the run has had less time to convert; that is so in every arm
alike, so lifts stay fair while rates read low.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from engage_stream.evaluation.labels import Labels
from engage_stream.evaluation.metrics import message_rule
from engage_stream.evaluation.runs import Run
from engage_stream.schemas.actions import ArmStamp, SuppressionReason
from engage_stream.schemas.enriched import DecisionKind

Z95 = 1.959963984540054
"""The standard normal quantile of 0.975: two-sided 95 %."""

ORDER_PLACED = "order.placed"


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float


def wilson(successes: int, n: int, z: float = Z95) -> Interval | None:
    """The Wilson score interval of successes / n; None when n is 0."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within 0..{n}, not {successes}")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def newcombe(x1: int, n1: int, x0: int, n0: int, z: float = Z95) -> Interval | None:
    """Newcombe's hybrid score interval of x1/n1 - x0/n0; None when either n is 0."""
    one, zero = wilson(x1, n1, z), wilson(x0, n0, z)
    if one is None or zero is None:
        return None
    p1, p0 = x1 / n1, x0 / n0
    below = math.sqrt((p1 - one.low) ** 2 + (zero.high - p0) ** 2)
    above = math.sqrt((one.high - p1) ** 2 + (p0 - zero.low) ** 2)
    return Interval(p1 - p0 - below, p1 - p0 + above)


@dataclass(frozen=True, slots=True)
class ArmResult:
    arm: str
    control: bool
    customers: int
    occasions: int
    messages: int
    """Occasions that got a message."""
    held_out: int
    """Occasions suppressed with reason `holdout`."""
    converted: int
    """Customers who converted."""
    rate: float | None
    interval: Interval | None
    lift: float | None
    """rate minus the control's rate; None for the control itself or without one."""
    lift_interval: Interval | None
    relative_lift: float | None


@dataclass(frozen=True, slots=True)
class ExperimentResult:
    experiment: str
    rules: list[str]
    conversion_window_hours: list[float]
    """The windows its stamps carry (one, unless the policy changed within the run)."""
    conversion_source: str
    """"orders" (order.placed events of the run) or "labels" (email_converted)."""
    control_arm: str | None
    arms: list[ArmResult]
    """The control first, then the other arms by name."""


@dataclass(slots=True)
class _Occasion:
    customer_id: str
    stamp: ArmStamp
    message: bool = False
    held_out: bool = False


Key = tuple[str, str]
"""(source event id, rule): one occasion."""


def _occasions(run: Run) -> dict[str, dict[Key, _Occasion]]:
    """experiment id -> occasion -> its stamp and what became of it."""
    found: dict[str, dict[Key, _Occasion]] = {}

    def add(key: Key, customer: str, arms: Iterable[ArmStamp], message: bool, held: bool) -> None:
        for stamp in arms:
            occasion = found.setdefault(stamp.experiment, {}).setdefault(
                key, _Occasion(customer, stamp)
            )
            occasion.message |= message
            occasion.held_out |= held

    rules: dict[str, str] = {}
    for event_id, outcome in run.events.items():
        for d in outcome.decisions:
            if d.kind is DecisionKind.NEXT_BEST_ACTION and d.action_id is not None:
                rules[d.action_id] = d.rule
            if d.arms:
                held = SuppressionReason.HOLDOUT.value in d.reasons
                sent = d.kind is DecisionKind.NEXT_BEST_ACTION
                add((event_id, d.rule), outcome.customer_id, d.arms, sent, held)
    for m in run.messages.values():
        add((m.source_event_id, message_rule(m, rules)), m.customer_id, m.arms, True, False)
    for s in run.suppressions.values():
        held = s.reason is SuppressionReason.HOLDOUT
        add((s.source_event_id, s.rule), s.customer_id, s.arms, False, held)
    return found


def _orders(run: Run) -> dict[str, list[datetime]]:
    orders: dict[str, list[datetime]] = {}
    for outcome in run.events.values():
        if outcome.event_type == ORDER_PLACED:
            orders.setdefault(outcome.customer_id, []).append(outcome.occurred_at)
    for times in orders.values():
        times.sort()
    return orders


def ordered_within(times: list[datetime], stamp: ArmStamp) -> bool:
    """An order (`times`, sorted) after `assigned_at`, within the conversion window."""
    after = bisect_right(times, stamp.assigned_at)
    end = stamp.assigned_at + timedelta(hours=stamp.conversion_window_hours)
    return after < len(times) and times[after] <= end


def _arm_result(name: str, occasions: list[tuple[_Occasion, bool | None]]) -> ArmResult:
    """`occasions`: each with whether it converted (None: not judged, left out)."""
    customers = {o.customer_id for o, verdict in occasions if verdict is not None}
    converted = {o.customer_id for o, verdict in occasions if verdict}
    n = len(customers)
    return ArmResult(
        arm=name,
        control=occasions[0][0].stamp.control,
        customers=n,
        occasions=len(occasions),
        messages=sum(o.message for o, _ in occasions),
        held_out=sum(o.held_out for o, _ in occasions),
        converted=len(converted),
        rate=len(converted) / n if n else None,
        interval=wilson(len(converted), n),
        lift=None,
        lift_interval=None,
        relative_lift=None,
    )


def _with_lift(result: ArmResult, control: ArmResult | None) -> ArmResult:
    if control is None or result.control or result.rate is None or control.rate is None:
        return result
    return replace(
        result,
        lift=result.rate - control.rate,
        lift_interval=newcombe(
            result.converted, result.customers, control.converted, control.customers
        ),
        relative_lift=result.rate / control.rate - 1 if control.rate else None,
    )


def experiment_results(run: Run, labels: Labels | None = None) -> list[ExperimentResult]:
    """Every experiment whose arms are stamped on the run's records, by id."""
    orders = _orders(run)
    results = []
    for experiment, occasions in sorted(_occasions(run).items()):
        labelled = {
            source: label.email_converted
            for source, _ in occasions
            if labels is not None
            and (label := labels.get(source)) is not None
            and label.email_converted is not None
        }
        arms: dict[str, list[tuple[_Occasion, bool | None]]] = {}
        for (source, _), occasion in occasions.items():
            verdict = (
                labelled.get(source)
                if labelled
                else ordered_within(orders.get(occasion.customer_id, []), occasion.stamp)
            )
            arms.setdefault(occasion.stamp.arm, []).append((occasion, verdict))
        computed = [_arm_result(name, judged) for name, judged in arms.items()]
        control = next((r for r in computed if r.control), None)
        results.append(
            ExperimentResult(
                experiment=experiment,
                rules=sorted({rule for _, rule in occasions}),
                conversion_window_hours=sorted(
                    {o.stamp.conversion_window_hours for o in occasions.values()}
                ),
                conversion_source="labels" if labelled else "orders",
                control_arm=control.arm if control is not None else None,
                arms=[
                    _with_lift(r, control)
                    for r in sorted(computed, key=lambda r: (not r.control, r.arm))
                ],
            )
        )
    return results
