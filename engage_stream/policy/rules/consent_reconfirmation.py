"""Consent re-confirmation (정보통신망법 제50조 ⑧, 시행령 제62조의3): every two years from the
day a customer consented to advertising on a channel, they are told what they consented to,
when, and how to keep or withdraw it. Transactional (no "(광고)" mark, no consent, night
time or caps): the law owes it to the customer, so no experiment holds it back either.

Not a next-best-action rule: an input owes one notice per channel whose consent is due, not
one offer, and the notice is owed whatever the other rules offer. It is checked on every
input of a customer with a profile, as of the input's own time (an event's `occurred_at`, a
profile update's `updated_at`), never the clock, so a replay sends what live sent. A consent
is due once `reconfirm_after_days` have passed since its `updated_at` and then again every
as many days (its periods); the notice of a period has its own id and is remembered in the
customer's state, so each period's is sent once. The CRM moving `updated_at` (the customer
confirmed or changed the consent) starts the count again. Whether advertising on a channel
whose consent is due waits for that (`advertising_waits`) is the policy's choice: the law
keeps a notified consent standing, a stricter shop may not.

Template `consent_reconfirmation.v1`; values: `channel` (the consent's channel, in Korean),
`consented_on` ("2024년 3월 10일"), `night_time` (the customer also consented at night),
`sender` and `contact` (the policy's sender), `must_confirm` (advertising waits for the
customer to confirm: the notice asks them to).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from engage_stream.policy.rules.rule import Offer
from engage_stream.policy.templates import MessageTemplates
from engage_stream.schemas.common import Channel
from engage_stream.schemas.customers import CONSENT_CHANNELS, ChannelConsent, Consents

CHANNEL_NAMES: Mapping[Channel, str] = MappingProxyType(
    {
        Channel.EMAIL: "이메일",
        Channel.SMS: "문자 메시지",
        Channel.PUSH: "앱 푸시 알림",
        Channel.KAKAO_FRIENDTALK: "카카오톡 채널 메시지",
    }
)
"""A consent's channel as the notice names it."""


class ConsentReconfirmationRule(BaseModel):
    """`outbound.consent_reconfirmation` in the policy file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        default=True, description="Send the notices (false: the shop sends them elsewhere)."
    )
    reconfirm_after_days: int = Field(
        default=730, ge=1, le=3_650, description="A consent this old is due for its notice."
    )
    advertising_waits: bool = Field(
        default=False,
        description="Advertising on a channel whose consent is due is held (suppressed, "
        "consent_not_reconfirmed) until the CRM shows it confirmed; false: it continues.",
    )


@dataclass(frozen=True, slots=True)
class DueConsent:
    """A consent whose notice for `period` (1: the first two years) is owed."""

    channel: Channel
    consent: ChannelConsent
    consented_at: datetime
    period: int
    source_id: str
    """The notice's synthetic source id: one per customer, channel, consent and period."""


def age_periods(spec: ConsentReconfirmationRule, consent: ChannelConsent, at: datetime) -> int:
    """Whole re-confirmation periods since the consent was given (0: not due); an undated
    consent or one that grants no advertising is never due."""
    if not consent.advertising or consent.updated_at is None:
        return 0
    return max(0, (at - consent.updated_at) // timedelta(days=spec.reconfirm_after_days))


def awaits_reconfirmation(
    spec: ConsentReconfirmationRule, consent: ChannelConsent, at: datetime
) -> bool:
    """Whether advertising at `at` on this consent waits for it to be re-confirmed."""
    return spec.advertising_waits and age_periods(spec, consent, at) > 0


@lru_cache(maxsize=4096)
def notice_id(
    customer_id: str, channel: Channel, consented_at: datetime, period: int, zone: ZoneInfo
) -> str:
    """An Identifier (at most 128 characters) whatever the length of the customer id. Kept
    for the customers asked again: a notice owed is looked for with every input of theirs."""
    stamp = f"{consented_at.astimezone(zone):%Y%m%dT%H%M%S}"
    tail = f"{channel.value.replace('_', '-')}:{stamp}:p{period}"
    readable = f"reconfirm:{customer_id}:{tail}"
    if len(readable) <= 128:
        return readable
    digest = hashlib.sha256(customer_id.encode()).hexdigest()[:32]
    return f"reconfirm:{digest}:{tail}"


def due_consents(
    spec: ConsentReconfirmationRule,
    consents: Consents,
    customer_id: str,
    at: datetime,
    zone: ZoneInfo,
) -> list[DueConsent]:
    """The consents whose notice is owed as of `at`, in channel order. Checked on every
    input, so a consent that is not due costs one comparison."""
    if not spec.enabled:
        return []
    cutoff = at - timedelta(days=spec.reconfirm_after_days)
    due = []
    for channel, field in _CONSENT_FIELDS:
        consent: ChannelConsent = getattr(consents, field)
        given = consent.updated_at
        if not consent.advertising or given is None or given > cutoff:
            continue
        period = age_periods(spec, consent, at)
        source_id = notice_id(customer_id, channel, given, period, zone)
        due.append(DueConsent(channel, consent, given, period, source_id))
    return due


_CONSENT_FIELDS = tuple((channel, channel.value) for channel in CONSENT_CHANNELS)


def notice_channel(channel: Channel) -> Channel:
    """Where a consent's notice goes: on its own channel, but friendtalk carries only
    advertising, so a Kakao consent is confirmed by alimtalk (informational)."""
    return Channel.KAKAO_ALIMTALK if channel is Channel.KAKAO_FRIENDTALK else channel


def korean_date(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.year}년 {local.month}월 {local.day}일"


class ConsentReconfirmation:
    name = "consent_reconfirmation"
    template = "consent_reconfirmation.v1"
    sample: Mapping[str, object] = MappingProxyType(
        {
            "channel": CHANNEL_NAMES[Channel.KAKAO_FRIENDTALK],
            "consented_on": "2024년 3월 10일",
            "night_time": True,
            "sender": "engage-stream 샵",
            "contact": "고객센터 1588-0000",
            "must_confirm": False,
        }
    )

    def offer(
        self,
        spec: ConsentReconfirmationRule,
        due: DueConsent,
        at: datetime,
        sender: tuple[str, str],
        messages: MessageTemplates,
        zone: ZoneInfo,
    ) -> Offer:
        """The notice for `due`, as of `at`; `sender`: the policy's name and contact."""
        name, contact = sender
        message = messages.render(
            self.template,
            {
                "channel": CHANNEL_NAMES[due.channel],
                "consented_on": korean_date(due.consented_at, zone),
                "night_time": due.consent.night_time,
                "sender": name,
                "contact": contact,
                "must_confirm": spec.advertising_waits,
            },
        )
        return Offer(
            rule=self.name,
            template_id=self.template,
            advertising=False,
            earliest=at,
            subject=message.subject,
            body=message.body,
            channel=notice_channel(due.channel),
            remembered=True,
        )
