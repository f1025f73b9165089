"""`classify` as a person and as a script use it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engage_stream.cli.app import app
from tests.tiny_models import TOPIC_LABELS, TinyModels, tiny_models

runner = CliRunner()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The registry's default folder names, served by the tiny multi-head and n-gram
    models; and a plain classifier beside them."""
    tiny: TinyModels = tiny_models(tmp_path_factory)
    folder = tmp_path_factory.mktemp("models")
    shutil.copytree(tiny.multihead, folder / "multihead-ko")
    shutil.copytree(tiny.grams, folder / "topic-grams-ko")
    shutil.copytree(tiny.classifier, folder / "intent-tiny")
    return folder


def test_texts_get_each_head_s_label_and_score(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGAGE_MODEL_DIR", str(model_dir))
    monkeypatch.setenv("COLUMNS", "200")  # the table on one line per text
    result = runner.invoke(app, ["classify", "배송이 언제 오나요?"])
    assert result.exit_code == 0, result.output
    assert "배송이 언제 오나요?" in result.output
    for head in ("intent", "toxicity"):
        assert f"{head} (multihead-tiny" in result.output
    assert "topic (topic-grams-tiny" in result.output


def test_models_names_classifier_folders_instead_of_the_registry(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGAGE_MODEL_DIR", str(model_dir))
    result = runner.invoke(
        app, ["classify", "--models", "intent-tiny", "--file", "-"], input="네\n"
    )
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)) == {"text", "intent-tiny"}


def test_a_file_gives_one_json_line_per_line_in_input_order(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ENGAGE_MODEL_DIR", str(model_dir))
    lines = ["배송이 언제 오나요?", "", "hello world", "상담원 연결해 주세요", "ㅋ" * 20_000]
    source = tmp_path / "messages.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["classify", "--file", str(source)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in records] == lines
    for record in records:
        for key in ("intent", "toxicity", "topic"):
            assert set(record[key]) == {"label", "score"}
            assert 0.0 <= record[key]["score"] <= 1.0
    assert {r["topic"]["label"] for r in records} <= set(TOPIC_LABELS)


def test_standard_input_is_read_with_a_dash(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGAGE_MODEL_DIR", str(model_dir))
    result = runner.invoke(app, ["classify", "--file", "-"], input="안녕하세요\n고마워요\n")
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["text"] for x in result.stdout.splitlines()] == ["안녕하세요", "고마워요"]


def test_a_missing_model_folder_stops_at_start_naming_the_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ENGAGE_MODEL_DIR", str(tmp_path))
    result = runner.invoke(app, ["classify", "안녕"])
    assert result.exit_code == 2
    assert str(tmp_path / "multihead-ko") in result.output
