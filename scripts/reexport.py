"""Export shipped classifiers again with the current exporter, from their own weights.

    python scripts/reexport.py intent-ko toxicity-ko --version 2026.11.26-gpu.2

For a change in the export (quantisation, fusions) when the training folders are gone:
each model's weights are read back from its fp32 ONNX file (checked against it), written
as an HF folder under build/, and `engage-stream export` makes every file again. The
weights, tokenizer, labels and validation metrics stay as they were; the version moves,
since the int8 and fp16 files change.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from engage_stream.bench.models import chat_messages
from engage_stream.export.torch_from_onnx import hf_dir_from_model_folder

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="+")
    parser.add_argument("--version", required=True)
    args = parser.parse_args()
    texts = chat_messages(64)
    for name in args.names:
        model_dir = ROOT / "models" / name
        folder = hf_dir_from_model_folder(model_dir, ROOT / "build" / name, texts)
        info = json.loads((folder / "engage-train.json").read_text(encoding="utf-8"))
        info["reexport"] = {
            "from_version": info["version"],
            "date": datetime.now(UTC).date().isoformat(),
            "command": f"python scripts/reexport.py {name} --version {args.version}",
        }
        info["version"] = args.version
        shipped_base = ROOT / "models" / Path(info.get("base", "")).name
        if not (ROOT / info.get("base", "")).is_dir() and shipped_base.is_dir():
            info["base"] = str(shipped_base.relative_to(ROOT))  # the card reads its manifest
        (folder / "engage-train.json").write_text(
            json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        exporter = Path(sys.executable).with_name("engage-stream")
        subprocess.run([str(exporter), "export", str(folder), "--out", str(model_dir)], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
