"""Korean advertising rules for outbound messages (정보통신망법 제50조), per channel.

Given a message a rule wants to send, decide the channel, the earliest send time and the
consent it rests on, mark advertising as the law asks, or refuse with a reason:
- advertising needs the channel's prior opt-in (refused: `no_advertising_consent`);
- a consent due for its two-yearly re-confirmation holds advertising on its channel when
  the policy says so (`consent_not_reconfirmed`; `outbound.consent_reconfirmation`);
- 21:00-08:00 local time needs the separate night-time opt-in on non-exempt channels;
  without it the message is scheduled for the end of the night, not dropped; a channel's
  own quiet hours (Kakao friendtalk: 20:00-08:00) hold it whatever the opt-in;
- advertising starts with the prefix ("(광고)"), names the sender and how to opt out;
- frequency caps count advertising already scheduled for the customer (durable state);
- transactional messages skip consent, night time and caps.

Kakao is two channels. Friendtalk carries advertising only, and only to friends of the
shop's Kakao channel: a preferred friendtalk that cannot be used (not a friend) falls back to
the next consented channel, marked the same. Alimtalk carries no advertising, ever, and
each message needs the code Kakao registered its template under (`no_alimtalk_template`);
a transactional message goes by alimtalk to a customer who prefers Kakao.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from engage_stream.enrichment.profile import reachable
from engage_stream.enrichment.state import SentMessage
from engage_stream.policy.policy_file import OutboundPolicy
from engage_stream.policy.rules.consent_reconfirmation import awaits_reconfirmation
from engage_stream.policy.rules.rule import Offer as Offer  # the rules make offers; placed here
from engage_stream.schemas.actions import ConsentBasis, SendWindow, SuppressionReason
from engage_stream.schemas.common import Channel
from engage_stream.schemas.enriched import ProfileSnapshot

SUBJECT_CHANNELS = frozenset({Channel.EMAIL})
KAKAO_CHANNELS = frozenset({Channel.KAKAO_ALIMTALK, Channel.KAKAO_FRIENDTALK})


@dataclass(frozen=True, slots=True)
class Placement:
    channel: Channel
    send_not_before: datetime
    consent_basis: ConsentBasis
    subject: str | None
    body: str
    template_code: str | None = None
    """Alimtalk: the code Kakao registered the template under."""
    passed_over: str = ""
    """Consented channels not used, and why, for the decision ("sms: consent awaits ...")."""
    send_window: SendWindow | None = None
    """The local hours it may be sent in (`allowed_window`); None: any hour."""


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: SuppressionReason
    detail: str


def candidate_channels(policy: OutboundPolicy, profile: ProfileSnapshot) -> list[Channel]:
    if policy.channels_by_preference and profile.preferred_channel is not Channel.EMAIL:
        return [profile.preferred_channel, Channel.EMAIL]
    return [Channel.EMAIL]


def informational_channel(channel: Channel) -> Channel:
    """Where a transactional message for `channel` goes: friendtalk carries advertising
    only, so Kakao's informational messages go by alimtalk."""
    return Channel.KAKAO_ALIMTALK if channel is Channel.KAKAO_FRIENDTALK else channel


def transactional_channel(policy: OutboundPolicy, profile: ProfileSnapshot) -> Channel:
    """E-mail, or alimtalk for a customer who prefers Kakao and can be reached there."""
    kakao = policy.channels_by_preference and profile.preferred_channel in KAKAO_CHANNELS
    if kakao and reachable(profile, Channel.KAKAO_ALIMTALK):
        return Channel.KAKAO_ALIMTALK
    return Channel.EMAIL


