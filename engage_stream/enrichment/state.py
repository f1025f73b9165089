"""Per-customer state the decisions need: conversations, messages sent, events seen, and
the facts of the customer's recent orders (so that a draft can answer with them).

It lives in a changelogged Faust table (one value per customer, so one changelog write per
event) and, during a replay, in a dict. Every entry remembers the input position that made
it, so that an event processed again after a crash (at-least-once delivery) sees the state
exactly as it was the first time (`as_of`) and decides the same. The stored state itself
never moves back: it already holds what the record did. Texts are stored masked: the
changelog holds no raw personal data.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from datetime import date
from functools import cached_property
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from engage_stream.schemas.actions import ArmStamp, ModelStamp
from engage_stream.schemas.common import Channel
from engage_stream.schemas.enriched import SourcePosition
from engage_stream.schemas.events import Sender

MAX_TURNS = 50
MAX_CONVERSATIONS = 20
MAX_SEEN = 500
MAX_SENT = 50
"""Advertising messages kept for the frequency caps. By count, not age: caps limit
advertising to a few a week, so 50 reach back months, and an event processed again after
a crash still sees every message that capped it the first time."""
MAX_NOTICES = 8
"""Transactional notices kept so that each is sent once (consent re-confirmations: one per
channel and two-year period, so 8 is two periods of every consent), beside the advertising
and never pushed out by it."""
MAX_PENDING = 20
"""Offers held for one customer at once; one more drops the one due first (`pending_limit`)."""
MAX_CLOSED = 20
"""Held offers released or exited that stay in the state: an input processed again after a
crash sees them as they were before it (`as_of`), so a release is redone, not lost."""
MAX_ORDERS = 10
"""Orders whose facts are kept (the most recently mentioned ones)."""
MAX_ORDER_FACTS = 60


class Position(BaseModel):
    """Where an input record sits: `source` is `<topic>/<partition>` (or a file name)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    offset: int

    def at_or_after(self, other: Position) -> bool:
        """Same input partition and not earlier: written by `other` or by what followed it."""
        return self.source == other.source and self.offset >= other.offset

    @classmethod
    def of(cls, source: SourcePosition) -> Position:
        return cls(source=f"{source.topic}/{source.partition}", offset=source.offset)

    def to_source(self) -> SourcePosition:
        topic, _, partition = self.source.rpartition("/")
        if not topic or not partition.isdigit():  # a file or other non-Kafka input
            return SourcePosition(topic=self.source, partition=0, offset=self.offset)
        return SourcePosition(topic=topic, partition=int(partition), offset=self.offset)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    position: Position


class Turn(_Entry):
    event_id: str
    sender: Sender
    text: str = Field(description="PII-masked.")
    at: AwareDatetime
    intent: str | None = None
    intent_score: float | None = None
    toxicity: str | None = None
    toxicity_score: float | None = None
    topic: str | None = None
    topic_score: float | None = None
    negative: bool = False
    helpful: bool = True
    """Bot and agent turns: False when the bot said it could not help."""


class HandoffMark(_Entry):
    action_id: str
    at: AwareDatetime


