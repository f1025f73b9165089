"""Live fuzzing: the generator makes every kind of bad record, the same for the same seed and
sized right at the limits; the checker catches a lost record, a dead letter with other
bytes and a record both enriched and dead-lettered; and on a real broker every input of
a mixed stream ends enriched or dead-lettered while the worker stays ready."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from engage_stream.bench.fuzz import (
    BAD_KINDS,
    CLIENT_MAX_REQUEST_BYTES,
    ENRICHED,
    EXPECTED,
    REFUSED,
    Enriched,
    FuzzRecord,
    Kind,
    Limits,
    Sent,
    as_json,
    batch_bytes,
    check,
    estimated_batch_bytes,
    generate,
    kind_counts,
    limits_of,
    markdown,
    run_on,
)
from engage_stream.bench.machine import describe
from engage_stream.brokers import TansuBroker
from engage_stream.ingest.records import RawRecord, decode_event
from engage_stream.samples.generator import SampleConfig, SampleStream
from engage_stream.schemas.dlq import DLQ_VALUE_MAX_BYTES, DlqRecord
from engage_stream.schemas.validation import DEFAULT_MAX_RECORD_BYTES
from tests.worker.pipeline import REPO

TOPIC = "fuzz.crm.events"
KAFKA_LIMITS = Limits(broker_max_bytes=1_048_588, broker_reports_limit=True)
"""Apache Kafka's default max.message.bytes, as the broker reports it."""


def outcome_in_process(record: FuzzRecord, limits: Limits) -> str:
    """What the worker's own decoding makes of a record (or the producer, over its limit)."""
    if limits.measure(record.key, record.value) > limits.broker_max_bytes:
        return REFUSED
    decoded = decode_event(RawRecord(TOPIC, 0, 0, None, record.key, record.value))
    return decoded.error_class.value if isinstance(decoded, DlqRecord) else ENRICHED


# -- the generator ---------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_records_and_another_seed_others() -> None:
    first, again, other = (generate(seed, 300, 100) for seed in (3, 3, 4))
    assert first.records == again.records
    assert first.profiles == again.profiles
    assert first.records != other.records


def test_the_limits_change_only_the_records_sized_by_them() -> None:
    tansu, kafka = (generate(3, 300, 100, limits) for limits in (Limits(), KAFKA_LIMITS))
    sized = {Kind.HUGE_KEY, Kind.UNDER_BROKER_LIMIT, Kind.OVER_BROKER_LIMIT}
    pairs = list(zip(tansu.records, kafka.records, strict=True))
    assert all(a == b for a, b in pairs if a.kind not in sized)
    assert all(a.kind == b.kind and a != b for a, b in pairs if a.kind in sized)


def test_every_kind_is_generated_and_the_valid_events_keep_their_stream_order() -> None:
    corpus = generate(5, 300, 120)
    assert set(corpus.counts()) == {kind.value for kind in Kind}
    assert corpus.counts()[Kind.VALID] == 120
    assert sum(corpus.counts().values()) == 420
    stream = SampleStream(SampleConfig(customers=500, seed=5)).events(120)
    valid_ids = [r.event_id for r in corpus.records if r.kind is Kind.VALID]
    assert valid_ids == [event.event_id for event in stream]
    kinds = [r.kind for r in corpus.records]
    assert kinds[:120] != [Kind.VALID] * 120  # mixed, not the valid ones first


def test_kind_counts_add_up_and_the_megabyte_kinds_stay_few() -> None:
    counts = kind_counts(10_000)
    assert sum(counts.values()) == 10_000
    assert set(counts) == set(BAD_KINDS)
    assert counts[Kind.UNDER_BROKER_LIMIT] == counts[Kind.OVER_BROKER_LIMIT] == 20
    assert counts[Kind.AT_WORKER_LIMIT] == counts[Kind.OVER_WORKER_LIMIT] == 50
    assert min(counts[k] for k in (Kind.RANDOM_BYTES, Kind.NULL_VALUE, Kind.DEEP_NESTING)) > 600
    with pytest.raises(ValueError, match="at least"):
        kind_counts(10)


@pytest.mark.parametrize("limits", [Limits(), KAFKA_LIMITS], ids=["tansu", "kafka"])
def test_each_generated_record_decodes_to_an_outcome_its_kind_expects(limits: Limits) -> None:
    """The worker's own decoding, in process: the expectations hold for the bytes made."""
    corpus = generate(7, 1_200, 20, limits)
    surprises = Counter(
        (r.kind.value, outcome, r.note[:40])
        for r in corpus.records
        if (outcome := outcome_in_process(r, limits)) not in EXPECTED[r.kind]
    )
    assert not surprises
    seen = Counter((r.kind, outcome_in_process(r, limits)) for r in corpus.records)
    assert seen[(Kind.RANDOM_BYTES, "invalid_utf8")] > seen[(Kind.RANDOM_BYTES, "invalid_json")]


