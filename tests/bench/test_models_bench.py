"""`bench models` measures all three engines on the same weights and writes it down."""

from __future__ import annotations

import pytest

from engage_stream.bench.machine import describe
from engage_stream.bench.models import bench_classifier, markdown, onnx_accuracy
from tests.tiny_models import TinyModels, korean_lines, tiny_models


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    return tiny_models(tmp_path_factory)


def test_every_engine_and_batch_size_gets_a_row(tiny: TinyModels) -> None:
    rows = bench_classifier(
        tiny.classifier, tiny.hf_classifier, korean_lines(48), batch_sizes=(1, 8), min_seconds=0.05
    )
    assert [(r.engine, r.batch_size) for r in rows] == [
        ("onnx-int8", 1),
        ("onnx-fp32", 1),
        ("pytorch-eager-fp32", 1),
        ("onnx-int8", 8),
        ("onnx-fp32", 8),
        ("pytorch-eager-fp32", 8),
    ]
    for row in rows:
        assert row.messages_per_s > 0
        assert 0 < row.p50_ms <= row.p95_ms
        assert row.batches >= 48 // row.batch_size


def test_without_a_checkpoint_pytorch_is_left_out(tiny: TinyModels) -> None:
    rows = bench_classifier(
        tiny.classifier, None, korean_lines(16), batch_sizes=(8,), min_seconds=0
    )
    assert {r.engine for r in rows} == {"onnx-int8", "onnx-fp32"}


def test_the_markdown_names_machine_date_command_and_every_engine(tiny: TinyModels) -> None:
    rows = bench_classifier(
        tiny.classifier, None, korean_lines(16), batch_sizes=(1, 8), min_seconds=0
    )
    machine = describe("engage-stream bench models --model tiny")
    table = markdown("tiny", rows, machine)
    assert "`engage-stream bench models --model tiny`" in table
    assert str(machine["date"]) in table
    assert "onnx-int8 msg/s" in table
    assert "onnx-fp32 msg/s" in table
    assert table.count("\n| ") == 4  # header, separator, two batch sizes


def test_validation_accuracy_is_measured_for_both_precisions(tiny: TinyModels) -> None:
    from tests.tiny_models import LABELS

    texts = korean_lines(40)
    accuracy = onnx_accuracy(tiny.classifier, texts, [i % len(LABELS) for i in range(40)])
    assert set(accuracy) == {"int8", "fp32"}
    assert all(0.0 <= value <= 1.0 for value in accuracy.values())
