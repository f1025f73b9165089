"""Texts become padded batches: truncated to max_length, sorted by length, each batch
padded only to its own longest member, rounded up to a multiple of 8."""

from __future__ import annotations

import numpy as np
import pytest

from engage_stream.inference.batching import (
    Encoded,
    TextEncoder,
    pad_batch,
    padded_length,
    plan_batches,
)
from tests.tiny_models import MAX_LENGTH, TinyModels


@pytest.fixture(scope="module")
def encoder(tiny: TinyModels) -> TextEncoder:
    return TextEncoder(tiny.classifier / "tokenizer.json", MAX_LENGTH, pad_token_id=None)


def test_batches_group_similar_lengths_and_respect_the_size_limit() -> None:
    lengths = [30, 5, 12, 5, 64, 7, 9]
    batches = plan_batches(lengths, max_batch=3)
    assert [len(b) for b in batches] == [3, 3, 1]
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths)


@pytest.mark.parametrize(
    ("longest", "limit", "expected"),
    [(1, 64, 8), (8, 64, 8), (9, 64, 16), (61, 64, 64), (64, 64, 64), (60, 62, 62), (5, 3, 5)],
)
def test_padding_rounds_up_to_a_multiple_of_8_but_not_past_the_limit(
    longest: int, limit: int, expected: int
) -> None:
    assert padded_length(longest, limit) == expected


def test_a_batch_is_padded_on_the_right_with_a_matching_mask() -> None:
    rows = [
        Encoded([2, 10, 3], [0, 0, 0], False),
        Encoded([2, 11, 12, 13, 3], [0, 0, 0, 0, 0], False),
    ]
    feeds = pad_batch(rows, pad_id=0, limit=64)
    assert feeds["input_ids"].tolist() == [[2, 10, 3, 0, 0, 0, 0, 0], [2, 11, 12, 13, 3, 0, 0, 0]]
    assert feeds["attention_mask"].sum(axis=1).tolist() == [3, 5]
    assert all(array.dtype == np.int64 for array in feeds.values())


def test_texts_are_truncated_to_max_length_and_say_so(encoder: TextEncoder) -> None:
    short, long = encoder.encode(["배송이 언제 오나요?", "배송이 언제 오나요? " * 200])
    assert not short.truncated
    assert long.truncated
    assert len(long.ids) == MAX_LENGTH


def test_an_enormous_text_is_cut_before_the_tokenizer_and_flagged(encoder: TextEncoder) -> None:
    (spaces,) = encoder.encode(["가" + " " * 100_000 + "나"])
    assert spaces.truncated, "the model never sees the tail, so the flag is set"
    (huge,) = encoder.encode(["가나다라 " * 25_000])
    assert huge.truncated
    assert len(huge.ids) == MAX_LENGTH


@pytest.mark.parametrize("text", ["", "   ", "Where is my order?", "🙂🙂", "a\ud800b", "\x00\x1f"])
def test_odd_texts_still_encode_to_special_tokens_at_least(encoder: TextEncoder, text: str) -> None:
    (encoded,) = encoder.encode([text])
    assert len(encoded.ids) >= 2
    assert not encoded.truncated


def test_the_pad_id_comes_from_the_tokenizer_when_config_has_none(encoder: TextEncoder) -> None:
    assert encoder.pad_id == 0  # [PAD] is the first special token of the tiny vocabulary
