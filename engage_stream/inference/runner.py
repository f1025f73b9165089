"""One loaded model: session, tokenizer, batching, warm-up, and a thread to run it on.

A call runs the graph once for the heads asked for (one output each; a multi-head model
answers intent, toxicity and topic from one encoder pass) and returns one float32 row per
text and head. The classifier and the embedder differ only in what they make of those
rows; loading, checking, batching and threading live here once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import numpy as np
import onnxruntime as ort
from pydantic import ValidationError

from engage_stream.inference.batching import Feeds, TextEncoder, pad_batch, plan_batches
from engage_stream.inference.model_folder import (
    CHAR_NGRAM,
    Head,
    ModelFolder,
    ModelFolderError,
    Precision,
    load_model_folder,
    verify_checksum,
)
from engage_stream.inference.providers import Device, RuntimeChoice, open_session
from engage_stream.observability.logs import get_logger
from engage_stream.schemas.actions import ModelStamp

log = get_logger("engage.inference")

R = TypeVar("R")
_INPUT_TYPES: dict[str, type[np.integer]] = {"tensor(int64)": np.int64, "tensor(int32)": np.int32}
WARM_UP_TEXTS = ("안녕하세요, 주문한 상품이 언제 도착하나요?", "")


class OnnxRunner:
    """Thread-safe: any number of threads may call `run`; calls take turns, and within a
    call the batch's slices run on the choice's lanes at once."""

    def __init__(
        self,
        folder: ModelFolder,
        session: ort.InferenceSession,
        choice: RuntimeChoice,
        encoder: TextEncoder,
        stamp: ModelStamp,
        batch_max_size: int,
    ) -> None:
        self.folder = folder
        self.choice = choice
        self.encoder = encoder
        self.stamp = stamp
        self.batch_max_size = batch_max_size
        self._session = session
        self._inputs = _input_types(folder, session, choice.file)
        # One call at a time: a second call's lanes would only fight the first's for the
        # same cores (or the same CUDA stream). ORT releases the GIL while it runs.
        self._lock = threading.Lock()
        self.widths: dict[str, int] = {}  # per head: scores or vector size, after warm-up
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engage-infer")
        # The calling thread is one lane; the others wait here for slices.
        self._lanes = (
            ThreadPoolExecutor(max_workers=choice.lanes - 1, thread_name_prefix="engage-lane")
            if choice.lanes > 1
            else None
        )

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        device: Device = "auto",
        precision: Precision | None = None,
        batch_max_size: int = 32,
        threads: int | None = None,
        lanes: int | None = None,
    ) -> OnnxRunner:
        """Load, check, warm up, and log one line saying where the model runs and why."""
        if batch_max_size < 1:
            raise ValueError(f"batch_max_size must be at least 1, got {batch_max_size}")
        folder = load_model_folder(path)
        if folder.task == CHAR_NGRAM:
            raise ModelFolderError(
                folder.path,
                "is a character n-gram model, not an ONNX graph: serve it through the model "
                "registry (ENGAGE_MODEL_TOPIC and the like) or GramsClassifier",
            )
        # The files the engine reads, each against its manifest checksum: a corrupt or
        # swapped file fails here, not at the first message. Cards and configs may be edited.
        served = [*folder.weight_files.values(), folder.tokenizer_file]
        checked = {file.name: verify_checksum(folder, file) for file in served}
        encoder = TextEncoder(folder.tokenizer_file, folder.max_length, folder.pad_token_id)
        session, choice = open_session(
            folder, device, precision=precision, threads=threads, lanes=lanes
        )
        sha = checked[choice.file.name]
        runner = cls(folder, session, choice, encoder, _stamp(folder, sha), batch_max_size)
        started = time.perf_counter()
        runner.warm_up()
        report = log.warning if choice.gpu_lost else log.info
        report(
            "model_loaded",
            model=folder.name,
            version=folder.version,
            task=folder.task,
            heads=list(folder.head_names),
            device=choice.device,
            provider=choice.provider,
            file=choice.file.name,
            precision=choice.precision,
            reason=choice.reason,
            threads=choice.threads,
            lanes=choice.lanes,
            warmup_ms=round((time.perf_counter() - started) * 1000, 1),
            path=str(folder.path),
        )
        return runner

    def warm_up(self) -> None:
        """First runs allocate and pick kernels; do that before traffic, and prove that
        every head runs and that a classification head gives one score per label."""
        try:
            out, _ = self.run(WARM_UP_TEXTS, self.folder.heads)
        except Exception as exc:  # onnxruntime's own exception types
            raise ModelFolderError(
                self.folder.path, f"{self.choice.file.name} fails to run: {exc}"
            ) from None
        self.widths = {name: rows.shape[1] for name, rows in out.items()}
        for head in self.folder.heads:
            if head.kind == "classification" and self.widths[head.name] != len(head.labels):
                raise ModelFolderError(
                    self.folder.path,
                    f"{self.choice.file.name} gives {self.widths[head.name]} scores for head "
                    f"{head.name} but {len(head.labels)} labels are named",
                )

    def run(
        self, texts: Sequence[str], heads: Sequence[Head]
    ) -> tuple[dict[str, np.ndarray], list[bool]]:
        """For each head, rows in input order; and whether each text was truncated. One
        pass of the graph gives every head asked for."""
        encoded = self.encoder.encode(texts)
        if not encoded:
            empty = {h.name: np.empty((0, self.widths.get(h.name, 0)), np.float32) for h in heads}
            return empty, []
        slices = plan_batches(
            [len(e.ids) for e in encoded], self.batch_max_size, self.choice.slices
        )
        outputs = [h.output for h in heads]

        def infer(indices: list[int]) -> list[np.ndarray]:
            feeds = pad_batch(
                [encoded[i] for i in indices], self.encoder.pad_id, self.encoder.max_length
            )
            raw = self._infer(feeds, outputs)
            mask = feeds["attention_mask"]
            return [_rows(h, out, mask) for h, out in zip(heads, raw, strict=True)]

        with self._lock:
            done = self._on_lanes(infer, slices)
        results: dict[str, np.ndarray] = {}
        for k, head in enumerate(heads):
            rows = np.empty((len(encoded), done[0][k].shape[1]), dtype=np.float32)
            for indices, parts in zip(slices, done, strict=True):
                rows[indices] = parts[k]
            results[head.name] = rows
        return results, [e.truncated for e in encoded]

    def _on_lanes(
        self, work: Callable[[list[int]], list[np.ndarray]], slices: list[list[int]]
    ) -> list[list[np.ndarray]]:
        """`work` on every slice, the lanes each taking the next slice left; results in
        slice order. The first error is raised once all lanes have stopped."""
        results: list[list[np.ndarray] | None] = [None] * len(slices)
        queue = iter(range(len(slices)))
        taking = threading.Lock()

        def lane() -> None:
            while True:
                with taking:
                    index = next(queue, None)
                if index is None:
                    return
                results[index] = work(slices[index])

        helpers = []
        if self._lanes is not None:
            helpers = [
                self._lanes.submit(lane) for _ in range(min(self.choice.lanes, len(slices)) - 1)
            ]
        try:
            lane()
        finally:
            errors = [h.exception() for h in helpers]
        for error in errors:
            if error is not None:
                raise error
        return [r for r in results if r is not None]

    async def offload(self, call: Callable[[], R]) -> R:
        """Run `call` on this model's thread, so the event loop keeps serving meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._lanes is not None:
            self._lanes.shutdown(wait=True, cancel_futures=True)

    def _infer(self, feeds: Feeds, outputs: Sequence[str]) -> list[np.ndarray]:
        inputs = {name: feeds[name].astype(t, copy=False) for name, t in self._inputs.items()}
        if self.choice.device == "cuda":
            return self._infer_cuda(inputs, outputs)
        results: list[np.ndarray] = self._session.run(list(outputs), inputs)
        return results

    def _infer_cuda(self, inputs: Feeds, outputs: Sequence[str]) -> list[np.ndarray]:
        # IO binding: the outputs are allocated on the GPU and copied back once.
        binding = self._session.io_binding()
        for name, array in inputs.items():
            binding.bind_cpu_input(name, array)
        for output in outputs:
            binding.bind_output(output, "cuda")
        self._session.run_with_iobinding(binding)
        results: list[np.ndarray] = binding.copy_outputs_to_cpu()
        return results


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(batch, tokens, hidden) and (batch, tokens) -> (batch, hidden), unit length."""
    weights = mask.astype(np.float32)[:, :, None]
    summed = (hidden.astype(np.float32) * weights).sum(axis=1)
    mean = summed / np.maximum(weights.sum(axis=1), 1.0)
    return unit_rows(mean)


def unit_rows(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    result: np.ndarray = (rows / np.maximum(norms, 1e-12)).astype(np.float32)
    return result


def _rows(head: Head, output: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One float32 row per text: logits, or a unit sentence vector."""
    if head.kind == "classification":
        return output.astype(np.float32, copy=False)
    if not head.pooled:
        return mean_pool(output, mask)
    return unit_rows(output)


