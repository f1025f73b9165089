"""A pipeline run in memory: one record per event id, plus the actions it wrote.

A run is what the pipeline produced for a set of events: enriched records, handoffs,
next-best-action messages, suppressions and dead letters. It comes from

- a run directory written by replay (`enriched.jsonl`, `actions_handoff.jsonl`,
  `actions_email.jsonl`, `suppressions.jsonl`, `dlq.jsonl`, one JSON document a line, and
  the manifest `run.json`);
- the live topics of the topics file;
- the shadow topics of a replay run, `<shadow_prefix>.<run_id>.<topic name>`.

Records are de-duplicated as they are loaded, so nothing is counted twice:

- an enriched record with `duplicate_of` set is the pipeline's own verdict that the event id
  came in again at another position; it is counted (`duplicate_records`) but not kept;
- a second record for an event id already kept is an at-least-once redelivery (the same
  event processed again after a crash); it is counted (`redelivered_records`), the first
  record is kept;
- actions and suppressions are keyed by their deterministic ids, dead letters by the
  position of the record they stand for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from kafka import KafkaConsumer
from kafka.errors import KafkaError
from pydantic import BaseModel, ValidationError

from engage_stream.kafka.reader import read_to_end
from engage_stream.kafka.topics import TopicRole, TopicsFile
from engage_stream.schemas.actions import DraftSource, HandoffAction, NextBestAction, Suppression
from engage_stream.schemas.dlq import DlqRecord
from engage_stream.schemas.enriched import Decision, EnrichedEvent, PredictionView
from engage_stream.schemas.events import (
    ChatMessageEvent,
    CrmEvent,
    EmailInboundEvent,
    TicketCreatedEvent,
)
from engage_stream.schemas.validation import describe, field_errors_of

LIVE_RUN_ID = "live"

RUN_FILES: dict[TopicRole, str] = {
    TopicRole.ENRICHED: "enriched.jsonl",
    TopicRole.ACTIONS_HANDOFF: "actions_handoff.jsonl",
    TopicRole.ACTIONS_EMAIL: "actions_email.jsonl",
    TopicRole.SUPPRESSIONS: "suppressions.jsonl",
    TopicRole.DLQ: "dlq.jsonl",
}
"""The files of a run directory, by the topic role they stand for."""

MANIFEST_FILE = "run.json"

RUN_ROLES: tuple[TopicRole, ...] = tuple(RUN_FILES)

M = TypeVar("M", bound=BaseModel)


class RunLoadError(Exception):
    """The run cannot be loaded; the message says which file, topic or line, and why."""


class KafkaUnavailableError(RunLoadError):
    """The broker could not be reached or read: not a problem with the arguments."""


@dataclass(frozen=True, slots=True)
class Prediction:
    label: str
    score: float
    model: str
    """`name version` of the model that made it."""


@dataclass(frozen=True, slots=True)
class EventOutcome:
    """One event of a run: what the models said and what the rules decided."""

    event_id: str
    event_type: str
    customer_id: str
    occurred_at: datetime
    customer_text: str | None
    """The customer's own words (chat turn, e-mail, ticket), not masked; mask on output."""
    sender: str | None
    intent: Prediction | None
    toxicity: Prediction | None
    topic: Prediction | None
    decisions: tuple[Decision, ...]
    processed_at: datetime
    source_timestamp_ms: int | None
    duplicate: bool = False
    """The input carried this event id more than once (a record marked `duplicate_of`)."""

    def latency_ms(self) -> float | None:
        """`processed_at` minus the Kafka record timestamp of the input, when known."""
        if self.source_timestamp_ms is None:
            return None
        return self.processed_at.timestamp() * 1000 - self.source_timestamp_ms


