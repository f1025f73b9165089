"""How well the drafter finds the shop's answer, and how fast: on questions that are not
the bank's own examples.

The questions are `data/sample-shop/bank-check.jsonl`, written apart from the bank: two
per answer, and 40 that no answer covers (`answer_id: null`). Each question is drafted as
a handoff would draft it: the topic head's label for it, an order in the state its answer
speaks of (for general answers, a seeded random state or none), the drafter's retrieval
and eligibility rules. The questions are split by answer id (fixed seed) into a tuning
half and a test half. On the tuning half each retrieval variant's `min_score` is chosen
(most drafts right: the labelled answer, or no answer where none fits), and a small grid of
weights is searched (`GRID`); the test half is reported. The shipped row uses the bank's
own manifest (`Retrieval`'s defaults, set from that grid). Latency is wall time around
`Drafter.draft` for the shipped settings, one draft at a time, after a warm-up.
"""

from __future__ import annotations

import itertools
import json
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from engage_stream.bench.stats import percentile
from engage_stream.drafting.bank_file import OrderNeed
from engage_stream.drafting.draft import Question, Suggestion
from engage_stream.drafting.drafter import Drafter
from engage_stream.drafting.facts import OrderFacts
from engage_stream.drafting.knowledge import Encoder, KnowledgeBank, Retrieval
from engage_stream.inference.scoring import Scorer

SEED = 20261201
WARM_UP = 20
STATES: tuple[OrderNeed | None, ...] = (
    None,
    "placed",
    "shipped",
    "delivered",
    "cancelled",
    "refunded",
)
MIN_SCORES = tuple(round(0.025 * i, 3) for i in range(41))


@dataclass(frozen=True, slots=True)
class CheckQuestion:
    text: str
    answer_id: str | None
    topic: str
    channel: str


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    retrieval: Retrieval
    dense: bool


@dataclass(frozen=True)
class Scores:
    answered: int
    hit_at_1: float
    hit_at_3: float
    unanswerable: int
    correct_fallback: float
    right: float
    """Share of all drafts that are right: the labelled answer, or none where none fits."""


@dataclass(frozen=True)
class VariantResult:
    name: str
    retrieval: dict[str, float]
    min_score: float
    tune: Scores
    test: Scores


@dataclass(frozen=True)
class DrafterBench:
    questions: int
    tune_questions: int
    test_questions: int
    variants: list[VariantResult]
    shipped: str
    """The variant the shipped bank's manifest uses."""
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    bank: str
    encoder: str | None
    topic_model: str


def load_questions(path: Path) -> list[CheckQuestion]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [CheckQuestion(r["text"], r["answer_id"], r["topic"], r["channel"]) for r in rows]


