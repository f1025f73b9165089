"""`engage-stream bank check|build`: the shop's knowledge bank, checked and built.

`check` validates the file the way the build and the worker do; `build` also embeds every
example question with the shipped encoder (no retraining) and writes the folder the
worker loads (`ENGAGE_KNOWLEDGE_BANK`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from engage_stream.cli.startup import config_error, startup
from engage_stream.config.settings import Settings
from engage_stream.drafting.bank_file import BankError, load_bank_file
from engage_stream.drafting.knowledge import build_bank
from engage_stream.inference.model_folder import EMBEDDING, ModelFolderError, load_model_folder

app = typer.Typer(help="The shop's knowledge bank of answers.", no_args_is_help=True)

BankPath = Annotated[
    Path, typer.Argument(help="The bank file (YAML), e.g. data/sample-shop/knowledge-bank.yaml.")
]


def _topic_labels(settings: Settings) -> tuple[tuple[str, ...], str]:
    """The topic head's labels and a name for messages, from its manifest."""
    path = settings.model_path(settings.model_topic)
    try:
        folder = load_model_folder(path)
        return folder.head("topic").labels, f"{folder.name} {folder.version}"
    except ModelFolderError as exc:
        config_error([f"ENGAGE_MODEL_TOPIC: {exc}"])


@app.command("check")
def check(path: BankPath) -> None:
    """Validate politeness, fields and topics; every problem names the answer id."""
    settings = startup()
    labels, model = _topic_labels(settings)
    try:
        bank = load_bank_file(path)
        bank.check_topics(labels, model)
    except BankError as exc:
        _refuse(exc)
    counts: dict[str, int] = {}
    for answer in bank.answers:
        counts[answer.topic] = counts.get(answer.topic, 0) + 1
    typer.echo(f"{path}: valid, {bank.spec.name} {bank.spec.version}, {len(bank.answers)} answers")
    typer.echo("  " + ", ".join(f"{topic} {n}" for topic, n in sorted(counts.items())))
    auto = sum(a.auto_send for a in bank.answers)
    typer.echo(f"  may be sent without a person: {auto}; need a person: {len(bank.answers) - auto}")


@app.command("build")
def build(
    path: BankPath,
    out: Annotated[
        Path | None, typer.Option(help="Folder to write (default: ENGAGE_KNOWLEDGE_BANK).")
    ] = None,
    lexical_only: Annotated[
        bool, typer.Option("--lexical-only", help="No embeddings: n-gram retrieval only.")
    ] = False,
) -> None:
    """Check the file, embed its questions with ENGAGE_MODEL_EMBEDDING, write the folder."""
    from engage_stream.inference.embedder import Embedder

    settings = startup()
    labels, model = _topic_labels(settings)
    target = out or settings.model_path(settings.knowledge_bank)
    encoder = None
    if not lexical_only:
        try:
            encoder = Embedder.load(
                settings.model_path(settings.model_embedding),
                head=EMBEDDING,
                device="cpu",
                precision="int8",
            )
        except ModelFolderError as exc:
            config_error([f"ENGAGE_MODEL_EMBEDDING: {exc}"])
    try:
        report = build_bank(
            path,
            target,
            topics=labels,
            topic_model=model,
            encoder=encoder,
            precision=encoder.runtime.precision if encoder else None,
        )
    except BankError as exc:
        _refuse(exc)
    finally:
        if encoder is not None:
            encoder.close()
    by = f"{report.encoder.name} {report.encoder.version}" if report.encoder else "n-grams only"
    typer.echo(
        f"{target}: {report.answers} answers, {report.rows} rows embedded by {by}; "
        f"sha256 {report.sha256[:12]}"
    )


def _refuse(exc: BankError) -> NoReturn:
    typer.echo(f"engage-stream: knowledge bank {exc.source} is not valid:", err=True)
    for problem in exc.problems:
        typer.echo(f"  {problem}", err=True)
    raise typer.Exit(1)
