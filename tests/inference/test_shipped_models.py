"""The models shipped in models/ load with the run-time engine and answer sensibly.

They are not retrained here: this checks the files in the repo, as the worker will use them.
"""

from __future__ import annotations

import json

import pytest

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.drafting.bank_file import load_bank_file
from engage_stream.inference.char_grams import GramsClassifier
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


@pytest.fixture(scope="module")
def topics() -> GramsClassifier:
    return GramsClassifier.load(MODELS / "topic-grams-ko")


def test_the_topic_model_serves_the_sample_shop_s_sixteen_topics(topics: GramsClassifier) -> None:
    bank = load_bank_file(PROJECT_ROOT / "data" / "sample-shop" / "knowledge-bank.yaml")
    assert len(topics.labels) == 16
    bank.check_topics(topics.labels, "topic-grams-ko")
    manifest = json.loads((MODELS / "topic-grams-ko" / "engage-model.json").read_text())
    assert manifest["training"]["validation"]["accuracy"] >= 0.9


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("택배 아직도 출발 안 했나요 벌써 나흘째예요", "delivery_status"),
        ("발볼이 좁아서 250으로 교환될까요", "exchange_request"),
        ("방금 결제한 거 취소 가능할까요?", "order_cancel"),
        ("무통장 입금했는데 결제 확인이 안 떠요", "payment"),
        ("품절된 베이지 색상 언제 다시 들어와요?", "restock"),
        ("받은 컵 손잡이에 금이 가 있어요", "defect_claim"),
    ],
)
def test_fresh_topic_questions_land_on_their_topic(
    topics: GramsClassifier, text: str, label: str
) -> None:
    (prediction,) = topics.predict([text])
    assert prediction.label == label
    assert prediction.model.name == "topic-grams-ko"


@pytest.mark.parametrize(
    "text", ["오늘 날씨 진짜 좋다", "주말에 같이 영화 보러 갈래?", "아 배고프다 점심 뭐 먹지"]
)
def test_small_talk_gets_no_shop_topic(topics: GramsClassifier, text: str) -> None:
    assert topics.predict([text])[0].label == "other"


def test_no_shipped_record_names_a_path_on_the_machine_that_made_it() -> None:
    records = [*MODELS.glob("*/engage-*.json"), *MODELS.glob("*/MODEL_CARD.md")]
    assert records
    for record in records:
        assert str(PROJECT_ROOT) not in record.read_text(encoding="utf-8"), record