class ConversationState(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    conversation_id: str
    turns: list[Turn] = Field(default_factory=list)
    handoff: HandoffMark | None = None

    def with_turn(self, turn: Turn) -> ConversationState:
        return self.model_copy(update={"turns": [*self.turns, turn][-MAX_TURNS:]})


class SentMessage(_Entry):
    action_id: str
    channel: Channel
    advertising: bool
    send_at: AwareDatetime


class HeldOffer(BaseModel):
    """A rule's offer as held: rendered when the rule applied, placed when released."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template_id: str
    advertising: bool
    subject: str
    body: str
    channel: Channel | None = None
    arms: list[ArmStamp] = Field(default_factory=list)
    remembered: bool = False


Closing = Literal["released", "exited", "dropped"]


class ClosedMark(_Entry):
    """How and where a held offer ended (the input whose processing ended it)."""

    how: Closing


class PendingAction(_Entry):
    """A delayed offer waiting in the customer's state (`position`: the input that made it)."""

    action_id: str
    rule: str
    source_event_id: str
    due: AwareDatetime
    """Event time from which it may go: the trigger's time plus the rule's delay."""
    triggered_at: AwareDatetime
    """The trigger's event time: only exit events from then on take it back."""
    offer: HeldOffer
    models: list[ModelStamp] = Field(default_factory=list)
    order_id: str | None = None
    """The order it is about (a review request): `exit_on` with `match: same_order`."""
    items: list[str] = Field(default_factory=list)
    """SKUs it is about (a cart): `exit_on` with `match: cart_items`."""
    closed: ClosedMark | None = None

    def open_at(self, position: Position) -> bool:
        """Still held as of the input at `position` (not yet ended, or ended by it or later)."""
        return self.closed is None or self.closed.position.at_or_after(position)


class SeenEvent(_Entry):
    event_id: str


SEEN_CHUNK = 50
"""Event ids per chunk of the seen log: an event changes its chunk (and, once the log is
full, the oldest), never the other chunks, so the live store re-writes only those."""


class SeenChunk(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    offsets: list[int]
    ids: list[str]

    @cached_property
    def where(self) -> dict[str, int]:
        """Event id -> its offset: chunks other than the newest never change, so a lookup
        in a long log costs one dict probe per chunk."""
        return dict(zip(self.ids, self.offsets, strict=True))


class SeenLog(BaseModel):
    """The event ids processed, per input partition, oldest first, in chunks of flat
    lists: as 500 small objects they cost more to encode than the rest of a state."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chunks: dict[str, list[SeenChunk]] = Field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(c.ids) for chunks in self.chunks.values() for c in chunks)

    def entries(self) -> list[SeenEvent]:
        return [
            SeenEvent(event_id=event_id, position=Position(source=source, offset=offset))
            for source, chunks in self.chunks.items()
            for chunk in chunks
            for offset, event_id in zip(chunk.offsets, chunk.ids, strict=True)
        ]

    def at(self, event_id: str) -> Position | None:
        for source, chunks in self.chunks.items():
            for chunk in chunks:
                offset = chunk.where.get(event_id)
                if offset is not None:
                    return Position(source=source, offset=offset)
        return None

    def latest_at_or_after(self, position: Position) -> bool:
        chunks = self.chunks.get(position.source)
        return chunks is not None and chunks[-1].offsets[-1] >= position.offset

    def before(self, position: Position) -> SeenLog:
        if not self.latest_at_or_after(position):
            return self
        kept: list[SeenChunk] = []
        for chunk in self.chunks[position.source]:
            if chunk.offsets[-1] < position.offset:
                kept.append(chunk)
                continue
            cut = bisect_left(chunk.offsets, position.offset)
            if cut:
                kept.append(SeenChunk(offsets=chunk.offsets[:cut], ids=chunk.ids[:cut]))
            break
        return self._with(position.source, kept)

    def with_event(self, event_id: str, position: Position) -> SeenLog:
        source = position.source
        chunks = list(self.chunks.get(source, ()))
        if chunks and len(chunks[-1].ids) < SEEN_CHUNK:
            last = chunks[-1]
            chunks[-1] = SeenChunk.model_construct(
                offsets=[*last.offsets, position.offset], ids=[*last.ids, event_id]
            )
        else:
            chunks.append(SeenChunk.model_construct(offsets=[position.offset], ids=[event_id]))
        seen = self._with(source, chunks)
        while len(seen) > MAX_SEEN:  # the oldest of the partition holding the most
            fullest = max(seen.chunks, key=lambda s: sum(len(c.ids) for c in seen.chunks[s]))
            first, *rest = seen.chunks[fullest]
            if len(first.ids) > 1:
                rest.insert(
                    0, SeenChunk.model_construct(offsets=first.offsets[1:], ids=first.ids[1:])
                )
            seen = seen._with(fullest, rest)
        return seen

    def _with(self, source: str, chunks: list[SeenChunk]) -> SeenLog:
        kept = {**self.chunks, source: chunks}
        if not chunks:
            del kept[source]
        return SeenLog.model_construct(chunks=kept)


OrderFactKind = Literal["placed", "shipped", "delivered", "cancelled", "refunded"]


class OrderFact(_Entry):
    """One thing the shop's records said about an order (`enrichment.orders` folds them).

    A state written before facts were kept holds only `order_id` and `position`; it reads
    as a placed order with nothing else known."""

    order_id: str
    kind: OrderFactKind = "placed"
    at: AwareDatetime | None = None
    items: list[str] = Field(default_factory=list, description="Item names, in order.")
    total_krw: int | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    estimated_delivery: date | None = None
    amount_krw: int | None = Field(default=None, description="Refunded amount.")


class CustomerState(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: str
    conversations: dict[str, ConversationState] = Field(default_factory=dict)
    sent: list[SentMessage] = Field(default_factory=list)
    seen_log: SeenLog = Field(default_factory=SeenLog)
    orders: list[OrderFact] = Field(default_factory=list)
    pending: list[PendingAction] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _seen_as_log(cls, data: Any) -> Any:
        """States written before `seen_log` hold `seen`, a list of entries."""
        if isinstance(data, dict) and "seen" in data:
            data = dict(data)
            log = SeenLog()
            for entry in data.pop("seen"):
                seen = entry if isinstance(entry, SeenEvent) else SeenEvent.model_validate(entry)
                log = log.with_event(seen.event_id, seen.position)
            data["seen_log"] = log
        return data

    @property
    def seen(self) -> list[SeenEvent]:
        return self.seen_log.entries()

    @property
    def last_order_id(self) -> str | None:
        """The order the shop's records spoke of last."""
        return self.orders[-1].order_id if self.orders else None

    def as_of(self, position: Position) -> CustomerState:
        """The state before the record at `position` was first processed: this very object
        when nothing in it was written at or after `position`."""
        if not self._written_since(position):
            return self  # the usual case: a record seen for the first time
        conversations: dict[str, ConversationState] = {}
        for key, conversation in self.conversations.items():
            turns = [t for t in conversation.turns if not t.position.at_or_after(position)]
            handoff = conversation.handoff
            if handoff is not None and handoff.position.at_or_after(position):
                handoff = None
            if turns or handoff is not None:
                conversations[key] = ConversationState(
                    conversation_id=key, turns=turns, handoff=handoff
                )
        return CustomerState(
            customer_id=self.customer_id,
            conversations=conversations,
            sent=[m for m in self.sent if not m.position.at_or_after(position)],
            seen_log=self.seen_log.before(position),
            orders=[o for o in self.orders if not o.position.at_or_after(position)],
            pending=[
                p
                if p.closed is None or not p.closed.position.at_or_after(position)
                else p.model_copy(update={"closed": None})
                for p in self.pending
                if not p.position.at_or_after(position)
            ],
        )

    def _written_since(self, position: Position) -> bool:
        """Entries are appended in input order, so within each list the last entry of
        `position`'s partition is its latest: a scan from the end stops there. Turns,
        handoffs and order facts are only written while an event is processed, after its
        id entered the seen log, so the seen log answers for every conversation; only the
        messages sent can also come from a profile (a position the seen log lacks)."""
        if self.seen_log.latest_at_or_after(position):
            return True
        source, offset = position.source, position.offset
        for pending in self.pending:  # a closing mark can come after later offers: all of them
            made, closed = pending.position, pending.closed
            if made.source == source and made.offset >= offset:
                return True
            if closed is not None and (
                closed.position.source == source and closed.position.offset >= offset
            ):
                return True
        return _latest_at_or_after(self.sent, position) or _latest_at_or_after(
            self.orders, position
        )

    def seen_at(self, event_id: str) -> Position | None:
        return self.seen_log.at(event_id)

    def conversation(self, conversation_id: str) -> ConversationState:
        return self.conversations.get(conversation_id) or ConversationState(
            conversation_id=conversation_id
        )

    def with_seen(self, event_id: str, position: Position) -> CustomerState:
        return self.model_copy(update={"seen_log": self.seen_log.with_event(event_id, position)})

    def with_conversation(self, conversation: ConversationState) -> CustomerState:
        conversations = {
            k: v for k, v in self.conversations.items() if k != conversation.conversation_id
        }
        conversations[conversation.conversation_id] = conversation
        while len(conversations) > MAX_CONVERSATIONS:
            conversations.pop(next(iter(conversations)))
        return self.model_copy(update={"conversations": conversations})

    def with_sent(self, message: SentMessage) -> CustomerState:
        """Advertising only: transactional messages count toward no cap."""
        if not message.advertising:
            return self
        return self.model_copy(update={"sent": _trimmed([*self.sent, message])})

    def with_notice(self, message: SentMessage) -> CustomerState:
        """A transactional message remembered so that it is sent once (a re-confirmation
        notice); kept in `sent`, which the caps read for advertising only."""
        return self.model_copy(update={"sent": _trimmed([*self.sent, message])})

    @property
    def held(self) -> list[PendingAction]:
        """The offers still waiting, in the order they were made."""
        return [p for p in self.pending if p.closed is None]

    def with_pending(self, pending: PendingAction) -> tuple[CustomerState, PendingAction | None]:
        """`pending` held; and the offer dropped to make room (the one due first), if any."""
        held = self.held
        dropped = None
        entries = [*self.pending, pending]
        if len(held) >= MAX_PENDING:
            dropped = min(held, key=lambda p: (p.due, p.action_id))
            mark = ClosedMark(position=pending.position, how="dropped")
            entries = [
                p.model_copy(update={"closed": mark}) if p is dropped else p for p in entries
            ]
        return self.model_copy(update={"pending": _kept_closed(entries)}), dropped

    def with_closed(self, action_id: str, mark: ClosedMark) -> CustomerState:
        pending = [
            p.model_copy(update={"closed": mark})
            if p.action_id == action_id and p.closed is None
            else p
            for p in self.pending
        ]
        return self.model_copy(update={"pending": _kept_closed(pending)})

    def with_order_fact(self, fact: OrderFact) -> CustomerState:
        """Facts of the `MAX_ORDERS` orders mentioned last are kept, older orders dropped."""
        facts = [*self.orders, fact]
        recent = list(dict.fromkeys(f.order_id for f in reversed(facts)))[:MAX_ORDERS]
        kept = [f for f in facts if f.order_id in set(recent)][-MAX_ORDER_FACTS:]
        return self.model_copy(update={"orders": kept})


def _kept_closed(pending: list[PendingAction]) -> list[PendingAction]:
    """Every held offer and the `MAX_CLOSED` ended last, in order."""
    closed = [p for p in pending if p.closed is not None]
    if len(closed) <= MAX_CLOSED:
        return pending
    gone = {id(p) for p in closed[: len(closed) - MAX_CLOSED]}
    return [p for p in pending if id(p) not in gone]


def _trimmed(sent: list[SentMessage]) -> list[SentMessage]:
    """The newest `MAX_SENT` advertising messages and `MAX_NOTICES` notices, in order."""
    over_ads = sum(m.advertising for m in sent) - MAX_SENT
    over_notices = len(sent) - sum(m.advertising for m in sent) - MAX_NOTICES
    if over_ads <= 0 and over_notices <= 0:
        return sent
    kept = []
    for message in sent:
        if message.advertising and over_ads > 0:
            over_ads -= 1
        elif not message.advertising and over_notices > 0:
            over_notices -= 1
        else:
            kept.append(message)
    return kept


def _latest_at_or_after(entries: Sequence[_Entry], position: Position) -> bool:
    for entry in reversed(entries):
        if entry.position.source == position.source:
            return entry.position.offset >= position.offset
    return False
