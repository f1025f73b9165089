"""The reply drafter at run time: encoder + response bank + templates, no torch.

`Drafter.load(models/drafter-ko)`, then `draft(text, intent=..., profile=...)` from any
thread or `await adraft(...)` from the event loop. A draft is bounded in length (the
templates' `max_chars`, cut between sentences) and in time: when the encoder has not
answered within the budget, the draft is the intent's fallback template alone, and
`Draft.fallback` says so. Texts with nothing to retrieve by (empty, no Hangul) and
texts too far from every bank entry get the fallback template too, with their reason.

A late encoder run is not interrupted (ONNX Runtime cannot be); it finishes on the
drafter's one thread, and drafts queued behind it fall back too until it has: under
overload the drafter degrades to templates instead of answering late.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from engage_stream.drafting.bank import TEMPLATES, DrafterError, ResponseBank, load_bank
from engage_stream.drafting.templates import Rendered, TemplateError, TemplateSet
from engage_stream.inference.embedder import Embedder, Embeddings
from engage_stream.inference.engine_model import Closeable
from engage_stream.inference.model_folder import Precision
from engage_stream.inference.providers import Device, RuntimeChoice
from engage_stream.observability.logs import get_logger
from engage_stream.schemas.actions import ModelStamp

log = get_logger("engage.drafting")

Fallback = Literal["deadline", "empty_input", "not_korean", "low_similarity"]
MAX_INPUT_CHARS = 1_000
"""Longer input is cut before tokenising; the encoder reads 64-128 tokens anyway."""


class Encoder(Protocol):
    @property
    def stamp(self) -> ModelStamp: ...

    def embed(self, texts: Sequence[str]) -> Embeddings: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Draft:
    text: str
    template_id: str
    """`<intent>.reply` (with a retrieved answer) or `<intent>.fallback` (template alone)."""
    response_id: str | None
    similarity: float | None
    """Cosine similarity of the input to the bank entry that chose the answer."""
    model: ModelStamp
    latency_ms: float
    fallback: Fallback | None = None
    """Why no answer was retrieved, or None when one was."""
    truncated: bool = False
    """Something was left out to keep within `max_chars`."""


def has_hangul(text: str) -> bool:
    return any("\uac00" <= c <= "\ud7a3" or "\u3131" <= c <= "\u318e" for c in text)


class Drafter(Closeable):
    """Thread-safe; one encoder call at a time, on the drafter's own thread."""

    def __init__(
        self,
        encoder: Encoder,
        bank: ResponseBank,
        templates: TemplateSet,
        *,
        budget_ms: float | None = None,
    ) -> None:
        self.encoder = encoder
        self.bank = bank
        self.templates = templates
        self.budget_ms = budget_ms if budget_ms is not None else bank.manifest.budget_ms
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engage-draft")

    @classmethod
    def load(
        cls,
        model_dir: Path,
        *,
        device: Device = "auto",
        budget_ms: float | None = None,
        precision: Precision | None = None,
        threads: int | None = None,
    ) -> Drafter:
        """Bank and templates are checked before the encoder is opened; every fault is a
        `DrafterError` (a `ModelFolderError`) naming the folder and what is wrong."""
        model_dir = Path(model_dir)
        bank = load_bank(model_dir)
        try:
            templates = TemplateSet.load(model_dir / TEMPLATES)
        except TemplateError as exc:
            raise DrafterError(model_dir, str(exc)) from None
        wanted = precision or bank.manifest.precision
        encoder = Embedder.load(
            model_dir, device=device, precision=wanted, batch_max_size=1, threads=threads
        )
        if encoder.runtime.precision == bank.manifest.precision:
            if encoder.stamp.sha256 != bank.manifest.encoder_sha256:
                encoder.close()
                raise DrafterError(
                    model_dir,
                    f"responses.npy was made by another encoder file (sha256 "
                    f"{bank.manifest.encoder_sha256[:12]}, served {encoder.stamp.sha256[:12]}); "
                    "rebuild the bank",
                )
        else:
            log.warning(
                "drafter_precision_differs",
                bank=bank.manifest.precision,
                encoder=encoder.runtime.precision,
                note="similarities are slightly off; rebuild the bank for this precision",
            )
        width = encoder.embed(["네"]).vectors.shape[1]
        if width != bank.manifest.dim:
            encoder.close()
            raise DrafterError(
                model_dir,
                f"encoder gives {width}-wide vectors; responses.npy is {bank.manifest.dim}",
            )
        log.info(
            "drafter_loaded",
            path=str(model_dir),
            responses=len(bank.responses),
            rows=bank.manifest.rows,
            index_by=bank.manifest.index_by,
            budget_ms=budget_ms if budget_ms is not None else bank.manifest.budget_ms,
        )
        return cls(encoder, bank, templates, budget_ms=budget_ms)

    @property
    def stamp(self) -> ModelStamp:
        return self.encoder.stamp

    @property
    def runtime(self) -> RuntimeChoice | None:
        """Where the encoder runs (None for an encoder that is not an engine model)."""
        choice: RuntimeChoice | None = getattr(self.encoder, "runtime", None)
        return choice

    def draft(
        self,
        text: str,
        intent: str | None = None,
        profile: Mapping[str, object] | None = None,
        *,
        budget_ms: float | None = None,
        min_similarity: float | None = None,
    ) -> Draft:
        """`min_similarity` raises the bank's bar for this call: where a wrong answer costs
        more (an e-mail sent to the customer), fall back to the template sooner."""
        started = time.perf_counter()
        self._check_intent(intent)
        query, reason = self._query(text)
        vector: np.ndarray | None = None
        if query is not None:
            future = self._pool.submit(self._embed, query)
            try:
                vector = future.result(timeout=self._seconds(budget_ms))
            except FutureTimeout:
                future.cancel()
                reason = "deadline"
        return self._finish(started, intent, profile, vector, reason, min_similarity)

    async def adraft(
        self,
        text: str,
        intent: str | None = None,
        profile: Mapping[str, object] | None = None,
        *,
        budget_ms: float | None = None,
        min_similarity: float | None = None,
    ) -> Draft:
        """`min_similarity` raises the bank's bar for this call: where a wrong answer costs
        more (an e-mail sent to the customer), fall back to the template sooner."""
        started = time.perf_counter()
        self._check_intent(intent)
        query, reason = self._query(text)
        vector: np.ndarray | None = None
        if query is not None:
            loop = asyncio.get_running_loop()
            try:
                vector = await asyncio.wait_for(
                    loop.run_in_executor(self._pool, self._embed, query),
                    timeout=self._seconds(budget_ms),
                )
            except TimeoutError:
                reason = "deadline"
        return self._finish(started, intent, profile, vector, reason, min_similarity)

    def _check_intent(self, intent: str | None) -> None:
        if intent is not None and intent not in self.templates.spec.intents:
            raise ValueError(f"unknown intent {intent!r}")

    def _seconds(self, budget_ms: float | None) -> float:
        return max(0.0, (budget_ms if budget_ms is not None else self.budget_ms) / 1000)

    @staticmethod
    def _query(text: str) -> tuple[str | None, Fallback | None]:
        query = " ".join(str(text)[:MAX_INPUT_CHARS].split())
        if not query:
            return None, "empty_input"
        if not has_hangul(query):
            return None, "not_korean"
        return query, None

    def _embed(self, query: str) -> np.ndarray:
        vectors: np.ndarray = self.encoder.embed([query]).vectors[0]
        return vectors

    def _finish(
        self,
        started: float,
        intent: str | None,
        profile: Mapping[str, object] | None,
        vector: np.ndarray | None,
        reason: Fallback | None,
        min_similarity: float | None = None,
    ) -> Draft:
        response_id: str | None = None
        similarity: float | None = None
        answer: str | None = None
        if vector is not None:
            record, similarity = self.bank.best(vector)
            bar = max(self.bank.manifest.min_similarity, min_similarity or -1.0)
            if similarity >= bar:
                response_id, answer = record.id, record.text
            else:
                reason = "low_similarity"
        rendered: Rendered = self.templates.render(intent, profile, answer)
        if reason == "deadline":
            log.warning("draft_deadline_fallback", budget_ms=self.budget_ms, intent=intent)
        return Draft(
            text=rendered.text,
            template_id=rendered.template_id,
            response_id=response_id,
            similarity=None if similarity is None else round(similarity, 4),
            model=self.encoder.stamp,
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
            fallback=reason,
            truncated=rendered.truncated,
        )

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.encoder.close()
