"""What the models said about an event's text, as the core reads it: decoded once from the
engine's output live, or from the enriched record's `predictions` in a replay.

Plain dataclasses with no model code, so the decisions (core, policy) depend on these and
not on the engine (`inference`) that makes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engage_stream.schemas.actions import ModelStamp
from engage_stream.schemas.enriched import Predictions, PredictionView
from engage_stream.schemas.events import ChatMessageEvent, CrmEvent, EmailInboundEvent, Sender


@dataclass(frozen=True, slots=True)
class Prediction:
    label: str
    score: float
    scores: Mapping[str, float]
    truncated: bool
    """The model saw only the first `max_length` tokens of the text."""
    model: ModelStamp


@dataclass(frozen=True, slots=True)
class Scores:
    intent: Prediction | None
    toxicity: Prediction | None
    topic: Prediction | None = None
    decoded_from: Predictions | None = field(default=None, compare=False, repr=False)
    """The view these scores were read from (`from_view`): given back by `view` as it is,
    not built again for every enriched record."""

    def view(self) -> Predictions:
        if self.decoded_from is not None:
            return self.decoded_from
        return Predictions(
            intent=_view(self.intent), toxicity=_view(self.toxicity), topic=_view(self.topic)
        )

    @classmethod
    def from_view(cls, view: Predictions | None) -> Scores | None:
        if view is None:
            return None
        return cls(
            intent=_prediction(view.intent),
            toxicity=_prediction(view.toxicity),
            topic=_prediction(view.topic),
            decoded_from=view,
        )

    @property
    def stamps(self) -> list[ModelStamp]:
        """The model files behind these scores, each once."""
        found = (p.model for p in (self.intent, self.toxicity, self.topic) if p is not None)
        return list({stamp.sha256: stamp for stamp in found}.values())


def _view(prediction: Prediction | None) -> PredictionView | None:
    if prediction is None:
        return None
    return PredictionView(
        label=prediction.label,
        score=min(1.0, max(0.0, prediction.score)),
        truncated=prediction.truncated,
        model=prediction.model,
    )


def _prediction(view: PredictionView | None) -> Prediction | None:
    if view is None:
        return None
    return Prediction(
        label=view.label,
        score=view.score,
        scores={},
        truncated=view.truncated,
        model=view.model,
    )


def text_to_score(event: CrmEvent) -> str | None:
    """The customer's own words in this event, or None when there is nothing to score."""
    if isinstance(event, ChatMessageEvent):
        return event.payload.text if event.payload.sender is Sender.CUSTOMER else None
    if isinstance(event, EmailInboundEvent):
        subject = event.payload.subject.strip()
        return f"{subject}\n{event.payload.body}" if subject else event.payload.body
    return None
