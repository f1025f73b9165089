"""The engine on CUDA (fp16, IO binding) beside the CPU (int8): messages/s per batch size.

Run through scripts/gpu_check.sh on a GPU machine; it fails loudly if CUDA cannot be used
(device="cuda"), and checks that CUDA fp16 gives the CPU fp32 labels before timing.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from engage_stream.inference import Classifier, Embedder
from engage_stream.inference.heads import open_groups
from engage_stream.inference.model_folder import CHAR_NGRAM, load_model_folder
from engage_stream.observability.logs import configure_logging

BATCH_SIZES = (1, 8, 32, 128, 256)
MIN_SECONDS = 2.0
MESSAGES = (
    "배송이 언제 오나요?",
    "주문한 상품이 아직 안 왔어요. 확인 부탁드립니다.",
    "환불 신청하려고 하는데 어떻게 해야 하나요?",
    "상담원 연결해 주세요",
    "이거 진짜 너무하네요 다시는 안 삽니다",
    "사이즈 교환 가능할까요? 한 치수 큰 걸로 바꾸고 싶어요",
    "쿠폰이 적용이 안 돼요",
    "감사합니다 잘 받았어요!",
    "결제 취소해 줘",
    "왜 아직도 답이 없죠? 어제부터 기다리고 있어요",
    "내일 오전까지 받을 수 있나요",
    "네",
)


def texts_for(batch: int, offset: int = 0) -> list[str]:
    return [MESSAGES[(offset + i) % len(MESSAGES)] for i in range(batch)]


def timed(call: Callable[[list[str]], Any], batch: int) -> dict[str, float]:
    texts = texts_for(batch)
    for _ in range(3):
        call(texts)
    latencies: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < MIN_SECONDS or len(latencies) < 5:
        t0 = time.perf_counter()
        call(texts)
        latencies.append(time.perf_counter() - t0)
    latencies.sort()
    return {
        "messages_per_s": round(batch * len(latencies) / sum(latencies), 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 3),
    }


def check(folder: Path) -> dict[str, Any]:
    """Load on CUDA (must work), on the CPU (int8) and as a CPU fp32 reference; compare, time."""
    loaded = load_model_folder(folder)
    task = loaded.task
    # The drafter ships int8 only: its reference is then the CPU int8 file.
    reference: Any = "fp32" if "fp32" in loaded.weight_files else None
    size = max(BATCH_SIZES)
    sample = texts_for(len(MESSAGES) * 4, offset=1)
    result: dict[str, Any] = {"model": folder.name, "task": task}
    runs: dict[str, Callable[[list[str]], Any]]
    if task == "multi-head":
        roles = [h.name for h in loaded.heads if h.kind == "classification"]
        bindings = {role: folder for role in roles}
        (gpu_group,) = open_groups(bindings, device="cuda", batch_max_size=size)
        (cpu_group,) = open_groups(bindings, device="cpu", batch_max_size=size)
        (ref_group,) = open_groups(bindings, device="cpu", precision=reference, batch_max_size=size)
        on_gpu, on_ref = gpu_group.predict(sample), ref_group.predict(sample)
        result["cuda"] = str(gpu_group.runner.choice)
        for role in roles:
            pairs_of = list(zip(on_gpu[role], on_ref[role], strict=True))
            result[f"cuda_vs_cpu_fp32_label_agreement_{role}"] = float(
                np.mean([a.label == b.label for a, b in pairs_of])
            )
        runs = {"cuda": gpu_group.predict, "cpu": cpu_group.predict}
    elif task == "text-classification":
        gpu = Classifier.load(folder, device="cuda", batch_max_size=size)
        cpu = Classifier.load(folder, device="cpu", batch_max_size=size)
        ref = Classifier.load(folder, device="cpu", precision=reference, batch_max_size=size)
        pairs = list(zip(gpu.predict(sample), ref.predict(sample), strict=True))
        result["cuda"] = str(gpu.runtime)
        result["cuda_vs_cpu_fp32_label_agreement"] = float(
            np.mean([a.label == b.label for a, b in pairs])
        )
        result["cuda_vs_cpu_fp32_max_score_diff"] = max(
            abs(a.scores[k] - b.scores[k]) for a, b in pairs for k in a.scores
        )
        runs = {"cuda": gpu.predict, "cpu": cpu.predict}
    else:
        enc_gpu = Embedder.load(folder, device="cuda", batch_max_size=size)
        enc_cpu = Embedder.load(folder, device="cpu", batch_max_size=size)
        enc_ref = Embedder.load(folder, device="cpu", precision=reference, batch_max_size=size)
        cosine = (enc_gpu.embed(sample).vectors * enc_ref.embed(sample).vectors).sum(axis=1)
        result["cuda"] = str(enc_gpu.runtime)
        result["cuda_vs_cpu_fp32_min_cosine"] = float(cosine.min())
        runs = {"cuda": enc_gpu.embed, "cpu": enc_cpu.embed}
    result["rows"] = [
        {"engine": name, "batch": batch, **timed(call, batch)}
        for batch in BATCH_SIZES
        for name, call in runs.items()
    ]
    return result


def main(args: Sequence[str]) -> int:
    configure_logging("INFO")
    if hasattr(ort, "preload_dlls"):
        ort.preload_dlls()
    print(f"onnxruntime {ort.__version__} from {Path(ort.__file__).parent}")
    print(f"providers: {ort.get_available_providers()}")
    # An n-gram folder has no ONNX graph: numpy on the CPU serves it on any machine.
    folders = [Path(a) for a in args] or sorted(
        p.parent
        for p in Path("models").glob("*/engage-model.json")
        if load_model_folder(p.parent).task != CHAR_NGRAM
    )
    if not folders:
        print("no model folders given and none under models/", file=sys.stderr)
        return 2
    results: list[dict[str, Any]] = []
    failed = 0
    for folder in folders:
        try:
            results.append(check(folder))
        except Exception:  # one broken model should not hide the others' numbers
            failed += 1
            print(f"\n{folder.name}: check failed", file=sys.stderr)
            traceback.print_exc()
    for result in results:
        print(f"\n{result['model']} ({result['task']}): {result['cuda']}")
        for key, value in result.items():
            if key.startswith("cuda_vs"):
                print(f"  {key}: {value}")
        print("  | engine | batch | messages/s | p50 ms | p95 ms |")
        print("  | --- | --- | --- | --- | --- |")
        for row in result["rows"]:
            print(
                f"  | {row['engine']} | {row['batch']} | {row['messages_per_s']:,.0f} "
                f"| {row['p50_ms']} | {row['p95_ms']} |"
            )
    out = os.environ.get("OUT")
    if out:
        record = {
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "onnxruntime": ort.__version__,
            "gpu": _gpu_name(),
            "cpu_cores": os.cpu_count(),
            "command": "bash scripts/gpu_check.sh",
            "models": results,
        }
        (Path(out) / "gpu_check.json").write_text(json.dumps(record, indent=2, ensure_ascii=False))
    return 1 if failed else 0


def _gpu_name() -> str:
    try:
        return subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
