#!/usr/bin/env bash
# The device figures of bench/README.md (one H200, 16 cores), most wanted first: array building
# across cores (#2's 2x target, which a 2-core machine cannot show), the mini Xception's speed
# (#4), the segmentation job's host memory on the book's full split (#3), then segmentation
# speeds (#3), then filter patterns (#14), then the U-Net's step against the book model's (#17).
# Training runs go through the pipeline's code on KERAS_BACKEND=jax; each prints its epochs as
# they finish, so a run cut by its timeout still leaves figures. Tables and logs go to $OUT (or
# ./bench_out). The runs' timeouts add up to 16 minutes, more than one device call may take:
# name runs to do only those, in three calls:
#   bash bench/gpu_check.sh arrays classification segmentation_memory
#   bash bench/gpu_check.sh segmentation_spe8 segmentation_b64 interpretation
#   bash bench/gpu_check.sh segmentation_unet
# On a machine of two GPUs or more with snakemake installed: bash bench/gpu_check.sh two_trainings
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
gpu_count=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')

wanted=" $* "
run() {  # run NAME SECONDS SCRIPT FLAGS...: one benchmark, its output kept in $out/NAME.txt
  local name=$1 seconds=$2
  shift 2
  [[ $wanted == "  " || $wanted == *" $name "* ]] || return 0
  echo "== $name (at most $seconds s)"
  timeout "$seconds" python3 "$@" 2>&1 | tee "$out/$name.txt" | grep -E "^(  |\||done:)|failed|Error"
}

# The book's single-threaded loop against write_stack on 1 to 16 cores (CPU only).
run arrays 100 bench/arrays.py --repeat 1 4 --workers 1 2 4 8 16
run classification 150 bench/classification.py --backend jax --models mini_xception convnet \
  --num-images 4096 --epochs 4 --batch-size 64 --precision mixed_bfloat16 --steps-per-execution 8
# Host memory on the book's full split (target: the job under 2 GB), beside the notebook's.
run segmentation_memory 110 bench/segmentation.py --backend jax --random --image-size 200 \
  --num-images 6390 --num-val 1000 --epochs 2 --steps-per-epoch 20 --batch-size 64 \
  --precision mixed_bfloat16 --models book
seg="--backend jax --random --image-size 200 --num-images 4096 --num-val 256 --epochs 3 --models book"
run segmentation_spe8 150 bench/segmentation.py $seg --batch-size 64 256 \
  --precision mixed_bfloat16 --no-notebook --steps-per-execution 8
run segmentation_b64 160 bench/segmentation.py $seg --batch-size 64 --precision float32 \
  mixed_bfloat16
# The U-Net's step against the book model's on the GPU (issue 17: at most about 1.5x).
run segmentation_unet 120 bench/segmentation.py --backend jax --random --image-size 200 \
  --num-images 2048 --num-val 256 --epochs 3 --batch-size 64 --precision mixed_bfloat16 \
  --no-notebook --models book unet
# Filter patterns: the book's loop against the stage's batched ascent (issue 14: batch 64 on a GPU).
run interpretation 150 bench/interpretation.py --batch-size 1 8 64

# Two trainings at once on two GPUs (issue 23): the demo's two segmentation models through the
# workflow with --resources gpu=2. Each job's log names the GPU it locked (snakevision/gpus.py),
# nvidia-smi which process computes on which GPU. Needs 2 GPUs and snakemake (not in the device
# image: the one-GPU device machines skip it). Targets are files, not rule names.
two_trainings() {
  local name=two_trainings seconds=${TWO_TRAININGS_SECONDS:-300} work smi
  [[ $wanted == "  " || $wanted == *" $name "* ]] || return 0
  echo "== $name (at most $seconds s)"
  if ((gpu_count < 2)); then
    echo "skipped: nvidia-smi -L lists $gpu_count GPU(s), this needs 2" | tee "$out/$name.txt"
    return 0
  fi
  if ! python3 -c "import snakemake" 2>/dev/null; then
    echo "skipped: snakemake is not installed" | tee "$out/$name.txt"
    return 0
  fi
  work=$(mktemp -d)
  tar --exclude=./results --exclude=./resources --exclude=./logs --exclude=./.snakemake \
    --exclude=./.git --exclude=./.whl --exclude="./$out" -cf - . | tar -xf - -C "$work"
  (
    cd "$work" || exit 1
    # The jobs choose their own memory settings (gpus.bound_memory); this script's would hide that.
    unset XLA_PYTHON_CLIENT_PREALLOCATE CUDA_VISIBLE_DEVICES
    nvidia-smi --query-compute-apps=pid,gpu_bus_id,used_memory --format=csv,noheader -l 2 \
      >smi.txt 2>&1 &
    smi=$!
    timeout "$seconds" python3 -m snakemake results/segmentation/book/seed_1337/model.keras \
      results/segmentation/unet/seed_1337/model.keras --profile profiles/demo --cores 16 \
      --resources gpu=2 --config "keras_backend=${TWO_TRAININGS_BACKEND:-jax}" ${TWO_TRAININGS_ARGS:-} >snakemake.txt 2>&1
    echo "snakemake exit $?"
    kill "$smi" 2>/dev/null
    grep -E "Error|error:" snakemake.txt | head -20
    echo "-- the GPU each training locked, and its first and last log line (overlap = at once)"
    for log in $(grep -rlE "locked in|runs on the CPU" logs); do
      grep -hE "locked in|runs on the CPU" "$log"
      echo "   $log: $(head -1 "$log" | cut -c1-23) .. $(tail -1 "$log" | cut -c1-23)"
    done
    echo "-- processes per GPU (pid, bus, peak memory seen)"
    sort -t, -k1,1 -k3,3n smi.txt | awk -F, '{last[$1 FS $2] = $3} END {for (k in last) print k "," last[k]}'
  ) 2>&1 | tee "$out/$name.txt"
  rm -rf "$work"
}
two_trainings
