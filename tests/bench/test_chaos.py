"""The chaos soak: its checks on small hand-made outputs, then a bounded soak on Apache Kafka."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
from collections.abc import Iterator, MutableMapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from engage_stream.bench.chaos import (
    ChangelogRecord,
    FaultKind,
    Outputs,
    Setup,
    SoakInput,
    SoakSettings,
    cap_breaches,
    compare,
    first_difference,
    freeze_code,
    judge,
    schedule,
    soak,
    soak_input,
    state_regressions,
    unaccounted,
    without,
)
from engage_stream.brokers.process import port_in_use
from engage_stream.cli.app import app
from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.enrichment.state import (
    MAX_SENT,
    ConversationState,
    CustomerState,
    HandoffMark,
    Position,
    SentMessage,
)
from engage_stream.policy.policy_file import FrequencyCap
from engage_stream.schemas.common import Channel
from engage_stream.worker.tables import StateCodec, stream_time_key
from tests.conftest import require_apache_kafka

KST = timezone(timedelta(hours=9))
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=KST)


def _action(action_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "action_id": action_id,
        "customer_id": "C1",
        "created_at": "2026-12-01T12:00:00+00:00",
        "body": "배송이 시작되었습니다.",
        "send_not_before": T0.isoformat(),
        **fields,
    }


def _by_id(record: dict[str, Any]) -> str:
    return str(record["action_id"])


# -- ids and bodies ---------------------------------------------------------------------------


def test_a_redelivered_action_with_the_same_body_passes_and_counts_as_a_duplicate() -> None:
    clean = [_action("A1"), _action("A2")]
    run = [_action("A1"), _action("A2"), _action("A1", created_at="2026-12-01T12:00:09+00:00")]
    result = compare("action", clean, "ta", run, "tb", _by_id, {"created_at"})
    assert result.passed
    assert (result.ids, result.records, result.duplicates) == (2, 3, 1)


def test_a_missing_id_and_an_extra_id_each_fail() -> None:
    result = compare(
        "action", [_action("A1"), _action("A2")], "ta", [_action("A1"), _action("A3")], "tb", _by_id
    )
    assert not result.passed
    assert result.missing == ["A2"]
    assert result.extra == ["A3"]
    assert result.differences() == ["action missing A2", "action extra A3"]


def test_an_id_redelivered_with_another_body_fails_and_says_where_it_differs() -> None:
    clean = [_action("A1")]
    run = [_action("A1"), _action("A1", body="다른 답변입니다.")]
    result = compare("action", clean, "ta", run, "tb", _by_id, {"created_at"})
    assert result.conflicting == ["A1"]
    assert result.changed == ['A1: body: "배송이 시작되었습니다." != "다른 답변입니다."']
    assert not result.passed


def test_only_the_named_stamps_are_left_out_every_decided_field_counts() -> None:
    clean = [_action("A1")]
    stamped = [_action("A1", created_at="2030-01-01T00:00:00+00:00")]
    later = [_action("A1", send_not_before=(T0 + timedelta(hours=1)).isoformat())]
    assert compare("action", clean, "ta", stamped, "tb", _by_id, {"created_at"}).passed
    assert not compare("action", clean, "ta", stamped, "tb", _by_id).passed
    moved = compare("action", clean, "ta", later, "tb", _by_id, {"created_at"})
    assert len(moved.changed) == 1
    assert moved.changed[0].startswith("A1: send_not_before:")


def test_nested_stamps_go_and_their_siblings_stay() -> None:
    record = {"source": {"topic": "x", "timestamp_ms": 1}, "processed_at": "now", "id": 1}
    assert without(record, ["source.timestamp_ms", "processed_at"]) == {
        "source": {"topic": "x"},
        "id": 1,
    }


def test_each_runs_topic_prefix_compares_equal_and_nothing_else_of_the_name() -> None:
    clean = [{"event": {"event_id": "E1"}, "source": {"topic": "ta1.crm.events", "offset": 3}}]
    run = [{"event": {"event_id": "E1"}, "source": {"topic": "tb2.crm.events", "offset": 3}}]
    other = [{"event": {"event_id": "E1"}, "source": {"topic": "tb2.crm.other", "offset": 3}}]

    def key(r: dict[str, Any]) -> str:
        return str(r["event"]["event_id"])

    assert compare("enriched", clean, "ta1", run, "tb2", key).passed
    assert not compare("enriched", clean, "ta1", other, "tb2", key).passed


def test_first_difference_walks_into_lists_and_says_which_side_lacks_a_key() -> None:
    assert first_difference({"a": [1, 2]}, {"a": [1, 3]}) == "a[1]: 2 != 3"
    assert first_difference({"a": 1}, {}) == "a: only in the clean run"
    assert first_difference({"a": [1]}, {"a": [1, 2]}) == "a: 1 items != 2"
    assert first_difference({"a": 1}, {"a": 1.0}) == "a: 1 != 1.0"
    assert first_difference({"a": {"b": None}}, {"a": {"b": None}}) is None


# -- every input accounted for --------------------------------------------------------------


def test_an_event_without_enriched_record_or_a_bad_record_missing_from_the_dlq_is_named() -> None:
    enriched = [{"event": {"event_id": "E1"}}, {"event": {"event_id": "E1"}}]
    dlq = [{"value_b64": base64.b64encode(b"\xff bad-1").decode()}]
    assert unaccounted(["E1"], [b"\xff bad-1"], enriched, dlq) == []
    problems = unaccounted(["E1", "E2"], [b"\xff bad-1", b"{bad-2"], enriched, dlq)
    assert problems == [
        "event E2 neither enriched nor dead-lettered",
        "undecodable record b'{bad-2' not in the DLQ",
    ]
    assert unaccounted([], [], enriched, []) == ["enriched E1 was never sent"]


# -- frequency caps -----------------------------------------------------------------------------

CAPS = [
    FrequencyCap(window_hours=24, max_messages=1),
    FrequencyCap(window_hours=168, max_messages=3),
]


def _ad(
    action_id: str, at: datetime, customer: str = "C1", advertising: bool = True
) -> dict[str, Any]:
    return _action(
        action_id, customer_id=customer, advertising=advertising, send_not_before=at.isoformat()
    )


def test_two_advertising_messages_less_than_a_day_apart_break_the_daily_cap() -> None:
    breaches = cap_breaches([_ad("A1", T0), _ad("A2", T0 + timedelta(hours=23))], CAPS)
    assert breaches == ["C1: 2 advertising messages within 24 h (cap 1): A1, A2"]


def test_a_day_apart_on_any_channel_is_allowed_and_so_are_transactional_and_repeats() -> None:
    actions = [
        _ad("A1", T0),
        _ad("A1", T0),  # redelivered: one message
        _ad("A2", T0 + timedelta(hours=24)),
        _ad("T1", T0 + timedelta(hours=1), advertising=False),
        _ad("B1", T0 + timedelta(hours=1), customer="C2"),
    ]
    assert cap_breaches(actions, CAPS) == []


def test_a_fourth_message_within_a_week_breaks_the_weekly_cap_whatever_the_order() -> None:
    days = [T0 + timedelta(days=2 * n) for n in range(4)]
    actions = [_ad(f"A{n}", at) for n, at in reversed(list(enumerate(days)))]
    assert cap_breaches(actions, CAPS) == [
        "C1: 4 advertising messages within 168 h (cap 3): A0, A1, A2, A3"
    ]


# -- state never moves back ---------------------------------------------------------------------


class _Changelog(MutableMapping[bytes, bytes]):
    """A table whose every write and delete is appended to one changelog, in order."""

    def __init__(self, log: list[ChangelogRecord], partition: int = 0) -> None:
        self.data: dict[bytes, bytes] = {}
        self.log = log
        self.partition = partition

    def __getitem__(self, key: bytes) -> bytes:
        return self.data[key]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.data[key] = value
        self.log.append(ChangelogRecord(self.partition, len(self.log), key, value))

    def __delitem__(self, key: bytes) -> None:
        del self.data[key]
        self.log.append(ChangelogRecord(self.partition, len(self.log), key, None))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def _at(offset: int) -> Position:
    return Position(source="t.crm.events/0", offset=offset)


def _history(events: int, sent_every: int = 0) -> list[CustomerState]:
    """A customer's states after each of `events` events, as the core would keep them."""
    state = CustomerState(customer_id="C1")
    states = []
    for offset in range(events):
        state = state.with_seen(f"E{offset}", _at(offset))
        if sent_every and offset % sent_every == 0:
            message = SentMessage(
                position=_at(offset),
                action_id=f"A{offset}",
                channel=Channel.EMAIL,
                advertising=True,
                send_at=T0 + timedelta(days=offset),
            )
            state = state.with_sent(message)
        states.append(state)
    return states