@dataclass(slots=True)
class Run:
    run_id: str
    source: str
    """Where it was read from, for people: a directory, or the topics."""
    events: dict[str, EventOutcome] = field(default_factory=dict)
    handoffs: dict[str, HandoffAction] = field(default_factory=dict)
    messages: dict[str, NextBestAction] = field(default_factory=dict)
    suppressions: dict[str, Suppression] = field(default_factory=dict)
    dlq: list[DlqRecord] | None = None
    """None where the run has no dead-letter data at all (no file, no topic)."""
    manifest: dict[str, Any] | None = None
    records: int = 0
    """Enriched records read, duplicates and redeliveries included."""
    duplicate_records: int = 0
    redelivered_records: int = 0
    duplicate_only: set[str] = field(default_factory=set)
    """Event ids seen only as duplicates (their first record lies outside the run)."""
    policy_versions: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)
    record_run_ids: set[str] = field(default_factory=set)

    @property
    def is_live(self) -> bool:
        return self.run_id == LIVE_RUN_ID

    def drafts(self) -> list[DraftSource]:
        """Every drafted answer of the run: handoffs' drafts, then answers sent by e-mail."""
        found = [h.draft for h in self.handoffs.values() if h.draft is not None]
        return found + [m.draft for m in self.messages.values() if m.draft is not None]

    # -- building ---------------------------------------------------------------------------

    def add_enriched(self, record: EnrichedEvent) -> None:
        self.records += 1
        self.record_run_ids.add(record.run_id)
        event_id = record.event.event_id
        if record.duplicate_of is not None:
            self.duplicate_records += 1
            kept = self.events.get(event_id)
            if kept is None:
                self.duplicate_only.add(event_id)
            elif not kept.duplicate:
                self.events[event_id] = _with_duplicate(kept)
            return
        if event_id in self.events:
            self.redelivered_records += 1
            return
        self.policy_versions.add(record.policy_version)
        self.models.update(f"{m.name} {m.version}" for m in record.models)
        self.events[event_id] = outcome_of(record, duplicate=event_id in self.duplicate_only)
        self.duplicate_only.discard(event_id)

    def add_handoff(self, action: HandoffAction) -> None:
        self.handoffs.setdefault(action.action_id, action)

    def add_message(self, action: NextBestAction) -> None:
        self.messages.setdefault(action.action_id, action)

    def add_suppression(self, suppression: Suppression) -> None:
        self.suppressions.setdefault(suppression.suppression_id, suppression)

    def add_dead_letters(self, records: Iterable[DlqRecord]) -> None:
        seen: set[tuple[str, int, int]] = set()
        kept: list[DlqRecord] = []
        for record in records:
            position = (record.source_topic, record.source_partition, record.source_offset)
            if position not in seen:
                seen.add(position)
                kept.append(record)
        self.dlq = kept


def _with_duplicate(outcome: EventOutcome) -> EventOutcome:
    return replace(outcome, duplicate=True)


def customer_text(event: CrmEvent) -> tuple[str | None, str | None]:
    """(text, sender) of an event that carries words: a chat turn, an e-mail, a ticket."""
    if isinstance(event, ChatMessageEvent):
        return event.payload.text, event.payload.sender.value
    if isinstance(event, EmailInboundEvent):
        subject = event.payload.subject.strip()
        body = event.payload.body
        return (f"{subject} — {body}" if subject else body), "customer"
    if isinstance(event, TicketCreatedEvent):
        description = event.payload.description.strip()
        subject = event.payload.subject
        return (f"{subject} — {description}" if description else subject), "customer"
    return None, None


def _prediction(view: PredictionView | None) -> Prediction | None:
    if view is None:
        return None
    return Prediction(view.label, view.score, f"{view.model.name} {view.model.version}")


def outcome_of(record: EnrichedEvent, duplicate: bool = False) -> EventOutcome:
    predictions = record.predictions
    text, sender = customer_text(record.event)
    return EventOutcome(
        event_id=record.event.event_id,
        event_type=record.event.event_type,
        customer_id=record.event.customer_id,
        occurred_at=record.event.occurred_at,
        customer_text=text,
        sender=sender,
        intent=_prediction(predictions.intent) if predictions else None,
        toxicity=_prediction(predictions.toxicity) if predictions else None,
        topic=_prediction(predictions.topic) if predictions else None,
        decisions=tuple(record.decisions),
        processed_at=record.processed_at,
        source_timestamp_ms=record.source.timestamp_ms,
        duplicate=duplicate,
    )


# -- from a directory -----------------------------------------------------------------------


def _parse(model: type[M], raw: str | bytes, where: str) -> M:
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunLoadError(f"{where}: not JSON ({exc})") from None
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise RunLoadError(
            f"{where}: not a valid {model.__name__}: {describe(field_errors_of(exc), limit=3)}"
        ) from None


def _lines(path: Path, model: type[M]) -> Iterator[M]:
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield _parse(model, line, f"{path}, line {number}")
    except UnicodeDecodeError as exc:
        raise RunLoadError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise RunLoadError(f"{path}: cannot read: {exc.strerror}") from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def read_manifest(directory: Path) -> dict[str, Any] | None:
    path = directory / MANIFEST_FILE
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except (OSError, ValueError) as exc:
        raise RunLoadError(f"{path}: not a readable JSON manifest ({exc})") from None
    if not isinstance(document, dict):
        raise RunLoadError(f"{path}: the manifest is not a JSON object")
    return document


def load_run_dir(directory: Path) -> Run:
    """A run directory as replay writes it; `enriched.jsonl` must be there, the rest may not."""
    if not directory.is_dir():
        raise RunLoadError(f"run directory {directory} does not exist")
    enriched = directory / RUN_FILES[TopicRole.ENRICHED]
    if not enriched.is_file():
        raise RunLoadError(f"{directory} is not a run directory: it has no {enriched.name}")
    manifest = read_manifest(directory)
    run = Run(run_id="", source=str(directory), manifest=manifest)
    for record in _lines(enriched, EnrichedEvent):
        run.add_enriched(record)
    for handoff in _optional_lines(directory, TopicRole.ACTIONS_HANDOFF, HandoffAction):
        run.add_handoff(handoff)
    for message in _optional_lines(directory, TopicRole.ACTIONS_EMAIL, NextBestAction):
        run.add_message(message)
    for suppression in _optional_lines(directory, TopicRole.SUPPRESSIONS, Suppression):
        run.add_suppression(suppression)
    dlq = directory / RUN_FILES[TopicRole.DLQ]
    if dlq.is_file():
        run.add_dead_letters(_lines(dlq, DlqRecord))
    if run.records == 0:
        raise RunLoadError(f"{enriched} holds no records: no run to evaluate")
    run.run_id = _run_id(run, manifest, default=directory.name)
    return run


