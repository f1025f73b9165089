"""`engage-stream draft` prints a draft; `engage-stream bench drafter` writes its results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engage_stream.cli.app import app
from tests.drafting.conftest import TinyDrafter


@pytest.fixture
def model_dir(tiny_drafter: TinyDrafter, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ENGAGE_MODEL_DIR", str(tiny_drafter.folder.parent))
    return tiny_drafter.folder.parent


def test_draft_prints_a_polite_reply_with_the_profile(model_dir: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "draft",
            "배송이 언제 오나요?",
            "--intent",
            "question",
            "--name",
            "김민지",
            "--order-id",
            "ORD-1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("김민지 고객님, 안녕하세요. 주문번호 ORD-1 건")


def test_draft_json_carries_the_whole_draft(model_dir: Path) -> None:
    result = CliRunner().invoke(app, ["draft", "", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["fallback"] == "empty_input"
    assert record["template_id"] == "default.fallback"
    assert len(record["model"]["sha256"]) == 64


def test_draft_with_a_wrong_intent_or_folder_says_so(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert CliRunner().invoke(app, ["draft", "안녕", "--intent", "greeting"]).exit_code == 2
    monkeypatch.setenv("ENGAGE_MODEL_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["draft", "안녕"])
    assert result.exit_code == 2
    assert str(tmp_path / "drafter-ko") in result.output


def test_bench_drafter_writes_latency_and_polite_rate(model_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "drafter", "--limit", "40", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "drafter-ko.json").read_text())
    assert record["drafts"] == 40
    assert record["p95_ms"] > 0
    assert record["polite_rate"] == 1.0
    assert record["machine"]["command"].startswith("engage-stream")
    assert "| drafts | p50 ms | p95 ms |" in (tmp_path / "drafter-ko.md").read_text()
