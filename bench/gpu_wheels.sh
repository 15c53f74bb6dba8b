#!/usr/bin/env bash
# Download into .whl/ the wheels that the H200 device machine lacks (it has JAX, numpy, pandas,
# Pillow, psutil, h5py, ml-dtypes, absl-py, rich; Python 3.12), for bench/gpu_check.sh there.
# Keep .whl/ out of git: echo /.whl/ >> .git/info/exclude
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
  keras==3.15.1 namex==0.1.0 optree==0.20.0
