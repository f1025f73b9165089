"""A model folder is checked at load: ours with its manifest, or a plain optimum export;
a missing or broken one is refused with the folder and the fault named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engage_stream.inference import ModelFolderError, load_model_folder
from engage_stream.inference.model_folder import MANIFEST
from tests.tiny_models import LABELS, MAX_LENGTH, TinyModels


def _copy(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / folder.name))


def _edit_manifest(folder: Path, **changes: object) -> None:
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest.update(changes)
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def test_our_folder_is_described_by_its_manifest(tiny: TinyModels) -> None:
    folder = load_model_folder(tiny.classifier)
    assert (folder.name, folder.version, folder.task) == (
        "intent-tiny",
        "2026.11.26",
        "text-classification",
    )
    assert folder.labels == LABELS
    assert folder.max_length == MAX_LENGTH
    assert {p: f.name for p, f in folder.weight_files.items()} == {
        "fp32": "model.onnx",
        "int8": "model.int8.onnx",
        "fp16": "model.fp16.onnx",
    }
    assert folder.has_manifest
    assert "model.int8.onnx" in folder.checksums


def test_a_plain_optimum_export_is_read_from_config_json(tiny: TinyModels) -> None:
    folder = load_model_folder(tiny.plain_export)
    assert (folder.name, folder.version) == (tiny.plain_export.name, "unversioned")
    assert folder.task == "text-classification"
    assert folder.labels == LABELS
    assert folder.max_length == 128
    assert {p: f.name for p, f in folder.weight_files.items()} == {
        "fp32": "model.onnx",
        "int8": "model_quantized.onnx",
    }
    assert not folder.has_manifest
    assert folder.checksums == {}


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelFolderError, match=f"model folder {tmp_path / 'intent-ko'}: not found"):
        load_model_folder(tmp_path / "intent-ko")


def test_a_missing_tokenizer_is_named(tiny: TinyModels, tmp_path: Path) -> None:
    folder = _copy(tiny.classifier, tmp_path)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ModelFolderError, match=r"intent-tiny: tokenizer\.json missing"):
        load_model_folder(folder)


def test_a_missing_onnx_file_named_in_the_manifest_is_named(
    tiny: TinyModels, tmp_path: Path
) -> None:
    folder = _copy(tiny.classifier, tmp_path)
    (folder / "model.int8.onnx").unlink()
    with pytest.raises(ModelFolderError, match=r"model\.int8\.onnx missing \(int8 file named in"):
        load_model_folder(folder)


def test_a_classifier_manifest_without_labels_is_refused(tiny: TinyModels, tmp_path: Path) -> None:
    folder = _copy(tiny.classifier, tmp_path)
    _edit_manifest(folder, labels=[])
    with pytest.raises(ModelFolderError, match=r"engage-model\.json is invalid: .*labels missing"):
        load_model_folder(folder)


def test_a_plain_export_without_labels_is_refused(tiny: TinyModels, tmp_path: Path) -> None:
    folder = _copy(tiny.plain_export, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    del config["id2label"], config["label2id"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFolderError, match=r"labels missing: config\.json has no id2label"):
        load_model_folder(folder)


def test_manifest_file_names_cannot_leave_the_folder(tiny: TinyModels, tmp_path: Path) -> None:
    folder = _copy(tiny.classifier, tmp_path)
    _edit_manifest(folder, files={"int8": "../elsewhere.onnx"})
    with pytest.raises(ModelFolderError, match="plain names inside the folder"):
        load_model_folder(folder)


def test_an_unreadable_manifest_is_named(tiny: TinyModels, tmp_path: Path) -> None:
    folder = _copy(tiny.classifier, tmp_path)
    (folder / MANIFEST).write_text("{not json")
    with pytest.raises(ModelFolderError, match=r"engage-model\.json is not readable JSON"):
        load_model_folder(folder)


def test_a_folder_with_neither_manifest_nor_onnx_file_is_named(
    tiny: TinyModels, tmp_path: Path
) -> None:
    folder = _copy(tiny.plain_export, tmp_path)
    for onnx in folder.glob("*.onnx"):
        onnx.unlink()
    with pytest.raises(ModelFolderError, match=r"model\.onnx missing \(no \*\.onnx file"):
        load_model_folder(folder)
