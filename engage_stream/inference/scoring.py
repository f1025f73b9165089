"""Intent and toxicity for a batch of events: the model stage of the pipeline.

Only texts written by the customer are scored (chat messages from the customer and
inbound e-mails); bot and agent turns and non-text events get no scores. One call runs
each model once over the whole batch, whatever partitions the events came from.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engage_stream.inference.classifier import Classifier, Prediction
from engage_stream.inference.model_folder import Precision
from engage_stream.inference.providers import Device
from engage_stream.schemas.actions import ModelStamp
from engage_stream.schemas.enriched import Predictions, PredictionView
from engage_stream.schemas.events import (
    ChatMessageEvent,
    CrmEvent,
    EmailInboundEvent,
    Sender,
)

INTENT_MODEL = "intent-ko"
TOXICITY_MODEL = "toxicity-ko"


@dataclass(frozen=True, slots=True)
class Scores:
    intent: Prediction | None
    toxicity: Prediction | None

    def view(self) -> Predictions:
        return Predictions(intent=_view(self.intent), toxicity=_view(self.toxicity))

    @classmethod
    def from_view(cls, view: Predictions | None) -> Scores | None:
        if view is None:
            return None
        return cls(intent=_prediction(view.intent), toxicity=_prediction(view.toxicity))


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


@dataclass(frozen=True, slots=True)
class BatchTiming:
    texts: int
    """Texts that went through the models (not found in the cache)."""
    seconds_by_model: dict[str, float]


class Scorer:
    """Both classifiers; thread-safe (each model runs one batch at a time).

    Predictions are kept per exact text in a bounded LRU cache: customer chat repeats itself
    ("네", "감사합니다", "상담원 연결해 주세요"), and a text seen again costs no model time.
    Each text of a batch is scored once however often it occurs. `cache_size=0` turns the
    cache off."""

    def __init__(self, intent: Classifier, toxicity: Classifier, cache_size: int = 20_000) -> None:
        self.intent = intent
        self.toxicity = toxicity
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Scores] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @classmethod
    def load(
        cls,
        model_dir: Path,
        *,
        device: Device = "auto",
        batch_max_size: int = 32,
        precision: Precision | None = None,
        cache_size: int = 20_000,
    ) -> Scorer:
        """`precision="fp32"` for runs that must match another run exactly (int8 scores move
        slightly with the other texts in a batch)."""
        intent = Classifier.load(
            model_dir / INTENT_MODEL,
            device=device,
            batch_max_size=batch_max_size,
            precision=precision,
        )
        try:
            toxicity = Classifier.load(
                model_dir / TOXICITY_MODEL,
                device=device,
                batch_max_size=batch_max_size,
                precision=precision,
            )
        except Exception:
            intent.close()
            raise
        return cls(intent, toxicity, cache_size=cache_size)

    @property
    def stamps(self) -> list[ModelStamp]:
        return [self.intent.stamp, self.toxicity.stamp]

    def score(self, events: Sequence[CrmEvent]) -> tuple[list[Scores | None], BatchTiming]:
        """Scores per event, in order (None for events with no customer text)."""
        texts = [text_to_score(event) for event in events]
        known: dict[str, Scores] = {}
        with self._lock:
            for text in texts:
                if text is not None and text not in known:
                    cached = self._cache.get(text)
                    if cached is not None:
                        self._cache.move_to_end(text)
                        known[text] = cached
        missing = list(dict.fromkeys(t for t in texts if t is not None and t not in known))
        seconds: dict[str, float] = {}
        if missing:
            started = time.perf_counter()
            intents = self.intent.predict(missing)
            seconds[INTENT_MODEL] = time.perf_counter() - started
            started = time.perf_counter()
            toxicities = self.toxicity.predict(missing)
            seconds[TOXICITY_MODEL] = time.perf_counter() - started
            fresh = {
                text: Scores(intent=intent, toxicity=toxicity)
                for text, intent, toxicity in zip(missing, intents, toxicities, strict=True)
            }
            known.update(fresh)
            self._remember(fresh)
        scored = sum(text is not None for text in texts)
        with self._lock:
            self.misses += len(missing)
            self.hits += scored - len(missing)
        results = [None if text is None else known[text] for text in texts]
        return results, BatchTiming(texts=len(missing), seconds_by_model=seconds)

    def _remember(self, fresh: dict[str, Scores]) -> None:
        if self.cache_size <= 0:
            return
        with self._lock:
            self._cache.update(fresh)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def close(self) -> None:
        self.intent.close()
        self.toxicity.close()
