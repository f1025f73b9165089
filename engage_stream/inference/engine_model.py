"""What every model the engine loads has in common: loading, settings, stamp, lifecycle.

`Classifier` and `Embedder` differ only in what they make of their head's output. Several
of them may share one runner (one session): the heads of a multi-head folder, which
`inference.heads.HeadGroup` runs in one pass.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, Self

from engage_stream.inference.model_folder import (
    EMBEDDING,
    Head,
    HeadKind,
    ModelFolderError,
    Precision,
)
from engage_stream.inference.providers import Device, RuntimeChoice
from engage_stream.inference.runner import OnnxRunner
from engage_stream.schemas.actions import ModelStamp

if TYPE_CHECKING:
    from engage_stream.config.settings import Settings


class Closeable:
    """`with model:` closes it on the way out."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class EngineModel(Closeable):
    kind: ClassVar[HeadKind]

    def __init__(self, runner: OnnxRunner, head: Head) -> None:
        if head.kind != self.kind:
            raise ModelFolderError(
                runner.folder.path,
                f"head {head.name} is a {head.kind} head; load it with "
                f"{'Embedder' if head.kind == 'embedding' else 'Classifier'}",
            )
        self._runner = runner
        self.head = head

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        head: str | None = None,
        device: Device = "auto",
        batch_max_size: int = 32,
        precision: Precision | None = None,
        threads: int | None = None,
        lanes: int | None = None,
    ) -> Self:
        """Load a model folder; `head` picks one of a multi-head folder's heads;
        `precision` forces a file (benchmarks, parity checks); `threads` and `lanes` are
        explained in `providers.open_session`."""
        runner = OnnxRunner.open(
            path,
            device=device,
            precision=precision,
            batch_max_size=batch_max_size,
            threads=threads,
            lanes=lanes,
        )
        try:
            return cls.on(runner, head)
        except ModelFolderError:
            runner.close()
            raise

    @classmethod
    def on(cls, runner: OnnxRunner, role: str | None = None) -> Self:
        """A view of one head of an open runner (several views may share it)."""
        folder = runner.folder
        if role is None:
            if folder.task == "multi-head" and cls.kind == "classification":
                raise ModelFolderError(
                    folder.path, f"has several heads ({', '.join(folder.head_names)}); name one"
                )
            role = EMBEDDING if cls.kind == "embedding" else "logits"
        return cls(runner, folder.head(role))

    @classmethod
    def from_settings(cls, settings: Settings, name: str) -> Self:
        """`ENGAGE_MODEL_DIR/<name>` on `ENGAGE_DEVICE`, batches of `ENGAGE_BATCH_MAX_SIZE`."""
        return cls.load(
            settings.model_dir / name,
            device=settings.device,
            batch_max_size=settings.batch_max_size,
        )

    @property
    def stamp(self) -> ModelStamp:
        return self._runner.stamp

    @property
    def runtime(self) -> RuntimeChoice:
        return self._runner.choice

    def close(self) -> None:
        self._runner.close()
