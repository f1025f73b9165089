"""`export_model`: a Hugging Face folder becomes a model folder that computes what PyTorch
computes, in fp32, int8 (CPU) and fp16 (CUDA), described by `engage-model.json`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from engage_stream.export import PARITY_TEXTS, ExportError, ParityReport, export_model
from engage_stream.inference.model_folder import MANIFEST, ModelManifest, sha256_of
from tests.tiny_models import LABELS, MAX_LENGTH, TinyModels, korean_lines


def _manifest(folder: Path) -> ModelManifest:
    return ModelManifest.model_validate_json((folder / MANIFEST).read_text(encoding="utf-8"))


def _onnx_logits(file: Path, feeds: dict[str, np.ndarray]) -> np.ndarray:
    session = ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])
    wanted = {node.name: feeds[node.name] for node in session.get_inputs()}
    logits: np.ndarray = session.run(["logits"], wanted)[0]
    return logits


def _torch_reference(
    tiny: TinyModels, texts: list[str]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Token ids from the transformers tokenizer and PyTorch logits: the training side."""
    tokenizer = AutoTokenizer.from_pretrained(tiny.hf_classifier)  # type: ignore[no-untyped-call]
    batch = tokenizer(
        texts, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="np"
    )
    feeds = {name: np.asarray(batch[name], dtype=np.int64) for name in batch}
    model = AutoModelForSequenceClassification.from_pretrained(tiny.hf_classifier).eval()
    with torch.inference_mode():
        logits = model(**{name: torch.from_numpy(array) for name, array in feeds.items()}).logits
    return feeds, logits.numpy()


def test_the_model_folder_holds_three_weight_files_the_tokenizer_and_a_manifest(
    tiny: TinyModels,
) -> None:
    names = {p.name for p in tiny.classifier.iterdir()}
    assert {
        "model.onnx",
        "model.int8.onnx",
        "model.fp16.onnx",
        "tokenizer.json",
        "config.json",
        "engage-train.json",
        MANIFEST,
    } <= names
    assert not [p for p in tiny.classifier.parent.iterdir() if p.name.startswith(".")], (
        "no staging folder is left beside the export"
    )
    assert tiny.classifier.stat().st_mode & 0o755 == 0o755, "readable by the worker's user"


def test_the_manifest_names_labels_in_index_order_and_the_sha256_of_every_file(
    tiny: TinyModels,
) -> None:
    manifest = _manifest(tiny.classifier)
    assert (manifest.name, manifest.version) == ("intent-tiny", "2026.11.26")
    assert manifest.task == "text-classification"
    assert manifest.labels == list(LABELS)
    assert manifest.max_length == MAX_LENGTH
    assert manifest.files == {
        "fp32": "model.onnx",
        "int8": "model.int8.onnx",
        "fp16": "model.fp16.onnx",
    }
    files = {p.name for p in tiny.classifier.iterdir() if p.name != MANIFEST}
    assert set(manifest.sha256) == files
    for name, digest in manifest.sha256.items():
        assert sha256_of(tiny.classifier / name) == digest, name
    assert manifest.export["versions"]["optimum"].startswith("2.")
    assert manifest.training["name"] == "intent-tiny"


def test_onnx_fp32_logits_agree_with_pytorch_within_1e_3_on_real_korean_sentences(
    tiny: TinyModels,
) -> None:
    texts = korean_lines(64) + list(PARITY_TEXTS)
    feeds, expected = _torch_reference(tiny, texts)
    actual = _onnx_logits(tiny.classifier / "model.onnx", feeds)
    assert np.abs(actual - expected).max() < 1e-3


def test_the_export_reports_the_parity_it_checked(tiny: TinyModels) -> None:
    parity = tiny.classifier_report.parity
    assert parity.texts == len(PARITY_TEXTS)
    assert parity.fp32_max_abs_diff < 1e-3
    assert parity.tokenizer_mismatch is None
    assert parity.int8_argmax_agreement is not None
    assert parity.fp16_max_abs_diff is not None, parity.fp16_note
    assert _manifest(tiny.classifier).export["parity"]["fp32_max_abs_diff"] == (
        parity.fp32_max_abs_diff
    )


def test_int8_gives_the_fp32_label_for_most_real_sentences(tiny: TinyModels) -> None:
    texts = korean_lines(300)
    feeds, _ = _torch_reference(tiny, texts)
    fp32 = _onnx_logits(tiny.classifier / "model.onnx", feeds)
    int8 = _onnx_logits(tiny.classifier / "model.int8.onnx", feeds)
    agreement = float((fp32.argmax(axis=1) == int8.argmax(axis=1)).mean())
    assert agreement >= 0.9


def test_int8_quantises_the_weight_products_and_leaves_attention_in_fp32(tiny: TinyModels) -> None:
    graph = onnx.load(tiny.classifier / "model.int8.onnx").graph
    weights = {init.name for init in graph.initializer}
    integer = [n for n in graph.node if n.op_type in ("MatMulInteger", "DynamicQuantizeMatMul")]
    assert integer, "no weight product was quantised"
    assert all(weights.intersection(n.input) for n in integer)
    assert not [n for n in graph.node if n.op_type == "MatMulIntegerToFloat"]
    float_products = [n for n in graph.node if n.op_type == "MatMul"]
    assert len(float_products) == 2 * 2  # QK^T and scores x V in each of the 2 layers


