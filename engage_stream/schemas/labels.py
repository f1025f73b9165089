"""Model label names: part of the contract, since `classify` output and decisions use them."""

from __future__ import annotations

INTENT_LABELS: tuple[str, ...] = (
    "fragment",
    "statement",
    "question",
    "command",
    "rhetorical_question",
    "rhetorical_command",
    "intonation_dependent",
)
"""3i4K speech acts, in the corpus's id order 0-6."""

TOXICITY_LABELS: tuple[str, ...] = ("none", "offensive", "hate")
"""Korean hate-speech corpus labels."""
