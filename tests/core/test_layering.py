"""The decisions load no model engine and no Kafka client: the core reads scores and drafts,
the shells make them (the static side of this is `make lint`'s import contracts)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_core_loads_neither_the_engine_nor_kafka() -> None:
    probe = (
        "import sys, engage_stream.core.processor;"
        "print(sorted(m for m in ('onnxruntime', 'tokenizers', 'faust', 'kafka',"
        " 'engage_stream.inference', 'engage_stream.kafka') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert loaded.stdout.strip() == "[]", loaded.stderr
