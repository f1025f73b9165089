"""The decision policy file (`infra/policies.yaml`), typed and validated at start, with the
message templates it names (`messages`, compiled and checked here too).

Operations people change thresholds and Korean advertising settings here without
touching code; every action carries the file's `version`. Label names in it (intents,
toxicity labels, topics) are the loaded models' own: `label_problems` checks them against
the manifests of the models that serve each head, so a shop's own taxonomy works and a
typo stops the worker at start.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import time
from pathlib import Path
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.policy.experiments import Experiments
from engage_stream.policy.journeys import JourneysSpec
from engage_stream.policy.rules import CONSENT_RECONFIRMATION, NEXT_BEST_ACTIONS
from engage_stream.policy.rules.abandoned_cart import AbandonedCartRule
from engage_stream.policy.rules.consent_reconfirmation import ConsentReconfirmationRule
from engage_stream.policy.rules.inbound_answer import InboundAnswerRule
from engage_stream.policy.rules.review_request import ReviewRequestRule
from engage_stream.policy.rules.rule import RuleSpec
from engage_stream.policy.rules.win_back import WinBackRule
from engage_stream.policy.templates import Marks, MessageTemplates, TemplateError, TemplateUse
from engage_stream.schemas.actions import HandoffReason, Priority
from engage_stream.schemas.common import Channel
from engage_stream.schemas.customers import Tier
from engage_stream.schemas.validation import describe, field_errors_of


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _compiled(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
    return patterns


class AbusiveSpec(_Spec):
    labels: list[str] = Field(min_length=1, description="toxicity labels that count as abuse")
    min_score: float = Field(ge=0, le=1)


class NegativeSpec(_Spec):
    toxicity_min_score: float = Field(ge=0, le=1)
    none_label: str = Field(
        default="none", description="The toxicity label of a text that is not toxic."
    )
    intents: list[str] = Field(default_factory=list)
    complaint_patterns: list[str] = Field(default_factory=list)

    @field_validator("complaint_patterns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        return _compiled(value)


class LowConfidenceSpec(_Spec):
    max_intent_score: float = Field(ge=0, le=1)
    turns: int = Field(ge=1, le=100)


class QueueRule(_Spec):
    queue: str = Field(min_length=1, max_length=100)
    reasons: list[HandoffReason] = Field(default_factory=list)
    tiers: list[Tier] = Field(default_factory=list)
    topics: list[str] = Field(
        default_factory=list, description="Topics of the customer's question (topic head)."
    )


class DraftingSpec(_Spec):
    """How the handoff's draft finds what to answer."""

    budget_ms: float = Field(gt=0, le=10_000, description="Encoder time budget per draft.")
    question_intents: list[str] = Field(
        default_factory=list,
        description="Speech acts that ask something (a turn of another topic counts too).",
    )
    small_talk_topics: list[str] = Field(
        default_factory=list, description="Topics that are no question for the shop (other)."
    )


class HandoffPolicy(_Spec):
    human_request_patterns: list[str] = Field(min_length=1)
    abusive: AbusiveSpec
    negative: NegativeSpec
    negative_streak_turns: int = Field(ge=1, le=100)
    unanswered_streak_turns: int = Field(ge=1, le=100)
    bot_failure_patterns: list[str] = Field(default_factory=list)
    low_confidence: LowConfidenceSpec
    vip_tiers: list[Tier] = Field(default_factory=list)
    priority: dict[HandoffReason, Priority]
    queues: list[QueueRule] = Field(min_length=1)
    transcript_turns: int = Field(ge=1, le=50)
    drafting: DraftingSpec

    @field_validator("human_request_patterns", "bot_failure_patterns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        return _compiled(value)

    @field_validator("priority")
    @classmethod
    def _every_reason(cls, value: dict[HandoffReason, Priority]) -> dict[HandoffReason, Priority]:
        missing = [r.value for r in HandoffReason if r not in value]
        if missing:
            raise ValueError(f"no priority for {', '.join(missing)}")
        return value

    @field_validator("queues")
    @classmethod
    def _catch_all_last(cls, value: list[QueueRule]) -> list[QueueRule]:
        if value[-1].reasons or value[-1].tiers or value[-1].topics:
            raise ValueError("the last queue rule must have no conditions (the default queue)")
        return value


class SenderSpec(_Spec):
    name: str = Field(min_length=1, max_length=100)
    contact: str = Field(min_length=1, max_length=200)


class QuietHours(_Spec):
    start: time
    end: time


class NightTimeSpec(_Spec):
    start: time
    end: time
    exempt_channels: list[Channel] = Field(default_factory=list)
    channel_windows: dict[Channel, QuietHours] = Field(
        default_factory=dict,
        description="A channel's own quiet hours (friendtalk: Kakao's), kept beside the law's "
        "night: a night-time opt-in does not lift them.",
    )

    @field_validator("channel_windows", mode="before")
    @classmethod
    def _one_name_per_channel(cls, value: Any) -> Any:
        """`kakao` (earlier releases) reads as kakao_friendtalk: both keys would leave one
        window silently unused."""
        if isinstance(value, dict) and {"kakao", "kakao_friendtalk"} <= set(value):
            raise ValueError(
                "kakao and kakao_friendtalk are the same channel (kakao is its old name): "
                "keep one window"
            )
        return value


TemplateCode = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
]


