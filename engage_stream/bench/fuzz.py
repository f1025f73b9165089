"""Live fuzzing at volume: bad records mixed with valid events through a real worker.

Three parts, so that each can be tested on its own:

- `generate`: a seeded, pure function from (seed, counts, size limits) to the records to send
  (kind, key bytes or None, value bytes or None), bad ones of every `Kind` mixed with valid
  sample events (`engage_stream.samples`), valid events keeping their stream order;
- `check`: a pure function over what was sent (with each record's position on the events
  topic, or why the producer or broker refused it) and what came out on `engage.enriched`
  and `engage.dlq`: every accepted input enriched or dead-lettered, never both, never
  twice, none missing; a dead letter holding the exact original key and value (or, over
  the DLQ bound, its prefix, size and SHA-256); each outcome one a person would expect of
  the record's kind (`EXPECTED`);
- `run` / `run_on`: a broker, isolated topics, a worker process (`engage-stream worker`),
  profiles, the records, the outputs read until every input is accounted for or nothing
  more comes, then the check, the worker's liveness, `/ready`, metrics and log.

The size limits are the worker's (`DEFAULT_MAX_RECORD_BYTES`: a larger input is dead-lettered
as `oversized_record`) and the events topic's `max.message.bytes` as the broker reports it.
Tansu reports none and takes records of any size, so there the limit that stands is the
producers' own `max_request_size` (1 MiB by default in kafka-python and aiokafka), and a
record over it is refused by the client before it reaches the broker.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.util import size_of_varint
from pydantic import BaseModel, ValidationError

from engage_stream.brokers import BrokerProcess
from engage_stream.brokers.process import free_ports
from engage_stream.harness.worker_process import WorkerProcess
from engage_stream.kafka.admin import describe_topics, ensure_topics
from engage_stream.kafka.isolation import isolated_topics_file
from engage_stream.kafka.reader import read_to_end
from engage_stream.kafka.topics import TopicRole, load_topics
from engage_stream.observability.logs import get_logger
from engage_stream.samples.generator import SampleConfig, SampleStream
from engage_stream.samples.publish import send_profiles
from engage_stream.schemas.customers import CustomerProfile
from engage_stream.schemas.dlq import DlqErrorClass, DlqRecord
from engage_stream.schemas.events import EVENT_TYPES, MAX_TEXT_CHARS, crm_event_adapter
from engage_stream.schemas.validation import DEFAULT_MAX_RECORD_BYTES

log = get_logger("engage.bench.fuzz")

CLIENT_MAX_REQUEST_BYTES = 1_048_576
"""kafka-python's and aiokafka's default `max_request_size`: the limit where the broker
reports no `max.message.bytes` (Tansu)."""


class Kind(StrEnum):
    """What a record is; `EXPECTED` says what must become of each kind."""

    VALID = "valid"
    RANDOM_BYTES = "random_bytes"
    DROPPED_FIELD = "dropped_field"
    WRONG_TYPE = "wrong_type"
    NULL_FIELD = "null_field"
    TRUNCATED_JSON = "truncated_json"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    WRONG_ENUM = "wrong_enum"
    HUGE_STRING = "huge_string"
    BAD_DATE = "bad_date"
    DEEP_NESTING = "deep_nesting"
    NESTED_EXTRA = "nested_extra"
    NOT_AN_OBJECT = "not_an_object"
    NULL_VALUE = "null_value"
    NON_UTF8_VALUE = "non_utf8_value"
    NON_UTF8_KEY = "non_utf8_key"
    NULL_KEY = "null_key"
    HUGE_KEY = "huge_key"
    AT_WORKER_LIMIT = "at_worker_limit"
    OVER_WORKER_LIMIT = "over_worker_limit"
    UNDER_BROKER_LIMIT = "under_broker_limit"
    OVER_BROKER_LIMIT = "over_broker_limit"


ENRICHED = "enriched"
REFUSED = "refused"
"""Outcomes besides the DLQ error classes: on `engage.enriched`; refused at produce time."""

_SCHEMA = frozenset({DlqErrorClass.SCHEMA_VIOLATION.value})
_JSON = frozenset({DlqErrorClass.INVALID_JSON.value})
_UTF8 = frozenset({DlqErrorClass.INVALID_UTF8.value})
_OVERSIZED = frozenset({DlqErrorClass.OVERSIZED_RECORD.value})

EXPECTED: Mapping[Kind, frozenset[str]] = {
    Kind.VALID: frozenset({ENRICHED}),
    # Noise is not UTF-8, or (short, ASCII-looking runs) UTF-8 that is not JSON.
    Kind.RANDOM_BYTES: _UTF8 | _JSON,
    Kind.DROPPED_FIELD: _SCHEMA,
    Kind.WRONG_TYPE: _SCHEMA,
    Kind.NULL_FIELD: _SCHEMA,
    Kind.TRUNCATED_JSON: _JSON,
    Kind.UNKNOWN_EVENT_TYPE: frozenset({DlqErrorClass.UNKNOWN_EVENT_TYPE.value}),
    Kind.WRONG_ENUM: _SCHEMA,
    Kind.HUGE_STRING: _SCHEMA,
    Kind.BAD_DATE: _SCHEMA,
    # Deeper than any decoder here follows: not JSON this pipeline reads.
    Kind.DEEP_NESTING: _JSON,
    # Shallow enough to decode; an extra field the schema forbids.
    Kind.NESTED_EXTRA: _SCHEMA,
    Kind.NOT_AN_OBJECT: _SCHEMA,
    Kind.NULL_VALUE: _SCHEMA,
    Kind.NON_UTF8_VALUE: _UTF8,
    # The key is not read: the event is the value's, re-keyed by its customer id.
    Kind.NON_UTF8_KEY: frozenset({ENRICHED}),
    Kind.NULL_KEY: frozenset({ENRICHED}),
    # A key of most of a record's bytes and a broken value: its dead letter must still fit.
    Kind.HUGE_KEY: _JSON,
    Kind.AT_WORKER_LIMIT: frozenset({ENRICHED}),
    Kind.OVER_WORKER_LIMIT: _OVERSIZED,
    Kind.UNDER_BROKER_LIMIT: _OVERSIZED,
    Kind.OVER_BROKER_LIMIT: frozenset({REFUSED}),
}

_HEAVY: Mapping[Kind, float] = {
    Kind.HUGE_KEY: 0.002,
    Kind.AT_WORKER_LIMIT: 0.005,
    Kind.OVER_WORKER_LIMIT: 0.005,
    Kind.UNDER_BROKER_LIMIT: 0.002,
    Kind.OVER_BROKER_LIMIT: 0.002,
}
"""Share of the bad records for the kinds of a quarter to a whole MiB each (at least one
of each): enough to cross each limit many times without filling the broker's memory."""

