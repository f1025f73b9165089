"""Why a training job stops: an option it cannot run with (the CLI's usage error, exit 2)
or data it cannot train on (exit 1). Corpus and check-file problems are `CorpusError`s."""

from __future__ import annotations


class JobOptionError(ValueError):
    """An option the job cannot run with; `option` is its name as the command spells it."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option
        self.message = message


class JobError(Exception):
    """The job cannot go on with this data; the message says why."""
