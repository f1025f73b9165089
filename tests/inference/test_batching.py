"""Texts become padded batches: truncated to max_length, sorted by length, each batch
padded only to its own longest member, rounded up to a multiple of 8, and cut into
slices of about equal work for the CPU lanes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

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


def _work(lengths: list[int], piece: list[int]) -> int:
    return len(piece) * padded_length(max(lengths[i] for i in piece), 10_000)


def test_slices_even_out_the_work_so_the_short_slice_holds_more_texts() -> None:
    lengths = [4] * 24 + [40] * 8  # chat: many short messages, a few long ones
    first, second = plan_batches(lengths, max_batch=32, slices=2)
    assert [lengths[i] for i in first] == [4] * 24
    assert [lengths[i] for i in second] == [40] * 8
    # Equal counts (16 and 16) would put 16 x 40 tokens on one lane and 16 x 8 on the other.
    assert max(_work(lengths, first), _work(lengths, second)) == 8 * 40


def test_each_batch_is_sliced_on_its_own_and_never_into_more_than_asked() -> None:
    lengths = list(range(1, 11))
    planned = plan_batches(lengths, max_batch=4, slices=2)
    assert [len(p) for p in planned] == [2, 2, 2, 2, 1, 1]
    assert plan_batches([7], max_batch=32, slices=4) == [[0]]


@given(
    lengths=st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=200),
    max_batch=st.integers(min_value=1, max_value=128),
    slices=st.integers(min_value=1, max_value=8),
)
def test_slices_cover_every_text_once_in_length_order_and_beat_equal_counts(
    lengths: list[int], max_batch: int, slices: int
) -> None:
    planned = plan_batches(lengths, max_batch, slices)
    assert sorted(i for piece in planned for i in piece) == list(range(len(lengths)))
    assert [lengths[i] for piece in planned for i in piece] == sorted(lengths)
    assert all(piece for piece in planned)
    whole = plan_batches(lengths, max_batch)
    assert len(planned) <= len(whole) * slices
    # Within each batch, the largest slice is no more work than an equal-count cut.
    for batch in whole:
        mine = [piece for piece in planned if piece[0] in batch]
        size = -(-len(batch) // slices)
        equal = [batch[i : i + size] for i in range(0, len(batch), size)]
        assert max(_work(lengths, p) for p in mine) <= max(_work(lengths, p) for p in equal)


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
