#!/usr/bin/env bash
# GPU correctness tests and benchmarks in one go, for a machine with one CUDA GPU.
#   bash benchmarks/gpu_checks.sh [OUTDIR]    (default: $OUT, else ./gpu-out)
# Writes env.txt, gpu_tests.log, conv_layouts.jsonl, bench_{fp32,tf32}.json and bench_triton_{fp32,tf32}.json.
# Uses the python3 on PATH (with a CUDA build of torch); the repository root goes on PYTHONPATH.
set -u
out=${1:-${OUT:-gpu-out}}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  python3 -c 'import torch, numpy, scipy, statsmodels; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "numpy", numpy.__version__, "scipy", scipy.__version__, "statsmodels", statsmodels.__version__)'
  echo "git revision: ${THEORYCHECK_GIT_REVISION:-$(git rev-parse HEAD 2>/dev/null)}"
} > "$out/env.txt" 2>&1
cat "$out/env.txt"
timeout 240 python3 benchmarks/conv_layouts.py > "$out/conv_layouts.jsonl" 2>&1; echo "conv_layouts: rc $?"
timeout 240 python3 -m pytest tests/gpu -s -q -p no:cacheprovider -o addopts="" > "$out/gpu_tests.log" 2>&1; echo "gpu tests: rc $?"
tail -3 "$out/gpu_tests.log"
for p in fp32 tf32; do
  timeout 150 python3 -m theorycheck.cli bench --device cuda --precision $p --json > "$out/bench_$p.json" 2> "$out/bench_$p.err"
  echo "bench $p: rc $?"
  # the Triton implicit-GEMM convolution (convolutional configs only)
  timeout 150 python3 -m theorycheck.cli bench --device cuda --precision $p --conv-kernel triton --json \
    > "$out/bench_triton_$p.json" 2> "$out/bench_triton_$p.err"
  echo "bench triton $p: rc $?"
done
