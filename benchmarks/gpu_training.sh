#!/usr/bin/env bash
# Trained networks on one CUDA GPU, in one go: the GPU tests (sampler, Triton kernel, training against the CPU),
# the training benchmark, studies/trained.toml end to end, a timed start of studies/trained_paper.toml (resumable),
# and the grouped vs Triton convolution benchmark in fp32.
#   bash benchmarks/gpu_training.sh [OUTDIR]    (default: $OUT, else ./gpu-out)
# Writes at most 8 files: env.txt, gpu_tests.log, training_bench.txt, trained_verdicts.json, trained_paper.txt,
# bench_fp32.json, bench_triton_fp32.json, errors.log.
set -u
out=${1:-${OUT:-gpu-out}}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
  echo "git revision: ${THEORYCHECK_GIT_REVISION:-$(git rev-parse HEAD 2>/dev/null)}"
} > "$out/env.txt" 2>&1
cat "$out/env.txt"
stamp() { python3 -c "import time; print(f'{time.time() - $1:.1f} s')"; }
t=$(date +%s.%N)
timeout 180 python3 -m pytest tests/gpu -s -q -p no:cacheprovider -o addopts="" > "$out/gpu_tests.log" 2>&1
echo "gpu tests: rc $? in $(stamp "$t")"; tail -4 "$out/gpu_tests.log"
t=$(date +%s.%N)
timeout 60 python3 benchmarks/training.py --device cuda --networks 256 --steps 20 > "$out/training_bench.txt" 2>>"$out/errors.log"
echo "training bench: rc $? in $(stamp "$t")"; cat "$out/training_bench.txt"
t=$(date +%s.%N)
timeout 120 python3 -m theorycheck.cli run studies/trained.toml --out runs/trained-gpu --json \
  > "$out/trained_verdicts.json" 2>>"$out/errors.log"
echo "studies/trained.toml: rc $? in $(stamp "$t")"
t=$(date +%s.%N)
timeout 60 python3 -m theorycheck.cli run studies/trained_paper.toml --out runs/trained-paper --json \
  > "$out/trained_paper.txt" 2>&1
echo "studies/trained_paper.toml (60 s cap): rc $? in $(stamp "$t")"
find runs/trained-paper -name '*.json' | head -20 >> "$out/trained_paper.txt"
tail -c 1500 "$out/trained_paper.txt"
for k in grouped triton; do
  t=$(date +%s.%N)
  f=bench_fp32.json; [ $k = triton ] && f=bench_triton_fp32.json
  timeout 45 python3 -m theorycheck.cli bench --device cuda --precision fp32 --conv-kernel $k --json \
    > "$out/$f" 2>>"$out/errors.log"
  echo "bench $k fp32: rc $? in $(stamp "$t")"
done
tail -20 "$out/errors.log" 2>/dev/null
