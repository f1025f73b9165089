"""Win-back: a profile snapshot showing the customer inactive for the policy's number of
days. One message per inactive spell (its id comes from the last-active time), so
snapshots published again do not send again. Advertising.

Template `win_back.v1`; values: `days` (whole days since the last activity).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType

from pydantic import Field

from engage_stream.policy.rules.rule import Moment, Offer, RuleSpec
from engage_stream.policy.templates import MessageTemplates


class WinBackRule(RuleSpec):
    inactive_days: float = Field(gt=0, le=3_650)


def win_back_id(customer_id: str, last_active: datetime) -> str:
    """The synthetic source id of a win-back: one per customer and inactive spell, an
    Identifier (at most 128 characters) whatever the length of the customer id."""
    stamp = f"{last_active:%Y%m%dT%H%M%S}"
    readable = f"winback:{customer_id}:{stamp}"
    if len(readable) <= 128:
        return readable
    digest = hashlib.sha256(customer_id.encode()).hexdigest()[:32]
    return f"winback:{digest}:{stamp}"


class WinBack:
    name = "win_back"
    template = "win_back.v1"
    sample: Mapping[str, object] = MappingProxyType({"days": 45})

    def occasion(self, spec: WinBackRule, moment: Moment) -> str | None:
        profile = moment.profile
        if moment.event is not None or profile is None:
            return None
        last = profile.last_active_at
        if last is None or profile.updated_at - last < timedelta(days=spec.inactive_days):
            return None
        return win_back_id(profile.customer_id, last.astimezone(moment.zone))

    def offer(self, spec: WinBackRule, moment: Moment, messages: MessageTemplates) -> Offer:
        profile = moment.profile
        last = profile.last_active_at if profile is not None else None
        assert profile is not None
        assert last is not None
        days = (profile.updated_at - last).days
        message = messages.render(self.template, {"days": days})
        return Offer(
            rule=self.name,
            template_id=self.template,
            advertising=spec.advertising,
            earliest=profile.updated_at,
            subject=message.subject,
            body=message.body,
        )
