"""The `train intent-ko | toxicity-ko | topic-ko` job: fine-tune a single-head classifier
from a base encoder, beside the TF-IDF + SVM baseline, and write `engage-train.json`.

A check file (topic-ko) is read and its labels validated before anything trains or is
written: a label the model would not have is found in a second, not after the run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engage_stream.training.corpora import Corpus
from engage_stream.training.jobs.exceptions import JobOptionError
from engage_stream.training.jobs.options import (
    TrainOptions,
    command_line,
    fit_length,
    require_base,
)
from engage_stream.training.jobs.progress import LoggedProgress, Progress

if TYPE_CHECKING:
    from engage_stream.training.classifier import FinetuneConfig
    from engage_stream.training.metrics import ClassificationMetrics
    from engage_stream.training.splits import Split


@dataclass(frozen=True)
class ClassifierRun:
    out: Path
    manifest: dict[str, Any]
    """What `engage-train.json` holds."""
    metrics: ClassificationMetrics
    baseline: ClassificationMetrics
    validation_texts: int


@dataclass(frozen=True)
class _Check:
    """A check file read and validated against the model's labels."""

    path: Path
    corpus: Corpus
    gold: list[int]


def classifier_job(options: TrainOptions, progress: Progress | None = None) -> ClassifierRun:
    """Fine-tune the recipe `options.name` into `options.out` (default build/NAME)."""
    from engage_stream.training.baseline import tfidf_svm
    from engage_stream.training.classifier import finetune
    from engage_stream.training.recipes import RECIPES, SAMPLE_BANK, SAMPLE_CHECK

    progress = progress or LoggedProgress()
    name = options.name
    if name not in RECIPES:
        raise JobOptionError("NAME", f"use one of {', '.join(RECIPES)}")
    base = require_base(options.base)
    recipe = RECIPES[name]
    out = options.out or _project_build(name)
    if recipe.data_file is None and options.data_file is not None:
        raise JobOptionError("--data", f"{name} trains on its corpus (--data-dir)")
    corpus = recipe.load(options.data_file or recipe.data_file or options.corpora)
    check = (
        _read_check(options.check or SAMPLE_CHECK, corpus.label_names)
        if recipe.data_file is not None
        else None
    )
    data = _limited(_split(corpus), options.limit)
    bank_data: dict[str, object] | None = None
    if recipe.data_file is not None and not options.no_bank:
        data, bank_data = _with_bank(data, options.bank or SAMPLE_BANK, corpus.label_names)
    config = replace(
        recipe.finetune,
        max_minutes=options.max_minutes,
        epochs=options.epochs or recipe.finetune.epochs,
        max_length=fit_length(base, recipe.finetune.max_length, progress),
    )
    with progress.status("baseline: TF-IDF char 1-4-grams + linear SVM ..."):
        baseline, baseline_params = tfidf_svm(corpus, data)
    plan = recipe.self_training
    if plan is not None and options.teachers is not None:
        plan = replace(plan, teachers=options.teachers) if options.teachers else None
    self_training: dict[str, object] | None = None
    read_unlabelled = recipe.unlabelled
    if plan is not None and read_unlabelled is not None:
        from engage_stream.training.self_training import self_train

        if options.epochs:
            plan = replace(plan, epochs=options.epochs)
        unlabelled = read_unlabelled(options.corpora)
        with progress.status(f"self-training {name}: {plan.teachers} teachers, then the model"):
            result = self_train(corpus, data, unlabelled[: options.limit], base, out, config, plan)
        metrics = result.metrics
        self_training = {
            "teachers": result.teachers,
            "teacher_epochs": config.epochs,
            "teacher_ensemble": {
                "accuracy": round(result.ensemble.accuracy, 4),
                "macro_f1": round(result.ensemble.macro_f1, 4),
            },
            "unlabelled_texts": result.unlabelled,
            "epochs": plan.epochs,
            "weight": plan.weight,
        }
        config = replace(config, epochs=plan.epochs)
    else:
        with progress.status(f"fine-tuning {name} from {base} ..."):
            metrics = finetune(corpus, data, base, out, config)
    checked = _score_check(out, corpus, data, baseline_params, check, config) if check else None
    manifest = {
        "name": name,
        "version": options.version or datetime.now(UTC).strftime("%Y.%m.%d"),
        "task": "text-classification",
        "max_length": config.max_length,
        "labels": list(corpus.label_names),
        "purpose": recipe.purpose,
        "base": str(base),
        "hf_dir": str(out),
        "data": {
            "corpus": corpus.name,
            "source": corpus.source,
            "licence": corpus.licence,
            **({"bank_examples": bank_data} if bank_data else {}),
        },
        "split": {
            "seed": data.seed,
            "train": len(data.train_texts),
            "validation": len(data.val_texts),
            "duplicates_merged": data.dropped_duplicates,
        },
        "finetune": asdict(config),
        **({"self_training": self_training} if self_training else {}),
        "validation": metrics.as_dict(),
        "baseline": {"method": "tfidf-char-svm", "params": baseline_params, **baseline.as_dict()},
        **({"check": checked} if checked else {}),
        "command": command_line(
            "train",
            name,
            base=base,
            out=out,
            epochs=options.epochs,
            max_minutes=options.max_minutes,
            limit=options.limit,
            version=options.version,
            teachers=options.teachers,
            data=options.data_file,
            bank=options.bank,
        )
        + (" --no-bank" if options.no_bank else ""),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (out / "engage-train.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return ClassifierRun(out, manifest, metrics, baseline, len(data.val_texts))


def _project_build(name: str) -> Path:
    from engage_stream.config.settings import PROJECT_ROOT

    return PROJECT_ROOT / "build" / name


def _split(corpus: Corpus) -> Split:
    from engage_stream.training.splits import split

    return split(corpus)


def _limited(data: Split, limit: int | None) -> Split:
    """Only the first `limit` training examples (smoke runs); validation untouched."""
    if limit is None:
        return data
    return replace(
        data, train_texts=data.train_texts[:limit], train_labels=data.train_labels[:limit]
    )


def _with_bank(
    data: Split, bank: Path, label_names: tuple[str, ...]
) -> tuple[Split, dict[str, object]]:
    """The bank's example questions added to the training side, and their record."""
    from engage_stream.inference.model_folder import sha256_of
    from engage_stream.training.corpora import project_path
    from engage_stream.training.recipes import bank_examples
    from engage_stream.training.splits import with_extra

    data, added = with_extra(data, *bank_examples(bank, label_names))
    return data, {"file": project_path(bank), "sha256": sha256_of(bank), "added": added}


def _read_check(path: Path, labels: tuple[str, ...]) -> _Check:
    """The check file, its labels as the model's label indices; `CheckFileError` naming
    the file and the labels the model lacks."""
    from engage_stream.training.check_file import check_gold
    from engage_stream.training.corpora import load_labelled, project_path

    corpus = load_labelled(path)
    return _Check(path, corpus, check_gold(corpus, labels, project_path(path)))


def _score_check(
    out: Path,
    corpus: Corpus,
    data: Split,
    params: dict[str, object],
    check: _Check,
    config: FinetuneConfig,
) -> dict[str, object]:
    """The fine-tuned model and the baseline on a check file written apart from the data."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from engage_stream.training.baseline import tfidf_svm_predict
    from engage_stream.training.check_file import check_record
    from engage_stream.training.classifier import predict_labels
    from engage_stream.training.corpora import project_path

    model = AutoModelForSequenceClassification.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    texts = check.corpus.texts
    predicted = predict_labels(model, tokenizer, texts, config.max_length)
    svm = tfidf_svm_predict(data, params, texts)
    return check_record(project_path(check.path), check.gold, predicted, svm, corpus.label_names)
