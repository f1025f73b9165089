"""One shared encoder, several heads: intent, toxicity and topic from a single forward pass.

Each head is trained on its own labelled data (3i4K, the hate-speech corpus, the shop's
topic messages) and, on every other text of the mix, on the soft labels of a teacher: the
shipped single-head model for that task. The teachers keep what each task learned when
the encoder was its alone, so the shared encoder does not trade one task for another, and
every text teaches every head. Unlabelled text (the hate-speech corpus's comments) is
taught by the teachers only, as self-training did for toxicity-ko.

The model saves as a Hugging Face encoder folder (`config.json`, `model.safetensors`,
tokenizer) plus `heads.safetensors` and the head list in `engage-train.json`; the export
turns it into one ONNX graph with one output per head.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engage_stream.observability.logs import get_logger
from engage_stream.training.batching import bucketed_batches, pad
from engage_stream.training.check_file import check_gold, check_record
from engage_stream.training.classifier import torch_device
from engage_stream.training.corpora import Corpus, project_path
from engage_stream.training.metrics import ClassificationMetrics, classification_metrics
from engage_stream.training.splits import Split

if TYPE_CHECKING:
    from engage_stream.training.recipes import MultiHeadRecipe

log = get_logger(__name__)

HEADS_FILE = "heads.safetensors"
EMBEDDING_HEAD = "embedding"


@dataclass(frozen=True)
class HeadTask:
    """One classification head: its gold data and, optionally, a teacher."""

    name: str
    corpus: Corpus
    split: Split
    teacher: Path | None = None
    """A model folder (ONNX, loaded with the engine) whose probabilities teach this head
    on texts that have no gold label for it."""
    class_weighting: float = 0.0
    """0 plain cross-entropy; 0.5 weights classes by 1/sqrt(frequency); 1 by 1/frequency."""
    select_by: str = "macro_f1"
    """The validation metric (accuracy or macro_f1) that picks the epoch kept."""
    repeat: int = 1
    """Each gold example of this head is seen this many times per epoch: a small data set
    (a shop's topics) among large corpora would otherwise get too few updates."""

    @property
    def labels(self) -> tuple[str, ...]:
        return self.corpus.label_names


@dataclass(frozen=True)
class Background:
    """Texts from outside the shop (everyday chat) that one head learns as one label, so
    it does not put a shop topic on small talk. Weighted below the shop's own data."""

    head: str
    label: str
    texts: list[str]
    weight: float = 0.3


@dataclass(frozen=True)
class MultiHeadConfig:
    epochs: int = 4
    batch_size: int = 32
    learning_rate: float = 2e-4
    max_length: int = 96
    warmup_fraction: float = 0.06
    soft_weight: float = 1.0
    """Weight of a teacher's soft label against a gold one."""
    head_dropout: float = 0.1
    max_minutes: float = 240.0
    seed: int = 20261126
    device: str = "auto"


@dataclass
class _Example:
    text: str
    gold: dict[str, int] = field(default_factory=dict)
    weight: dict[str, float] = field(default_factory=dict)
    soft: dict[str, list[float]] = field(default_factory=dict)
    copies: int = 1


@dataclass(frozen=True)
class MultiHeadResult:
    metrics: dict[str, ClassificationMetrics]
    epoch: int
    history: list[dict[str, Any]]
    texts: int
    """Texts per epoch (repeated ones counted each time)."""
    taught: dict[str, int]
    """Texts per head that learned from the teacher (no gold label there)."""


def build_model(base_dir: Path, heads: Mapping[str, int], dropout: float = 0.1) -> Any:
    """The torch module: the base encoder (no pooler) and a small MLP per head on [CLS]."""
    import torch
    from transformers import AutoModel

    class Head(torch.nn.Module):
        def __init__(self, hidden: int, labels: int) -> None:
            super().__init__()
            self.dropout = torch.nn.Dropout(dropout)
            self.dense = torch.nn.Linear(hidden, hidden)
            self.out = torch.nn.Linear(hidden, labels)

        def forward(self, cls: torch.Tensor) -> torch.Tensor:
            return self.out(self.dropout(torch.tanh(self.dense(self.dropout(cls)))))

    class MultiHead(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(base_dir, add_pooling_layer=False)
            hidden = self.encoder.config.hidden_size
            self.heads = torch.nn.ModuleDict({n: Head(hidden, k) for n, k in heads.items()})

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Any:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
            cls = hidden[:, 0]
            out = {name: head(cls) for name, head in self.heads.items()}
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            out[EMBEDDING_HEAD] = torch.nn.functional.normalize(mean, dim=-1)
            return out

    return MultiHead()


def save_model(
    model: Any, tokenizer: Any, out_dir: Path, labels: Mapping[str, Sequence[str]]
) -> None:
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    tensors = {f"{k}": v.detach().cpu().contiguous() for k, v in model.heads.state_dict().items()}
    save_file(tensors, str(out_dir / HEADS_FILE), metadata={"heads": json.dumps(dict(labels))})


def load_model(hf_dir: Path) -> Any:
    """The saved multi-head model, in eval mode (for the export's parity check)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(hf_dir / HEADS_FILE), framework="pt") as handle:
        labels: dict[str, list[str]] = json.loads(handle.metadata()["heads"])
    model = build_model(hf_dir, {name: len(names) for name, names in labels.items()})
    model.heads.load_state_dict(load_file(str(hf_dir / HEADS_FILE)))
    model.eval()
    return model


def head_labels(hf_dir: Path) -> dict[str, list[str]]:
    from safetensors import safe_open

    with safe_open(str(hf_dir / HEADS_FILE), framework="pt") as handle:
        loaded: dict[str, list[str]] = json.loads(handle.metadata()["heads"])
    return loaded


def teacher_probabilities(
    model_dir: Path, labels: Sequence[str], texts: Sequence[str]
) -> list[list[float]]:
    """Each label's probability (in `labels` order) from a model folder, run by the engine
    in fp32 (batch-independent, so the same texts always teach the same)."""
    from engage_stream.inference.classifier import Classifier

    with Classifier.load(model_dir, device="cpu", precision="fp32", batch_max_size=64) as teacher:
        missing = [label for label in labels if label not in teacher.labels]
        if missing or len(teacher.labels) != len(labels):
            raise ValueError(
                f"teacher {model_dir} has labels {list(teacher.labels)}; "
                f"the head has {list(labels)}"
            )
        out: list[list[float]] = []
        for start in range(0, len(texts), 512):
            for prediction in teacher.predict(list(texts[start : start + 512])):
                out.append([prediction.scores[label] for label in labels])
        return out


def _examples(
    tasks: Sequence[HeadTask], unlabelled: Sequence[str], background: Background | None
) -> list[_Example]:
    by_text: dict[str, _Example] = {}

    def example(text: str) -> _Example:
        return by_text.setdefault(text, _Example(text))

    for task in tasks:
        for text, label in zip(task.split.train_texts, task.split.train_labels, strict=True):
            item = example(text)
            item.gold[task.name] = label
            item.weight[task.name] = 1.0
            item.copies = max(item.copies, task.repeat)
    if background is not None:
        task = next(t for t in tasks if t.name == background.head)
        label = task.labels.index(background.label)
        for text in background.texts:
            item = example(text)
            if background.head not in item.gold:
                item.gold[background.head] = label
                item.weight[background.head] = background.weight
    validation = {text for task in tasks for text in task.split.val_texts}
    for text in unlabelled:
        if text not in validation:
            example(text)
    return [by_text[text] for text in sorted(by_text)]


def _teach(examples: list[_Example], tasks: Sequence[HeadTask]) -> dict[str, int]:
    taught: dict[str, int] = {}
    for task in tasks:
        if task.teacher is None:
            continue
        untaught = [e for e in examples if task.name not in e.gold]
        probabilities = teacher_probabilities(task.teacher, task.labels, [e.text for e in untaught])
        for item, row in zip(untaught, probabilities, strict=True):
            item.soft[task.name] = row
        taught[task.name] = len(untaught)
        log.info("teacher_labelled", head=task.name, teacher=str(task.teacher), texts=len(untaught))
    return taught


def evaluate(
    model: Any, tokenizer: Any, tasks: Sequence[HeadTask], max_length: int
) -> dict[str, ClassificationMetrics]:
    import torch

    model.eval()
    device = next(model.parameters()).device
    metrics: dict[str, ClassificationMetrics] = {}
    with torch.inference_mode():
        for task in tasks:
            texts = task.split.val_texts
            predicted = [0] * len(texts)
            order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
            for start in range(0, len(order), 128):
                idx = order[start : start + 128]
                batch = tokenizer(
                    [texts[i] for i in idx],
                    truncation=True,
                    max_length=max_length,
                    padding=True,
                    return_tensors="pt",
                )
                logits = model(batch["input_ids"].to(device), batch["attention_mask"].to(device))[
                    task.name
                ]
                for i, top in zip(idx, logits.argmax(-1).tolist(), strict=True):
                    predicted[i] = top
            metrics[task.name] = classification_metrics(
                task.split.val_labels, predicted, task.labels
            )
    model.train()
    return metrics


def train_multihead(
    tasks: Sequence[HeadTask],
    base_dir: Path,
    out_dir: Path,
    config: MultiHeadConfig,
    unlabelled: Sequence[str] = (),
    background: Background | None = None,
) -> MultiHeadResult:
    """Train, keep the epoch with the best sum of each head's selection metric."""
    import torch
    from transformers import AutoTokenizer

    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    examples = _examples(tasks, unlabelled, background)
    taught = _teach(examples, tasks)
    model = build_model(base_dir, {t.name: len(t.labels) for t in tasks}, config.head_dropout)
    device = torch_device(config.device)
    model.to(device)
    encoded = tokenizer([e.text for e in examples], truncation=True, max_length=config.max_length)[
        "input_ids"
    ]
    seen = [i for i, e in enumerate(examples) for _ in range(e.copies)]
    lengths = [len(encoded[i]) for i in seen]
    class_weights = {t.name: _class_weights(t).to(device) for t in tasks}
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.01)
    total = max(1, config.epochs * -(-len(seen) // config.batch_size))
    warmup = max(1, int(total * config.warmup_fraction))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    deadline = time.monotonic() + config.max_minutes * 60
    history: list[dict[str, Any]] = []
    best: tuple[float, int, dict[str, ClassificationMetrics]] | None = None
    labels = {t.name: list(t.labels) for t in tasks}
    model.train()
    for epoch in range(1, config.epochs + 1):
        started = time.monotonic()
        for positions in bucketed_batches(lengths, config.batch_size, rng):
            batch = [seen[p] for p in positions]
            ids, attention = pad([encoded[i] for i in batch], tokenizer.pad_token_id)
            outputs = model(ids.to(device), attention.to(device))
            loss = torch.zeros((), device=device)
            for task in tasks:
                loss = loss + _head_loss(
                    outputs[task.name],
                    [examples[i] for i in batch],
                    task.name,
                    class_weights[task.name],
                    config.soft_weight,
                )
            loss = loss / len(batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            if time.monotonic() > deadline:
                break
        metrics = evaluate(model, tokenizer, tasks, config.max_length)
        score = sum(_selection(metrics[t.name], t.select_by) for t in tasks)
        history.append(
            {
                "epoch": epoch,
                "minutes": round((time.monotonic() - started) / 60, 1),
                **{
                    t.name: {
                        "accuracy": round(metrics[t.name].accuracy, 4),
                        "macro_f1": round(metrics[t.name].macro_f1, 4),
                    }
                    for t in tasks
                },
            }
        )
        log.info("multihead_epoch", **{k: v for k, v in history[-1].items()})
        if best is None or score > best[0]:
            best = (score, epoch, metrics)
            model.to("cpu")
            save_model(model, tokenizer, out_dir, labels)
            model.to(device)
        if time.monotonic() > deadline:
            log.warning("multihead_time_budget_spent", epoch=epoch)
            break
    assert best is not None
    (out_dir / "engage-finetune.json").write_text(
        json.dumps({"config": asdict(config), "history": history}, indent=2), encoding="utf-8"
    )
    return MultiHeadResult(best[2], best[1], history, len(seen), taught)


def head_predictions(hf_dir: Path, head: str, texts: Sequence[str], max_length: int) -> list[int]:
    """A saved multi-head model's label index for each text, from one head."""
    import torch
    from transformers import AutoTokenizer

    model = load_model(hf_dir)
    tokenizer = AutoTokenizer.from_pretrained(hf_dir)
    predicted: list[int] = []
    with torch.inference_mode():
        for start in range(0, len(texts), 128):
            batch = tokenizer(
                list(texts[start : start + 128]),
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            logits = model(batch["input_ids"], batch["attention_mask"])[head]
            predicted += logits.argmax(-1).tolist()
    return predicted


def _selection(metrics: ClassificationMetrics, name: str) -> float:
    return metrics.accuracy if name == "accuracy" else metrics.macro_f1


def _class_weights(task: HeadTask) -> Any:
    import torch

    counts = torch.bincount(
        torch.tensor(task.split.train_labels), minlength=len(task.labels)
    ).float()
    weights = (counts.sum() / counts.clamp(min=1)) ** task.class_weighting
    return weights / weights.mean()


def _head_loss(
    logits: Any, batch: list[_Example], head: str, class_weights: Any, soft_weight: float
) -> Any:
    """Summed over the batch: weighted cross-entropy where the text has a gold label for
    this head, cross-entropy against the teacher's probabilities where it has only those."""
    import torch

    loss = torch.zeros((), device=logits.device)
    gold_rows = [i for i, e in enumerate(batch) if head in e.gold]
    if gold_rows:
        targets = torch.tensor([batch[i].gold[head] for i in gold_rows], device=logits.device)
        weights = torch.tensor([batch[i].weight[head] for i in gold_rows], device=logits.device)
        per_text = torch.nn.functional.cross_entropy(
            logits[gold_rows], targets, weight=class_weights, reduction="none"
        )
        loss = loss + (per_text * weights).sum()
    soft_rows = [i for i, e in enumerate(batch) if head not in e.gold and head in e.soft]
    if soft_rows:
        teacher = torch.tensor([batch[i].soft[head] for i in soft_rows], device=logits.device)
        log_p = torch.log_softmax(logits[soft_rows], dim=-1)
        loss = loss - soft_weight * (teacher * log_p).sum()
    return loss


def run_recipe(
    recipe: MultiHeadRecipe,
    *,
    base: Path,
    out: Path,
    data_dir: Path | None,
    topics_file: Path,
    teachers_dir: Path,
    config: MultiHeadConfig,
    limit: int | None,
    version: str,
    command: str,
    bank: Path | None = None,
    check: Path | None = None,
) -> dict[str, Any]:
    """Train the recipe's heads into `out` and return what `engage-train.json` records:
    per head its data, split, teacher, validation metrics beside the TF-IDF + SVM baseline.
    `data_dir` None: `ENGAGE_DATA_DIR`. The check file is validated before anything trains:
    a label the topic head would not have is a `CheckFileError` naming the file and labels."""
    from datetime import UTC, datetime

    from engage_stream.inference.model_folder import sha256_of
    from engage_stream.training.baseline import tfidf_svm, tfidf_svm_predict
    from engage_stream.training.recipes import bank_examples
    from engage_stream.training.self_training import unlabelled_texts
    from engage_stream.training.splits import split, with_extra

    checked = read_check(recipe, topics_file, check) if check is not None else None
    tasks: list[HeadTask] = []
    baselines: dict[str, dict[str, object]] = {}
    corpora: dict[str, Corpus] = {}
    extras: dict[str, dict[str, object]] = {}
    chosen: dict[str, dict[str, object]] = {}
    for head in recipe.heads:
        corpus = head.load(topics_file if head.from_file else data_dir)
        data = split(corpus)
        if limit is not None:
            data = replace(
                data,
                train_texts=data.train_texts[:limit],
                train_labels=data.train_labels[:limit],
            )
        if head.from_file and bank is not None:
            data, added = with_extra(data, *bank_examples(bank, corpus.label_names))
            extras[head.name] = {
                "file": project_path(bank),
                "sha256": sha256_of(bank),
                "added": added,
            }
        teacher = teachers_dir / head.teacher if head.teacher else None
        if teacher is not None and not teacher.is_dir():
            raise FileNotFoundError(f"teacher {teacher} not found (the shipped {head.teacher})")
        tasks.append(
            HeadTask(
                head.name,
                corpus,
                data,
                teacher,
                class_weighting=head.class_weighting,
                select_by=head.select_by,
                repeat=head.repeat,
            )
        )
        corpora[head.name] = corpus
        metrics, params = tfidf_svm(corpus, data)
        chosen[head.name] = params
        baselines[head.name] = {"method": "tfidf-char-svm", "params": params, **metrics.as_dict()}
    toxicity = corpora["toxicity"]
    unlabelled = unlabelled_texts(recipe.unlabelled(data_dir), toxicity)[:limit]
    intent_texts = next(t for t in tasks if t.name == "intent").split.train_texts
    rng = random.Random(config.seed)
    background = Background(
        recipe.background_head,
        recipe.background_label,
        rng.sample(intent_texts, min(recipe.background_texts, len(intent_texts))),
    )
    result = train_multihead(tasks, base, out, config, unlabelled, background)
    checks: dict[str, dict[str, object]] = {}
    for head, task in zip(recipe.heads, tasks, strict=True):
        if head.from_file and check is not None and checked is not None:
            texts, gold = checked
            model = head_predictions(out, task.name, texts, config.max_length)
            svm = tfidf_svm_predict(task.split, chosen[task.name], texts)
            checks[task.name] = check_record(project_path(check), gold, model, svm, task.labels)
    heads: list[dict[str, Any]] = []
    for task in tasks:
        heads.append(
            {
                "name": task.name,
                "kind": "classification",
                "labels": list(task.labels),
                "data": {
                    "corpus": task.corpus.name,
                    "source": task.corpus.source,
                    "licence": task.corpus.licence,
                    **({"bank_examples": extras[task.name]} if task.name in extras else {}),
                },
                "split": {
                    "seed": task.split.seed,
                    "train": len(task.split.train_texts),
                    "validation": len(task.split.val_texts),
                    "duplicates_merged": task.split.dropped_duplicates,
                },
                "teacher": _teacher_stamp(task.teacher),
                "taught_texts": result.taught.get(task.name, 0),
                "repeat": task.repeat,
                "class_weighting": task.class_weighting,
                "select_by": task.select_by,
                "validation": result.metrics[task.name].as_dict(),
                "baseline": baselines[task.name],
                **({"check": checks[task.name]} if task.name in checks else {}),
            }
        )
    heads.append({"name": EMBEDDING_HEAD, "kind": "embedding", "pooling": "mean, unit length"})
    return {
        "name": recipe.name,
        "version": version,
        "task": "multi-head",
        "max_length": config.max_length,
        "purpose": recipe.purpose,
        "base": str(base),
        "hf_dir": str(out),
        "heads": heads,
        "unlabelled": {
            "texts": len(unlabelled),
            "source": toxicity.source,
            "licence": toxicity.licence,
        },
        "background": {
            "head": background.head,
            "label": background.label,
            "texts": len(background.texts),
            "weight": background.weight,
            "from": "3i4K training split (everyday utterances)",
        },
        "finetune": asdict(config),
        "epoch_kept": result.epoch,
        "history": result.history,
        "texts_per_epoch": result.texts,
        "command": command,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def read_check(
    recipe: MultiHeadRecipe, topics_file: Path, check: Path
) -> tuple[list[str], list[int]]:
    """The check file's texts and its labels as indices into the file-trained head's
    labels (those of `topics_file`); `CheckFileError` for a label the head lacks."""
    from engage_stream.training.corpora import load_labelled

    (head,) = (h for h in recipe.heads if h.from_file)
    labels = head.load(topics_file).label_names
    checked = load_labelled(check)
    return checked.texts, check_gold(checked, labels, project_path(check))


def _teacher_stamp(folder: Path | None) -> dict[str, str] | None:
    if folder is None:
        return None
    manifest = json.loads((folder / "engage-model.json").read_text(encoding="utf-8"))
    fp32 = manifest["files"]["fp32"]
    return {
        "folder": project_path(folder),
        "name": manifest["name"],
        "version": manifest["version"],
        "sha256": manifest["sha256"][fp32],
        "file": fp32,
    }