def _written(
    states: list[CustomerState], log: list[ChangelogRecord] | None = None
) -> list[ChangelogRecord]:
    log = [] if log is None else log
    codec = StateCodec(_Changelog([]), _Changelog(log))
    for state in states:
        codec.write("C1", state)
    return log


def test_a_state_that_only_grows_passes_through_chunk_renames() -> None:
    # 120 events: the seen log's chunks of 50 are begun, renamed and re-written on the way.
    log = _written(_history(120, sent_every=7))
    assert any(record.value is None for record in log), "no chunk was renamed"
    assert state_regressions(log) == []


def test_a_zombie_writing_its_older_view_after_the_new_owner_is_a_regression() -> None:
    history = _history(30, sent_every=5)
    log = _written(history)
    # A paused worker wakes with its view of event 9 and writes it (a codec of its own).
    _written([history[9].with_seen("E99", _at(99))], log)
    problems = state_regressions(log)
    assert any("sent messages lost ['A10', 'A15', 'A20']" in p for p in problems), problems
    assert any("seen events lost ['E10', 'E11', 'E12']" in p for p in problems), problems


def test_sent_messages_trimmed_from_the_front_of_a_full_list_are_not_a_regression() -> None:
    log = _written(_history(MAX_SENT + 5, sent_every=1))
    assert state_regressions(log) == []


