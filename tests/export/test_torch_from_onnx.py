"""The PyTorch model read back from an export's fp32 file has the trained weights: the
benchmark's eager column and a re-export run on the shipped weights, not on a copy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper
from transformers import AutoModelForSequenceClassification

from engage_stream.export import ExportError
from engage_stream.export.torch_from_onnx import (
    eager_classifier,
    hf_dir_from_model_folder,
    state_dict_from_onnx,
)
from tests.tiny_models import TinyModels, korean_lines


def test_every_trained_parameter_comes_back_with_its_name_and_shape(tiny: TinyModels) -> None:
    trained = AutoModelForSequenceClassification.from_pretrained(tiny.hf_classifier).state_dict()
    rebuilt = state_dict_from_onnx(tiny.classifier / "model.onnx")
    expected = {k for k in trained if not k.endswith("position_ids")}
    assert set(rebuilt) == expected
    for name in expected:
        np.testing.assert_array_equal(rebuilt[name], trained[name].numpy(), err_msg=name)


def test_the_rebuilt_model_gives_the_trained_logits(tiny: TinyModels) -> None:
    texts = korean_lines(32)
    model = eager_classifier(tiny.classifier, texts)
    assert not model.training
    trained = AutoModelForSequenceClassification.from_pretrained(tiny.hf_classifier).eval()
    ids = torch.tensor([[2, 100, 200, 300, 3]])
    with torch.inference_mode():
        assert torch.allclose(model(input_ids=ids).logits, trained(input_ids=ids).logits)


def test_weights_that_do_not_compute_the_onnx_logits_are_refused(
    tiny: TinyModels, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engage_stream.export import torch_from_onnx

    real = torch_from_onnx.state_dict_from_onnx

    def off_by_a_little(file: Path) -> dict[str, np.ndarray]:
        state = real(file)
        state["classifier.bias"] = state["classifier.bias"] + 0.5
        return state

    monkeypatch.setattr(torch_from_onnx, "state_dict_from_onnx", off_by_a_little)
    with pytest.raises(ExportError, match=r"rebuilt PyTorch model is off by 5\.0+e-01"):
        eager_classifier(tiny.classifier, korean_lines(8))


def test_a_linear_layer_without_its_bias_is_named(tiny: TinyModels, tmp_path: Path) -> None:
    model = onnx.load(tiny.classifier / "model.onnx")
    query = next(n for n in model.graph.node if n.name.endswith("attention/self/query/MatMul"))
    add = next(n for n in model.graph.node if query.output[0] in n.input)
    model.graph.node.remove(add)
    for node in model.graph.node:
        node.input[:] = [query.output[0] if i == add.output[0] else i for i in node.input]
    onnx.save(model, tmp_path / "model.onnx")
    with pytest.raises(ExportError, match=f"no bias found for MatMul '{query.name}'"):
        state_dict_from_onnx(tmp_path / "model.onnx")


def test_an_hf_folder_rebuilt_from_a_model_folder_exports_the_same_fp32_weights(
    tiny: TinyModels, tmp_path: Path
) -> None:
    from engage_stream.export import export_model

    folder = hf_dir_from_model_folder(tiny.classifier, tmp_path / "hf", korean_lines(8))
    assert json.loads((folder / "engage-train.json").read_text())["name"]
    out = export_model(folder, tmp_path / "again").out_dir
    before = onnx.load(tiny.classifier / "model.onnx").graph.initializer
    after = {
        i.name: numpy_helper.to_array(i) for i in onnx.load(out / "model.onnx").graph.initializer
    }
    for init in before:
        if not init.name.startswith("onnx::"):
            np.testing.assert_array_equal(after[init.name], numpy_helper.to_array(init))
    shutil.rmtree(folder)
