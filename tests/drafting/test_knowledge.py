"""The built knowledge bank: every file checked and stamped, answers ranked for a question."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from engage_stream.drafting.bank_file import BankError
from engage_stream.drafting.knowledge import (
    MANIFEST,
    SOURCE,
    VECTORS,
    KnowledgeBank,
    build_bank,
    rounded_scores,
)
from engage_stream.drafting.lexical import LexicalIndex, grams
from engage_stream.inference.model_folder import sha256_of
from tests.drafting.conftest import SHOP_BANK, TOPICS, HashEncoder


def test_the_build_writes_the_file_its_vectors_and_a_manifest_of_both(bank_dir: Path) -> None:
    manifest = json.loads((bank_dir / MANIFEST).read_text())
    assert set(manifest["sha256"]) == {SOURCE, VECTORS}
    assert manifest["sha256"][SOURCE] == sha256_of(SHOP_BANK)
    assert manifest["encoder"]["name"] == "hash-encoder"
    assert manifest["topics"] == list(TOPICS)
    vectors = np.load(bank_dir / VECTORS)
    assert vectors.shape == (manifest["rows"], manifest["dim"])


def test_the_stamp_is_the_manifest_s_sha256(bank: KnowledgeBank, bank_dir: Path) -> None:
    assert bank.stamp.name == "sample-shop"
    assert bank.stamp.sha256 == sha256_of(bank_dir / MANIFEST)


def test_a_file_changed_after_the_build_is_refused(bank_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "bank"
    shutil.copytree(bank_dir, copy)
    with (copy / SOURCE).open("a", encoding="utf-8") as handle:
        handle.write("\n# edited after the build\n")
    with pytest.raises(BankError, match="changed since the build"):
        KnowledgeBank.load(copy)


def test_a_folder_that_is_not_a_built_bank_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(BankError, match="engage-stream bank build"):
        KnowledgeBank.load(tmp_path)


def test_the_build_refuses_to_overwrite_a_folder_that_is_something_else(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(BankError, match="not a built bank"):
        build_bank(SHOP_BANK, tmp_path, topics=TOPICS, topic_model="t", encoder=HashEncoder())
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_lexical_only_bank_needs_no_encoder(tmp_path: Path) -> None:
    build_bank(SHOP_BANK, tmp_path / "lex", topics=TOPICS, topic_model="t", encoder=None)
    bank = KnowledgeBank.load(tmp_path / "lex")
    assert bank.encoder is None
    best = bank.rank("현금영수증 발급받고 싶어요")[0]
    assert best.answer.topic == "receipt"


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("배송비 얼마예요? 무료배송 기준도 알려주세요", "shipping_fee"),
        ("고객센터 몇시까지 해요?", "contact_hours"),
        ("비밀번호를 까먹었어요", "account"),
        ("쿠폰이 결제할때 적용이 안돼요", "coupon_points"),
    ],
)
def test_a_paraphrase_finds_an_answer_of_its_topic(
    bank: KnowledgeBank, question: str, topic: str
) -> None:
    assert bank.rank(question)[0].answer.topic == topic


def test_the_topic_model_s_label_lifts_answers_of_that_topic(bank: KnowledgeBank) -> None:
    question = "이거 언제 되는 거예요?"
    plain = {s.answer.id: s.score for s in bank.rank(question)}
    lifted = {s.answer.id: s.score for s in bank.rank(question, topic=("refund_status", 1.0))}
    refund = [a.id for a in bank.answers if a.topic == "refund_status"]
    assert all(lifted[i] > plain[i] for i in refund)
    assert bank.rank(question, topic=("refund_status", 1.0))[0].answer.topic == "refund_status"


def test_ranking_is_best_first_over_every_answer(bank: KnowledgeBank) -> None:
    ranked = bank.rank("반품하고 싶어요")
    assert len(ranked) == len(bank.answers)
    assert [s.score for s in ranked] == sorted((s.score for s in ranked), reverse=True)


def test_ranked_gives_the_answers_of_rank_one_at_a_time(bank: KnowledgeBank) -> None:
    question = "주문한 거 언제 와요"
    ranked = bank.ranked(question, topic=("delivery_status", 0.7), ordered=True)
    assert list(ranked) == bank.rank(question, topic=("delivery_status", 0.7), ordered=True)


def test_scores_are_rounded_as_python_rounds_them() -> None:
    rng = np.random.default_rng(5)
    near_halves = (np.arange(-20_000, 20_000) + 0.5) / 1e4
    scores = np.concatenate(
        [rng.uniform(-3, 3, 50_000), near_halves, near_halves + 1e-13, [0.0, -0.0, np.inf]]
    )
    got = rounded_scores(scores)
    wanted = [round(float(score), 4) for score in scores]
    assert [repr(x) for x in got] == [repr(x) for x in wanted]


def test_n_grams_ignore_spacing_and_punctuation() -> None:
    assert grams("배송 언제 와요?") == grams("배송언제와요")
    index = LexicalIndex(["배송 언제 와요", "환불은 언제 되나요"])
    scores = index.scores("배송언제와요??")
    assert scores[0] == pytest.approx(1.0)
    assert scores[1] < scores[0]
