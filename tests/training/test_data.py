"""The corpora load as documented and the validation split is fixed, stratified and clean."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from engage_stream.training.corpora import (
    INTENT_LABELS,
    TOXICITY_LABELS,
    Corpus,
    CorpusError,
    load_chatbot,
    load_intent,
    load_toxicity,
)
from engage_stream.training.metrics import classification_metrics
from engage_stream.training.splits import split


def test_the_corpora_have_the_documented_sizes_and_labels(corpora: Path) -> None:
    intent, toxicity, chatbot = load_intent(), load_toxicity(), load_chatbot()
    # 55,133 newlines and no final one: 55,134 rows (the data README says 55,133).
    assert len(intent.texts) == 55_134
    assert set(intent.labels) == set(range(len(INTENT_LABELS)))
    assert len(toxicity.texts) == 7_896
    assert Counter(toxicity.labels) == {0: 3_486, 1: 2_499, 2: 1_911}
    assert toxicity.label_names == TOXICITY_LABELS
    assert len(chatbot.questions) == len(chatbot.answers) == 10_575


def test_a_missing_data_dir_names_the_file(tmp_path: object) -> None:
    with pytest.raises(CorpusError, match=r"3i4k/train\.tsv not found"):
        load_intent(tmp_path)  # type: ignore[arg-type]


def test_the_split_is_reproducible_stratified_and_never_leaks_a_text(corpora: Path) -> None:
    corpus = load_intent()
    first, second = split(corpus), split(corpus)
    assert first == second
    assert not set(first.train_texts) & set(first.val_texts)
    assert len(first.train_texts) + len(first.val_texts) + first.dropped_duplicates == len(
        corpus.texts
    )
    train_share = Counter(first.train_labels)
    val_share = Counter(first.val_labels)
    for label in range(len(INTENT_LABELS)):
        fraction = val_share[label] / (val_share[label] + train_share[label])
        assert 0.09 < fraction < 0.11


def test_another_seed_gives_another_split(corpora: Path) -> None:
    corpus = load_toxicity()
    assert split(corpus, seed=1).val_texts != split(corpus, seed=2).val_texts


def test_duplicates_keep_their_majority_label() -> None:
    corpus = Corpus("toy", ["a", "a", "a", "b", "c", "d"], [1, 1, 0, 0, 1, 0], ("x", "y"), "-", "-")
    data = split(corpus, validation_fraction=0.5, seed=3)
    labelled = dict(
        zip(data.train_texts + data.val_texts, data.train_labels + data.val_labels, strict=True)
    )
    assert labelled["a"] == 1
    assert data.dropped_duplicates == 2


def test_metrics_match_a_hand_computed_example() -> None:
    gold = [0, 0, 1, 1, 2, 2]
    predicted = [0, 1, 1, 1, 2, 0]
    m = classification_metrics(gold, predicted, ("a", "b", "c"))
    assert m.accuracy == pytest.approx(4 / 6)
    assert m.per_class_f1 == pytest.approx({"a": 0.5, "b": 0.8, "c": 2 / 3})
    assert m.macro_f1 == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert m.confusion == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_the_data_folder_is_the_setting_else_the_team_s_folder_else_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engage_stream.config import data_dir, load_settings
    from engage_stream.config import settings as settings_module

    monkeypatch.delenv("ENGAGE_DATA_DIR", raising=False)
    team = tmp_path / "shared" / "data"
    monkeypatch.setattr(settings_module, "TEAM_DATA_DIR", team)
    assert data_dir() is None
    assert load_settings().data_dir is None
    team.mkdir(parents=True)
    assert data_dir() == team
    assert load_settings().data_dir == team
    monkeypatch.setenv("ENGAGE_DATA_DIR", str(tmp_path / "mine"))
    assert data_dir() == tmp_path / "mine"
    assert load_settings().data_dir == tmp_path / "mine"


def test_a_loader_with_no_folder_given_reads_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGAGE_DATA_DIR", str(tmp_path))
    with pytest.raises(CorpusError, match="ENGAGE_DATA_DIR") as caught:
        load_toxicity()
    assert str(tmp_path / "hatespeech" / "train.tsv") in str(caught.value)
    (tmp_path / "3i4k").mkdir()
    (tmp_path / "3i4k" / "train.tsv").write_text("2\t배송 언제 와요\n0\t네\n", encoding="utf-8")
    assert load_intent().texts == ["배송 언제 와요", "네"]
