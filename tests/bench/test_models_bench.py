"""`bench models` measures every engine on the same weights, in turns, and writes it down."""

from __future__ import annotations

import pytest

from engage_stream.bench.machine import describe
from engage_stream.bench.models import (
    EAGER,
    BenchRow,
    bench_classifier,
    markdown,
    onnx_accuracy,
    speedup,
)
from tests.tiny_models import TinyModels, korean_lines, tiny_models


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    return tiny_models(tmp_path_factory)


ENGINES = ["onnx-int8", "onnx-int8-one-run", "onnx-fp32", EAGER]


def test_every_engine_and_batch_size_gets_a_row_with_its_rounds(tiny: TinyModels) -> None:
    rows = bench_classifier(
        tiny.classifier,
        tiny.hf_classifier,
        korean_lines(48),
        batch_sizes=(1, 8),
        min_seconds=0.05,
        threads=2,
        rounds=3,
    )
    assert [(r.engine, r.batch_size) for r in rows] == [(e, b) for b in (1, 8) for e in ENGINES]
    for row in rows:
        assert len(row.round_rates) == 3
        assert row.messages_per_s == sorted(row.round_rates)[1]  # the median
        assert 0 < row.p50_ms <= row.p95_ms
        assert row.batches >= 3


def test_without_a_checkpoint_eager_runs_the_weights_of_the_onnx_file(tiny: TinyModels) -> None:
    rows = bench_classifier(
        tiny.classifier, None, korean_lines(16), batch_sizes=(8,), min_seconds=0, threads=2
    )
    assert [r.engine for r in rows] == ENGINES


def test_one_thread_has_no_one_run_layout_to_compare(tiny: TinyModels) -> None:
    rows = bench_classifier(
        tiny.classifier, None, korean_lines(16), (8,), min_seconds=0, threads=1, eager=False
    )
    assert [r.engine for r in rows] == ["onnx-int8", "onnx-fp32"]


def _row(engine: str, rates: tuple[float, ...]) -> BenchRow:
    return BenchRow(engine, 32, sorted(rates)[len(rates) // 2], 1.0, 2.0, 10, rates)


def test_the_speedup_is_the_median_of_ratios_taken_in_the_same_round() -> None:
    # A noisy round slows both engines; its ratio still counts like the others.
    rows = [_row("onnx-int8", (1000, 400, 1100)), _row(EAGER, (500, 200, 500))]
    assert speedup(rows, "onnx-int8", EAGER, 32) == 2.0
    assert speedup(rows, "onnx-int8", EAGER, 8) is None


def test_the_markdown_names_machine_date_command_every_engine_and_the_speedup(
    tiny: TinyModels,
) -> None:
    rows = bench_classifier(
        tiny.classifier, None, korean_lines(16), batch_sizes=(1, 8), min_seconds=0, threads=2
    )
    machine = describe("engage-stream bench models --model tiny")
    table = markdown("tiny", rows, machine)
    assert "`engage-stream bench models --model tiny`" in table
    assert str(machine["date"]) in table
    for engine in ENGINES:
        assert f"| {engine} msg/s" in table or f" {engine} msg/s" in table
    assert "int8 ÷ eager" in table
    assert table.count("\n| ") == 4  # header, separator, two batch sizes
    assert "median of 5 rounds" in table


def test_validation_accuracy_is_measured_for_both_precisions(tiny: TinyModels) -> None:
    from tests.tiny_models import LABELS

    texts = korean_lines(40)
    accuracy = onnx_accuracy(tiny.classifier, texts, [i % len(LABELS) for i in range(40)])
    assert set(accuracy) == {"int8", "fp32"}
    assert all(0.0 <= value <= 1.0 for value in accuracy.values())
