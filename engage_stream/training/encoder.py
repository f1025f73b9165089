"""Shapes of the project's own encoders, from tiny (tests) to the shipped default."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class EncoderShape:
    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int = 128

    def bert_config(self, **overrides: object) -> object:
        from transformers import BertConfig

        return BertConfig(**{**asdict(self), **overrides})


SHAPES = {
    "small": EncoderShape(8_000, 256, 4, 4, 1_024),
    "tiny": EncoderShape(1_000, 32, 2, 2, 64, 64),
}
