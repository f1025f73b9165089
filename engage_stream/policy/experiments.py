"""Experiments and holdouts (`experiments` in the policy file): which arm a customer is in,
from a hash of the experiment id and the customer id and nothing else.

No randomness and no clock: sha256 (never Python's `hash`, salted per process) of the two
ids, read as a number in [0, 1), picks the arm by cumulative weight, so a customer is in the
same arm in every process, live or replayed. The arm is assigned at the occasion, before
consent, caps and delays are looked at (intent to treat): every offer of a rule under
experiment counts in its arm whatever happens to it later, so the arms stay comparable.

- A rule's experiment: arms weighted in percent (adding up to 100), one of them the control,
  whose customers get nothing (a `holdout` suppression); the others send the rule's message,
  or another template, after another delay, or on another channel.
- The global control group: a share of customers who get no advertising at all, whatever
  the rule; transactional messages still go. They take part in no rule's experiment, so a
  rule's arms are compared among customers who get advertising.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from engage_stream.policy.rules import NEXT_BEST_ACTIONS
from engage_stream.policy.rules.rule import NextBestActionRule, Offer
from engage_stream.policy.templates import MessageTemplates
from engage_stream.schemas.actions import ArmStamp
from engage_stream.schemas.common import Channel

CONTROL = "control"
TREATMENT = "treatment"
"""The arms of the global control group: held out of all advertising, or not."""

WEIGHT_TOTAL = 100.0
WEIGHT_TOLERANCE = 1e-6

Name = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
]
"""Experiment ids, arm names and template names: ASCII, no spaces, no path separators."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Arm(_Spec):
    name: Name
    weight: float = Field(gt=0, le=WEIGHT_TOTAL, description="Percent of the customers.")
    control: bool = Field(default=False, description="Gets nothing: a holdout suppression.")
    template: Name | None = Field(
        default=None, description="Another template of the rule's (same values), by file name."
    )
    delay_minutes: float | None = Field(
        default=None,
        ge=0,
        le=60 * 24 * 90,
        description="Send this long after the occasion (the cart, the delivery, the profile) "
        "instead of after the rule's own delay.",
    )
    channel: Channel | None = Field(default=None, description="Only this channel.")

    @model_validator(mode="after")
    def _control_sends_nothing(self) -> Arm:
        changes = [k for k in ("template", "delay_minutes", "channel") if getattr(self, k)]
        if self.control and changes:
            raise ValueError(f"a control arm sends nothing, so it takes no {', '.join(changes)}")
        return self


class RuleExperiment(_Spec):
    """One rule's experiment, under `experiments.rules.<rule>`."""

    id: Name
    enabled: bool = True
    conversion_window_hours: float = Field(gt=0, le=24 * 90)
    arms: list[Arm] = Field(min_length=2, max_length=20)

    @field_validator("arms")
    @classmethod
    def _weighted_with_one_control(cls, arms: list[Arm]) -> list[Arm]:
        names = [a.name for a in arms]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"arm names must differ: {', '.join(twice)} more than once")
        controls = [a.name for a in arms if a.control]
        if len(controls) != 1:
            raise ValueError(
                f"exactly one arm must be the control (control: true), not {len(controls)}"
            )
        total = sum(a.weight for a in arms)
        if abs(total - WEIGHT_TOTAL) > WEIGHT_TOLERANCE:
            raise ValueError(f"weights are percentages and must add up to 100, not {total:g}")
        return arms


class GlobalControl(_Spec):
    """Customers held out of all advertising, to measure what the advertising adds."""

    id: Name
    enabled: bool = True
    share: float = Field(gt=0, le=50, description="Percent of customers held out.")
    conversion_window_hours: float = Field(gt=0, le=24 * 90)


class Experiments(_Spec):
    global_control: GlobalControl | None = None
    rules: dict[str, RuleExperiment] = Field(
        default_factory=dict, description="At most one experiment per rule, by rule name."
    )

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, rules: dict[str, RuleExperiment]) -> dict[str, RuleExperiment]:
        known = [rule.name for rule in NEXT_BEST_ACTIONS]
        unknown = sorted(set(rules) - set(known))
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: no such rule (the rules: {', '.join(known)})")
        return rules

    @model_validator(mode="after")
    def _ids_differ(self) -> Experiments:
        """Two experiments with one id would put every customer in the same arms of both."""
        ids = [e.id for e in self.rules.values()]
        if self.global_control is not None:
            ids.append(self.global_control.id)
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"experiment ids must differ: {', '.join(twice)} more than once")
        return self


