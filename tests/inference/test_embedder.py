"""Sentence vectors for the reply drafter: unit length, masked mean of PyTorch's token
vectors, independent of batch-mates, in input order."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from transformers import AutoModel

from engage_stream.inference import Embedder, ModelFolderError
from engage_stream.inference.batching import TextEncoder, pad_batch
from engage_stream.inference.model_folder import sha256_of
from tests.tiny_models import MAX_LENGTH, TinyModels, korean_lines

HIDDEN = 32


@pytest.fixture(scope="module")
def embedder(tiny: TinyModels) -> Iterator[Embedder]:
    with Embedder.load(tiny.embedder, device="cpu", precision="fp32") as loaded:
        yield loaded


def test_vectors_are_unit_length_float32_rows_in_input_order(embedder: Embedder) -> None:
    texts = [*korean_lines(30), "", "Where is my order?"]
    result = embedder.embed(texts)
    assert result.vectors.shape == (len(texts), HIDDEN)
    assert result.vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(result.vectors, axis=1), 1.0, atol=1e-5)
    one_by_one = np.vstack([embedder.embed([text]).vectors for text in texts])
    assert np.abs(result.vectors - one_by_one).max() < 1e-4
    assert result.truncated == [False] * len(texts)


def test_a_vector_is_the_masked_mean_of_pytorch_token_vectors(
    tiny: TinyModels, embedder: Embedder
) -> None:
    texts = korean_lines(16)
    encoder = TextEncoder(tiny.embedder / "tokenizer.json", MAX_LENGTH, None)
    feeds = pad_batch(encoder.encode(texts), encoder.pad_id, MAX_LENGTH)
    model = AutoModel.from_pretrained(tiny.hf_encoder).eval()
    with torch.inference_mode():
        hidden = model(**{k: torch.from_numpy(v) for k, v in feeds.items()}).last_hidden_state
    mask = torch.from_numpy(feeds["attention_mask"]).unsqueeze(-1).float()
    mean = (hidden * mask).sum(1) / mask.sum(1)
    expected = torch.nn.functional.normalize(mean, dim=1).numpy()
    assert np.abs(embedder.embed(texts).vectors - expected).max() < 1e-4


def test_the_stamp_names_the_file_served(tiny: TinyModels, embedder: Embedder) -> None:
    result = embedder.embed(["네"])
    assert result.model.name == "encoder-tiny"
    assert result.model.sha256 == sha256_of(tiny.embedder / "model.onnx")


async def test_aembed_gives_what_embed_gives(embedder: Embedder) -> None:
    texts = korean_lines(10)
    assert np.array_equal((await embedder.aembed(texts)).vectors, embedder.embed(texts).vectors)


def test_no_texts_give_an_empty_matrix_of_the_right_width(embedder: Embedder) -> None:
    assert embedder.embed([]).vectors.shape == (0, HIDDEN)


def test_a_classifier_folder_is_not_an_embedder(tiny: TinyModels) -> None:
    with pytest.raises(
        ModelFolderError, match=r"a text-classification model; it cannot serve the embedding head"
    ):
        Embedder.load(tiny.classifier, device="cpu")
