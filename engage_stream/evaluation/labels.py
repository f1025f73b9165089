"""Ground truth for an evaluation: what a person (or a later outcome) says about events.

One JSON document per event id, from a JSON-lines file or a topic:

    {"event_id": "E011-0000007", "intent": "command", "toxicity": "none",
     "topic": "delivery_status", "answer_id": "delivery_status.shipped",
     "handoff_needed": true, "email_opened": false, "email_converted": false}

Every field but `event_id` may be left out: a label file may judge only toxicity, another
only e-mail outcomes. `intent`, `toxicity` and `topic` are label names of the heads that
serve them (checked against the models' manifests by `eval`, so a shop's own taxonomy
works); `answer_id` is the knowledge-bank answer that answers the event's question, or
null for "nothing in the bank answers it". Unknown fields are refused (a typo such as
`handoff_need` would otherwise silently judge nothing), and booleans must be JSON booleans.
When one event id appears twice the later document wins (a correction appended later).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka.errors import KafkaError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engage_stream.kafka.reader import read_to_end
from engage_stream.schemas.common import Identifier
from engage_stream.schemas.validation import describe, field_errors_of


class LabelsError(Exception):
    """The labels cannot be used; the message names the file and line (or topic position)."""


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    event_id: Identifier
    intent: str | None = Field(default=None, min_length=1, max_length=100)
    toxicity: str | None = Field(default=None, min_length=1, max_length=100)
    topic: str | None = Field(default=None, min_length=1, max_length=100)
    answer_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="null: no bank answer fits."
    )
    handoff_needed: bool | None = None
    email_opened: bool | None = None
    email_converted: bool | None = None

    @property
    def judges_answer(self) -> bool:
        """The label says which answer fits (or, with null, that none does)."""
        return "answer_id" in self.model_fields_set


@dataclass(slots=True)
class Labels:
    source: str
    by_event: dict[str, Label] = field(default_factory=dict)
    documents: int = 0
    """Documents read; more than `len(by_event)` when some event ids were labelled again."""

    def __len__(self) -> int:
        return len(self.by_event)

    def get(self, event_id: str) -> Label | None:
        return self.by_event.get(event_id)

    def add(self, label: Label) -> None:
        self.documents += 1
        self.by_event[label.event_id] = label

    def count(self, name: str) -> int:
        """How many labels give field `name`."""
        return sum(1 for label in self.by_event.values() if getattr(label, name) is not None)

    def unknown(self, name: str, known: Collection[str]) -> list[str]:
        """Values of field `name` that are not among `known` (a model's label names)."""
        values = {getattr(label, name) for label in self.by_event.values()}
        return sorted(v for v in values if v is not None and v not in known)


def parse_label(raw: str | bytes, where: str) -> Label:
    try:
        document: Any = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LabelsError(f"{where}: not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise LabelsError(f"{where}: a label is a JSON object with at least an event_id")
    try:
        return Label.model_validate(document)
    except ValidationError as exc:
        raise LabelsError(f"{where}: {describe(field_errors_of(exc), limit=3)}") from None


def labels_from(documents: Iterable[Label], source: str) -> Labels:
    labels = Labels(source=source)
    for label in documents:
        labels.add(label)
    return labels


def load_labels_file(path: Path) -> Labels:
    """A JSON-lines file; blank lines are skipped, any other bad line stops with its number."""
    labels = Labels(source=str(path))
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    labels.add(parse_label(line, f"{path}, line {number}"))
    except FileNotFoundError:
        raise LabelsError(f"labels file {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise LabelsError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise LabelsError(f"{path}: cannot read: {exc.strerror}") from None
    if not labels.by_event:
        raise LabelsError(f"labels file {path} holds no labels")
    return labels


def load_labels_topic(connection: dict[str, Any], topic: str, timeout_s: float = 60.0) -> Labels:
    """Every label document on `topic`, up to its end; a bad record stops with its position."""
    labels = Labels(source=f"topic {topic}")
    try:
        for record in read_to_end(connection, topic, timeout_s=timeout_s):
            if record.value is not None:
                where = f"{topic} partition {record.partition} offset {record.offset}"
                labels.add(parse_label(record.value, where))
    except ValueError as exc:  # the topic does not exist
        raise LabelsError(f"labels: {exc}") from None
    except (TimeoutError, KafkaError) as exc:
        raise LabelsError(f"labels: reading {topic} failed: {exc}") from None
    if not labels.by_event:
        raise LabelsError(f"labels topic {topic} holds no labels")
    return labels
