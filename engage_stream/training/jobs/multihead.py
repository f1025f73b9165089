"""The `train multihead-ko` job: intent, toxicity and topic heads on one encoder, taught by
the shipped single-head models (`ENGAGE_MODEL_DIR`/intent-ko, toxicity-ko) where a text
has no gold label; writes the HF folder and its `engage-train.json`."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engage_stream.training.jobs.exceptions import JobOptionError
from engage_stream.training.jobs.options import (
    TrainOptions,
    command_line,
    fit_length,
    require_base,
)
from engage_stream.training.jobs.progress import LoggedProgress, Progress


@dataclass(frozen=True)
class MultiheadRun:
    out: Path
    manifest: dict[str, Any]
    """What `engage-train.json` holds: per head its validation and baseline scores."""


def multihead_job(
    options: TrainOptions, teachers_dir: Path, progress: Progress | None = None
) -> MultiheadRun:
    """Train `multihead-ko` into `options.out` (default build/multihead-ko); the teachers
    are the model folders under `teachers_dir`. The check file (default: the sample
    shop's) is validated before any training."""
    from engage_stream.config.settings import PROJECT_ROOT
    from engage_stream.training.multihead import read_check, run_recipe
    from engage_stream.training.recipes import MULTIHEAD, SAMPLE_BANK, SAMPLE_CHECK, SAMPLE_TOPICS

    progress = progress or LoggedProgress()
    if options.teachers is not None:
        raise JobOptionError("--teachers", "multihead-ko learns from the shipped models")
    bank = None if options.no_bank else options.bank or SAMPLE_BANK
    check = options.check or SAMPLE_CHECK
    topics = options.data_file or SAMPLE_TOPICS
    base = require_base(options.base)
    out = options.out or PROJECT_ROOT / "build" / MULTIHEAD.name
    read_check(MULTIHEAD, topics, check)
    config = replace(
        MULTIHEAD.config,
        epochs=options.epochs or MULTIHEAD.config.epochs,
        max_minutes=options.max_minutes,
        max_length=fit_length(base, MULTIHEAD.config.max_length, progress),
    )
    command = command_line(
        "train",
        MULTIHEAD.name,
        base=base,
        out=out,
        epochs=options.epochs,
        max_minutes=options.max_minutes,
        limit=options.limit,
        version=options.version,
        data=options.data_file,
        bank=bank if bank != SAMPLE_BANK else None,
    ) + ("" if bank else " --no-bank")
    with progress.status(f"training {MULTIHEAD.name}: one encoder, three heads ..."):
        manifest = run_recipe(
            MULTIHEAD,
            base=base,
            out=out,
            data_dir=options.corpora,
            topics_file=topics,
            teachers_dir=teachers_dir,
            config=config,
            limit=options.limit,
            version=options.version or datetime.now(UTC).strftime("%Y.%m.%d"),
            command=command,
            bank=bank,
            check=check,
        )
    (out / "engage-train.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return MultiheadRun(out, manifest)
