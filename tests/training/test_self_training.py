"""Self-training: teachers label unlabelled text, and the model learns from both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from engage_stream.training.classifier import FinetuneConfig, SoftLabelled, finetune
from engage_stream.training.corpora import Corpus
from engage_stream.training.model_card import render
from engage_stream.training.self_training import unlabelled_texts
from tests.training.tiny_runs import first, intent_split, run_train

TINY = FinetuneConfig(epochs=1, learning_rate=1e-3)


def test_a_one_hot_soft_label_trains_exactly_as_the_gold_label(
    tiny_pretrained: Path, tmp_path: Path
) -> None:
    corpus, data = intent_split(600, 300)
    # The same texts in the same order: 100 with gold labels, 500 with their gold label
    # as a teacher's certainty. Batches and losses are then the same as all-gold.
    few = first(data, 100)
    oracle = SoftLabelled(
        data.train_texts[100:],
        [[float(k == label) for k in range(7)] for label in data.train_labels[100:]],
    )
    finetune(corpus, data, tiny_pretrained, tmp_path / "gold", TINY)
    finetune(corpus, few, tiny_pretrained, tmp_path / "taught", TINY, oracle)
    gold = load_file(tmp_path / "gold" / "model.safetensors")
    taught = load_file(tmp_path / "taught" / "model.safetensors")
    assert gold.keys() == taught.keys()
    for name, weights in gold.items():
        assert torch.allclose(taught[name], weights, atol=1e-6), name
    initial = load_file(tiny_pretrained / "model.safetensors")
    moved = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.allclose(gold[moved], initial[moved]), "it trained"


def test_unlabelled_texts_leave_out_labelled_texts_blanks_and_repeats() -> None:
    corpus = Corpus("c", ["이미 라벨 있음", "b"], [0, 1], ("x", "y"), "MIT", "here")
    texts = unlabelled_texts(["새 댓글", "", "이미 라벨 있음", "새 댓글", "또 다른 댓글"], corpus)
    assert texts == sorted(["새 댓글", "또 다른 댓글"])


@pytest.fixture(scope="module")
def self_trained(tiny_pretrained: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("self") / "toxicity"
    run_train("toxicity-ko", tiny_pretrained, out, "--limit", "300", "--teachers", "2")
    return out


def test_the_toxicity_recipe_trains_teachers_then_the_model_on_both(self_trained: Path) -> None:
    manifest = json.loads((self_trained / "engage-train.json").read_text())
    plan = manifest["self_training"]
    assert [t["seed"] for t in plan["teachers"]] == [20261127, 20261128]
    for teacher in plan["teachers"]:
        assert (Path(teacher["folder"]) / "model.safetensors").is_file()
    assert 0 < plan["unlabelled_texts"] <= 300
    assert {"accuracy", "macro_f1"} <= set(plan["teacher_ensemble"])
    assert manifest["command"].endswith("--teachers 2")
    assert (self_trained / "model.safetensors").is_file()


def test_the_card_says_how_the_unlabelled_text_was_used(self_trained: Path) -> None:
    card = render(self_trained, {"model.int8.onnx": 2_500_000}, [])
    assert "Self-training: 2 teachers fine-tuned on the labelled data only" in card
    assert "unlabelled comments" in card


def test_no_teachers_trains_on_the_labelled_data_only(
    tiny_pretrained: Path, tmp_path: Path
) -> None:
    run_train("toxicity-ko", tiny_pretrained, tmp_path, "--limit", "200", "--teachers", "0")
    assert "self_training" not in json.loads((tmp_path / "engage-train.json").read_text())
    assert not list(tmp_path.parent.glob(f"{tmp_path.name}-teacher-*"))
