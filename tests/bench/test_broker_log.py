"""The broker-log benchmark: what it measures on a real broker, and how it reports it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engage_stream.bench.broker_log import GrowthRow, Layout, markdown, measure, medians
from engage_stream.brokers import BrokerProcess

MACHINE = {"date": "2026-12-02T12:00:00+00:00", "cpu": "test", "cores": 2, "command": "x"}


def _row(broker: str, prior: int, batches: int, cpu: float) -> GrowthRow:
    return GrowthRow(broker, prior, batches, 100, 1.0, cpu, 10)


def test_a_row_times_only_the_records_after_what_the_partition_held(
    broker: BrokerProcess,
) -> None:
    row = measure(broker, "either", Layout(prior=250, batch=50), records=40)
    assert (row.prior, row.prior_batches, row.records) == (250, 5, 40)
    assert row.fetches >= 1
    assert row.seconds > 0
    assert row.broker_cpu_ms_per_record >= 0


def test_the_broker_pid_is_its_own_process(broker: BrokerProcess) -> None:
    command = Path(f"/proc/{broker.pid}/cmdline").read_bytes().replace(b"\0", b" ")
    assert (b"tansu" in command) or (b"kafka.Kafka" in command)
    assert broker.pid != os.getpid()


def test_the_report_takes_the_median_round_and_compares_with_the_empty_partition() -> None:
    rows = [
        _row("tansu", 0, 0, 2.0),
        _row("tansu", 20_000, 2_000, 9.0),
        _row("tansu", 0, 0, 1.0),
        _row("tansu", 20_000, 2_000, 8.0),
        _row("tansu", 0, 0, 3.0),
        _row("tansu", 20_000, 2_000, 30.0),
    ]
    chosen = {(r.prior, r.broker_cpu_ms_per_record) for r in medians(rows)}
    assert chosen == {(0, 2.0), (20_000, 9.0)}
    table = markdown(rows, MACHINE)
    assert "| tansu | 20,000 | 2,000 | 100 | 9.000 | 4.50 |" in table
    assert "| tansu | 0 | 0 | 100 | 2.000 | 1.00 |" in table
    assert "tansu 20,000/2,000: 8.00-30.00 (median 9.00)" in table


def test_an_empty_batch_size_counts_no_batches() -> None:
    assert Layout(0, 10).batches == 0
    assert Layout(25, 10).batches == 3
    with pytest.raises(ValueError, match="batch"):
        Layout(5, 0)