def test_a_handoff_mark_that_disappears_is_a_regression() -> None:
    base = _history(1)[0]
    turnless = ConversationState(conversation_id="conv-1")
    marked = turnless.model_copy(
        update={"handoff": HandoffMark(position=_at(1), action_id="H1", at=T0)}
    )
    log = _written([base.with_conversation(marked), base.with_conversation(turnless)])
    assert [p.split(": ", 1)[1] for p in state_regressions(log)] == ["handoff H1 became None"]


def test_changelog_order_is_the_offsets_and_one_customer_lives_in_one_partition() -> None:
    log = _written(_history(12, sent_every=3))
    assert state_regressions(reversed(log)) == state_regressions(log) == []
    split = [*log, ChangelogRecord(2, 0, log[0].key, log[0].value)]
    assert state_regressions(split) == ["C1: state parts in changelog partitions [0, 2]"]


def test_a_partitions_own_stream_time_entries_are_not_a_customers_state() -> None:
    log = _written(_history(3))
    for partition in range(4):  # one per changelog partition, as every worker writes them
        key = stream_time_key(partition)
        log.append(ChangelogRecord(partition, 100, key, b'{"watermark": null}'))
    assert state_regressions(log) == []


# -- all checks together ----------------------------------------------------------------------


def _outputs(prefix: str, at: str, state: list[ChangelogRecord], repeat: bool = False) -> Outputs:
    """A small run's outputs on topics named with `prefix`, stamped at `at`."""
    bad = base64.b64encode(b"{bad-1").decode()
    actions = [_action("A1", created_at=at), _action("A2", created_at=at)]
    return Outputs(
        prefix=prefix,
        actions=actions + actions[:1] if repeat else actions,
        suppressions=[{"suppression_id": "S1", "reason": "frequency_cap", "created_at": at}],
        enriched=[
            {
                "event": {"event_id": "E1"},
                "source": {"topic": f"{prefix}.crm.events", "offset": 0, "timestamp_ms": 1},
                "processed_at": at,
            }
        ],
        dlq=[{"value_b64": bad, "source_topic": f"{prefix}.crm.events", "failed_at": at}],
        state=state,
    )


def test_a_run_like_the_clean_one_but_for_stamps_names_and_repeats_passes_every_check() -> None:
    soak_in = SoakInput([], [], frozenset({"E1"}), frozenset({b"{bad-1"}))
    log = _written(_history(8, sent_every=3))
    clean = _outputs("ta", "2026-12-01T10:00:00+00:00", log)
    run = _outputs("tb", "2026-12-01T10:05:00+00:00", log, repeat=True)
    checks = judge(clean, run, soak_in, CAPS)
    assert [c.name for c in checks if not c.passed] == []
    assert [c.name for c in checks] == [
        "action ids and bodies",
        "suppression ids and bodies",
        "enriched ids and bodies",
        "dlq ids and bodies",
        "every input enriched or dead-lettered",
        "frequency caps",
        "state never moves back",
    ]
    assert checks[0].summary.startswith("2 ids, 1 duplicates")
    zombie = _written([_history(2)[1]], list(log))
    failed = judge(clean, _outputs("tb", "now", zombie), soak_in, CAPS)
    assert [c.name for c in failed if not c.passed] == ["state never moves back"]


