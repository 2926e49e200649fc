"""Time of the kernel level (infinite-width input-gradient map, ``theorycheck.theory.kernel_predict``).

One Gaussian input per configuration (seeded); prints one JSON object per configuration with the wall time,
the peak resident memory of the process so far and d·mean E[(∂f/∂x_i)²]. Add ``--full-rows`` to store A_i on
every position pair instead of the support rows × needed columns (the reference layout, much slower).

    python benchmarks/kernel_level.py [--quick] [--full-rows]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

from theorycheck.graph import parse_input_shape
from theorycheck.theory._kernel import _kernel_predict

TWO_LAYER = "conv(8,3,padding=circular) relu conv(8,3,padding=circular) relu avgpool(2) flatten dense(1)"
CONFIGS = [
    (TWO_LAYER, "3x16x16"),
    (TWO_LAYER, "3x32x32"),
    ("conv(8,3) relu conv(8,3,stride=2) relu flatten dense(10,gain=1)", "3x32x32"),
    (TWO_LAYER, "3x64x64"),
    (TWO_LAYER.replace("relu", "tanh"), "3x16x16"),
    ("[conv(64,3,padding=circular) relu]*8 globalavgpool dense(12)", "3x32x32"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the configurations that take seconds")
    parser.add_argument("--full-rows", action="store_true", help="store A_i on every position pair")
    args = parser.parse_args()
    configs = CONFIGS[:3] if args.quick else CONFIGS
    for arch, shape in configs:
        d = int(np.prod(parse_input_shape(shape)))
        x = np.random.default_rng(0).standard_normal(d)
        t0 = time.perf_counter()
        pred = _kernel_predict(arch, shape, x, full_support=args.full_rows)
        seconds = time.perf_counter() - t0
        print(
            json.dumps(
                {
                    "architecture": arch,
                    "input": shape,
                    "seconds": round(seconds, 2),
                    "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
                    "d_mean_coord_var": pred.grad_sq_norm,
                    "reason": pred.reason,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
