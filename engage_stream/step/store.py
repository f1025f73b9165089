"""Where a shell keeps each customer's profile and state between records.

`StateStore` is what the step reads and writes. The replay keeps objects in dicts
(`MemoryStore`); the live worker keeps bytes in changelogged Faust tables and objects in
front of them (`worker.tables.TableStore`), so an event costs no decode of the customer's
history, only the encode the changelog needs.
"""

from __future__ import annotations

from typing import Protocol

from engage_stream.enrichment.state import CustomerState
from engage_stream.schemas.customers import CustomerProfile
from engage_stream.schemas.stored import read_stored


class StateStore(Protocol):
    def profile(self, customer_id: str) -> CustomerProfile | None: ...

    def state(self, customer_id: str) -> CustomerState | None: ...

    def put_profile(self, customer_id: str, profile: CustomerProfile) -> None: ...

    def drop_profile(self, customer_id: str) -> None: ...

    def put_state(self, customer_id: str, state: CustomerState) -> None: ...


class MemoryStore:
    """Objects in dicts: a replay's whole state, saved in its checkpoints."""

    def __init__(self) -> None:
        self.profiles: dict[str, CustomerProfile] = {}
        self.states: dict[str, CustomerState] = {}

    def profile(self, customer_id: str) -> CustomerProfile | None:
        return self.profiles.get(customer_id)

    def state(self, customer_id: str) -> CustomerState | None:
        return self.states.get(customer_id)

    def put_profile(self, customer_id: str, profile: CustomerProfile) -> None:
        self.profiles[customer_id] = profile

    def drop_profile(self, customer_id: str) -> None:
        self.profiles.pop(customer_id, None)

    def put_state(self, customer_id: str, state: CustomerState) -> None:
        self.states[customer_id] = state

    def dump(self) -> tuple[dict[str, str], dict[str, str]]:
        """Profiles and states as JSON, for a checkpoint."""
        profiles = {k: v.model_dump_json() for k, v in self.profiles.items()}
        return profiles, {k: v.model_dump_json() for k, v in self.states.items()}

    @classmethod
    def load(cls, profiles: dict[str, str], states: dict[str, str]) -> MemoryStore:
        store = cls()
        store.profiles = {k: read_stored(CustomerProfile, v) for k, v in profiles.items()}
        store.states = {k: read_stored(CustomerState, v) for k, v in states.items()}
        return store
