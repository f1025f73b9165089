"""A multi-head model as one ONNX graph: optimum exports the shared encoder, and the heads
are appended to its graph, so one session run answers every head.

optimum exports the encoder as a feature-extraction model (`last_hidden_state`). Each
classification head becomes `MatMul → Add → Tanh → MatMul → Add` on the first token's
vector, with its output named after the head (`intent`, `toxicity`, `topic`); the
embedding head is the mask-weighted mean of the token vectors, unit length, as output
`embedding`. `last_hidden_state` stops being an output, so a GPU run copies back a few
numbers per text instead of every token's vector (measured in `bench models`). The
appended products have constant weights, so the int8 quantiser treats them like the
encoder's; fp16 conversion covers them too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engage_stream.export.hf_dir import ExportError
from engage_stream.inference.model_folder import HeadSpec

HIDDEN = "last_hidden_state"
MIN_OPSET = 13
"""ReduceSum and Unsqueeze take their axes as inputs from opset 13 on."""


class _Graph:
    """The nodes and constants being appended, with names under `heads.`."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.constants: list[Any] = []

    def constant(self, name: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        self.constants.append(numpy_helper.from_array(array, name=f"heads.{name}"))
        return f"heads.{name}"

    def node(self, op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], name=f"/{output}", **attributes))
        return output


def append_heads(
    onnx_file: Path, heads: Sequence[HeadSpec], weights: Mapping[str, np.ndarray]
) -> None:
    """Rewrite `onnx_file` in place: the encoder graph with every head appended.

    `weights` holds each classification head's `{name}.dense.weight`, `.dense.bias`,
    `.out.weight`, `.out.bias` as PyTorch stores them (Linear weights are out x in)."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(onnx_file))
    graph = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < MIN_OPSET:
        raise ExportError(f"{onnx_file}: opset {opset}; appending heads needs {MIN_OPSET}+")
    if HIDDEN not in [o.name for o in graph.output]:
        raise ExportError(f"{onnx_file}: no {HIDDEN} output to put the heads on")
    hidden = _hidden_size(graph)
    g = _Graph()
    cls = g.node(
        "Gather", [HIDDEN, g.constant("first_token", np.array(0, np.int64))], "heads.cls", axis=1
    )
    outputs = []
    for head in heads:
        if head.kind == "classification":
            width = _classifier(g, cls, head, weights)
        else:
            _mean_pooled(g, head.output)
            width = hidden
        outputs.append(
            helper.make_tensor_value_info(head.output, TensorProto.FLOAT, ["batch_size", width])
        )
    graph.node.extend(g.nodes)
    graph.initializer.extend(g.constants)
    kept = [o for o in graph.output if o.name != HIDDEN]
    del graph.output[:]
    graph.output.extend([*kept, *outputs])
    onnx.checker.check_model(model)
    onnx.save(model, str(onnx_file))


def _classifier(g: _Graph, cls: str, head: HeadSpec, weights: Mapping[str, np.ndarray]) -> int:
    """tanh(cls · W1ᵀ + b1) · W2ᵀ + b2, as the training module computes it (eval mode)."""
    n = head.name
    dense = g.constant(f"{n}.dense.weight_t", _weight(weights, f"{n}.dense.weight").T.copy())
    out = _weight(weights, f"{n}.out.weight").T.copy()
    x = g.node("MatMul", [cls, dense], f"heads.{n}.dense")
    x = g.node(
        "Add",
        [x, g.constant(f"{n}.dense.bias", _weight(weights, f"{n}.dense.bias"))],
        f"heads.{n}.dense_bias",
    )
    x = g.node("Tanh", [x], f"heads.{n}.tanh")
    x = g.node("MatMul", [x, g.constant(f"{n}.out.weight_t", out)], f"heads.{n}.out")
    g.node("Add", [x, g.constant(f"{n}.out.bias", _weight(weights, f"{n}.out.bias"))], head.output)
    return int(out.shape[1])


def _mean_pooled(g: _Graph, output: str) -> None:
    """The mean of the token vectors the attention mask keeps, divided by its L2 norm."""
    mask = g.node("Cast", ["attention_mask"], "heads.mask", to=1)  # to float
    mask3 = g.node("Unsqueeze", [mask, g.constant("axis2", np.array([2], np.int64))], "heads.mask3")
    weighted = g.node("Mul", [HIDDEN, mask3], "heads.masked")
    axis1 = g.constant("axis1", np.array([1], np.int64))
    sums = g.node("ReduceSum", [weighted, axis1], "heads.sum", keepdims=0)
    counts = g.node("ReduceSum", [mask3, axis1], "heads.count", keepdims=0)
    one = g.constant("one", np.array(1.0, np.float32))
    mean = g.node("Div", [sums, g.node("Max", [counts, one], "heads.count_min1")], "heads.mean")
    squares = g.node("Mul", [mean, mean], "heads.squares")
    last = g.constant("axis_last", np.array([-1], np.int64))
    sumsq = g.node("ReduceSum", [squares, last], "heads.sumsq", keepdims=1)
    norm = g.node("Sqrt", [sumsq], "heads.norm")
    tiny = g.constant("eps", np.array(1e-12, np.float32))
    g.node("Div", [mean, g.node("Max", [norm, tiny], "heads.norm_min")], output)


def _weight(weights: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    if name not in weights:
        raise ExportError(f"heads.safetensors has no {name}")
    return np.asarray(weights[name], dtype=np.float32)


def _hidden_size(graph: Any) -> int:
    for output in graph.output:
        if output.name == HIDDEN:
            dims = output.type.tensor_type.shape.dim
            if dims and dims[-1].dim_value:
                return int(dims[-1].dim_value)
    raise ExportError(f"the encoder's {HIDDEN} output has no fixed hidden size")
