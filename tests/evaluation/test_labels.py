"""Labels: a JSON-lines file validated line by line; errors name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from engage_stream.evaluation.labels import LabelsError, load_labels_file
from tests.evaluation.builders import write_labels


def test_labels_load_with_every_field_but_the_id_optional(tmp_path: Path) -> None:
    path = write_labels(
        tmp_path / "labels.jsonl",
        [
            {"event_id": "E1", "intent": "question", "toxicity": "none", "handoff_needed": False},
            {"event_id": "E2", "email_opened": True, "email_converted": False},
            {"event_id": "E1", "intent": "command"},  # a later correction wins
        ],
    )
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n   \n")  # blank lines are fine

    labels = load_labels_file(path)

    assert len(labels) == 2
    assert labels.documents == 3
    e1 = labels.get("E1")
    assert e1 is not None
    assert e1.intent == "command"
    assert e1.toxicity is None
    assert labels.count("email_opened") == 1
    assert labels.get("E3") is None


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not JSON"),
        ('["E1"]', "a label is a JSON object"),
        ('{"intent": "question"}', "event_id: Field required"),
        ('{"event_id": "E1", "topic": ""}', "topic: String should have at least 1 character"),
        ('{"event_id": "E1", "answer_id": 7}', "answer_id: Input should be a valid string"),
        (
            '{"event_id": "E1", "handoff_needed": "yes"}',
            "handoff_needed: Input should be a valid boolean",
        ),
        (
            '{"event_id": "E1", "handoff_need": true}',
            "handoff_need: Extra inputs are not permitted",
        ),
        ('{"event_id": "E 1"}', "event_id: String should match pattern"),
    ],
)
def test_a_bad_line_is_an_error_naming_its_number(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text('{"event_id": "E0", "intent": "question"}\n' + line + "\n", encoding="utf-8")

    with pytest.raises(LabelsError) as caught:
        load_labels_file(path)

    message = str(caught.value)
    assert message.startswith(f"{path}, line 2: ")
    assert problem in message


def test_a_missing_or_empty_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LabelsError, match="does not exist"):
        load_labels_file(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(LabelsError, match="holds no labels"):
        load_labels_file(tmp_path / "empty.jsonl")


def test_topic_and_answer_labels_tell_no_label_from_no_answer(tmp_path: Path) -> None:
    path = write_labels(
        tmp_path / "labels.jsonl",
        [
            {"event_id": "E1", "topic": "delivery_status", "answer_id": "delivery_status.shipped"},
            {"event_id": "E2", "topic": "payment", "answer_id": None},
            {"event_id": "E3", "topic": "payment"},
        ],
    )
    labels = load_labels_file(path)
    e1, e2, e3 = (labels.get(i) for i in ("E1", "E2", "E3"))
    assert e1 is not None
    assert e2 is not None
    assert e3 is not None
    assert (e1.judges_answer, e1.answer_id) == (True, "delivery_status.shipped")
    assert (e2.judges_answer, e2.answer_id) == (True, None), "null: no bank answer fits"
    assert (e3.judges_answer, e3.answer_id) == (False, None), "left out: not judged"
    assert labels.count("topic") == 3


def test_label_names_are_checked_against_a_model_s_names(tmp_path: Path) -> None:
    """The file takes any names (a shop's own taxonomy); `eval` checks them against the
    heads' manifests with `unknown`."""
    path = write_labels(
        tmp_path / "labels.jsonl",
        [
            {"event_id": "E1", "intent": "greeting", "topic": "배송"},
            {"event_id": "E2", "intent": "question", "topic": "환불"},
        ],
    )
    labels = load_labels_file(path)
    assert labels.unknown("intent", ("question", "command")) == ["greeting"]
    assert labels.unknown("topic", ("배송", "환불")) == []
