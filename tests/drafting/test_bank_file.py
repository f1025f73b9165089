"""The shop's knowledge bank file: the sample shop's is valid; a bad answer is refused by
its id, with what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engage_stream.drafting.bank_file import BankError, load_bank_file
from engage_stream.drafting.politeness import is_polite
from tests.drafting.conftest import SHOP_BANK, TOPICS


def test_the_sample_shop_bank_is_valid_and_covers_every_topic() -> None:
    bank = load_bank_file(SHOP_BANK, TOPICS)
    assert len(bank.answers) >= 120
    assert bank.topics == set(TOPICS)
    per_topic = {t: sum(a.topic == t for a in bank.answers) for t in TOPICS}
    assert min(per_topic.values()) >= 5
    assert len(bank.sha256) == 64


def test_no_defect_claim_answer_goes_out_without_a_person() -> None:
    bank = load_bank_file(SHOP_BANK)
    claims = [a for a in bank.answers if a.topic == "defect_claim"]
    assert claims
    assert not any(a.auto_send for a in claims)


def test_the_bank_names_neither_the_shop_nor_its_phone_literally() -> None:
    """Both come from the policy's sender at run time, so bank and policy cannot disagree."""
    bank = load_bank_file(SHOP_BANK)
    for answer in bank.answers:
        assert "1588-0000" not in answer.text.source
        assert "engage-stream 샵" not in answer.text.source


def _edited(tmp_path: Path, change: Any) -> Path:
    document = yaml.safe_load(SHOP_BANK.read_text(encoding="utf-8"))
    change(document)
    path = tmp_path / "bank.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def _first_answer(document: dict[str, Any], **changes: Any) -> None:
    document["answers"][0].update(changes)


def _refused(path: Path, topics: tuple[str, ...] | None = None) -> list[str]:
    with pytest.raises(BankError) as caught:
        load_bank_file(path, topics)
    return caught.value.problems


def test_an_impolite_answer_is_refused_naming_the_answer(tmp_path: Path) -> None:
    path = _edited(tmp_path, lambda d: _first_answer(d, answer="내일 보내줌. 기다려."))
    problems = _refused(path)
    assert any(p.startswith("answer delivery_status.not_shipped:") for p in problems)
    assert any("does not end politely" in p and "기다려" in p for p in problems)


def test_an_unknown_field_is_refused_naming_the_answer_and_the_field(tmp_path: Path) -> None:
    path = _edited(tmp_path, lambda d: _first_answer(d, answer="{delivery_date}에 보내 드려요."))
    (problem,) = _refused(path)
    assert problem.startswith("answer delivery_status.not_shipped: unknown fields")
    assert "delivery_date" in problem


def test_an_order_field_needs_the_answer_to_speak_of_an_order_in_that_state(
    tmp_path: Path,
) -> None:
    """{tracking_number} exists only for a shipped or delivered order."""
    answer = "송장번호는 {tracking_number}이에요."
    path = _edited(tmp_path, lambda d: _first_answer(d, order="placed", answer=answer))
    (problem,) = _refused(path)
    assert "tracking_number" in problem
    assert "order: placed" in problem


def test_a_repeated_id_is_refused(tmp_path: Path) -> None:
    def repeat(document: dict[str, Any]) -> None:
        document["answers"][1]["id"] = document["answers"][0]["id"]

    problems = _refused(_edited(tmp_path, repeat))
    assert any("used twice" in p for p in problems)


def test_a_malformed_field_is_refused_naming_the_answer(tmp_path: Path) -> None:
    path = _edited(tmp_path, lambda d: _first_answer(d, answer="[{eta} 도착 예정이에요."))
    (problem,) = _refused(path)
    assert problem.startswith("answer delivery_status.not_shipped:")
    assert "without ']'" in problem


def test_a_missing_key_is_refused_by_the_answer_id(tmp_path: Path) -> None:
    path = _edited(tmp_path, lambda d: d["answers"][2].pop("questions"))
    (problem,) = _refused(path)
    assert problem.endswith("questions: Field required")
    assert problem.startswith("answer ")


def test_a_topic_the_topic_model_does_not_have_is_refused(tmp_path: Path) -> None:
    problems = _refused(SHOP_BANK, tuple(t for t in TOPICS if t != "restock"))
    assert "restock" in problems[0]


def test_an_impolite_reply_frame_is_refused(tmp_path: Path) -> None:
    def rude(document: dict[str, Any]) -> None:
        document["replies"]["closing"] = ["또 물어봐."]

    problems = _refused(_edited(tmp_path, rude))
    assert any(p.startswith("replies.closing:") for p in problems)


def test_every_example_question_and_title_is_text_and_every_sentence_polite() -> None:
    bank = load_bank_file(SHOP_BANK)
    for answer in bank.answers:
        assert all(q.strip() for q in answer.questions)
        assert answer.title.strip()
        assert is_polite(answer.text.source.replace("[", "").replace("]", ""))


def test_a_missing_or_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BankError, match="cannot read"):
        load_bank_file(tmp_path / "none.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("answers: [", encoding="utf-8")
    with pytest.raises(BankError, match="not readable YAML"):
        load_bank_file(broken)
