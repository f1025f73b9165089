"""The `train topic-grams-ko` job: the character n-gram topic model, fitted on the shop's
labelled messages and written straight to its model folder (nothing to export).

Everyday utterances come from the public 3i4K corpus; a shop without it still trains, and
the run says that small talk was not learnt.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engage_stream.training.corpora import CorpusError
from engage_stream.training.jobs.exceptions import JobError, JobOptionError
from engage_stream.training.jobs.options import TrainOptions, command_line
from engage_stream.training.jobs.progress import LoggedProgress, Progress


@dataclass(frozen=True)
class GramsRun:
    out: Path
    record: dict[str, Any]
    """The training record the folder's manifest keeps."""
    validation_texts: int
    topics_file: Path
    everyday_missing: str | None
    """Why no everyday utterances were read (the corpus error), or None."""


def grams_job(options: TrainOptions, progress: Progress | None = None) -> GramsRun:
    """Fit topic-grams-ko into `options.out` (default models/topic-grams-ko)."""
    from engage_stream.config.settings import PROJECT_ROOT
    from engage_stream.inference.model_folder import sha256_of
    from engage_stream.training.char_grams import everyday_sample, train_grams
    from engage_stream.training.check_file import check_gold
    from engage_stream.training.corpora import load_intent, load_labelled, project_path
    from engage_stream.training.recipes import (
        SAMPLE_BANK,
        SAMPLE_CHECK,
        SAMPLE_TOPICS,
        TOPIC_GRAMS,
        bank_examples,
        load_topics,
    )
    from engage_stream.training.splits import split, with_extra

    progress = progress or LoggedProgress()
    recipe = TOPIC_GRAMS
    if options.base is not None or options.teachers is not None or options.epochs is not None:
        raise JobOptionError(
            "--base / --teachers / --epochs",
            f"{recipe.name} has no encoder: it takes --data, --bank, --check, --out, --version",
        )
    bank = None if options.no_bank else options.bank or SAMPLE_BANK
    check = options.check or SAMPLE_CHECK
    default_out = PROJECT_ROOT / "models" / recipe.name
    out = options.out or default_out
    source = options.data_file or SAMPLE_TOPICS
    corpus = load_topics(source)
    checked = load_labelled(check)
    check_gold(checked, corpus.label_names, project_path(check))
    data = split(corpus)
    if options.limit is not None:
        data = replace(
            data,
            train_texts=data.train_texts[: options.limit],
            train_labels=data.train_labels[: options.limit],
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
    background = None
    missing: str | None = None
    try:
        everyday = load_intent(options.corpora)
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
    command = command_line(
        "train",
        recipe.name,
        out=out if out != default_out else None,
        limit=options.limit,
        version=options.version,
        data_dir=options.data_dir,
        data=options.data_file,
        bank=bank if bank not in (None, SAMPLE_BANK) else None,
    ) + ("" if bank else " --no-bank")
    with progress.status(f"fitting {recipe.name} and the TF-IDF + SVM baseline ..."):
        try:
            trained = train_grams(
                corpus,
                data,
                out,
                name=recipe.name,
                version=options.version or datetime.now(UTC).strftime("%Y.%m.%d"),
                config=recipe.config,
                purpose=recipe.purpose,
                data_record=record,
                command=command,
                check=(checked, project_path(check)),
                background=background,
            )
        except ValueError as exc:  # data the fit cannot use (one topic left, say)
            raise JobError(str(exc)) from None
    return GramsRun(out, trained, len(data.val_texts), source, missing)