def _input_types(
    folder: ModelFolder, session: ort.InferenceSession, file: Path
) -> dict[str, type[np.integer]]:
    inputs: dict[str, type[np.integer]] = {}
    for node in session.get_inputs():
        if node.name not in ("input_ids", "attention_mask", "token_type_ids"):
            raise ModelFolderError(
                folder.path, f"{file.name} needs input {node.name!r}, which the engine cannot give"
            )
        if node.type not in _INPUT_TYPES:
            raise ModelFolderError(folder.path, f"{file.name} input {node.name} is {node.type}")
        inputs[node.name] = _INPUT_TYPES[node.type]
    if "input_ids" not in inputs:
        raise ModelFolderError(folder.path, f"{file.name} has no input_ids input")
    outputs = [node.name for node in session.get_outputs()]
    missing = [h.output for h in folder.heads if h.output not in outputs]
    if missing:
        raise ModelFolderError(
            folder.path,
            f"{file.name} has outputs {outputs}; its {folder.task} heads need {missing}",
        )
    return inputs


def _stamp(folder: ModelFolder, sha: str) -> ModelStamp:
    try:
        return ModelStamp(name=folder.name, version=folder.version, sha256=sha)
    except ValidationError as exc:
        raise ModelFolderError(folder.path, f"name or version unusable: {exc}") from None
