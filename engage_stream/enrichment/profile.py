"""The customer's profile as decisions see it, with defaults when none has arrived yet.

A missing profile is normal (the event can overtake the profile on another topic): the
defaults grant no advertising consent, so nothing promotional goes out on a guess.
"""

from __future__ import annotations

from engage_stream.schemas.common import Channel
from engage_stream.schemas.customers import Consents, CustomerProfile, Tier
from engage_stream.schemas.enriched import ProfileSnapshot


def snapshot(profile: CustomerProfile | None) -> ProfileSnapshot:
    if profile is None:
        return ProfileSnapshot(
            found=False,
            tier=Tier.BASIC,
            preferred_channel=Channel.EMAIL,
            consents=Consents(),
            has_email=False,
            has_phone=False,
        )
    return ProfileSnapshot(
        found=True,
        tier=profile.tier,
        preferred_channel=profile.preferred_channel,
        consents=profile.consents,
        has_email=profile.email is not None,
        has_phone=profile.phone is not None,
        kakao_friend=profile.kakao_friend,
        last_active_at=profile.last_active_at,
    )


def reachable(snap: ProfileSnapshot, channel: Channel) -> bool:
    """Whether the CRM has an address for the channel: push goes by customer id, Kakao's
    business messages by phone number, and friendtalk reaches only friends of the shop's
    Kakao channel."""
    if channel is Channel.EMAIL:
        return snap.has_email
    if channel in (Channel.SMS, Channel.KAKAO_ALIMTALK):
        return snap.has_phone
    if channel is Channel.KAKAO_FRIENDTALK:
        return snap.has_phone and snap.kakao_friend
    return snap.found
