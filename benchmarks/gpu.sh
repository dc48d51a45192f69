#!/usr/bin/env bash
# Issue 23's GPU checks as one script, for a machine with a CUDA GPU (run from the
# repository root after `make setup`; the CIFAR-10 archive as the first argument):
#   1. the fast variants' time to accuracy on the GPU, bf16 + channels-last on, then off;
#   2. the mixed-precision benchmark (fp32 against bf16 in the same run).
# Prints the GPU's name first; every number it prints is from that GPU.
set -euo pipefail
ARCHIVE=${1:-../shared/data/cifar10-jpg.tar.gz}
PY=${PYTHON:-.venv/bin/python}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU'; print(torch.cuda.get_device_name())"
$PY benchmarks/time_to_accuracy.py --archive "$ARCHIVE" --fast fast_large --epochs 8,10,12 --reference '' \
  --set device=cuda --work benchmarks/out/gpu_bf16
$PY benchmarks/time_to_accuracy.py --archive "$ARCHIVE" --fast fast_large --epochs 10 --reference '' \
  --set device=cuda --set precision=fp32 --work benchmarks/out/gpu_fp32
$PY benchmarks/mixed_precision.py --device cuda
