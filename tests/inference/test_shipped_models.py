"""The models shipped in models/ load with the run-time engine and answer sensibly.

They are not retrained here: this checks the files in the repo, as the worker will use them.
"""

from __future__ import annotations

import json

import pytest

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.inference.classifier import Classifier

MODELS = PROJECT_ROOT / "models"
INTENT_LABELS = [
    "fragment",
    "statement",
    "question",
    "command",
    "rhetorical_question",
    "rhetorical_command",
    "intonation_dependent",
]


@pytest.fixture(scope="module")
def intent() -> Classifier:
    return Classifier.load(MODELS / "intent-ko", device="cpu")


@pytest.fixture(scope="module")
def toxicity() -> Classifier:
    return Classifier.load(MODELS / "toxicity-ko", device="cpu")


def test_label_names_are_the_documented_ones(intent: Classifier, toxicity: Classifier) -> None:
    assert list(intent.labels) == INTENT_LABELS
    assert list(toxicity.labels) == ["none", "offensive", "hate"]


def test_predictions_are_stamped_with_the_shipped_file(intent: Classifier) -> None:
    manifest = json.loads((MODELS / "intent-ko" / "engage-model.json").read_text())
    (prediction,) = intent.predict(["배송이 언제 오나요?"])
    assert prediction.model.name == "intent-ko"
    assert prediction.model.sha256 == manifest["sha256"]["model.int8.onnx"]


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("배송이 언제 오나요?", "question"),
        ("환불은 어떻게 받을 수 있나요?", "question"),
        ("상담원 연결해 주세요", "command"),
        ("주문 취소해 주세요", "command"),
        ("어제 주문했습니다.", "statement"),
        # A bare -어요 is a statement or a question by intonation alone: 3i4K's own class.
        ("어제 주문했어요", "intonation_dependent"),
    ],
)
def test_clear_speech_acts_are_recognised(intent: Classifier, text: str, label: str) -> None:
    assert intent.predict([text])[0].label == label


def test_polite_thanks_is_not_toxic_and_abuse_is(toxicity: Classifier) -> None:
    polite, abusive = toxicity.predict(["감사합니다 좋은 하루 되세요", "야 이 미친 새끼야 꺼져"])
    assert polite.label == "none"
    assert abusive.label in {"offensive", "hate"}
