"""Messages/s and batch latency of one classifier: ONNX int8, ONNX fp32, PyTorch eager.

All three run the same weights on the same real messages in the same process, one after
the other, so their ratios mean something on a shared, noisy machine.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

BATCH_SIZES = (1, 8, 32, 128)


@dataclass(frozen=True)
class BenchRow:
    engine: str
    batch_size: int
    messages_per_s: float
    p50_ms: float
    p95_ms: float
    batches: int


def chat_messages(count: int, seed: int = 7) -> list[str]:
    """Real chat-length messages: a fixed sample of the 3i4K validation split."""
    from engage_stream.training.corpora import load_intent
    from engage_stream.training.splits import split

    texts = split(load_intent()).val_texts
    return random.Random(seed).sample(texts, min(count, len(texts)))  # noqa: S311 - sampling


def time_batches(
    run: Callable[[Sequence[str]], object], texts: list[str], batch_size: int, min_seconds: float
) -> tuple[float, list[float]]:
    """Run `texts` in batches until at least `min_seconds` passed; one warm-up batch first."""
    run(texts[:batch_size])
    latencies: list[float] = []
    done = 0
    started = time.perf_counter()
    while True:
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            t0 = time.perf_counter()
            run(batch)
            latencies.append((time.perf_counter() - t0) * 1000)
            done += len(batch)
        if time.perf_counter() - started >= min_seconds:
            break
    return done / (time.perf_counter() - started), latencies


def _row(engine: str, batch_size: int, measured: tuple[float, list[float]]) -> BenchRow:
    rate, latencies = measured
    ordered = sorted(latencies)
    return BenchRow(
        engine=engine,
        batch_size=batch_size,
        messages_per_s=round(rate, 1),
        p50_ms=round(statistics.median(ordered), 2),
        p95_ms=round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2),
        batches=len(ordered),
    )


def torch_runner(hf_dir: Path, threads: int) -> Callable[[Sequence[str]], object]:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.set_num_threads(threads)
    tokenizer = AutoTokenizer.from_pretrained(hf_dir)
    model = AutoModelForSequenceClassification.from_pretrained(hf_dir).eval()

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
) -> list[BenchRow]:
    from engage_stream.inference.classifier import Classifier
    from engage_stream.inference.providers import default_threads

    threads = threads or default_threads()
    engines: list[tuple[str, Callable[[Sequence[str]], object]]] = []
    for precision in ("int8", "fp32"):
        classifier = Classifier.load(
            model_dir,
            device="cpu",
            precision=precision,
            batch_max_size=max(batch_sizes),
            threads=threads,
        )
        engines.append((f"onnx-{precision}", classifier.predict))
    if hf_dir is not None:
        engines.append(("pytorch-eager-fp32", torch_runner(hf_dir, threads)))
    rows = []
    for batch_size in batch_sizes:
        for name, run in engines:
            rows.append(_row(name, batch_size, time_batches(run, texts, batch_size, min_seconds)))
    return rows


def markdown(model: str, rows: list[BenchRow], machine: dict[str, object]) -> str:
    engines = list(dict.fromkeys(r.engine for r in rows))
    lines = [
        f"## {model}",
        "",
        f"{machine['date']} · {machine['cpu']} · {machine['cores']} cores · `{machine['command']}`",
        "",
        "| batch | " + " | ".join(f"{e} msg/s (p50 / p95 ms)" for e in engines) + " |",
        "| --- |" + " --- |" * len(engines),
    ]
    for size in dict.fromkeys(r.batch_size for r in rows):
        cells = []
        for engine in engines:
            r = next(x for x in rows if x.engine == engine and x.batch_size == size)
            cells.append(f"{r.messages_per_s:,.0f} ({r.p50_ms} / {r.p95_ms})")
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
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
