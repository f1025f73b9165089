"""Korean advertising rules for outbound messages (정보통신망법 제50조), per channel.

Given a message a rule wants to send, decide the channel, the earliest send time and the
consent it rests on, mark advertising as the law asks, or refuse with a reason:
- advertising needs the channel's prior opt-in (refused: `no_advertising_consent`);
- 21:00-08:00 local time needs the separate night-time opt-in on non-exempt channels;
  without it the message is scheduled for the end of the night, not dropped;
- advertising starts with the prefix ("(광고)"), names the sender and how to opt out;
- frequency caps count advertising already scheduled for the customer (durable state);
- transactional messages skip consent, night time and caps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from engage_stream.enrichment.profile import reachable
from engage_stream.enrichment.state import SentMessage
from engage_stream.policy.policy_file import OutboundPolicy
from engage_stream.policy.rules.rule import Offer as Offer  # the rules make offers; placed here
from engage_stream.schemas.actions import ConsentBasis, SuppressionReason
from engage_stream.schemas.common import Channel
from engage_stream.schemas.enriched import ProfileSnapshot

SUBJECT_CHANNELS = frozenset({Channel.EMAIL})


@dataclass(frozen=True, slots=True)
class Placement:
    channel: Channel
    send_not_before: datetime
    consent_basis: ConsentBasis
    subject: str | None
    body: str


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: SuppressionReason
    detail: str


def candidate_channels(policy: OutboundPolicy, profile: ProfileSnapshot) -> list[Channel]:
    if policy.channels_by_preference and profile.preferred_channel is not Channel.EMAIL:
        return [profile.preferred_channel, Channel.EMAIL]
    return [Channel.EMAIL]


def place(
    offer: Offer,
    profile: ProfileSnapshot,
    sent: Sequence[SentMessage],
    policy: OutboundPolicy,
    zone: ZoneInfo,
) -> Placement | Refusal:
    if not offer.advertising:
        channel = offer.channel or Channel.EMAIL
        return Placement(
            channel=channel,
            send_not_before=offer.earliest,
            consent_basis=ConsentBasis.TRANSACTIONAL,
            subject=offer.subject if channel in SUBJECT_CHANNELS else None,
            body=offer.body,
        )
    channels = [offer.channel] if offer.channel else candidate_channels(policy, profile)
    consented = [c for c in channels if profile.consents.for_channel(c).advertising]
    if not consented:
        names = ", ".join(c.value for c in channels)
        found = "" if profile.found else " (no profile yet: defaults grant none)"
        return Refusal(
            SuppressionReason.NO_ADVERTISING_CONSENT, f"no advertising opt-in on {names}{found}"
        )
    usable = [c for c in consented if reachable(profile, c)]
    if not usable:
        names = ", ".join(c.value for c in consented)
        return Refusal(SuppressionReason.NO_CONTACT_ADDRESS, f"no address on file for {names}")
    channel = usable[0]
    send_at, basis = night_time(offer.earliest, channel, profile, policy, zone)
    capped = cap_exceeded(send_at, sent, policy)
    if capped is not None:
        return Refusal(SuppressionReason.FREQUENCY_CAP, capped)
    subject, body = mark_advertising(offer.subject, offer.body, channel, policy)
    return Placement(
        channel=channel,
        send_not_before=send_at,
        consent_basis=basis,
        subject=subject,
        body=body,
    )


def is_night(moment: datetime, policy: OutboundPolicy, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone).time()
    start, end = policy.night_time.start, policy.night_time.end
    return local >= start or local < end if start > end else start <= local < end


def night_time(
    earliest: datetime,
    channel: Channel,
    profile: ProfileSnapshot,
    policy: OutboundPolicy,
    zone: ZoneInfo,
) -> tuple[datetime, ConsentBasis]:
    """When an advertising message may go out, and on which consent."""
    if channel in policy.night_time.exempt_channels or not is_night(earliest, policy, zone):
        return earliest, ConsentBasis.ADVERTISING_OPT_IN
    if profile.consents.for_channel(channel).night_time:
        return earliest, ConsentBasis.NIGHT_TIME_OPT_IN
    return end_of_night(earliest, policy, zone), ConsentBasis.ADVERTISING_OPT_IN


def end_of_night(moment: datetime, policy: OutboundPolicy, zone: ZoneInfo) -> datetime:
    local = moment.astimezone(zone)
    end = local.replace(
        hour=policy.night_time.end.hour,
        minute=policy.night_time.end.minute,
        second=0,
        microsecond=0,
    )
    if end <= local:
        end = (local + timedelta(days=1)).replace(
            hour=end.hour, minute=end.minute, second=0, microsecond=0
        )
    return end


def cap_exceeded(
    send_at: datetime, sent: Sequence[SentMessage], policy: OutboundPolicy
) -> str | None:
    """Why another advertising message at `send_at` would break a cap, or None."""
    for cap in policy.frequency_caps:
        window = timedelta(hours=cap.window_hours)
        near = [m for m in sent if m.advertising and abs(m.send_at - send_at) < window]
        if len(near) >= cap.max_messages:
            return (
                f"{len(near)} advertising message(s) already within {cap.window_hours:g} h "
                f"(cap {cap.max_messages})"
            )
    return None


def mark_advertising(
    subject: str, body: str, channel: Channel, policy: OutboundPolicy
) -> tuple[str | None, str]:
    prefix = policy.advertising_prefix
    footer = f"{policy.sender.name} | {policy.sender.contact}\n{policy.opt_out_footer}"
    marked_body = f"{body}\n\n{footer}"
    if channel in SUBJECT_CHANNELS:
        return f"{prefix} {subject}", marked_body
    return None, f"{prefix} {marked_body}"
