"""Chromium for the screenshot test: the project's own, unpacked from Debian packages.

`make test` runs infra/chromium/fetch.sh first, which leaves a wrapper at
infra/chromium/root/chromium that sets LD_LIBRARY_PATH (the unpacked libraries) and
FONTCONFIG_FILE (the unpacked Korean fonts). $CHROMIUM_BIN overrides it; a Chromium or
Chrome on PATH is the last resort. Without any, the test skips on a developer's machine and
fails under CI, as the Apache Kafka tests do (tests/conftest.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNPACKED = REPO / "infra" / "chromium" / "root"
"""What infra/chromium/fetch.sh unpacks; its `.complete` stamp says the unpack finished."""
ON_PATH = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    chosen = os.environ.get("CHROMIUM_BIN")
    if chosen:
        return chosen
    if (UNPACKED / ".complete").is_file():
        return str(UNPACKED / "chromium")
    return next((found for name in ON_PATH if (found := shutil.which(name))), None)


def _skip_or_fail(problem: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the browser test cannot run in CI: {problem}")
    pytest.skip(f"browser test skipped: {problem}")


def require_chromium() -> str:
    found = find_chromium()
    if found is None:
        _skip_or_fail(
            "no Chromium (run infra/chromium/fetch.sh, which `make test` does, or set CHROMIUM_BIN)"
        )
    assert found is not None
    return found


def screenshot(page: Path, shot: Path, home: Path, size: tuple[int, int]) -> None:
    """Render `page` headless into the PNG `shot`; a browser found that does not start is a
    failure, anywhere, with the browser's own last words."""
    browser = require_chromium()
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        f"--window-size={size[0]},{size[1]}",
        page.as_uri(),
    ]
    try:
        subprocess.run(
            command,
            capture_output=True,
            timeout=90,
            check=True,
            env={**os.environ, "HOME": str(home)},
        )
    except (OSError, subprocess.SubprocessError) as error:
        stderr = getattr(error, "stderr", b"") or b""
        tail = stderr.decode(errors="replace").strip().splitlines()[-5:]
        pytest.fail(f"{browser} did not render the page: {error}; {' / '.join(tail)}")