BAD_KINDS: tuple[Kind, ...] = tuple(k for k in Kind if k is not Kind.VALID)


@dataclass(frozen=True)
class Limits:
    worker_max_bytes: int = DEFAULT_MAX_RECORD_BYTES
    broker_max_bytes: int = CLIENT_MAX_REQUEST_BYTES
    broker_reports_limit: bool = False
    """True: `broker_max_bytes` is the topic's `max.message.bytes`; False: the producers'
    default `max_request_size` (the broker reported no limit)."""

    def measure(self, key: bytes | None, value: bytes | None) -> int:
        """A record's size as the side that enforces `broker_max_bytes` counts it: the
        broker the batch's exact bytes, the producer its own upper bound of them."""
        if self.broker_reports_limit:
            return batch_bytes(key, value)
        return estimated_batch_bytes(key, value)


def limits_of(max_message_bytes: int | None) -> Limits:
    """The limits a record on the events topic meets, from what the broker says of it."""
    if max_message_bytes is None:
        return Limits()
    return Limits(broker_max_bytes=max_message_bytes, broker_reports_limit=True)


def reported_limit(connection: dict[str, Any], topic: str, tries: int = 5) -> int | None:
    """The topic's `max.message.bytes`, its default included, or None where the broker does
    not say (Tansu). Apache Kafka answers no configs for a topic made a moment ago, so the
    question is asked again a few times."""
    for _ in range(tries):
        layout = describe_topics(connection, [topic]).get(topic)
        if layout is not None and layout.max_message_bytes is not None:
            return layout.max_message_bytes
        time.sleep(1.0)
    return None


def batch_bytes(key: bytes | None, value: bytes | None) -> int:
    """Bytes of the uncompressed v2 batch holding this one record, what the broker compares
    with `max.message.bytes`: the batch header, then the record (its length, attributes,
    offset and timestamp deltas of one byte each, key, value, no headers)."""
    body = 3 + int(DefaultRecordBatchBuilder.size_of(key, value, []))
    header = int(DefaultRecordBatchBuilder.HEADER_STRUCT.size)
    return header + int(size_of_varint(body)) + body


def estimated_batch_bytes(key: bytes | None, value: bytes | None) -> int:
    """kafka-python's upper bound of `batch_bytes`, which it compares with its own
    `max_request_size` before sending (up to 21 bytes more)."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, []))


@dataclass(frozen=True, slots=True)
class FuzzRecord:
    kind: Kind
    key: bytes | None
    value: bytes | None
    note: str = ""
    """The variant (field, value), to read a surprise by."""
    event_id: str | None = None
    """For a record that must be enriched: the id its enriched record carries."""


@dataclass(frozen=True)
class Corpus:
    profiles: list[CustomerProfile]
    records: list[FuzzRecord]

    def counts(self) -> dict[str, int]:
        return dict(Counter(r.kind.value for r in self.records))


# -- the generator ---------------------------------------------------------------------------


def kind_counts(bad: int) -> dict[Kind, int]:
    """How many bad records of each kind: the heavy ones by share (at least one), the rest
    split evenly (the first kinds take the remainder)."""
    heavy = {kind: max(1, round(bad * share)) for kind, share in _HEAVY.items()}
    light = [k for k in BAD_KINDS if k not in heavy]
    rest = bad - sum(heavy.values())
    if rest < len(light):
        raise ValueError(f"at least {sum(heavy.values()) + len(light)} bad records are needed")
    each, extra = divmod(rest, len(light))
    counts = {kind: each + (1 if i < extra else 0) for i, kind in enumerate(light)} | heavy
    return {kind: counts[kind] for kind in BAD_KINDS}


def generate(
    seed: int, bad: int, valid: int, limits: Limits = Limits(), customers: int = 500
) -> Corpus:
    """`bad` generated bad records and `valid` sample events (the stream of `seed`, in its
    order), interleaved at random; the same arguments give the same bytes. Bad records are
    made from the events of another seed's stream, for the same customers."""
    rng = random.Random(seed)
    stream = SampleStream(SampleConfig(customers=customers, seed=seed))
    valid_records = [
        FuzzRecord(Kind.VALID, e.customer_id.encode(), e.model_dump_json().encode(), "", e.event_id)
        for e in stream.events(valid)
    ]
    bases = [
        json.loads(e.model_dump_json())
        for e in SampleStream(SampleConfig(customers=customers, seed=seed + 1)).events(
            min(max(bad, 1), 2_000)
        )
    ]
    planned = [kind for kind, n in kind_counts(bad).items() for _ in range(n)] if bad else []
    rng.shuffle(planned)
    bad_records = []
    for index, kind in enumerate(planned):
        # A random state per record: its bytes depend on the seed, its place and the
        # limits alone, not on how much randomness the records before it drew.
        own = random.Random(f"fuzz-{seed}-{index}")
        bad_records.append(_MAKERS[kind](_Draw(own, seed, index, own.choice(bases), limits)))
    slots = [True] * len(valid_records) + [False] * len(bad_records)
    rng.shuffle(slots)
    good, wrong = iter(valid_records), iter(bad_records)
    records = [next(good) if is_valid else next(wrong) for is_valid in slots]
    return Corpus(stream.profiles, records)