@pytest.mark.parametrize("limits", [Limits(), KAFKA_LIMITS], ids=["tansu", "kafka"])
def test_records_at_the_limits_are_just_under_and_just_over_them(limits: Limits) -> None:
    corpus = generate(9, 3_000, 0, limits)
    by_kind: dict[Kind, list[FuzzRecord]] = {}
    for record in corpus.records:
        by_kind.setdefault(record.kind, []).append(record)
    top, broker = DEFAULT_MAX_RECORD_BYTES, limits.broker_max_bytes

    def sizes(kind: Kind) -> list[int]:
        return [len(r.value or b"") for r in by_kind[kind]]

    def batches(kind: Kind) -> list[int]:
        return [limits.measure(r.key, r.value) for r in by_kind[kind]]

    assert all(top - 15 <= size <= top for size in sizes(Kind.AT_WORKER_LIMIT))
    assert top in sizes(Kind.AT_WORKER_LIMIT) or len(sizes(Kind.AT_WORKER_LIMIT)) < 16
    assert all(top < size <= top + 16 for size in sizes(Kind.OVER_WORKER_LIMIT))
    assert all(broker - 64 <= size <= broker for size in batches(Kind.UNDER_BROKER_LIMIT))
    assert all(broker < size <= broker + 256 for size in batches(Kind.OVER_BROKER_LIMIT))
    assert all(batch <= broker for batch in batches(Kind.HUGE_KEY))
    assert all(len(r.key or b"") > broker // 4 for r in by_kind[Kind.HUGE_KEY])
    # The broker-sized ones are over the DLQ's bound: their dead letters are bounded copies.
    assert all(size > DLQ_VALUE_MAX_BYTES for size in sizes(Kind.UNDER_BROKER_LIMIT))


def test_a_records_batch_size_is_the_producers_own_count_of_it() -> None:
    """The exact size is what the broker compares with max.message.bytes; the producer
    refuses by its estimate, which may only be larger."""
    from kafka.record.default_records import DefaultRecordBatchBuilder

    for key, value in ((b"C00001", b"v" * 1_000), (None, b"x" * 300_000), (b"k" * 9, None)):
        builder = DefaultRecordBatchBuilder(
            magic=2, compression_type=0, is_transactional=False, producer_id=-1,
            producer_epoch=-1, base_sequence=-1, batch_size=2**21,
        )  # fmt: skip
        builder.append(0, 1_764_000_000_000, key, value, [])
        assert batch_bytes(key, value) == len(builder.build())
        assert batch_bytes(key, value) <= estimated_batch_bytes(key, value)
    assert KAFKA_LIMITS.measure(b"k", b"v") == batch_bytes(b"k", b"v")
    assert Limits().measure(b"k", b"v") == estimated_batch_bytes(b"k", b"v")


def test_limits_are_the_topics_where_the_broker_reports_one_else_the_producers() -> None:
    assert limits_of(None) == Limits(DEFAULT_MAX_RECORD_BYTES, CLIENT_MAX_REQUEST_BYTES, False)
    assert limits_of(2_000_000) == Limits(DEFAULT_MAX_RECORD_BYTES, 2_000_000, True)


# -- the checker -----------------------------------------------------------------------------


def valid_record(n: int) -> FuzzRecord:
    event = {
        "event_id": f"E-{n}",
        "event_type": "page.view",
        "occurred_at": "2026-11-03T10:00:00+09:00",
        "customer_id": "C00001",
        "source": "web",
        "payload": {"url": "https://shop.example/"},
    }
    return FuzzRecord(Kind.VALID, b"C00001", json.dumps(event).encode(), "", f"E-{n}")


def dead_letter(record: FuzzRecord, partition: int, offset: int) -> DlqRecord:
    """The worker's own dead letter of `record` at that position."""
    decoded = decode_event(RawRecord(TOPIC, partition, offset, None, record.key, record.value))
    assert isinstance(decoded, DlqRecord)
    return decoded


BROKEN = FuzzRecord(Kind.TRUNCATED_JSON, b"C00002", b'{"event_id": "E-', "16 of 40")


def clean_run() -> tuple[list[Sent], list[Enriched], list[DlqRecord]]:
    good = valid_record(1)
    sent = [Sent(good, 0, 0), Sent(BROKEN, 1, 0)]
    return sent, [Enriched(TOPIC, 0, 0, "E-1")], [dead_letter(BROKEN, 1, 0)]


def test_the_checker_passes_a_run_where_each_input_has_its_one_output() -> None:
    sent, enriched, dead = clean_run()
    verdict = check(sent, enriched, dead, TOPIC)
    assert verdict.ok, verdict.problems()
    assert verdict.outcomes == {("truncated_json", "invalid_json"): 1, ("valid", ENRICHED): 1}


def test_the_checker_fails_on_a_missing_record() -> None:
    sent, enriched, _ = clean_run()
    verdict = check(sent, enriched, [], TOPIC)
    assert not verdict.ok
    assert verdict.missing == [1]
    assert verdict.outcomes[("truncated_json", "missing")] == 1


def test_the_checker_fails_on_a_dead_letter_whose_bytes_differ() -> None:
    sent, enriched, _ = clean_run()
    other_value = dead_letter(
        FuzzRecord(Kind.TRUNCATED_JSON, BROKEN.key, b'{"event_id": "E-2'), 1, 0
    )
    other_key = dead_letter(FuzzRecord(Kind.TRUNCATED_JSON, b"C00003", BROKEN.value), 1, 0)
    for letter, what in ((other_value, "value"), (other_key, "key")):
        verdict = check(sent, enriched, [letter], TOPIC)
        assert not verdict.ok
        assert len(verdict.wrong_bytes) == 1
        assert what in verdict.wrong_bytes[0]


def test_the_checker_fails_on_a_record_both_enriched_and_dead_lettered() -> None:
    sent, enriched, dead = clean_run()
    verdict = check(sent, [*enriched, Enriched(TOPIC, 1, 0, "E-x")], dead, TOPIC)
    assert not verdict.ok
    assert verdict.both == [1]


def test_the_checker_fails_on_a_repeat_an_unexpected_class_and_an_output_of_no_input() -> None:
    sent, enriched, dead = clean_run()
    assert check(sent, enriched * 2, dead, TOPIC).repeated == [0]
    mislabelled = FuzzRecord(Kind.WRONG_TYPE, b"C00001", b'{"customer_id": ', "customer_id")
    verdict = check(
        [*sent, Sent(mislabelled, 2, 0)], enriched, [*dead, dead_letter(mislabelled, 2, 0)], TOPIC
    )
    assert verdict.unexpected == ["#2 wrong_type (customer_id): invalid_json"]
    stray = check(sent, [*enriched, Enriched(TOPIC, 3, 9, "E-9")], dead, TOPIC)
    assert stray.strays == ["enriched E-9 from fuzz.crm.events/3@9"]


def test_a_refused_record_is_no_input_and_an_output_for_its_position_is_a_stray() -> None:
    sent, enriched, dead = clean_run()
    big = FuzzRecord(Kind.OVER_BROKER_LIMIT, b"C00004", b"x" * 10, "batch 1,048,600 bytes")
    verdict = check(
        [*sent, Sent(big, refused="broker: MessageSizeTooLargeError")], enriched, dead, TOPIC
    )
    assert verdict.ok
    assert verdict.outcomes[("over_broker_limit", REFUSED)] == 1


def test_a_dead_letter_over_the_dlq_bound_is_checked_by_prefix_size_and_sha256() -> None:
    value = bytes(range(256)) * (DLQ_VALUE_MAX_BYTES // 256 + 40)
    huge = FuzzRecord(Kind.UNDER_BROKER_LIMIT, b"C00005", value, "")
    letter = dead_letter(huge, 0, 7)
    assert letter.value_truncated
    sent = [Sent(huge, 0, 7)]
    assert check(sent, [], [letter], TOPIC).ok
    forged = letter.model_copy(update={"value_sha256": hashlib.sha256(b"other").hexdigest()})
    assert "sha256" in check(sent, [], [forged], TOPIC).wrong_bytes[0]
    short = letter.model_copy(update={"value_size": len(value) - 1})
    assert "value_size" in check(sent, [], [short], TOPIC).wrong_bytes[0]


def test_a_dead_letter_of_a_huge_key_is_checked_by_the_keys_prefix_size_and_sha256() -> None:
    key = bytes(range(256)) * 40  # 10 KiB, over the key bytes a dead letter keeps
    keyed = FuzzRecord(Kind.HUGE_KEY, key, b'{"event_id": "E-', "10240-byte key")
    letter = dead_letter(keyed, 0, 8)
    assert letter.key_truncated
    sent = [Sent(keyed, 0, 8)]
    assert check(sent, [], [letter], TOPIC).ok
    other = letter.model_copy(update={"key_sha256": hashlib.sha256(key[:-1]).hexdigest()})
    assert "key_sha256" in check(sent, [], [other], TOPIC).wrong_bytes[0]


# -- on a real broker ------------------------------------------------------------------------


@pytest.mark.broker
def test_a_thousand_bad_records_among_a_thousand_valid_all_end_enriched_or_dead_lettered(
    tansu: TansuBroker, tmp_path: Path
) -> None:
    result = run_on(
        "tansu",
        tansu,
        bad=1_000,
        valid=1_000,
        seed=2,
        topics_source=REPO / "infra" / "topics.yaml",
        work_dir=tmp_path,
        env={"ENGAGE_DEVICE": "cpu", "ENGAGE_SESSION_TIMEOUT_S": "6"},
        quiet_s=20,
    )
    problems = "\n".join(result.verdict.problems())
    log = f"worker log in {tmp_path}: {result.worker_log}"
    assert result.verdict.ok, f"{problems}\n{log}"
    assert result.worker_alive, log
    assert result.worker_ready, log
    assert result.stored_mismatches == 0
    outcomes = result.verdict.outcomes
    assert {kind for kind, _ in outcomes} == {kind.value for kind in Kind}
    assert outcomes[("valid", ENRICHED)] == 1_000
    assert result.refused == outcomes[("over_broker_limit", REFUSED)]
    assert result.accepted + result.refused == 2_000
    report = markdown([result], describe("pytest"))
    assert "| valid | enriched | 1,000 | yes |" in report
    assert json.loads(as_json([result], describe("pytest")))["runs"][0]["ok"] is True
