"""The PyTorch model back from an export's fp32 ONNX file: the same weights, in eager mode.

`bench models` compares the engine with PyTorch eager on the same weights. The HF folder
that training wrote is often gone (a fresh clone ships only `models/`), but the fp32 file
holds every weight. Initializer names cannot be trusted for that (the exporter stores
linear weights transposed under generated names, and merges equal tensors, such as
untrained zero biases, into one that the others reach through Identity nodes), so each
weight is named after the module of the node
that uses it: torch.onnx names nodes by module path (`/bert/encoder/layer.0/.../MatMul`).
The rebuilt model is checked against ONNX Runtime on real text before it is used.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engage_stream.export.hf_dir import TRAIN_INFO, ExportError
from engage_stream.inference.model_folder import ModelFolder, load_model_folder

PARITY_TOLERANCE = 1e-3


def state_dict_from_onnx(onnx_file: Path) -> dict[str, np.ndarray]:
    """Parameter name -> array, as the PyTorch module names and shapes them."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_file)).graph
    arrays = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:  # merged tensors reach their other users through Identity
        if node.op_type == "Identity" and node.input[0] in arrays:
            arrays[node.output[0]] = arrays[node.input[0]]
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    state: dict[str, np.ndarray] = {}
    for node in graph.node:
        module = ".".join(node.name.strip("/").split("/")[:-1])
        constant = [name in arrays for name in node.input]
        if node.op_type == "MatMul" and constant[1:2] == [True]:
            state[f"{module}.weight"] = arrays[node.input[1]].T.copy()
            adds = [n for n in consumers.get(node.output[0], []) if n.op_type == "Add"]
            biases = [name for add in adds for name in add.input if name in arrays]
            if len(biases) != 1:
                raise ExportError(f"{onnx_file}: no bias found for MatMul {node.name!r}")
            state[f"{module}.bias"] = arrays[biases[0]]
        elif node.op_type == "Gemm" and all(constant[1:3]):
            transposed = any(a.name == "transB" and a.i == 1 for a in node.attribute)
            weight = arrays[node.input[1]]
            state[f"{module}.weight"] = weight if transposed else weight.T.copy()
            state[f"{module}.bias"] = arrays[node.input[2]]
        elif node.op_type == "LayerNormalization" and all(constant[1:3]):
            state[f"{module}.weight"] = arrays[node.input[1]]
            state[f"{module}.bias"] = arrays[node.input[2]]
        elif node.op_type == "Gather" and constant[0]:
            state[f"{module}.weight"] = arrays[node.input[0]]
    return state


def eager_classifier(model_dir: Path, texts: Sequence[str]) -> Any:
    """The model folder's classifier as a PyTorch module in eval mode, proven to give the
    fp32 ONNX file's logits (within 1e-3) on `texts`."""
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification

    folder = load_model_folder(model_dir)
    if "fp32" not in folder.weight_files:
        raise ExportError(f"{model_dir}: no fp32 ONNX file to take the weights from")
    config = AutoConfig.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_config(config).eval()  # type: ignore[no-untyped-call]
    weights = state_dict_from_onnx(folder.weight_files["fp32"])
    state = {k: torch.tensor(v) for k, v in weights.items()}
    expected = {k for k in model.state_dict() if not k.endswith("position_ids")}
    missing, unexpected = expected - state.keys(), state.keys() - expected
    if missing or unexpected:
        raise ExportError(
            f"{model_dir}: the ONNX weights do not fit {config.architectures}: "
            f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"
        )
    model.load_state_dict(state, strict=False)
    gap = _largest_gap(model, folder, texts)
    if gap > PARITY_TOLERANCE:
        raise ExportError(f"{model_dir}: the rebuilt PyTorch model is off by {gap:.2e} from ONNX")
    return model


def _largest_gap(model: Any, folder: ModelFolder, texts: Sequence[str]) -> float:
    import onnxruntime as ort
    import torch

    from engage_stream.inference.batching import TextEncoder, pad_batch

    encoder = TextEncoder(folder.tokenizer_file, folder.max_length, folder.pad_token_id)
    feeds = pad_batch(encoder.encode(texts), encoder.pad_id, encoder.max_length)
    session = ort.InferenceSession(
        str(folder.weight_files["fp32"]), providers=["CPUExecutionProvider"]
    )
    wanted = {node.name for node in session.get_inputs()}
    inputs = {name: array for name, array in feeds.items() if name in wanted}
    expected = session.run(["logits"], inputs)[0]
    with torch.inference_mode():
        logits = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).logits.numpy()
    return float(np.abs(logits - expected).max())


_FOLDER_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    TRAIN_INFO,
)


def hf_dir_from_model_folder(model_dir: Path, out: Path, texts: Sequence[str]) -> Path:
    """An HF folder (weights, config, tokenizer, `engage-train.json`) rebuilt from a
    shipped classifier, so `engage-stream export` can export the same weights again with
    the current exporter when the training folder is gone."""
    model = eager_classifier(model_dir, texts)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    for name in _FOLDER_FILES:
        if (model_dir / name).is_file():
            shutil.copyfile(model_dir / name, out / name)
    return out
