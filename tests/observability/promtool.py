"""promtool for the tests: the one infra/promtool/fetch.sh unpacks (`make promtool`), else
one on PATH. Where there is none the test skips, and in CI that is a failure."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from engage_stream.config.settings import PROJECT_ROOT

FETCHED = PROJECT_ROOT / "infra" / "promtool" / "root" / "promtool"


def promtool() -> Path:
    if FETCHED.is_file():
        return FETCHED
    found = shutil.which("promtool")
    if found:
        return Path(found)
    problem = "promtool not found: run `make promtool` (infra/promtool/fetch.sh)"
    if os.environ.get("CI"):
        pytest.fail(f"promtool tests cannot run in CI: {problem}")
    pytest.skip(f"promtool tests skipped: {problem}")


def run_promtool(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(promtool()), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
