"""The chaos soak: real faults while events flow through a group of workers on Apache Kafka,
judged against a clean single-worker run of the same input.

Per seed, on topics and a consumer group of its own: three workers (`WorkerProcess`), the
sample profiles, then thousands of sample events (keyed by customer id, a few undecodable
records among them) produced at a steady rate while a seeded schedule injects faults: a
worker SIGKILLed (and a replacement started), a worker SIGSTOPped past the session timeout
and SIGCONTed (a zombie that wakes up after its partitions moved: it exits, and is started
again here as its supervisor would), the broker killed with
SIGKILL and restarted on the same port and data, a worker joining and one leaving (SIGTERM).
Once the group has committed every input and the workers are stopped, the outputs are read
back and checked by the pure functions below:

- `compare`: the same ids as the clean run with the same bodies (actions, suppressions,
  enriched records, DLQ records), duplicates with one body allowed (at-least-once);
- `unaccounted`: every input event enriched, every undecodable record dead-lettered;
- `cap_breaches`: no customer sent more advertising than the policy's frequency caps;
- `state_regressions`: no customer state moving back in changelog order.

What a body is compared on is what was decided. Left out are only the stamps of the moment
and the run, named in `STAMPS`: `created_at` of actions and suppressions, `processed_at` of
enriched records and `failed_at` of DLQ records are the deciding worker's wall clock
(`Step` passes it to the core as the time of processing), and `source.timestamp_ms` /
`source_timestamp_ms` are the Kafka record timestamps our own producer put on the inputs,
different for each run. Topic names carry each run's own prefix (`isolated_topics_file`),
which is replaced by a neutral one before comparing.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from engage_stream.brokers import ApacheKafkaBroker
from engage_stream.brokers.process import free_ports
from engage_stream.enrichment.state import MAX_CONVERSATIONS, MAX_SEEN, MAX_SENT, MAX_TURNS
from engage_stream.harness.worker_process import WorkerProcess, WorkerProcessError
from engage_stream.kafka.admin import ensure_topics
from engage_stream.kafka.isolation import isolated_topics_file
from engage_stream.kafka.reader import read_to_end
from engage_stream.kafka.topics import TopicRole, TopicsFile, load_topics
from engage_stream.observability.logs import get_logger
from engage_stream.policy.policy_file import FrequencyCap, load_policy
from engage_stream.samples.generator import SampleConfig, SampleStream
from engage_stream.worker.freezes import EVICTED_EXIT
from engage_stream.worker.tables import SEP, customer_of

log = get_logger("engage.bench.chaos")

Record = dict[str, Any]

STAMPS: Mapping[str, frozenset[str]] = {
    "actions": frozenset({"created_at"}),
    "suppressions": frozenset({"created_at"}),
    "enriched": frozenset({"processed_at", "source.timestamp_ms"}),
    "dlq": frozenset({"failed_at", "source_timestamp_ms"}),
}
"""Per kind of output, the fields that are the clock of the moment, not a decision."""

START_ATTEMPTS = 4
START_BACKOFF_S = 5.0
LEAVE_TIMEOUT_S = 30.0
WOKEN_GRACE_S = 10.0
"""Past twice the session timeout, for a woken worker to see its group move and exit."""
"""How long a worker asked to leave (SIGTERM) may take before it is SIGKILLed."""

RUN_PREFIX = "run"
"""Stands for each run's own topic prefix in compared bodies."""


# -- the checks: pure functions on records read back ------------------------------------------


def without(record: Record, stamps: Iterable[str]) -> Record:
    """`record` less the (dotted) `stamps`: `source.timestamp_ms` drops a nested field."""
    kept = dict(record)
    nested: dict[str, list[str]] = defaultdict(list)
    for stamp in stamps:
        head, _, rest = stamp.partition(".")
        if rest:
            nested[head].append(rest)
        else:
            kept.pop(head, None)
    for head, rests in nested.items():
        if isinstance(kept.get(head), dict):
            kept[head] = without(kept[head], rests)
    return kept


def renamed(value: Any, prefix: str) -> Any:
    """`value` with the run's topic prefix (`<prefix>.`) replaced by `RUN_PREFIX.`."""
    if isinstance(value, str):
        return value.replace(f"{prefix}.", f"{RUN_PREFIX}.")
    if isinstance(value, dict):
        return {k: renamed(v, prefix) for k, v in value.items()}
    if isinstance(value, list):
        return [renamed(v, prefix) for v in value]
    return value


def first_difference(expected: Any, found: Any, path: str = "") -> str | None:
    """Where two JSON values first differ, as `path: expected != found`, or None."""
    if isinstance(expected, dict) and isinstance(found, dict):
        for key in sorted(set(expected) | set(found)):
            here = f"{path}.{key}" if path else key
            if key not in found:
                return f"{here}: only in the clean run"
            if key not in expected:
                return f"{here}: only in this run"
            difference = first_difference(expected[key], found[key], here)
            if difference:
                return difference
        return None
    if isinstance(expected, list) and isinstance(found, list):
        for index, (a, b) in enumerate(zip(expected, found, strict=False)):
            difference = first_difference(a, b, f"{path}[{index}]")
            if difference:
                return difference
        if len(expected) != len(found):
            return f"{path}: {len(expected)} items != {len(found)}"
        return None
    if expected != found or type(expected) is not type(found):
        return f"{path or '.'}: {_short(expected)} != {_short(found)}"
    return None


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Comparison:
    """One kind of output of a run against the clean run's, by id."""

    kind: str
    ids: int
    records: int
    missing: list[str] = field(default_factory=list)
    """Ids the clean run wrote and this run did not."""
    extra: list[str] = field(default_factory=list)
    """Ids this run wrote and the clean run did not."""
    changed: list[str] = field(default_factory=list)
    """`id: where it differs` for ids whose body is not the clean run's."""
    conflicting: list[str] = field(default_factory=list)
    """Ids this run wrote with two or more different bodies."""

    @property
    def duplicates(self) -> int:
        """Records beyond one per id: redelivery after a fault (allowed with one body)."""
        return self.records - self.ids

    @property
    def passed(self) -> bool:
        return not (self.missing or self.extra or self.changed or self.conflicting)

    def differences(self, limit: int = 5) -> list[str]:
        found = [
            *(f"{self.kind} missing {i}" for i in self.missing),
            *(f"{self.kind} extra {i}" for i in self.extra),
            *(f"{self.kind} changed {c}" for c in self.changed),
            *(f"{self.kind} two bodies for {i}" for i in self.conflicting),
        ]
        return found[:limit]


