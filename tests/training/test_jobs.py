"""The training jobs without their corpora or with a bad check file: a message that says
what is missing and where it comes from, exit 1, nothing trained, never a traceback; and
the jobs run from Python without the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from engage_stream.cli.app import app
from engage_stream.config import settings as settings_module
from engage_stream.training.check_file import CheckFileError
from engage_stream.training.corpora import CorpusError
from engage_stream.training.jobs.exceptions import JobOptionError
from engage_stream.training.jobs.grams import grams_job
from engage_stream.training.jobs.options import PretrainOptions, TrainOptions
from engage_stream.training.jobs.pretrain import pretrain_job


def _flat(result: Result) -> str:
    """The output with rich's wrapping and box lines undone."""
    return re.sub(r"[\s│]+", " ", result.output)


def _failed_cleanly(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    assert "Traceback" not in result.output
    return _flat(result)


@pytest.fixture
def no_corpora(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    empty = tmp_path / "empty-data"
    empty.mkdir()
    monkeypatch.setenv("ENGAGE_DATA_DIR", str(empty))
    return empty


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A folder that passes the --base check; no job here gets as far as reading it."""
    folder = tmp_path / "base"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    return folder


def test_train_without_the_corpus_names_it_its_file_the_setting_and_its_source(
    no_corpora: Path, base: Path, tmp_path: Path
) -> None:
    out = tmp_path / "intent"
    result = CliRunner().invoke(app, ["train", "intent-ko", "--base", str(base), "--out", str(out)])
    message = _failed_cleanly(result)
    assert "3i4K" in message
    assert str(no_corpora / "3i4k" / "train.tsv") in message
    assert "ENGAGE_DATA_DIR" in message
    assert "--data-dir" in message
    assert "github.com/warnikchow/3i4k" in message
    assert "CC-BY-SA-4.0" in message
    assert not out.exists()


def test_pretrain_without_the_corpora_names_the_first_one_missing(
    no_corpora: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pretrained"
    result = CliRunner().invoke(app, ["pretrain", "--out", str(out), "--shape", "tiny"])
    message = _failed_cleanly(result)
    assert "chatbot/train.csv" in message
    assert "github.com/songys/Chatbot_data" in message
    assert "(MIT)" in message
    assert not out.exists()


def test_the_data_dir_option_wins_over_the_setting(no_corpora: Path, base: Path) -> None:
    elsewhere = no_corpora.parent / "elsewhere"
    args = ["train", "toxicity-ko", "--base", str(base), "--data-dir", str(elsewhere)]
    message = _failed_cleanly(CliRunner().invoke(app, args))
    assert str(elsewhere / "hatespeech" / "train.tsv") in message
    assert "github.com/kocohub/korean-hate-speech" in message


def test_with_no_corpora_folder_at_all_the_message_says_none_is_set(
    base: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ENGAGE_DATA_DIR", raising=False)
    monkeypatch.setattr(settings_module, "TEAM_DATA_DIR", tmp_path / "no-shared" / "data")
    message = _failed_cleanly(CliRunner().invoke(app, ["train", "intent-ko", "--base", str(base)]))
    assert "ENGAGE_DATA_DIR is not set" in message
    assert "3i4k/train.tsv" in message
    assert "github.com/warnikchow/3i4k" in message


def _bad_check(tmp_path: Path) -> Path:
    lines = [
        {"text": "배송 언제 와요?", "label": "delivery_status"},
        {"text": "포장 선물용으로 되나요", "label": "gift_wrap"},
        {"text": "매장 주차 되나요", "label": "parking"},
    ]
    path = tmp_path / "bad-check.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    return path


@pytest.mark.parametrize("name", ["topic-ko", "multihead-ko"])
def test_a_check_file_with_labels_the_model_lacks_stops_before_any_training(
    name: str, shop_pretrained: Path, tmp_path: Path
) -> None:
    check = _bad_check(tmp_path)
    out = tmp_path / name
    args = ["train", name, "--base", str(shop_pretrained), "--out", str(out), "--check", str(check)]
    message = _failed_cleanly(CliRunner().invoke(app, args))
    assert "bad-check.jsonl" in message
    assert "'gift_wrap'" in message
    assert "'parking'" in message
    assert "delivery_status" not in message  # a label the model has is not reported
    assert not out.exists()


def test_the_jobs_run_without_the_cli(tmp_path: Path, no_corpora: Path) -> None:
    out = tmp_path / "grams"
    run = grams_job(TrainOptions("topic-grams-ko", out=out, limit=300))
    assert run.out == out
    assert (out / "engage-model.json").is_file()
    assert run.record["check"]["file"] == "data/sample-shop/topic-check.jsonl"
    assert run.everyday_missing is not None
    assert "3i4K" in run.everyday_missing
    with pytest.raises(JobOptionError, match="--shape"):
        pretrain_job(PretrainOptions(out=tmp_path / "p", shape="huge"))
    with pytest.raises(CorpusError, match=r"chatbot/train\.csv"):
        pretrain_job(PretrainOptions(out=tmp_path / "p", shape="tiny"))
    with pytest.raises(JobOptionError, match="no encoder"):
        grams_job(TrainOptions("topic-grams-ko", base=tmp_path))


def test_a_bad_check_file_is_a_value_error_as_before(tmp_path: Path) -> None:
    from engage_stream.training.check_file import check_gold
    from engage_stream.training.corpora import load_labelled

    with pytest.raises(ValueError, match="gift_wrap"):
        check_gold(load_labelled(_bad_check(tmp_path)), ("delivery_status",), "f")
    assert issubclass(CheckFileError, CorpusError)
