"""The project's Korean WordPiece tokenizer, trained with `tokenizers` on the shared corpora."""

from __future__ import annotations

import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _wordpiece(vocab: dict[str, int] | None = None) -> Any:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    # NFKC keeps Hangul syllables composed; no lower-casing, no accent stripping (it would
    # decompose Hangul into jamo).
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    return tokenizer


def _alphabet(texts: list[str], size: int) -> list[str]:
    """The `size` most frequent characters, ties broken by the character itself: the Rust
    trainer breaks them in hash order, which changes from process to process. Rarer
    syllables fall back to [UNK] rather than crowding out subwords."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(unicodedata.normalize("NFKC", text))
    counts.pop(" ", None)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [char for char, _ in ranked[:size]]


def build_wordpiece(texts: list[str], vocab_size: int, max_length: int = 128) -> Any:
    """A transformers fast tokenizer; the same texts always give the same ids."""
    from tokenizers import processors
    from tokenizers.trainers import WordPieceTrainer
    from transformers import PreTrainedTokenizerFast

    trained = _wordpiece()
    alphabet = _alphabet(texts, min(3_000, vocab_size // 2))
    trained.train_from_iterator(
        texts,
        trainer=WordPieceTrainer(
            vocab_size=vocab_size,
            min_frequency=2,
            special_tokens=SPECIAL_TOKENS,
            initial_alphabet=alphabet,
            limit_alphabet=len(alphabet),
            show_progress=False,
        ),
    )
    # The trainer numbers tokens in a different order on every run; sorted ids make a
    # retrained model (and every test number) the same from run to run.
    rest = sorted(set(trained.get_vocab()) - set(SPECIAL_TOKENS))
    tokenizer = _wordpiece({token: i for i, token in enumerate([*SPECIAL_TOKENS, *rest])})
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
    )


def train_wordpiece(texts: list[str], vocab_size: int, out_dir: Path) -> Path:
    """Train and save into `out_dir` (tokenizer.json and the transformers files)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    build_wordpiece(texts, vocab_size).save_pretrained(out_dir)
    return out_dir / "tokenizer.json"
