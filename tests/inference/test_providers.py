"""Device choice: CUDA (fp16) when it works, else the CPU (int8) with the reason; a GPU
machine whose CUDA fails says so loudly, and ENGAGE_DEVICE=cuda refuses to start."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import pytest
import structlog

from engage_stream.inference import Classifier, DeviceError, load_model_folder, providers
from engage_stream.inference.providers import SLICES_PER_LANE, default_threads, open_session
from engage_stream.observability.logs import configure_logging
from tests.tiny_models import TinyModels


@pytest.fixture
def broken_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """A GPU machine (driver present) whose CUDA provider does not start."""
    monkeypatch.setattr(providers, "cuda_problem", lambda: None)
    monkeypatch.setattr(
        providers, "_try_cuda", lambda *_: (None, "the CUDA provider did not start (test)")
    )


def test_cpu_runs_the_int8_file(tiny: TinyModels) -> None:
    _, choice = open_session(load_model_folder(tiny.classifier), "cpu")
    assert (choice.device, choice.precision, choice.file.name) == ("cpu", "int8", "model.int8.onnx")
    assert choice.reason == "ENGAGE_DEVICE=cpu"
    assert not choice.gpu_lost


def test_auto_falls_back_to_the_cpu_and_flags_a_lost_gpu(
    tiny: TinyModels, broken_cuda: None
) -> None:
    _, choice = open_session(load_model_folder(tiny.classifier), "auto")
    assert choice.device == "cpu"
    assert choice.file.name == "model.int8.onnx"
    assert choice.reason == (
        "ENGAGE_DEVICE=auto, CUDA unavailable: the CUDA provider did not start (test)"
    )
    assert choice.gpu_lost


def test_cuda_refuses_to_start_on_the_cpu(tiny: TinyModels, broken_cuda: None) -> None:
    with pytest.raises(DeviceError, match=r"ENGAGE_DEVICE=cuda but CUDA cannot be used: the CUDA"):
        open_session(load_model_folder(tiny.classifier), "cuda")


def test_a_folder_without_int8_runs_fp32_on_the_cpu_and_says_why(tiny: TinyModels) -> None:
    _, choice = open_session(load_model_folder(tiny.plain_export), "cpu", precision=None)
    assert choice.file.name == "model_quantized.onnx"
    folder = load_model_folder(tiny.plain_export)
    without_int8 = replace(folder, weight_files={"fp32": folder.weight_files["fp32"]})
    _, choice = open_session(without_int8, "cpu")
    assert (choice.precision, choice.reason) == ("fp32", "ENGAGE_DEVICE=cpu, no int8 file")


def test_on_the_cpu_each_core_is_a_lane_with_a_single_threaded_run(tiny: TinyModels) -> None:
    _, choice = open_session(load_model_folder(tiny.classifier), "cpu", threads=2)
    assert (choice.lanes, choice.threads) == (2, 1)
    assert choice.slices == 2 * SLICES_PER_LANE  # each lane takes slices in turn


def test_one_lane_gets_every_thread_for_its_run(tiny: TinyModels) -> None:
    _, choice = open_session(load_model_folder(tiny.classifier), "cpu", threads=4, lanes=1)
    assert (choice.lanes, choice.threads, choice.slices) == (1, 4, SLICES_PER_LANE)


@pytest.mark.parametrize("lanes", [0, 3])
def test_lanes_must_fit_the_threads(tiny: TinyModels, lanes: int) -> None:
    with pytest.raises(ValueError, match=r"lanes must be between 1 and threads \(2\)"):
        open_session(load_model_folder(tiny.classifier), "cpu", threads=2, lanes=lanes)


def test_threads_default_to_the_usable_cores_at_most_8() -> None:
    assert 1 <= default_threads() <= 8


def test_a_lost_gpu_is_logged_as_a_warning(tiny: TinyModels, broken_cuda: None) -> None:
    out = io.StringIO()
    configure_logging("INFO", json=True, stream=out)
    try:
        Classifier.load(tiny.classifier).close()
    finally:
        structlog.reset_defaults()
    (record,) = [json.loads(line) for line in out.getvalue().splitlines() if "model_loaded" in line]
    assert record["level"] == "warning"
    assert record["device"] == "cpu"
    assert "CUDA unavailable: the CUDA provider did not start" in record["reason"]
