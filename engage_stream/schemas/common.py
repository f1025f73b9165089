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
    """Outbound channels; consent and the night-time rule are per channel.

    Kakao is two channels: alimtalk carries informational messages only, each on a
    template registered with Kakao; friendtalk carries advertising, to friends of the
    shop's Kakao channel only. `kakao`, the one Kakao channel of earlier releases, reads as
    `kakao_friendtalk` wherever a channel is read (profiles, states, actions, policies):
    it was only ever used for advertising, which Kakao now carries by friendtalk alone.
    """

    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    KAKAO_ALIMTALK = "kakao_alimtalk"
    KAKAO_FRIENDTALK = "kakao_friendtalk"

    @classmethod
    def _missing_(cls, value: object) -> Channel | None:
        return cls.KAKAO_FRIENDTALK if value == LEGACY_KAKAO else None


LEGACY_KAKAO = "kakao"
"""The name earlier releases gave the one Kakao channel (read as `kakao_friendtalk`)."""


class Contract(BaseModel):
    """Base of every document that crosses a process boundary: strict keys, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)
