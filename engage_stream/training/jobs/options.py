"""What the training jobs take: the `pretrain` and `train` options as plain data, the base
folder checks, and the command line that reproduces a run (each model card shows it)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from engage_stream.config.data_dir import data_dir as configured_data_dir
from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.training.jobs.exceptions import JobOptionError
from engage_stream.training.jobs.progress import Progress


@dataclass(frozen=True)
class PretrainOptions:
    out: Path = PROJECT_ROOT / "build" / "pretrained-ko-small"
    shape: str = "small"
    epochs: float = 3.0
    max_minutes: float = 60.0
    resume: bool = False
    learning_rate: float = 5e-4
    data_dir: Path | None = None
    """The corpora folder given on the command line; None: `default_data_dir`."""
    default_data_dir: Path | None = field(default_factory=configured_data_dir)
    """`ENGAGE_DATA_DIR`, else ../shared/data when it exists (the CLI passes the setting)."""

    @property
    def corpora(self) -> Path | None:
        return self.data_dir or self.default_data_dir


@dataclass(frozen=True)
class TrainOptions:
    """`engage-stream train NAME ...`, option for option (see the command's help)."""

    name: str
    base: Path | None = None
    out: Path | None = None
    epochs: int | None = None
    max_minutes: float = 120.0
    limit: int | None = None
    version: str | None = None
    data_dir: Path | None = None
    """The corpora folder given on the command line; None: `default_data_dir`."""
    data_file: Path | None = None
    teachers: int | None = None
    bank: Path | None = None
    no_bank: bool = False
    check: Path | None = None
    default_data_dir: Path | None = field(default_factory=configured_data_dir)
    """`ENGAGE_DATA_DIR`, else ../shared/data when it exists (the CLI passes the setting)."""

    @property
    def corpora(self) -> Path | None:
        return self.data_dir or self.default_data_dir


def require_base(base: Path | None) -> Path:
    """The `--base` folder, or an option error that says what to run first."""
    if base is None or not (base / "config.json").is_file():
        hint = (
            "run `engage-stream pretrain` first" if base is None else f"{base}/config.json missing"
        )
        raise JobOptionError("--base", f"needs a local HF model folder ({hint})")
    return base


def fit_length(base: Path, wanted: int, progress: Progress) -> int:
    """The recipe's token limit, or the base encoder's positions where it has fewer."""
    from transformers import AutoConfig

    positions = getattr(AutoConfig.from_pretrained(base), "max_position_embeddings", wanted)
    if positions < wanted:
        progress.note(f"max_length {wanted} -> {positions}: the base has {positions} positions")
    return min(wanted, positions)


def command_line(*words: object, **options: object) -> str:
    """The command that reproduces a run, for the model card (options left at None omitted)."""
    parts = ["engage-stream", *map(str, words)]
    for option, value in options.items():
        if value is not None:
            parts += [f"--{option.replace('_', '-')}", str(value)]
    return shlex.join(parts)
