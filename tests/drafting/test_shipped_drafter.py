"""The shipped models/drafter-ko loads and drafts; it is checked here, never retrained."""

from __future__ import annotations

import json

import pytest

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.drafting import Drafter, is_polite
from engage_stream.inference.model_folder import sha256_of

SHIPPED = PROJECT_ROOT / "models" / "drafter-ko"

pytestmark = pytest.mark.skipif(
    not (SHIPPED / "drafter.json").is_file(), reason=f"no shipped drafter at {SHIPPED}"
)


def test_the_shipped_drafter_loads_and_drafts_politely() -> None:
    manifest = json.loads((SHIPPED / "drafter.json").read_text())
    assert manifest["precision"] == "int8"
    assert manifest["encoder_sha256"] == sha256_of(SHIPPED / "model.int8.onnx")
    metrics = manifest["metrics"]
    assert metrics["shipped_int8"]["chrf"] > metrics["most_frequent"]["chrf"] + 10
    with Drafter.load(SHIPPED, device="cpu") as drafter:
        draft = drafter.draft("너무 피곤해", intent="statement", profile={"name": "김민지"})
        assert draft.response_id is not None
        assert draft.text.startswith("김민지 고객님")
        assert is_polite(draft.text)
    size = sum(p.stat().st_size for p in SHIPPED.iterdir())
    assert size < 40e6, "small enough for git"
