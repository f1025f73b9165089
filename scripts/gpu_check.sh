#!/usr/bin/env bash
# Run the inference engine with the CUDA provider on a GPU machine that has no package
# index, and print its throughput per batch size beside the CPU's (scripts/gpu_check.py).
#
# Here, once (needs pip and ../shared/tools/gpu-ort-parts.sh):
#   scripts/gpu_check.sh prepare
# writes git-ignored folders: .gpu-ort0, .gpu-ort1, ... (onnxruntime-gpu for Python 3.12, one
# xz part each) and .whl (structlog and pydantic, which the engine imports and the GPU image
# lacks). A transfer takes 64 MiB, so each device call carries one part; parts are kept in
# /tmp/ort-parts on the machine while it stays warm. Make the calls back to back:
#   carry [".gpu-ort0", ".whl"]  command: bash scripts/gpu_check.sh            (stores part 0)
#   carry [".gpu-ort1", ".whl"]  command: bash scripts/gpu_check.sh            (stores part 1)
#   ... the call that brings the last part unpacks them and runs the check:
#   bash scripts/gpu_check.sh [MODEL_FOLDER ...]     (default: every models/*/engage-model.json)
# Lower PART_MB (default 40) when the repository itself is large.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "prepare" ]]; then
  mkdir -p "$(git rev-parse --git-dir)/info"
  PART_MB="${PART_MB:-40}" ../shared/tools/gpu-ort-parts.sh
  rm -rf .whl && mkdir .whl
  grep -qxF "/.whl/" "$(git rev-parse --git-dir)/info/exclude" || echo "/.whl/" >> "$(git rev-parse --git-dir)/info/exclude"
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl \
    structlog==26.1.0 pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 \
    typing-inspection==0.4.5
  ls -la .whl .gpu-ort*/
  exit 0
fi

mkdir -p /tmp/ort-parts /tmp/site
for part in .gpu-ort*/part*; do
  if [[ -e "$part" ]]; then cp "$part" /tmp/ort-parts/; fi
done
if [[ ! -d /tmp/site/onnxruntime ]]; then
  if ! (cat /tmp/ort-parts/part* | xz -d | tar x -C /tmp/site) 2>/dev/null; then
    rm -rf /tmp/site/onnxruntime
    echo "have $(ls /tmp/ort-parts | wc -l) onnxruntime-gpu part(s), not all: carry the next .gpu-ortN and run again"
    exit 3
  fi
fi
if [[ -d .whl ]]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
fi
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
exec python3 scripts/gpu_check.py "$@"
