"""`train topic-grams-ko`: a character n-gram topic model fitted on the shop's messages,
served by numpy exactly as scikit-learn scored it, with its card and check numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from engage_stream.cli.app import app
from engage_stream.inference.char_grams import GRAMS_FILE, GramsClassifier
from engage_stream.inference.model_folder import MANIFEST
from engage_stream.training.char_grams import PARITY_LIMIT, GramsConfig, fit_grams
from engage_stream.training.recipes import SAMPLE_CHECK, SAMPLE_TOPICS, load_topics
from engage_stream.training.splits import split
from tests.training.tiny_runs import first


def test_the_fit_is_served_as_scikit_learn_scores_it_and_learns_the_topics() -> None:
    corpus = load_topics(SAMPLE_TOPICS)
    data = first(split(corpus), 600)
    result = fit_grams(corpus, data, GramsConfig(c_grid=(1.0, 10.0)))
    assert result.parity <= PARITY_LIMIT
    assert [run["C"] for run in result.grid] == [1.0, 10.0]
    assert result.c == max(result.grid, key=lambda run: run["accuracy"])["C"]
    # 16 topics (chance 0.06), 600 training messages: far from chance, short of the full fit.
    assert result.validation["accuracy"] > 0.6
    assert result.model.weights.shape == (len(result.model.vocabulary), len(corpus.label_names))
    assert np.isfinite(result.model.weights).all()


def _lines(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text(
        "".join(json.dumps({"text": t, "label": lb}, ensure_ascii=False) + "\n" for t, lb in rows)
    )
    return path


def test_the_train_command_writes_a_served_folder_with_its_card(
    corpora: Path, tmp_path: Path
) -> None:
    out = tmp_path / "topic-grams-ko"
    args = ["train", "topic-grams-ko", "--out", str(out), "--limit", "500", "--version", "t1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / MANIFEST).read_text())
    training = manifest["training"]
    assert manifest["task"] == "char-ngram-classification"
    assert training["data"]["bank_examples"]["added"] > 100
    assert training["check"]["file"] == "data/sample-shop/topic-check.jsonl"
    assert {"model", "baseline"} <= set(training["check"])
    assert (
        training["command"]
        == f"engage-stream train topic-grams-ko --out {out} --limit 500 --version t1"
    )
    card = (out / "MODEL_CARD.md").read_text()
    assert "TF-IDF + SVM, check" in card
    assert training["command"] in card
    model = GramsClassifier.load(out)
    assert model.stamp.version == "t1"
    assert model.stamp.sha256 == manifest["sha256"][GRAMS_FILE]
    (refund,) = model.predict(["환불 언제 들어오나요"])
    assert refund.label == "refund_status"
    # Everyday utterances (3i4K) were learnt as `other`; held-out ones mostly stay there,
    # where the baseline, which never saw any, puts most of them on a shop topic.
    everyday = training["background"]
    assert everyday["label"] == "other"
    assert everyday["texts"] == 2000
    assert everyday["held_out"]["share_given_label"] > 0.9
    assert everyday["held_out"]["baseline_share_given_label"] < 0.6
    assert "Everyday utterances: 2000" in card


def test_the_command_takes_a_shop_s_own_labels_and_refuses_an_encoder(tmp_path: Path) -> None:
    rows = [(f"배송 {i}번 언제 와요", "배송") for i in range(12)]
    rows += [(f"환불 {i}번 언제 돼요", "환불") for i in range(12)]
    data = _lines(tmp_path / "mine.jsonl", rows)
    out = tmp_path / "mine"
    args = ["train", "topic-grams-ko", "--data", str(data), "--no-bank", "--check", str(data)]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert GramsClassifier.load(out).labels == ("배송", "환불")
    # No `other` topic to learn small talk as: none is learnt, and the command says so.
    assert json.loads((out / MANIFEST).read_text())["training"]["background"] is None
    assert "no everyday utterances learnt" in result.output
    refused = CliRunner().invoke(app, [*args, "--out", str(out), "--base", str(tmp_path)])
    assert refused.exit_code == 2
    assert "encoder" in refused.output
    wrong = _lines(tmp_path / "other.jsonl", [("교환 돼요", "교환"), ("배송", "배송")])
    failed = CliRunner().invoke(app, [*args[:-1], str(wrong), "--out", str(out)])
    assert failed.exit_code == 1
    assert "교환" in failed.output


def test_the_sample_check_file_uses_the_training_topics() -> None:
    assert set(load_topics(SAMPLE_CHECK).label_names) <= set(load_topics(SAMPLE_TOPICS).label_names)


def test_without_the_public_corpora_the_shop_s_topics_still_train(tmp_path: Path) -> None:
    out = tmp_path / "topic-grams-ko"
    args = ["train", "topic-grams-ko", "--out", str(out), "--limit", "300"]
    result = CliRunner().invoke(app, [*args, "--data-dir", str(tmp_path / "no-corpora")])
    assert result.exit_code == 0, result.output
    assert "no everyday utterances learnt" in result.output
    assert "no-corpora" in result.output
    assert json.loads((out / MANIFEST).read_text())["training"]["background"] is None