def bodies(
    records: Iterable[Record], key: Callable[[Record], str], stamps: Iterable[str], prefix: str
) -> dict[str, list[Record]]:
    """The distinct bodies (stamps left out, topic prefix neutral) of each id, in the order
    first seen; and, as `records`' length, how many records there were."""
    found: dict[str, list[Record]] = {}
    left_out = tuple(stamps)
    for record in records:
        body = renamed(without(record, left_out), prefix)
        seen = found.setdefault(key(record), [])
        if body not in seen:
            seen.append(body)
    return found


def compare(
    kind: str,
    clean: Sequence[Record],
    clean_prefix: str,
    run: Sequence[Record],
    run_prefix: str,
    key: Callable[[Record], str],
    stamps: Iterable[str] = (),
) -> Comparison:
    """The run's records against the clean run's: the same ids, one body per id, the clean
    run's body. The clean run's own repeats (one input sent twice) are its business."""
    left_out = tuple(stamps)
    expected = bodies(clean, key, left_out, clean_prefix)
    found = bodies(run, key, left_out, run_prefix)
    changed = []
    for identifier in sorted(expected.keys() & found.keys()):
        want, got = expected[identifier][0], found[identifier]
        differing = next((body for body in got if body != want), None)
        if differing is not None:
            changed.append(f"{identifier}: {first_difference(want, differing)}")
    return Comparison(
        kind=kind,
        ids=len(found),
        records=len(run),
        missing=sorted(expected.keys() - found.keys()),
        extra=sorted(found.keys() - expected.keys()),
        changed=changed,
        conflicting=sorted(i for i, got in found.items() if len(got) > 1),
    )


def unaccounted(
    valid_ids: Iterable[str],
    invalid_values: Iterable[bytes],
    enriched: Iterable[Record],
    dlq: Iterable[Record],
) -> list[str]:
    """Inputs with no trace: valid events without an enriched record, undecodable records
    without a DLQ record carrying their exact bytes; and enriched ids no input had."""
    import base64

    done = {record["event"]["event_id"] for record in enriched}
    dead = {base64.b64decode(record["value_b64"]) for record in dlq}
    valid = set(valid_ids)
    problems = [f"event {i} neither enriched nor dead-lettered" for i in sorted(valid - done)]
    problems += [
        f"undecodable record {value[:40]!r} not in the DLQ"
        for value in sorted(set(invalid_values) - dead)
    ]
    problems += [f"enriched {i} was never sent" for i in sorted(done - valid)]
    return problems


def cap_breaches(actions: Iterable[Record], caps: Sequence[FrequencyCap]) -> list[str]:
    """Customers sent more advertising within a cap's window than the cap allows.

    The policy (`policy.outbound.cap_exceeded`) refuses a message when `max_messages`
    advertising messages of the customer, on any channel, are already less than
    `window_hours` from its send time; so no `max_messages + 1` of them may lie within less
    than the window of each other, whatever order they were decided in. Counted per
    customer over every channel, which is stricter than per channel. Each action id once."""
    by_customer: dict[str, dict[str, datetime]] = defaultdict(dict)
    for action in actions:
        if action.get("advertising"):
            sent = datetime.fromisoformat(action["send_not_before"])
            by_customer[action["customer_id"]][action["action_id"]] = sent
    breaches = []
    for customer, sent_at in sorted(by_customer.items()):
        times = sorted(sent_at.items(), key=lambda item: item[1])
        for cap in caps:
            window = timedelta(hours=cap.window_hours)
            for start in range(len(times) - cap.max_messages):
                first, last = times[start], times[start + cap.max_messages]
                if last[1] - first[1] < window:
                    ids = [i for i, _ in times[start : start + cap.max_messages + 1]]
                    breaches.append(
                        f"{customer}: {cap.max_messages + 1} advertising messages within "
                        f"{cap.window_hours:g} h (cap {cap.max_messages}): {', '.join(ids)}"
                    )
                    break
    return breaches


@dataclass(frozen=True)
class ChangelogRecord:
    partition: int
    offset: int
    key: bytes
    value: bytes | None


def state_regressions(records: Iterable[ChangelogRecord]) -> list[str]:
    """Customer states that moved back, read from the state parts changelog
    (`<group>-customer-state-parts-changelog`) in changelog order.

    The worker's store keeps a state in parts (`worker.tables.StateCodec`): the messages sent
    (`sent`), each conversation (`c␟<id>`) and each chunk of the seen log (`s␟<source>␟<n>`),
    each written whole when it changes, a chunk renamed by writing the new name before the
    old one's tombstone. A stored state only ever grows (`CustomerState`: "the stored state
    never moves back"), so per customer, in the order of the changelog:
    - the action ids in `sent` are never lost, unless trimmed from the front at `MAX_SENT`;
    - the seen event ids, over all chunks, are never lost, unless the log held `MAX_SEEN`;
    - a conversation's turns are never lost, unless trimmed from the front at `MAX_TURNS`,
      its handoff once marked stays, and it is deleted only when `MAX_CONVERSATIONS` were kept;
    - all its parts sit in one changelog partition (one owner at a time).
    A zombie worker that writes its older view after another took the partition over shows
    here as lost entries. Order facts are left out: they are folded and trimmed by order.
    So are a partition's own entries (keys that start with SEP: its stream time), which sit
    in every partition and move back by design when a redo starts from its commit's time."""
    by_customer: dict[str, list[ChangelogRecord]] = defaultdict(list)
    for record in records:
        customer = customer_of(record.key)
        if customer is None:
            continue
        by_customer[customer].append(record)
    problems: list[str] = []
    for customer, writes in sorted(by_customer.items()):
        partitions = sorted({w.partition for w in writes})
        if len(partitions) > 1:
            problems.append(f"{customer}: state parts in changelog partitions {partitions}")
            continue
        problems += _customer_regressions(customer, sorted(writes, key=lambda w: w.offset))
    return problems


