"""The `pretrain` job: the Korean tokenizer and a small BERT (masked LM) on all the public
text, written to an HF folder with `engage-pretrain.json` beside it."""

from __future__ import annotations

import json

from engage_stream.training.jobs.exceptions import JobOptionError
from engage_stream.training.jobs.options import PretrainOptions, command_line
from engage_stream.training.jobs.progress import LoggedProgress, Progress


def pretrain_job(options: PretrainOptions, progress: Progress | None = None) -> dict[str, object]:
    """Pre-train into `options.out` and return the report it wrote; `CorpusError` names
    a missing corpus before anything is written."""
    from engage_stream.training.corpora import tokenizer_corpus
    from engage_stream.training.encoder import SHAPES
    from engage_stream.training.pretrain import PretrainConfig, pretrain

    progress = progress or LoggedProgress()
    if options.shape not in SHAPES:
        raise JobOptionError("--shape", f"use one of {', '.join(SHAPES)}")
    texts = tokenizer_corpus(options.corpora)
    config = PretrainConfig(
        SHAPES[options.shape],
        epochs=options.epochs,
        max_minutes=options.max_minutes,
        learning_rate=options.learning_rate,
    )
    with progress.status(f"pre-training on {len(texts)} lines ..."):
        report = pretrain(texts, options.out, config, resume=options.resume)
    command = command_line(
        "pretrain",
        out=options.out,
        shape=options.shape,
        epochs=options.epochs,
        max_minutes=options.max_minutes,
        learning_rate=options.learning_rate,
        data_dir=options.data_dir,
    ) + (" --resume" if options.resume else "")
    previous = report.get("command")
    report["command"] = f"{previous} && {command}" if options.resume and previous else command
    path = options.out / "engage-pretrain.json"
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report
