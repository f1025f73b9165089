"""Turn `scripts/gpu_train.py` results into fp32 HF folders under build/, ready to export.

    python scripts/gpu_train_import.py RESULTS_DIR [--version V]
    engage-stream export build/intent-ko --out models/intent-ko   (and toxicity-ko)

Classifier manifests (`engage-train.json`) keep the data, split and baseline of the
shipped model (same corpus, same fixed-seed split) and take the GPU run's settings and
validation metrics, with the grid it was chosen from.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parents[1]
GPU_COMMAND = (
    "scripts/gpu_train.sh  # on an H200: python scripts/gpu_train.py --data ../shared/data "
    "--base models/pretrained-ko-small --minutes 7.2"
)


def unpack(results: Path, name: str, build: Path) -> Path:
    target = build / name
    shutil.rmtree(target, ignore_errors=True)
    with tarfile.open(results / f"{name}.tar") as tar:
        tar.extractall(build, filter="data")
    weights = target / "model.safetensors"
    tensors = {k: v.to(torch.float32) for k, v in load_file(str(weights)).items()}
    save_file(tensors, str(weights), metadata={"format": "pt"})
    return target


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", type=Path)
    parser.add_argument("--version", default=datetime.now(UTC).strftime("%Y.%m.%d") + "-gpu")
    args = parser.parse_args()
    build = ROOT / "build"
    build.mkdir(exist_ok=True)
    record = json.loads((args.results / "gpu_train.json").read_text(encoding="utf-8"))

    base = unpack(args.results, "pretrained-ko-small", build)
    report = json.loads((base / "gpu-train-run.json").read_text(encoding="utf-8"))
    report["command"] = f"{report.get('command', '')} && {GPU_COMMAND}"
    (base / "engage-pretrain.json").write_text(json.dumps(report, indent=2), encoding="utf-8")

    for name in ("intent-ko", "toxicity-ko"):
        folder = unpack(args.results, name, build)
        chosen = json.loads((folder / "gpu-train-run.json").read_text(encoding="utf-8"))
        shipped = json.loads((ROOT / "models" / name / "engage-train.json").read_text("utf-8"))
        grid = [
            {**run["config"], "macro_f1": run["validation"]["macro_f1"]}
            for run in record[name]["runs"]
        ]
        manifest = {
            **shipped,
            "version": args.version,
            "base": str(base.relative_to(ROOT)),
            "hf_dir": str(folder.relative_to(ROOT)),
            "finetune": chosen["config"],
            "validation": chosen["validation"],
            "selection": {
                "note": "best validation macro-F1 of these settings (chosen on the same split "
                "it is reported on; the corpus's own test set stays held back)",
                "grid": grid,
            },
            "command": f"{GPU_COMMAND}  # {name}: {record[name]['best']}; then "
            f"python scripts/gpu_train_import.py RESULTS",
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (folder / "engage-train.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        print(
            f"{name}: {folder} accuracy {chosen['validation']['accuracy']} "
            f"macro-F1 {chosen['validation']['macro_f1']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
