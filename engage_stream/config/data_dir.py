"""Where the public Korean corpora live, read without validating every other setting.

Library code and tests that load a corpus with no folder given call `data_dir()`; the
commands read the same value as `Settings.data_dir`, which a config file can set too.
Only training, the benchmarks and the sample stream read the corpora; the worker never
does, so a missing folder is not a start-up error: each reader names what it misses.
"""

from __future__ import annotations

import os
from pathlib import Path

from engage_stream.config.settings import ENV_PREFIX, team_data_dir

DATA_DIR_ENV = f"{ENV_PREFIX}DATA_DIR"


def data_dir() -> Path | None:
    """`ENGAGE_DATA_DIR` when set, else ../shared/data when it exists, else None (no
    corpora: the built-in and the shop's own data only)."""
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(value) if value else team_data_dir()
