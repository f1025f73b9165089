"""Where a replay's outputs go: JSON-lines files or shadow topics, never live topics.

The shadow topic of a role is `<shadow_prefix>.<run_id>.<live topic name>`. `ShadowTopics`
refuses, at construction and again at every send, any name that is a live topic of the
topics file or lies outside the run's shadow namespace: a replay cannot write to the live
action topics, whatever run id or topics file it is given.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Protocol

from kafka import KafkaProducer

from engage_stream.kafka.admin import ensure_topics
from engage_stream.kafka.reader import read_to_end
from engage_stream.kafka.topics import TopicRole, TopicsFile
from engage_stream.step.outputs import Output

OUTPUT_ROLES = (
    TopicRole.ENRICHED,
    TopicRole.ACTIONS_HANDOFF,
    TopicRole.ACTIONS_EMAIL,
    TopicRole.SUPPRESSIONS,
    TopicRole.DLQ,
)
RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class LiveTopicError(RuntimeError):
    """A replay tried to write where live consumers read."""


def check_run_id(run_id: str) -> str:
    if not RUN_ID.match(run_id):
        raise ValueError(
            f"run id {run_id!r}: use 1-64 letters, digits, '-' or '_' (it names topics and folders)"
        )
    return run_id


def output_id(role: TopicRole, record: dict[str, Any]) -> str:
    """What makes an output record unique, so a resumed run can skip what it already wrote."""
    if role is TopicRole.ENRICHED:
        source = record["source"]
        return f"{source['topic']}/{source['partition']}@{source['offset']}"
    if role is TopicRole.SUPPRESSIONS:
        return str(record["suppression_id"])
    if role is TopicRole.DLQ:
        return f"{record['source_topic']}/{record['source_partition']}@{record['source_offset']}"
    return str(record["action_id"])


class Sink(Protocol):
    def write(self, output: Output) -> None: ...

    def checkpoint(self) -> dict[str, int]:
        """Flush, and say where the outputs end (to cut back to on resume)."""
        ...

    def restore(self, marks: dict[str, int]) -> None: ...

    def close(self) -> None: ...


class DirectorySink:
    """`<dir>/<role>.jsonl`, one output document per line."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._files = {role: self.path(role).open("ab") for role in OUTPUT_ROLES}

    def path(self, role: TopicRole) -> Path:
        return self.directory / f"{role.value}.jsonl"

    def write(self, output: Output) -> None:
        self._files[output.role].write(output.value + b"\n")

    def checkpoint(self) -> dict[str, int]:
        marks = {}
        for role, handle in self._files.items():
            handle.flush()
            marks[role.value] = handle.tell()
        return marks

    def restore(self, marks: dict[str, int]) -> None:
        """Cut each file back to the checkpoint: what came after it is written again."""
        for role, handle in self._files.items():
            handle.flush()
            handle.truncate(marks.get(role.value, 0))
            handle.seek(0, 2)

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()


class ShadowTopics:
    """Shadow topics of one run, created with the live topics' partitions."""

    def __init__(
        self, connection: dict[str, Any], topics: TopicsFile, run_id: str, *, create: bool = True
    ) -> None:
        self.run_id = check_run_id(run_id)
        self.topics = topics
        self.connection = connection
        self.live = {spec.name for spec in topics.topics.values()}
        self.prefix = f"{topics.shadow_prefix}.{run_id}."
        self.names = {role: self.prefix + topics.name(role) for role in OUTPUT_ROLES}
        for name in self.names.values():
            self._guard(name)
        if create:
            specs = [
                topics.topics[role].model_copy(update={"name": self.names[role]})
                for role in OUTPUT_ROLES
            ]
            ensure_topics(connection, topics, specs=specs)
        self._producer = KafkaProducer(**connection, acks="all", linger_ms=20)
        self._skip: set[tuple[TopicRole, str]] = set()

    def _guard(self, name: str) -> None:
        if name in self.live or not name.startswith(self.prefix):
            raise LiveTopicError(
                f"refusing to write replay output to {name!r}: not a shadow topic of run "
                f"{self.run_id} ({self.prefix}*)"
            )

    def write(self, output: Output) -> None:
        name = self.names[output.role]
        self._guard(name)
        if (
            self._skip
            and (output.role, output_id(output.role, json.loads(output.value))) in self._skip
        ):
            return
        self._producer.send(name, key=output.key, value=output.value)

    def checkpoint(self) -> dict[str, int]:
        self._producer.flush()
        return {}

    def restore(self, marks: dict[str, int]) -> None:
        """Topics cannot be cut back: remember what is there and do not send it again."""
        for role, name in self.names.items():
            for record in read_to_end(self.connection, name):
                self._skip.add((role, output_id(role, json.loads(record.value))))

    def close(self) -> None:
        self._producer.flush()
        self._producer.close()