def _customer_regressions(customer: str, writes: list[ChangelogRecord]) -> list[str]:
    problems: list[str] = []
    sent: list[str] = []
    chunks: dict[str, list[str]] = {}
    conversations: dict[str, tuple[list[str], str | None]] = {}
    for write in writes:
        name = write.key.decode("utf-8", "replace").partition(SEP)[2]
        kind = name.partition(SEP)[0]
        at = f"{customer} {name.replace(SEP, '/')} at {write.partition}@{write.offset}"
        value = json.loads(write.value) if write.value is not None else None
        if name == "sent":
            now = [m["action_id"] for m in value or []]
            lost = _lost(sent, now, trimmed_at=MAX_SENT)
            if lost:
                problems.append(f"{at}: sent messages lost {lost[:3]}")
            sent = now
        elif kind == "s":
            before = {i for ids in chunks.values() for i in ids}
            if value is None:
                chunks.pop(name, None)
            else:
                chunks[name] = list(value["ids"])
            after = {i for ids in chunks.values() for i in ids}
            lost = sorted(before - after)
            if lost and len(before) < MAX_SEEN:
                problems.append(f"{at}: seen events lost {lost[:3]}")
        elif kind == "c":
            turns, handoff = conversations.get(name, ([], None))
            if value is None:
                if len(conversations) < MAX_CONVERSATIONS:
                    problems.append(f"{at}: conversation deleted with {len(turns)} turns")
                conversations.pop(name, None)
                continue
            now_turns = [t["event_id"] for t in value["turns"]]
            now_handoff = (value.get("handoff") or {}).get("action_id")
            lost = _lost(turns, now_turns, trimmed_at=MAX_TURNS)
            if lost:
                problems.append(f"{at}: turns lost {lost[:3]}")
            if handoff is not None and now_handoff != handoff:
                problems.append(f"{at}: handoff {handoff} became {now_handoff}")
            conversations[name] = (now_turns, now_handoff)
    return problems


def _lost(before: list[str], after: list[str], trimmed_at: int) -> list[str]:
    """Entries of `before` gone from `after`, except a front trimmed off a full list."""
    kept = set(after)
    lost = [entry for entry in before if entry not in kept]
    if lost and len(after) >= trimmed_at and before[: len(lost)] == lost:
        return []
    return lost


# -- the input ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoakInput:
    """The same records for every run: profiles, then events with undecodable ones mixed in."""

    profiles: list[tuple[bytes, bytes]]
    events: list[tuple[bytes, bytes]]
    valid_ids: frozenset[str]
    invalid_values: frozenset[bytes]