# -- assignment -----------------------------------------------------------------------------


def unit(experiment_id: str, customer_id: str) -> float:
    """The customer's point in [0, 1) for this experiment: the first 53 bits of
    sha256(experiment id, newline, customer id). Neither id holds a newline."""
    digest = hashlib.sha256(f"{experiment_id}\n{customer_id}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / float(1 << 53)


def arm_of(experiment: RuleExperiment, customer_id: str) -> Arm:
    """The arm whose cumulative weight first passes the customer's point."""
    point = WEIGHT_TOTAL * unit(experiment.id, customer_id)
    edge = 0.0
    for arm in experiment.arms:
        edge += arm.weight
        if point < edge:
            return arm
    return experiment.arms[-1]  # weights adding up to a hair under 100


def in_global_control(control: GlobalControl, customer_id: str) -> bool:
    return WEIGHT_TOTAL * unit(control.id, customer_id) < control.share


@dataclass(frozen=True, slots=True)
class Assignment:
    """What the experiments make of one offer of one customer."""

    messages: MessageTemplates
    """The templates the rule renders with (the variant's in place of its own)."""
    arms: tuple[ArmStamp, ...] = ()
    holdout: str | None = None
    """Why nothing is sent (a `holdout` suppression's detail); None: the offer goes on."""
    variant: Arm | None = None
    """The rule experiment's arm, whose changes apply to the offer."""

    def applied(self, offer: Offer, at: datetime) -> Offer:
        """The offer as this arm sends it, stamped with its arms (`at`: the occasion)."""
        arm = self.variant
        if arm is None:
            return replace(offer, arms=self.arms) if self.arms else offer
        delay = arm.delay_minutes
        return replace(
            offer,
            arms=self.arms,
            template_id=arm.template or offer.template_id,
            earliest=offer.earliest if delay is None else at + timedelta(minutes=delay),
            channel=arm.channel or offer.channel,
        )


class Experimentation:
    """The policy's experiments, ready to assign: the variants' templates prepared once."""

    def __init__(self, experiments: Experiments, messages: MessageTemplates) -> None:
        self.experiments = experiments
        self.messages = messages
        templates = {rule.name: rule.template for rule in NEXT_BEST_ACTIONS}
        self._variants: dict[tuple[str, str], MessageTemplates] = {
            (name, arm.name): messages.instead(templates[name], arm.template)
            for name, experiment in experiments.rules.items()
            for arm in experiment.arms
            if arm.template is not None
        }

    def assign(
        self, rule: NextBestActionRule[Any], advertising: bool, customer_id: str, at: datetime
    ) -> Assignment:
        """The global control first (advertising only), then the rule's own experiment."""
        if not advertising:
            return Assignment(self.messages)
        arms: list[ArmStamp] = []
        held = self.experiments.global_control
        if held is not None and held.enabled:
            inside = in_global_control(held, customer_id)
            arms.append(_stamp(held.id, CONTROL if inside else TREATMENT, inside, at, held))
            if inside:
                holdout = f"global control group {held.id}: no advertising at all"
                return Assignment(self.messages, tuple(arms), holdout)
        experiment = self.experiments.rules.get(rule.name)
        if experiment is None or not experiment.enabled:
            return Assignment(self.messages, tuple(arms))
        arm = arm_of(experiment, customer_id)
        arms.append(_stamp(experiment.id, arm.name, arm.control, at, experiment))
        if arm.control:
            holdout = f"experiment {experiment.id}, arm {arm.name}: the control gets nothing"
            return Assignment(self.messages, tuple(arms), holdout)
        messages = self._variants.get((rule.name, arm.name), self.messages)
        return Assignment(messages, tuple(arms), variant=arm)


def _stamp(
    experiment: str, arm: str, control: bool, at: datetime, spec: GlobalControl | RuleExperiment
) -> ArmStamp:
    return ArmStamp(
        experiment=experiment,
        arm=arm,
        control=control,
        assigned_at=at,
        conversion_window_hours=spec.conversion_window_hours,
    )
