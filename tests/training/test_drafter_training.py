"""The drafter's training pieces: chrF, the split by question, the bank, the baselines,
and `engage-stream train drafter-ko` end to end on a tiny base (seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engage_stream.cli.app import app
from engage_stream.drafting.politeness import is_polite
from engage_stream.training.chrf import corpus_chrf, score_from, sentence_chrf, statistics
from engage_stream.training.corpora import QaPairs, load_chatbot
from engage_stream.training.drafter import (
    baselines,
    build_bank,
    most_frequent_answer,
    response_id,
    training_pairs,
)
from engage_stream.training.splits import question_key, split_pairs
from tests.tiny_models import tiny_models


def test_chrf_of_a_hand_computed_case() -> None:
    # 1-grams: hyp {가,나}, ref {가,나,다}: P 1, R 2/3. 2-grams: {가나} vs {가나,나다}: P 1, R 1/2.
    # No 3-grams in the hypothesis: orders 3-6 do not count. Mean P 1, mean R 7/12;
    # F2 = 5 * P * R / (4 * P + R) = (35/12) / (55/12) = 7/11.
    assert sentence_chrf("가나", "가나다") == pytest.approx(100 * 7 / 11)


def test_chrf_bounds_and_whitespace() -> None:
    assert sentence_chrf("맛있게 드세요.", "맛있게 드세요.") == pytest.approx(100)
    assert sentence_chrf("맛있게드세요.", "맛있게 드세요.") == pytest.approx(100)
    assert sentence_chrf("가나다", "라마바") == 0
    assert sentence_chrf("", "가나다") == 0


def test_corpus_chrf_sums_counts_before_dividing() -> None:
    hyps, refs = ["가나", "좋은 하루 보내세요."], ["가나다", "좋은 하루예요."]
    total = [
        a + b
        for a, b in zip(statistics(hyps[0], refs[0]), statistics(hyps[1], refs[1]), strict=False)
    ]
    assert corpus_chrf(hyps, refs) == pytest.approx(score_from(total))
    with pytest.raises(ValueError, match="1 hypotheses but 2 references"):
        corpus_chrf(["가"], refs)


def test_the_split_never_puts_a_question_on_both_sides() -> None:
    pairs = load_chatbot()
    data = split_pairs(pairs)
    train = {question_key(q) for q in data.train_questions}
    val = {question_key(q) for q in data.val_questions}
    assert not train & val
    assert len(data.train_questions) + len(data.val_questions) == len(pairs.questions)
    assert 0.08 < len(val) / (len(train) + len(val)) < 0.12
    assert split_pairs(pairs).val_questions == data.val_questions, "fixed seed"


def test_a_question_with_several_answers_keeps_them_on_one_side() -> None:
    pairs = QaPairs(
        questions=["배고파", "배고파.", "졸려", "심심해", "피곤해"] * 4,
        answers=[f"답 {i}이에요." for i in range(20)],
        topics=[0] * 20,
    )
    data = split_pairs(pairs, validation_fraction=0.25)
    keys = {question_key(q) for q in data.val_questions}
    assert len(keys) == 1
    (key,) = keys
    assert len(data.val_questions) == sum(question_key(q) == key for q in pairs.questions)
    assert key not in {question_key(q) for q in data.train_questions}


def test_the_bank_holds_distinct_polite_training_answers_with_their_questions() -> None:
    bank = build_bank(
        ["12시 땡!", "점심 먹자", "안녕", "배불러"],
        ["하루가 또 가네요.", "맛있게 드세요.", "안녕!", "맛있게 드세요."],
    )
    assert [e.text for e in bank] == ["맛있게 드세요.", "하루가 또 가네요."]
    assert bank[0].questions == ["점심 먹자", "배불러"]
    assert bank[0].id == response_id("맛있게 드세요.")
    assert bank[0].id.startswith("r")
    assert all(is_polite(e.text) for e in bank)


def test_most_frequent_answer_breaks_ties_by_text() -> None:
    assert most_frequent_answer(["나요.", "가요.", "나요.", "가요.", "다요."]) == "가요."


def test_pairs_of_one_answer_share_a_group() -> None:
    data = split_pairs(load_chatbot())
    pairs, groups = training_pairs(data, question_pairs=True)
    assert len(pairs) > len(data.train_questions), "question paraphrase pairs were added"
    answer_group = {a: groups[i] for i, a in enumerate(data.train_answers)}
    assert groups[0] == answer_group[data.train_answers[0]]


def test_the_baselines_are_scored_on_the_validation_split() -> None:
    data = split_pairs(load_chatbot())
    result = baselines(data)
    assert result["most_frequent"]["answer"] == most_frequent_answer(data.train_answers)
    assert result["tfidf_question"]["chrf"] > result["most_frequent"]["chrf"]


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random BERT of the export tests: a base folder like `pretrain` writes."""
    return tiny_models(tmp_path_factory).hf_encoder


def test_train_drafter_ko_measures_every_variant_and_ships_a_loadable_folder(
    tiny_base: Path, tmp_path: Path
) -> None:
    from engage_stream.drafting import Drafter

    ship = tmp_path / "models" / "drafter-ko"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "drafter-ko",
            "--base",
            str(tiny_base),
            "--out",
            str(tmp_path / "hf"),
            "--ship",
            str(ship),
            "--epochs",
            "1",
            "--limit",
            "300",
            "--version",
            "0.0.1-test",
        ],
    )
    assert result.exit_code == 0, result.output
    train = json.loads((tmp_path / "hf" / "engage-train.json").read_text())
    assert train["task"] == "feature-extraction"
    assert {
        "most_frequent",
        "tfidf_question",
        "base_question",
        "encoder_question",
        "encoder_answer",
        "encoder_both",
    } <= set(train["validation"])
    manifest = json.loads((ship / "drafter.json").read_text())
    assert manifest["precision"] == "int8"
    assert manifest["index_by"] == train["drafter"]["index_by"]
    assert sorted(p.name for p in ship.glob("*.onnx")) == ["model.int8.onnx"]
    card = (ship / "MODEL_CARD.md").read_text()
    assert "MIT" in card
    assert "github.com/songys/Chatbot_data" in card
    assert "most frequent training answer (baseline)" in card
    assert train["command"] in card
    with Drafter.load(ship, device="cpu") as drafter:
        assert drafter.draft("배송이 언제 오나요?").text
