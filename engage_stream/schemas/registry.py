"""The documents engage-stream exchanges, by the name their JSON Schema file carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from engage_stream.schemas.actions import HandoffAction, NextBestAction, Suppression
from engage_stream.schemas.customers import CustomerProfile
from engage_stream.schemas.dlq import DlqRecord
from engage_stream.schemas.enriched import EnrichedEvent
from engage_stream.schemas.events import crm_event_adapter


@dataclass(frozen=True)
class DocumentKind:
    name: str
    title: str
    adapter: TypeAdapter[Any]

    @property
    def filename(self) -> str:
        return f"{self.name}.schema.json"


DOCUMENT_KINDS: dict[str, DocumentKind] = {
    kind.name: kind
    for kind in (
        DocumentKind("crm-event", "CRM event (crm.events)", crm_event_adapter),
        DocumentKind(
            "customer-profile", "Customer profile (crm.customers)", TypeAdapter(CustomerProfile)
        ),
        DocumentKind(
            "handoff-action", "Handoff action (engage.actions.handoff)", TypeAdapter(HandoffAction)
        ),
        DocumentKind(
            "next-best-action",
            "Next-best-action (engage.actions.email)",
            TypeAdapter(NextBestAction),
        ),
        DocumentKind(
            "suppression", "Suppressed action (engage.suppressions)", TypeAdapter(Suppression)
        ),
        DocumentKind(
            "enriched-event",
            "Enriched event with predictions and decisions (engage.enriched)",
            TypeAdapter(EnrichedEvent),
        ),
        DocumentKind("dlq-record", "Dead-letter record (engage.dlq)", TypeAdapter(DlqRecord)),
    )
}

__all__ = ["DOCUMENT_KINDS", "DocumentKind"]