class KakaoSpec(_Spec):
    alimtalk_template_codes: dict[str, TemplateCode] = Field(
        default_factory=dict,
        description="Message template (file name) -> the code Kakao registered it under; an "
        "alimtalk message whose template has none is suppressed (no_alimtalk_template).",
    )


class FrequencyCap(_Spec):
    window_hours: float = Field(gt=0, le=24 * 365)
    max_messages: int = Field(ge=0, le=1_000)


class OutboundRules(_Spec):
    """Each rule's spec, under the rule's name (the specs live with their rules)."""

    abandoned_cart: AbandonedCartRule
    review_request: ReviewRequestRule
    inbound_answer: InboundAnswerRule
    win_back: WinBackRule

    def spec(self, name: str) -> RuleSpec:
        spec = getattr(self, name)
        assert isinstance(spec, RuleSpec), name
        return spec


class OutboundPolicy(_Spec):
    sender: SenderSpec
    advertising_prefix: str = Field(min_length=1, max_length=20)
    opt_out_footer: str = Field(min_length=1, max_length=500)
    night_time: NightTimeSpec
    frequency_caps: list[FrequencyCap] = Field(default_factory=list)
    channels_by_preference: bool = True
    kakao: KakaoSpec = KakaoSpec()
    consent_reconfirmation: ConsentReconfirmationRule = ConsentReconfirmationRule()
    rules: OutboundRules

    @field_validator("opt_out_footer")
    @classmethod
    def _says_how_to_opt_out(cls, value: str) -> str:
        if "수신거부" not in value.replace(" ", ""):
            raise ValueError("must say how to opt out (수신거부), as art. 50(4) asks")
        return value


SHIPPED_MESSAGES = PROJECT_ROOT / "infra" / "messages"
"""The message templates shipped with the project, beside the shipped policy file."""


def _message_templates(value: Any, info: ValidationInfo) -> MessageTemplates:
    """The `messages` folder's templates, compiled and checked against the rules and the
    advertising marks of this policy (validated before it, as `outbound`). A relative
    folder is relative to the policy file (`load_policy`), else to the working directory."""
    if isinstance(value, MessageTemplates):
        return value
    if not isinstance(value, str | Path):
        raise PydanticCustomError("path_type", "must be the path of a folder of templates")
    folder = Path(value)
    if not folder.is_absolute():
        base = (info.context or {}).get("policy_file")
        folder = (Path(base).parent if base else Path.cwd()) / folder
    outbound = info.data.get("outbound")
    marks = (
        Marks(outbound.advertising_prefix, outbound.opt_out_footer)
        if isinstance(outbound, OutboundPolicy)
        else None
    )
    uses = [TemplateUse(rule.template, rule.sample, rule.name) for rule in NEXT_BEST_ACTIONS]
    notice = CONSENT_RECONFIRMATION
    uses.append(TemplateUse(notice.template, notice.sample, notice.name))
    experiments = info.data.get("experiments")
    if isinstance(experiments, Experiments):
        samples = {rule.name: rule.sample for rule in NEXT_BEST_ACTIONS}
        uses += [
            TemplateUse(arm.template, samples[name], f"{name} (experiment {experiment.id})")
            for name, experiment in experiments.rules.items()
            for arm in experiment.arms
            if arm.template is not None
        ]
    try:
        return MessageTemplates.load(folder, uses, marks)
    except TemplateError as exc:
        raise PydanticCustomError(
            "message_templates", "{problems}", {"problems": str(exc)}
        ) from None


