"""From texts to padded arrays: tokenise, truncate, bucket by length, pad each batch.

Chat messages are short and their lengths vary, so a batch is padded only to its own
longest member (rounded up to a multiple of 8, which the matrix kernels like), and texts
are sorted by length first so that short ones are not padded to a long neighbour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from engage_stream.inference.model_folder import ModelFolderError

PAD_MULTIPLE = 8
# Characters kept per token of max_length: a token covers at least one character, so a
# text cut there still fills the model unless it is mostly spaces. Bounds the tokenizer's
# work (and memory) on an enormous message.
CHARS_PER_TOKEN = 16
_PAD_TOKENS = ("[PAD]", "<pad>")

Feeds = dict[str, np.ndarray]


@dataclass(frozen=True, slots=True)
class Encoded:
    ids: list[int]
    type_ids: list[int]
    truncated: bool


class TextEncoder:
    """A `tokenizers` tokenizer with the engine's truncation, and no padding of its own."""

    def __init__(self, tokenizer_file: Path, max_length: int, pad_token_id: int | None) -> None:
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_file))
        except Exception as exc:  # tokenizers raises plain Exception for a bad file
            raise ModelFolderError(
                tokenizer_file.parent, f"{tokenizer_file.name} is not a readable tokenizer: {exc}"
            ) from None
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length)
        self._tokenizer = tokenizer
        self.max_length = max_length
        self.pad_id = pad_token_id if pad_token_id is not None else _pad_id_of(tokenizer)
        self._max_chars = max_length * CHARS_PER_TOKEN

    def encode(self, texts: Sequence[str]) -> list[Encoded]:
        """One `Encoded` per text, in order; `truncated` when the model sees less than all."""
        clipped = [self._clip(text) for text in texts]
        encodings = self._tokenizer.encode_batch([text for text, _ in clipped])
        return [
            # A tokenizer without [CLS]/[SEP] gives nothing for "": the model sees one pad.
            Encoded(e.ids or [self.pad_id], e.type_ids or [0], cut or bool(e.overflowing))
            for e, (_, cut) in zip(encodings, clipped, strict=True)
        ]

    def _clip(self, text: str) -> tuple[str, bool]:
        cut = len(text) > self._max_chars
        if cut:
            text = text[: self._max_chars]
        # A lone surrogate (a JSON "\ud800" escape) cannot reach the Rust tokenizer.
        return text.encode("utf-8", "replace").decode("utf-8"), cut


def _pad_id_of(tokenizer: Tokenizer) -> int:
    padding = tokenizer.padding
    if padding is not None:
        return int(padding["pad_id"])
    for token in _PAD_TOKENS:
        found = tokenizer.token_to_id(token)
        if found is not None:
            return int(found)
    return 0


def plan_batches(lengths: Sequence[int], max_batch: int, slices: int = 1) -> list[list[int]]:
    """Input indices grouped into batches of similar length, at most `max_batch` each,
    and each batch cut into up to `slices` slices of about equal work (tokens, padding
    included), for lanes to run at once. Short texts are cheap, so the shortest slice
    holds the most texts; equal counts would leave one lane waiting on another."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    planned: list[list[int]] = []
    for start in range(0, len(order), max_batch):
        batch = order[start : start + max_batch]
        planned.extend(_balanced([lengths[i] for i in batch], batch, slices))
    return planned


def _balanced(lengths: Sequence[int], batch: list[int], slices: int) -> list[list[int]]:
    """`batch` (sorted by length) cut into at most `slices` contiguous slices so that the
    largest slice's work (texts x its padded length) is as small as it can be."""
    if slices <= 1 or len(batch) <= 1:
        return [batch]
    work = [-(-n // PAD_MULTIPLE) * PAD_MULTIPLE for n in lengths]

    def cuts(limit: int) -> list[int] | None:
        ends, start = [], 0
        while start < len(work):
            end = start + 1
            while end < len(work) and (end + 1 - start) * work[end] <= limit:
                end += 1
            ends.append(end)
            start = end
        return ends if len(ends) <= slices else None

    low, high = max(work), len(work) * work[-1]  # a slice of one text; everything at once
    while low < high:
        middle = (low + high) // 2
        if cuts(middle) is None:
            low = middle + 1
        else:
            high = middle
    ends = cuts(low) or [len(batch)]
    return [batch[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]


def padded_length(longest: int, limit: int) -> int:
    """`longest` rounded up to a multiple of 8, never past `limit` (the truncation length)."""
    rounded = -(-longest // PAD_MULTIPLE) * PAD_MULTIPLE
    return max(longest, min(rounded, limit))


def pad_batch(rows: Sequence[Encoded], pad_id: int, limit: int) -> Feeds:
    """input_ids, attention_mask and token_type_ids (int64), padded on the right."""
    width = padded_length(max(len(r.ids) for r in rows), limit)
    input_ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(rows), width), dtype=np.int64)
    token_type_ids = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        n = len(row.ids)
        input_ids[i, :n] = row.ids
        attention_mask[i, :n] = 1
        token_type_ids[i, :n] = row.type_ids
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "token_type_ids": token_type_ids,
    }
