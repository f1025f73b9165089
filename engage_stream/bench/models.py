"""Messages/s and batch latency of one classifier: ONNX int8, ONNX fp32, PyTorch eager.

All run the same weights on the same real messages in the same process, taking turns in
short rounds, so a noisy neighbour slows them alike: each rate is the median of its
rounds, and a speed-up is the median of the per-round ratios. The int8 engine also
runs as one lane, one multi-threaded run at a time (`onnx-int8-one-run`), the layout the lanes
replaced, so that choice stays measured.
"""

from __future__ import annotations

import itertools
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engage_stream.inference.model_folder import Precision

BATCH_SIZES = (1, 8, 32, 128)
ROUNDS = 5
EAGER = "pytorch-eager-fp32"


@dataclass(frozen=True)
class BenchRow:
    engine: str
    batch_size: int
    messages_per_s: float
    p50_ms: float
    p95_ms: float
    batches: int
    round_rates: tuple[float, ...] = ()
    """Messages/s of each round, in order; `messages_per_s` is their median."""


def chat_messages(count: int, seed: int = 7) -> list[str]:
    """Real chat-length messages: a fixed sample of the 3i4K validation split."""
    from engage_stream.training.corpora import load_intent
    from engage_stream.training.splits import split

    texts = split(load_intent()).val_texts
    return random.Random(seed).sample(texts, min(count, len(texts)))


def time_batches(
    run: Callable[[Sequence[str]], object], texts: list[str], batch_size: int, min_seconds: float
) -> tuple[float, list[float]]:
    """Run `texts` in batches, from the first, until at least `min_seconds` passed (one
    batch at least); one warm-up batch first."""
    run(texts[:batch_size])
    starts = itertools.cycle(range(0, len(texts), batch_size))
    latencies: list[float] = []
    done = 0
    started = time.perf_counter()
    while not latencies or time.perf_counter() - started < min_seconds:
        start = next(starts)
        batch = texts[start : start + batch_size]
        t0 = time.perf_counter()
        run(batch)
        latencies.append((time.perf_counter() - t0) * 1000)
        done += len(batch)
    return done / (time.perf_counter() - started), latencies


def _row(engine: str, batch_size: int, rounds: list[tuple[float, list[float]]]) -> BenchRow:
    rates = [round(rate, 1) for rate, _ in rounds]
    ordered = sorted(latency for _, latencies in rounds for latency in latencies)
    return BenchRow(
        engine=engine,
        batch_size=batch_size,
        messages_per_s=round(statistics.median(rates), 1),
        p50_ms=round(statistics.median(ordered), 2),
        p95_ms=round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2),
        batches=len(ordered),
        round_rates=tuple(rates),
    )


def speedup(rows: Sequence[BenchRow], engine: str, baseline: str, batch_size: int) -> float | None:
    """Median over rounds of `engine`'s rate over `baseline`'s in the same round."""
    mine = next((r for r in rows if r.engine == engine and r.batch_size == batch_size), None)
    theirs = next((r for r in rows if r.engine == baseline and r.batch_size == batch_size), None)
    if mine is None or theirs is None or not mine.round_rates:
        return None
    ratios = [a / b for a, b in zip(mine.round_rates, theirs.round_rates, strict=True) if b > 0]
    return round(statistics.median(ratios), 2) if ratios else None


def eager_model(model_dir: Path, hf_dir: Path | None, texts: Sequence[str]) -> Any:
    """The PyTorch module of the same weights: from `hf_dir` when given, else rebuilt
    from the model folder's fp32 ONNX file and checked against it on `texts`."""
    if hf_dir is not None:
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification.from_pretrained(hf_dir).eval()
    from engage_stream.export.torch_from_onnx import eager_classifier

    return eager_classifier(model_dir, texts)


def torch_runner(
    model: Any, tokenizer_dir: Path, threads: int
) -> Callable[[Sequence[str]], object]:
    """PyTorch eager as it is usually served: the HF tokenizer pads each batch to its
    longest text; inference mode; the same threads as the engine."""
    import torch
    from transformers import AutoTokenizer

    torch.set_num_threads(threads)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)

    def run(texts: Sequence[str]) -> object:
        with torch.inference_mode():
            batch = tokenizer(
                list(texts), truncation=True, max_length=64, padding=True, return_tensors="pt"
            )
            return model(**batch).logits.argmax(-1)

    return run


