"""How long mask_text takes per 1,000 chat texts, today's masker against the last commit's.

    .venv/bin/python -m tests.privacy.bench_masking

Both run in the same process on the same texts, median of 5: the sample shop's customer
lines (data/sample-shop, most without a digit) and the corpus sentences that carry an
identifier or a shop number.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import time
import types
from collections.abc import Callable, Sequence

from engage_stream.config.settings import PROJECT_ROOT
from engage_stream.privacy import mask_text
from tests.privacy.corpus import identifiers, keepers

RUNS = 5
TEXTS = 1_000


def committed_masker() -> Callable[[str], str]:
    """mask_text as the last commit has it, loaded from git without touching the tree."""
    source = subprocess.run(
        ["git", "show", "HEAD:engage_stream/privacy/pii.py"],
        cwd=PROJECT_ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    module = types.ModuleType("committed_pii")
    exec(compile(source, "committed_pii.py", "exec"), module.__dict__)
    masker: Callable[[str], str] = module.mask_text
    return masker


def shop_lines(rng: random.Random) -> list[str]:
    lines = [
        json.loads(line)["text"]
        for name in ("bank-check.jsonl", "topic-check.jsonl", "topic-messages.jsonl")
        for line in (PROJECT_ROOT / "data" / "sample-shop" / name).read_text().splitlines()
        if line.strip()
    ]
    return rng.choices(lines, k=TEXTS)


def seconds(mask: Callable[[str], str], texts: Sequence[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        mask(text)
    return time.perf_counter() - start


def medians_ms(
    old: Callable[[str], str], new: Callable[[str], str], texts: Sequence[str]
) -> tuple[float, float]:
    """Median of RUNS each, the two interleaved so that a busy machine slows both alike."""
    runs = [(seconds(old, texts), seconds(new, texts)) for _ in range(RUNS)]
    return tuple(statistics.median(r[k] for r in runs) * 1_000 for k in (0, 1))  # type: ignore[return-value]


def main() -> None:
    rng = random.Random(14)
    before = committed_masker()
    sets = {
        "sample-shop chat lines": shop_lines(rng),
        "corpus sentences": rng.sample(
            [i.text for i in identifiers()] + [k.text for k in keepers()], TEXTS
        ),
    }
    for name, texts in sets.items():
        old, new = medians_ms(before, mask_text, texts)
        with_digit = sum(any(ch.isdigit() for ch in t) for t in texts)
        print(
            f"{name:<24} ({with_digit:4d}/{TEXTS} with a digit): "
            f"before {old:6.2f} ms, after {new:6.2f} ms per {TEXTS:,} texts ({new / old:.2f}x)"
        )


if __name__ == "__main__":
    main()
