"""A tiny pre-trained encoder that the training tests fine-tune (seconds, not minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engage_stream.training.corpora import tokenizer_corpus
from engage_stream.training.encoder import SHAPES
from engage_stream.training.pretrain import PretrainConfig, pretrain


@pytest.fixture(scope="session")
def tiny_pretrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pretrained")
    pretrain(
        tokenizer_corpus()[:2_000], out, PretrainConfig(SHAPES["tiny"], epochs=1, batch_size=64)
    )
    return out
