"""The live worker's `StateStore`: changelogged Faust tables of bytes, objects in front.

The tables (and so their changelogs, from which a restarted worker recovers) hold each
customer's profile and state as JSON. Decoding a long history for every event made an
event's cost grow with the customer's history, so decoded objects are kept in a bounded
cache and the tables are only read on a miss; a write updates both. The cache is
dropped whenever partitions move (`forget`), so a worker never decides from a state
another worker changed while the partition was away.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, MutableMapping
from typing import Generic, TypeVar

from pydantic import BaseModel, TypeAdapter

from engage_stream.enrichment.state import ConversationState, CustomerState, OrderFact, SentMessage
from engage_stream.schemas.customers import CustomerProfile

DEFAULT_CACHED_CUSTOMERS = 5_000

Document = TypeVar("Document", bound=BaseModel)


class TableStore:
    def __init__(
        self,
        profiles: MutableMapping[bytes, bytes],
        states: MutableMapping[bytes, bytes],
        cached: int = DEFAULT_CACHED_CUSTOMERS,
    ) -> None:
        self._profiles = _Cached(CustomerProfile, profiles, cached)
        self._codec = StateCodec()
        self._states = _Cached(
            CustomerState, states, cached, encode=self._codec.encode, evicted=self._codec.forget
        )

    def profile(self, customer_id: str) -> CustomerProfile | None:
        return self._profiles.get(customer_id)

    def state(self, customer_id: str) -> CustomerState | None:
        return self._states.get(customer_id)

    def put_profile(self, customer_id: str, profile: CustomerProfile) -> None:
        self._profiles.put(customer_id, profile)

    def drop_profile(self, customer_id: str) -> None:
        self._profiles.drop(customer_id)

    def put_state(self, customer_id: str, state: CustomerState) -> None:
        self._states.put(customer_id, state)

    def forget(self) -> None:
        """Drop every decoded object: the tables are the truth after a rebalance."""
        self._profiles.objects.clear()
        self._states.objects.clear()
        self._codec.parts.clear()


class _Cached(Generic[Document]):
    """One table of JSON values and its most recently used values as objects."""

    def __init__(
        self,
        kind: type[Document],
        table: MutableMapping[bytes, bytes],
        size: int,
        encode: Callable[[str, Document], bytes] | None = None,
        evicted: Callable[[str], None] | None = None,
    ) -> None:
        self.kind = kind
        self.table = table
        self.size = size
        self.encode = encode or (lambda _, document: document.model_dump_json().encode())
        self.evicted = evicted or (lambda _: None)
        self.objects: OrderedDict[str, Document | None] = OrderedDict()

    def get(self, key: str) -> Document | None:
        if key in self.objects:
            self.objects.move_to_end(key)
            return self.objects[key]
        stored = self.table.get(key.encode())
        document = self.kind.model_validate_json(stored) if stored else None
        self._remember(key, document)
        return document

    def put(self, key: str, document: Document) -> None:
        self.table[key.encode()] = self.encode(key, document)
        self._remember(key, document)

    def drop(self, key: str) -> None:
        self.table.pop(key.encode(), None)
        self.objects.pop(key, None)
        self.evicted(key)

    def _remember(self, key: str, document: Document | None) -> None:
        self.objects[key] = document
        self.objects.move_to_end(key)
        while len(self.objects) > self.size:
            old, _ = self.objects.popitem(last=False)
            self.evicted(old)


_SENT = TypeAdapter(list[SentMessage])
_ORDERS = TypeAdapter(list[OrderFact])
ENCODED_FIELDS = ("customer_id", "conversations", "sent", "seen_log", "orders")


class StateCodec:
    """A customer state's JSON, re-using the bytes of the conversations that did not
    change since the customer's last write: an event touches one conversation, and
    encoding all twenty of a long-standing customer made its events the slowest."""

    def __init__(self) -> None:
        self.parts: dict[str, dict[str, tuple[ConversationState, bytes]]] = {}

    def encode(self, customer_id: str, state: CustomerState) -> bytes:
        before = self.parts.get(customer_id, {})
        parts: dict[str, tuple[ConversationState, bytes]] = {}
        for key, conversation in state.conversations.items():
            known = before.get(key)
            if known is not None and known[0] is conversation:
                parts[key] = known
            else:
                encoded = _string(key) + b":" + conversation.model_dump_json().encode()
                parts[key] = (conversation, encoded)
        self.parts[customer_id] = parts
        conversations = b",".join(encoded for _, encoded in parts.values())
        return b"".join(
            (
                b'{"customer_id":',
                _string(state.customer_id),
                b',"conversations":{',
                conversations,
                b'},"sent":',
                _SENT.dump_json(state.sent),
                b',"seen_log":',
                state.seen_log.model_dump_json().encode(),
                b',"orders":',
                _ORDERS.dump_json(state.orders),
                b"}",
            )
        )

    def forget(self, customer_id: str) -> None:
        self.parts.pop(customer_id, None)


def _string(text: str) -> bytes:
    return json.dumps(text, ensure_ascii=False).encode()


if tuple(CustomerState.model_fields) != ENCODED_FIELDS:  # pragma: no cover - a new field
    raise RuntimeError(
        f"CustomerState fields {tuple(CustomerState.model_fields)} changed: update StateCodec"
    )
