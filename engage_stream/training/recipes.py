"""What each default model is trained on and how: one place to read or change it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.training.char_grams import GramsConfig
from engage_stream.training.classifier import FinetuneConfig
from engage_stream.training.corpora import (
    Corpus,
    load_intent,
    load_labelled,
    load_toxicity,
    load_unlabeled,
)
from engage_stream.training.multihead import MultiHeadConfig
from engage_stream.training.self_training import SelfTrainingConfig

SAMPLE_SHOP = PROJECT_ROOT / "data" / "sample-shop"
SAMPLE_TOPICS = SAMPLE_SHOP / "topic-messages.jsonl"
"""The sample shop's labelled messages, written for it by the project (Apache-2.0)."""
SAMPLE_BANK = SAMPLE_SHOP / "knowledge-bank.yaml"
SAMPLE_CHECK = SAMPLE_SHOP / "topic-check.jsonl"
"""Messages written apart from the training file, by another author: a generalisation check."""
"""Its knowledge bank: every example question is a message of its answer's topic."""


def bank_examples(path: Path, label_names: Sequence[str]) -> tuple[list[str], list[int]]:
    """The bank's example questions with their answer's topic, as training examples; a bank
    topic the labelled messages do not have is an error (one taxonomy, not two)."""
    from engage_stream.drafting.bank_file import load_bank_file

    bank = load_bank_file(path, label_names)
    pairs = [(q, label_names.index(a.topic)) for a in bank.answers for q in a.questions]
    return [q for q, _ in pairs], [label for _, label in pairs]


SHOP_LICENCE = "Apache-2.0"


def load_topics(path: Path | None = None) -> Corpus:
    """A shop's labelled messages; None: the sample shop's."""
    path = path or SAMPLE_TOPICS
    return load_labelled(
        path, "shop-topics", SHOP_LICENCE if path == SAMPLE_TOPICS else "the shop's own"
    )


@dataclass(frozen=True)
class ClassifierRecipe:
    name: str
    load: Callable[[Path | None], Corpus]
    """Reads the corpora folder (None: `ENGAGE_DATA_DIR`), or the labelled file."""
    finetune: FinetuneConfig
    purpose: str
    unlabelled: Callable[[Path | None], list[str]] | None = None
    """Unlabelled text from the corpus's own source, for self-training."""
    self_training: SelfTrainingConfig | None = None
    data_file: Path | None = None
    """Trained on a labelled file (`--data`, this by default), not on the shared corpora."""


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
    "topic-ko": ClassifierRecipe(
        "topic-ko",
        load_topics,
        FinetuneConfig(epochs=15, learning_rate=5e-4, max_length=96),
        "What the customer writes about, in the shop's own topics (배송 조회, 환불, 교환, ...).",
        data_file=SAMPLE_TOPICS,
    ),
}


@dataclass(frozen=True)
class HeadRecipe:
    name: str
    load: Callable[[Path | None], Corpus]
    teacher: str | None
    """The shipped single-head model (a folder under models/) that teaches this head."""
    select_by: str
    class_weighting: float = 0.0
    repeat: int = 1
    from_file: bool = False
    """Reads the shop's labelled file (`--data`), not the shared corpora, and learns from
    the knowledge bank's example questions too (`--bank`)."""


@dataclass(frozen=True)
class MultiHeadRecipe:
    name: str
    heads: tuple[HeadRecipe, ...]
    config: MultiHeadConfig
    purpose: str
    unlabelled: Callable[[Path | None], list[str]]
    background_head: str
    background_label: str
    background_texts: int
    """Everyday utterances (3i4K) the topic head learns as `background_label`, weighted
    below the shop's own messages, so small talk does not get a shop topic."""


MULTIHEAD = MultiHeadRecipe(
    "multihead-ko",
    (
        HeadRecipe("intent", load_intent, "intent-ko", "accuracy"),
        HeadRecipe("toxicity", load_toxicity, "toxicity-ko", "macro_f1", class_weighting=0.5),
        HeadRecipe("topic", load_topics, None, "accuracy", repeat=6, from_file=True),
    ),
    MultiHeadConfig(epochs=4, learning_rate=2e-4, max_length=96),
    "One encoder pass for intent (3i4K speech acts), toxicity (none / offensive / hate), the "
    "shop's topic, and a sentence embedding for the knowledge bank.",
    load_unlabeled,
    "topic",
    "other",
    2_000,
)


@dataclass(frozen=True)
class GramsRecipe:
    name: str
    config: GramsConfig
    purpose: str


TOPIC_GRAMS = GramsRecipe(
    "topic-grams-ko",
    GramsConfig(),
    "What the customer writes about, in the shop's own topics, from the character n-grams "
    "of the message: served beside the encoder's heads at no encoder cost.",
)
