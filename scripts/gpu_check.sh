#!/usr/bin/env bash
# Run the inference engine with the CUDA provider on a GPU machine that has no package
# index, and print its throughput per batch size beside the CPU's (scripts/gpu_check.py).
#
# A device call carries at most 64 MiB (the repository included) and the shipped models alone
# are larger, so everything the check needs travels as one xz stream cut into parts:
# onnxruntime-gpu (CUDA 13, Python 3.12; via ../shared/tools/gpu-ort-parts.sh's download), the
# pure-Python packages the engine imports that the GPU image lacks (structlog, pydantic) and the
# model folders. Here, once:
#   scripts/gpu_check.sh prepare            (writes git-ignored .gpu-load0, .gpu-load1, ...)
# then move models/ out of the working tree while the calls run (it is tracked, so it would
# travel) and make the device calls back to back, each carrying one part:
#   carry [".gpu-loadK"]   command: bash scripts/gpu_check.sh
# Each call stores its part on the machine (kept while it stays warm); the call that completes
# the set unpacks it and runs the check on every model folder it holds.
set -euo pipefail
cd "$(dirname "$0")/.."
PART_MB="${PART_MB:-52}"

if [[ "${1:-}" == "prepare" ]]; then
  ORT_VERSION="${ORT_GPU_VERSION:-1.31.1}"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  pip_get() {
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
      --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$work/whl" "$@"
  }
  pip_get "onnxruntime-gpu==$ORT_VERSION" structlog==26.1.0 pydantic==2.14.4 \
    pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
  mkdir -p "$work/load/site" "$work/load/models"
  for wheel in "$work"/whl/*.whl; do (cd "$work/load/site" && python3 -m zipfile -e "$wheel" .); done
  rm -f "$work"/load/site/onnxruntime/capi/libonnxruntime_providers_tensorrt.so
  for manifest in models/*/engage-model.json; do cp -r "$(dirname "$manifest")" "$work/load/models/"; done
  echo "compressing (a few minutes on two cores)..."
  (cd "$work/load" && tar cf - . | xz -6 -T2 > "$work/load.tar.xz")
  (cd "$work" && split -b "${PART_MB}000000" -d -a 2 load.tar.xz part)
  count=$(ls "$work"/part* | wc -l)
  exclude="$(git rev-parse --git-dir)/info/exclude"
  mkdir -p "$(dirname "$exclude")"
  rm -rf .gpu-load[0-9]*
  k=0
  for part in "$work"/part*; do
    mkdir -p ".gpu-load$k"
    mv "$part" ".gpu-load$k/$(basename "$part")-of-$(printf %02d "$count")"
    grep -qxF "/.gpu-load$k/" "$exclude" 2>/dev/null || echo "/.gpu-load$k/" >> "$exclude"
    k=$((k + 1))
  done
  ls -la .gpu-load*/
  exit 0
fi

store=/tmp/gpu-load
mkdir -p "$store"
for part in .gpu-load*/part*; do
  if [[ -e "$part" ]]; then cp "$part" "$store/"; fi
done
have=$(ls "$store" | wc -l)
first=$(ls "$store" | head -1)
want=$((10#${first##*-of-}))
if (( have < want )); then
  echo "stored $have of $want parts: carry the next .gpu-loadN and run again"
  exit 3
fi
if [[ ! -d /tmp/gpu/site/onnxruntime ]]; then
  mkdir -p /tmp/gpu
  cat "$store"/part* | xz -d | tar x -C /tmp/gpu
fi
export PYTHONPATH="/tmp/gpu/site:$PWD" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
if (( $# == 0 )); then set -- /tmp/gpu/models/*; fi
exec python3 scripts/gpu_check.py "$@"
