"""Field types shared by events, profiles and actions."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$"),
]
"""Ids that travel as Kafka keys and in action ids: ASCII, no spaces, at most 128 chars."""

Krw = Annotated[int, Field(ge=0, le=10_000_000_000, description="Amount in Korean won.")]


class Channel(StrEnum):
    """Outbound channels; consent and the night-time rule are per channel."""

    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    KAKAO = "kakao"


class Contract(BaseModel):
    """Base of every document that crosses a process boundary: strict keys, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)
