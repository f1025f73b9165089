"""Tiny Korean models for the export and inference tests, built once per test session.

A WordPiece tokenizer trained by `tokenizers` on real 3i4K lines and a random 2-layer,
hidden-32 BERT: seconds to build and export, yet the very files and code paths of a
shipped model. Needs the export extra and the 3i4K corpus (`ENGAGE_DATA_DIR`, else
../shared/data); where they are missing the tests skip with the reason, except under
CI=true, where that is a failure.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from engage_stream.config.data_dir import data_dir
from engage_stream.config.settings import TEAM_DATA_DIR
from engage_stream.training.corpora import INTENT_LABELS
from engage_stream.training.tokenizer import build_wordpiece

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

    from engage_stream.export import ExportReport

DATA = data_dir() or TEAM_DATA_DIR
INTENT_TSV = DATA / "3i4k" / "train.tsv"
LABELS = INTENT_LABELS
MAX_LENGTH = 64


@dataclass(frozen=True)
class TinyModels:
    hf_classifier: Path
    """Hugging Face folder as training writes it (with engage-train.json)."""
    classifier: Path
    """`export_model(hf_classifier, ...)`: our model folder."""
    classifier_report: ExportReport
    plain_export: Path
    """optimum's own export and quantisation of the same weights, no manifest."""
    hf_encoder: Path
    embedder: Path
    hf_multihead: Path
    """A multi-head HF folder as `train multihead-ko` writes it (encoder + heads.safetensors)."""
    multihead: Path
    """`export_model(hf_multihead, ...)`: intent, toxicity and topic heads and an embedding."""
    grams: Path
    """A character n-gram topic folder (`topic-grams-tiny`) with the multi-head's topics."""
    build_seconds: float


def korean_lines(count: int, offset: int = 50) -> list[str]:
    """Every 100th line of 3i4K from `offset` (the file is sorted by label: this spreads
    them). The tokenizer trains on offset 0, so the default offset is held out from it."""
    lines = INTENT_TSV.read_text(encoding="utf-8").splitlines()
    texts = [line.split("\t", 1)[1] for line in lines[offset::100] if "\t" in line]
    return texts[:count]


def _require(condition: bool, problem: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"model tests cannot run in CI: {problem}")
    pytest.skip(f"model tests skipped: {problem}")


_built: dict[Path, TinyModels] = {}


def tiny_models(factory: pytest.TempPathFactory) -> TinyModels:
    """Built at the first request of the session; every later request gets the same."""
    _require(INTENT_TSV.is_file(), f"no 3i4K data at {INTENT_TSV}")
    _require(
        importlib.util.find_spec("torch") is not None
        and importlib.util.find_spec("optimum") is not None,
        "the export extra (torch, transformers, optimum) is not installed",
    )
    key = factory.getbasetemp()
    if key not in _built:
        _built[key] = _build(factory.mktemp("tiny-models"))
    return _built[key]


def _build(root: Path) -> TinyModels:
    from optimum.exporters.onnx import main_export
    from optimum.onnxruntime import ORTQuantizer
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    from engage_stream.export import export_model

    started = time.perf_counter()
    tokenizer = _tokenizer(korean_lines(600, offset=0))
    hf_classifier = _save_bert(root / "hf-intent", tokenizer, labels=LABELS, name="intent-tiny")
    hf_encoder = _save_bert(root / "hf-encoder", tokenizer, labels=(), name="encoder-tiny")
    classifier = root / "models" / "intent-tiny"
    report = export_model(hf_classifier, classifier)
    embedder = root / "models" / "encoder-tiny"
    export_model(hf_encoder, embedder)
    hf_multihead = _save_multihead(root / "hf-multihead", hf_encoder, tokenizer)
    multihead = root / "models" / "multihead-tiny"
    export_model(hf_multihead, multihead)
    grams = _save_grams(root / "models" / "topic-grams-tiny")

    plain = root / "optimum-export"
    with warnings.catch_warnings():  # the tracer's, about code that is fine for BERT
        warnings.simplefilter("ignore")
        main_export(str(hf_classifier), plain, task="text-classification", do_validation=False)
    ORTQuantizer.from_pretrained(plain, file_name="model.onnx").quantize(
        AutoQuantizationConfig.avx512_vnni(is_static=False, per_channel=False), save_dir=plain
    )
    return TinyModels(
        hf_classifier=hf_classifier,
        classifier=classifier,
        classifier_report=report,
        plain_export=plain,
        hf_encoder=hf_encoder,
        embedder=embedder,
        hf_multihead=hf_multihead,
        multihead=multihead,
        grams=grams,
        build_seconds=round(time.perf_counter() - started, 2),
    )


