"""Train intent-ko and toxicity-ko on a GPU machine that has no package index.

Continues masked-LM pre-training of the shipped Korean base (same tokenizer, same shape, so
the CPU engine keeps its speed), then fine-tunes both classifiers over a small grid of
settings (toxicity-ko self-trained, as its recipe says) and keeps, per model, the one with
the best validation macro-F1 (the same fixed-seed split as `engage-stream train`). Writes,
under $OUT (or --out): one tar per model folder (weights stored fp16 to fit the transfer
limit; `scripts/gpu_train_import.py` turns them back into fp32 HF folders for
`engage-stream export`) and `gpu_train.json` with every run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import tarfile
import tempfile
import time
from pathlib import Path

from engage_stream.training.classifier import finetune
from engage_stream.training.corpora import tokenizer_corpus
from engage_stream.training.encoder import SHAPES
from engage_stream.training.pretrain import PretrainConfig, pretrain
from engage_stream.training.recipes import RECIPES
from engage_stream.training.self_training import self_train
from engage_stream.training.splits import split

GRID: dict[str, list[dict[str, float]]] = {
    # Toxicity first: its corpus is small, and time it leaves over goes to the intent runs.
    # Self-trained (the recipe's teachers label the unlabelled comments): one setting, since
    # each run is the teachers and the model.
    "toxicity-ko": [
        {"learning_rate": 1e-4, "epochs": 6, "class_weighting": 0.5},
    ],
    "intent-ko": [
        {"learning_rate": 3e-4, "epochs": 4, "batch_size": 64},
        {"learning_rate": 2e-4, "epochs": 5, "batch_size": 64, "class_weighting": 0.3},
        {"learning_rate": 2e-4, "epochs": 4},
    ],
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "gpu-train")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu-out")))
    parser.add_argument("--minutes", type=float, default=7.0, help="the whole budget")
    parser.add_argument("--pretrain-share", type=float, default=0.45)
    parser.add_argument("--pretrain-batch", type=int, default=256)
    parser.add_argument("--limit", type=int, default=None, help="dry runs: fewer texts")
    args = parser.parse_args()
    started = time.monotonic()
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    record: dict[str, object] = {"grid": GRID}

    base = args.work / "pretrained-ko-small"
    shutil.rmtree(base, ignore_errors=True)
    shutil.copytree(args.base, base)
    texts = tokenizer_corpus(args.data)[: args.limit]
    # Calibrate: how many steps fit, so the learning rate decays to zero by the deadline.
    probe = args.work / "probe"
    shutil.rmtree(probe, ignore_errors=True)
    shutil.copytree(args.base, probe)
    probe_config = PretrainConfig(
        SHAPES["small"], epochs=1000, max_minutes=0.15, batch_size=args.pretrain_batch
    )
    probed = pretrain(texts, probe, probe_config, resume=True)
    sessions = probed["sessions"]
    probe_steps = int(sessions[-1]["steps"])  # type: ignore[index]
    steps_per_minute = probe_steps / 0.15
    minutes = args.minutes * args.pretrain_share
    steps_per_epoch = -(-len(texts) // args.pretrain_batch)
    epochs = max(1.0, 0.9 * steps_per_minute * minutes / steps_per_epoch)
    print(json.dumps({"steps_per_minute": steps_per_minute, "epochs": epochs}), flush=True)
    config = PretrainConfig(
        SHAPES["small"],
        epochs=round(epochs, 2),
        max_minutes=minutes,
        learning_rate=3e-4,
        batch_size=args.pretrain_batch,
    )
    report = pretrain(texts, base, config, resume=True)
    record["pretrain"] = report
    print(json.dumps({"pretrain": report}, default=str), flush=True)
    _pack(base, args.out / "pretrained-ko-small.tar", "pretrained-ko-small", report)
    runs_left = sum(len(g) for g in GRID.values())

    for name, grid in GRID.items():
        recipe = RECIPES[name]
        corpus = recipe.load(args.data)
        data = split(corpus)
        if args.limit:
            data = dataclasses.replace(
                data,
                train_texts=data.train_texts[: args.limit],
                train_labels=data.train_labels[: args.limit],
            )
        runs = []
        for k, change in enumerate(grid):
            left = args.minutes - (time.monotonic() - started) / 60
            tuned = dataclasses.replace(
                recipe.finetune, max_minutes=max(0.1, left / runs_left - 0.05), **change
            )
            runs_left -= 1
            folder = args.work / f"{name}-{k}"
            shutil.rmtree(folder, ignore_errors=True)
            plan = recipe.self_training
            if plan is not None and recipe.unlabelled is not None:
                tuned = dataclasses.replace(
                    tuned, max_minutes=tuned.max_minutes / (plan.teachers + 1)
                )
                unlabelled = recipe.unlabelled(args.data)[: args.limit]
                metrics = self_train(corpus, data, unlabelled, base, folder, tuned, plan).metrics
            else:
                metrics = finetune(corpus, data, base, folder, tuned)
            run = {
                "folder": folder.name,
                "config": dataclasses.asdict(tuned),
                "validation": metrics.as_dict(),
            }
            runs.append(run)
            print(
                json.dumps(
                    {
                        name: run["config"],
                        **{"accuracy": metrics.accuracy, "macro_f1": metrics.macro_f1},
                    }
                ),
                flush=True,
            )
        best = max(runs, key=lambda r: r["validation"]["macro_f1"])  # type: ignore[index]
        record[name] = {"runs": runs, "best": best["folder"]}
        _pack(args.work / str(best["folder"]), args.out / f"{name}.tar", name, best)
        (args.out / "gpu_train.json").write_text(json.dumps(record, indent=2, default=str))
    record["minutes"] = round((time.monotonic() - started) / 60, 2)
    (args.out / "gpu_train.json").write_text(json.dumps(record, indent=2, default=str))
    print(f"done in {record['minutes']} min", flush=True)
    return 0


def _pack(folder: Path, target: Path, name: str, info: object) -> None:
    """The HF folder with fp16 weights (half the bytes) and what produced it."""
    import torch
    from safetensors.torch import load_file, save_file

    staging = folder.parent / f"{folder.name}-fp16"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(folder, staging)
    weights = staging / "model.safetensors"
    tensors = {k: v.to(torch.float16) for k, v in load_file(str(weights)).items()}
    save_file(tensors, str(weights), metadata={"format": "pt"})
    (staging / "gpu-train-run.json").write_text(json.dumps(info, indent=2, default=str))
    with tarfile.open(target, "w") as tar:
        tar.add(staging, arcname=name)


if __name__ == "__main__":
    raise SystemExit(main())
