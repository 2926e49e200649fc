#!/usr/bin/env bash
# studies/paper.toml on one CUDA GPU, timed end to end (issue: the paper-scale study within 10 minutes).
#   bash benchmarks/paper_study_gpu.sh [OUTDIR] [WORKERS]   (defaults: $OUT else ./gpu-out; half the CPU cores)
# The Monte Carlo cells run on the GPU in the main process while WORKERS Dask processes run the CPU cells
# (property searches, attacks, path enumeration). A killed run resumes from runs/paper without recomputing.
# Writes paper_timing.txt, paper_verdicts.json, paper_study.json (provenance, compute seconds) and paper.pdf.
set -u
out=${1:-${OUT:-gpu-out}}
workers=${2:-$(( $(nproc) / 2 ))}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
start=$(date +%s.%N)
python3 -m theorycheck.cli run studies/paper.toml --out runs/paper --workers "$workers" \
  --report "$out/paper.pdf" --json > "$out/paper_verdicts.json" 2> "$out/paper_run.err"
rc=$?
end=$(date +%s.%N)
python3 -c "print(f'rc $rc, wall {$end - $start:.1f} s, workers $workers, $(nproc) cores')" | tee "$out/paper_timing.txt"
cp runs/paper/study.json "$out/paper_study.json" 2>/dev/null
tail -5 "$out/paper_run.err"
