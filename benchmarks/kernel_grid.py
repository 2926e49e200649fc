"""Cost and answers of the kernel level's grid method (post-activation residuals) against depth and input size.

The original ResNet block at width 64, ``dense(64) relu [residual{dense(64) relu dense(64)} relu]*L dense(1)``, for
L = 1..12 on an input of dimension d: (H)'s E‖∂f‖² (the paper's hypothesis, noted as implausible there), the exact
infinite-width value from the grid, its quadrature error bound, and the wall time of one ``kernel_predict``
(median of 3). Run: ``python benchmarks/kernel_grid.py``; results with date and device in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from theorycheck.theory import kernel_predict, predict


def main() -> None:
    print(f"{'d':>7} {'L':>3} {'(H)':>10} {'exact':>12} {'quad. error':>12} {'exact/(H)':>10} {'seconds':>8}")
    for d in (32, 3072, 196608):
        x = np.random.default_rng(0).standard_normal(d)
        for depth in (1, 2, 3, 4, 6, 8, 12) if d == 32 else (1, 6, 12):
            arch = "dense(64) relu " + "residual{dense(64) relu dense(64)} relu " * depth + "dense(1)"
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                k = kernel_predict(arch, str(d), x)
                times.append(time.perf_counter() - t0)
            h = predict(arch, str(d)).grad_sq_norm
            assert k.grad_sq_norm is not None and k.quadrature_error is not None and h is not None
            print(
                f"{d:>7} {depth:>3} {h:>10.5g} {k.grad_sq_norm:>12.7g} {k.quadrature_error:>12.2g} "
                f"{k.grad_sq_norm / h:>10.4g} {statistics.median(times):>8.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
