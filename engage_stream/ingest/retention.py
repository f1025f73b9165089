"""Customer text masked as soon as the models have read it, for shops that must keep no
more personal data than they need (`ENGAGE_STORE_MASKED_TEXT`).

The models score the text as written; everything after that (the scored hand-over, the
customer's state and its changelog, enriched records, transcripts, drafts) sees only the
masked text. Both shells mask in the same place (`step.Step.ingest`), so a replay with the
setting decides like the live run that had it.
"""

from __future__ import annotations

from engage_stream.privacy.pii import mask_text
from engage_stream.schemas.events import (
    ChatMessageEvent,
    CrmEvent,
    EmailInboundEvent,
    TicketCreatedEvent,
)


def masked(event: CrmEvent) -> CrmEvent:
    """`event` with the free text a customer wrote masked; other events unchanged."""
    payload = event.payload
    if isinstance(event, ChatMessageEvent):
        changed = {"text": mask_text(event.payload.text)}
    elif isinstance(event, EmailInboundEvent):
        changed = {
            "subject": mask_text(event.payload.subject),
            "body": mask_text(event.payload.body),
        }
    elif isinstance(event, TicketCreatedEvent):
        changed = {
            "subject": mask_text(event.payload.subject),
            "description": mask_text(event.payload.description),
        }
    else:
        return event
    if all(getattr(payload, name) == value for name, value in changed.items()):
        return event
    return event.model_copy(update={"payload": payload.model_copy(update=changed)})
