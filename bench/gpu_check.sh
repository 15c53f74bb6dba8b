#!/usr/bin/env bash
# The GPU figures of bench/README.md in one run (about 10 minutes on one H200): segmentation and
# classification training through the pipeline's code on KERAS_BACKEND=jax, beside the notebook's.
# Results go to $OUT (or ./bench_out) as text tables.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-bench_out}
mkdir -p "$out"
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
seg="--backend jax --random --image-size 200 --num-images 4096 --num-val 256 --epochs 3"
timeout 240 python3 bench/segmentation.py $seg --batch-size 64 --precision float32 mixed_bfloat16 \
  2>&1 | tee "$out/segmentation_b64.txt" | grep -v "^\s*$" | tail -8
timeout 150 python3 bench/segmentation.py $seg --batch-size 64 256 --precision mixed_bfloat16 \
  --no-notebook --steps-per-execution 8 2>&1 | tee "$out/segmentation_spe8.txt" | tail -6
timeout 150 python3 bench/classification.py --backend jax --models mini_xception convnet \
  --num-images 8192 --epochs 3 --batch-size 64 --precision mixed_bfloat16 --steps-per-execution 8 \
  2>&1 | tee "$out/classification.txt" | tail -6
# Host memory on the book's full split (target: the job under 2 GB; the notebook for comparison).
timeout 200 python3 bench/segmentation.py --backend jax --random --image-size 200 \
  --num-images 6390 --num-val 1000 --epochs 2 --steps-per-epoch 20 --batch-size 64 \
  --precision mixed_bfloat16 2>&1 | tee "$out/segmentation_memory.txt" | tail -6
