"""What a next-best-action rule is: a trigger, its spec in the policy file and its message
template, behind one protocol, so that the core iterates the rules instead of knowing each.

A rule sees one input (a `Moment`), says whether it applies and, if the policy enables it,
what it offers: a message (`Offer`, placed by `policy.outbound` under the advertising rules)
or, for a rule that answers the customer, a `Referral` to a person when the answer is not
sure to answer. Rules decide from event time and the input only, so replays decide alike.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engage_stream.policy.templates import MessageTemplates
from engage_stream.schemas.actions import ArmStamp, HandoffReason
from engage_stream.schemas.common import Channel
from engage_stream.schemas.customers import CustomerProfile
from engage_stream.schemas.events import EVENT_TYPES, CrmEvent
from engage_stream.schemas.scores import Scores

ExitMatch = Literal["any", "cart_items", "same_order"]

ORDER_ID_EVENTS = frozenset(
    {"order.placed", "order.shipped", "order.delivered", "order.cancelled", "refund.issued"}
)


class ExitOn(BaseModel):
    """An event that takes a held offer of the rule back (`policy.journeys`): any event of
    that type, one holding an item of the cart (`cart_items`, an `order.placed`), or one
    about the offer's own order (`same_order`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: str
    match: ExitMatch = "any"

    @field_validator("event")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in EVENT_TYPES:
            raise ValueError(f"{value!r} is not an event type ({', '.join(EVENT_TYPES)})")
        return value

    @model_validator(mode="after")
    def _match_fits_event(self) -> ExitOn:
        if self.match == "cart_items" and self.event != "order.placed":
            raise ValueError("match cart_items needs event order.placed (it lists the items)")
        if self.match == "same_order" and self.event not in ORDER_ID_EVENTS:
            about_orders = ", ".join(sorted(ORDER_ID_EVENTS))
            raise ValueError(f"match same_order needs an event about an order ({about_orders})")
        return self


class RuleSpec(BaseModel):
    """A rule's settings under `outbound.rules.<name>` in the policy file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    EXIT_MATCHES: ClassVar[frozenset[str]] = frozenset({"any"})
    """The `exit_on` matches the rule's offers carry what they need for."""

    enabled: bool = True
    advertising: bool
    priority: int = Field(
        default=50,
        ge=1,
        le=1_000,
        description="Lower goes first when several offers are due for a customer at once "
        "(they compete under the frequency caps).",
    )
    exit_on: list[ExitOn] = Field(
        default_factory=list,
        description="Events that take a held (delayed) offer back before its due time.",
    )

    @field_validator("exit_on")
    @classmethod
    def _matches_known(cls, value: list[ExitOn]) -> list[ExitOn]:
        for exit_on in value:
            if exit_on.match not in cls.EXIT_MATCHES:
                raise ValueError(
                    f"match {exit_on.match} is not for this rule's offers "
                    f"(it can match: {', '.join(sorted(cls.EXIT_MATCHES))})"
                )
        return value


@dataclass(frozen=True, slots=True)
class Offer:
    """A message a rule wants to send, before the rules of the channel apply."""

    rule: str
    template_id: str
    advertising: bool
    earliest: datetime
    subject: str
    body: str
    channel: Channel | None = None
    """Fixed channel (an answer goes back the way the question came), or None to choose."""
    arms: tuple[ArmStamp, ...] = ()
    """The experiment arms it was offered in (`policy.experiments`), stamped on its outputs."""
    remembered: bool = False
    """Kept in the customer's state once sent even when transactional (a notice owed once
    per period); advertising is always kept, for the caps."""
    order_id: str | None = None
    """The order it is about, for `exit_on` `same_order`."""
    items: tuple[str, ...] = ()
    """The SKUs it is about, for `exit_on` `cart_items`."""


@dataclass(frozen=True, slots=True)
class Referral:
    """Not sent: a person answers instead (`why` goes on the decision)."""

    reason: HandoffReason
    why: str


class Answer(Protocol):
    """What a rule reads of the knowledge bank's answer (`drafting.draft.Suggestion`)."""

    @property
    def answer_id(self) -> str: ...
    @property
    def topic(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def auto_send(self) -> bool: ...


class Drafted(Protocol):
    """What a rule reads of a draft (`drafting.draft.Draft`)."""

    @property
    def text(self) -> str: ...
    @property
    def fallback(self) -> str | None: ...
    @property
    def answer(self) -> Answer | None: ...


def no_draft() -> Drafted:
    """The draft of an input that asks nothing: none."""
    raise LookupError("this input asks no question to draft an answer to")


@dataclass(frozen=True, slots=True)
class Moment:
    """One input as the rules see it, decided as of its own time."""

    event: CrmEvent | None
    """None for a profile snapshot (profile-driven rules such as win-back)."""
    profile: CustomerProfile | None
    at: datetime
    """Event time (the snapshot's `updated_at` for a profile)."""
    zone: ZoneInfo
    scores: Scores | None = None
    small_talk_topics: Collection[str] = ()
    """Topics that ask the shop nothing (`handoff.drafting.small_talk_topics`)."""
    draft: Callable[[], Drafted] = field(default=no_draft)
    """The drafted answer to the question the input asks; the core drafts it at most once,
    and only when a rule that answers asks for it."""


SpecT = TypeVar("SpecT", bound=RuleSpec, contravariant=True)


class NextBestActionRule(Protocol[SpecT]):
    """One rule. `name` is its key under `outbound.rules` and the rule part of its action
    ids; `template` its message template (a file in the policy's `messages` folder), whose
    variables are the keys of `sample`, the values it is checked with at start."""

    @property
    def name(self) -> str: ...
    @property
    def template(self) -> str: ...
    @property
    def sample(self) -> Mapping[str, object]: ...

    def occasion(self, spec: SpecT, moment: Moment) -> str | None:
        """The id its action id is made from when the rule applies to `moment` (the event's
        own id; one per occasion for a profile-driven rule, so a snapshot published again
        does not send again), or None when it does not apply."""
        ...

    def offer(self, spec: SpecT, moment: Moment, messages: MessageTemplates) -> Offer | Referral:
        """What the rule offers, once it applies and the policy enables it."""
        ...