def test_the_fp16_file_is_valid_onnx_fed_and_read_like_the_others(tiny: TinyModels) -> None:
    model = onnx.load(tiny.classifier / "model.fp16.onnx")
    onnx.checker.check_model(model)
    inputs = {i.name: i.type.tensor_type.elem_type for i in model.graph.input}
    outputs = {o.name: o.type.tensor_type.elem_type for o in model.graph.output}
    assert set(inputs.values()) == {onnx.TensorProto.INT64}
    assert outputs == {"logits": onnx.TensorProto.FLOAT}
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in model.graph.initializer)
    texts = korean_lines(32)
    feeds, _ = _torch_reference(tiny, texts)
    fp32 = _onnx_logits(tiny.classifier / "model.onnx", feeds)
    fp16 = _onnx_logits(tiny.classifier / "model.fp16.onnx", feeds)
    assert np.abs(fp16 - fp32).max() < 1e-2


def test_a_feature_extraction_model_exports_its_token_vectors(tiny: TinyModels) -> None:
    manifest = _manifest(tiny.embedder)
    assert manifest.task == "feature-extraction"
    assert manifest.labels == []
    session = ort.InferenceSession(str(tiny.embedder / "model.int8.onnx"))
    assert [o.name for o in session.get_outputs()] == ["last_hidden_state"]
    assert manifest.export["parity"]["fp32_max_abs_diff"] < 1e-3


def test_a_missing_hf_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=f"{tmp_path / 'nope'}: not found"):
        export_model(tmp_path / "nope", tmp_path / "out")


def test_a_folder_without_tokenizer_names_what_is_missing(tiny: TinyModels, tmp_path: Path) -> None:
    hf = shutil.copytree(tiny.hf_classifier, tmp_path / "hf")
    (hf / "tokenizer.json").unlink()
    with pytest.raises(
        ExportError, match=r"not a Hugging Face model folder: missing tokenizer\.json"
    ):
        export_model(hf, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_folder_without_weights_or_config_names_both(tmp_path: Path) -> None:
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "tokenizer.json").write_text("{}")
    with pytest.raises(ExportError, match=r"missing config\.json, weights \(model\.safetensors"):
        export_model(tmp_path / "hf", tmp_path / "out")


def test_a_bad_engage_train_json_is_named_with_the_field(tiny: TinyModels, tmp_path: Path) -> None:
    hf = shutil.copytree(tiny.hf_classifier, tmp_path / "hf")
    (hf / "engage-train.json").write_text(json.dumps({"task": "translation"}))
    with pytest.raises(ExportError, match=r"engage-train\.json: task: Input should be"):
        export_model(hf, tmp_path / "out")


def test_labels_in_engage_train_json_must_be_the_config_labels(
    tiny: TinyModels, tmp_path: Path
) -> None:
    hf = shutil.copytree(tiny.hf_classifier, tmp_path / "hf")
    info = json.loads((hf / "engage-train.json").read_text())
    (hf / "engage-train.json").write_text(json.dumps({**info, "labels": list(LABELS)[::-1]}))
    with pytest.raises(ExportError, match=r"differ from config\.json id2label"):
        export_model(hf, tmp_path / "out")


def test_it_refuses_to_replace_a_folder_that_is_not_a_model_folder(
    tiny: TinyModels, tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match=r"is not a model folder \(no engage-model\.json\)"):
        export_model(tiny.hf_classifier, tmp_path / "out")
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"


def test_an_export_over_an_earlier_one_replaces_it(tiny: TinyModels, tmp_path: Path) -> None:
    out = shutil.copytree(tiny.classifier, tmp_path / "intent")
    (out / "stale.onnx").write_bytes(b"old")
    export_model(tiny.hf_classifier, out)
    assert not (out / "stale.onnx").exists()
    assert _manifest(out).sha256 == _manifest(tiny.classifier).sha256
    assert sorted(p.name for p in tmp_path.iterdir()) == ["intent"]


def test_an_export_that_fails_parity_ships_nothing(
    tiny: TinyModels, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = shutil.copytree(tiny.classifier, tmp_path / "intent")
    before = _manifest(out)
    broken = ParityReport(
        texts=1,
        fp32_max_abs_diff=0.5,
        int8_max_abs_diff=0.5,
        int8_argmax_agreement=0.0,
        fp16_max_abs_diff=None,
        fp16_note="",
        tokenizer_mismatch=None,
    )
    monkeypatch.setattr("engage_stream.export.exporter.check_parity", lambda *_: broken)
    with pytest.raises(ExportError, match=r"ONNX fp32 differs from PyTorch by 5\.00e-01"):
        export_model(tiny.hf_classifier, out)
    assert _manifest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["intent"]


def test_a_trained_classifier_gets_a_model_card_from_its_manifests(tiny: TinyModels) -> None:
    card = (tiny.classifier / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "TF-IDF char 1-4-grams + linear SVM" in card
    assert "Export parity on" in card
    assert "`model.int8.onnx`" in card
