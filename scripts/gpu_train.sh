#!/usr/bin/env bash
# Train intent-ko and toxicity-ko on a GPU machine that has no package index
# (scripts/gpu_train.py), then bring the results back and export them here.
#
# Here, once:   scripts/gpu_train.sh prepare
#   writes the git-ignored folder .gpu-train/: Python 3.12 wheels of the exact training
#   versions (transformers 4.57.6 and what it and engage_stream need beyond the GPU image's
#   PyTorch), a copy of ../shared/data and the base (models/pretrained-ko-small).
# Move models/ out of the working tree while the device call runs (it is tracked and large),
# and make one call carrying [".gpu-train"] with the command:
#   bash scripts/gpu_train.sh           (writes the results under $OUT; about 7 minutes)
# Back here, with the results folder:
#   python scripts/gpu_train_import.py RESULTS
#   engage-stream export build/intent-ko --out models/intent-ko
#   engage-stream export build/toxicity-ko --out models/toxicity-ko
#   engage-stream bench models --model intent-ko   (and toxicity-ko)
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES="${MINUTES:-7.2}"

if [[ "${1:-}" == "prepare" ]]; then
  exclude="$(git rev-parse --git-dir)/info/exclude"
  grep -qxF "/.gpu-train/" "$exclude" 2>/dev/null || echo "/.gpu-train/" >> "$exclude"
  rm -rf .gpu-train && mkdir -p .gpu-train/wheels
  pins=$(grep -E "^(transformers|tokenizers|huggingface-hub|pydantic|pydantic-core|pydantic-settings|python-dotenv|annotated-types|typing-inspection|typing-extensions|structlog)==" requirements/dev.lock | cut -d' ' -f1)
  # shellcheck disable=SC2086
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .gpu-train/wheels $pins
  cp -r ../shared/data .gpu-train/data && chmod -R u+w .gpu-train/data
  cp -r models/pretrained-ko-small .gpu-train/base
  du -sh .gpu-train
  exit 0
fi

python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .gpu-train/wheels/*.whl
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1
nvidia-smi -L || true
python3 -c "import torch, transformers; print(torch.__version__, transformers.__version__, torch.cuda.is_available())"
python3 scripts/gpu_train.py --data .gpu-train/data --base .gpu-train/base \
  --out "${OUT:-gpu-out}" --minutes "$MINUTES" 2>&1 \
  | grep -v "Some weights\|TRAIN this model" | tee "${OUT:-gpu-out}/log.txt"
