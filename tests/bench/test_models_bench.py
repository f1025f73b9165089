"""`bench models` measures every engine on the same weights, in turns, and writes it down."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engage_stream.bench.machine import describe
from engage_stream.bench.models import (
    EAGER,
    BenchRow,
    bench_classifier,
    markdown,
    onnx_accuracy,
    speedup,
)
from engage_stream.cli.app import app
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


def test_the_multihead_pass_is_timed_beside_two_single_head_passes_and_the_bare_encoder(
    tiny: TinyModels,
) -> None:
    from engage_stream.bench.models import SINGLE_HEADS, bench_heads, heads_markdown

    rows = bench_heads(
        tiny.multihead,
        [tiny.classifier, tiny.classifier],
        korean_lines(24),
        batch_sizes=(1, 8),
        min_seconds=0.05,
        rounds=3,
        topic_dir=tiny.grams,
    )
    engines = list(dict.fromkeys(r.engine for r in rows))
    assert engines[0] == SINGLE_HEADS
    assert "one pass" in engines[1]
    assert "embedding only" in engines[2]
    assert engines[3] == "topic-grams-tiny: topic alone"
    assert engines[4] == "as served: multihead-tiny + topic-grams-tiny"
    assert [(r.engine, r.batch_size) for r in rows] == [(e, b) for b in (1, 8) for e in engines]
    assert all(len(r.round_rates) == 3 and r.messages_per_s > 0 for r in rows)
    table = heads_markdown(rows, describe("engage-stream bench models --model tiny"))
    assert "one pass ÷ two passes" in table
    assert "topic-grams-tiny: the topic model served beside the encoder" in table
    assert "| as served ÷ two passes |" in table
    assert table.count("\n| ") == 4


def _write_topics(path: Path, lines: list[tuple[str, str]]) -> Path:
    path.write_text(
        "".join(
            json.dumps({"text": t, "label": label}, ensure_ascii=False) + "\n" for t, label in lines
        )
    )
    return path


TOPIC_LINES = [
    ("배송 언제 와요", "delivery_status"),
    ("택배 아직 안 왔어요", "delivery_status"),
    ("운송장 번호 알려주세요", "delivery_status"),
    ("환불 언제 들어와요", "refund_status"),
    ("카드 취소 확인이 안 돼요", "refund_status"),
    ("환불 처리 됐나요", "refund_status"),
    ("안녕하세요", "other"),
    ("감사합니다 수고하세요", "other"),
    ("네 알겠어요", "other"),
]


def test_the_topic_head_is_scored_on_validation_and_check_beside_the_baseline(
    tiny: TinyModels, tmp_path: Path
) -> None:
    from engage_stream.bench.topics import bench_topics, markdown

    data = _write_topics(tmp_path / "topics.jsonl", TOPIC_LINES * 4)
    check = _write_topics(tmp_path / "check.jsonl", TOPIC_LINES[::2])
    grams = tmp_path / "topic-grams"
    args = ["--data", str(data), "--no-bank", "--check", str(check), "--out", str(grams)]
    trained = CliRunner().invoke(app, ["train", "topic-grams-ko", *args])
    assert trained.exit_code == 0, trained.output
    everyday = ["오늘 날씨 좋다", "주말에 뭐 해?", "배고프다"]
    rows = bench_topics([grams, tiny.multihead], data, None, check, everyday)
    assert [
        (r.model.split()[-1] if "SVM" not in r.model else "svm", r.data.split()[0]) for r in rows
    ] == [
        ("fp32", "validation"),
        ("fp32", "check"),
        ("fp32", "everyday"),
        ("int8", "validation"),
        ("int8", "check"),
        ("int8", "everyday"),
        ("fp32", "validation"),
        ("fp32", "check"),
        ("fp32", "everyday"),
        ("svm", "validation"),
        ("svm", "check"),
        ("svm", "everyday"),
    ]
    small_talk = [r for r in rows if r.data.startswith("everyday")]
    assert {r.texts for r in small_talk} == {3}
    assert all(r.macro_f1 is None and r.accuracy in {0.0, 0.3333, 0.6667, 1.0} for r in small_talk)
    assert {r.texts for r in rows if r.data.startswith("check")} == {5}
    assert all(0.0 <= r.accuracy <= 1.0 for r in rows)
    table = markdown(rows, describe("engage-stream bench topics"), "note")
    assert "`engage-stream bench topics`" in table
    assert rows[0].model.startswith("topic-grams-ko ")
    assert table.count("\n| ") == 14


def test_a_model_trained_on_other_topics_is_refused_by_name(
    tiny: TinyModels, tmp_path: Path
) -> None:
    from engage_stream.bench.topics import bench_topics

    other = [(t, "exchange" if label == "other" else label) for t, label in TOPIC_LINES]
    data = _write_topics(tmp_path / "topics.jsonl", other * 4)
    with pytest.raises(ValueError, match="exchange"):
        bench_topics([tiny.multihead], data, None, data)
