"""Draft latency and politeness of a shipped drafter on the validation questions.

Each question is drafted alone, as a handoff would, after a warm-up; the numbers are wall
time around `Drafter.draft` (tokenise, encode, search the bank, fill the template).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from engage_stream.bench.stats import percentile
from engage_stream.drafting.drafter import Drafter
from engage_stream.drafting.politeness import is_polite
from engage_stream.drafting.templates import INTENTS
from engage_stream.training.chrf import corpus_chrf

WARM_UP = 20


@dataclass(frozen=True)
class DrafterBench:
    drafts: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    polite_rate: float
    """Whole drafts (template + answer) that end politely."""
    fallbacks: dict[str, int]
    truncated: int
    response_chrf: float
    """chrF of the retrieved answer alone against the reference answer."""
    draft_chrf: float
    """chrF of the whole draft (with template text) against the reference answer."""
    budget_ms: float
    precision: str
    model_sha256: str


def bench_drafter(
    model_dir: Path,
    questions: Sequence[str],
    references: Sequence[str],
    *,
    threads: int | None = None,
) -> DrafterBench:
    """Drafts cycle through no intent and every intent label, with and without profile."""
    with Drafter.load(model_dir, device="cpu", threads=threads) as drafter:
        texts = {r.id: r.text for r in drafter.bank.responses}
        for question in questions[:WARM_UP]:
            drafter.draft(question)
        latencies: list[float] = []
        drafts: list[str] = []
        responses: list[str] = []
        fallbacks: Counter[str] = Counter()
        truncated = 0
        intents: list[str | None] = [None, *INTENTS]
        for i, question in enumerate(questions):
            intent = intents[i % len(intents)]
            profile = {"name": "김민지", "order_id": f"ORD-{i}"} if i % 2 else None
            started = time.perf_counter()
            draft = drafter.draft(question, intent=intent, profile=profile)
            latencies.append((time.perf_counter() - started) * 1000)
            drafts.append(draft.text)
            responses.append(texts.get(draft.response_id or "", ""))
            fallbacks[draft.fallback or "none"] += 1
            truncated += int(draft.truncated)
        return DrafterBench(
            drafts=len(drafts),
            p50_ms=round(statistics.median(latencies), 2),
            p95_ms=round(percentile(latencies, 95), 2),
            p99_ms=round(percentile(latencies, 99), 2),
            max_ms=round(max(latencies), 2),
            polite_rate=round(sum(map(is_polite, drafts)) / len(drafts), 4),
            fallbacks=dict(fallbacks),
            truncated=truncated,
            response_chrf=round(corpus_chrf(responses, list(references)), 2),
            draft_chrf=round(corpus_chrf(drafts, list(references)), 2),
            budget_ms=drafter.budget_ms,
            precision=drafter.bank.manifest.precision,
            model_sha256=drafter.stamp.sha256,
        )


def markdown(name: str, result: DrafterBench, machine: dict[str, object]) -> str:
    r = asdict(result)
    return "\n".join(
        [
            f"## {name}",
            "",
            f"{machine['date']} · {machine['cpu']} · {machine['cores']} cores · "
            f"load {machine.get('load_average_1m', '?')} · `{machine['command']}`",
            "",
            "| drafts | p50 ms | p95 ms | p99 ms | max ms | polite | answer chrF | draft chrF |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
            f"| {r['drafts']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['max_ms']} "
            f"| {r['polite_rate']} | {r['response_chrf']} | {r['draft_chrf']} |",
            "",
            f"One validation question per draft (split by distinct question), {result.precision} "
            f"encoder on the CPU, deadline {result.budget_ms} ms; intents cycle through none and "
            "the seven labels, every other draft with a name and an order number. "
            f"Fallbacks: {dict(result.fallbacks)}; truncated: {result.truncated}.",
            "",
        ]
    )
