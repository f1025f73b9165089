"""Which device, execution provider and ONNX file a model runs on, and why.

CUDA runs the fp16 file (fp32 if there is none); the CPU runs the int8 file (fp32 if
there is none). `auto` tries CUDA and falls back to the CPU with the reason; `cuda` fails
at start instead, so a GPU worker that lost its GPU does not limp along on the CPU.

On the CPU the cores are used as lanes: each lane runs its own slice of a batch through
the session on one thread. A small encoder's operators are too short to split across
threads without paying more in wake-ups than they gain (`benchmarks/models-*.md` has
both layouts measured in one run), and single-threaded runs need no spinning threads
that would take the event loop's core.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import onnxruntime as ort

from engage_stream.inference.model_folder import ModelFolder, ModelFolderError, Precision

Device = Literal["auto", "cpu", "cuda"]
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
SLICES_PER_LANE = 2
"""On the CPU a batch is cut finer than one slice per lane: the lanes then even out among
themselves, slices pad less, and a slice's activations stay in the core's cache (measured:
two slices per lane, about 1.2x one). A GPU wants whole batches."""
_PREFERENCE: dict[str, tuple[Precision, ...]] = {
    "cuda": ("fp16", "fp32", "int8"),
    "cpu": ("int8", "fp32", "fp16"),
}


class DeviceError(RuntimeError):
    """The configured device cannot be used; the message names the setting to change."""


@dataclass(frozen=True, slots=True)
class RuntimeChoice:
    device: Literal["cpu", "cuda"]
    provider: str
    precision: Precision
    file: Path
    reason: str
    threads: int
    """ONNX Runtime threads inside one run."""
    lanes: int = 1
    """Runs at once, each on a slice of the batch; lanes x threads is the cores used."""
    slices: int = 1
    """Pieces each batch is cut into, for the lanes to take in turn."""
    gpu_lost: bool = False
    """A GPU driver is there but CUDA failed: a GPU machine running on its CPU."""


def default_threads() -> int:
    """All cores this process may use, at most 8. ORT releases the GIL while it runs, and
    a lane waiting for work sleeps (no spinning), so the event loop keeps its share."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    return max(1, min(usable, 8))


def cuda_problem() -> str | None:
    """Why CUDA cannot be tried here, or None when it can."""
    if CUDA not in ort.get_available_providers():
        return "this onnxruntime build has no CUDA provider (the worker needs onnxruntime-gpu)"
    if sys.platform == "linux":
        try:
            ctypes.CDLL("libcuda.so.1")
        except OSError:
            return "no NVIDIA driver on this machine (libcuda.so.1 not found)"
    return None


def open_session(
    folder: ModelFolder,
    device: Device,
    *,
    precision: Precision | None = None,
    threads: int | None = None,
    lanes: int | None = None,
) -> tuple[ort.InferenceSession, RuntimeChoice]:
    """A session on the configured device, and the choice made, for the one log line.

    `threads` is the cores to use (default: all, at most 8). On the CPU they become
    `lanes` concurrent single-threaded runs unless `lanes` says otherwise; CUDA uses one
    lane, since the GPU does the work."""
    threads = threads or default_threads()
    if lanes is not None and not 1 <= lanes <= threads:
        raise ValueError(f"lanes must be between 1 and threads ({threads}), got {lanes}")
    fallback = ""
    gpu_lost = False
    if device != "cpu":
        problem = cuda_problem()
        if problem is None:
            gpu_lost = True  # a driver is there: from here on, failing is worth a warning
            file, chosen, note = _pick(folder, "cuda", precision)
            session, problem = _try_cuda(folder, file, threads)
            if session is not None:
                reason = f"ENGAGE_DEVICE={device}, CUDA available{note}"
                return session, RuntimeChoice("cuda", CUDA, chosen, file, reason, threads)
        if device == "cuda":
            raise DeviceError(
                f"ENGAGE_DEVICE=cuda but CUDA cannot be used: {problem}. Set ENGAGE_DEVICE=auto "
                "to fall back to the CPU, or ENGAGE_DEVICE=cpu"
            )
        fallback = f", CUDA unavailable: {problem}"
    file, chosen, note = _pick(folder, "cpu", precision)
    lanes = lanes or threads
    per_run = threads // lanes
    session = _session(folder, file, [CPU], per_run)
    reason = f"ENGAGE_DEVICE={device}{fallback}{note}"
    return session, RuntimeChoice(
        "cpu", CPU, chosen, file, reason, per_run, lanes, lanes * SLICES_PER_LANE, gpu_lost
    )


def _pick(
    folder: ModelFolder, device: str, precision: Precision | None
) -> tuple[Path, Precision, str]:
    files = folder.weight_files
    if precision is not None:
        if precision not in files:
            raise ModelFolderError(
                folder.path, f"no {precision} ONNX file (it has: {', '.join(sorted(files))})"
            )
        return files[precision], precision, f", {precision} asked for"
    preferred = _PREFERENCE[device]
    for candidate in preferred:
        if candidate in files:
            note = "" if candidate == preferred[0] else f", no {preferred[0]} file"
            return files[candidate], candidate, note
    raise ModelFolderError(folder.path, "no ONNX file")  # load_model_folder ensures one


def _options(threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Spinning threads would compete with the event loop and Kafka clients for the cores;
    # on a busy 2-core machine it was also slower.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # ORT's warnings are not for the person on call
    return options


def _session(
    folder: ModelFolder, file: Path, providers: list[Any], threads: int
) -> ort.InferenceSession:
    try:
        return ort.InferenceSession(str(file), _options(threads), providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types, all from Exception
        raise ModelFolderError(
            folder.path, f"{file.name} is not a readable ONNX model: {exc}"
        ) from None


def _try_cuda(
    folder: ModelFolder, file: Path, threads: int
) -> tuple[ort.InferenceSession | None, str]:
    printed = io.StringIO()
    if hasattr(ort, "preload_dlls"):  # loads the CUDA/cuDNN libraries of the pip packages
        with contextlib.redirect_stdout(printed):  # it prints; stdout is for command output
            ort.preload_dlls()
    try:
        session = _session(folder, file, [(CUDA, {"device_id": 0}), CPU], threads)
    except ModelFolderError as exc:
        return None, exc.problem
    if CUDA not in session.get_providers():
        detail = " ".join(printed.getvalue().split())
        return None, "the CUDA provider did not start (CUDA 13 and cuDNN 9 libraries needed)" + (
            f": {detail}" if detail else ""
        )
    return session, ""
