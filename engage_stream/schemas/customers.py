"""Customer profiles on the compacted `crm.customers` topic, keyed by `customer_id`."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, Field, model_validator

from engage_stream.schemas.common import LEGACY_KAKAO, Channel, Contract, Identifier


class Tier(StrEnum):
    BASIC = "basic"
    SILVER = "silver"
    GOLD = "gold"
    VIP = "vip"


class ChannelConsent(Contract):
    """Consent for one channel, as 정보통신망법 art. 50 asks: explicit, per channel, dated."""

    advertising: bool = Field(default=False, description="Prior opt-in to advertising.")
    night_time: bool = Field(
        default=False,
        description="Separate opt-in to advertising between 21:00 and 08:00 KST.",
    )
    updated_at: AwareDatetime | None = Field(
        default=None,
        description="When the customer last gave or confirmed this consent; the two-yearly "
        "re-confirmation (art. 50(8)) counts from it. Undated consents are not checked.",
    )


NO_CONSENT = ChannelConsent()


class Consents(Contract):
    """Advertising consent per channel that can carry advertising. Kakao alimtalk has none:
    it never carries advertising, so there is nothing to consent to."""

    email: ChannelConsent = ChannelConsent()
    sms: ChannelConsent = ChannelConsent()
    push: ChannelConsent = ChannelConsent()
    kakao_friendtalk: ChannelConsent = Field(
        default=ChannelConsent(),
        description="Kakao channel messages (friendtalk). `kakao`, its name before Kakao was "
        "two channels, is read as this.",
    )

    @model_validator(mode="before")
    @classmethod
    def _kakao_as_friendtalk(cls, data: Any) -> Any:
        """`kakao` (earlier releases' one Kakao consent) is the friendtalk consent: it was
        an opt-in to advertising, which Kakao carries by friendtalk only. Both at once is
        refused rather than one silently preferred: they may disagree about an opt-out."""
        if isinstance(data, dict) and LEGACY_KAKAO in data:
            if Channel.KAKAO_FRIENDTALK.value in data:
                raise ValueError("give kakao_friendtalk or kakao (its earlier name), not both")
            data = {
                (Channel.KAKAO_FRIENDTALK.value if k == LEGACY_KAKAO else k): v
                for k, v in data.items()
            }
        return data

    def for_channel(self, channel: Channel) -> ChannelConsent:
        if channel is Channel.KAKAO_ALIMTALK:
            return NO_CONSENT
        consent: ChannelConsent = getattr(self, channel.value)
        return consent


CONSENT_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.PUSH, Channel.KAKAO_FRIENDTALK)
"""The channels advertising consent is given for (all but alimtalk), in `Consents` order."""


class CustomerProfile(Contract):
    customer_id: Identifier
    name: str | None = Field(default=None, max_length=100, description="Personal data.")
    email: str | None = Field(
        default=None,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="Personal data.",
    )
    phone: str | None = Field(
        default=None, max_length=20, pattern=r"^\+?[0-9\-\s]{8,20}$", description="Personal data."
    )
    tier: Tier = Tier.BASIC
    preferred_channel: Channel = Channel.EMAIL
    consents: Consents = Consents()
    kakao_friend: bool = Field(
        default=False,
        description="Added the shop's Kakao channel as a friend: friendtalk reaches only "
        "friends. Absent (earlier profiles): not a friend.",
    )
    last_active_at: AwareDatetime | None = None
    updated_at: AwareDatetime