def bench_classifier(
    model_dir: Path,
    hf_dir: Path | None,
    texts: list[str],
    batch_sizes: Sequence[int] = BATCH_SIZES,
    min_seconds: float = 3.0,
    threads: int | None = None,
    eager: bool = True,
    rounds: int = ROUNDS,
) -> list[BenchRow]:
    """One row per engine and batch size; every cell gets `min_seconds` in all, spread
    over `rounds` turns."""
    from engage_stream.inference.classifier import Classifier
    from engage_stream.inference.providers import default_threads

    threads = threads or default_threads()
    layouts: list[tuple[str, Precision, int | None]] = [("onnx-int8", "int8", None)]
    if threads > 1:
        layouts.append(("onnx-int8-one-run", "int8", 1))
    layouts.append(("onnx-fp32", "fp32", None))
    engines: list[tuple[str, Callable[[Sequence[str]], object]]] = []
    for engine, precision, lanes in layouts:
        classifier = Classifier.load(
            model_dir,
            device="cpu",
            precision=precision,
            batch_max_size=max(batch_sizes),
            threads=threads,
            lanes=lanes,
        )
        engines.append((engine, classifier.predict))
    if eager:
        model = eager_model(model_dir, hf_dir, texts[:64])
        engines.append((EAGER, torch_runner(model, hf_dir or model_dir, threads)))
    rows: list[BenchRow] = []
    for batch_size in batch_sizes:
        measured: dict[str, list[tuple[float, list[float]]]] = {name: [] for name, _ in engines}
        for _ in range(rounds):
            for name, run in engines:
                measured[name].append(time_batches(run, texts, batch_size, min_seconds / rounds))
        rows.extend(_row(name, batch_size, measured[name]) for name, _ in engines)
    return rows


def markdown(model: str, rows: list[BenchRow], machine: dict[str, object]) -> str:
    engines = list(dict.fromkeys(r.engine for r in rows))
    compared = "onnx-int8" in engines and EAGER in engines
    lines = [
        f"## {model}",
        "",
        f"{machine['date']} · {machine['cpu']} · {machine['cores']} cores · `{machine['command']}`",
        "",
        "| batch | "
        + " | ".join(f"{e} msg/s (p50 / p95 ms)" for e in engines)
        + (" | int8 ÷ eager |" if compared else " |"),
        "| --- |" + " --- |" * (len(engines) + compared),
    ]
    for size in dict.fromkeys(r.batch_size for r in rows):
        cells = []
        for engine in engines:
            r = next(x for x in rows if x.engine == engine and x.batch_size == size)
            cells.append(f"{r.messages_per_s:,.0f} ({r.p50_ms} / {r.p95_ms})")
        if compared:
            cells.append(f"{speedup(rows, 'onnx-int8', EAGER, size)}×")
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Messages/s: median of {len(rows[0].round_rates)} rounds, the engines taking turns; "
        "int8 ÷ eager: median of the per-round ratios.",
    ]
    return "\n".join(lines) + "\n"


def as_records(rows: list[BenchRow]) -> list[dict[str, object]]:
    return [asdict(r) for r in rows]


def onnx_accuracy(model_dir: Path, texts: list[str], labels: list[int]) -> dict[str, float]:
    """Validation accuracy of each ONNX precision: what int8 costs, measured."""
    from engage_stream.inference.classifier import Classifier

    accuracy = {}
    for precision in ("int8", "fp32"):
        classifier = Classifier.load(
            model_dir, device="cpu", precision=precision, batch_max_size=128
        )
        predicted = [classifier.labels.index(p.label) for p in classifier.predict(texts)]
        accuracy[precision] = round(sum(map(int.__eq__, predicted, labels)) / len(labels), 4)
    return accuracy


SINGLE_HEADS = "intent-ko + toxicity-ko (two passes)"


