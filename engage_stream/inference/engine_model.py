"""What every model the engine loads has in common: loading, settings, stamp, lifecycle.

`Classifier` and `Embedder` differ only in what they make of the model's output.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, Self

from engage_stream.inference.model_folder import Precision, Task
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
    task: ClassVar[Task]

    def __init__(self, runner: OnnxRunner) -> None:
        self._runner = runner

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        device: Device = "auto",
        batch_max_size: int = 32,
        precision: Precision | None = None,
        threads: int | None = None,
        lanes: int | None = None,
    ) -> Self:
        """Load a model folder; `precision` forces a file (benchmarks, parity checks);
        `threads` and `lanes` are explained in `providers.open_session`."""
        runner = OnnxRunner.open(
            path,
            cls.task,
            device=device,
            precision=precision,
            batch_max_size=batch_max_size,
            threads=threads,
            lanes=lanes,
        )
        return cls(runner)

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
