"""Customer lines from the shared public corpora, read directly (no training extra).

3i4K's questions and commands are what people also type to a shop's bot (the weather,
music); the chatbot corpus's everyday pairs are the bot's small talk. A missing folder or
file adds nothing, and the stream uses its own lines alone.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CorpusLines:
    """Customer lines from the shared corpora; empty when the folder or files are missing."""

    out_of_scope: tuple[str, ...] = ()
    """3i4K questions and commands: what people also type to a shop's bot (weather, music)."""
    small_talk: tuple[tuple[str, str], ...] = ()
    """Chatbot corpus everyday (label 0) question/answer pairs: the bot's small talk."""

    def __bool__(self) -> bool:
        return bool(self.out_of_scope or self.small_talk)


_3I4K_QUESTION_COMMAND = {"2", "3"}


@functools.lru_cache(maxsize=4)
def load_corpus_lines(data_dir: Path | None) -> CorpusLines:
    """Read what the stream uses from `data_dir`; a missing or unreadable file adds nothing."""
    if data_dir is None:
        return CorpusLines()
    out_of_scope: list[str] = []
    try:
        text = (data_dir / "3i4k" / "train.tsv").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    # split("\n"), not splitlines(): some texts hold U+2028 or \x1c, which are not line ends.
    for line in text.split("\n"):
        label, _, utterance = line.partition("\t")
        utterance = utterance.strip()
        if label in _3I4K_QUESTION_COMMAND and 6 <= len(utterance) <= 60:
            out_of_scope.append(utterance)
    small_talk: list[tuple[str, str]] = []
    try:
        with (data_dir / "chatbot" / "train.csv").open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                question, answer = (row.get("Q") or "").strip(), (row.get("A") or "").strip()
                if row.get("label") == "0" and question and answer:
                    small_talk.append((question, answer))
    except (OSError, UnicodeDecodeError, csv.Error):
        small_talk = []
    return CorpusLines(tuple(out_of_scope), tuple(small_talk))
