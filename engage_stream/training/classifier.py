"""Fine-tune a sequence classifier from scratch or from a local HF model folder (`--base`)."""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from engage_stream.observability.logs import get_logger
from engage_stream.training.batching import bucketed_batches, pad
from engage_stream.training.corpora import Corpus
from engage_stream.training.metrics import ClassificationMetrics, classification_metrics
from engage_stream.training.splits import Split

log = get_logger(__name__)


@dataclass(frozen=True)
class FinetuneConfig:
    epochs: int = 4
    batch_size: int = 32
    learning_rate: float = 1e-4
    max_length: int = 64
    warmup_fraction: float = 0.06
    class_weighting: float = 0.0
    """0 plain cross-entropy; 0.5 weights classes by 1/sqrt(frequency); 1 by 1/frequency."""
    max_minutes: float = 120.0
    seed: int = 20261126
    device: str = "auto"
    """auto: CUDA when torch sees a GPU, else the CPU."""


@dataclass(frozen=True)
class SoftLabelled:
    """Texts without gold labels, each with a probability per label (from teachers), trained
    on beside the labelled data with cross-entropy against those probabilities."""

    texts: list[str]
    probabilities: list[list[float]]
    weight: float = 1.0


def torch_device(setting: str) -> str:
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


def class_probabilities(
    model: object, tokenizer: object, texts: list[str], max_length: int
) -> list[list[float]]:
    """Softmax over the labels for each text, in input order (batches sorted by length)."""
    import torch

    out: list[list[float]] = [[] for _ in texts]
    model.eval()  # type: ignore[attr-defined]
    device = next(model.parameters()).device  # type: ignore[attr-defined]
    with torch.inference_mode():
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), 128):
            idx = order[start : start + 128]
            batch = tokenizer(  # type: ignore[operator]
                [texts[i] for i in idx],
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            logits = model(  # type: ignore[operator]
                input_ids=batch["input_ids"].to(device),
                attention_mask=batch["attention_mask"].to(device),
            ).logits
            for i, row in zip(idx, logits.float().softmax(-1).tolist(), strict=True):
                out[i] = row
    model.train()  # type: ignore[attr-defined]
    return out


def most_likely(rows: list[list[float]]) -> list[int]:
    """The index of each row's largest probability."""
    return [max(range(len(row)), key=row.__getitem__) for row in rows]


def predict_labels(
    model: object, tokenizer: object, texts: list[str], max_length: int
) -> list[int]:
    return most_likely(class_probabilities(model, tokenizer, texts, max_length))


def finetune(
    corpus: Corpus,
    data: Split,
    base_dir: Path,
    out_dir: Path,
    config: FinetuneConfig,
    soft: SoftLabelled | None = None,
) -> ClassificationMetrics:
    """Train, keep the epoch with the best validation macro-F1, save it as an HF folder.

    `soft` texts are mixed into the same shuffled, length-bucketed batches as the labelled
    ones; each batch's loss is the sum over its texts divided by the batch size."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    labels = corpus.label_names
    model = AutoModelForSequenceClassification.from_pretrained(
        base_dir,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={n: i for i, n in enumerate(labels)},
        ignore_mismatched_sizes=True,
    )
    device = torch_device(config.device)
    model.to(device)
    soft_texts = soft.texts if soft is not None else []
    labelled = len(data.train_texts)
    encoded = tokenizer(
        [*data.train_texts, *soft_texts], truncation=True, max_length=config.max_length
    )["input_ids"]
    lengths = [len(ids) for ids in encoded]
    counts = torch.bincount(torch.tensor(data.train_labels), minlength=len(labels)).float()
    weights = (counts.sum() / counts.clamp(min=1)) ** config.class_weighting
    class_weights = (weights / weights.mean()).to(device)
    soft_targets = torch.tensor(soft.probabilities if soft else [], dtype=torch.float32)
    soft_weight = soft.weight if soft else 0.0
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.01)
    total = max(1, config.epochs * -(-len(encoded) // config.batch_size))
    warmup = max(1, int(total * config.warmup_fraction))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    targets = torch.tensor(data.train_labels)
    best: ClassificationMetrics | None = None
    deadline = time.monotonic() + config.max_minutes * 60
    history = []
    model.train()
    for epoch in range(1, config.epochs + 1):
        for batch in bucketed_batches(lengths, config.batch_size, rng):
            ids, attention = pad([encoded[i] for i in batch], tokenizer.pad_token_id)
            logits = model(input_ids=ids.to(device), attention_mask=attention.to(device)).logits
            rows = torch.tensor(batch)
            gold = rows < labelled
            loss = torch.nn.functional.cross_entropy(
                logits[gold.to(device)],
                targets[rows[gold]].to(device),
                weight=class_weights,
                reduction="sum",
            )
            if not gold.all():
                log_p = torch.log_softmax(logits[(~gold).to(device)], dim=-1)
                teacher = soft_targets[rows[~gold] - labelled].to(device)
                loss = loss - soft_weight * (teacher * log_p).sum()
            loss = loss / len(batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            if time.monotonic() > deadline:
                break
        predicted = predict_labels(model, tokenizer, data.val_texts, config.max_length)
        metrics = classification_metrics(data.val_labels, predicted, labels)
        history.append(
            {
                "epoch": epoch,
                "accuracy": round(metrics.accuracy, 4),
                "macro_f1": round(metrics.macro_f1, 4),
            }
        )
        log.info("finetune_epoch", model=out_dir.name, **history[-1])
        if best is None or metrics.macro_f1 > best.macro_f1:
            best = metrics
            model.to("cpu").save_pretrained(out_dir)
            model.to(device)
            tokenizer.save_pretrained(out_dir)
        if time.monotonic() > deadline:
            log.warning("finetune_time_budget_spent", model=out_dir.name, epoch=epoch)
            break
    assert best is not None
    (out_dir / "engage-finetune.json").write_text(
        json.dumps({"config": asdict(config), "history": history}, indent=2)
    )
    return best
