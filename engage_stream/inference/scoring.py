"""Intent, toxicity and topic for a batch of events: the model stage of the pipeline.

Only texts written by the customer are scored (chat messages from the customer and
inbound e-mails); bot and agent turns and non-text events get no scores. One call runs
each model folder once over the whole batch, whatever partitions the events came from:
one pass in all when one multi-head folder serves every head (`inference.heads`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from engage_stream.inference.engine_model import Closeable
from engage_stream.inference.heads import CLASSIFICATION_ROLES, Group, HeadGroup, open_groups
from engage_stream.inference.model_folder import Precision
from engage_stream.inference.providers import Device, RuntimeChoice
from engage_stream.inference.vectors import MIN_KEPT, RecentVectors
from engage_stream.schemas.actions import ModelStamp
from engage_stream.schemas.events import (
    CrmEvent,
)
from engage_stream.schemas.scores import Prediction, Scores, text_to_score


@dataclass(frozen=True, slots=True)
class BatchTiming:
    texts: int
    """Texts that went through the models (not found in the cache)."""
    seconds_by_model: dict[str, float]
    cached: int = 0
    """Customer texts of the batch whose scores came from the cache."""


class Scorer(Closeable):
    """Every classification head; thread-safe (each folder runs one batch at a time).

    Predictions are kept per exact text in a bounded LRU cache: customer chat repeats itself
    ("네", "감사합니다", "상담원 연결해 주세요"), and a text seen again costs no model time.
    Each text of a batch is scored once however often it occurs. `cache_size=0` turns the
    cache off."""

    def __init__(self, groups: Sequence[Group], cache_size: int = 20_000) -> None:
        roles = [role for group in groups for role in group.classifiers]
        if sorted(roles) != sorted(CLASSIFICATION_ROLES):
            raise ValueError(f"the scorer needs each of {CLASSIFICATION_ROLES} once, got {roles}")
        self.groups = list(groups)
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Scores] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.vectors: RecentVectors | None = None
        """Set by `share_vectors`: the scoring pass keeps each text's sentence vector."""
        self._embedding_group: HeadGroup | None = None

    @classmethod
    def load(
        cls,
        bindings: Mapping[str, Path],
        *,
        device: Device = "auto",
        batch_max_size: int = 32,
        precision: Precision | None = None,
        cache_size: int = 20_000,
    ) -> Scorer:
        """`bindings`: role -> model folder (see `inference.heads`). `precision="fp32"` for
        runs that must match another run exactly (int8 scores move slightly with the other
        texts in a batch)."""
        groups = open_groups(
            bindings, device=device, precision=precision, batch_max_size=batch_max_size
        )
        return cls(groups, cache_size=cache_size)

    @property
    def stamps(self) -> list[ModelStamp]:
        return [group.stamp for group in self.groups]

    @property
    def runtimes(self) -> list[RuntimeChoice]:
        return [group.choice for group in self.groups]

    def labels(self, role: str) -> tuple[str, ...]:
        """The label names of the head that serves `role`, as its manifest gives them."""
        for group in self.groups:
            if role in group.classifiers:
                return group.classifiers[role].labels
        raise KeyError(role)

    def share_vectors(self, stamp: ModelStamp) -> RecentVectors | None:
        """The vectors of the texts this scorer runs, when one of its folders is the model
        `stamp` names (same file) and has an embedding head; from then on each scoring pass
        keeps them. None when no folder is that model."""
        for group in self.groups:
            if (
                isinstance(group, HeadGroup)
                and group.embedding is not None
                and group.stamp.sha256 == stamp.sha256
            ):
                if self.vectors is None:
                    self._embedding_group = group
                    self.vectors = RecentVectors(
                        group.stamp,
                        max(self.cache_size, MIN_KEPT),
                        spaces_free=_spaces_free(group),
                    )
                return self.vectors
        return None

    def score(self, events: Sequence[CrmEvent]) -> tuple[list[Scores | None], BatchTiming]:
        """Scores per event, in order (None for events with no customer text)."""
        return self.score_texts([text_to_score(event) for event in events])

    def score_texts(self, texts: Sequence[str | None]) -> tuple[list[Scores | None], BatchTiming]:
        """Scores per text, in order (None where the text is None)."""
        known: dict[str, Scores] = {}
        with self._lock:
            for text in texts:
                if text is not None and text not in known:
                    cached = self._cache.get(text)
                    if cached is not None:
                        self._cache.move_to_end(text)
                        known[text] = cached
        if known and self.vectors is not None:
            self.vectors.touch(list(known))
        missing = list(dict.fromkeys(t for t in texts if t is not None and t not in known))
        seconds: dict[str, float] = {}
        if missing:
            by_role: dict[str, list[Prediction]] = {}
            for group in self.groups:
                started = time.perf_counter()
                if group is self._embedding_group and self.vectors is not None:
                    predicted, rows = group.predict_and_embed(missing)
                    if rows is not None:
                        self.vectors.keep(missing, rows)
                    by_role.update(predicted)
                else:
                    by_role.update(group.predict(missing))
                seconds[group.name] = time.perf_counter() - started
            fresh = {
                text: Scores(
                    intent=by_role["intent"][i],
                    toxicity=by_role["toxicity"][i],
                    topic=by_role["topic"][i],
                )
                for i, text in enumerate(missing)
            }
            known.update(fresh)
            self._remember(fresh)
        scored = sum(text is not None for text in texts)
        with self._lock:
            self.misses += len(missing)
            self.hits += scored - len(missing)
        results = [None if text is None else known[text] for text in texts]
        timing = BatchTiming(len(missing), seconds, cached=scored - len(missing))
        return results, timing

    def _remember(self, fresh: dict[str, Scores]) -> None:
        if self.cache_size <= 0:
            return
        with self._lock:
            self._cache.update(fresh)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def close(self) -> None:
        for group in self.groups:
            group.close()


def _spaces_free(group: HeadGroup) -> bool:
    """Whether the folder's tokenizer gives a text with tabs, newlines and doubled spaces
    the same tokens as the text with single spaces (WordPiece and most others do)."""
    encode = group.runner.encoder.encode
    spaced, single = encode(["배송 \n 언제\t오나요  ?", "배송 언제 오나요 ?"])
    return spaced.ids == single.ids
