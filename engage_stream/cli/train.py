"""`engage-stream pretrain` and `engage-stream train`: the project's own Korean models.

Needs the training/export extra (torch, transformers, scikit-learn); the worker does not.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from engage_stream.cli.corpora import DataDir, load_or_exit
from engage_stream.cli.startup import startup
from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.training.corpora import DEFAULT_DATA_DIR, Corpus, CorpusError

if TYPE_CHECKING:
    from engage_stream.training.classifier import FinetuneConfig
    from engage_stream.training.splits import Split


def require_base(base: Path | None) -> Path:
    """The `--base` folder, or a usage error that says what to run first."""
    if base is None or not (base / "config.json").is_file():
        hint = (
            "run `engage-stream pretrain` first" if base is None else f"{base}/config.json missing"
        )
        raise typer.BadParameter(f"needs a local HF model folder ({hint})", param_hint="--base")
    return base


def _fit_length(base: Path, wanted: int) -> int:
    """The recipe's token limit, or the base encoder's positions where it has fewer."""
    from transformers import AutoConfig

    positions = getattr(AutoConfig.from_pretrained(base), "max_position_embeddings", wanted)
    if positions < wanted:
        typer.echo(f"max_length {wanted} -> {positions}: the base has {positions} positions")
    return min(wanted, positions)


def _command_line(*words: object, **options: object) -> str:
    """The command that reproduces a run, for the model card (options left at None omitted)."""
    parts = ["engage-stream", *map(str, words)]
    for option, value in options.items():
        if value is not None:
            parts += [f"--{option.replace('_', '-')}", str(value)]
    return shlex.join(parts)


def pretrain(
    out: Annotated[Path, typer.Option(help="HF model folder to write.")] = PROJECT_ROOT
    / "build"
    / "pretrained-ko-small",
    shape: Annotated[str, typer.Option(help="Encoder shape: small (default) or tiny.")] = "small",
    epochs: Annotated[float, typer.Option(help="Passes over the text.")] = 3.0,
    max_minutes: Annotated[float, typer.Option(help="Stop after this long.")] = 60.0,
    resume: Annotated[
        bool, typer.Option("--resume", help="Go on training the model already in --out.")
    ] = False,
    learning_rate: Annotated[float, typer.Option(help="Peak learning rate.")] = 5e-4,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Train the Korean tokenizer and a small BERT (masked LM) on all the shared text."""
    from engage_stream.training.corpora import tokenizer_corpus
    from engage_stream.training.encoder import SHAPES
    from engage_stream.training.pretrain import PretrainConfig
    from engage_stream.training.pretrain import pretrain as run_pretrain

    startup()
    if shape not in SHAPES:
        raise typer.BadParameter(f"use one of {', '.join(SHAPES)}", param_hint="--shape")
    texts = load_or_exit(lambda: tokenizer_corpus(data_dir))
    config = PretrainConfig(
        SHAPES[shape], epochs=epochs, max_minutes=max_minutes, learning_rate=learning_rate
    )
    with Console(stderr=True).status(f"pre-training on {len(texts)} lines ..."):
        report = run_pretrain(texts, out, config, resume=resume)
    command = _command_line(
        "pretrain",
        out=out,
        shape=shape,
        epochs=epochs,
        max_minutes=max_minutes,
        learning_rate=learning_rate,
        data_dir=None if data_dir == DEFAULT_DATA_DIR else data_dir,
    ) + (" --resume" if resume else "")
    previous = report.get("command")
    report["command"] = f"{previous} && {command}" if resume and previous else command
    (out / "engage-pretrain.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    typer.echo(json.dumps({**report, "out": str(out)}, indent=2))


def train(
    name: Annotated[
        str,
        typer.Argument(help="intent-ko, toxicity-ko, topic-ko, topic-grams-ko or multihead-ko."),
    ],
    base: Annotated[
        Path | None,
        typer.Option(help="Local HF model folder to fine-tune (yours, or one from `pretrain`)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="HF folder to write (default build/NAME); topic-grams-ko: its model folder "
            "(default models/topic-grams-ko, nothing to export)."
        ),
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Override the recipe's epochs.")] = None,
    max_minutes: Annotated[float, typer.Option(help="Stop after this long.")] = 120.0,
    limit: Annotated[
        int | None, typer.Option(help="Use only N training examples (smoke runs).")
    ] = None,
    version: Annotated[str | None, typer.Option(help="Model version (default: today).")] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    data_file: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="topic-ko, multihead-ko: the shop's labelled messages, CSV or JSON lines with "
            "text and label (default: the sample shop's data/sample-shop/topic-messages.jsonl).",
        ),
    ] = None,
    teachers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Self-training teachers, for recipes with unlabelled text (default: the "
            "recipe's; 0 trains on the labelled data only).",
        ),
    ] = None,
    bank: Annotated[
        Path | None,
        typer.Option(
            help="topic-ko, multihead-ko: a knowledge bank whose example questions are "
            "training messages of their answer's topic (default: the sample shop's)."
        ),
    ] = None,
    no_bank: Annotated[
        bool, typer.Option("--no-bank", help="Train on the labelled messages alone.")
    ] = False,
    check: Annotated[
        Path | None,
        typer.Option(
            help="topic-ko, multihead-ko: labelled messages written apart from --data, scored "
            "beside the baseline as a generalisation check (default: the sample shop's)."
        ),
    ] = None,
) -> None:
    """Fine-tune a classifier on its data, report it beside the TF-IDF + SVM baseline.

    `topic-ko` trains on the shop's labelled messages (`--data`); `multihead-ko` trains one
    encoder with intent, toxicity and topic heads, taught by the shipped single-head
    models; `topic-grams-ko` fits a character n-gram topic model and writes its model folder."""
    from engage_stream.training.recipes import SAMPLE_BANK, SAMPLE_CHECK, TOPIC_GRAMS

    if name == TOPIC_GRAMS.name:
        if base is not None or teachers is not None or epochs is not None:
            raise typer.BadParameter(
                f"{name} has no encoder: it takes --data, --bank, --check, --out, --version",
                param_hint="--base / --teachers / --epochs",
            )
        _train_grams(
            out,
            limit,
            version,
            data_dir,
            data_file,
            None if no_bank else bank or SAMPLE_BANK,
            check or SAMPLE_CHECK,
        )
        return
    if name == "multihead-ko":
        if teachers is not None:
            raise typer.BadParameter(
                "multihead-ko learns from the shipped models", param_hint="--teachers"
            )
        examples = None if no_bank else bank or SAMPLE_BANK
        _train_multihead(
            base,
            out,
            epochs,
            max_minutes,
            limit,
            version,
            data_dir,
            data_file,
            examples,
            check or SAMPLE_CHECK,
        )
        return
    from engage_stream.training.baseline import tfidf_svm
    from engage_stream.training.classifier import finetune
    from engage_stream.training.recipes import RECIPES
    from engage_stream.training.splits import split

    startup()
    if name not in RECIPES:
        raise typer.BadParameter(f"use one of {', '.join(RECIPES)}", param_hint="NAME")
    base = require_base(base)
    recipe = RECIPES[name]
    out = out or PROJECT_ROOT / "build" / name
    if recipe.data_file is None and data_file is not None:
        raise typer.BadParameter(f"{name} trains on its corpus (--data-dir)", param_hint="--data")
    source = data_file or recipe.data_file or data_dir
    corpus = load_or_exit(lambda: recipe.load(source))
    data = split(corpus)
    if limit is not None:
        data = replace(
            data, train_texts=data.train_texts[:limit], train_labels=data.train_labels[:limit]
        )
    bank_data: dict[str, object] | None = None
    if recipe.data_file is not None and not no_bank:
        from engage_stream.inference.model_folder import sha256_of
        from engage_stream.training.corpora import project_path
        from engage_stream.training.recipes import bank_examples
        from engage_stream.training.splits import with_extra

        examples = bank or SAMPLE_BANK
        data, added = with_extra(data, *bank_examples(examples, corpus.label_names))
        bank_data = {
            "file": project_path(examples),
            "sha256": sha256_of(examples),
            "added": added,
        }
    config = replace(
        recipe.finetune,
        max_minutes=max_minutes,
        epochs=epochs or recipe.finetune.epochs,
        max_length=_fit_length(base, recipe.finetune.max_length),
    )
    console = Console(stderr=True)
    with console.status("baseline: TF-IDF char 1-4-grams + linear SVM ..."):
        baseline, baseline_params = tfidf_svm(corpus, data)
    plan = recipe.self_training
    if plan is not None and teachers is not None:
        plan = replace(plan, teachers=teachers) if teachers else None
    self_training: dict[str, object] | None = None
    read_unlabelled = recipe.unlabelled
    if plan is not None and read_unlabelled is not None:
        from engage_stream.training.self_training import self_train

        if epochs:
            plan = replace(plan, epochs=epochs)
        unlabelled = load_or_exit(lambda: read_unlabelled(data_dir))
        with console.status(f"self-training {name}: {plan.teachers} teachers, then the model"):
            result = self_train(corpus, data, unlabelled[:limit], base, out, config, plan)
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
        with console.status(f"fine-tuning {name} from {base} ..."):
            metrics = finetune(corpus, data, base, out, config)
    checked: dict[str, object] | None = None
    if recipe.data_file is not None:
        checked = _check(out, corpus, data, baseline_params, check or SAMPLE_CHECK, config)
    manifest = {
        "name": name,
        "version": version or datetime.now(UTC).strftime("%Y.%m.%d"),
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
        "command": _command_line(
            "train",
            name,
            base=base,
            out=out,
            epochs=epochs,
            max_minutes=max_minutes,
            limit=limit,
            version=version,
            teachers=teachers,
            data=data_file,
            bank=bank,
        )
        + (" --no-bank" if no_bank else ""),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (out / "engage-train.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    table = Table(title=f"{name} on the validation split ({len(data.val_texts)} examples)")
    for column in ("model", "accuracy", "macro-F1"):
        table.add_column(column)
    table.add_row(name, f"{metrics.accuracy:.4f}", f"{metrics.macro_f1:.4f}")
    table.add_row("TF-IDF + SVM", f"{baseline.accuracy:.4f}", f"{baseline.macro_f1:.4f}")
    if checked:
        for who, key in ((f"check: {name}", "model"), ("check: TF-IDF + SVM", "baseline")):
            row: dict[str, float] = checked[key]  # type: ignore[assignment]
            table.add_row(who, f"{row['accuracy']:.4f}", f"{row['macro_f1']:.4f}")
    console.print(table)
    typer.echo(str(out))


def _check(
    out: Path,
    corpus: Corpus,
    data: Split,
    params: dict[str, object],
    check: Path,
    config: FinetuneConfig,
) -> dict[str, object]:
    """The fine-tuned model and the baseline on a check file written apart from the data."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from engage_stream.training.baseline import tfidf_svm_predict
    from engage_stream.training.check_file import check_gold, check_record
    from engage_stream.training.classifier import predict_labels
    from engage_stream.training.corpora import load_labelled, project_path

    checked = load_or_exit(lambda: load_labelled(check))
    gold = check_gold(checked, corpus.label_names, project_path(check))
    model = AutoModelForSequenceClassification.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    predicted = predict_labels(model, tokenizer, checked.texts, config.max_length)
    svm = tfidf_svm_predict(data, params, checked.texts)
    return check_record(project_path(check), gold, predicted, svm, corpus.label_names)


def _train_multihead(
    base: Path | None,
    out: Path | None,
    epochs: int | None,
    max_minutes: float,
    limit: int | None,
    version: str | None,
    data_dir: Path,
    data_file: Path | None,
    bank: Path | None,
    check: Path,
) -> None:
    """intent, toxicity and topic heads on one encoder, taught by the shipped single-head
    models (`ENGAGE_MODEL_DIR`/intent-ko, toxicity-ko) where a text has no gold label."""
    from engage_stream.config.settings import load_settings
    from engage_stream.training.multihead import run_recipe
    from engage_stream.training.recipes import MULTIHEAD, SAMPLE_BANK, SAMPLE_TOPICS

    startup()
    base = require_base(base)
    out = out or PROJECT_ROOT / "build" / MULTIHEAD.name
    config = replace(
        MULTIHEAD.config,
        epochs=epochs or MULTIHEAD.config.epochs,
        max_minutes=max_minutes,
        max_length=_fit_length(base, MULTIHEAD.config.max_length),
    )
    command = _command_line(
        "train",
        MULTIHEAD.name,
        base=base,
        out=out,
        epochs=epochs,
        max_minutes=max_minutes,
        limit=limit,
        version=version,
        data=data_file,
        bank=bank if bank != SAMPLE_BANK else None,
    ) + ("" if bank else " --no-bank")
    console = Console(stderr=True)
    with console.status(f"training {MULTIHEAD.name}: one encoder, three heads ..."):
        manifest = load_or_exit(
            lambda: run_recipe(
                MULTIHEAD,
                base=base,
                out=out,
                data_dir=data_dir,
                topics_file=data_file or SAMPLE_TOPICS,
                teachers_dir=load_settings().model_dir,
                config=config,
                limit=limit,
                version=version or datetime.now(UTC).strftime("%Y.%m.%d"),
                command=command,
                bank=bank,
                check=check,
            )
        )
    (out / "engage-train.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    table = Table(title=f"{MULTIHEAD.name} on each head's validation split")
    for column in ("head", "accuracy", "macro-F1", "TF-IDF + SVM acc.", "TF-IDF + SVM macro-F1"):
        table.add_column(column)
    for head in manifest["heads"]:
        if head["kind"] != "classification":
            continue
        val, base_line = head["validation"], head["baseline"]
        table.add_row(
            head["name"],
            f"{val['accuracy']:.4f}",
            f"{val['macro_f1']:.4f}",
            f"{base_line['accuracy']:.4f}",
            f"{base_line['macro_f1']:.4f}",
        )
    console.print(table)
    typer.echo(str(out))


def _train_grams(
    out: Path | None,
    limit: int | None,
    version: str | None,
    data_dir: Path,
    data_file: Path | None,
    bank: Path | None,
    check: Path,
) -> None:
    """The character n-gram topic model, written straight to its model folder."""
    from engage_stream.inference.model_folder import sha256_of
    from engage_stream.training.char_grams import everyday_sample, train_grams
    from engage_stream.training.corpora import load_intent, load_labelled, project_path
    from engage_stream.training.recipes import (
        SAMPLE_BANK,
        SAMPLE_TOPICS,
        TOPIC_GRAMS,
        bank_examples,
        load_topics,
    )
    from engage_stream.training.splits import split, with_extra

    startup()
    recipe = TOPIC_GRAMS
    out = out or PROJECT_ROOT / "models" / recipe.name
    source = data_file or SAMPLE_TOPICS
    corpus = load_or_exit(lambda: load_topics(source))
    data = split(corpus)
    if limit is not None:
        data = replace(
            data, train_texts=data.train_texts[:limit], train_labels=data.train_labels[:limit]
        )
    record: dict[str, object] = {
        "corpus": corpus.name,
        "source": corpus.source,
        "licence": corpus.licence,
    }
    if bank is not None:
        data, added = with_extra(data, *bank_examples(bank, corpus.label_names))
        record["bank_examples"] = {
            "file": project_path(bank),
            "sha256": sha256_of(bank),
            "added": added,
        }
    checked = load_or_exit(lambda: load_labelled(check))
    # Everyday utterances come from the public 3i4K corpus; a shop without it still trains.
    background = None
    missing: str | None = None
    try:
        everyday = load_intent(data_dir)
    except CorpusError as exc:
        missing = str(exc)
    else:
        held = split(everyday)
        background = everyday_sample(
            held.train_texts,
            held.val_texts,
            recipe.config,
            held.seed,
            everyday.source,
            everyday.licence,
        )
    command = _command_line(
        "train",
        recipe.name,
        out=out if out != PROJECT_ROOT / "models" / recipe.name else None,
        limit=limit,
        version=version,
        data_dir=None if data_dir == DEFAULT_DATA_DIR else data_dir,
        data=data_file,
        bank=bank if bank not in (None, SAMPLE_BANK) else None,
    ) + ("" if bank else " --no-bank")
    console = Console(stderr=True)
    with console.status(f"fitting {recipe.name} and the TF-IDF + SVM baseline ..."):
        try:
            trained = train_grams(
                corpus,
                data,
                out,
                name=recipe.name,
                version=version or datetime.now(UTC).strftime("%Y.%m.%d"),
                config=recipe.config,
                purpose=recipe.purpose,
                data_record=record,
                command=command,
                check=(checked, project_path(check)),
                background=background,
            )
        except ValueError as exc:
            typer.echo(f"engage-stream: {exc}", err=True)
            raise typer.Exit(1) from None
    table = Table(title=f"{recipe.name} ({len(data.val_texts)} validation messages)")
    for column in ("model", "accuracy", "macro-F1"):
        table.add_column(column)
    rows = [
        (recipe.name, trained["validation"]),
        ("TF-IDF + SVM", trained["baseline"]),
        (f"check: {recipe.name}", trained["check"]["model"]),
        ("check: TF-IDF + SVM", trained["check"]["baseline"]),
    ]
    for who, metrics in rows:
        table.add_row(who, f"{metrics['accuracy']:.4f}", f"{metrics['macro_f1']:.4f}")
    console.print(table)
    learnt = trained["background"]
    if learnt is None:
        why = (
            f"{missing}" if missing else f"{source} has no `{recipe.config.background_label}` topic"
        )
        console.print(
            f"no everyday utterances learnt ({why}), so small talk may get one of the shop's topics"
        )
    else:
        held_out = learnt["held_out"]
        console.print(
            f"small talk: {held_out['share_given_label']:.1%} of {held_out['texts']} held-out "
            f"everyday utterances get `{learnt['label']}`"
        )
    typer.echo(str(out))
