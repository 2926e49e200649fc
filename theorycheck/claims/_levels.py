"""Three numbers per Monte Carlo cell: the (H) prediction, the kernel (infinite-width) prediction and the
measurement, for the base statistic ``E[(∂f/∂x_i)²]`` averaged over the inputs i (``coord_var``).

A claim is judged against (H), as the paper states it; this table shows, next to that verdict, where the
infinite-width kernel level (``theorycheck.theory.kernel_summary``) puts the same quantity, so a reader can
tell a finite-width effect (the measurement between the two, moving to the kernel as width grows) from a
gap that survives infinite width (kernel ≠ (H)).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from theorycheck.claims._base import Claim
from theorycheck.stats import mean_ci

__all__ = ["KERNEL_INPUTS", "KERNEL_MAX_POSITIONS", "prediction_levels"]

#: the kernel level is computed for cells whose largest layer has at most this many spatial positions
#: (3×32×32 inputs: seconds per 2-layer net on 2 cores; 64×64 would take minutes per cell)
KERNEL_MAX_POSITIONS = 1024
#: Gaussian inputs the kernel prediction is averaged over (the measurement averages over every network's input;
#: the kernel map of ReLU nets varies little with the input, and each input costs O(d · R · P) per layer)
KERNEL_INPUTS = 1


@lru_cache(maxsize=512)
def _predictions(arch: str, shape: str) -> tuple[float | None, float | None, str]:
    from theorycheck.graph import Architecture, parse_input_shape
    from theorycheck.theory import kernel_summary, predict
    from theorycheck.theory._frames import annotate

    h = predict(arch, shape)
    h_value = float(h.coord_var_map.mean()) if h.covered and h.coord_var_map is not None else None
    parsed, dims = Architecture.parse(arch), parse_input_shape(shape)
    positions = max((int(np.prod(f.out_shape[1:])) for f in annotate(parsed, dims) if len(f.out_shape) == 3), default=1)
    if positions > KERNEL_MAX_POSITIONS:
        return h_value, None, f"kernel level skipped: {positions} positions per channel (> {KERNEL_MAX_POSITIONS})"
    k = kernel_summary(parsed, dims, inputs=KERNEL_INPUTS, seed=0)
    if not k.covered or k.coord_var_map is None:
        return h_value, None, f"kernel level: {k.reason}"
    return h_value, float(k.coord_var_map.mean()), f"kernel at {KERNEL_INPUTS} Gaussian input(s) (seed 0)"


def prediction_levels(claim: Claim, params: dict[str, Any], frames: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per main sample cell with a logit target and Gaussian inputs: (H), kernel, measured [CI]."""
    rows = []
    for cell in claim.cells(params):
        p = cell.params
        if (
            cell.kind != "sample"
            or not cell.name.startswith("main/")
            or "logit" not in p.get("targets", ["logit"])
            or p.get("inputs", "gaussian") != "gaussian"
            or cell.name not in frames
            or "logit.coord_var" not in frames[cell.name]
        ):
            continue
        values = frames[cell.name]["logit.coord_var"].to_numpy()
        if values.size < 2:
            continue
        est = mean_ci(values)
        h, k, note = _predictions(p["arch"], p["input"])
        rows.append(
            {
                "cell": cell.name,
                "architecture": p["arch"],
                "input": p["input"],
                "h": h,
                "kernel": k,
                "measured": est.mean,
                "ci": list(est.ci),
                "n": est.n,
                "note": note,
            }
        )
    return rows
