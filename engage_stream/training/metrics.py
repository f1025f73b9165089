"""Classification metrics, computed the same way for baselines and models."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClassificationMetrics:
    accuracy: float
    macro_f1: float
    per_class_f1: dict[str, float]
    confusion: list[list[int]]
    support: int

    def as_dict(self) -> dict[str, object]:
        return {
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "per_class_f1": {k: round(v, 4) for k, v in self.per_class_f1.items()},
            "confusion": self.confusion,
            "support": self.support,
        }


def classification_metrics(
    gold: list[int], predicted: list[int], label_names: tuple[str, ...]
) -> ClassificationMetrics:
    n = len(label_names)
    confusion = [[0] * n for _ in range(n)]
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    f1s = {}
    for k, name in enumerate(label_names):
        tp = confusion[k][k]
        fp = sum(confusion[g][k] for g in range(n)) - tp
        fn = sum(confusion[k]) - tp
        f1s[name] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    correct = sum(confusion[k][k] for k in range(n))
    return ClassificationMetrics(
        accuracy=correct / max(1, len(gold)),
        macro_f1=sum(f1s.values()) / n,
        per_class_f1=f1s,
        confusion=confusion,
        support=len(gold),
    )
