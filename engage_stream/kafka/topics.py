"""The topic declarations in `infra/topics.yaml`, typed and validated."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engage_stream.schemas.validation import describe, field_errors_of

_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


class TopicRole(StrEnum):
    EVENTS = "events"
    CUSTOMERS = "customers"
    SCORED = "scored"
    PROFILES = "profiles"
    ENRICHED = "enriched"
    ACTIONS_HANDOFF = "actions_handoff"
    ACTIONS_EMAIL = "actions_email"
    SUPPRESSIONS = "suppressions"
    DLQ = "dlq"


class TopicSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    partitions: int = Field(ge=1, le=1_000)
    replication_factor: int | None = Field(default=None, ge=1, le=10)
    retention_ms: int | None = Field(default=None, ge=-1)
    cleanup_policy: Literal["delete", "compact", "compact,delete"] = "delete"
    config: dict[str, str] = Field(default_factory=dict, description="Other topic configs.")

    @field_validator("name")
    @classmethod
    def _legal_kafka_name(cls, value: str) -> str:
        if not _TOPIC_NAME.match(value) or value in {".", ".."}:
            raise ValueError("a topic name is 1-249 of the characters A-Z a-z 0-9 . _ -")
        return value

    def kafka_configs(self) -> dict[str, str]:
        configs = {"cleanup.policy": self.cleanup_policy, **self.config}
        if self.retention_ms is not None:
            configs["retention.ms"] = str(self.retention_ms)
        return configs


class TopicsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    replication_factor: int = Field(default=1, ge=1, le=10)
    shadow_prefix: str = "engage.shadow"
    topics: dict[TopicRole, TopicSpec]

    @field_validator("topics")
    @classmethod
    def _every_role_declared_once(
        cls, value: dict[TopicRole, TopicSpec]
    ) -> dict[TopicRole, TopicSpec]:
        missing = [role.value for role in TopicRole if role not in value]
        if missing:
            raise ValueError(f"roles missing: {', '.join(missing)}")
        names = [spec.name for spec in value.values()]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"one topic serves two roles: {', '.join(duplicates)}")
        return value

    def name(self, role: TopicRole) -> str:
        return self.topics[role].name

    def replication_of(self, spec: TopicSpec) -> int:
        return spec.replication_factor or self.replication_factor


class TopicsFileError(Exception):
    """The topics file is missing or wrong; the message names the file and the field."""


def load_topics(path: Path) -> TopicsFile:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TopicsFileError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise TopicsFileError(f"{path}: not valid YAML: {exc}") from None
    try:
        return TopicsFile.model_validate(document)
    except ValidationError as exc:
        raise TopicsFileError(f"{path}: {describe(field_errors_of(exc))}") from None
