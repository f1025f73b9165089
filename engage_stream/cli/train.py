"""`engage-stream pretrain` and `engage-stream train`: the project's own Korean models.

The jobs themselves live in `engage_stream.training.jobs`; these commands parse the
options, run a job and print what it wrote. Needs the training/export extra (torch,
transformers, scikit-learn); the worker does not.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from engage_stream.cli.corpora import DataDir
from engage_stream.cli.startup import startup
from engage_stream.config.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from engage_stream.training.jobs.classifier import ClassifierRun
    from engage_stream.training.jobs.grams import GramsRun
    from engage_stream.training.jobs.multihead import MultiheadRun

T = TypeVar("T")


class _ConsoleProgress:
    """A job's steps as a spinner on stderr, its notes on stdout."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def status(self, text: str) -> AbstractContextManager[object]:
        return self.console.status(text)

    def note(self, text: str) -> None:
        typer.echo(text)


def _run_or_exit(job: Callable[[], T]) -> T:
    """The job's result; an option it cannot run with is a usage error (exit 2), a missing
    corpus or data it cannot use a message and exit 1, never a traceback."""
    from engage_stream.training.corpora import CorpusError
    from engage_stream.training.jobs.exceptions import JobError, JobOptionError

    try:
        return job()
    except JobOptionError as exc:
        raise typer.BadParameter(exc.message, param_hint=exc.option) from None
    except (CorpusError, JobError) as exc:
        typer.echo(f"engage-stream: {exc}", err=True)
        raise typer.Exit(1) from None


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
    data_dir: DataDir = None,
) -> None:
    """Train the Korean tokenizer and a small BERT (masked LM) on all the public text."""
    from engage_stream.training.jobs.options import PretrainOptions
    from engage_stream.training.jobs.pretrain import pretrain_job

    settings = startup()
    options = PretrainOptions(
        out=out,
        shape=shape,
        epochs=epochs,
        max_minutes=max_minutes,
        resume=resume,
        learning_rate=learning_rate,
        data_dir=data_dir,
        default_data_dir=settings.data_dir,
    )
    progress = _ConsoleProgress(Console(stderr=True))
    report = _run_or_exit(lambda: pretrain_job(options, progress))
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
    data_dir: DataDir = None,
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
    from engage_stream.training.jobs.classifier import classifier_job
    from engage_stream.training.jobs.grams import grams_job
    from engage_stream.training.jobs.multihead import multihead_job
    from engage_stream.training.jobs.options import TrainOptions
    from engage_stream.training.recipes import MULTIHEAD, TOPIC_GRAMS

    settings = startup()
    options = TrainOptions(
        name=name,
        base=base,
        out=out,
        epochs=epochs,
        max_minutes=max_minutes,
        limit=limit,
        version=version,
        data_dir=data_dir,
        data_file=data_file,
        teachers=teachers,
        bank=bank,
        no_bank=no_bank,
        check=check,
        default_data_dir=settings.data_dir,
    )
    console = Console(stderr=True)
    progress = _ConsoleProgress(console)
    if name == TOPIC_GRAMS.name:
        _print_grams(console, _run_or_exit(lambda: grams_job(options, progress)))
    elif name == MULTIHEAD.name:
        teachers_dir = settings.model_dir
        run = _run_or_exit(lambda: multihead_job(options, teachers_dir, progress))
        _print_multihead(console, run)
    else:
        _print_classifier(console, _run_or_exit(lambda: classifier_job(options, progress)))


def _print_classifier(console: Console, run: ClassifierRun) -> None:
    name = run.manifest["name"]
    table = Table(title=f"{name} on the validation split ({run.validation_texts} examples)")
    for column in ("model", "accuracy", "macro-F1"):
        table.add_column(column)
    table.add_row(name, f"{run.metrics.accuracy:.4f}", f"{run.metrics.macro_f1:.4f}")
    table.add_row("TF-IDF + SVM", f"{run.baseline.accuracy:.4f}", f"{run.baseline.macro_f1:.4f}")
    checked = run.manifest.get("check")
    if checked:
        for who, key in ((f"check: {name}", "model"), ("check: TF-IDF + SVM", "baseline")):
            row: dict[str, float] = checked[key]
            table.add_row(who, f"{row['accuracy']:.4f}", f"{row['macro_f1']:.4f}")
    console.print(table)
    typer.echo(str(run.out))


def _print_multihead(console: Console, run: MultiheadRun) -> None:
    table = Table(title=f"{run.manifest['name']} on each head's validation split")
    for column in ("head", "accuracy", "macro-F1", "TF-IDF + SVM acc.", "TF-IDF + SVM macro-F1"):
        table.add_column(column)
    for head in run.manifest["heads"]:
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
    typer.echo(str(run.out))


def _print_grams(console: Console, run: GramsRun) -> None:
    from engage_stream.training.recipes import TOPIC_GRAMS

    name = TOPIC_GRAMS.name
    trained = run.record
    table = Table(title=f"{name} ({run.validation_texts} validation messages)")
    for column in ("model", "accuracy", "macro-F1"):
        table.add_column(column)
    rows = [
        (name, trained["validation"]),
        ("TF-IDF + SVM", trained["baseline"]),
        (f"check: {name}", trained["check"]["model"]),
        ("check: TF-IDF + SVM", trained["check"]["baseline"]),
    ]
    for who, metrics in rows:
        table.add_row(who, f"{metrics['accuracy']:.4f}", f"{metrics['macro_f1']:.4f}")
    console.print(table)
    learnt = trained["background"]
    if learnt is None:
        why = run.everyday_missing or (
            f"{run.topics_file} has no `{TOPIC_GRAMS.config.background_label}` topic"
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
    typer.echo(str(run.out))
