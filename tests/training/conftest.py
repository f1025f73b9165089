"""Tiny pre-trained encoders that the training tests fine-tune (seconds, not minutes).

`tiny_pretrained` reads the public corpora, as `engage-stream pretrain` does;
`shop_pretrained` reads only the sample shop's own messages, which the project writes,
so the tests of the shop's topics run in a clone with no corpora beside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engage_stream.training.corpora import load_labelled, tokenizer_corpus
from engage_stream.training.encoder import SHAPES
from engage_stream.training.pretrain import PretrainConfig, pretrain
from engage_stream.training.recipes import SAMPLE_TOPICS


@pytest.fixture(scope="session")
def tiny_pretrained(corpora: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pretrained")
    pretrain(
        tokenizer_corpus(corpora)[:2_000],
        out,
        PretrainConfig(SHAPES["tiny"], epochs=1, batch_size=64),
    )
    return out


@pytest.fixture(scope="session")
def shop_pretrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shop-pretrained")
    texts = load_labelled(SAMPLE_TOPICS).texts
    pretrain(texts, out, PretrainConfig(SHAPES["tiny"], epochs=1, batch_size=64))
    return out