def halves(questions: Sequence[CheckQuestion]) -> tuple[list[int], list[int]]:
    """Indices of the tuning and the test half: by answer id, null questions alternately."""
    ids = sorted({q.answer_id for q in questions if q.answer_id})
    random.Random(SEED).shuffle(ids)
    tuning = set(ids[: len(ids) // 2])
    tune: list[int] = []
    test: list[int] = []
    nulls = 0
    for i, q in enumerate(questions):
        if q.answer_id is None:
            (tune if nulls % 2 == 0 else test).append(i)
            nulls += 1
        else:
            (tune if q.answer_id in tuning else test).append(i)
    return tune, test


def orders_for(questions: Sequence[CheckQuestion], bank: KnowledgeBank) -> list[OrderFacts | None]:
    """The order each asker has: in the state the labelled answer speaks of; for general
    answers and unanswerable questions, a seeded random state or none."""
    needs = {a.id: a.order for a in bank.answers}
    rng = random.Random(SEED)
    out: list[OrderFacts | None] = []
    for q in questions:
        need = needs.get(q.answer_id or "")
        state = need if need not in (None, "any") else rng.choice(STATES)
        out.append(None if state is None else sample_order(state))
    return out


def sample_order(status: OrderNeed) -> OrderFacts:
    at = datetime(2026, 11, 27, 3, tzinfo=UTC)
    shipped = status in ("shipped", "delivered")
    return OrderFacts(
        order_id="ORD-20261127-0042",
        status=status,
        items=("경량 패딩 자켓",),
        total_krw=89_000,
        placed_at=at,
        carrier="CJ대한통운" if shipped else None,
        tracking_number="612345678901" if shipped else None,
        estimated_delivery=date(2026, 11, 29) if shipped else None,
        delivered_at=at if status == "delivered" else None,
        cancelled_at=at if status in ("cancelled", "refunded") else None,
        refund_krw=89_000 if status == "refunded" else None,
        refunded_at=at if status == "refunded" else None,
    )


def _scores(
    questions: Sequence[CheckQuestion],
    ranked: Sequence[Sequence[Suggestion]],
    indices: Sequence[int],
    bar: float,
) -> Scores:
    answered = unanswerable = hits1 = hits3 = fallbacks = said_right = 0
    for i in indices:
        q, suggestions = questions[i], ranked[i]
        best = suggestions[0] if suggestions else None
        said = best.answer_id if best is not None and best.score >= bar else None
        if q.answer_id is None:
            unanswerable += 1
            fallbacks += said is None
        else:
            answered += 1
            hits1 += best is not None and best.answer_id == q.answer_id
            hits3 += q.answer_id in [s.answer_id for s in suggestions[:3]]
            said_right += said == q.answer_id
    return Scores(
        answered=answered,
        hit_at_1=round(hits1 / max(1, answered), 4),
        hit_at_3=round(hits3 / max(1, answered), 4),
        unanswerable=unanswerable,
        correct_fallback=round(fallbacks / max(1, unanswerable), 4),
        right=round((said_right + fallbacks) / max(1, answered + unanswerable), 4),
    )


def bench_drafter(
    bank: KnowledgeBank,
    encoder: Encoder | None,
    scorer: Scorer,
    questions: Sequence[CheckQuestion],
    *,
    sender: dict[str, str],
    zone: ZoneInfo,
) -> DrafterBench:
    """Every variant ranks every question once (the bar is chosen afterwards, on the tuning
    half); the shipped settings with the bank's own `min_score`; a grid of weights tuned on
    the tuning half; then the shipped settings timed one draft at a time."""
    texts = [q.text for q in questions]
    scored, _ = scorer.score_texts(texts)
    asked = [
        Question(
            q.text,
            s.topic.label if s and s.topic else None,
            s.topic.score if s and s.topic else None,
        )
        for q, s in zip(questions, scored, strict=True)
    ]
    vectors = encoder.embed(texts).vectors if encoder is not None else None
    orders = orders_for(questions, bank)
    tune, test = halves(questions)
    shipped = bank.retrieval
    variants = [
        Variant("lexical", replace_retrieval(shipped, dense_weight=0.0, topic_weight=0.0), False),
        Variant("lexical + topic", replace_retrieval(shipped, dense_weight=0.0), False),
    ]
    if vectors is not None:
        variants += [
            Variant(
                "dense", replace_retrieval(shipped, lexical_weight=0.0, topic_weight=0.0), True
            ),
            Variant("dense + topic", replace_retrieval(shipped, lexical_weight=0.0), True),
            Variant("lexical + dense", replace_retrieval(shipped, topic_weight=0.0), True),
        ]

    def ranked(retrieval: Retrieval, dense: bool) -> list[list[Suggestion]]:
        drafter = Drafter(_with(bank, retrieval), None, sender=sender, zone=zone)
        with drafter:
            return [
                drafter.sayable(q.text, vectors[i] if dense and vectors is not None else None, q, o)
                for i, (q, o) in enumerate(zip(asked, orders, strict=True))
            ]

    def result(name: str, retrieval: Retrieval, dense: bool, bar: float | None) -> VariantResult:
        found = ranked(retrieval, dense)
        if bar is None:
            bar = max(MIN_SCORES, key=lambda b: (_scores(questions, found, tune, b).right, -b))
        return VariantResult(
            name,
            {k: v for k, v in retrieval.model_dump().items() if k != "min_score"},
            bar,
            _scores(questions, found, tune, bar),
            _scores(questions, found, test, bar),
        )

    results = [result(v.name, v.retrieval, v.dense, None) for v in variants]
    dense = vectors is not None
    tuned = _tune(lambda r: ranked(r, dense), questions, tune)
    results.append(result("tuned on the tuning half (grid)", tuned, dense, tuned.min_score))
    results.append(result("shipped (the bank's manifest)", shipped, dense, shipped.min_score))
    latencies = _timed(bank, encoder, asked, orders, sender, zone)
    return DrafterBench(
        questions=len(questions),
        tune_questions=len(tune),
        test_questions=len(test),
        variants=results,
        shipped=results[-1].name,
        p50_ms=round(statistics.median(latencies), 2),
        p95_ms=round(percentile(latencies, 95), 2),
        p99_ms=round(percentile(latencies, 99), 2),
        max_ms=round(max(latencies), 2),
        bank=f"{bank.stamp.name} {bank.stamp.version} ({bank.stamp.sha256[:12]})",
        encoder=f"{encoder.stamp.name} {encoder.stamp.version}" if encoder else None,
        topic_model=" + ".join(f"{s.name} {s.version}" for s in scorer.stamps),
    )


GRID = {
    "lexical_weight": (0.3, 0.5, 0.7),
    "topic_weight": (0.0, 0.1, 0.2, 0.3),
    "order_weight": (0.0, 0.05, 0.1),
}
"""Weights tried by `_tune`; the dense weight is 1 - lexical."""


def _tune(
    ranked: Callable[[Retrieval], list[list[Suggestion]]],
    questions: Sequence[CheckQuestion],
    tune: Sequence[int],
) -> Retrieval:
    """The weights and bar with the most right drafts on the tuning half (ties: higher hit@1,
    then the simpler: less topic and order weight)."""
    best: tuple[tuple[float, float, float, float], Retrieval] | None = None
    for lexical, topic, order in itertools.product(*GRID.values()):
        retrieval = Retrieval(
            lexical_weight=lexical,
            dense_weight=round(1 - lexical, 2),
            topic_weight=topic,
            order_weight=order,
        )
        found = ranked(retrieval)
        for bar in MIN_SCORES:
            s = _scores(questions, found, tune, bar)
            key = (s.right, s.hit_at_1, -topic, -order)
            if best is None or key > best[0]:
                best = (key, retrieval.model_copy(update={"min_score": bar}))
    assert best is not None
    return best[1]


def replace_retrieval(retrieval: Retrieval, **changes: float) -> Retrieval:
    return retrieval.model_copy(update=changes)


def _with(bank: KnowledgeBank, retrieval: Retrieval) -> KnowledgeBank:
    copy = KnowledgeBank(bank.path, bank.manifest, bank.file, bank.vectors, bank.stamp)
    copy.retrieval = replace_retrieval(retrieval, min_score=0.0)
    return copy


def _timed(
    bank: KnowledgeBank,
    encoder: Encoder | None,
    asked: Sequence[Question],
    orders: Sequence[OrderFacts | None],
    sender: dict[str, str],
    zone: ZoneInfo,
) -> list[float]:
    with Drafter(bank, encoder, sender=sender, zone=zone) as drafter:
        for q, o in list(zip(asked, orders, strict=True))[:WARM_UP]:
            drafter.draft(q, order=o)
        latencies = []
        for q, o in zip(asked, orders, strict=True):
            started = time.perf_counter()
            drafter.draft(q, order=o)
            latencies.append((time.perf_counter() - started) * 1000)
        return latencies


def markdown(result: DrafterBench, machine: dict[str, object]) -> str:
    lines = [
        "# Drafter: the shop's answer for questions that are not bank examples",
        "",
        f"Machine: {machine.get('cpu')} ({machine.get('cores')} cores), {machine.get('date')}. "
        f"Command: `{machine.get('command')}`.",
        "",
        f"Bank {result.bank}; encoder {result.encoder or '-'}; heads from {result.topic_model}. "
        f"{result.questions} questions of `data/sample-shop/bank-check.jsonl` (written apart "
        f"from the bank), split by answer id: {result.tune_questions} to choose each "
        f"variant's min_score, {result.test_questions} reported.",
        "",
        "| retrieval | min_score | hit@1 | hit@3 | correct fallback | right | hit@1 (tune) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *(
            f"| {v.name} | {v.min_score} | {v.test.hit_at_1:.3f} | {v.test.hit_at_3:.3f} | "
            f"{v.test.correct_fallback:.3f} | {v.test.right:.3f} | {v.tune.hit_at_1:.3f} |"
            for v in result.variants
        ),
        "",
        "hit@1: the best suggestion is the labelled answer; hit@3: it is among the three "
        "suggestions; correct fallback: a question no answer covers gets none (best score "
        "below min_score); right: the share of all test questions whose draft says the "
        "labelled answer, or none where none fits.",
        "",
        f"Latency of the shipped settings, one draft at a time ({result.questions} drafts): "
        f"p50 {result.p50_ms} ms, p95 {result.p95_ms} ms, p99 {result.p99_ms} ms, "
        f"max {result.max_ms} ms.",
        "",
    ]
    return "\n".join(lines)


def as_json(result: DrafterBench, machine: dict[str, object]) -> str:
    return json.dumps({"machine": machine, **asdict(result)}, indent=2, ensure_ascii=False)
