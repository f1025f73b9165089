"""A shop's own topics: its labelled file, its bank's example questions, the topic-ko and
multihead-ko train commands on tiny runs, and the multi-head export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engage_stream.export import export_model
from engage_stream.inference.heads import open_groups
from engage_stream.inference.model_folder import load_model_folder
from engage_stream.training.corpora import CorpusError, load_labelled
from engage_stream.training.recipes import SAMPLE_BANK, SAMPLE_TOPICS, bank_examples
from engage_stream.training.splits import split, with_extra
from tests.training.tiny_runs import run_train

TOPICS = (
    "account",
    "contact_hours",
    "coupon_points",
    "defect_claim",
    "delivery_address",
    "delivery_status",
    "exchange_request",
    "order_cancel",
    "other",
    "payment",
    "product_info",
    "receipt",
    "refund_status",
    "restock",
    "return_request",
    "shipping_fee",
)


def test_the_sample_shop_s_messages_cover_every_topic_in_many_registers() -> None:
    corpus = load_labelled(SAMPLE_TOPICS)
    assert corpus.label_names == TOPICS
    assert len(corpus.texts) >= 1_500
    counts = {name: corpus.labels.count(i) for i, name in enumerate(TOPICS)}
    assert min(counts.values()) >= 80
    texts = corpus.texts
    assert len(set(texts)) == len(texts)
    assert sum("\n" in t for t in texts) > 300, "e-mails: subject and body"
    assert sum(" " not in t.strip() and len(t) >= 6 for t in texts) >= 15, "no spaces"
    assert sum("ㅠ" in t or "ㅋ" in t for t in texts) > 50
    assert sum("ORD-" in t or "주문번호" in t for t in texts) > 30


@pytest.mark.parametrize(
    ("content", "suffix", "problem"),
    [
        ('{"text": "배송 언제 와요", "label": "delivery"}\nnot json\n', ".jsonl", ":2: not JSON"),
        ('{"text": "", "label": "delivery"}\n', ".jsonl", ":1: text missing"),
        ("text,topic\n배송,delivery\n", ".csv", "needs `text` and `label`"),
        ('{"text": "배송", "label": "delivery"}\n', ".jsonl", "at least two labels"),
    ],
)
def test_a_bad_labelled_file_names_the_line(
    tmp_path: Path, content: str, suffix: str, problem: str
) -> None:
    path = tmp_path / f"mine{suffix}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CorpusError, match=problem):
        load_labelled(path)


def test_a_csv_file_loads_like_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("text,label\n배송 언제 와요,배송\n환불 언제 돼요,환불\n", encoding="utf-8")
    corpus = load_labelled(path)
    assert corpus.label_names == ("배송", "환불")
    assert corpus.texts == ["배송 언제 와요", "환불 언제 돼요"]


def test_bank_questions_join_the_training_side_only() -> None:
    corpus = load_labelled(SAMPLE_TOPICS)
    data = split(corpus)
    texts, labels = bank_examples(SAMPLE_BANK, corpus.label_names)
    assert len(texts) >= 600
    leak = data.val_texts[0]
    more, added = with_extra(data, [*texts, leak], [*labels, data.val_labels[0]])
    assert added == len(texts)
    assert leak not in more.train_texts[len(data.train_texts) :]
    assert more.val_texts == data.val_texts


def test_train_topic_ko_on_the_shop_s_file_and_bank(shop_pretrained: Path, tmp_path: Path) -> None:
    out = tmp_path / "topic-ko"
    run_train("topic-ko", shop_pretrained, out, "--limit", "300")
    manifest = json.loads((out / "engage-train.json").read_text())
    assert manifest["labels"] == list(TOPICS)
    assert manifest["data"]["licence"] == "Apache-2.0"
    assert manifest["data"]["bank_examples"]["added"] >= 600
    assert manifest["baseline"]["method"] == "tfidf-char-svm"
    assert manifest["split"]["validation"] > 150


def test_train_multihead_ko_and_export_serve_every_head(
    tiny_pretrained: Path, tmp_path: Path
) -> None:
    hf = tmp_path / "multihead-ko"
    run_train("multihead-ko", tiny_pretrained, hf, "--limit", "200")
    manifest = json.loads((hf / "engage-train.json").read_text())
    assert [h["name"] for h in manifest["heads"]] == ["intent", "toxicity", "topic", "embedding"]
    topic = manifest["heads"][2]
    assert topic["labels"] == list(TOPICS)
    assert topic["data"]["bank_examples"]["added"] >= 600
    assert manifest["heads"][0]["teacher"]["name"] == "intent-ko"
    assert manifest["heads"][0]["taught_texts"] > 0
    folder = tmp_path / "models" / "multihead-ko"
    report = export_model(hf, folder)
    assert report.parity.fp32_max_abs_diff < 1e-3
    loaded = load_model_folder(folder)
    assert loaded.head("topic").labels == TOPICS
    (group,) = open_groups({r: folder for r in ("intent", "toxicity", "topic")}, device="cpu")
    predicted = group.predict(["주문한 패딩 언제 와요?"])
    group.close()
    assert predicted["topic"][0].label in TOPICS
    card = (folder / "MODEL_CARD.md").read_text()
    assert "### topic" in card
    assert "CC-BY-SA-4.0" in card
