#!/usr/bin/env bash
# The GPU figures of bench/README.md in one device call of under 10 minutes (one H200), most
# wanted first: the mini Xception's speed (#4), the segmentation job's host memory on the book's
# full split (#3), then segmentation speeds (#3). Every run trains through the pipeline's code on
# KERAS_BACKEND=jax; each prints its epochs as they finish, so a run cut by its timeout still
# leaves figures. Tables and logs go to $OUT (or ./bench_out).
# Wheels the device lacks (bench/gpu_wheels.sh puts them in .whl/) are installed first.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-bench_out}
mkdir -p "$out"
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"

run() {  # run NAME SECONDS SCRIPT FLAGS...: one benchmark, its output kept in $out/NAME.txt
  local name=$1 seconds=$2
  shift 2
  echo "== $name (at most $seconds s)"
  timeout "$seconds" python3 "$@" 2>&1 | tee "$out/$name.txt" | grep -E "^(  |\||done:)|failed|Error"
}

run classification 150 bench/classification.py --backend jax --models mini_xception convnet \
  --num-images 4096 --epochs 4 --batch-size 64 --precision mixed_bfloat16 --steps-per-execution 8
# Host memory on the book's full split (target: the job under 2 GB), beside the notebook's.
run segmentation_memory 110 bench/segmentation.py --backend jax --random --image-size 200 \
  --num-images 6390 --num-val 1000 --epochs 2 --steps-per-epoch 20 --batch-size 64 \
  --precision mixed_bfloat16
seg="--backend jax --random --image-size 200 --num-images 4096 --num-val 256 --epochs 3"
run segmentation_spe8 150 bench/segmentation.py $seg --batch-size 64 256 \
  --precision mixed_bfloat16 --no-notebook --steps-per-execution 8
run segmentation_b64 160 bench/segmentation.py $seg --batch-size 64 --precision float32 \
  mixed_bfloat16
