"""Tokenizer, pre-training and fine-tuning work end to end on tiny configurations.

The shipped models are never retrained here; these runs take seconds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engage_stream.cli.app import app
from engage_stream.training.baseline import tfidf_svm
from engage_stream.training.classifier import FinetuneConfig, finetune
from engage_stream.training.corpora import tokenizer_corpus
from engage_stream.training.encoder import SHAPES
from engage_stream.training.model_card import render
from engage_stream.training.pretrain import PretrainConfig, pretrain
from engage_stream.training.tokenizer import train_wordpiece
from tests.training.tiny_runs import intent_split, run_train


def test_the_tokenizer_keeps_hangul_syllables_and_splits_off_punctuation(
    corpora: Path, tmp_path: Path
) -> None:
    from transformers import PreTrainedTokenizerFast

    train_wordpiece(tokenizer_corpus()[::20], 2_000, tmp_path)  # a spread: the file is label-sorted
    tokenizer = PreTrainedTokenizerFast.from_pretrained(tmp_path)
    tokens = tokenizer.tokenize("배송이 언제 오나요?")
    assert tokens[-1] == "?"
    assert "".join(t.removeprefix("##") for t in tokens) == "배송이언제오나요?"
    assert all(not ("\u1100" <= ch <= "\u11ff") for t in tokens for ch in t), "no loose jamo"
    assert tokenizer("안녕")["input_ids"][0] == tokenizer.cls_token_id


def test_pretraining_writes_an_hf_masked_lm_folder(tiny_pretrained: Path) -> None:
    from transformers import AutoModelForMaskedLM

    report = json.loads((tiny_pretrained / "engage-pretrain.json").read_text())
    assert report["steps"] == report["planned_steps"] > 0
    model = AutoModelForMaskedLM.from_pretrained(tiny_pretrained)
    assert model.config.hidden_size == SHAPES["tiny"].hidden_size


def test_finetuning_from_a_base_folder_beats_chance_and_names_its_labels(
    tiny_pretrained: Path, tmp_path: Path
) -> None:
    from transformers import AutoConfig

    corpus, data = intent_split(3_000, 500)
    metrics = finetune(
        corpus, data, tiny_pretrained, tmp_path, FinetuneConfig(epochs=2, learning_rate=1e-3)
    )
    assert metrics.accuracy > 0.2, "clearly above the 1/7 of guessing"
    config = AutoConfig.from_pretrained(tmp_path)
    assert [config.id2label[i] for i in range(7)] == list(corpus.label_names)
    assert (tmp_path / "tokenizer.json").is_file()


def test_the_baseline_beats_chance_clearly() -> None:
    corpus, data = intent_split(5_000)
    metrics, params = tfidf_svm(corpus, data)
    assert metrics.accuracy > 0.7
    assert params["analyzer"] == "char"


@pytest.fixture(scope="module")
def tiny_trained(tiny_pretrained: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trained") / "intent"
    run_train("intent-ko", tiny_pretrained, out, "--limit", "500", "--version", "0.0.1-test")
    return out


def test_train_command_writes_a_manifest_with_metrics_baseline_and_command(
    tiny_trained: Path,
) -> None:
    manifest = json.loads((tiny_trained / "engage-train.json").read_text())
    assert manifest["name"] == "intent-ko"
    assert manifest["version"] == "0.0.1-test"
    assert manifest["labels"][2] == "question"
    assert manifest["data"]["licence"] == "CC-BY-SA-4.0"
    assert {"accuracy", "macro_f1"} <= set(manifest["validation"])
    assert manifest["baseline"]["method"] == "tfidf-char-svm"
    assert manifest["command"].startswith("engage-stream train intent-ko --base")


def test_train_without_a_base_says_what_to_run_first() -> None:
    result = CliRunner().invoke(app, ["train", "intent-ko"])
    assert result.exit_code == 2
    assert "engage-stream pretrain" in re.sub(r"[\s│]+", " ", result.output)


def test_the_model_card_carries_metrics_licence_and_the_commands_that_made_it(
    tiny_trained: Path,
) -> None:
    card = render(tiny_trained, {"model.int8.onnx": 2_500_000}, ["ONNX vs PyTorch: 1e-7"])
    manifest = json.loads((tiny_trained / "engage-train.json").read_text())
    assert card.startswith("# intent-ko 0.0.1-test")
    assert f"| intent-ko | {manifest['validation']['accuracy']} |" in card
    assert "TF-IDF char 1-4-grams + linear SVM" in card
    assert "CC-BY-SA-4.0" in card
    assert "Cho et al." in card
    assert "| `model.int8.onnx` | 2.5 MB |" in card
    assert "engage-stream pretrain" not in card  # the tiny base was not made by the CLI
    assert manifest["command"] in card


def test_the_same_texts_always_give_the_same_token_ids(corpora: Path) -> None:
    from engage_stream.training.tokenizer import build_wordpiece

    texts = tokenizer_corpus()[::40]
    first, second = build_wordpiece(texts, 1_500), build_wordpiece(texts, 1_500)
    assert first.get_vocab() == second.get_vocab()
    assert (
        first("주문한 상품이 아직 안 왔어요")["input_ids"]
        == second("주문한 상품이 아직 안 왔어요")["input_ids"]
    )


def test_pretraining_resumes_with_the_same_tokenizer_and_counts_all_steps(
    tiny_pretrained: Path, tmp_path: Path
) -> None:
    import shutil

    folder = tmp_path / "resumed"
    shutil.copytree(tiny_pretrained, folder)
    vocab_before = (folder / "tokenizer.json").read_text()
    first = json.loads((folder / "engage-pretrain.json").read_text())

    report = pretrain(
        tokenizer_corpus()[:2_000], folder, PretrainConfig(SHAPES["tiny"], epochs=1), resume=True
    )

    assert (folder / "tokenizer.json").read_text() == vocab_before
    assert report["steps"] == first["steps"] + report["sessions"][-1]["steps"]  # type: ignore[index]
    assert len(report["sessions"]) == 2  # type: ignore[arg-type]


def test_resuming_an_empty_folder_says_there_is_nothing_to_resume(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        pretrain(["안녕"], tmp_path, PretrainConfig(SHAPES["tiny"]), resume=True)