def place(
    offer: Offer,
    profile: ProfileSnapshot,
    sent: Sequence[SentMessage],
    policy: OutboundPolicy,
    zone: ZoneInfo,
) -> Placement | Refusal:
    if not offer.advertising:
        return _transactional(offer, profile, policy)
    channels = [offer.channel] if offer.channel else candidate_channels(policy, profile)
    consented = [c for c in channels if profile.consents.for_channel(c).advertising]
    if not consented:
        names = ", ".join(c.value for c in channels)
        found = "" if profile.found else " (no profile yet: defaults grant none)"
        never = (
            " (kakao_alimtalk never carries advertising)"
            if Channel.KAKAO_ALIMTALK in channels
            else ""
        )
        return Refusal(
            SuppressionReason.NO_ADVERTISING_CONSENT,
            f"no advertising opt-in on {names}{found}{never}",
        )
    blocked = {c: why for c in consented if (why := _unusable(c, offer, profile, policy))}
    usable = [c for c in consented if c not in blocked]
    if not usable:
        return _refused(blocked, profile, policy)
    channel = usable[0]
    send_at, basis = night_time(offer.earliest, channel, profile, policy, zone)
    capped = cap_exceeded(send_at, sent, policy)
    if capped is not None:
        return Refusal(SuppressionReason.FREQUENCY_CAP, capped)
    subject, body = mark_advertising(offer.subject, offer.body, channel, policy)
    passed = [f"{c.value}: {blocked[c]}" for c in consented[: consented.index(channel)]]
    return Placement(
        channel=channel,
        send_not_before=send_at,
        consent_basis=basis,
        subject=subject,
        body=body,
        passed_over="; ".join(passed),
        send_window=allowed_window(channel, profile, policy, zone),
    )


def allowed_window(
    channel: Channel, profile: ProfileSnapshot, policy: OutboundPolicy, zone: ZoneInfo
) -> SendWindow | None:
    """The daily local hours an advertisement on `channel` may go out in: outside the law's
    night unless the channel is exempt or the customer opted in to night-time advertising,
    and outside the channel's own quiet hours whatever the opt-in. A sender that reaches
    the message late (a backlog, an outage) must still hold it to these hours."""
    night = policy.night_time
    quiet: list[tuple[time, time]] = []
    if (
        channel not in night.exempt_channels
        and not profile.consents.for_channel(channel).night_time
    ):
        quiet.append((night.start, night.end))
    own = night.channel_windows.get(channel)
    if own is not None:
        quiet.append((own.start, own.end))
    if not quiet:
        return None
    allowed = [(end, start) for start, end in quiet]  # open from a quiet window's end to its start
    if all(opens < closes for opens, closes in allowed):
        opens, closes = max(a for a, _ in allowed), min(b for _, b in allowed)
    else:  # a window across midnight: the narrower one (what the policies ship never does this)
        opens, closes = min(allowed, key=lambda w: _hours_open(*w))
    return SendWindow(start=opens, end=closes, timezone=zone.key)


def _hours_open(opens: time, closes: time) -> float:
    start, end = opens.hour + opens.minute / 60, closes.hour + closes.minute / 60
    return (end - start) % 24


NOT_A_FRIEND = "not a friend of the shop's Kakao channel"
NO_ADDRESS = "no address on file"
AWAITS_RECONFIRMATION = "consent awaits its re-confirmation"


def _unusable(
    channel: Channel, offer: Offer, profile: ProfileSnapshot, policy: OutboundPolicy
) -> str | None:
    """Why a consented channel cannot carry this advertisement, or None when it can."""
    consent = profile.consents.for_channel(channel)
    if awaits_reconfirmation(policy.consent_reconfirmation, consent, offer.earliest):
        return AWAITS_RECONFIRMATION
    if channel is Channel.KAKAO_FRIENDTALK and profile.has_phone and not profile.kakao_friend:
        return NOT_A_FRIEND
    return None if reachable(profile, channel) else NO_ADDRESS


