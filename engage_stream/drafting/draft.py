"""What a draft is: the question it answers, the answers it suggests, where its text came
from. Plain data with no model code, so the core that reads drafts does not load models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from engage_stream.schemas.actions import ModelStamp

Tone = Literal["normal", "upset", "abusive"]
DraftKind = Literal["grounded", "general", "no_answer"]
"""grounded: an answer filled with the facts of the customer's order; general: an answer
that needs no order; no_answer: nothing in the bank fits, the topic's no-answer line."""
Fallback = Literal["deadline", "no_question", "low_score", "not_korean"]


@dataclass(frozen=True, slots=True)
class Question:
    """The customer's open question: what to answer."""

    text: str
    topic: str | None = None
    topic_score: float | None = None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Suggestion:
    answer_id: str
    topic: str
    score: float
    text: str
    grounded: bool
    auto_send: bool


@dataclass(frozen=True, slots=True)
class Draft:
    text: str
    kind: DraftKind
    suggestions: tuple[Suggestion, ...]
    models: tuple[ModelStamp, ...]
    """The bank, and the encoder when it answered in time."""
    latency_ms: float
    fallback: Fallback | None = None
    truncated: bool = False

    @property
    def answer(self) -> Suggestion | None:
        """The answer the draft says, when it says one."""
        return self.suggestions[0] if self.kind != "no_answer" else None


def has_hangul(text: str) -> bool:
    return any("\uac00" <= c <= "\ud7a3" or "\u3131" <= c <= "\u318e" for c in text)