Templates = Annotated[
    MessageTemplates,
    PlainValidator(_message_templates),
    PlainSerializer(lambda templates: str(templates.folder), return_type=str),
    WithJsonSchema({"type": "string", "description": "A folder of message templates."}),
]


class Policy(_Spec):
    version: str = Field(min_length=1, max_length=100)
    timezone: str = "Asia/Seoul"
    handoff: HandoffPolicy
    outbound: OutboundPolicy
    journeys: JourneysSpec = Field(
        default_factory=JourneysSpec,
        description="Held (delayed) offers: the allowed lateness of exit events.",
    )
    experiments: Experiments = Field(
        default_factory=Experiments,
        description="Arms per rule and the global control group (`policy.experiments`); "
        "before `messages`, which checks the variants' templates too.",
    )
    messages: Templates = Field(
        default=cast(Any, SHIPPED_MESSAGES),
        validate_default=True,
        description="Folder of the message templates (`<template>.j2`); relative to the "
        "policy file. Checked at start: see `policy.templates`.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _codes_of_known_templates(self) -> Policy:
        """A code under a misspelt template name would leave the real one without."""
        codes = self.outbound.kakao.alimtalk_template_codes
        known = sorted(self.messages.sources)
        unknown = sorted(set(codes) - set(known))
        if unknown:
            raise ValueError(
                f"outbound.kakao.alimtalk_template_codes: {', '.join(unknown)} are not "
                f"templates of this policy (its templates: {', '.join(known)})"
            )
        return self

    @field_validator("experiments")
    @classmethod
    def _advertising_only(cls, value: Experiments, info: ValidationInfo) -> Experiments:
        """A control arm of a transactional rule would withhold a message the customer is
        owed (an answer, a notice): enabled experiments are for advertising rules only (a
        disabled one is inert, and the core assigns no arm to a transactional offer)."""
        outbound = info.data.get("outbound")
        if not isinstance(outbound, OutboundPolicy):
            return value
        owed = [
            name
            for name, experiment in value.rules.items()
            if experiment.enabled and not outbound.rules.spec(name).advertising
        ]
        if owed:
            raise ValueError(
                f"rules.{owed[0]}: outbound.rules.{owed[0]} is not advertising; experiments "
                "(and their control arms) are for advertising rules only"
            )
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


LabelsByRole = Mapping[str, Collection[str]]
"""Role (intent, toxicity, topic) -> the labels of the head that serves it."""


def label_problems(policy: Policy, labels: LabelsByRole, source: str = "the models") -> list[str]:
    """Every label the policy names that the loaded heads do not have, one line each."""
    handoff, inbound = policy.handoff, policy.outbound.rules.inbound_answer
    named: list[tuple[str, str, list[str]]] = [
        ("toxicity", "handoff.abusive.labels", handoff.abusive.labels),
        ("toxicity", "handoff.negative.none_label", [handoff.negative.none_label]),
        ("intent", "handoff.negative.intents", handoff.negative.intents),
        ("intent", "handoff.drafting.question_intents", handoff.drafting.question_intents),
        ("topic", "handoff.drafting.small_talk_topics", handoff.drafting.small_talk_topics),
        *(
            ("topic", f"handoff.queues[{i}].topics", rule.topics)
            for i, rule in enumerate(handoff.queues)
        ),
        ("intent", "outbound.rules.inbound_answer.intents", inbound.intents),
        ("topic", "outbound.rules.inbound_answer.auto_answer_topics", inbound.auto_answer_topics),
    ]
    problems = []
    for role, where, values in named:
        known = labels.get(role)
        if known is None:
            continue
        unknown = [v for v in values if v not in known]
        if unknown:
            problems.append(
                f"{where}: {unknown} are not {role} labels of {source} "
                f"(its labels: {', '.join(known)})"
            )
    return problems


class PolicyError(Exception):
    """The policy file is missing or invalid; the message names the file and the field."""


def load_policy(path: Path) -> Policy:
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"policy file {path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy file {path}: not valid YAML: {exc}") from None
    try:
        return Policy.model_validate(document, context={"policy_file": Path(path)})
    except ValidationError as exc:
        raise PolicyError(f"policy file {path}: {describe(field_errors_of(exc))}") from None