def _refused(
    blocked: dict[Channel, str], profile: ProfileSnapshot, policy: OutboundPolicy
) -> Refusal:
    """No consented channel is usable: a consent awaiting re-confirmation says so first
    (the customer can lift it), else the channels cannot reach the customer."""
    waiting = [c for c, why in blocked.items() if why == AWAITS_RECONFIRMATION]
    if waiting:
        days = policy.consent_reconfirmation.reconfirm_after_days
        dates = ", ".join(
            f"{c.value} (given {_date_of(profile.consents.for_channel(c).updated_at)})"
            for c in waiting
        )
        return Refusal(
            SuppressionReason.CONSENT_NOT_RECONFIRMED,
            f"advertising waits for the re-confirmation of consents over {days} days old: "
            f"{dates} (outbound.consent_reconfirmation.advertising_waits)",
        )
    no_address = [c.value for c, why in blocked.items() if why == NO_ADDRESS]
    parts = [f"no address on file for {', '.join(no_address)}"] if no_address else []
    if blocked.get(Channel.KAKAO_FRIENDTALK) == NOT_A_FRIEND:
        parts.append(f"kakao_friendtalk: {NOT_A_FRIEND}")
    return Refusal(SuppressionReason.NO_CONTACT_ADDRESS, "; ".join(parts))


def _date_of(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment is not None else "undated"


def _transactional(
    offer: Offer, profile: ProfileSnapshot, policy: OutboundPolicy
) -> Placement | Refusal:
    channel = informational_channel(offer.channel or transactional_channel(policy, profile))
    code = None
    if channel is Channel.KAKAO_ALIMTALK:
        code = policy.kakao.alimtalk_template_codes.get(offer.template_id)
        if code is None:
            return Refusal(
                SuppressionReason.NO_ALIMTALK_TEMPLATE,
                f"template {offer.template_id} has no code registered with Kakao "
                "(outbound.kakao.alimtalk_template_codes)",
            )
    return Placement(
        channel=channel,
        send_not_before=offer.earliest,
        consent_basis=ConsentBasis.TRANSACTIONAL,
        subject=offer.subject if channel in SUBJECT_CHANNELS else None,
        body=offer.body,
        template_code=code,
    )


def in_window(moment: datetime, start: time, end: time, zone: ZoneInfo) -> bool:
    """Whether `moment` falls in the local window [start, end) (across midnight if start > end)."""
    local = moment.astimezone(zone).time()
    return local >= start or local < end if start > end else start <= local < end


def is_night(moment: datetime, policy: OutboundPolicy, zone: ZoneInfo) -> bool:
    return in_window(moment, policy.night_time.start, policy.night_time.end, zone)


def night_time(
    earliest: datetime,
    channel: Channel,
    profile: ProfileSnapshot,
    policy: OutboundPolicy,
    zone: ZoneInfo,
) -> tuple[datetime, ConsentBasis]:
    """When an advertising message may go out, and on which consent: the law's night,
    then the channel's own quiet hours, which no opt-in lifts (and which may end inside
    the law's night, so that is looked at again)."""
    send_at, basis = _law_night(earliest, channel, profile, policy, zone)
    quiet = policy.night_time.channel_windows.get(channel)
    if quiet is not None and in_window(send_at, quiet.start, quiet.end, zone):
        send_at, basis = _law_night(_next(send_at, quiet.end, zone), channel, profile, policy, zone)
    return send_at, basis


def _law_night(
    earliest: datetime,
    channel: Channel,
    profile: ProfileSnapshot,
    policy: OutboundPolicy,
    zone: ZoneInfo,
) -> tuple[datetime, ConsentBasis]:
    if channel in policy.night_time.exempt_channels or not is_night(earliest, policy, zone):
        return earliest, ConsentBasis.ADVERTISING_OPT_IN
    if profile.consents.for_channel(channel).night_time:
        return earliest, ConsentBasis.NIGHT_TIME_OPT_IN
    return end_of_night(earliest, policy, zone), ConsentBasis.ADVERTISING_OPT_IN


def end_of_night(moment: datetime, policy: OutboundPolicy, zone: ZoneInfo) -> datetime:
    return _next(moment, policy.night_time.end, zone)


def _next(moment: datetime, clock: time, zone: ZoneInfo) -> datetime:
    """The first local `clock` time after `moment` (the end of a window it is in)."""
    local = moment.astimezone(zone)
    end = local.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)
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
