"""`engage-stream eval` end to end: two run folders and labels in, eval.json and report out."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from typer.testing import CliRunner

from engage_stream.brokers import TansuBroker
from engage_stream.cli.app import app
from engage_stream.evaluation.runs import shadow_topic
from engage_stream.kafka.admin import ensure_topics
from engage_stream.kafka.topics import TopicRole, load_topics
from tests.evaluation.builders import (
    enriched,
    experiment_run,
    handoff_action,
    handoff_decision,
    message,
    message_decision,
    suppressed_decision,
    suppression,
    write_labels,
    write_run,
)
from tests.evaluation.html_check import read_page
from tests.worker.pipeline import isolated_topics

runner = CliRunner()

PHONE_TEXT = "상담원 연결해 주세요. 제 번호는 010-1234-5678 입니다"
MARKUP_TEXT = "<b>빨리</b> 답 좀 주세요"


@pytest.fixture
def runs(tmp_path: Path) -> dict[str, Path]:
    """A live baseline folder, a replay folder and labels; every number below is by hand.

    baseline (live): E1 handoff, E2 nothing, E3 e-mail (cart), E4 nothing, E2 sent twice;
                     latencies 10, 20, 30, 40 ms
    run (r1):        E1 nothing, E2 handoff, E3 suppressed, E4 nothing, E5 (only here)
    """
    baseline = write_run(
        tmp_path / "live",
        [
            enriched(
                "E1",
                PHONE_TEXT,
                intent="command",
                decisions=[handoff_decision("E1")],
                latency_ms=10,
            ),
            enriched("E2", MARKUP_TEXT, intent="statement", offset=1, latency_ms=20, minute=1),
            enriched(
                "E3", None, offset=2, decisions=[message_decision("E3")], latency_ms=30, minute=2
            ),
            enriched("E4", "감사합니다", intent="statement", offset=3, latency_ms=40, minute=3),
            enriched("E2", MARKUP_TEXT, offset=9, duplicate_of=1, latency_ms=5, minute=4),
        ],
        handoffs=[handoff_action("E1")],
        messages=[message("E3")],
    )
    candidate = write_run(
        tmp_path / "replay",
        [
            enriched("E1", PHONE_TEXT, intent="question", run_id="r1"),
            enriched(
                "E2",
                MARKUP_TEXT,
                intent="command",
                decisions=[handoff_decision("E2")],
                offset=1,
                run_id="r1",
                minute=1,
            ),
            enriched(
                "E3", None, offset=2, decisions=[suppressed_decision("E3")], run_id="r1", minute=2
            ),
            enriched("E4", "감사합니다", intent="statement", offset=3, run_id="r1", minute=3),
            enriched("E5", "배송 언제 와요?", intent="question", offset=4, run_id="r1", minute=4),
        ],
        handoffs=[handoff_action("E2")],
        suppressions=[suppression("E3")],
        dlq=[],
        manifest={"run_id": "r1", "events_per_s": 500.0, "seconds": 0.01},
    )
    labels = write_labels(
        tmp_path / "labels.jsonl",
        [
            {"event_id": "E1", "intent": "command", "toxicity": "none", "handoff_needed": True},
            {"event_id": "E2", "intent": "command", "toxicity": "none", "handoff_needed": True},
            {"event_id": "E3", "email_opened": True, "email_converted": False},
            {"event_id": "E4", "intent": "statement", "toxicity": "none", "handoff_needed": False},
        ],
    )
    return {"baseline": baseline, "run": candidate, "labels": labels, "out": tmp_path / "out"}


def _eval(*args: str) -> Any:
    return runner.invoke(app, ["eval", *args])


def test_eval_writes_json_and_html_with_the_expected_numbers(runs: dict[str, Path]) -> None:
    result = _eval(
        "--run", str(runs["run"]), "--baseline", str(runs["baseline"]),
        "--labels", str(runs["labels"]), "--out", str(runs["out"]), "--examples", "2",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert f"wrote {runs['out'] / 'eval.json'}" in result.stdout
    assert "against labels" in result.stdout
    assert "handoff_added 1" in result.stdout
    document = json.loads((runs["out"] / "eval.json").read_text(encoding="utf-8"))
    assert list(document) == [
        "schema_version",
        "generated_at",
        "labels",
        "run",
        "baseline",
        "comparison",
    ]
    run, baseline = document["run"], document["baseline"]

    # run intent: E1 command->question (wrong), E2 command (right), E4 statement (right).
    # command P 1 R 1/2 F1 2/3; question F1 0 (predicted, never true); statement F1 1.
    intent = run["classification"]["intent"]
    assert intent["n"] == 3
    assert intent["accuracy"] == pytest.approx(2 / 3)
    assert intent["macro_f1"] == pytest.approx((2 / 3 + 0 + 1) / 3)
    labels = intent["confusion"]["labels"]
    cell = intent["confusion"]["matrix"][labels.index("command")][labels.index("question")]
    assert cell == 1
    # baseline intent: E2 command->statement wrong; command F1 2/3, statement P 1/2 R 1 F1 2/3.
    assert baseline["classification"]["intent"]["macro_f1"] == pytest.approx(2 / 3)
    assert run["classification"]["toxicity"]["accuracy"] == 1.0
    # handoff: E1 needed, not handed off (FN); E2 needed and handed off (TP); E4 (TN).
    handoff = run["handoff"]
    assert (handoff["true_positive"], handoff["false_negative"], handoff["true_negative"]) == (
        1,
        1,
        1,
    )
    assert handoff["f1"] == pytest.approx(2 / 3)

    assert run["rates"]["events"] == 5
    assert run["rates"]["handoffs"] == {"count": 1, "per_1000": 200.0}
    assert run["rates"]["suppressions_by_reason"]["no_advertising_consent"]["per_1000"] == 200.0
    assert run["rates"]["dlq"] == {"count": 0, "per_1000": 0.0}
    assert baseline["rates"]["next_best_actions"]["per_1000"] == 250.0
    assert baseline["rates"]["duplicates"] == {"count": 1, "per_1000": 250.0}
    assert baseline["rates"]["dlq"] is None
    assert baseline["message_outcomes"]["overall"]["open_rate"] == 1.0
    assert baseline["summary"]["duplicate_records"] == 1

    # live baseline: latencies 10, 20, 30, 40 -> nearest rank p50 20, p95 40
    assert baseline["latency"]["end_to_end"] is True
    assert (baseline["latency"]["p50_ms"], baseline["latency"]["p95_ms"]) == (20.0, 40.0)
    assert baseline["latency"]["max_ms"] == 40.0
    assert run["latency"]["end_to_end"] is False
    assert run["latency"]["p50_ms"] is None
    assert run["latency"]["events_per_s"] == 500.0

    comparison = document["comparison"]
    assert (comparison["shared"], comparison["only_in_run"], comparison["only_in_baseline"]) == (
        4,
        1,
        0,
    )
    counts = {k: v["count"] for k, v in comparison["flips"].items() if v["count"]}
    assert counts == {"handoff_added": 1, "handoff_removed": 1, "message_suppressed": 1}
    example = comparison["flips"]["handoff_removed"]["examples"][0]
    assert example["event_id"] == "E1"
    assert "010-****-5678" in example["text"]
    # E1, E2, E4 have predictions in both runs (E3 is a cart); only E4 keeps its intent.
    assert comparison["agreement"]["intent"]["rate"] == pytest.approx(1 / 3)


def test_the_html_report_reads_back(runs: dict[str, Path]) -> None:
    result = _eval(
        "--run", str(runs["run"]), "--baseline", str(runs["baseline"]),
        "--labels", str(runs["labels"]), "--out", str(runs["out"]),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    html = (runs["out"] / "report.html").read_text(encoding="utf-8")
    page = read_page(html)

    assert page.meta_charset == "utf-8"
    assert page.section_ids == [
        "summary", "models", "handoff", "drafts", "rates", "outcomes", "latency", "comparison",
        "notes",
    ]  # fmt: skip
    assert page.cells[("intent · run r1", "command", "question")] == "1"
    assert page.cells[("intent · run r1", "command", "command")] == "1"
    assert page.cells[("intent · run r1", "statement", "statement")] == "1"
    assert page.cells[("intent · baseline live", "command", "statement")] == "1"
    assert page.cells[("toxicity · run r1", "none", "none")] == "3"
    assert "상담원 연결해 주세요" in page.text  # Korean as characters, not entities
    assert "010-****-5678" in page.text
    assert "010-1234-5678" not in html
    assert "&lt;b&gt;빨리&lt;/b&gt;" in html
    assert "b" not in page.tags
    assert page.external == []
    assert "script" not in page.tags


def test_eval_without_baseline_or_labels(runs: dict[str, Path]) -> None:
    result = _eval("--run", str(runs["baseline"]), "--out", str(runs["out"]))

    assert result.exit_code == 0, result.output
    document = json.loads((runs["out"] / "eval.json").read_text(encoding="utf-8"))
    assert document["baseline"] is None
    assert document["comparison"] is None
    assert document["labels"] is None
    assert document["run"]["classification"] is None
    assert "latency run live: p50 20 ms" in result.stdout


def test_eval_reports_each_experiment_arm_with_its_lift(tmp_path: Path) -> None:
    """The numbers of `experiment_run`: control 1 of 4, half-hour 3 of 5 (+35 points)."""
    folder = experiment_run().write(tmp_path / "experiment")
    result = _eval("--run", str(folder), "--out", str(tmp_path / "out"))

    assert result.exit_code == 0, result.output
    assert (
        "experiment cart-test (run r1): control 25.0% of 4 · half-hour 60.0% of 5, "
        "lift +35.0 pt (-23.2 to +69.9)"
    ) in " ".join(result.stdout.split())  # as rich wraps it, joined again
    document = json.loads((tmp_path / "out" / "eval.json").read_text(encoding="utf-8"))
    (experiment,) = document["run"]["experiments"]
    assert [(a["arm"], a["customers"], a["converted"]) for a in experiment["arms"]] == [
        ("control", 4, 1),
        ("half-hour", 5, 3),
    ]
    page = read_page((tmp_path / "out" / "report.html").read_text(encoding="utf-8"))
    assert "experiments" in page.section_ids


def test_the_default_out_dir_is_named_after_the_run(
    runs: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    result = _eval("--run", str(runs["run"]))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "eval-r1" / "report.html").is_file()


def _one_line_error(result: Any) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line: str = lines[0]
    assert line.startswith("engage-stream eval: ")
    return line


def test_a_missing_run_directory(tmp_path: Path) -> None:
    line = _one_line_error(_eval("--run", str(tmp_path / "nope")))
    assert "does not exist" in line


def test_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    line = _one_line_error(_eval("--run", str(tmp_path)))
    assert "it has no enriched.jsonl" in line


def test_a_labels_file_with_a_bad_line(runs: dict[str, Path]) -> None:
    with runs["labels"].open("a", encoding="utf-8") as handle:
        handle.write('{"event_id": "E9", "handoff_needed": "yes"}\n')
    line = _one_line_error(_eval("--run", str(runs["run"]), "--labels", str(runs["labels"])))
    assert f"{runs['labels']}, line 5: handoff_needed" in line


def test_a_label_the_model_does_not_have_is_refused_naming_the_head(
    runs: dict[str, Path],
) -> None:
    with runs["labels"].open("a", encoding="utf-8") as handle:
        handle.write('{"event_id": "E9", "toxicity": "rude"}\n')
    line = _one_line_error(_eval("--run", str(runs["run"]), "--labels", str(runs["labels"])))
    assert "toxicity labels ['rude'] are not labels of the toxicity head" in line
    assert "none, offensive, hate" in line


def test_a_missing_labels_file(runs: dict[str, Path], tmp_path: Path) -> None:
    line = _one_line_error(_eval("--run", str(runs["run"]), "--labels", str(tmp_path / "x.jsonl")))
    assert "does not exist" in line


def test_a_bad_shadow_run_id() -> None:
    line = _one_line_error(_eval("--run", "shadow:a b"))
    assert "a run id is 1-249 of the characters" in line


def test_a_negative_example_count_is_refused(runs: dict[str, Path]) -> None:
    result = _eval("--run", str(runs["run"]), "--examples", "-1")
    assert result.exit_code == 2


# -- topics, on a real broker ---------------------------------------------------------------


@pytest.mark.broker
def test_eval_of_shadow_topics_against_live_topics(
    tansu: TansuBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = isolated_topics(tmp_path)
    monkeypatch.setenv("ENGAGE_TOPICS_FILE", str(path))
    topics = load_topics(path)
    connection = {"bootstrap_servers": [tansu.bootstrap]}
    ensure_topics(connection, topics)
    shadow = shadow_topic(topics, "r9", TopicRole.ENRICHED)
    labels_topic = f"labels.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(**connection)
    admin.create_topics([NewTopic(shadow, 1, 1), NewTopic(labels_topic, 1, 1)])
    admin.close()
    producer = KafkaProducer(**connection, acks="all")
    for topic, record in [
        (topics.name(TopicRole.ENRICHED), enriched("E1", decisions=[handoff_decision("E1")])),
        (topics.name(TopicRole.ENRICHED), enriched("E2", offset=1)),
        (shadow, enriched("E1", run_id="r9")),
        (shadow, enriched("E2", offset=1, run_id="r9")),
    ]:
        producer.send(topic, record.model_dump_json().encode())
    producer.send(labels_topic, json.dumps({"event_id": "E1", "handoff_needed": True}).encode())
    producer.flush()
    producer.close()

    args = ["--bootstrap", tansu.bootstrap, "--out", str(tmp_path / "out")]
    result = _eval(
        "--run", "shadow:r9", "--baseline", "live", "--labels", f"topic:{labels_topic}", *args
    )

    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "out" / "eval.json").read_text(encoding="utf-8"))
    assert document["run"]["summary"]["run_id"] == "r9"
    assert document["comparison"]["flips"]["handoff_removed"]["count"] == 1
    assert document["run"]["handoff"]["false_negative"] == 1

    line = _one_line_error(_eval("--run", "shadow:nope", *args))
    assert "unknown run id 'nope'" in line
