"""The sample shop's customers: who they are, what they consent to, how active they are.

Tiers, consent archetypes and last activity are spread over the customers in fixed
proportions (not drawn one by one), so even a small sample has every kind; names, e-mail
addresses and phone numbers are drawn from the shipped name lists (data/people.yaml).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from engage_stream.samples.content import sample_content
from engage_stream.schemas.common import Channel
from engage_stream.schemas.customers import (
    CONSENT_CHANNELS,
    ChannelConsent,
    Consents,
    CustomerProfile,
    Tier,
)

_TIER_WEIGHTS: list[tuple[Tier, int]] = [
    (Tier.BASIC, 62),
    (Tier.SILVER, 23),
    (Tier.GOLD, 10),
    (Tier.VIP, 5),
]
_TIER_ACTIVITY = {Tier.BASIC: 1.0, Tier.SILVER: 1.3, Tier.GOLD: 1.8, Tier.VIP: 2.5}

# Consent archetypes: which channels allow advertising, and where night-time consent is given.
_CONSENT_ARCHETYPES: list[tuple[str, frozenset[Channel], frozenset[Channel], int]] = [
    ("none", frozenset(), frozenset(), 22),
    ("email_only", frozenset({Channel.EMAIL}), frozenset(), 24),
    ("email_kakao", frozenset({Channel.EMAIL, Channel.KAKAO_FRIENDTALK}), frozenset(), 16),
    ("sms_push", frozenset({Channel.SMS, Channel.PUSH}), frozenset(), 8),
    (
        "sms_push_night",
        frozenset({Channel.SMS, Channel.PUSH}),
        frozenset({Channel.SMS, Channel.PUSH}),
        6,
    ),
    ("all", frozenset(CONSENT_CHANNELS), frozenset(), 16),
    (
        "all_night",
        frozenset(CONSENT_CHANNELS),
        frozenset({Channel.SMS, Channel.PUSH, Channel.KAKAO_FRIENDTALK}),
        8,
    ),
]
KAKAO_NOT_FRIENDS = 4
"""One in this many customers who consent to Kakao advertising has not added the shop's
channel as a friend (by index, not drawn: the random draws stay those of earlier samples)."""
_CHANNEL_PREFERENCE = {
    Channel.KAKAO_FRIENDTALK: 40,
    Channel.EMAIL: 35,
    Channel.PUSH: 15,
    Channel.SMS: 10,
}

# Last activity before the stream starts: days ago (low, high) and share of customers.
_ACTIVITY_BUCKETS: list[tuple[tuple[int, int], int]] = [
    ((0, 7), 62),
    ((8, 29), 20),
    ((30, 365), 18),
]
INACTIVE_DAYS = 30


def make_profiles(
    rng: random.Random, n: int, start: datetime
) -> tuple[list[CustomerProfile], list[float]]:
    """`n` customers as of `start`, and each one's relative chance that a session is theirs."""
    people = sample_content().people
    tiers = _spread(rng, n, [w for _, w in _TIER_WEIGHTS])
    consents = _spread(rng, n, [a[3] for a in _CONSENT_ARCHETYPES])
    activity = _spread(rng, n, [w for _, w in _ACTIVITY_BUCKETS])
    surnames, surname_weights = people.surnames, [s.weight for s in people.surnames]
    emails: set[str] = set()
    profiles: list[CustomerProfile] = []
    weights: list[float] = []
    for index in range(n):
        surname = rng.choices(surnames, weights=surname_weights)[0]
        given = rng.choice(people.given_names)
        email = _email(rng, given.roman, surname.roman, emails, people.email_domains)
        tier = _TIER_WEIGHTS[tiers[index]][0]
        _, advertising, night, _ = _CONSENT_ARCHETYPES[consents[index]]
        signed_up = start - timedelta(days=rng.randint(30, 1_500), minutes=rng.randint(0, 1439))
        decided = (signed_up + (start - signed_up) * rng.random() * 0.9).replace(microsecond=0)
        has_phone = (
            bool(advertising & {Channel.SMS, Channel.KAKAO_FRIENDTALK}) or rng.random() < 0.9
        )
        low, high = _ACTIVITY_BUCKETS[activity[index]][0]
        last_active = start - timedelta(days=rng.randint(low, high), seconds=rng.randint(0, 86_399))
        preferred = _preferred_channel(rng, advertising)
        profiles.append(
            CustomerProfile(
                customer_id=f"C{index:05d}",
                name=surname.name + given.name,
                email=email,
                phone=(
                    f"010-{rng.randint(2000, 9999)}-{rng.randint(0, 9999):04d}"
                    if has_phone
                    else None
                ),
                tier=tier,
                preferred_channel=preferred,
                consents=Consents(
                    **{
                        channel.value: ChannelConsent(
                            advertising=channel in advertising,
                            night_time=channel in night,
                            updated_at=decided if channel in advertising else signed_up,
                        )
                        for channel in CONSENT_CHANNELS
                    }
                ),
                kakao_friend=(
                    Channel.KAKAO_FRIENDTALK in advertising and index % KAKAO_NOT_FRIENDS != 0
                ),
                last_active_at=max(last_active, signed_up),
                updated_at=start - timedelta(seconds=rng.randint(60, 3 * 86_400)),
            )
        )
        weight = rng.lognormvariate(0, 0.6) * _TIER_ACTIVITY[tier]
        if low >= INACTIVE_DAYS:
            weight *= 0.03  # now and then one comes back
        weights.append(weight)
    return profiles, weights


def _spread(rng: random.Random, n: int, weights: Sequence[int]) -> list[int]:
    """n category indices in the given proportions (largest remainder), shuffled."""
    total = sum(weights)
    exact = [n * w / total for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    picks = [i for i, c in enumerate(counts) for _ in range(c)]
    rng.shuffle(picks)
    return picks


def _email(
    rng: random.Random, given: str, surname: str, taken: set[str], domains: Sequence[str]
) -> str:
    """An address the customer might have chosen, not yet taken by another."""
    while True:
        style = rng.random()
        if style < 0.4:
            local = f"{given}{rng.randint(70, 99) if rng.random() < 0.6 else rng.randint(1, 999)}"
        elif style < 0.75:
            local = f"{given}.{surname}"
        else:
            local = f"{surname}{given[:3]}{rng.randint(0, 99):02d}"
        email = f"{local}@{rng.choice(domains)}"
        if email not in taken:
            taken.add(email)
            return email


def _preferred_channel(rng: random.Random, advertising: frozenset[Channel]) -> Channel:
    candidates = [c for c in _CHANNEL_PREFERENCE if c in advertising] or list(_CHANNEL_PREFERENCE)
    return rng.choices(candidates, weights=[_CHANNEL_PREFERENCE[c] for c in candidates])[0]
