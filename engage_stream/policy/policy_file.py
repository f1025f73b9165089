"""The decision policy file (`infra/policies.yaml`), typed and validated at start.

Operations people change thresholds and Korean advertising settings here without
touching code; every action carries the file's `version`.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engage_stream.schemas.actions import HandoffReason, Priority
from engage_stream.schemas.common import Channel
from engage_stream.schemas.customers import Tier
from engage_stream.schemas.labels import INTENT_LABELS, TOXICITY_LABELS
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


def _labels(values: list[str], known: tuple[str, ...], what: str) -> list[str]:
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; known: {', '.join(known)}")
    return values


class AbusiveSpec(_Spec):
    labels: list[str] = Field(min_length=1)
    min_score: float = Field(ge=0, le=1)

    @field_validator("labels")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        return _labels(value, TOXICITY_LABELS, "toxicity labels")


class NegativeSpec(_Spec):
    toxicity_min_score: float = Field(ge=0, le=1)
    intents: list[str] = Field(default_factory=list)
    complaint_patterns: list[str] = Field(default_factory=list)

    @field_validator("intents")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        return _labels(value, INTENT_LABELS, "intents")

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
    draft_budget_ms: float = Field(gt=0, le=10_000)
    draft_min_similarity: float = Field(default=0.9, ge=-1, le=1)

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
        if value[-1].reasons or value[-1].tiers:
            raise ValueError("the last queue rule must have no conditions (the default queue)")
        return value


class SenderSpec(_Spec):
    name: str = Field(min_length=1, max_length=100)
    contact: str = Field(min_length=1, max_length=200)


class NightTimeSpec(_Spec):
    start: time
    end: time
    exempt_channels: list[Channel] = Field(default_factory=list)


class FrequencyCap(_Spec):
    window_hours: float = Field(gt=0, le=24 * 365)
    max_messages: int = Field(ge=0, le=1_000)


class RuleSpec(_Spec):
    enabled: bool = True
    advertising: bool


class AbandonedCartRule(RuleSpec):
    delay_minutes: float = Field(ge=0, le=60 * 24 * 30)
    min_value_krw: int = Field(default=0, ge=0)


class ReviewRequestRule(RuleSpec):
    delay_hours: float = Field(ge=0, le=24 * 90)


class InboundAnswerRule(RuleSpec):
    intents: list[str] = Field(min_length=1)
    draft_min_similarity: float = Field(default=0.92, ge=-1, le=1)

    @field_validator("intents")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        return _labels(value, INTENT_LABELS, "intents")


class WinBackRule(RuleSpec):
    inactive_days: float = Field(gt=0, le=3_650)


class OutboundRules(_Spec):
    abandoned_cart: AbandonedCartRule
    review_request: ReviewRequestRule
    inbound_answer: InboundAnswerRule
    win_back: WinBackRule


class OutboundPolicy(_Spec):
    sender: SenderSpec
    advertising_prefix: str = Field(min_length=1, max_length=20)
    opt_out_footer: str = Field(min_length=1, max_length=500)
    night_time: NightTimeSpec
    frequency_caps: list[FrequencyCap] = Field(default_factory=list)
    channels_by_preference: bool = True
    rules: OutboundRules

    @field_validator("opt_out_footer")
    @classmethod
    def _says_how_to_opt_out(cls, value: str) -> str:
        if "수신거부" not in value.replace(" ", ""):
            raise ValueError("must say how to opt out (수신거부), as art. 50(4) asks")
        return value


class Policy(_Spec):
    version: str = Field(min_length=1, max_length=100)
    timezone: str = "Asia/Seoul"
    handoff: HandoffPolicy
    outbound: OutboundPolicy

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


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
        return Policy.model_validate(document)
    except ValidationError as exc:
        raise PolicyError(f"policy file {path}: {describe(field_errors_of(exc))}") from None
