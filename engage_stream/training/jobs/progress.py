"""How a long training job reports what it is doing, without knowing who listens.

The CLI passes a spinner on stderr and prints notes; a caller from Python gets structlog
lines by default.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

from engage_stream.observability.logs import get_logger

log = get_logger(__name__)


class Progress(Protocol):
    def status(self, text: str) -> AbstractContextManager[object]:
        """Shown while the step inside the `with` runs."""
        ...

    def note(self, text: str) -> None:
        """Something the person who started the job should read (a changed option, say)."""
        ...


class LoggedProgress:
    """Steps and notes as log lines."""

    def status(self, text: str) -> AbstractContextManager[object]:
        log.info("training_step", step=text)
        return nullcontext()

    def note(self, text: str) -> None:
        log.info("training_note", note=text)
