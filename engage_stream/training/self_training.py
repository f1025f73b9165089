"""Self-training: teachers fine-tuned on the labelled data label the corpus's unlabelled
text, and the model learns from both.

For toxicity the labelled comments are few (7k) and the same source has 29k more that are
not labelled. The teachers' averaged probabilities carry what the labelled set teaches into
that text, so the model sees the task on five times the comments. On the validation split
the model beat its own teachers' average in each of three runs, by 1.0 to 2.0 macro-F1
points (0.599 vs 0.589 with this recipe's three teachers; 0.616 and 0.614 vs 0.596 with
four); how high it ends still follows the teachers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from engage_stream.observability.logs import get_logger
from engage_stream.training.classifier import (
    FinetuneConfig,
    SoftLabelled,
    class_probabilities,
    finetune,
    most_likely,
    torch_device,
)
from engage_stream.training.corpora import Corpus
from engage_stream.training.metrics import ClassificationMetrics, classification_metrics
from engage_stream.training.splits import Split

log = get_logger(__name__)


@dataclass(frozen=True)
class SelfTrainingConfig:
    teachers: int = 3
    """Labelled-only fine-tunes, seeds seed+1 .. seed+N; their probabilities are averaged."""
    epochs: int = 3
    """The student's epochs over labelled + unlabelled text (more text per epoch)."""
    weight: float = 1.0
    """Weight of an unlabelled text's loss against a labelled one's."""


@dataclass(frozen=True)
class SelfTrainingResult:
    metrics: ClassificationMetrics
    teachers: list[dict[str, object]]
    ensemble: ClassificationMetrics
    unlabelled: int


def unlabelled_texts(unlabelled: list[str], corpus: Corpus) -> list[str]:
    """Distinct unlabelled texts that are not also labelled texts (sorted: reproducible)."""
    labelled = set(corpus.texts)
    return sorted({text for text in unlabelled if text and text not in labelled})


def self_train(
    corpus: Corpus,
    data: Split,
    unlabelled: list[str],
    base_dir: Path,
    out_dir: Path,
    teacher_config: FinetuneConfig,
    config: SelfTrainingConfig,
) -> SelfTrainingResult:
    """Train the teachers beside `out_dir` (`<out>-teacher-K`), then the student in it."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if config.teachers < 1:
        raise ValueError("self-training needs at least one teacher")
    texts = unlabelled_texts(unlabelled, corpus)
    device = torch_device(teacher_config.device)
    # Each teacher's probabilities for the unlabelled texts, then the validation texts.
    per_teacher: list[list[list[float]]] = []
    teachers: list[dict[str, object]] = []
    for k in range(1, config.teachers + 1):
        folder = out_dir.parent / f"{out_dir.name}-teacher-{k}"
        seeded = replace(teacher_config, seed=teacher_config.seed + k)
        metrics = finetune(corpus, data, base_dir, folder, seeded)
        teachers.append(
            {
                "folder": str(folder),
                "seed": seeded.seed,
                "accuracy": round(metrics.accuracy, 4),
                "macro_f1": round(metrics.macro_f1, 4),
            }
        )
        log.info("teacher_trained", model=out_dir.name, teacher=k, **teachers[-1])
        model = AutoModelForSequenceClassification.from_pretrained(folder).to(device)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        per_teacher.append(
            class_probabilities(
                model, tokenizer, [*texts, *data.val_texts], teacher_config.max_length
            )
        )
    averaged = [
        [sum(ps) / len(ps) for ps in zip(*rows, strict=True)]
        for rows in zip(*per_teacher, strict=True)
    ]
    unlabelled_rows, val_rows = averaged[: len(texts)], averaged[len(texts) :]
    ensemble = classification_metrics(data.val_labels, most_likely(val_rows), corpus.label_names)
    student = replace(teacher_config, epochs=config.epochs)
    soft = SoftLabelled(texts, unlabelled_rows, config.weight)
    metrics = finetune(corpus, data, base_dir, out_dir, student, soft)
    return SelfTrainingResult(metrics, teachers, ensemble, len(texts))