def _tokenizer(texts: list[str]) -> PreTrainedTokenizerFast:
    tokenizer: PreTrainedTokenizerFast = build_wordpiece(texts, 1_000, MAX_LENGTH)
    return tokenizer


TOPIC_LABELS = ("delivery_status", "refund_status", "other")
TOXICITY = ("none", "offensive", "hate")


def _save_grams(folder: Path) -> Path:
    """Fitted as `train topic-grams-ko` fits, on a few lines per topic."""
    from engage_stream.training.char_grams import GramsConfig, train_grams
    from engage_stream.training.corpora import Corpus
    from engage_stream.training.splits import split

    lines = {
        "delivery_status": ["배송 언제 와요", "택배 아직 안 왔어요", "송장 조회가 안 돼요"],
        "refund_status": ["환불 언제 돼요", "환불금이 안 들어왔어요", "카드 취소 확인 부탁"],
        "other": ["감사합니다", "안녕하세요", "수고하세요"],
    }
    texts = [f"{text} {n}" for texts in lines.values() for text in texts for n in range(4)]
    labels = [i for i, texts in enumerate(lines.values()) for _ in texts for _ in range(4)]
    corpus = Corpus("tiny-topics", texts, labels, TOPIC_LABELS, "Apache-2.0", "tiny")
    assert tuple(lines) == TOPIC_LABELS
    train_grams(
        corpus,
        split(corpus),
        folder,
        name="topic-grams-tiny",
        version="2026.12.01",
        config=GramsConfig(c_grid=(10.0,)),
        purpose="tests",
        data_record={"corpus": "tiny-topics", "source": "tiny", "licence": "Apache-2.0"},
        command="tests/tiny_models.py",
    )
    return folder


def _save_multihead(folder: Path, encoder: Path, tokenizer: PreTrainedTokenizerFast) -> Path:
    import torch

    from engage_stream.training.multihead import build_model, save_model

    labels = {"intent": LABELS, "toxicity": TOXICITY, "topic": TOPIC_LABELS}
    torch.manual_seed(1)
    model = build_model(encoder, {name: len(names) for name, names in labels.items()})
    for parameter in model.heads.parameters():  # wide, so random logits mean something
        torch.nn.init.normal_(parameter, std=0.5)
    save_model(model.eval(), tokenizer, folder, labels)
    heads = [
        *(
            {"name": name, "kind": "classification", "labels": list(names)}
            for name, names in labels.items()
        ),
        {"name": "embedding", "kind": "embedding"},
    ]
    info = {
        "name": "multihead-tiny",
        "version": "2026.12.01",
        "task": "multi-head",
        "max_length": MAX_LENGTH,
        "heads": heads,
    }
    (folder / "engage-train.json").write_text(json.dumps(info), encoding="utf-8")
    return folder


def _save_bert(
    folder: Path, tokenizer: PreTrainedTokenizerFast, labels: tuple[str, ...], name: str
) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel

    config = BertConfig(  # type: ignore[no-untyped-call]
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        # Wider than BERT's 0.02, so random logits differ enough for labels to mean something.
        initializer_range=0.2,
        pad_token_id=0,
    )
    torch.manual_seed(0)
    model: torch.nn.Module
    if labels:
        config.num_labels = len(labels)
        config.id2label = dict(enumerate(labels))
        config.label2id = {label: i for i, label in enumerate(labels)}
        model = BertForSequenceClassification(config)  # type: ignore[no-untyped-call]
    else:
        model = BertModel(config)  # type: ignore[no-untyped-call]
    model.eval().save_pretrained(folder)  # type: ignore[no-untyped-call]
    tokenizer.save_pretrained(folder)
    task = "text-classification" if labels else "feature-extraction"
    info = {"name": name, "version": "2026.11.26", "task": task, "max_length": MAX_LENGTH}
    (folder / "engage-train.json").write_text(json.dumps(info), encoding="utf-8")
    return folder
