"""Customer profiles on the compacted `crm.customers` topic, keyed by `customer_id`."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from engage_stream.schemas.common import Channel, Contract, Identifier


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
    updated_at: AwareDatetime | None = None


class Consents(Contract):
    email: ChannelConsent = ChannelConsent()
    sms: ChannelConsent = ChannelConsent()
    push: ChannelConsent = ChannelConsent()
    kakao: ChannelConsent = ChannelConsent()

    def for_channel(self, channel: Channel) -> ChannelConsent:
        consent: ChannelConsent = getattr(self, channel.value)
        return consent


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
    last_active_at: AwareDatetime | None = None
    updated_at: AwareDatetime
