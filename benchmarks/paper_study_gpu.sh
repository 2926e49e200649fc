#!/usr/bin/env bash
# studies/paper.toml on one CUDA GPU, timed end to end (issue: the paper-scale study within 10 minutes).
#   bash benchmarks/paper_study_gpu.sh [OUTDIR] [WORKERS] [CONV_KERNEL]
#   (defaults: $OUT else ./gpu-out; half the CPU cores; grouped — "triton" runs the study with conv_kernel = "triton"
#   into runs/paper-triton)
# The Monte Carlo cells run on the GPU in the main process while WORKERS Dask processes run the CPU cells
# (property searches, attacks, path enumeration). A killed run resumes from runs/paper without recomputing.
# Writes paper_timing.txt, paper_verdicts.json, paper_study.json (provenance, compute seconds) and paper.pdf.
set -u
out=${1:-${OUT:-gpu-out}}
workers=${2:-$(( $(nproc) / 2 ))}
kernel=${3:-grouped}
mkdir -p "$out"
study=studies/paper.toml
runs=runs/paper
if [ "$kernel" != grouped ]; then
  study=runs/paper-$kernel.toml
  runs=runs/paper-$kernel
  mkdir -p runs
  sed "s/^\[study\]$/[study]\nconv_kernel = \"$kernel\"/" studies/paper.toml > "$study"
fi
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
start=$(date +%s.%N)
python3 -m theorycheck.cli run "$study" --out "$runs" --workers "$workers" \
  --report "$out/paper.pdf" --json > "$out/paper_verdicts.json" 2> "$out/paper_run.err"
rc=$?
end=$(date +%s.%N)
python3 -c "print(f'rc $rc, wall {$end - $start:.1f} s, workers $workers, $(nproc) cores, conv kernel $kernel')" \
  | tee "$out/paper_timing.txt"
cp "$runs/study.json" "$out/paper_study.json" 2>/dev/null
tail -5 "$out/paper_run.err"
