"""The reply drafter: the shop's own answer to the customer's open question, filled with
the facts of the order it is about, in the shop's reply frame.

`Drafter.load(bank_dir, encoder_dir)` then `draft(question, order=..., name=..., tone=...)`
from any thread. The drafter ranks the knowledge bank's answers for the question
(`KnowledgeBank.rank`: n-gram and embedding similarity, the topic model's label), keeps
those it can say (an answer about a shipped order needs a shipped order; every field it
uses must be known), and writes:

    greeting (or an apology when the customer is upset)
    a calm, de-escalating line after an abusive turn
    the best answer when it scores at least the bank's `min_score`,
        else the topic's no-answer line ("확인해서 바로 안내해 드릴게요")
    closing

bounded by the frame's `max_chars` (the closing goes first, then whole sentences). The
three best answers it can say come along as suggestions for the agent. The encoder has a
time budget: past it, retrieval goes on by n-grams alone (`fallback: deadline`), so a
draft is never late. A late encoder run is not interrupted (ONNX Runtime cannot be); it
finishes on the drafter's one thread while later drafts go lexical until it has.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from engage_stream.drafting.bank_file import Answer, BankError, sentences
from engage_stream.drafting.draft import (
    Draft,
    DraftKind,
    Fallback,
    Question,
    Suggestion,
    Tone,
    has_hangul,
)
from engage_stream.drafting.facts import OrderFacts, clean
from engage_stream.drafting.fields import parse
from engage_stream.drafting.knowledge import Encoder, KnowledgeBank
from engage_stream.inference.embedder import Embedder
from engage_stream.inference.engine_model import Closeable
from engage_stream.inference.model_folder import EMBEDDING, Precision
from engage_stream.inference.providers import Device, RuntimeChoice
from engage_stream.inference.vectors import RecentVectors
from engage_stream.observability.logs import get_logger
from engage_stream.schemas.actions import ModelStamp

log = get_logger("engage.drafting")

MAX_QUESTION_CHARS = 1_000
SUGGESTIONS = 3


class Drafter(Closeable):
    """Thread-safe; one encoder call at a time, on the drafter's own thread."""

    def __init__(
        self,
        bank: KnowledgeBank,
        encoder: Encoder | None,
        *,
        sender: Mapping[str, str],
        zone: ZoneInfo,
        budget_ms: float = 80.0,
    ) -> None:
        """`sender`: `shop_name` and `contact`, from the policy file."""
        self.bank = bank
        self.encoder = encoder
        self.budget_ms = budget_ms
        self.zone = zone
        self._shop = {**bank.file.spec.shop, **{k: clean(v) for k, v in sender.items()}}
        replies = bank.file.spec.replies
        self._frame = {
            name: [parse(line) for line in getattr(replies, name)]
            for name in ("greeting", "apology", "calm", "closing")
        }
        self._no_answer = {topic: parse(line) for topic, line in replies.no_answer.items()}
        self.max_chars = replies.max_chars
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engage-draft")
        self.vectors: RecentVectors | None = None
        """The scorer's vectors when its pass runs this encoder's file (`share_vectors`)."""
        self._owns_encoder = False
        """`load` opens the encoder and closes it with the drafter; a given one is the giver's."""

    @classmethod
    def load(
        cls,
        bank_dir: Path,
        encoder_dir: Path | None,
        *,
        sender: Mapping[str, str],
        zone: ZoneInfo,
        device: Device = "auto",
        budget_ms: float = 80.0,
        precision: Precision | None = None,
    ) -> Drafter:
        """The bank is checked before the encoder is opened; the encoder must be the one
        that built the bank's vectors (same file), else `BankError` says to rebuild."""
        bank = KnowledgeBank.load(bank_dir)
        built = bank.encoder
        encoder: Embedder | None = None
        if built is not None:
            if encoder_dir is None:
                raise BankError(bank_dir, ["was built with an encoder; name its model folder"])
            wanted = precision or built.precision
            encoder = Embedder.load(
                encoder_dir, head=EMBEDDING, device=device, precision=wanted, batch_max_size=1
            )
            if (
                encoder.runtime.precision == built.precision
                and encoder.stamp.sha256 != built.sha256
            ):
                encoder.close()
                raise BankError(
                    bank_dir,
                    [
                        f"vectors were made by {built.name} {built.version} (sha256 "
                        f"{built.sha256[:12]}); {encoder_dir} serves {encoder.stamp.sha256[:12]}: "
                        "build the bank again with this encoder",
                    ],
                )
            if encoder.runtime.precision != built.precision:
                log.warning(
                    "bank_precision_differs",
                    bank=built.precision,
                    encoder=encoder.runtime.precision,
                    note="similarities are slightly off; build the bank for this precision",
                )
        log.info(
            "drafter_loaded",
            bank=str(bank_dir),
            answers=len(bank.answers),
            version=bank.manifest.version,
            encoder=built.name if built else None,
            budget_ms=budget_ms,
        )
        drafter = cls(bank, encoder, sender=sender, zone=zone, budget_ms=budget_ms)
        drafter._owns_encoder = True
        return drafter

    def read_vectors(self, vectors: RecentVectors | None) -> bool:
        """Take question vectors from `vectors` (the scorer's) where it has them: only the
        vectors of this encoder's own file are taken. Whether they were."""
        if vectors is None or self.encoder is None:
            return False
        if vectors.stamp.sha256 != self.encoder.stamp.sha256:
            return False
        self.vectors = vectors
        return True

    @property
    def runtime(self) -> RuntimeChoice | None:
        """Where the encoder runs (None without one, or for an encoder not of the engine)."""
        choice: RuntimeChoice | None = getattr(self.encoder, "runtime", None)
        return choice

    @property
    def stamps(self) -> list[ModelStamp]:
        stamps = [self.bank.stamp]
        if self.encoder is not None:
            stamps.append(self.encoder.stamp)
        return stamps

    def draft(
        self,
        question: Question | None,
        *,
        order: OrderFacts | None = None,
        name: str | None = None,
        tone: Tone = "normal",
        budget_ms: float | None = None,
    ) -> Draft:
        started = time.perf_counter()
        fallback: Fallback | None = None
        models = [self.bank.stamp]
        ranked: list[Suggestion] = []
        topic = question.topic if question else None
        text = " ".join(question.text[:MAX_QUESTION_CHARS].split()) if question else ""
        if not text:
            fallback = "no_question"
        elif not has_hangul(text):
            fallback = "not_korean"
        else:
            vector = self._embed(text, question.text if question else text, budget_ms)
            if vector is None and self.encoder is not None:
                fallback = "deadline"
            elif self.encoder is not None:
                models.append(self.encoder.stamp)
            ranked = self.sayable(text, vector, question, order)
        chosen = ranked[0] if ranked and ranked[0].score >= self.bank.retrieval.min_score else None
        if ranked and chosen is None:
            fallback = "low_score"
        kind: DraftKind = (
            "no_answer" if chosen is None else ("grounded" if chosen.grounded else "general")
        )
        body = chosen.text if chosen else self._no_answer_line(topic)
        reply, truncated = self._frame_reply(body, name, tone)
        return Draft(
            text=reply,
            kind=kind,
            suggestions=tuple(ranked[:SUGGESTIONS]),
            models=tuple(models),
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
            fallback=fallback,
            truncated=truncated,
        )

    def _embed(self, text: str, asked: str, budget_ms: float | None) -> np.ndarray | None:
        """`text`'s vector: the scorer's, from the pass that scored `asked` (the question as
        written, of which `text` is the space-normalised form), or the encoder's."""
        if self.encoder is None:
            return None
        vectors = self.vectors
        if vectors is not None:
            scored = vectors.get(text)
            if scored is None and vectors.spaces_free and len(asked) <= MAX_QUESTION_CHARS:
                scored = vectors.get(asked)
            if scored is not None:
                return scored
        encoder = self.encoder
        future = self._pool.submit(lambda: encoder.embed([text]).vectors[0])
        try:
            vector: np.ndarray = future.result(
                timeout=max(0.0, (budget_ms or self.budget_ms) / 1000)
            )
        except FutureTimeout:
            future.cancel()
            log.warning("draft_deadline_lexical", budget_ms=budget_ms or self.budget_ms)
            return None
        return vector

    def sayable(
        self,
        text: str,
        vector: np.ndarray | None,
        question: Question | None,
        order: OrderFacts | None,
    ) -> list[Suggestion]:
        """The three best answers that can be said for this customer, rendered, best first
        (`vector`: the question's embedding, or None for n-grams alone)."""
        topic = None
        if question is not None and question.topic is not None:
            topic = (question.topic, question.topic_score or 0.0)
        values = {**self._shop, **(order.fields(self.zone) if order else {})}
        out: list[Suggestion] = []
        for scored in self.bank.ranked(text, vector, topic, ordered=order is not None):
            answer = scored.answer
            if not _fits(answer, order):
                continue
            rendered = answer.text.render(values)
            if rendered is None:
                continue
            out.append(
                Suggestion(
                    answer_id=answer.id,
                    topic=answer.topic,
                    score=scored.score,
                    text=rendered,
                    grounded=answer.order is not None,
                    auto_send=answer.auto_send,
                )
            )
            if len(out) == SUGGESTIONS:
                break
        return out

    def _no_answer_line(self, topic: str | None) -> str:
        line = self._no_answer.get(topic or "") or self._no_answer["default"]
        return line.render(self._shop) or ""

    def _frame_reply(self, body: str, name: str | None, tone: Tone) -> tuple[str, bool]:
        values = {**self._shop, **({"name": clean(name)} if name else {})}

        def first(kind: str) -> str:
            return next(r for r in (t.render(values) for t in self._frame[kind]) if r)

        opener = [first("greeting" if tone == "normal" else "apology")]
        if tone == "abusive":
            opener.append(first("calm"))
        closing = first("closing")
        parts = [*opener, *sentences(body)]
        if _length([*parts, closing]) <= self.max_chars:
            return " ".join([*parts, closing]), False
        kept = list(opener)
        for sentence in sentences(body):
            if _length([*kept, sentence]) > self.max_chars:
                break
            kept.append(sentence)
        return " ".join(kept), True

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._owns_encoder and isinstance(self.encoder, Closeable):
            self.encoder.close()


def _fits(answer: Answer, order: OrderFacts | None) -> bool:
    """An answer about an order needs an order on record, in the state it speaks of."""
    if answer.order is None:
        return True
    if order is None:
        return False
    return answer.order == "any" or answer.order == order.status


def _length(parts: Sequence[str]) -> int:
    return len(" ".join(parts))