def _optional_lines(directory: Path, role: TopicRole, model: type[M]) -> Iterator[M]:
    path = directory / RUN_FILES[role]
    if path.is_file():
        yield from _lines(path, model)


def _run_id(run: Run, manifest: dict[str, Any] | None, default: str) -> str:
    if manifest is not None and isinstance(manifest.get("run_id"), str) and manifest["run_id"]:
        return str(manifest["run_id"])
    if len(run.record_run_ids) == 1:
        return next(iter(run.record_run_ids))
    return default


# -- from topics ----------------------------------------------------------------------------


def shadow_topic(topics: TopicsFile, run_id: str, role: TopicRole) -> str:
    """`<shadow_prefix>.<run_id>.<live topic name>`: where replay writes a role's records
    (as `engage_stream.replay.sinks.ShadowTopics` names them)."""
    return f"{topics.shadow_prefix}.{run_id}.{topics.name(role)}"


def _read_topic(
    connection: dict[str, Any], topic: str, model: type[M], timeout_s: float
) -> Iterator[M]:
    try:
        for record in read_to_end(connection, topic, timeout_s=timeout_s):
            where = f"{topic} partition {record.partition} offset {record.offset}"
            if record.value is None:
                continue  # a tombstone: nothing to evaluate
            yield _parse(model, record.value, where)
    except TimeoutError as exc:
        raise KafkaUnavailableError(str(exc)) from None
    except KafkaError as exc:
        raise KafkaUnavailableError(f"reading {topic} failed: {_describe(exc)}") from None


def _describe(exc: BaseException) -> str:
    """kafka-python's str() of an error may already start with its class name."""
    name, text = type(exc).__name__, str(exc)
    return text if text.startswith(name) else f"{name}: {text}" if text else name


def topic_names(connection: dict[str, Any]) -> set[str]:
    """Every topic on the broker; KafkaUnavailableError when it cannot be reached."""
    servers = ",".join(connection.get("bootstrap_servers", []))
    try:
        consumer = KafkaConsumer(**connection, group_id=None, enable_auto_commit=False)
    except KafkaError as exc:
        raise KafkaUnavailableError(f"cannot reach Kafka at {servers} ({_describe(exc)})") from None
    try:
        return set(consumer.topics())
    except KafkaError as exc:
        raise KafkaUnavailableError(
            f"cannot list the topics on {servers} ({_describe(exc)})"
        ) from None
    finally:
        consumer.close()


def load_run_topics(
    topics: TopicsFile,
    connection: dict[str, Any],
    run_id: str | None = None,
    timeout_s: float = 60.0,
) -> Run:
    """The live topics (`run_id` None), or the shadow topics of replay run `run_id`.

    The enriched topic must exist and hold records; the others are read when they exist.
    """
    available = topic_names(connection)
    names: dict[TopicRole, str | None] = {}
    for role in RUN_ROLES:
        wanted = topics.name(role) if run_id is None else shadow_topic(topics, run_id, role)
        names[role] = wanted if wanted in available else None
    enriched = names[TopicRole.ENRICHED]
    if enriched is None:
        if run_id is None:
            raise RunLoadError(
                f"topic {topics.name(TopicRole.ENRICHED)} does not exist; "
                "is this the right broker and topics file?"
            )
        raise RunLoadError(
            f"unknown run id {run_id!r}: no shadow topic "
            f"{shadow_topic(topics, run_id, TopicRole.ENRICHED)}"
        )
    source = f"shadow topics {enriched} …" if run_id else f"live topics {enriched} …"
    run = Run(run_id=run_id or LIVE_RUN_ID, source=source)
    for record in _read_topic(connection, enriched, EnrichedEvent, timeout_s):
        run.add_enriched(record)
    if run.records == 0:
        raise RunLoadError(f"topic {enriched} is empty: no run to evaluate")
    if (name := names[TopicRole.ACTIONS_HANDOFF]) is not None:
        for handoff in _read_topic(connection, name, HandoffAction, timeout_s):
            run.add_handoff(handoff)
    if (name := names[TopicRole.ACTIONS_EMAIL]) is not None:
        for message in _read_topic(connection, name, NextBestAction, timeout_s):
            run.add_message(message)
    if (name := names[TopicRole.SUPPRESSIONS]) is not None:
        for suppression in _read_topic(connection, name, Suppression, timeout_s):
            run.add_suppression(suppression)
    if (name := names[TopicRole.DLQ]) is not None:
        run.add_dead_letters(_read_topic(connection, name, DlqRecord, timeout_s))
    return run