def soak_input(events: int, customers: int, seed: int = 11, invalid_every: int = 200) -> SoakInput:
    """`events` sample events keyed by customer id, and after every `invalid_every`-th one
    an undecodable record (not JSON, not UTF-8, an unknown event type, a schema violation),
    each with bytes of its own so that its DLQ record can be found by them."""
    stream = SampleStream(SampleConfig(customers=customers, seed=seed))
    sample = list(stream.events(events))
    profiles = [(p.customer_id.encode(), p.model_dump_json().encode()) for p in stream.profiles]
    records: list[tuple[bytes, bytes]] = []
    invalid: list[bytes] = []
    for index, event in enumerate(sample, start=1):
        records.append((event.customer_id.encode(), event.model_dump_json().encode()))
        if invalid_every and index % invalid_every == 0:
            bad = _undecodable(index // invalid_every, event.customer_id)
            invalid.append(bad)
            records.append((event.customer_id.encode(), bad))
    return SoakInput(
        profiles=profiles,
        events=records,
        valid_ids=frozenset(e.event_id for e in sample),
        invalid_values=frozenset(invalid),
    )


def _undecodable(number: int, customer_id: str) -> bytes:
    kind = number % 4
    if kind == 0:
        return f'{{"event_id": "bad-{number}", "event_type": '.encode()
    if kind == 1:
        return b"\xff\xfe bad-" + str(number).encode()
    if kind == 2:
        return json.dumps({"event_id": f"bad-{number}", "event_type": "coupon.used"}).encode()
    return json.dumps(
        {"event_id": f"bad-{number}", "event_type": "chat.message", "customer_id": customer_id}
    ).encode()


# -- the fault schedule -----------------------------------------------------------------------


class FaultKind(StrEnum):
    KILL = "kill"
    """SIGKILL a worker, then start a replacement."""
    PAUSE = "pause"
    """SIGSTOP a worker past the session timeout, then SIGCONT: a zombie wakes up."""
    BROKER = "broker"
    """SIGKILL the broker, restart it on the same port and data."""
    JOIN = "join"
    """Start one more worker in the group."""
    LEAVE = "leave"
    """SIGTERM a worker: it commits and leaves the group."""


@dataclass(frozen=True)
class PlannedFault:
    kind: FaultKind
    at_s: float
    """Seconds after the first event was sent."""
    pick: float
    """In [0, 1): which of the workers running then is the target (by name order)."""


def schedule(seed: int, flow_s: float, count: int = 5) -> list[PlannedFault]:
    """`count` faults at seeded times within the first 85 % of the flow: every kind once
    (in a seeded order) before any repeats, so that each seed exercises each fault."""
    rng = random.Random(seed)
    kinds = list(FaultKind)
    rng.shuffle(kinds)
    while len(kinds) < count:
        kinds.append(rng.choice(list(FaultKind)))
    times = sorted(round(rng.uniform(0.05, 0.85) * flow_s, 1) for _ in range(count))
    return [
        PlannedFault(kind=kind, at_s=at, pick=rng.random())
        for kind, at in zip(kinds[:count], times, strict=True)
    ]


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultRecord:
    kind: str
    at_s: float
    """When it began, seconds after the first event was sent."""
    target: str
    took_s: float
    note: str


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    summary: str
    differences: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    """One run (the clean one, or one seed's) and its checks."""

    seed: int | None
    events: int
    faults: list[FaultRecord]
    actions: int
    action_records: int
    suppressions: int
    enriched: int
    dlq: int
    wall_s: float
    settled_s: float
    checks: list[Check]
    log_dir: str

    @property
    def duplicates(self) -> int:
        return self.action_records - self.actions

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def first_differences(self, limit: int = 5) -> list[str]:
        return [d for check in self.checks for d in check.differences][:limit]


@dataclass(frozen=True)
class Outputs:
    """What a run wrote, read back after its workers stopped."""

    prefix: str
    actions: list[Record]
    suppressions: list[Record]
    enriched: list[Record]
    dlq: list[Record]
    state: list[ChangelogRecord]


def _outputs(outputs: Outputs) -> dict[str, list[Record]]:
    return {
        "actions": outputs.actions,
        "suppressions": outputs.suppressions,
        "enriched": outputs.enriched,
        "dlq": outputs.dlq,
    }


IDS: Mapping[str, tuple[str, Callable[[Record], str]]] = {
    "actions": ("action", lambda r: str(r["action_id"])),
    "suppressions": ("suppression", lambda r: str(r["suppression_id"])),
    "enriched": ("enriched", lambda r: str(r["event"]["event_id"])),
    "dlq": ("dlq", lambda r: str(r["value_b64"])),
}
"""Per kind of output, what it is called in a report and its id: a DLQ record's is the
original bytes (base64), which an undecodable input has no other name for."""


def judge(
    clean: Outputs, run: Outputs, soak: SoakInput, caps: Sequence[FrequencyCap]
) -> list[Check]:
    """Every check of a run against the clean run."""
    expected, found = _outputs(clean), _outputs(run)
    comparisons = [
        compare(name, expected[kind], clean.prefix, found[kind], run.prefix, key, STAMPS[kind])
        for kind, (name, key) in IDS.items()
    ]
    checks = [
        Check(
            name=f"{c.kind} ids and bodies",
            passed=c.passed,
            summary=f"{c.ids} ids, {c.duplicates} duplicates, {len(c.missing)} missing, "
            f"{len(c.extra)} extra, {len(c.changed)} changed, {len(c.conflicting)} with two bodies",
            differences=c.differences(),
        )
        for c in comparisons
    ]
    lost = unaccounted(soak.valid_ids, soak.invalid_values, run.enriched, run.dlq)
    checks.append(
        Check(
            "every input enriched or dead-lettered",
            not lost,
            f"{len(soak.valid_ids)} events, {len(soak.invalid_values)} undecodable, "
            f"{len(lost)} unaccounted",
            lost[:5],
        )
    )
    breaches = cap_breaches(run.actions, caps)
    checks.append(
        Check("frequency caps", not breaches, f"{len(breaches)} customers over a cap", breaches[:5])
    )
    regressions = state_regressions(run.state)
    checks.append(
        Check(
            "state never moves back",
            not regressions,
            f"{len(run.state)} changelog writes, {len(regressions)} regressions",
            regressions[:5],
        )
    )
    return checks


# -- orchestration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoakSettings:
    events: int = 2_000
    customers: int = 60
    rate: float = 30.0
    """Events/s while faults are injected; the clean run sends as fast as it can."""
    workers: int = 3
    faults: int = 5
    session_timeout_s: float = 6.0
    pause_past_timeout_s: float = 3.0
    """A paused worker stays stopped this long past the session timeout."""
    settle_timeout_s: float = 180.0
    """A group that has not committed everything this long after the input ended is stuck."""
    ready_timeout_s: float = 180.0

    @property
    def flow_s(self) -> float:
        return self.events / self.rate


@dataclass
class _Member:
    name: str
    process: WorkerProcess
    state: str = "starting"
    """starting, active, busy (a fault has it), paused, gone."""


class _Run:
    """One run's topics, group and workers on the shared broker."""

    def __init__(
        self, broker: ApacheKafkaBroker, directory: Path, setup: Setup, settings: SoakSettings
    ) -> None:
        self.broker = broker
        self.directory = directory
        self.settings = settings
        self.setup = setup
        self.prefix = f"t{uuid.uuid4().hex[:8]}"
        self.topics_file = isolated_topics_file(setup.topics, directory, prefix=self.prefix)
        self.topics: TopicsFile = load_topics(self.topics_file)
        self.group = f"chaos-{self.prefix}"
        self.connection: dict[str, Any] = {"bootstrap_servers": [broker.bootstrap]}
        ensure_topics(self.connection, self.topics)
        self.members: list[_Member] = []
        self.lock = threading.RLock()
        self.errors: list[str] = []

    def name(self, role: TopicRole) -> str:
        return self.topics.name(role)

    def worker(self) -> _Member:
        with self.lock:
            name = f"w{len(self.members)}"
            process = WorkerProcess.on(
                self.broker.bootstrap,
                self.topics_file,
                self.group,
                free_ports(1)[0],
                log_file=self.directory / f"{name}.log",
                ENGAGE_SESSION_TIMEOUT_S=f"{self.settings.session_timeout_s:g}",
                ENGAGE_DEVICE="cpu",
                # fp32: int8 scores move with the batch an event shares, and batches
                # differ between runs; fp32 scores do not.
                ENGAGE_MODEL_PRECISION="fp32",
                ENGAGE_POLICY_FILE=str(self.setup.policy),
                **self.setup.environment(),
            )
            member = _Member(name, process)
            self.members.append(member)
        return member

    def start(self, member: _Member) -> int:
        """Start a worker as a supervisor would: a worker that cannot reach the broker
        refuses to start (exit 2, by design), so while the broker restarts it is started
        again, after a pause, up to `START_ATTEMPTS` times. Returns the restarts needed."""
        for attempt in range(START_ATTEMPTS):
            try:
                member.process.start(ready_timeout_s=self.settings.ready_timeout_s)
                member.state = "active"
                return attempt
            except WorkerProcessError as exc:
                member.process.stop()
                if attempt + 1 == START_ATTEMPTS:
                    member.state = "gone"
                    self.errors.append(f"{member.name} did not start: {exc}")
                time.sleep(START_BACKOFF_S)
        return START_ATTEMPTS

    def start_many(self, count: int) -> None:
        members = [self.worker() for _ in range(count)]
        threads = [threading.Thread(target=self.start, args=(m,)) for m in members]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def active(self) -> list[_Member]:
        with self.lock:
            return [m for m in self.members if m.state == "active" and m.process.running()]

    def stop_all(self) -> None:
        def stop(member: _Member) -> None:
            if member.state == "paused":
                member.process.resume()
            if member.state != "gone":
                member.process.stop()
                member.state = "gone"

        threads = [threading.Thread(target=stop, args=(m,)) for m in self.members]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def diagnose(self) -> list[str]:
        """For a group that did not settle: what each live worker says (ready, lag, failed
        sends), and a SIGUSR1 each, on which Faust's worker logs every task's stack."""
        found = []
        for member in self.members:
            if member.state == "gone" or not member.process.running():
                continue
            scrape = member.process.scrape()
            lag = {
                f"{labels.get('topic')}[{labels.get('partition')}]": value
                for name, labels, value in scrape.samples
                if name == "engage_consumer_lag" and value
            }
            failed = scrape.total("engage_send_failures_total")
            found.append(
                f"{member.name}: ready={member.process.ready()} lag={lag} "
                f"send_failures={failed:g}; behind: {self._behind(member)}; "
                f"stacks in {member.process.log_file}"
            )
            os.kill(member.process.pid, signal.SIGUSR1)
        time.sleep(3.0)
        return found

    def _behind(self, member: _Member) -> str:
        """The worker's partitions not committed to their end, as it reports them (SIGUSR2):
        whether records were never handed over, or outputs are unconfirmed."""
        try:
            states = member.process.consumer_state()
        except WorkerProcessError as exc:
            return f"no consumer_state ({exc})"
        inputs = {self.name(role) for role in (TopicRole.EVENTS, TopicRole.SCORED)}
        behind = [
            f"{s['topic']}[{s['partition']}] committed={s['committed']} "
            f"handed_over={s['handed_over']} expected={s['expected']} acked={s['acked']}"
            f"({s['acked_from']}..{s['acked_to']}) unconfirmed_from={s['first_unconfirmed']} "
            f"end={s['highwater']}"
            for s in states
            if s["topic"] in inputs and s["committed"] != s["highwater"]
        ]
        return "; ".join(behind) or "none"

    def exited_by_themselves(self) -> list[str]:
        """Workers that died without a fault asking them to (checked before stopping)."""
        return [
            f"{m.name} exited by itself (code {m.process.stop()}); log: {m.process.log_file}"
            for m in self.members
            if m.state in ("active", "paused") and not m.process.running()
        ]

    def send(
        self, records: Sequence[tuple[bytes, bytes]], role: TopicRole, rate: float | None
    ) -> None:
        """`records` to the role's topic, at `rate` per second (None: as fast as it goes);
        a failure is the run's error, not a thread dying unseen."""
        try:
            producer = KafkaProducer(**self.connection, acks="all", linger_ms=5)
            try:
                topic = self.name(role)
                started = time.monotonic()
                for index, (key, value) in enumerate(records):
                    if rate:
                        pause = started + index / rate - time.monotonic()
                        if pause > 0:
                            time.sleep(pause)
                    producer.send(topic, key=key, value=value)
                producer.flush()
            finally:
                producer.close()
        except Exception as exc:
            self.errors.append(f"sending to {role.value} failed: {exc!r}")

    def wait_for_profiles(self, customers: int, timeout_s: float = 180.0) -> None:
        """Until every profile is in the group's profiles table (its changelog), so that no
        event is decided before its customer's profile arrived, in either run."""
        topic = f"{self.group}-profiles-changelog"
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                keys = {r.key for r in read_to_end(self.connection, topic)}
            except (ValueError, TimeoutError):
                keys = set()
            if len(keys) >= customers:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{topic}: {len(keys)} of {customers} profiles after {timeout_s:.0f} s; "
                    f"logs in {self.directory}"
                )
            time.sleep(1.0)

    def settle(self, timeout_s: float) -> float:
        """Seconds until the group has committed every record of every topic it consumes
        (twice in a row, 2 s apart): every output confirmed, nothing owed."""
        started = time.monotonic()
        admin = KafkaAdminClient(**self.connection, request_timeout_ms=30_000)
        consumer = KafkaConsumer(**self.connection, enable_auto_commit=False, group_id=None)
        try:
            streak = 0
            while streak < 2:
                if time.monotonic() - started > timeout_s:
                    raise TimeoutError(self._owed(admin, consumer))
                streak = streak + 1 if not self._owed(admin, consumer) else 0
                time.sleep(2.0)
        finally:
            admin.close()
            consumer.close()
        return time.monotonic() - started

    def _owed(self, admin: KafkaAdminClient, consumer: KafkaConsumer) -> str:
        """What the group has not committed yet ("" when nothing)."""
        try:
            committed = admin.list_group_offsets(self.group).get(self.group, {})
        except KafkaError as exc:  # the coordinator moving, the broker restarting: ask again
            return f"no committed offsets ({exc.__class__.__name__})"
        topics = {tp.topic for tp in committed} | {
            self.name(TopicRole.EVENTS),
            self.name(TopicRole.SCORED),
        }
        partitions = [
            TopicPartition(topic, p)
            for topic in sorted(topics)
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = consumer.end_offsets(partitions)
        owed = [
            f"{tp.topic}[{tp.partition}] {committed[tp].offset if tp in committed else 0}/{end}"
            for tp, end in sorted(ends.items())
            if (committed[tp].offset if tp in committed else 0) < end
        ]
        return ", ".join(owed)

    def outputs(self) -> Outputs:
        def read(role: TopicRole) -> list[Record]:
            return [json.loads(r.value) for r in read_to_end(self.connection, self.name(role))]

        parts = f"{self.group}-customer-state-parts-changelog"
        return Outputs(
            prefix=self.prefix,
            actions=read(TopicRole.ACTIONS_HANDOFF) + read(TopicRole.ACTIONS_EMAIL),
            suppressions=read(TopicRole.SUPPRESSIONS),
            enriched=read(TopicRole.ENRICHED),
            dlq=read(TopicRole.DLQ),
            state=[
                ChangelogRecord(r.partition, r.offset, r.key, r.value)
                for r in read_to_end(self.connection, parts)
            ],
        )


class _Faults:
    """Carries out a seed's schedule, each fault on a thread of its own, so that a slow one
    (a broker restart, a replacement loading its models) does not delay the next."""

    def __init__(self, run: _Run, broker: ApacheKafkaBroker, started: float) -> None:
        self.run = run
        self.broker = broker
        self.started = started
        self.done: list[FaultRecord] = []
        self.threads: list[threading.Thread] = []
        self.broker_lock = threading.Lock()

    def inject(self, planned: PlannedFault) -> None:
        thread = threading.Thread(target=self._carry_out, args=(planned,))
        thread.start()
        self.threads.append(thread)

    def join(self) -> list[FaultRecord]:
        for thread in self.threads:
            thread.join()
        return sorted(self.done, key=lambda f: f.at_s)

    def _carry_out(self, planned: PlannedFault) -> None:
        at = time.monotonic()
        try:
            target, note = self._do(planned)
        except Exception as exc:
            target, note = "?", f"failed: {exc}"
            self.run.errors.append(f"{planned.kind} at {at - self.started:.1f} s failed: {exc}")
        self.done.append(
            FaultRecord(
                kind=planned.kind.value,
                at_s=round(at - self.started, 1),
                target=target,
                took_s=round(time.monotonic() - at, 1),
                note=note,
            )
        )
        log.info("chaos_fault", kind=planned.kind.value, target=target, note=note)

    def _pick(self, planned: PlannedFault, minimum: int = 1) -> _Member | None:
        with self.run.lock:
            active = sorted(self.run.active(), key=lambda m: int(m.name[1:]))
            if len(active) < minimum:
                return None
            member = active[int(planned.pick * len(active))]
            member.state = "busy"
            return member

    def _woken(self, victim: _Member) -> str:
        """A worker woken after its group evicted it exits (`worker.freezes`): started
        again here as its supervisor would; one that was not evicted goes on."""
        deadline = time.monotonic() + 2 * self.run.settings.session_timeout_s + WOKEN_GRACE_S
        while victim.process.running() and time.monotonic() < deadline:
            time.sleep(0.2)
        if victim.process.running():
            victim.state = "active"
            return "went on (not evicted)"
        code = victim.process.stop()
        if code != EVICTED_EXIT:
            victim.state = "active"  # an exit no fault asked for: `exited_by_themselves`
            return f"exited {code}"
        restarts = self.run.start(victim)
        return _started(f"exited {code} (evicted while frozen); started again", victim, restarts)

    def _do(self, planned: PlannedFault) -> tuple[str, str]:
        run = self.run
        kind = planned.kind
        if kind is FaultKind.BROKER:
            with self.broker_lock:
                self.broker.kill()
                self.broker.start()
            return "broker", "SIGKILL, restarted on the same port and data"
        if kind is FaultKind.JOIN:
            member = run.worker()
            restarts = run.start(member)
            return member.name, _started("joined", member, restarts)
        # A leave keeps one worker in the group; the other faults need one to hit.
        victim = self._pick(planned, minimum=2 if kind is FaultKind.LEAVE else 1)
        if victim is None:
            return "-", "skipped: no worker to spare"
        if kind is FaultKind.LEAVE:
            code = victim.process.stop(timeout_s=LEAVE_TIMEOUT_S)
            victim.state = "gone"
            if code == -signal.SIGKILL:
                return victim.name, f"SIGTERM; not gone after {LEAVE_TIMEOUT_S:g} s: SIGKILLed"
            return victim.name, f"SIGTERM, exit {code}"
        if kind is FaultKind.PAUSE:
            victim.process.pause()
            victim.state = "paused"
            stopped_s = run.settings.session_timeout_s + run.settings.pause_past_timeout_s
            time.sleep(stopped_s)
            victim.process.resume()
            return victim.name, f"SIGSTOP for {stopped_s:g} s, then SIGCONT; " + self._woken(victim)
        victim.process.kill()
        victim.state = "gone"
        replacement = run.worker()
        restarts = run.start(replacement)
        return victim.name, _started(f"SIGKILL; {replacement.name}", replacement, restarts)


def _started(what: str, member: _Member, restarts: int) -> str:
    if member.state != "active":
        return f"{what} did not start"
    again = f" (started again {restarts}x: the broker was down)" if restarts else ""
    return f"{what} ready{again}"


@dataclass(frozen=True)
class Code:
    """The code the workers run: a copy of the tree taken when the soak began, so that
    edits made while it runs (a shared checkout) reach no run; where it came from."""

    path: Path
    head: str
    modified: list[str]
    """Files that differed from `head` when the copy was taken (`git status`)."""


def freeze_code(root: Path, target: Path) -> Code:
    """Copy the package, the small files of `infra/`, `models/` and `data/` under `target`
    (the jars and other large folders of `infra/` are linked). A worker started with
    `PYTHONPATH=<target>` and `PYTHONSAFEPATH=1` imports this copy, and its `PROJECT_ROOT`
    is `target`."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(root / "engage_stream", target / "engage_stream", ignore=ignore)
    for folder in ("models", "data"):
        if (root / folder).is_dir():
            shutil.copytree(root / folder, target / folder, ignore=ignore, symlinks=True)
    (target / "infra").mkdir()
    for entry in sorted((root / "infra").iterdir()):
        if entry.is_file():
            shutil.copy2(entry, target / "infra" / entry.name)
        elif entry.name == "messages":
            shutil.copytree(entry, target / "infra" / entry.name)
        else:
            (target / "infra" / entry.name).symlink_to(entry.resolve())
    head = _git(root, "rev-parse", "HEAD").strip()
    status = _git(root, "status", "--porcelain", "--untracked-files=no").splitlines()
    return Code(target, head, sorted(line[3:] for line in status if line.strip()))


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
    )
    return done.stdout if done.returncode == 0 else "unknown"


@dataclass(frozen=True)
class Setup:
    """What every run of a soak shares: the topics file, the policy, the frozen code."""

    topics: Path
    policy: Path
    caps: list[FrequencyCap]
    code: Code | None = None

    def environment(self) -> dict[str, str]:
        """What a worker's environment needs to run the frozen code: the copy first on the
        path, and not the folder the worker starts in (`python -m` would put it first)."""
        if self.code is None:
            return {}
        return {"PYTHONPATH": str(self.code.path), "PYTHONSAFEPATH": "1"}


def unhurried_policy(policy_file: Path, directory: Path) -> Path:
    """The policy with the largest draft budget it allows. The budget is the one clock an
    action reads: a draft past it is retrieved by n-grams alone, so on a machine loaded with
    four workers a redone handoff could carry another draft under the same id."""
    document = yaml.safe_load(policy_file.read_text(encoding="utf-8"))
    document["handoff"]["drafting"]["budget_ms"] = 10_000
    path = directory / "policies-unhurried.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def _result(
    run: _Run,
    outputs: Outputs,
    seed: int | None,
    soak: SoakInput,
    faults: list[FaultRecord],
    checks: list[Check],
    wall_s: float,
    settled_s: float,
) -> RunResult:
    return RunResult(
        seed=seed,
        events=len(soak.events),
        faults=faults,
        actions=len({a["action_id"] for a in outputs.actions}),
        action_records=len(outputs.actions),
        suppressions=len({s["suppression_id"] for s in outputs.suppressions}),
        enriched=len({e["event"]["event_id"] for e in outputs.enriched}),
        dlq=len(outputs.dlq),
        wall_s=round(wall_s, 1),
        settled_s=round(settled_s, 1),
        checks=checks,
        log_dir=str(run.directory),
    )


def clean_run(
    broker: ApacheKafkaBroker,
    soak: SoakInput,
    directory: Path,
    setup: Setup,
    settings: SoakSettings,
) -> tuple[RunResult, Outputs]:
    """One worker, no faults, the input as fast as it goes: the run every seed must match."""
    started = time.monotonic()
    run = _Run(broker, directory, setup, settings)
    try:
        run.start_many(1)
        if run.errors:
            raise RuntimeError("; ".join(run.errors))
        run.send(soak.profiles, TopicRole.CUSTOMERS, None)
        run.wait_for_profiles(len(soak.profiles))
        run.send(soak.events, TopicRole.EVENTS, None)
        settled = run.settle(settings.settle_timeout_s)
        exited = run.exited_by_themselves()
    finally:
        run.stop_all()
    outputs = run.outputs()
    lost = unaccounted(soak.valid_ids, soak.invalid_values, outputs.enriched, outputs.dlq)
    breaches = cap_breaches(outputs.actions, setup.caps)
    checks = [
        Check("every input enriched or dead-lettered", not lost, f"{len(lost)} unaccounted", lost),
        Check("frequency caps", not breaches, f"{len(breaches)} over a cap", breaches[:5]),
        Check("workers alive", not exited, f"{len(exited)} exited", exited),
    ]
    wall = time.monotonic() - started
    return _result(run, outputs, None, soak, [], checks, wall, settled), outputs


def chaos_run(
    broker: ApacheKafkaBroker,
    seed: int,
    soak: SoakInput,
    clean: Outputs,
    directory: Path,
    setup: Setup,
    settings: SoakSettings,
) -> RunResult:
    """One seed: the workers, the input at `settings.rate` with the seed's faults, the checks."""
    started = time.monotonic()
    run = _Run(broker, directory, setup, settings)
    faults: list[FaultRecord] = []
    settled = 0.0
    exited: list[str] = []
    try:
        run.start_many(settings.workers)
        run.send(soak.profiles, TopicRole.CUSTOMERS, None)
        run.wait_for_profiles(len(soak.profiles))
        plan = schedule(seed, settings.flow_s, settings.faults)
        sender = threading.Thread(
            target=run.send, args=(soak.events, TopicRole.EVENTS, settings.rate)
        )
        flow_started = time.monotonic()
        sender.start()
        injector = _Faults(run, broker, flow_started)
        for planned in plan:
            time.sleep(max(0.0, flow_started + planned.at_s - time.monotonic()))
            injector.inject(planned)
        sender.join()
        faults = injector.join()
        try:
            settled = run.settle(settings.settle_timeout_s)
        except TimeoutError as exc:
            run.errors.append(f"not settled after {settings.settle_timeout_s:.0f} s: {exc}")
            run.errors += run.diagnose()
        exited = run.exited_by_themselves()
    finally:
        run.stop_all()
    outputs = run.outputs()
    checks = judge(clean, outputs, soak, setup.caps)
    problems = exited + run.errors
    checks.append(
        Check("workers and faults", not problems, f"{len(problems)} problems", problems[:10])
    )
    wall = time.monotonic() - started
    result = _result(run, outputs, seed, soak, faults, checks, wall, settled)
    log.info("chaos_seed", seed=seed, passed=result.passed, wall_s=result.wall_s)
    return result


@dataclass
class Soak:
    settings: SoakSettings
    clean: RunResult
    seeds: list[RunResult]
    work_dir: str
    undecodable: int
    code: dict[str, Any] = field(default_factory=dict)
    """The commit the frozen code was taken from and the files that differed from it."""

    @property
    def passed(self) -> bool:
        return self.clean.passed and all(seed.passed for seed in self.seeds)


def soak(
    seeds: Sequence[int],
    settings: SoakSettings,
    topics_source: Path,
    policy_file: Path,
    work_dir: Path,
    on_run: Callable[[RunResult, Soak], None] | None = None,
    code_root: Path | None = None,
) -> Soak:
    """The clean run once, then each seed against it, all on one Apache Kafka broker (each
    run on topics and a group of its own). With `code_root`, the workers run a copy of that
    tree taken now (`freeze_code`), so that every run of the soak runs the same code. A
    seed's logs are removed when it passed. `on_run` hears of each run with the soak so far
    (to report as it goes)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    code = freeze_code(code_root, work_dir / "code") if code_root is not None else None
    policy = unhurried_policy(policy_file, work_dir)
    setup = Setup(topics_source, policy, load_policy(policy).outbound.frequency_caps, code)
    data = soak_input(settings.events, settings.customers)
    provenance = {} if code is None else {"head": code.head, "modified": code.modified}
    with ApacheKafkaBroker(work_dir=work_dir / "kafka") as broker:
        clean, outputs = clean_run(broker, data, work_dir / "clean", setup, settings)
        result = Soak(settings, clean, [], str(work_dir), len(data.invalid_values), provenance)
        if on_run is not None:
            on_run(clean, result)
        for seed in seeds:
            directory = work_dir / f"seed-{seed}"
            run = chaos_run(broker, seed, data, outputs, directory, setup, settings)
            if run.passed:
                shutil.rmtree(directory, ignore_errors=True)
                run.log_dir = ""
            result.seeds.append(run)
            if on_run is not None:
                on_run(run, result)
    return result


# -- reports ------------------------------------------------------------------------------------


def _code_line(code: Mapping[str, Any]) -> str:
    if not code:
        return "Workers ran the working tree as it was at each start."
    modified = code.get("modified") or []
    edits = f", with uncommitted edits to {', '.join(modified)}" if modified else ""
    return (
        f"Workers ran a copy of the tree taken when the soak began: commit "
        f"`{str(code.get('head', ''))[:12]}`{edits}."
    )


def _faults_cell(faults: Iterable[FaultRecord]) -> str:
    return ", ".join(f"{f.kind} {f.target}@{f.at_s:g}s" for f in faults)


def markdown(result: Soak, machine: Mapping[str, object]) -> str:
    s, clean = result.settings, result.clean
    passed = sum(seed.passed for seed in result.seeds)
    verdict = (
        "passed its own checks"
        if clean.passed
        else "FAILED: " + "; ".join(clean.first_differences())
    )
    lines = [
        "# Chaos soak on Apache Kafka",
        "",
        f"{machine['date']} · {machine['cpu']} · {machine['cores']} cores · `{machine['command']}`",
        "",
        _code_line(result.code),
        "",
        f"Each seed: {s.workers} workers in one group, {s.customers} customers' profiles, then "
        f"{clean.events:,} records ({result.undecodable} undecodable among them) at "
        f"{s.rate:g}/s, with {s.faults} faults from the seed's schedule while they flow "
        f"(`kill`: SIGKILL and a replacement; `pause`: SIGSTOP for "
        f"{s.session_timeout_s + s.pause_past_timeout_s:g} s, past the "
        f"{s.session_timeout_s:g} s session timeout, then SIGCONT; `broker`: SIGKILL and "
        "restart on the same port and data; `join`: one more worker; `leave`: SIGTERM). "
        "Compared with one clean single-worker run of the same input: action, suppression, "
        "enriched and DLQ ids with their bodies (less the processing-time stamps), every input "
        "enriched or dead-lettered, the frequency caps, and the state changelog never moving "
        "back. Models: CPU fp32.",
        "",
        f"Clean run: {clean.actions} actions, {clean.suppressions} suppressions, "
        f"{clean.enriched:,} enriched, {clean.dlq} DLQ records, {clean.wall_s:g} s; "
        f"{verdict}.",
        "",
        f"**{passed} of {len(result.seeds)} seeds passed.**",
        "",
        "| seed | records | faults (kind target@time) | actions | duplicates | suppressions "
        "| wall s | settle s | result |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for seed in result.seeds:
        lines.append(
            f"| {seed.seed} | {seed.events:,} | {_faults_cell(seed.faults)} | {seed.actions} "
            f"| {seed.duplicates} | {seed.suppressions} | {seed.wall_s:g} | {seed.settled_s:g} "
            f"| {'pass' if seed.passed else 'FAIL'} |"
        )
    failed = [seed for seed in result.seeds if not seed.passed]
    if failed:
        lines += ["", "## Failed seeds: first differences", ""]
        for seed in failed:
            lines.append(f"### seed {seed.seed}")
            lines.append("")
            for check in seed.checks:
                if not check.passed:
                    lines.append(f"- **{check.name}**: {check.summary}")
                    lines += [f"  - `{d}`" for d in check.differences]
            lines.append("")
            lines += [
                f"- {f.kind} {f.target} at {f.at_s:g} s ({f.took_s:g} s): {f.note}"
                for f in seed.faults
            ]
            lines.append("")
    return "\n".join(lines) + "\n"


def as_json(result: Soak, machine: Mapping[str, object]) -> str:
    def run(r: RunResult) -> dict[str, Any]:
        return {
            **asdict(r),
            "duplicates": r.duplicates,
            "passed": r.passed,
            "first_differences": r.first_differences(),
        }

    return json.dumps(
        {
            "machine": dict(machine),
            "settings": asdict(result.settings),
            "clean": run(result.clean),
            "seeds": [run(seed) for seed in result.seeds],
            "passed": result.passed,
            "code": result.code,
            "work_dir": result.work_dir,
        },
        indent=2,
        ensure_ascii=False,
    )


__all__ = [
    "STAMPS",
    "ChangelogRecord",
    "Check",
    "Comparison",
    "FaultKind",
    "Outputs",
    "PlannedFault",
    "RunResult",
    "Soak",
    "SoakInput",
    "SoakSettings",
    "cap_breaches",
    "compare",
    "first_difference",
    "judge",
    "schedule",
    "soak",
    "soak_input",
    "state_regressions",
    "unaccounted",
]