# -- input and schedule -----------------------------------------------------------------------


def test_the_input_is_the_same_every_time_keyed_by_customer_with_distinct_bad_records() -> None:
    first, again = soak_input(400, 20), soak_input(400, 20)
    assert first == again
    assert len(first.valid_ids) == 400
    assert len(first.events) == 402
    assert len(first.invalid_values) == 2
    assert len(first.profiles) == 20
    customers = {key for key, _ in first.profiles}
    assert {key for key, _ in first.events} <= customers


def test_a_seed_is_one_schedule_with_every_kind_of_fault_while_events_flow() -> None:
    plan = schedule(3, flow_s=60.0)
    assert plan == schedule(3, flow_s=60.0)
    assert plan != schedule(4, flow_s=60.0)
    assert sorted(f.kind for f in plan) == sorted(FaultKind)
    times = [f.at_s for f in plan]
    assert times == sorted(times)
    assert all(3.0 <= t <= 51.0 for t in times)
    assert len(schedule(3, 60.0, count=8)) == 8


# -- the broker restarts on its own port ------------------------------------------------------


def test_a_port_left_in_time_wait_by_a_killed_server_counts_as_free() -> None:
    """A broker killed with clients connected closes their sockets first (TIME_WAIT on its
    port); a restart on that port must not be refused for it. The server sets SO_REUSEADDR
    as the brokers' listeners do; a listening socket still counts as in use."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    assert port_in_use("127.0.0.1", port)
    accepted.close()  # the server side closes first: its end of the port waits in TIME_WAIT
    server.close()
    client.close()
    assert not port_in_use("127.0.0.1", port)


# -- the soak on Apache Kafka -------------------------------------------------------------------


@pytest.mark.broker
@pytest.mark.apache_kafka
@pytest.mark.xfail(
    reason="issue 14: the soak still finds a defect (benchmarks/chaos.md, seed 6): a worker "
    "SIGKILLed between two writes of one state (a new conversation's part, then the head "
    "that lists it) leaves the part unlisted, and the redo of its input is skipped as a "
    "duplicate (its seen-log entry landed): the conversation loses that turn",
    strict=False,
)
@pytest.mark.timeout(1200)  # a clean run and two seeds: about 10 min here, past the 300 s default
def test_workers_under_faults_act_as_one_clean_worker(tmp_path: Path) -> None:
    """Two seeds of every fault (SIGKILL, SIGSTOP past the session timeout, broker kill -9
    and restart, a join, a leave) while 1,000 events flow through three workers."""
    require_apache_kafka()
    settings = SoakSettings(events=1_000, customers=40, rate=30.0)
    result = soak(
        [1, 2],
        settings,
        PROJECT_ROOT / "infra" / "topics.yaml",
        PROJECT_ROOT / "infra" / "policies.yaml",
        tmp_path,
        code_root=PROJECT_ROOT,
    )
    assert result.clean.passed, result.clean.first_differences()
    assert result.clean.actions > 20, "the input decides too little to compare"
    for seed in result.seeds:
        assert {f.kind for f in seed.faults} == {k.value for k in FaultKind}
        assert seed.passed, (
            f"seed {seed.seed}: {seed.first_differences(10)}; faults "
            f"{[(f.kind, f.target, f.at_s, f.note) for f in seed.faults]}; logs {seed.log_dir}"
        )


def test_the_command_without_java_or_jars_stops_saying_why_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ENGAGE_KAFKA_JARS", str(tmp_path / "no-jars"))
    result = CliRunner().invoke(app, ["bench", "chaos", "--seeds", "1", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "Apache Kafka: " in result.output  # no jars (or no Java): says which
    assert not (tmp_path / "chaos.json").exists()


def test_workers_run_the_code_frozen_when_the_soak_began(tmp_path: Path) -> None:
    """A soak runs for most of an hour in a shared checkout: edits made meanwhile must not
    reach its later runs, or a seed would compare one version of the code with another."""
    code = freeze_code(PROJECT_ROOT, tmp_path / "code")
    setup = Setup(PROJECT_ROOT / "infra" / "topics.yaml", tmp_path / "p.yaml", [], code)
    probe = "import engage_stream.config.settings as s; print(s.PROJECT_ROOT)"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, **setup.environment()},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(done.stdout.strip()) == tmp_path / "code"
    assert (tmp_path / "code" / "infra" / "messages").is_dir()
