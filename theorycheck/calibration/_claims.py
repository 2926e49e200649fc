"""Coverage of the verdicts' own intervals: true claims judged by the public forms, replicate by replicate.

:mod:`theorycheck.calibration._means` measures interval methods on sampler rows; this module measures what a
verdict prints. Each setting is a *true* claim (its prediction is the exact truth at every grid point); its main
cells are sampled once with ``R × n`` networks, split into ``R`` replicates of ``n``, and every replicate is
judged by the same function a study uses (:data:`theorycheck.claims.forms._judging.JUDGES`). A part's interval
covers when it contains its prediction; a part stopped by the tail diagnostic is counted apart (its verdict is
inconclusive and prints no usable interval).

Truths: for Gaussian dense/ReLU chains with He init, eq. 13 of Simon-Gabriel et al. (2019) is exact at every width,
so ``E[(∂f/∂x_i)²] = 2/d`` and ``E‖∂ₓf‖₂² = 2`` (1 for a gain-1 logit layer); a circular-padded stride-1 ReLU CNN
with a flattened dense head has ``E‖∂ₓf‖₂² = 2`` as well (measured 1.99868 ± 0.00173 with 400,000 networks of
``conv(4,3,padding=circular) relu conv(4,3,padding=circular) relu flatten dense(1)`` on 1×6×6, 2026-12-04).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from theorycheck.calibration._rows import CoverageRow

__all__ = ["CLAIM_SETTINGS", "ClaimSetting", "claim_coverage"]


@dataclass(frozen=True)
class ClaimSetting:
    """A true claim (the fields of :func:`theorycheck.claims.forms._define.build`) and networks per replicate."""

    name: str
    form: str
    fields: dict[str, Any]
    networks: int
    #: the kind of interval its parts print (the table's "method" column)
    method: str
    quick: bool = False


_FC3 = "[dense({w}) relu]*3 dense(1)"
_CNN = "conv({c},3,padding=circular) relu conv({c},3,padding=circular) relu flatten dense(1)"
CLAIM_SETTINGS: list[ClaimSetting] = [
    ClaimSetting(
        "value claim E[coord_var] = 2/d, [dense(w) relu]*3 dense(1), n=1000",
        "value",
        {"arch": _FC3, "input": "{d}", "sweep": {"w": [16, 32, 64, 128], "d": [16, 256, 1024]}, "predicted": "2/d"},
        1000,
        "value part (Student-t)",
    ),
    ClaimSetting(
        "value claim E[coord_var] = 2/d, [dense(32) relu]*3 dense(1), n=200",
        "value",
        {"arch": _FC3, "input": "{d}", "sweep": {"w": 32, "d": 256}, "predicted": "2/d"},
        200,
        "value part (Student-t)",
        quick=True,
    ),
    ClaimSetting(
        "ratio claim gain 1 / gain 2 = 1/2, [dense(w) relu]*2, grad_sq_norm, n=500 per arm",
        "ratio",
        {
            "arch": "[dense({w}) relu]*2 dense(1,gain=1)",
            "baseline": {"arch": "[dense({w}) relu]*2 dense(1)"},
            "input": "{d}",
            "sweep": {"w": [16, 64, 128], "d": [16, 1024]},
            "statistic": "grad_sq_norm",
            "predicted": "0.5",
        },
        500,
        "ratio part (delta-method log ratio)",
    ),
    ClaimSetting(
        "ratio claim coord_var at d / at 64 ∝ d^-1, dense(64) relu dense(64) relu dense(1), n=500 per arm",
        "ratio",
        {
            "arch": "dense(64) relu dense(64) relu dense(1)",
            "baseline": {"arch": "dense(64) relu dense(64) relu dense(1)", "input": "64"},
            "input": "{n}",
            "sweep": {"n": [16, 64, 256, 1024]},  # d = n for the treated arm; the baseline's input is fixed
            "slope": -1,
        },
        500,
        "ratio slope (GLM, HC1)",
    ),
    ClaimSetting(
        "CNN value claim E‖∂f‖² = 2, circular conv-ReLU ×2, flatten dense(1), 3×8×8, n=500",
        "value",
        {"arch": _CNN, "input": "3x8x8", "sweep": {"c": [4, 8]}, "statistic": "grad_sq_norm", "predicted": "2"},
        500,
        "value part (Student-t)",
    ),
]


def _cell_seed(seed: int, name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}/{name}".encode()).digest()[:8], "little") >> 1


def claim_coverage(
    setting: ClaimSetting, *, replicates: int, seed: int = 20261204, progress: Callable[[int], None] | None = None
) -> list[CoverageRow]:
    """Per grid point (per part), the share of replicates whose interval contains the claim's exact truth."""
    from theorycheck.claims._base import CellData
    from theorycheck.claims.forms._cells import claim_cells
    from theorycheck.claims.forms._define import build
    from theorycheck.claims.forms._judging import JUDGES, Arm
    from theorycheck.sampler import sample

    claim = build(f"calibration.{setting.form}", setting.form, "calibration", **setting.fields)
    n = setting.networks
    frames: dict[str, pd.DataFrame] = {}
    t0 = time.perf_counter()
    for cell in (c for c in claim_cells(claim, replicates * n) if c.name.startswith("main/")):
        p = cell.params
        rows = sample(
            p["arch"], p["input"], networks=cell.networks, seed=_cell_seed(seed, cell.name), targets=tuple(p["targets"])
        )
        frames[cell.name] = pd.DataFrame(rows.rows)
    prefix = "main/treated/" if claim.form == "ratio" else "main/"
    passed: dict[str, int] = {}
    covered: dict[str, int] = {}
    for r in range(replicates):
        data = CellData({k: f.iloc[r * n : (r + 1) * n].reset_index(drop=True) for k, f in frames.items()})
        for part in JUDGES[claim.form](claim, data, Arm(prefix, claim.family)):
            d = part.decision
            passed.setdefault(part.name, 0)
            covered.setdefault(part.name, 0)
            if "would have been" in d.explanation or d.ci is None or d.predicted is None:
                continue  # stopped by the tail diagnostic: the verdict uses no interval
            passed[part.name] += 1
            covered[part.name] += d.ci[0] <= d.predicted <= d.ci[1]
        if progress is not None:
            progress(r + 1)
    seconds = time.perf_counter() - t0
    return [
        CoverageRow(f"{setting.name}: {name}", setting.method, replicates, passed[name], covered[name], seconds)
        for name in passed
    ]