@dataclass(frozen=True)
class _Draw:
    """What a maker draws from: the generator's random state, a base event (a dict, the
    maker's own copy) and the limits."""

    rng: random.Random
    seed: int
    index: int
    base: dict[str, Any]
    limits: Limits

    def doc(self) -> dict[str, Any]:
        copied: dict[str, Any] = json.loads(json.dumps(self.base))
        return copied

    def fresh(self) -> dict[str, Any]:
        """A copy with an event id no other record has, for records that must be enriched."""
        doc = self.doc()
        doc["event_id"] = f"F{self.seed}-{self.index:07d}"
        return doc

    def key(self) -> bytes | None:
        """As producers key events: mostly the customer id, some none, some not UTF-8."""
        roll = self.rng.random()
        if roll < 0.8:
            return str(self.base["customer_id"]).encode()
        if roll < 0.9:
            return None
        return _not_utf8(self.rng, self.rng.randrange(1, 40))


Maker = Callable[[_Draw], FuzzRecord]


def _encode(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def _not_utf8(rng: random.Random, size: int) -> bytes:
    """`size` bytes (at least 1) that are never valid UTF-8: they start with a byte no
    UTF-8 sequence starts with."""
    return bytes([rng.choice([0x80, 0x9F, 0xBF, 0xC0, 0xC1, 0xF8, 0xFE, 0xFF])]) + rng.randbytes(
        max(0, size - 1)
    )


def _hangul(rng: random.Random, chars: int) -> str:
    """`chars` random Hangul syllables (three bytes each in UTF-8), from a short random run
    repeated: cheap at a megabyte."""
    run = "".join(chr(rng.randrange(0xAC00, 0xD7A4)) for _ in range(min(chars, 997)))
    return (run * (chars // max(1, len(run)) + 1))[:chars]


def _paths(doc: dict[str, Any]) -> list[tuple[str | int, ...]]:
    """Every field of the envelope (but the event type, its own kind's), the payload and
    the payload's first line item."""
    paths: list[tuple[str | int, ...]] = [(name,) for name in doc if name != "event_type"]
    payload = doc.get("payload")
    if isinstance(payload, dict):
        paths += [("payload", name) for name in payload]
        items = payload.get("items")
        if isinstance(items, list) and items and isinstance(items[0], dict):
            paths += [("payload", "items", 0, name) for name in items[0]]
    return paths


def _required(doc: dict[str, Any]) -> list[tuple[str | int, ...]]:
    """The fields the schema requires, from the models themselves (so this follows them)."""
    event = crm_event_adapter.validate_python(doc)
    paths: list[tuple[str | int, ...]] = [
        (name,) for name, info in type(event).model_fields.items() if info.is_required()
    ]
    payload: BaseModel = event.payload
    paths += [
        ("payload", name) for name, info in type(payload).model_fields.items() if info.is_required()
    ]
    items = getattr(payload, "items", None)
    if items:
        paths += [
            ("payload", "items", 0, name)
            for name, info in type(items[0]).model_fields.items()
            if info.is_required()
        ]
    return paths


def _get(doc: Any, path: Sequence[str | int]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _set(doc: Any, path: Sequence[str | int], value: Any) -> None:
    _get(doc, path[:-1])[path[-1]] = value


def _drop(doc: Any, path: Sequence[str | int]) -> None:
    del _get(doc, path[:-1])[path[-1]]


def _dotted(path: Sequence[str | int]) -> str:
    return ".".join(str(p) for p in path)


def _strings(doc: dict[str, Any]) -> list[tuple[str | int, ...]]:
    return [p for p in _paths(doc) if isinstance(_get(doc, p), str)]


def _random_bytes(d: _Draw) -> FuzzRecord:
    while True:
        size = d.rng.choice([0, 1, 2, d.rng.randrange(3, 64), d.rng.randrange(64, 4_096)])
        value = d.rng.randbytes(size)
        try:
            json.loads(value.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return FuzzRecord(Kind.RANDOM_BYTES, d.key(), value, f"{size} bytes")


def _dropped_field(d: _Draw) -> FuzzRecord:
    doc = d.doc()
    path = d.rng.choice(_required(doc))
    _drop(doc, path)
    return FuzzRecord(Kind.DROPPED_FIELD, d.key(), _encode(doc), _dotted(path))


def _wrong_type(d: _Draw) -> FuzzRecord:
    doc = d.doc()
    path = d.rng.choice(_paths(doc))
    # Never coerced by the schema: a list where an object is due, an object anywhere else.
    wrong: Any = [1, 2, 3] if isinstance(_get(doc, path), dict) else {"값": [1, "둘"]}
    _set(doc, path, wrong)
    return FuzzRecord(Kind.WRONG_TYPE, d.key(), _encode(doc), _dotted(path))


def _null_field(d: _Draw) -> FuzzRecord:
    doc = d.doc()
    path = d.rng.choice(_required(doc))
    _set(doc, path, None)
    return FuzzRecord(Kind.NULL_FIELD, d.key(), _encode(doc), _dotted(path))


def _truncated_json(d: _Draw) -> FuzzRecord:
    # Cut between characters, so that what is wrong is the JSON, not the UTF-8.
    text = _encode(d.doc()).decode()
    cut = d.rng.randrange(1, len(text))
    return FuzzRecord(Kind.TRUNCATED_JSON, d.key(), text[:cut].encode(), f"{cut} of {len(text)}")


_EVENT_TYPES_WRONG: tuple[Any, ...] = (
    "chat.messages", "Chat.Message", "order_placed", "order.returned", "주문완료", "",
    " chat.message", "page.view.v2", 7, "CART.ABANDONED",
)  # fmt: skip


def _unknown_event_type(d: _Draw) -> FuzzRecord:
    doc = d.doc()
    wrong = d.rng.choice(_EVENT_TYPES_WRONG)
    assert wrong not in EVENT_TYPES
    doc["event_type"] = wrong
    return FuzzRecord(Kind.UNKNOWN_EVENT_TYPE, d.key(), _encode(doc), repr(wrong))


_ENUM_WRONG = ("KAKAO", "fax", "카카오톡", "", "kakao ", "web/app", "unknown", "Customer", "봇")


def _wrong_enum(d: _Draw) -> FuzzRecord:
    doc = d.doc()
    enums = [("source",)] + [
        ("payload", name)
        for name in ("sender", "page_type", "category")
        if name in doc.get("payload", {})
    ]
    path: tuple[str | int, ...] = d.rng.choice(enums)
    wrong = d.rng.choice(_ENUM_WRONG)
    _set(doc, path, wrong)
    return FuzzRecord(Kind.WRONG_ENUM, d.key(), _encode(doc), f"{_dotted(path)}={wrong!r}")


def _huge_string(d: _Draw) -> FuzzRecord:
    doc = d.doc()
    path = d.rng.choice(_strings(doc))
    room = (d.limits.worker_max_bytes - len(_encode(doc)) - 1_024) // 3
    chars = d.rng.randrange(MAX_TEXT_CHARS + 1, max(MAX_TEXT_CHARS + 2, min(room, 60_000)))
    _set(doc, path, _hangul(d.rng, chars))
    return FuzzRecord(Kind.HUGE_STRING, d.key(), _encode(doc), f"{_dotted(path)}: {chars} chars")


_DATETIMES_WRONG = (
    "2026-13-01T10:00:00+09:00", "2026-02-30T10:00:00+09:00", "2026-11-03T10:00:00",
    "2026-11-03T24:30:00+09:00", "2026-11-03T10:00:00+25:00", "어제 오후 3시", "",
    "11/03/2026 10:00", "2026-11-03 10:00 KST", "2026-11-03",
)  # fmt: skip
_DATES_WRONG = ("2026-02-30", "2026-13-01", "다음 주", "2026/11/05", "11월 5일")


def _bad_date(d: _Draw) -> FuzzRecord:
    doc = d.doc()
    payload = doc["payload"]
    if "estimated_delivery" in payload and d.rng.random() < 0.5:
        wrong = d.rng.choice(_DATES_WRONG)
        payload["estimated_delivery"] = wrong
        return FuzzRecord(Kind.BAD_DATE, d.key(), _encode(doc), f"estimated_delivery={wrong!r}")
    wrong = d.rng.choice(_DATETIMES_WRONG)
    doc["occurred_at"] = wrong
    return FuzzRecord(Kind.BAD_DATE, d.key(), _encode(doc), f"occurred_at={wrong!r}")


def _deep_nesting(d: _Draw) -> FuzzRecord:
    depth = d.rng.randrange(2_000, 40_000)  # at most 6 bytes a level: under the worker's limit
    shape = d.rng.choice(["array", "object", "inside"])
    if shape == "array":
        value = b"[" * depth + b"]" * depth
    elif shape == "object":
        value = b'{"a":' * depth + b"1" + b"}" * depth
    else:  # an event whose text is a deep array
        doc = d.doc()
        path = d.rng.choice(_strings(doc))
        _set(doc, path, "\x00")
        head, tail = _encode(doc).split(b'"\\u0000"')
        value = head + b"[" * depth + b"]" * depth + tail
    return FuzzRecord(Kind.DEEP_NESTING, d.key(), value, f"{shape}, depth {depth}")


def _nested_extra(d: _Draw) -> FuzzRecord:
    doc = d.doc()
    depth = d.rng.randrange(10, 200)
    nested: Any = "바닥"
    for level in range(depth):
        nested = {f"k{level % 7}": nested} if level % 2 else [nested]
    where = d.rng.choice(["envelope", "payload"])
    (doc if where == "envelope" else doc["payload"])["extra"] = nested
    return FuzzRecord(Kind.NESTED_EXTRA, d.key(), _encode(doc), f"{where}, depth {depth}")


def _not_an_object(d: _Draw) -> FuzzRecord:
    choices: list[bytes] = [
        b"[]", b"[" + _encode(d.doc()) + b"]", '"이벤트"'.encode(), b"42", b"-1.5e300",
        b"null", b"true", b"false", b'""', b" \n 0 \n",
    ]  # fmt: skip
    value = d.rng.choice(choices)
    return FuzzRecord(Kind.NOT_AN_OBJECT, d.key(), value, value[:20].decode(errors="replace"))


def _null_value(d: _Draw) -> FuzzRecord:
    # kafka-python sends no record without a key and a value: this one always has a key.
    key = d.key() or str(d.base["customer_id"]).encode()
    return FuzzRecord(Kind.NULL_VALUE, key, None, "null value")


_INVALID_SEQUENCES = (b"\x80", b"\xbf", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80", b"\xff")
"""A stray continuation byte, an overlong '/', a UTF-16 surrogate, a 5-byte form, 0xFF."""


def _non_utf8_value(d: _Draw) -> FuzzRecord:
    doc = d.doc()
    variant = d.rng.choice(["cp949", "utf-16", "inserted"])
    if variant == "cp949":  # a Korean CRM writing its legacy code page
        if all(ord(c) < 128 for c in json.dumps(doc, ensure_ascii=False)):
            doc["payload"]["note"] = "고객 메모"  # Korean text to encode: never read
        return FuzzRecord(
            Kind.NON_UTF8_VALUE,
            d.key(),
            json.dumps(doc, ensure_ascii=False).encode("cp949"),
            "cp949",
        )
    if variant == "utf-16":
        return FuzzRecord(
            Kind.NON_UTF8_VALUE,
            d.key(),
            json.dumps(doc, ensure_ascii=False).encode("utf-16"),
            "utf-16",
        )
    raw = _encode(doc)
    starts = [i + 3 for i in range(len(raw) - 3) if raw[i : i + 3] == b'":"']
    at = d.rng.choice(starts)
    bad = d.rng.choice(_INVALID_SEQUENCES)
    return FuzzRecord(Kind.NON_UTF8_VALUE, d.key(), raw[:at] + bad + raw[at:], f"{bad!r} at {at}")


def _non_utf8_key(d: _Draw) -> FuzzRecord:
    doc = d.fresh()
    key = _not_utf8(d.rng, d.rng.randrange(1, 200))
    return FuzzRecord(Kind.NON_UTF8_KEY, key, _encode(doc), f"{len(key)}-byte key", doc["event_id"])


def _null_key(d: _Draw) -> FuzzRecord:
    doc = d.fresh()
    return FuzzRecord(Kind.NULL_KEY, None, _encode(doc), "no key", doc["event_id"])


def _huge_key(d: _Draw) -> FuzzRecord:
    text = _encode(d.doc()).decode()
    value = text[: d.rng.randrange(1, len(text))].encode()
    limit = d.limits.broker_max_bytes
    most = limit - d.limits.measure(b"", value) - 64
    size = d.rng.randrange(most // 3, most)
    return FuzzRecord(Kind.HUGE_KEY, d.rng.randbytes(size), value, f"{size}-byte key")


def _padded(d: _Draw, kind: Kind, low: int, high: int) -> FuzzRecord:
    """A valid event padded with JSON whitespace to a total in [low, high] bytes."""
    doc = d.fresh()
    raw = _encode(doc)
    size = d.rng.randrange(low, high + 1)
    value = raw + b" " * (size - len(raw))
    enriched = doc["event_id"] if kind is Kind.AT_WORKER_LIMIT else None
    return FuzzRecord(kind, str(doc["customer_id"]).encode(), value, f"{size} bytes", enriched)


def _at_worker_limit(d: _Draw) -> FuzzRecord:
    top = d.limits.worker_max_bytes
    return _padded(d, Kind.AT_WORKER_LIMIT, top - 15, top)


def _over_worker_limit(d: _Draw) -> FuzzRecord:
    top = d.limits.worker_max_bytes
    return _padded(d, Kind.OVER_WORKER_LIMIT, top + 1, top + 16)


def _sized(d: _Draw, kind: Kind, batch_low: int, batch_high: int) -> FuzzRecord:
    """An event whose string field is filled (Hangul, then ASCII to the byte) so that the
    record measures `batch_low`..`batch_high` bytes (`Limits.measure`)."""
    doc = d.doc()
    key = str(doc["customer_id"]).encode()
    path = d.rng.choice(_strings(doc))
    _set(doc, path, "\x00")
    head, tail = _encode(doc).split(b"\\u0000")
    target = d.rng.randrange(batch_low, batch_high + 1)
    text = _hangul(d.rng, target // 3)
    fill = target - d.limits.measure(key, head + tail)
    # The varint of the value's length grows with the value: settle the fill on the target.
    for _ in range(4):
        value = head + text[: fill // 3].encode() + b"x" * (fill % 3) + tail
        miss = target - d.limits.measure(key, value)
        if miss == 0:
            break
        fill += miss
    size = d.limits.measure(key, value)
    return FuzzRecord(kind, key, value, f"{_dotted(path)}, {size} bytes as the limit counts")


def _under_broker_limit(d: _Draw) -> FuzzRecord:
    top = d.limits.broker_max_bytes
    return _sized(d, Kind.UNDER_BROKER_LIMIT, top - 64, top)


def _over_broker_limit(d: _Draw) -> FuzzRecord:
    top = d.limits.broker_max_bytes
    return _sized(d, Kind.OVER_BROKER_LIMIT, top + 1, top + 256)


_MAKERS: Mapping[Kind, Maker] = {
    Kind.RANDOM_BYTES: _random_bytes,
    Kind.DROPPED_FIELD: _dropped_field,
    Kind.WRONG_TYPE: _wrong_type,
    Kind.NULL_FIELD: _null_field,
    Kind.TRUNCATED_JSON: _truncated_json,
    Kind.UNKNOWN_EVENT_TYPE: _unknown_event_type,
    Kind.WRONG_ENUM: _wrong_enum,
    Kind.HUGE_STRING: _huge_string,
    Kind.BAD_DATE: _bad_date,
    Kind.DEEP_NESTING: _deep_nesting,
    Kind.NESTED_EXTRA: _nested_extra,
    Kind.NOT_AN_OBJECT: _not_an_object,
    Kind.NULL_VALUE: _null_value,
    Kind.NON_UTF8_VALUE: _non_utf8_value,
    Kind.NON_UTF8_KEY: _non_utf8_key,
    Kind.NULL_KEY: _null_key,
    Kind.HUGE_KEY: _huge_key,
    Kind.AT_WORKER_LIMIT: _at_worker_limit,
    Kind.OVER_WORKER_LIMIT: _over_worker_limit,
    Kind.UNDER_BROKER_LIMIT: _under_broker_limit,
    Kind.OVER_BROKER_LIMIT: _over_broker_limit,
}


# -- the checker -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """A record as the producer left it: its position on the events topic, or why it was
    refused (then it is no input, and nothing may come out for it)."""

    record: FuzzRecord
    partition: int | None = None
    offset: int | None = None
    refused: str | None = None


@dataclass(frozen=True, slots=True)
class Enriched:
    """An `engage.enriched` record, by the events-topic position it names as its source."""

    topic: str
    partition: int
    offset: int
    event_id: str


@dataclass
class Verdict:
    outcomes: dict[tuple[str, str], int] = field(default_factory=dict)
    """(kind, outcome) -> records: an outcome is `enriched`, `refused`, a DLQ error class,
    `missing` or `both`."""
    missing: list[int] = field(default_factory=list)
    both: list[int] = field(default_factory=list)
    repeated: list[int] = field(default_factory=list)
    """Inputs with more than one enriched record or more than one dead letter."""
    wrong_bytes: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    """Inputs whose outcome is not one `EXPECTED` of their kind."""
    strays: list[str] = field(default_factory=list)
    """Outputs that belong to no input sent."""

    @property
    def ok(self) -> bool:
        return not (
            self.missing
            or self.both
            or self.repeated
            or self.wrong_bytes
            or self.unexpected
            or self.strays
        )

    def problems(self, limit: int = 10) -> list[str]:
        lines = []
        for name in ("missing", "both", "repeated", "wrong_bytes", "unexpected", "strays"):
            found: list[Any] = getattr(self, name)
            if found:
                shown = ", ".join(str(f) for f in found[:limit])
                more = f" and {len(found) - limit} more" if len(found) > limit else ""
                lines.append(f"{name} ({len(found)}): {shown}{more}")
        return lines


def check(
    sent: Sequence[Sent],
    enriched: Iterable[Enriched],
    dead: Iterable[DlqRecord],
    events_topic: str,
) -> Verdict:
    """Every input enriched or dead-lettered, exactly once, with its own bytes, as its kind
    leads one to expect; `sent` is in send order (its index names a record in the verdict)."""
    verdict = Verdict()
    at = {(s.partition, s.offset): i for i, s in enumerate(sent) if s.refused is None}
    enriched_at: dict[int, list[Enriched]] = {}
    dead_at: dict[int, list[DlqRecord]] = {}
    for up in enriched:
        index = at.get((up.partition, up.offset))
        if up.topic != events_topic or index is None:
            verdict.strays.append(
                f"enriched {up.event_id} from {up.topic}/{up.partition}@{up.offset}"
            )
        else:
            enriched_at.setdefault(index, []).append(up)
    for letter in dead:
        index = at.get((letter.source_partition, letter.source_offset))
        if letter.source_topic != events_topic or index is None:
            verdict.strays.append(
                f"{letter.error_class.value} dead letter from {letter.source_topic}/"
                f"{letter.source_partition}@{letter.source_offset}: {letter.reason[:120]}"
            )
        else:
            dead_at.setdefault(index, []).append(letter)
    outcomes: Counter[tuple[str, str]] = Counter()
    for index, item in enumerate(sent):
        record = item.record
        ups, downs = enriched_at.get(index, []), dead_at.get(index, [])
        if item.refused is not None:
            outcome = REFUSED
        elif ups and downs:
            outcome = "both"
            verdict.both.append(index)
        elif ups:
            outcome = ENRICHED
            if record.event_id is not None and ups[0].event_id != record.event_id:
                verdict.wrong_bytes.append(f"#{index}: enriched as {ups[0].event_id}")
        elif downs:
            outcome = downs[0].error_class.value
            problem = dead_letter_problem(record, downs[0])
            if problem:
                verdict.wrong_bytes.append(f"#{index} ({record.kind.value}): {problem}")
        else:
            outcome = "missing"
            verdict.missing.append(index)
        if len(ups) > 1 or len(downs) > 1:
            verdict.repeated.append(index)
        if outcome not in EXPECTED[record.kind] and outcome not in ("missing", "both"):
            verdict.unexpected.append(f"#{index} {record.kind.value} ({record.note}): {outcome}")
        outcomes[(record.kind.value, outcome)] += 1
    verdict.outcomes = dict(sorted(outcomes.items()))
    return verdict


def dead_letter_problem(record: FuzzRecord, letter: DlqRecord) -> str | None:
    """What differs between a dead letter and the record it stands for, or None: the key
    and the value each exactly, or where the DLQ record keeps a bounded copy (`*_truncated`)
    its first bytes, the whole's size and SHA-256. A null value is carried as no bytes."""
    key = base64.b64decode(letter.key_b64) if letter.key_b64 is not None else None
    if letter.key_truncated:
        problem = _bounded_problem(
            "key", record.key or b"", key or b"", letter.key_size, letter.key_sha256
        )
        if problem:
            return problem
    elif key != record.key:
        return f"key: {_size(key)} in the dead letter, {_size(record.key)} sent"
    value = record.value or b""
    copy = letter.original_value()
    if letter.value_truncated:
        return _bounded_problem("value", value, copy, letter.value_size, letter.value_sha256)
    if copy != value:
        return f"value: {len(copy):,} bytes in the dead letter, {len(value):,} sent"
    return None


def _bounded_problem(
    name: str, sent: bytes, copy: bytes, size: int | None, sha256: str | None
) -> str | None:
    if not len(copy) < len(sent) or copy != sent[: len(copy)]:
        return f"{name}: a {len(copy):,}-byte copy that is not a prefix of the {len(sent):,} sent"
    if size != len(sent):
        return f"{name}_size {size} for {len(sent):,} bytes sent"
    if sha256 != hashlib.sha256(sent).hexdigest():
        return f"{name}_sha256 is not the sent {name}'s"
    return None


def _size(raw: bytes | None) -> str:
    return "none" if raw is None else f"{len(raw):,} bytes"


# -- the run ---------------------------------------------------------------------------------


@dataclass
class BrokerRun:
    broker: str
    seed: int
    bad: int
    valid: int
    limits: Limits
    sent: int
    refused: int
    accepted: int
    seconds: float
    """From the first record sent to the last output read."""
    verdict: Verdict
    worker_alive: bool
    worker_ready: bool
    stored_mismatches: int
    """Accepted records whose bytes on the events topic differ from those sent."""
    largest_input: int
    largest_dead_letter: int
    dlq_metric: dict[str, float]
    """`engage_dlq_total` by error class, from the worker's /metrics at the end."""
    worker_log: dict[str, int]
    """Warnings and errors in the worker's log by (level, event), dead letters left out."""
    refusals: dict[str, int] = field(default_factory=dict)
    """Records refused at produce, by who refused them and the error."""
    unreadable: list[str] = field(default_factory=list)
    """Enriched or DLQ records that do not parse as such."""

    @property
    def ok(self) -> bool:
        return (
            self.verdict.ok
            and self.worker_alive
            and self.worker_ready
            and not self.stored_mismatches
            and not self.unreadable
        )


def run(
    brokers: Sequence[str],
    bad: int,
    valid: int,
    seed: int,
    topics_source: Path,
    work_dir: Path,
    env: Mapping[str, str] | None = None,
) -> list[BrokerRun]:
    from engage_stream.bench.pipeline import BROKERS

    runs = []
    for name in brokers:
        with BROKERS[name]() as broker:
            runs.append(run_on(name, broker, bad, valid, seed, topics_source, work_dir, env))
    return runs


def run_on(
    name: str,
    broker: BrokerProcess,
    bad: int,
    valid: int,
    seed: int,
    topics_source: Path,
    work_dir: Path,
    env: Mapping[str, str] | None = None,
    quiet_s: float = 90.0,
) -> BrokerRun:
    """One broker: isolated topics, a worker, the corpus sent, the outputs read until every
    input is accounted for or none came for `quiet_s`, then the check."""
    topics_file = isolated_topics_file(topics_source, work_dir)
    topics = load_topics(topics_file)
    connection: dict[str, Any] = {"bootstrap_servers": [broker.bootstrap]}
    ensure_topics(connection, topics)
    events = topics.name(TopicRole.EVENTS)
    limits = limits_of(reported_limit(connection, events))
    corpus = generate(seed, bad, valid, limits)
    worker = WorkerProcess.on(
        broker.bootstrap,
        topics_file,
        f"fuzz-{topics_file.stem}",
        free_ports(1)[0],
        log_file=work_dir / f"{topics_file.stem}-worker.log",
        ENGAGE_LOG_LEVEL="WARNING",
        **(env or {}),
    )
    # Where the broker has a limit, the producer lets the broker decide; elsewhere the
    # producer's own limit is the one that stands.
    # Not idempotent: kafka-python 3's idempotent producer fails every later send once the
    # broker has refused one batch as too large.
    max_request = 2 * limits.broker_max_bytes if limits.broker_reports_limit else None
    producer = KafkaProducer(
        **connection,
        acks="all",
        linger_ms=5,
        max_request_size=max_request or CLIENT_MAX_REQUEST_BYTES,
        enable_idempotence=False,
    )
    outputs = _Outputs(connection, [topics.name(TopicRole.ENRICHED), topics.name(TopicRole.DLQ)])
    try:
        with worker:
            send_profiles(producer, topics.name(TopicRole.CUSTOMERS), corpus.profiles)
            producer.flush()
            started = time.monotonic()
            sent = _send(producer, events, corpus.records)
            accepted = {
                (s.partition, s.offset)
                for s in sent
                if s.partition is not None and s.offset is not None
            }
            log.info("fuzz_sent", broker=name, records=len(sent), accepted=len(accepted))
            last = outputs.until(accepted, worker, quiet_s)
            seconds = max(last, started) - started
            alive = worker.running()
            ready = alive and _ready_within(worker, 30.0)
            dlq_metric = worker.scrape().by_label("engage_dlq_total", "error_class")
    finally:
        producer.close()
        outputs.close()
    stored = _stored_mismatches(connection, events, sent)
    verdict = check(sent, outputs.enriched, outputs.dead, events)
    return BrokerRun(
        broker=name,
        seed=seed,
        bad=bad,
        valid=valid,
        limits=limits,
        sent=len(sent),
        refused=len(sent) - len(accepted),
        accepted=len(accepted),
        seconds=round(seconds, 1),
        verdict=verdict,
        worker_alive=alive,
        worker_ready=ready,
        stored_mismatches=stored,
        largest_input=max(
            (len(s.record.key or b"") + len(s.record.value or b"") for s in sent if not s.refused),
            default=0,
        ),
        largest_dead_letter=outputs.largest_dead,
        dlq_metric=dlq_metric,
        worker_log=_log_summary(worker.log_file),
        refusals=dict(Counter(s.refused for s in sent if s.refused is not None)),
        unreadable=outputs.unreadable,
    )


def _send(producer: KafkaProducer, topic: str, records: Sequence[FuzzRecord]) -> list[Sent]:
    """Each record in order; a large one alone in its batch (flushed before and after), so
    that the batch the broker measures is the record's own."""
    futures: list[Any] = []
    for record in records:
        large = len(record.key or b"") + len(record.value or b"") > 64 * 1024
        if large:
            producer.flush()
        try:
            futures.append(producer.send(topic, key=record.key, value=record.value))
        except Exception as exc:  # the client's own size check raises at once
            futures.append(exc)
        if large:
            producer.flush()
    producer.flush()
    sent = []
    for record, future in zip(records, futures, strict=True):
        if isinstance(future, Exception):
            sent.append(Sent(record, refused=f"client: {type(future).__name__}"))
            continue
        try:
            meta = future.get(timeout=60)
        except Exception as exc:
            sent.append(Sent(record, refused=f"broker: {type(exc).__name__}"))
            continue
        sent.append(Sent(record, meta.partition, meta.offset))
    return sent


class _Outputs:
    """The enriched and DLQ topics read as they fill (assigned, from the start: no group)."""

    def __init__(self, connection: dict[str, Any], topics: list[str]) -> None:
        self.consumer = KafkaConsumer(
            **connection, enable_auto_commit=False, group_id=None, auto_offset_reset="earliest"
        )
        partitions = []
        for topic in topics:
            deadline = time.monotonic() + 60
            while not (ids := self.consumer.partitions_for_topic(topic)):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{topic}: no partitions")
                time.sleep(0.1)
            partitions += [TopicPartition(topic, p) for p in sorted(ids)]
        self.consumer.assign(partitions)
        self.consumer.seek_to_beginning()
        self.enriched_topic, self.dlq_topic = topics
        self.enriched: list[Enriched] = []
        self.dead: list[DlqRecord] = []
        self.unreadable: list[str] = []
        self.largest_dead = 0

    def poll(self) -> int:
        polled = self.consumer.poll(timeout_ms=200, max_records=5_000)
        count = 0
        for tp, records in polled.items():
            for record in records:
                count += 1
                try:
                    if tp.topic == self.enriched_topic:
                        value = json.loads(record.value)
                        source = value["source"]
                        self.enriched.append(
                            Enriched(
                                source["topic"],
                                source["partition"],
                                source["offset"],
                                value["event"]["event_id"],
                            )
                        )
                    else:
                        self.dead.append(DlqRecord.model_validate_json(record.value))
                        self.largest_dead = max(self.largest_dead, len(record.value))
                except (ValueError, KeyError, TypeError, ValidationError) as exc:
                    self.unreadable.append(f"{tp.topic}@{record.offset}: {exc}"[:200])
        return count

    def positions(self) -> set[tuple[int, int]]:
        return {(e.partition, e.offset) for e in self.enriched} | {
            (d.source_partition, d.source_offset) for d in self.dead
        }

    def until(self, inputs: set[tuple[int, int]], worker: WorkerProcess, quiet_s: float) -> float:
        """Read until every input has an output, the worker stopped, or nothing came for
        `quiet_s`; then a moment more, to see what came twice. Returns when the last
        output was read (monotonic)."""
        last = time.monotonic()
        while not inputs <= self.positions():
            if not worker.running():
                break
            if self.poll():
                last = time.monotonic()
            elif time.monotonic() - last > quiet_s:
                break
        settle = time.monotonic() + 3
        while time.monotonic() < settle:
            if self.poll():
                last = time.monotonic()
        return last

    def close(self) -> None:
        self.consumer.close()


def _ready_within(worker: WorkerProcess, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if worker.ready():
            return True
        time.sleep(0.5)
    return False


def _stored_mismatches(connection: dict[str, Any], topic: str, sent: Sequence[Sent]) -> int:
    """Accepted records whose key or value on the topic is not what was sent (the positions
    the check relies on come from the producer's acknowledgements)."""
    wanted = {(s.partition, s.offset): s.record for s in sent if s.refused is None}
    found = 0
    for record in read_to_end(connection, topic, timeout_s=120):
        sent_record = wanted.pop((record.partition, record.offset), None)
        if sent_record is None or (record.key, record.value) != (
            sent_record.key,
            sent_record.value,
        ):
            found += 1
    return found + len(wanted)


def _log_summary(path: Path | None) -> dict[str, int]:
    if path is None or not path.is_file():
        return {}
    seen: Counter[str] = Counter()
    for line in _lines(path):
        try:
            entry = json.loads(line)
        except ValueError:
            if line.startswith("Traceback"):
                seen["traceback"] += 1
            continue
        if not isinstance(entry, dict):
            continue
        # Numbers out, so that "producer buffer full size 101" and "... 102" count as one.
        level, event = (
            entry.get("level", ""),
            re.sub(r"\d[\d.]*", "N", str(entry.get("event")))[:80],
        )
        if level in ("warning", "error", "critical") and event != "dead_lettered":
            seen[f"{level}: {event}"] += 1
    return dict(seen.most_common())


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8", errors="replace") as lines:
        yield from (line.strip() for line in lines)


# -- the report ------------------------------------------------------------------------------


def markdown(runs: Sequence[BrokerRun], machine: Mapping[str, object]) -> str:
    lines = [
        "# Live fuzzing: bad records mixed with valid events through the worker",
        "",
        f"{machine['date']} · {machine['cpu']} · {machine['cores']} cores · `{machine['command']}`",
        "",
        "| broker | seed | bad | valid | refused at produce | inputs | enriched | dead-lettered "
        "| missing | in both | repeated | wrong bytes | unexpected class | worker alive / ready "
        "| seconds |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
        "| --- |",
    ]
    for r in runs:
        v = r.verdict
        enriched = sum(n for (_, outcome), n in v.outcomes.items() if outcome == ENRICHED)
        dead = sum(
            n
            for (_, outcome), n in v.outcomes.items()
            if outcome not in (ENRICHED, REFUSED, "missing", "both")
        )
        alive = f"{'yes' if r.worker_alive else 'NO'} / {'yes' if r.worker_ready else 'NO'}"
        lines.append(
            f"| {r.broker} | {r.seed} | {r.bad:,} | {r.valid:,} | {r.refused:,} | {r.accepted:,} "
            f"| {enriched:,} | {dead:,} | {len(v.missing)} | {len(v.both)} | {len(v.repeated)} "
            f"| {len(v.wrong_bytes)} | {len(v.unexpected)} | {alive} | {r.seconds:,.0f} |"
        )
    for r in runs:
        limit = (
            f"the topic's max.message.bytes, {r.limits.broker_max_bytes:,}"
            if r.limits.broker_reports_limit
            else f"none reported; the producers' max_request_size, {r.limits.broker_max_bytes:,}"
        )
        lines += [
            "",
            f"## {r.broker}: outcome by kind of record",
            "",
            f"Limits: the worker's {r.limits.worker_max_bytes:,} bytes; the broker's: {limit}. "
            f"Largest input taken {r.largest_input:,} bytes; largest dead letter "
            f"{r.largest_dead_letter:,} bytes. Events on the topic not as sent: "
            f"{r.stored_mismatches}. Refused at produce: "
            + (", ".join(f"{why} ×{n}" for why, n in r.refusals.items()) or "none")
            + ".",
            "",
            "| kind | outcome | records | expected |",
            "| --- | --- | --- | --- |",
        ]
        for (kind, outcome), count in r.verdict.outcomes.items():
            expected = "yes" if outcome in EXPECTED[Kind(kind)] else "**no**"
            lines.append(f"| {kind} | {outcome} | {count:,} | {expected} |")
        metric = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(r.dlq_metric.items()))
        lines += ["", f"Worker's `engage_dlq_total`: {metric or 'none'}."]
        if r.worker_log:
            shown = "; ".join(f"{event} ×{n}" for event, n in list(r.worker_log.items())[:12])
            lines += ["", f"Worker log, warnings and errors besides dead letters: {shown}."]
        problems = r.verdict.problems()
        if r.unreadable:
            problems.append(f"unreadable outputs ({len(r.unreadable)}): {r.unreadable[:5]}")
        if problems:
            lines += ["", "Problems:", "", *[f"- {p}" for p in problems]]
    lines += [
        "",
        "Each record is followed by its position on the events topic: an input is enriched "
        "(its `engage.enriched` record names it as source) or dead-lettered (its `engage.dlq` "
        "record names it, with the key and value exactly as sent, or over the DLQ bound their "
        "first bytes, size and SHA-256). A record refused at produce never became an input. "
        "`expected`: whether the outcome is one a person expects of the kind "
        "(`engage_stream.bench.fuzz.EXPECTED`).",
        "",
    ]
    return "\n".join(lines)


def as_json(runs: Sequence[BrokerRun], machine: Mapping[str, object]) -> str:
    records = []
    for r in runs:
        record = asdict(r)
        record["verdict"] = {
            "ok": r.verdict.ok,
            "outcomes": [
                {
                    "kind": kind,
                    "outcome": outcome,
                    "records": n,
                    "expected": outcome in EXPECTED[Kind(kind)],
                }
                for (kind, outcome), n in r.verdict.outcomes.items()
            ],
            "problems": r.verdict.problems(limit=50),
        }
        record["ok"] = r.ok
        records.append(record)
    return json.dumps({"machine": dict(machine), "runs": records}, indent=2, ensure_ascii=False)