def bench_heads(
    multihead_dir: Path,
    singles: Sequence[Path],
    texts: list[str],
    batch_sizes: Sequence[int] = BATCH_SIZES,
    min_seconds: float = 3.0,
    rounds: int = ROUNDS,
    topic_dir: Path | None = None,
) -> list[BenchRow]:
    """One encoder pass for every head against one pass per single-head model (the
    pipeline's model stage before the multi-head model): int8 on the CPU, taking turns.

    The multi-head model runs with intent, toxicity and topic from one session run, and
    also with only its encoder's work counted (the embedding head alone), so what the
    appended heads cost stays measured; `topic_dir`, a topic model served beside it (the
    character n-gram one), is timed alone in the same rounds."""
    from engage_stream.inference.classifier import Classifier
    from engage_stream.inference.embedder import Embedder
    from engage_stream.inference.heads import Group, open_groups
    from engage_stream.inference.model_folder import EMBEDDING

    size = max(batch_sizes)
    classifiers = [
        Classifier.load(path, device="cpu", precision="int8", batch_max_size=size)
        for path in singles
    ]
    roles = ("intent", "toxicity", "topic")
    (group,) = open_groups(
        {role: multihead_dir for role in roles}, device="cpu", precision="int8", batch_max_size=size
    )
    pooled = Embedder.load(
        multihead_dir, head=EMBEDDING, device="cpu", precision="int8", batch_max_size=size
    )

    def two_passes(batch: Sequence[str]) -> object:
        return [c.predict(batch) for c in classifiers]

    engines: list[tuple[str, Callable[[Sequence[str]], object]]] = [
        (SINGLE_HEADS, two_passes),
        (f"{group.name}: intent + toxicity + topic (one pass)", group.predict),
        (f"{group.name}: embedding only (the encoder)", pooled.embed),
    ]
    served: list[Group] = []
    if topic_dir is not None:
        served = open_groups({"topic": topic_dir}, device="cpu", precision="int8")
        topic = served[0]

        def as_served(batch: Sequence[str]) -> object:
            return group.predict(batch), topic.predict(batch)

        engines += [
            (f"{topic.name}: topic alone", topic.predict),
            (f"as served: {group.name} + {topic.name}", as_served),
        ]
    rows: list[BenchRow] = []
    try:
        for batch_size in batch_sizes:
            measured: dict[str, list[tuple[float, list[float]]]] = {n: [] for n, _ in engines}
            for _ in range(rounds):
                for name, run in engines:
                    measured[name].append(
                        time_batches(run, texts, batch_size, min_seconds / rounds)
                    )
            rows.extend(_row(name, batch_size, measured[name]) for name, _ in engines)
    finally:
        for classifier in classifiers:
            classifier.close()
        group.close()
        pooled.close()
        for other in served:
            other.close()
    return rows


def heads_markdown(rows: list[BenchRow], machine: dict[str, object]) -> str:
    engines = list(dict.fromkeys(r.engine for r in rows))
    one_pass = engines[1]
    served = next((e for e in engines if e.startswith("as served: ")), None)
    ratios = ["one pass ÷ two passes", *(["as served ÷ two passes"] if served else [])]
    lines = [
        "## One encoder pass for every head",
        "",
        f"{machine['date']} · {machine['cpu']} · {machine['cores']} cores · `{machine['command']}`",
        "",
        "| batch | "
        + " | ".join([*(f"{e} msg/s (p50 / p95 ms)" for e in engines), *ratios])
        + " |",
        "| --- |" + " --- |" * (len(engines) + len(ratios)),
    ]
    for size in dict.fromkeys(r.batch_size for r in rows):
        cells = []
        for engine in engines:
            r = next(x for x in rows if x.engine == engine and x.batch_size == size)
            cells.append(f"{r.messages_per_s:,.0f} ({r.p50_ms} / {r.p95_ms})")
        cells.append(f"{speedup(rows, one_pass, SINGLE_HEADS, size)}×")
        if served:
            cells.append(f"{speedup(rows, served, SINGLE_HEADS, size)}×")
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"ONNX Runtime int8 on the CPU, every engine on the same {len(rows[0].round_rates)} "
        "rounds of the same real messages, taking turns; msg/s: median of the rounds; ratio: "
        "median of the per-round ratios. Two passes: the shipped single-head intent-ko and "
        "toxicity-ko, one after the other (no topic). One pass: the multi-head model's "
        "session answers all three heads. Embedding only: the shared encoder with no "
        "classification head, so the heads' own cost is the difference."
        + (
            f" {engines[3].split(':')[0]}: the topic model served beside the encoder "
            "(`ENGAGE_MODEL_TOPIC`), alone; as served: the multi-head pass for intent and "
            "toxicity, then that topic model, as the worker's model stage runs them."
            if served
            else ""
        ),
    ]
    return "\n".join(lines) + "\n"
