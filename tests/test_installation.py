"""The pinned install is the one the project needs: known conflicts resolved, torch kept
out of the run-time path."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

from engage_stream.config.settings import PROJECT_ROOT


def _major_minor(package: str) -> tuple[int, int]:
    major, minor = version(package).split(".")[:2]
    return int(major), int(minor)


def test_click_is_held_below_8_4_for_faust() -> None:
    assert _major_minor("click") < (8, 4)
    result = subprocess.run(
        [sys.executable, "-m", "faust", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert version("faust-streaming") in result.stdout


def test_the_export_extra_resolves_to_the_versions_known_to_work() -> None:
    assert _major_minor("transformers") == (4, 57)
    assert _major_minor("optimum") == (2, 1)
    from optimum.exporters.onnx import main_export  # noqa: F401
    from optimum.onnxruntime import ORTQuantizer  # noqa: F401


def test_the_run_time_path_never_imports_torch() -> None:
    probe = (
        "import sys, engage_stream.cli.app, faust, onnxruntime, tokenizers; "
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    )
    assert result.stdout.split() == ["False", "False"]


def test_the_locks_pin_every_package_exactly() -> None:
    for lock in ("runtime.lock", "dev.lock"):
        lines = (PROJECT_ROOT / "requirements" / lock).read_text().splitlines()
        requirements = [line for line in lines if line and not line.startswith(("#", " "))]
        assert requirements
        assert all("==" in line for line in requirements), lock


def _pins(lock: str) -> dict[str, str]:
    lines = (PROJECT_ROOT / "requirements" / lock).read_text().splitlines()
    pins = (line.split(";")[0].strip() for line in lines if "==" in line and line[0] != "#")
    return dict(pin.split("==") for pin in pins)


def test_the_demo_environment_is_a_subset_of_the_test_environment() -> None:
    runtime, dev = _pins("runtime.lock"), _pins("dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime
