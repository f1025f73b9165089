"""`engage-stream export HF_DIR [--out DIR]` as a person runs it after training."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from engage_stream.cli.app import app
from engage_stream.inference.model_folder import MANIFEST
from tests.tiny_models import TinyModels, tiny_models

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    return tiny_models(tmp_path_factory)


def test_export_writes_the_model_folder_under_the_model_dir_by_default(
    tiny: TinyModels, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGAGE_MODEL_DIR", str(tmp_path))
    result = runner.invoke(app, ["export", str(tiny.hf_classifier)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "intent-tiny"
    assert result.stdout.strip().splitlines()[-1] == str(out)
    assert (out / MANIFEST).is_file()
    assert "parity on 16 texts: fp32 max |diff|" in result.output


def test_export_takes_parity_texts_and_an_out_folder(tiny: TinyModels, tmp_path: Path) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("환불해 주세요\n\n배송이 언제 오나요\n", encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "export",
            str(tiny.hf_classifier),
            "--out",
            str(tmp_path / "m"),
            "--parity-texts",
            str(texts),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "parity on 2 texts" in result.output


def test_a_missing_folder_is_named_without_a_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", str(tmp_path / "nope"), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1
    assert f"engage-stream: {tmp_path / 'nope'}: not found" in result.output
    assert "Traceback" not in result.output
