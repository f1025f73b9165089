"""Where and when a benchmark ran, recorded beside every result."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

SIMD = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")
"""The vector extensions int8 ONNX kernels run on: the same model name ("AMD EPYC") can be
a CPU generation with or without them, and the models' speed differs by several times."""


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's name, family and model and which of `SIMD` it has: enough to tell apart
    two machines that report the same name."""
    if not cpuinfo.is_file():
        return platform.processor() or "unknown"
    found: dict[str, str] = {}
    for line in cpuinfo.read_text().splitlines():
        if not line.strip():
            break  # the first processor's block is enough
        key, _, value = line.partition(":")
        found.setdefault(key.strip(), value.strip())
    name = found.get("model name") or platform.processor() or "unknown"
    if "cpu family" not in found:
        return name
    flags = set(found.get("flags", "").split())
    simd = "/".join(f for f in SIMD if f in flags) or "no AVX2"
    return f"{name} (family {found['cpu family']}, model {found.get('model', '?')}; {simd})"


def describe(command: str | None = None) -> dict[str, object]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "command": command or "engage-stream " + shlex.join(sys.argv[1:]),
    }
