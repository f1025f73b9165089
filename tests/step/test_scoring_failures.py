"""A model failure costs as little as it can: retried when it passes, only the event the
models cannot score dead-lettered when it does not, never the whole batch."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from engage_stream.config.settings import load_settings
from engage_stream.core.processor import EngagementCore
from engage_stream.inference.scoring import BatchTiming, Scorer
from engage_stream.ingest.records import RawRecord
from engage_stream.policy.policy_file import load_policy
from engage_stream.samples.generator import SampleConfig, SampleStream
from engage_stream.schemas.enriched import ScoredEvent
from engage_stream.schemas.events import ChatMessageEvent, CrmEvent
from engage_stream.schemas.scores import Scores
from engage_stream.serving.models import load_models
from engage_stream.step.outputs import Output
from engage_stream.step.step import FirstScoringTryError, Step

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
POISON = "[[the-tokenizer-chokes-on-this]]"


class InjectedFaults:
    """The real scorer behind injected failures: the first `transient` calls fail as a busy
    device would, and every batch holding `POISON` fails as a model bug would."""

    def __init__(self, scorer: Scorer, transient: int = 0) -> None:
        self.scorer = scorer
        self.transient = transient
        self.calls: list[int] = []

    def score(self, events: Sequence[CrmEvent]) -> tuple[Sequence[Scores | None], BatchTiming]:
        self.calls.append(len(events))
        if self.transient:
            self.transient -= 1
            raise RuntimeError("CUDA error: out of memory (transient)")
        if any(isinstance(e, ChatMessageEvent) and POISON in e.payload.text for e in events):
            raise ValueError("index out of range in self")
        return self.scorer.score(events)


@pytest.fixture(scope="module")
def parts() -> tuple[Scorer, EngagementCore]:
    settings = load_settings(device="cpu")
    policy = load_policy(settings.policy_file)
    scorer, drafter = load_models(settings, policy, "fp32")
    return scorer, EngagementCore(policy, drafter)


def _records(poison_at: int | None = None) -> list[RawRecord]:
    events: list[CrmEvent] = list(SampleStream(SampleConfig(customers=12, seed=3)).events(40))
    if poison_at is not None:
        chat = next(e for e in events[poison_at:] if isinstance(e, ChatMessageEvent))
        text = f"{chat.payload.text} {POISON}"
        events[events.index(chat)] = chat.model_copy(
            update={"payload": chat.payload.model_copy(update={"text": text})}
        )
    return [
        RawRecord("crm.events", 0, i, 1_764_500_000_000 + i, e.customer_id.encode(), v)
        for i, (e, v) in enumerate((e, e.model_dump_json().encode()) for e in events)
    ]


def _step(parts: tuple[Scorer, EngagementCore], scorer: InjectedFaults) -> Step:
    return Step(parts[1], scorer, clock=lambda: NOW, retry_delays_s=(0.01, 0.01))


def _predictions(items: Sequence[ScoredEvent | Output]) -> list[str]:
    return [
        item.predictions.model_dump_json() if item.predictions else "-"
        for item in items
        if isinstance(item, ScoredEvent)
    ]


def test_a_failure_that_passes_is_retried_and_loses_nothing(
    parts: tuple[Scorer, EngagementCore],
) -> None:
    records = _records()
    clean = _step(parts, InjectedFaults(parts[0])).ingest(records)
    flaky = InjectedFaults(parts[0], transient=2)
    ingested = _step(parts, flaky).ingest(records)

    assert all(isinstance(item, ScoredEvent) for item in ingested.items)
    assert _predictions(ingested.items) == _predictions(clean.items)
    assert flaky.calls == [len(records)] * 3  # two failed tries, then the whole batch


def test_a_first_try_only_batch_raises_at_once_so_its_retries_can_wait_elsewhere(
    parts: tuple[Scorer, EngagementCore],
) -> None:
    # The live shell scores on its event loop and must not sleep there between tries.
    records = _records()
    flaky = InjectedFaults(parts[0], transient=1)
    with pytest.raises(FirstScoringTryError, match="out of memory"):
        _step(parts, flaky).ingest(records, first_try_only=True)
    assert flaky.calls == [len(records)]
    clean = _step(parts, InjectedFaults(parts[0])).ingest(records, first_try_only=True)
    assert all(isinstance(item, ScoredEvent) for item in clean.items)


def test_only_the_event_the_models_fail_on_goes_to_the_dlq_not_its_batch(
    parts: tuple[Scorer, EngagementCore],
) -> None:
    records = _records(poison_at=17)
    ingested = _step(parts, InjectedFaults(parts[0])).ingest(records)

    dead = [(i, item) for i, item in enumerate(ingested.items) if isinstance(item, Output)]
    assert len(dead) == 1
    at, output = dead[0]
    assert POISON in json.loads(records[at].value or b"")["payload"]["text"]
    letter = json.loads(output.value)
    assert letter["reason"] == "scoring failed: index out of range in self"
    assert letter["error_class"] == "processing_error"
    assert base64.b64decode(letter["value_b64"]) == records[at].value
    assert sum(isinstance(item, ScoredEvent) for item in ingested.items) == len(records) - 1
    assert ingested.timing is not None
    assert ingested.timing.texts + ingested.timing.cached > 0  # the halves were scored


def test_models_that_always_fail_dead_letter_every_event_with_its_own_bytes(
    parts: tuple[Scorer, EngagementCore],
) -> None:
    records = _records()
    broken = InjectedFaults(parts[0], transient=10_000)
    ingested = _step(parts, broken).ingest(records)

    letters = [json.loads(item.value) for item in ingested.items if isinstance(item, Output)]
    assert len(letters) == len(records)
    assert [base64.b64decode(x["value_b64"]) for x in letters] == [r.value for r in records]
    assert {x["reason"] for x in letters} == {
        "scoring failed: CUDA error: out of memory (transient)"
    }
    assert ingested.timing is None
    assert len(broken.calls) <= 3 + 2 * len(records)  # retries, then halves down to one
