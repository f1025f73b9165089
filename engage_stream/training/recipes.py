"""What each default model is trained on and how: one place to read or change it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engage_stream.training.classifier import FinetuneConfig
from engage_stream.training.corpora import Corpus, load_intent, load_toxicity, load_unlabeled
from engage_stream.training.self_training import SelfTrainingConfig


@dataclass(frozen=True)
class ClassifierRecipe:
    name: str
    load: Callable[[Path], Corpus]
    finetune: FinetuneConfig
    purpose: str
    unlabelled: Callable[[Path], list[str]] | None = None
    """Unlabelled text from the corpus's own source, for self-training."""
    self_training: SelfTrainingConfig | None = None


RECIPES: dict[str, ClassifierRecipe] = {
    "intent-ko": ClassifierRecipe(
        "intent-ko",
        load_intent,
        FinetuneConfig(epochs=4, learning_rate=2e-4),
        "Tells messages that ask or demand something from ones that do not (3i4K speech acts).",
    ),
    "toxicity-ko": ClassifierRecipe(
        "toxicity-ko",
        load_toxicity,
        FinetuneConfig(epochs=6, learning_rate=1e-4, max_length=96, class_weighting=0.5),
        "Escalates abusive conversations (none / offensive / hate).",
        unlabelled=load_unlabeled,
        self_training=SelfTrainingConfig(teachers=3, epochs=3),
    ),
}
