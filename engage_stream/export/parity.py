"""Do the exported files compute what the PyTorch model computes?

Both sides get the very same token ids, made by the run-time tokenizer, so the numbers
measure the graphs alone; a separate check that the transformers tokenizer gives the same
ids proves the engine feeds the model what it was trained on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from engage_stream.export.hf_dir import HfModelDir
from engage_stream.inference.batching import Feeds, TextEncoder, pad_batch
from engage_stream.inference.model_folder import TOKENIZER, Precision

# Real customer-service chat, a few edge cases, and one text long enough to be truncated.
PARITY_TEXTS: tuple[str, ...] = (
    "배송이 언제 오나요?",
    "주문한 상품이 아직 안 왔어요.",
    "환불 신청하려고 하는데 어떻게 해야 하나요?",
    "상담원 연결해 주세요.",
    "이거 진짜 너무하네요 다시는 안 삽니다",
    "사이즈 교환 가능할까요?",
    "쿠폰이 적용이 안 돼요",
    "감사합니다 잘 받았어요!",
    "결제 취소해 줘",
    "왜 아직도 답이 없죠?",
    "내일 오전까지 받을 수 있나요",
    "네",
    "",
    "Where is my order?",
    "🙂🙂🙂",
    "배송 조회를 해 보니 물류센터에서 출발했다고만 나오고 며칠째 그대로예요. " * 20,
)


@dataclass(frozen=True, slots=True)
class ParityReport:
    texts: int
    fp32_max_abs_diff: float
    int8_max_abs_diff: float
    int8_argmax_agreement: float | None
    """Share of texts whose int8 label is the PyTorch label (classification heads only;
    the mean over the heads of a multi-head model)."""
    fp16_max_abs_diff: float | None
    """None when the fp16 file does not run on this machine's CPU (see `fp16_note`)."""
    fp16_note: str
    tokenizer_mismatch: str | None
    """The first text on which the transformers tokenizer disagrees, if any."""


def check_parity(
    source: HfModelDir, folder: Path, files: Mapping[Precision, str], texts: Sequence[str]
) -> ParityReport:
    """Every output of every exported file against PyTorch, on the same token ids."""
    from transformers import AutoTokenizer

    encoder = TextEncoder(folder / TOKENIZER, source.max_length, source.pad_token_id)
    encoded = encoder.encode(texts)
    feeds = pad_batch(encoded, encoder.pad_id, source.max_length)
    mask = feeds["attention_mask"]

    hf_tokenizer = AutoTokenizer.from_pretrained(source.path)  # type: ignore[no-untyped-call]
    hf_ids = hf_tokenizer(list(texts), truncation=True, max_length=source.max_length)["input_ids"]
    mismatch = next((t for t, e, h in zip(texts, encoded, hf_ids, strict=True) if e.ids != h), None)

    fp32 = _session(folder / files["fp32"])
    names = [node.name for node in fp32.get_inputs()]
    reference = _reference(source, {name: feeds[name] for name in names})
    classified = [name for name in reference if name in _classification_outputs(source)]

    int8 = _run(_session(folder / files["int8"]), feeds, reference)
    fp16_diff: float | None = None
    note = "runs on the CPU here"
    try:
        fp16 = _run(_session(folder / files["fp16"]), feeds, reference)
        fp16_diff = _max_diff(fp16, reference, mask)
    except Exception as exc:  # onnxruntime's own exception types: an fp16 op the CPU lacks
        note = f"does not run on this CPU ({exc}); checked as a valid ONNX model only"
    agreement = [
        float((int8[name].argmax(axis=1) == reference[name].argmax(axis=1)).mean())
        for name in classified
    ]
    return ParityReport(
        texts=len(texts),
        fp32_max_abs_diff=_max_diff(_run(fp32, feeds, reference), reference, mask),
        int8_max_abs_diff=_max_diff(int8, reference, mask),
        int8_argmax_agreement=sum(agreement) / len(agreement) if agreement else None,
        fp16_max_abs_diff=fp16_diff,
        fp16_note=note,
        tokenizer_mismatch=mismatch,
    )


def _classification_outputs(source: HfModelDir) -> set[str]:
    if source.task == "text-classification":
        return {"logits"}
    return {h.name for h in source.heads if h.kind == "classification"}


def _reference(source: HfModelDir, inputs: Feeds) -> dict[str, np.ndarray]:
    """PyTorch's outputs, named as the exported graph names them."""
    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification

    tensors = {name: torch.from_numpy(array) for name, array in inputs.items()}
    with torch.inference_mode():
        if source.task == "multi-head":
            from engage_stream.training.multihead import load_model

            out = load_model(source.path).float()(tensors["input_ids"], tensors["attention_mask"])
            return {name: value.numpy() for name, value in out.items()}
        if source.task == "text-classification":
            model = AutoModelForSequenceClassification.from_pretrained(source.path)
            return {"logits": model.float().eval()(**tensors).logits.numpy()}
        model = AutoModel.from_pretrained(source.path).float().eval()
        return {"last_hidden_state": model(**tensors).last_hidden_state.numpy()}


def _session(file: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])


def _run(
    session: ort.InferenceSession, feeds: Feeds, like: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    inputs = {node.name: feeds[node.name] for node in session.get_inputs()}
    outputs = session.run(list(like), inputs)
    return {name: out.astype(np.float32) for name, out in zip(like, outputs, strict=True)}


def _max_diff(
    actual: Mapping[str, np.ndarray], expected: Mapping[str, np.ndarray], mask: np.ndarray
) -> float:
    """Largest difference over every output; token vectors count only where the attention
    mask is set."""
    largest = 0.0
    for name, reference in expected.items():
        diff = np.abs(actual[name] - reference)
        if not np.isfinite(diff).all():
            return float("inf")
        if diff.ndim == 3:
            diff = diff * mask[:, :, None]
        largest = max(largest, float(diff.max()))
    return largest
